//! A psql script as a list of SQL statements, with the statements inside `DO` blocks and
//! function/procedure bodies brought out where they run.
//!
//! Top-level statements come from psql's scanner ([`crate::psql::scanner`]): it skips
//! meta-commands (`\set`, `\if`, …) and knows quoting, dollar quoting and comments. psql
//! variables (`:'name'`, `:"name"`, `:name`) are left uninterpolated and read as a string
//! literal, an identifier and a placeholder. A `DO $tag$ … $tag$` body and the dollar-quoted
//! body of `CREATE FUNCTION/PROCEDURE` are PL/pgSQL: they are split on top-level `;` with
//! sqlparser's tokenizer, PL/pgSQL control words in front of a statement (`BEGIN`,
//! `IF … THEN`, `ELSE`, `FOR … LOOP`) are skipped, `PERFORM` reads as `SELECT`, a
//! `SELECT … INTO var` / `RETURNING … INTO var` target is dropped, and each part that is
//! plain SQL is parsed with sqlparser. What does not parse (SQL sqlparser does not know) is
//! listed. The PL/pgSQL around the SQL statements of a body (control words and their
//! conditions, assignments, `RAISE`, `GET DIAGNOSTICS`, `EXECUTE`, `RETURN`) is kept too, in
//! running order, as [`Stmt::control`] items: the guard check reads their loops and queries.

use sqlparser::ast::Statement as Ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace, Word};

/// One SQL statement of a script, where it runs.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// 1-based line of its first token in the script.
    pub line: usize,
    /// Its text (psql variables not interpolated).
    pub text: String,
    /// The block it runs in: `DO $step$`, `PROCEDURE _pgmig.step_x`, or `None` at top level.
    pub block: Option<String>,
    /// The parsed statement, or `None` when sqlparser could not read it.
    pub ast: Option<Ast>,
    /// A `DO` or `CREATE FUNCTION/PROCEDURE` whose body statements follow it in the list.
    pub has_body: bool,
    /// PL/pgSQL code of a body that is not a SQL statement (`IF … THEN`, `END LOOP`, `x := …`,
    /// `RAISE …`, `EXECUTE …`), as written up to its `;` or to the SQL statement it leads
    /// into; `ast` is `None`.
    pub control: bool,
}

/// Statements in running order; a `DO` or `CREATE FUNCTION/PROCEDURE` statement is followed
/// by the statements of its body.
pub fn statements(script: &str) -> Vec<Stmt> {
    statements_and_meta_commands(script).0
}

/// [`statements`], and psql's meta-commands (`\\if`, `\\set`, …) with their 1-based lines: a
/// meta-command comes before every statement whose line is greater.
pub fn statements_and_meta_commands(script: &str) -> (Vec<Stmt>, Vec<(usize, String)>) {
    let (top, meta) = crate::psql::scanner::split_statements(script, None);
    // Top-level statements are read independently of each other, so a long script (a
    // 1,000-step migrate.sql is ~3 MB, and compile lints it for PLAN.md's lock table) is
    // shared among the cores in contiguous runs of about equal size and put back in order.
    let workers = if script.len() < 256 * 1024 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    };
    (read_in_runs(&top, workers), meta)
}

fn read_in_runs(top: &[crate::psql::scanner::Statement], workers: usize) -> Vec<Stmt> {
    if workers <= 1 {
        return top.iter().flat_map(read_top_level).collect();
    }
    std::thread::scope(|scope| {
        let runs: Vec<_> = runs_of_equal_size(top, workers)
            .into_iter()
            .map(|run| scope.spawn(move || run.iter().flat_map(read_top_level).collect::<Vec<_>>()))
            .collect();
        runs.into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// `top` cut into at most `n` contiguous runs of about the same number of bytes.
fn runs_of_equal_size(
    top: &[crate::psql::scanner::Statement],
    n: usize,
) -> Vec<&[crate::psql::scanner::Statement]> {
    let total: usize = top.iter().map(|s| s.text.len()).sum();
    let target = total.div_ceil(n).max(1);
    let mut runs = Vec::with_capacity(n);
    let (mut start, mut size) = (0, 0);
    for (i, st) in top.iter().enumerate() {
        size += st.text.len();
        if size >= target {
            runs.push(&top[start..=i]);
            (start, size) = (i + 1, 0);
        }
    }
    if start < top.len() {
        runs.push(&top[start..]);
    }
    runs
}

/// One top-level statement, followed by the statements of its body if it has one.
fn read_top_level(st: &crate::psql::scanner::Statement) -> Vec<Stmt> {
    let Some(tokens) = tokenize(&st.text) else {
        return vec![Stmt {
            line: st.line,
            text: st.text.clone(),
            block: None,
            ast: None,
            has_body: false,
            control: false,
        }];
    };
    let ast = parse(psql_variables(tokens.clone()));
    let body = body_of(&tokens);
    let mut out = vec![Stmt {
        line: st.line,
        text: st.text.clone(),
        block: None,
        ast,
        has_body: body.is_some(),
        control: false,
    }];
    if let Some((block, body, body_line)) = body {
        // The body's first character is on the line of its opening tag.
        let first_line = st.line + body_line - 1;
        out.extend(body_statements(&body, first_line, &block));
    }
    out
}

/// A piece of SQL (psql variables as in [`statements`]) parsed as one statement.
pub(crate) fn parse_sql(text: &str) -> Option<Ast> {
    parse(psql_variables(tokenize(text)?))
}

fn tokenize(text: &str) -> Option<Vec<TokenWithSpan>> {
    Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize_with_location()
        .ok()
}

fn parse(tokens: Vec<TokenWithSpan>) -> Option<Ast> {
    let significant = tokens.iter().any(|t| {
        !matches!(
            t.token,
            Token::Whitespace(_) | Token::SemiColon | Token::EOF
        )
    });
    if !significant {
        return None;
    }
    let mut statements = Parser::new(&PostgreSqlDialect {})
        .with_tokens_with_locations(without_only(tokens))
        .parse_statements()
        .ok()?;
    if statements.len() == 1 {
        statements.pop()
    } else {
        None
    }
}

/// `FROM ONLY t`, `JOIN ONLY t`, `UPDATE ONLY t` (and `, ONLY t` in a FROM list), which
/// sqlparser does not read: the `ONLY` dropped. The statement locks the same table in the same
/// mode; `ONLY` spares its inheritance children alone (src/emit/view/table_rows.rs).
fn without_only(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    for t in tokens {
        let before = out.iter().rev().find(|p| !is_space(&p.token));
        let names_a_table = before.is_some_and(|p| {
            p.token == Token::Comma
                || matches!(
                    keyword(&p.token),
                    Some(Keyword::FROM | Keyword::JOIN | Keyword::UPDATE)
                )
        });
        if !(names_a_table && keyword(&t.token) == Some(Keyword::ONLY)) {
            out.push(t);
        }
    }
    out
}

fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn keyword(t: &Token) -> Option<Keyword> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

fn word_is(t: &Token, name: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

/// psql variables, uninterpolated: `:'x'` → `'x'`, `:"x"` → `"x"`, `:x` → placeholder `:x`
/// (only when nothing separates the colon from what follows; `::` is a cast token already).
fn psql_variables(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some(t) = iter.next() {
        if t.token == Token::Colon {
            if let Some(next) = iter.peek() {
                let adjacent = next.span.start.line == t.span.end.line
                    && next.span.start.column == t.span.end.column;
                if adjacent {
                    match &next.token {
                        Token::SingleQuotedString(_) => {
                            out.push(iter.next().unwrap());
                            continue;
                        }
                        Token::Word(w) if w.quote_style == Some('"') => {
                            out.push(iter.next().unwrap());
                            continue;
                        }
                        Token::Word(w) if w.quote_style.is_none() => {
                            let name = format!(":{}", w.value);
                            let next = iter.next().unwrap();
                            out.push(TokenWithSpan {
                                token: Token::Placeholder(name),
                                span: next.span,
                            });
                            continue;
                        }
                        _ => {}
                    }
                }
            }
        }
        out.push(t);
    }
    out
}

/// The PL/pgSQL body of a `DO` or `CREATE [OR REPLACE] FUNCTION/PROCEDURE` statement: its
/// block name, text, and the 1-based line (within the statement) of its opening tag.
fn body_of(tokens: &[TokenWithSpan]) -> Option<(String, String, usize)> {
    let words: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_space(&t.token)).collect();
    let first = words.first()?;
    let block = if word_is(&first.token, "DO") {
        None
    } else if keyword(&first.token) == Some(Keyword::CREATE) {
        // CREATE [OR REPLACE] FUNCTION|PROCEDURE name
        let mut i = 1;
        if words
            .get(1)
            .is_some_and(|t| keyword(&t.token) == Some(Keyword::OR))
        {
            i = 3;
        }
        let kind = words.get(i)?;
        let kind = match keyword(&kind.token) {
            Some(Keyword::FUNCTION) => "FUNCTION",
            Some(Keyword::PROCEDURE) => "PROCEDURE",
            _ => return None,
        };
        let mut name = String::new();
        for t in &words[i + 1..] {
            match &t.token {
                Token::Word(w) => name.push_str(&w.to_string()),
                Token::Period => name.push('.'),
                _ => break,
            }
        }
        Some(format!("{kind} {name}"))
    } else {
        return None;
    };
    for t in &words {
        if let Token::DollarQuotedString(d) = &t.token {
            let block = block.unwrap_or_else(|| match &d.tag {
                Some(tag) => format!("DO ${tag}$"),
                None => "DO $$".to_string(),
            });
            return Some((block, d.value.clone(), t.span.start.line as usize));
        }
    }
    None
}

/// Words that may start a SQL statement inside PL/pgSQL (`PERFORM` reads as `SELECT`).
fn starts_sql(t: &Token) -> bool {
    matches!(
        keyword(t),
        Some(
            Keyword::SELECT
                | Keyword::INSERT
                | Keyword::UPDATE
                | Keyword::DELETE
                | Keyword::MERGE
                | Keyword::WITH
                | Keyword::CREATE
                | Keyword::ALTER
                | Keyword::DROP
                | Keyword::ANALYZE
                | Keyword::TRUNCATE
                | Keyword::LOCK
                | Keyword::VACUUM
                | Keyword::REINDEX
                | Keyword::CLUSTER
                | Keyword::REFRESH
                | Keyword::SET
                | Keyword::RESET
                | Keyword::COMMIT
                | Keyword::ROLLBACK
                | Keyword::COPY
                | Keyword::CALL
                | Keyword::COMMENT
        )
    ) || word_is(t, "PERFORM")
}

/// Words after which, in PL/pgSQL, a statement may start.
fn opens_statement(t: &Token) -> bool {
    matches!(
        keyword(t),
        Some(Keyword::THEN | Keyword::ELSE | Keyword::BEGIN)
    ) || word_is(t, "LOOP")
}

/// The statements of a PL/pgSQL body whose first character is on script line `first_line`.
fn body_statements(body: &str, first_line: usize, block: &str) -> Vec<Stmt> {
    let Some(tokens) = tokenize(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut part: Vec<TokenWithSpan> = Vec::new();
    for t in tokens {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if t.token == Token::SemiColon && depth <= 0 {
            out.extend(body_part(
                std::mem::take(&mut part),
                body,
                first_line,
                block,
            ));
            depth = 0;
        } else {
            part.push(t);
        }
    }
    out.extend(body_part(part, body, first_line, block));
    out
}

/// One `;`-terminated part of a PL/pgSQL body: the control code in front of its SQL statement
/// (or the whole part, when it holds none), then the statement.
fn body_part(part: Vec<TokenWithSpan>, body: &str, first_line: usize, block: &str) -> Vec<Stmt> {
    // The first SQL word at the start, or right after a control word, at depth 0.
    let mut depth = 0i32;
    let mut prev: Option<&Token> = None;
    let mut start = None;
    for (i, t) in part.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if is_space(&t.token) || matches!(t.token, Token::EOF) {
            continue;
        }
        if depth == 0 && starts_sql(&t.token) && prev.is_none_or(opens_statement) {
            start = Some(i);
            break;
        }
        prev = Some(&t.token);
    }
    let at = |first: &TokenWithSpan, last: &TokenWithSpan| {
        let (from, to) = (first.span.start, last.span.end);
        let text = slice(
            body,
            from.line as usize,
            from.column as usize,
            to.line as usize,
            to.column as usize,
        );
        (first_line + from.line as usize - 1, text)
    };
    let significant = |t: &&TokenWithSpan| !is_space(&t.token) && t.token != Token::EOF;
    let mut out = Vec::new();
    let control = &part[..start.unwrap_or(part.len())];
    if let (Some(first), Some(last)) = (
        control.iter().find(significant),
        control.iter().rev().find(significant),
    ) {
        let (line, text) = at(first, last);
        out.push(Stmt {
            line,
            text,
            block: Some(block.to_string()),
            ast: None,
            has_body: false,
            control: true,
        });
    }
    let Some(start) = start else {
        return out;
    };
    let mut tokens: Vec<TokenWithSpan> = part[start..].to_vec();
    if word_is(&tokens[0].token, "PERFORM") {
        tokens[0].token = Token::make_keyword("SELECT");
    }
    let tokens = drop_into_targets(tokens);
    let last = part.iter().rev().find(significant).unwrap_or(&tokens[0]);
    let (line, text) = at(&tokens[0], last);
    let ast = parse(tokens);
    out.push(Stmt {
        line,
        text,
        block: Some(block.to_string()),
        ast,
        has_body: false,
        control: false,
    });
    out
}

/// PL/pgSQL `INTO [STRICT] var, …` of a `SELECT` or `RETURNING`, which is not SQL: dropped.
fn drop_into_targets(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut depth = 0i32;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        let prev_kw = out
            .iter()
            .rev()
            .find(|t| !is_space(&t.token))
            .and_then(|t| keyword(&t.token));
        if depth == 0
            && keyword(&t.token) == Some(Keyword::INTO)
            && !matches!(prev_kw, Some(Keyword::INSERT | Keyword::MERGE))
        {
            // Skip INTO, STRICT, and a comma-separated list of (dotted) names.
            let mut j = i + 1;
            let mut expect_name = true;
            while j < tokens.len() {
                let tj = &tokens[j].token;
                if is_space(tj) {
                    j += 1;
                    continue;
                }
                if expect_name && keyword(tj) == Some(Keyword::STRICT) {
                    j += 1;
                    continue;
                }
                match tj {
                    Token::Word(Word {
                        keyword,
                        quote_style,
                        ..
                    }) if expect_name
                        && (quote_style.is_some()
                            || !matches!(keyword, Keyword::FROM | Keyword::WHERE)) =>
                    {
                        expect_name = false;
                    }
                    Token::Period if !expect_name => expect_name = true,
                    Token::Comma if !expect_name => expect_name = true,
                    _ => break,
                }
                j += 1;
            }
            out.push(TokenWithSpan {
                token: Token::Whitespace(Whitespace::Space),
                span: t.span,
            });
            i = j;
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

/// The text between two 1-based (line, column) positions, the end inclusive.
fn slice(text: &str, l1: usize, c1: usize, l2: usize, c2: usize) -> String {
    let mut out = String::new();
    for (n, line) in text.split('\n').enumerate() {
        let n = n + 1;
        if n < l1 || n > l2 {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let from = if n == l1 { c1.saturating_sub(1) } else { 0 };
        let to = if n == l2 {
            c2.saturating_sub(1).min(chars.len())
        } else {
            chars.len()
        };
        if n > l1 {
            out.push('\n');
        }
        out.extend(chars[from.min(to)..to].iter());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_meta_commands_and_reads_psql_variables() {
        let s = statements("\\set ON_ERROR_STOP on\n\\if :{?x}\n\\endif\nSET lock_timeout = :'lock_timeout';\nCALL p(:batch_size);\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 4);
        assert!(s[0].ast.is_some(), "SET with :'var' parses");
        assert!(s[1].ast.is_some(), "CALL with :var parses");
    }

    #[test]
    fn reads_a_table_named_with_only() {
        let sql = "DELETE FROM ONLY public.t AS t USING m WHERE t.id = m.id;\nSELECT 1 FROM ONLY a JOIN ONLY b ON true, ONLY c;\nUPDATE ONLY t SET x = 1;\nSET TRANSACTION READ ONLY;\n";
        let s = statements(sql);
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|s| s.ast.is_some()), "{s:?}");
        assert!(s[0]
            .ast
            .as_ref()
            .unwrap()
            .to_string()
            .contains("FROM public.t"));
    }

    #[test]
    fn brings_out_do_block_statements_with_their_lines() {
        let sql = "SELECT 1;\nDO $step$\nDECLARE\n  n bigint;\nBEGIN\n  SELECT count(*) INTO n FROM t;\n  IF n > 0 THEN\n    DELETE FROM t WHERE x = 1;\n  END IF;\n  RAISE NOTICE '%', n;\nEND\n$step$;\n";
        let s = statements(sql);
        let inner: Vec<(usize, bool, &str)> = s
            .iter()
            .filter(|s| s.block.is_some() && !s.control)
            .map(|s| (s.line, s.ast.is_some(), s.text.as_str()))
            .collect();
        assert_eq!(
            inner,
            vec![
                (6, true, "SELECT count(*) INTO n FROM t"),
                (8, true, "DELETE FROM t WHERE x = 1")
            ]
        );
        assert_eq!(s[2].block.as_deref(), Some("DO $step$"));
    }

    #[test]
    fn procedure_bodies_loops_and_perform() {
        let sql = "CREATE OR REPLACE PROCEDURE _pgmig.step_a(batch_size bigint)\nLANGUAGE plpgsql\nAS $step$\nBEGIN\n  FOR b IN 1 .. 3 LOOP\n    INSERT INTO a SELECT * FROM b;\n    COMMIT;\n  END LOOP;\n  PERFORM setval('s', 1);\nEND\n$step$;\n";
        let s = statements(sql);
        let inner: Vec<(usize, bool)> = s
            .iter()
            .filter(|s| s.block.is_some() && !s.control)
            .map(|s| (s.line, s.ast.is_some()))
            .collect();
        assert_eq!(inner, vec![(6, true), (7, true), (9, true)]);
        assert_eq!(s[1].block.as_deref(), Some("PROCEDURE _pgmig.step_a"));
    }

    #[test]
    fn reading_in_runs_keeps_the_order_and_the_lines() {
        let block = "DO $step$\nBEGIN\n  INSERT INTO a SELECT * FROM b;\n  PERFORM 1;\nEND\n$step$;\nANALYZE a;\n";
        let script = (0..200)
            .map(|i| format!("-- {i}\n{block}"))
            .collect::<String>();
        let (top, _) = crate::psql::scanner::split_statements(&script, None);
        let shape = |s: &[Stmt]| {
            s.iter()
                .map(|s| {
                    (
                        s.line,
                        s.text.clone(),
                        s.block.clone(),
                        s.ast.clone(),
                        s.has_body,
                    )
                })
                .collect::<Vec<_>>()
        };
        let one = shape(&read_in_runs(&top, 1));
        // Per block: the DO, its BEGIN and END (control items), INSERT, PERFORM, ANALYZE.
        assert_eq!(one.len(), 200 * 6);
        for workers in [2, 3, 8] {
            assert_eq!(runs_of_equal_size(&top, workers).len(), workers);
            assert_eq!(
                shape(&read_in_runs(&top, workers)),
                one,
                "{workers} workers"
            );
        }
    }
}
