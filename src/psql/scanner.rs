//! A line-at-a-time SQL scanner with psql's rules: where statements end, where a
//! meta-command starts, and where `:name`, `:'name'`, `:"name"`, `:{?name}` are interpolated.
//!
//! It tracks single-quoted strings (with `E'…'` backslash escapes), quoted identifiers,
//! dollar-quoted bodies, nested block comments and line comments; nothing is interpolated
//! inside them, and `::` is a cast. A semicolon ends a statement only outside parentheses
//! and outside the `BEGIN … END` of a `CREATE FUNCTION/PROCEDURE … BEGIN ATOMIC` body
//! (psql's heuristic). Like psql, the value of `:name` is scanned again as SQL (it may hold
//! quotes or semicolons); a variable is not expanded inside its own value; `\;` and `\:`
//! give a literal `;` / `:`. Leading whitespace and comments are dropped from a statement.

use super::vars::{is_var_char, quote_ident, quote_literal, Vars};

/// One complete SQL statement and where it starts in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The text to send, from its first token through its terminating `;` (if any).
    pub text: String,
    /// 1-based line of the statement's first token.
    pub line: usize,
}

impl Statement {
    /// The first line of the statement, for messages.
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }

    /// The script line holding the 1-based character `position` of the statement (the
    /// position the server reports with a syntax error).
    pub fn line_of_position(&self, position: usize) -> usize {
        let before = self.text.chars().take(position.saturating_sub(1));
        self.line + before.filter(|&c| c == '\n').count()
    }
}

/// What one line held: the statements it completed and, if the line (from some point on) is
/// a meta-command, that command's text starting with its backslash.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LineOut {
    pub statements: Vec<Statement>,
    pub meta: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Top,
    /// Inside '…'; `escapes` for E'…'.
    Quote {
        escapes: bool,
    },
    /// Inside "…".
    Ident,
    /// Inside $tag$…$tag$.
    Dollar(String),
    /// Inside /* … */, with its nesting depth.
    Block(u32),
}

/// The scanner; keep one per script, feed it every line in order.
#[derive(Debug)]
pub struct SqlScanner {
    state: State,
    buf: String,
    start_line: Option<usize>,
    paren_depth: u32,
    begin_depth: u32,
    ident_count: usize,
    idents: [u8; 4],
}

impl Default for SqlScanner {
    fn default() -> Self {
        Self::new()
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '$'
}

fn is_dolq_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

impl SqlScanner {
    pub fn new() -> Self {
        SqlScanner {
            state: State::Top,
            buf: String::new(),
            start_line: None,
            paren_depth: 0,
            begin_depth: 0,
            ident_count: 0,
            idents: [0; 4],
        }
    }

    /// True when the scanner is outside any statement (nothing pending but whitespace or
    /// comments) and outside any quote or comment.
    pub fn is_idle(&self) -> bool {
        self.start_line.is_none() && self.state == State::Top
    }

    /// What the scanner is inside of at this point, if anything: a quote, a dollar quote or
    /// a comment (psql would wait for more input).
    pub fn open_quote_or_comment(&self) -> Option<String> {
        match &self.state {
            State::Top => None,
            State::Quote { .. } => Some("a quoted string".into()),
            State::Ident => Some("a quoted identifier".into()),
            State::Dollar(tag) => Some(format!("the dollar quote ${tag}$")),
            State::Block(_) => Some("a /* comment".into()),
        }
    }

    /// Forgets the pending statement (psql does so in an inactive `\if` branch).
    pub fn discard(&mut self) {
        self.reset_statement();
    }

    fn reset_statement(&mut self) {
        self.buf.clear();
        self.start_line = None;
        self.paren_depth = 0;
        self.begin_depth = 0;
        self.ident_count = 0;
        self.idents = [0; 4];
    }

    fn push_tok(&mut self, s: &str, line: usize) {
        if self.start_line.is_none() {
            self.start_line = Some(line);
        }
        self.buf.push_str(s);
    }

    fn push_char(&mut self, c: char, line: usize) {
        if self.start_line.is_none() {
            self.start_line = Some(line);
        }
        self.buf.push(c);
    }

    /// Whitespace and comments count only once the statement has begun.
    fn push_ws(&mut self, c: char) {
        if self.start_line.is_some() {
            self.buf.push(c);
        }
    }

    fn emit(&mut self, out: &mut Vec<Statement>) {
        if let Some(line) = self.start_line {
            out.push(Statement {
                text: std::mem::take(&mut self.buf),
                line,
            });
        }
        self.reset_statement();
    }

    /// The statement still pending at the end of the script (psql sends it as it is).
    pub fn finish(&mut self) -> Option<Statement> {
        let mut out = Vec::new();
        let text = self.buf.trim_end().to_string();
        self.buf = text;
        self.emit(&mut out);
        self.state = State::Top;
        out.pop()
    }

    fn track_identifier(&mut self, word: &str) {
        if self.ident_count == 0 {
            self.idents = [0; 4];
        }
        let w = word.to_ascii_lowercase();
        if matches!(
            w.as_str(),
            "create" | "function" | "procedure" | "or" | "replace"
        ) && self.ident_count < self.idents.len()
        {
            self.idents[self.ident_count] = w.as_bytes()[0];
        }
        self.ident_count += 1;
        let id = &self.idents;
        let is_routine = id[0] == b'c'
            && (id[1] == b'f'
                || id[1] == b'p'
                || (id[1] == b'o' && id[2] == b'r' && (id[3] == b'f' || id[3] == b'p')));
        if is_routine && self.paren_depth == 0 {
            match w.as_str() {
                "begin" => self.begin_depth += 1,
                "case" if self.begin_depth >= 1 => self.begin_depth += 1,
                "end" if self.begin_depth > 0 => self.begin_depth -= 1,
                _ => {}
            }
        }
    }

    /// Scans one line (without its line terminator). `vars` is `Some` in an active branch
    /// (variables are interpolated) and `None` in an inactive one (text left as written).
    pub fn feed_line(&mut self, line: &str, line_no: usize, vars: Option<&Vars>) -> LineOut {
        let mut src: Vec<char> = line.chars().collect();
        // Spliced variable values still being scanned: (end index, variable name).
        let mut regions: Vec<(usize, String)> = Vec::new();
        let mut out = LineOut::default();
        let mut i = 0;
        while i < src.len() {
            regions.retain(|(end, _)| *end > i);
            let c = src[i];
            let next = src.get(i + 1).copied();
            match self.state.clone() {
                State::Quote { escapes } => {
                    self.buf.push(c);
                    if escapes && c == '\\' {
                        if let Some(n) = next {
                            self.buf.push(n);
                            i += 2;
                            continue;
                        }
                    } else if c == '\'' {
                        if next == Some('\'') {
                            self.buf.push('\'');
                            i += 2;
                            continue;
                        }
                        self.state = State::Top;
                    }
                    i += 1;
                }
                State::Ident => {
                    self.buf.push(c);
                    if c == '"' {
                        if next == Some('"') {
                            self.buf.push('"');
                            i += 2;
                            continue;
                        }
                        self.state = State::Top;
                    }
                    i += 1;
                }
                State::Dollar(tag) => {
                    if c == '$' {
                        let t: Vec<char> = tag.chars().collect();
                        let end = i + 1 + t.len();
                        if end < src.len() && src[i + 1..end] == t[..] && src[end] == '$' {
                            self.buf.extend(&src[i..=end]);
                            self.state = State::Top;
                            i = end + 1;
                            continue;
                        }
                    }
                    self.buf.push(c);
                    i += 1;
                }
                State::Block(depth) => {
                    if c == '/' && next == Some('*') {
                        self.push_ws('/');
                        self.push_ws('*');
                        self.state = State::Block(depth + 1);
                        i += 2;
                    } else if c == '*' && next == Some('/') {
                        self.push_ws('*');
                        self.push_ws('/');
                        self.state = if depth <= 1 {
                            State::Top
                        } else {
                            State::Block(depth - 1)
                        };
                        i += 2;
                    } else {
                        self.push_ws(c);
                        i += 1;
                    }
                }
                State::Top => {
                    if c.is_whitespace() {
                        self.push_ws(c);
                        i += 1;
                    } else if c == '-' && next == Some('-') {
                        for &ch in &src[i..] {
                            self.push_ws(ch);
                        }
                        i = src.len();
                    } else if c == '/' && next == Some('*') {
                        self.push_ws('/');
                        self.push_ws('*');
                        self.state = State::Block(1);
                        i += 2;
                    } else if c == '\\' {
                        if let Some(n @ (';' | ':')) = next {
                            self.push_char(n, line_no);
                            i += 2;
                        } else {
                            // A meta-command takes the rest of the line.
                            out.meta = Some(src[i..].iter().collect());
                            return out;
                        }
                    } else if c == '\'' {
                        let mut tail = self.buf.chars().rev();
                        let escapes = matches!(tail.next(), Some('e' | 'E'))
                            && !tail.next().is_some_and(is_ident_cont);
                        self.push_char('\'', line_no);
                        self.state = State::Quote { escapes };
                        i += 1;
                    } else if c == '"' {
                        self.push_char('"', line_no);
                        self.state = State::Ident;
                        i += 1;
                    } else if c == '$' {
                        let mut j = i + 1;
                        while j < src.len()
                            && is_dolq_cont(src[j])
                            && !(j == i + 1 && src[j].is_ascii_digit())
                        {
                            j += 1;
                        }
                        if j < src.len() && src[j] == '$' {
                            let tag: String = src[i + 1..j].iter().collect();
                            let delim: String = src[i..=j].iter().collect();
                            self.push_tok(&delim, line_no);
                            self.state = State::Dollar(tag);
                            i = j + 1;
                        } else {
                            self.push_char('$', line_no);
                            i += 1;
                        }
                    } else if c == ':' {
                        i = self.colon(&mut src, i, line_no, vars, &mut regions);
                    } else if c == ';' {
                        self.push_char(';', line_no);
                        i += 1;
                        if self.paren_depth == 0 && self.begin_depth == 0 {
                            self.emit(&mut out.statements);
                        }
                    } else if c == '(' {
                        self.paren_depth += 1;
                        self.push_char(c, line_no);
                        i += 1;
                    } else if c == ')' {
                        self.paren_depth = self.paren_depth.saturating_sub(1);
                        self.push_char(c, line_no);
                        i += 1;
                    } else if is_ident_start(c) {
                        let mut j = i + 1;
                        while j < src.len() && is_ident_cont(src[j]) {
                            j += 1;
                        }
                        let word: String = src[i..j].iter().collect();
                        self.track_identifier(&word);
                        self.push_tok(&word, line_no);
                        i = j;
                    } else if c.is_ascii_digit() {
                        let mut j = i + 1;
                        while j < src.len()
                            && (src[j].is_ascii_alphanumeric() || src[j] == '.' || src[j] == '_')
                        {
                            j += 1;
                        }
                        let num: String = src[i..j].iter().collect();
                        self.push_tok(&num, line_no);
                        i = j;
                    } else {
                        self.push_char(c, line_no);
                        i += 1;
                    }
                }
            }
        }
        self.push_ws('\n');
        out
    }

    /// Handles a `:` in SQL at `src[i]`; returns the index to continue from.
    fn colon(
        &mut self,
        src: &mut Vec<char>,
        i: usize,
        line_no: usize,
        vars: Option<&Vars>,
        regions: &mut Vec<(usize, String)>,
    ) -> usize {
        let next = src.get(i + 1).copied();
        if next == Some(':') {
            self.push_tok("::", line_no);
            return i + 2;
        }
        let Some(vars) = vars else {
            self.push_char(':', line_no);
            return i + 1;
        };
        let name_end = |from: usize| {
            let mut j = from;
            while j < src.len() && is_var_char(src[j]) {
                j += 1;
            }
            j
        };
        match next {
            Some(q @ ('\'' | '"')) => {
                let j = name_end(i + 2);
                if j > i + 2 && src.get(j) == Some(&q) {
                    let name: String = src[i + 2..j].iter().collect();
                    match vars.get(&name) {
                        Some(v) if q == '\'' => self.push_tok(&quote_literal(v), line_no),
                        Some(v) => self.push_tok(&quote_ident(v), line_no),
                        None => self.push_tok(&src[i..=j].iter().collect::<String>(), line_no),
                    }
                    return j + 1;
                }
            }
            Some('{') if src.get(i + 2) == Some(&'?') => {
                let j = name_end(i + 3);
                if j > i + 3 && src.get(j) == Some(&'}') {
                    let name: String = src[i + 3..j].iter().collect();
                    self.push_tok(
                        if vars.contains_key(&name) {
                            "TRUE"
                        } else {
                            "FALSE"
                        },
                        line_no,
                    );
                    return j + 1;
                }
            }
            Some(n) if is_var_char(n) => {
                let j = name_end(i + 1);
                let name: String = src[i + 1..j].iter().collect();
                let recursive = regions.iter().any(|(_, n)| *n == name);
                match vars.get(&name) {
                    Some(v) if !recursive => {
                        let value: Vec<char> = v.chars().collect();
                        let (removed, added) = (j - i, value.len());
                        src.splice(i..j, value);
                        for r in regions.iter_mut() {
                            r.0 = r.0 + added - removed;
                        }
                        regions.push((i + added, name));
                        return i;
                    }
                    _ => {
                        self.push_tok(&src[i..j].iter().collect::<String>(), line_no);
                        return j;
                    }
                }
            }
            _ => {}
        }
        self.push_char(':', line_no);
        i + 1
    }
}

/// Scans a whole text; for tests and for tools that want the statements of a script
/// without meta-commands.
pub fn split_statements(text: &str, vars: Option<&Vars>) -> (Vec<Statement>, Vec<(usize, String)>) {
    let mut sc = SqlScanner::new();
    let mut stmts = Vec::new();
    let mut metas = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let out = sc.feed_line(line, n + 1, vars);
        stmts.extend(out.statements);
        if let Some(m) = out.meta {
            // `\g FILE` and `\gset` send the query buffer, as `;` does.
            let (name, _) = crate::run::meta::split_name(&m);
            if matches!(name, "g" | "gset") {
                stmts.extend(sc.finish());
            }
            metas.push((n + 1, m));
        }
    }
    stmts.extend(sc.finish());
    (stmts, metas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn texts(sql: &str, v: &Vars) -> Vec<String> {
        split_statements(sql, Some(v))
            .0
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let v = Vars::new();
        let sql = "SELECT 1; SELECT ';' , \"a;b\"; SELECT (1;\n2);\nSELECT 3";
        assert_eq!(
            texts(sql, &v),
            vec![
                "SELECT 1;",
                "SELECT ';' , \"a;b\";",
                "SELECT (1;\n2);",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn g_and_gset_end_the_statement_before_them() {
        let sql = "SELECT true AS pgmig_x \\gset\nSET lock_timeout = 0;\nCOPY t TO STDOUT \\g 'f'\nSELECT 2;";
        assert_eq!(
            texts(sql, &Vars::new()),
            vec![
                "SELECT true AS pgmig_x",
                "SET lock_timeout = 0;",
                "COPY t TO STDOUT",
                "SELECT 2;"
            ]
        );
    }

    #[test]
    fn records_the_line_of_the_first_token() {
        let sql = "-- header\n\n/* block\ncomment */\n  SELECT\n  1;\nSELECT 2;";
        let (st, _) = split_statements(sql, None);
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].text, "SELECT\n  1;");
        assert_eq!(st[0].line, 5);
        assert_eq!(st[1].line, 7);
        assert_eq!(st[0].line_of_position(10), 6);
        assert_eq!(st[0].first_line(), "SELECT");
    }

    #[test]
    fn dollar_quotes_hide_semicolons_variables_and_backslashes() {
        let v = vars(&[("notavar", "BOOM"), ("x", "7")]);
        let sql = "DO $body$\nBEGIN\n  RAISE NOTICE 'a;b :notavar \\ %', :x;\n  PERFORM $$ :x $$;\nEND\n$body$;\nSELECT :x;";
        let got = texts(sql, &v);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains(":notavar \\ %', :x;"), "{}", got[0]);
        assert!(got[0].contains("$$ :x $$"));
        assert_eq!(got[1], "SELECT 7;");
    }

    #[test]
    fn interpolation_forms() {
        let v = vars(&[("n", "42"), ("s", "it's"), ("b", r"a\b"), ("t", "My Table")]);
        assert_eq!(
            texts("SELECT :n, :'s', :'b', :\"t\", :{?n}, :{?zz};", &v),
            vec!["SELECT 42, 'it''s',  E'a\\\\b', \"My Table\", TRUE, FALSE;"]
        );
    }

    #[test]
    fn casts_comments_strings_and_unset_variables_are_left_alone() {
        let v = vars(&[("n", "42"), ("text", "NO")]);
        let sql = "SELECT '1'::text, ':n', E'\\':n', \":n\", :unset, :'unset', :\"unset\" -- :n\n /* :n */ , :n;";
        assert_eq!(texts(sql, &v), vec![
            "SELECT '1'::text, ':n', E'\\':n', \":n\", :unset, :'unset', :\"unset\" -- :n\n /* :n */ , 42;"
        ]);
    }

    #[test]
    fn inactive_branch_text_is_not_interpolated() {
        let (st, _) = split_statements("SELECT :n, :'n';", None);
        assert_eq!(st[0].text, "SELECT :n, :'n';");
    }

    #[test]
    fn raw_values_are_scanned_again_without_recursion() {
        let v = vars(&[
            ("two", "SELECT 1; SELECT 2"),
            ("me", "x :me"),
            ("q", "'a;b'"),
        ]);
        assert_eq!(texts(":two;", &v), vec!["SELECT 1;", "SELECT 2;"]);
        assert_eq!(texts("SELECT :me;", &v), vec!["SELECT x :me;"]);
        assert_eq!(texts("SELECT :q;", &v), vec!["SELECT 'a;b';"]);
    }

    #[test]
    fn meta_commands_end_the_line_and_leave_pending_sql() {
        let (st, metas) = split_statements("SELECT 1; \\echo hi :x\nSELECT\n\\if true\n2;", None);
        assert_eq!(
            metas,
            vec![
                (1, "\\echo hi :x".to_string()),
                (3, "\\if true".to_string())
            ]
        );
        assert_eq!(st[0].text, "SELECT 1;");
        assert_eq!(st[1].text, "SELECT\n2;");
        assert_eq!(st[1].line, 2);
    }

    #[test]
    fn backslash_inside_strings_is_not_a_meta_command() {
        let (st, metas) = split_statements(
            "SELECT E'\\n', '\\', $$\\x$$;\nSELECT 'a\n\\echo no';",
            None,
        );
        assert!(metas.is_empty(), "{metas:?}");
        assert_eq!(st.len(), 2);
        assert_eq!(st[1].text, "SELECT 'a\n\\echo no';");
    }

    #[test]
    fn escaped_semicolon_and_colon() {
        let v = vars(&[("n", "1")]);
        assert_eq!(
            texts("SELECT 1\\; SELECT \\:n;", &v),
            vec!["SELECT 1; SELECT :n;"]
        );
    }

    #[test]
    fn begin_atomic_bodies_stay_whole() {
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\nEND;\nSELECT 1;";
        let st = texts(sql, &Vars::new());
        assert_eq!(st.len(), 2, "{st:?}");
        assert!(st[0].ends_with("END;"));
    }

    #[test]
    fn begin_transaction_is_a_statement_of_its_own() {
        let st = texts("BEGIN;\nINSERT INTO t VALUES (1);\nEND;", &Vars::new());
        assert_eq!(st, vec!["BEGIN;", "INSERT INTO t VALUES (1);", "END;"]);
    }

    #[test]
    fn nested_block_comments_and_identifiers_with_dollars() {
        let v = vars(&[("n", "1")]);
        assert_eq!(
            texts("/* a /* b */ ; */ SELECT a$b$c, $1, :n;", &v),
            vec!["SELECT a$b$c, $1, 1;"]
        );
    }

    #[test]
    fn comment_only_tail_is_not_a_statement() {
        let (st, _) = split_statements("SELECT 1;\n-- done\n/* bye */\n", None);
        assert_eq!(st.len(), 1);
    }

    #[test]
    fn unterminated_statement_is_sent_at_the_end() {
        let (st, _) = split_statements("SELECT 1;\nSELECT 2\n\n", None);
        assert_eq!(st.last().unwrap().text, "SELECT 2");
    }
}
