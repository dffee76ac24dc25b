//! Parsing the SQL fragments of a model, with positions mapped back to the model file.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, SetExpr, Statement, TableWithJoins, Visit, Visitor};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::diagnostic::{Diagnostic, Pos};
use crate::model::{pos_of, Text};

/// Maps positions inside one model value's SQL back to the model file.
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub value: &'a Text,
    /// The model file's lines.
    pub lines: &'a [&'a str],
    /// Lines the parsed text has before the value's own (a `from` is parsed after a line
    /// `SELECT 1 FROM`, so its tokens' positions are one line down).
    pub lines_before: u64,
}

impl Origin<'_> {
    pub fn line(&self) -> usize {
        pos_of(self.value).map_or(0, |p| p.line)
    }

    /// The whole value.
    pub fn whole(&self) -> Option<Pos> {
        pos_of(self.value)
    }

    /// A 1-based line/column inside the value's text, as a position in the model file.
    /// Plain and quoted scalars start at the marker; for block scalars the line
    /// is found by its text below the marker.
    pub fn at(&self, loc: Location, len: usize) -> Option<Pos> {
        let start = pos_of(self.value)?;
        if loc.line <= self.lines_before {
            return Some(start);
        }
        let loc = Location {
            line: loc.line - self.lines_before,
            column: loc.column,
        };
        let expr_line = self.value.lines().nth(loc.line as usize - 1)?;
        if loc.line == 1 {
            let model_line = self.lines.get(start.line - 1)?;
            let from_marker: String = model_line.chars().skip(start.column - 1).collect();
            // Quoted scalars start at their quote; escapes (`''`) can hide the text itself.
            let quoted = from_marker.starts_with(['\'', '"']) as usize;
            let shift = from_marker
                .find(expr_line.trim_end())
                .map_or(quoted, |b| from_marker[..b].chars().count());
            return Some(Pos {
                line: start.line,
                column: start.column + shift + loc.column as usize - 1,
                len,
            });
        }
        let (line, text) = self
            .lines
            .iter()
            .enumerate()
            .skip(start.line)
            .find(|(_, l)| !expr_line.trim().is_empty() && l.contains(expr_line.trim()))?;
        let indent = text.chars().count() - text.trim_start().chars().count();
        let expr_indent = expr_line.chars().count() - expr_line.trim_start().chars().count();
        Some(Pos {
            line: line + 1,
            column: indent + loc.column as usize - expr_indent,
            len,
        })
    }

    pub fn error(&self, message: impl Into<String>, loc: Location, len: usize) -> Diagnostic {
        Diagnostic::error(message, self.at(loc, len).or(self.whole()))
    }
}

fn dialect() -> PostgreSqlDialect {
    PostgreSqlDialect {}
}

/// The most tokens one fragment may have. The checks walk expressions recursively and a
/// chain `a OR b OR …` is as deep as it is long: past this, a fragment could overflow the
/// stack. Real fragments have tens of tokens; a long CASE a few hundred.
pub const MAX_TOKENS: usize = 10_000;

/// What must hold before a fragment is parsed: nothing psql would read differently
/// (quotes that never close, psql variables, meta-commands), and a size the checks can walk.
fn precheck(origin: Origin, what: &str) -> Result<(), Diagnostic> {
    if let Some(p) = super::lexical::check(origin.value.as_str()) {
        let loc = Location {
            line: p.line + origin.lines_before,
            column: p.column,
        };
        return Err(origin
            .error(format!("{what}: {}", p.message), loc, p.len)
            .with_hint(p.hint));
    }
    if let Some(n) = oversized(origin.value.as_str()) {
        return Err(Diagnostic::error(format!("{what} is too long: {n} tokens, at most {MAX_TOKENS}"), origin.whole())
            .with_hint("split the condition: compute parts in `columns:` or move the logic into a V1 view or function"));
    }
    Ok(())
}

/// The number of tokens of `text`, when over [`MAX_TOKENS`].
pub fn oversized(text: &str) -> Option<usize> {
    if text.len() <= MAX_TOKENS {
        return None; // a token is at least a byte: no need to count
    }
    Some(significant_tokens(text).len()).filter(|&n| n > MAX_TOKENS)
}

/// The fragment's tokens without whitespace and comments (empty if it does not tokenize:
/// the parser then reports why).
fn significant_tokens(text: &str) -> Vec<TokenWithSpan> {
    let dialect = dialect();
    let mut tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .unwrap_or_default();
    tokens.retain(|t| !matches!(t.token, Token::Whitespace(_)));
    tokens
}

/// Parses a single SQL expression; anything after it (`; DROP TABLE …`) is an error.
pub fn parse_expr(origin: Origin, what: &str) -> Result<Expr, Diagnostic> {
    precheck(origin, what)?;
    let text = origin.value.as_str();
    let dialect = dialect();
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|e| parse_error(origin, what, &e))?;
    let mut expr = parser
        .parse_expr()
        .map_err(|e| parse_error(origin, what, &e))?;
    expect_end(origin, what, &parser)?;
    named_arguments(&mut expr);
    Ok(expr)
}

/// `make_interval(years => 12)`: PostgreSQL's dialect reads an argument's name as an
/// expression, which the column checks would take for a column. A plain name is a name:
/// it becomes one (printed the same), and only the value is an expression.
fn named_arguments<T: sqlparser::ast::VisitMut>(tree: &mut T) {
    use sqlparser::ast::{FunctionArg, FunctionArguments};
    let _ = sqlparser::ast::visit_expressions_mut(tree, |e| {
        if let Expr::Function(f) = e {
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in &mut list.args {
                    if let FunctionArg::ExprNamed {
                        name: Expr::Identifier(name),
                        arg: value,
                        operator,
                    } = arg
                    {
                        *arg = FunctionArg::Named {
                            name: name.clone(),
                            arg: value.clone(),
                            operator: operator.clone(),
                        };
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Parses a FROM clause (the text after `FROM`). `origin.lines_before` must be 1: the clause
/// is parsed on the line after `SELECT 1 FROM`, so token columns are the value's own.
pub fn parse_from(origin: Origin) -> Result<Vec<TableWithJoins>, Diagnostic> {
    debug_assert_eq!(origin.lines_before, 1);
    precheck(origin, "a FROM clause")?;
    let text = format!("SELECT 1 FROM\n{}", origin.value.as_str());
    let dialect = dialect();
    let mut parser = Parser::new(&dialect)
        .try_with_sql(&text)
        .map_err(|e| parse_error(origin, "a FROM clause", &e))?;
    let mut query = parser
        .parse_query()
        .map_err(|e| parse_error(origin, "a FROM clause", &e))?;
    expect_end(origin, "a FROM clause", &parser)?;
    named_arguments(&mut query);
    match *query.body {
        SetExpr::Select(select)
            if query.order_by.is_none()
                && query.limit_clause.is_none()
                && select.selection.is_none() =>
        {
            Ok(select.from)
        }
        _ => Err(Diagnostic::error(
            "`from` must be a FROM clause: tables, joins, subqueries",
            origin.whole(),
        )
        .with_hint("put row filters in `where:` and ordering nowhere: a migration step is a set")),
    }
}

/// What a read-only query of the model is for: its errors say so.
#[derive(Debug, Clone, Copy)]
pub enum ReadQuery {
    /// A `verify` assertion.
    Assertion,
    /// An `archives:` query.
    Archive,
}

impl ReadQuery {
    fn noun(self) -> &'static str {
        match self {
            ReadQuery::Assertion => "an assertion",
            ReadQuery::Archive => "an archive query",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            ReadQuery::Assertion => "an assertion only reads: it returns the offending rows (functions it calls are not checked; verify.sql runs them READ ONLY)",
            ReadQuery::Archive => "an archive query only reads: it returns the archive's files and texts (functions it calls are not checked; export.sql runs it READ ONLY)",
        }
    }
}

/// Parses a read-only query (`verify` assertions, `archives:`): one SELECT, with no
/// data-modifying statement in its WITH clauses and no row locks. Functions it calls can't be
/// checked here; verify.sql and export.sql run such queries in a READ ONLY transaction.
pub fn parse_query(origin: Origin, kind: ReadQuery) -> Result<Query, Diagnostic> {
    precheck(origin, "a query")?;
    let dialect = dialect();
    let statements = Parser::new(&dialect)
        .try_with_sql(origin.value.as_str())
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| parse_error(origin, "a query", &e))?;
    let mut query = match statements.as_slice() {
        [Statement::Query(q)] => (**q).clone(),
        _ => {
            return Err(
                Diagnostic::error("expected exactly one SELECT query", origin.whole())
                    .with_hint(kind.hint()),
            )
        }
    };
    named_arguments(&mut query);
    if let ControlFlow::Break(found) = query.visit(&mut ReadOnly) {
        let tokens = significant_tokens(origin.value.as_str());
        let keyword = tokens
            .iter()
            .position(|t| matches!(&t.token, Token::Word(w) if w.keyword == found.keyword()));
        let at = keyword.map(|i| &tokens[i]);
        let len = at.map_or(1, |t| t.token.to_string().chars().count());
        let loc = at.map_or(Location { line: 0, column: 0 }, |t| t.span.start);
        return Err(origin
            .error(found.message(kind.noun()), loc, len)
            .with_hint(kind.hint()));
    }
    Ok(query)
}

/// What makes a query more than a read.
enum Writes {
    Insert,
    Update,
    Delete,
    Merge,
    Lock,
}

impl Writes {
    fn keyword(&self) -> Keyword {
        match self {
            Writes::Insert => Keyword::INSERT,
            Writes::Update => Keyword::UPDATE,
            Writes::Delete => Keyword::DELETE,
            Writes::Merge => Keyword::MERGE,
            Writes::Lock => Keyword::FOR,
        }
    }

    fn message(&self, noun: &str) -> String {
        match self {
            Writes::Lock => format!("{noun} must not lock rows (`FOR UPDATE`/`FOR SHARE`)"),
            w => format!(
                "{noun} must not change data: `{:?}` in a query",
                w.keyword()
            ),
        }
    }
}

/// Finds a data-modifying statement (in a WITH clause, at any depth) or a row lock.
struct ReadOnly;

impl Visitor for ReadOnly {
    type Break = Writes;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Writes> {
        if !query.locks.is_empty() {
            return ControlFlow::Break(Writes::Lock);
        }
        match *query.body {
            SetExpr::Insert { .. } => ControlFlow::Break(Writes::Insert),
            SetExpr::Update { .. } => ControlFlow::Break(Writes::Update),
            SetExpr::Delete { .. } => ControlFlow::Break(Writes::Delete),
            SetExpr::Merge { .. } => ControlFlow::Break(Writes::Merge),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Writes> {
        match statement {
            Statement::Insert { .. } => ControlFlow::Break(Writes::Insert),
            Statement::Update { .. } => ControlFlow::Break(Writes::Update),
            Statement::Delete { .. } => ControlFlow::Break(Writes::Delete),
            Statement::Merge { .. } => ControlFlow::Break(Writes::Merge),
            _ => ControlFlow::Continue(()),
        }
    }
}

fn expect_end(origin: Origin, what: &str, parser: &Parser) -> Result<(), Diagnostic> {
    let next = parser.peek_token();
    if next.token == Token::EOF {
        return Ok(());
    }
    let rest = next.token.to_string();
    Err(origin
        .error(
            format!("unexpected `{rest}` after {what}"),
            next.span.start,
            rest.chars().count(),
        )
        .with_hint(format!(
            "write {what} only: statements and `;` are not allowed here"
        )))
}

/// sqlparser reports positions inside its message ("… at Line: 1, Column: 5").
fn parse_error(origin: Origin, what: &str, e: &ParserError) -> Diagnostic {
    let message = e.to_string();
    let (text, loc) = match message.rsplit_once(" at Line: ") {
        Some((text, pos)) => {
            let mut nums = pos
                .split(", Column: ")
                .map(|n| n.trim().parse::<u64>().unwrap_or(0));
            let line = nums.next().unwrap_or(0);
            let column = nums.next().unwrap_or(0);
            (text.to_string(), Location { line, column })
        }
        None => (message.clone(), Location { line: 0, column: 0 }),
    };
    let text = text.trim_start_matches("sql parser error: ");
    if matches!(e, ParserError::RecursionLimitExceeded) {
        return origin
            .error(format!("{what} nests too deeply for the parser"), loc, 1)
            .with_hint("fewer nested parentheses or subqueries: compute parts in `columns:` or in a V1 view");
    }
    origin.error(format!("invalid SQL in {what}: {text}"), loc, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostic for `sql` as the value of `q:` on line 1 of a model, as `line:col: message (hint)`.
    fn assertion_error(sql: &str) -> String {
        #[derive(serde::Deserialize)]
        struct One {
            q: Text,
        }
        let yaml = format!("q: {sql}");
        let one: One = marked_yaml::from_yaml(0, &yaml).unwrap();
        let lines: Vec<&str> = yaml.lines().collect();
        let d = parse_query(
            Origin {
                value: &one.q,
                lines: &lines,
                lines_before: 0,
            },
            ReadQuery::Assertion,
        )
        .unwrap_err();
        let at = d.at.unwrap();
        format!(
            "{}:{}: {} ({})",
            at.line,
            at.column,
            d.message,
            d.hint.unwrap_or_default()
        )
    }

    #[test]
    fn assertions_that_write_or_lock_are_refused() {
        insta::assert_snapshot!(assertion_error("WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d"), @"1:15: an assertion must not change data: `DELETE` in a query (an assertion only reads: it returns the offending rows (functions it calls are not checked; verify.sql runs them READ ONLY))");
        insta::assert_snapshot!(assertion_error("WITH u AS (UPDATE t SET a = 1 RETURNING id) SELECT id FROM u"), @"1:15: an assertion must not change data: `UPDATE` in a query (an assertion only reads: it returns the offending rows (functions it calls are not checked; verify.sql runs them READ ONLY))");
        insta::assert_snapshot!(assertion_error("SELECT id FROM t FOR UPDATE"), @"1:21: an assertion must not lock rows (`FOR UPDATE`/`FOR SHARE`) (an assertion only reads: it returns the offending rows (functions it calls are not checked; verify.sql runs them READ ONLY))");
    }
}
