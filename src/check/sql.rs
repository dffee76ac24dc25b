//! Parsing the SQL fragments of a model, with positions mapped back to the model file.

use sqlparser::ast::{Expr, Query, SetExpr, Statement, TableWithJoins};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

use crate::diagnostic::{Diagnostic, Pos};
use crate::model::{pos_of, Text};

/// Maps positions inside one model value's SQL back to the model file.
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub value: &'a Text,
    pub source: &'a str,
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
        let loc = Location { line: loc.line - self.lines_before, column: loc.column };
        let expr_line = self.value.lines().nth(loc.line as usize - 1)?;
        if loc.line == 1 {
            let model_line = self.source.lines().nth(start.line - 1)?;
            let from_marker: String = model_line.chars().skip(start.column - 1).collect();
            // Quoted scalars start at their quote; escapes (`''`) can hide the text itself.
            let quoted = from_marker.starts_with(['\'', '"']) as usize;
            let shift = from_marker.find(expr_line.trim_end()).map_or(quoted, |b| from_marker[..b].chars().count());
            return Some(Pos { line: start.line, column: start.column + shift + loc.column as usize - 1, len });
        }
        let (line, text) = self
            .source
            .lines()
            .enumerate()
            .skip(start.line)
            .find(|(_, l)| !expr_line.trim().is_empty() && l.contains(expr_line.trim()))?;
        let indent = text.chars().count() - text.trim_start().chars().count();
        let expr_indent = expr_line.chars().count() - expr_line.trim_start().chars().count();
        Some(Pos { line: line + 1, column: indent + loc.column as usize - expr_indent, len })
    }

    pub fn error(&self, message: impl Into<String>, loc: Location, len: usize) -> Diagnostic {
        Diagnostic::error(message, self.at(loc, len).or(self.whole()))
    }
}

fn dialect() -> PostgreSqlDialect {
    PostgreSqlDialect {}
}

/// Parses a single SQL expression; anything after it (`; DROP TABLE …`) is an error.
pub fn parse_expr(origin: Origin, what: &str) -> Result<Expr, Diagnostic> {
    let text = origin.value.as_str();
    let dialect = dialect();
    let mut parser = Parser::new(&dialect).try_with_sql(text).map_err(|e| parse_error(origin, what, &e))?;
    let expr = parser.parse_expr().map_err(|e| parse_error(origin, what, &e))?;
    expect_end(origin, what, &parser)?;
    Ok(expr)
}

/// Parses a FROM clause (the text after `FROM`). `origin.lines_before` must be 1: the clause
/// is parsed on the line after `SELECT 1 FROM`, so token columns are the value's own.
pub fn parse_from(origin: Origin) -> Result<Vec<TableWithJoins>, Diagnostic> {
    debug_assert_eq!(origin.lines_before, 1);
    let text = format!("SELECT 1 FROM\n{}", origin.value.as_str());
    let dialect = dialect();
    let mut parser = Parser::new(&dialect).try_with_sql(&text).map_err(|e| parse_error(origin, "a FROM clause", &e))?;
    let query = parser.parse_query().map_err(|e| parse_error(origin, "a FROM clause", &e))?;
    expect_end(origin, "a FROM clause", &parser)?;
    match *query.body {
        SetExpr::Select(select)
            if query.order_by.is_none() && query.limit_clause.is_none() && select.selection.is_none() =>
        {
            Ok(select.from)
        }
        _ => Err(Diagnostic::error("`from` must be a FROM clause: tables, joins, subqueries", origin.whole())
            .with_hint("put row filters in `where:` and ordering nowhere: a migration step is a set")),
    }
}

/// Parses a read-only query (for `verify` assertions).
pub fn parse_query(origin: Origin) -> Result<Query, Diagnostic> {
    let dialect = dialect();
    let statements = Parser::new(&dialect)
        .try_with_sql(origin.value.as_str())
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| parse_error(origin, "a query", &e))?;
    match statements.as_slice() {
        [Statement::Query(q)] => Ok((**q).clone()),
        _ => Err(Diagnostic::error("expected exactly one SELECT query", origin.whole())
            .with_hint("an assertion is a SELECT that returns the offending rows; it must not change data")),
    }
}

fn expect_end(origin: Origin, what: &str, parser: &Parser) -> Result<(), Diagnostic> {
    let next = parser.peek_token();
    if next.token == Token::EOF {
        return Ok(());
    }
    let rest = next.token.to_string();
    Err(origin
        .error(format!("unexpected `{rest}` after {what}"), next.span.start, rest.chars().count())
        .with_hint(format!("write {what} only: statements and `;` are not allowed here")))
}

/// sqlparser reports positions inside its message ("… at Line: 1, Column: 5").
fn parse_error(origin: Origin, what: &str, e: &ParserError) -> Diagnostic {
    let message = e.to_string();
    let (text, loc) = match message.rsplit_once(" at Line: ") {
        Some((text, pos)) => {
            let mut nums = pos.split(", Column: ").map(|n| n.trim().parse::<u64>().unwrap_or(0));
            let line = nums.next().unwrap_or(0);
            let column = nums.next().unwrap_or(0);
            (text.to_string(), Location { line, column })
        }
        None => (message.clone(), Location { line: 0, column: 0 }),
    };
    let text = text.trim_start_matches("sql parser error: ");
    origin.error(format!("invalid SQL in {what}: {text}"), loc, 1)
}
