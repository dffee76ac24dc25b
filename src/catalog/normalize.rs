//! One spelling for expressions read from DDL text and from pg_get_expr(), and for
//! type names (DDL spellings mapped to `format_type()`'s).
//!
//! Expressions: parsed with sqlparser, then rewritten bottom-up:
//! - parentheses are dropped and put back only around compound operands (so
//!   `((a > 0) AND (b > 0))` from pg_get_expr and `a > 0 AND b > 0` agree);
//! - casts PostgreSQL adds to literals are dropped (`'x'::character varying`,
//!   `(0)::numeric`, `'-1'::integer` → `-1`), and `::text`/`::character varying` casts
//!   on bare columns (added for varchar columns); `::regclass` casts are kept;
//! - `x = ANY (ARRAY[…])` becomes `x IN (…)` (`<> ALL` → `NOT IN`), `~~` → `LIKE`;
//! - unquoted identifiers and function names are lowercased; quotes only where needed;
//! - type names in casts are canonical (`format_type` spelling).
//!
//! Keywords print as sqlparser's Display prints them (upper case).
//!
//! Known limit: a cast to text written on purpose on a non-text column
//! (`CHECK (id::text <> '')`) is dropped too.

use std::ops::ControlFlow;

use crate::sql_text::quote_literal;
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Ident, ObjectName, ObjectNamePart, UnaryOperator,
    Value, ValueWithSpan,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::quote_ident;

/// Normalizes an SQL expression (unqualified user types and sequences stay as written).
pub fn normalize_expr(expr: &str) -> String {
    normalize_expr_in(expr, None)
}

/// Normalizes an expression; with `default_schema`, unqualified user types in casts and
/// `nextval('seq')` arguments are qualified with it (as pg_get_expr prints them with
/// `search_path = ''`).
pub(crate) fn normalize_expr_in(expr: &str, default_schema: Option<&str>) -> String {
    let dialect = PostgreSqlDialect {};
    let parsed = Parser::new(&dialect).try_with_sql(expr).and_then(|mut p| {
        let e = p.parse_expr()?;
        p.expect_token(&Token::EOF)?;
        Ok(e)
    });
    match parsed {
        Ok(mut e) => {
            canon_expr(&mut e, default_schema);
            e.to_string()
        }
        Err(_) => canon_tokens(expr),
    }
}

/// Rewrites a parsed expression into its canonical form (see the module doc).
pub(crate) fn canon_expr(expr: &mut Expr, default_schema: Option<&str>) {
    let _ = sqlparser::ast::visit_expressions_mut(expr, |e| {
        rewrite(e, default_schema);
        ControlFlow::<()>::Continue(())
    });
    // visit_expressions_mut visits children first; the root is visited last, so the
    // outermost Nested (if any) is already gone.
}

fn is_string_lit(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

fn number(s: &str) -> Expr {
    Expr::Value(Value::Number(s.to_string(), false).into())
}

const NUMERIC_TYPES: &[&str] = &[
    "integer",
    "bigint",
    "smallint",
    "numeric",
    "real",
    "double precision",
];
const TEXT_TYPES: &[&str] = &["text", "character varying", "character", "bpchar", "name"];

fn base_type(canon: &str) -> &str {
    // "character varying(20)" -> "character varying", "numeric(10,2)" -> "numeric"
    match canon.find('(') {
        Some(i) if !canon.ends_with("[]") => canon[..i].trim_end(),
        _ => canon,
    }
}

fn compound(e: &Expr) -> bool {
    matches!(
        e,
        Expr::BinaryOp { .. }
            | Expr::UnaryOp { .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::SimilarTo { .. }
            | Expr::AnyOp { .. }
            | Expr::AllOp { .. }
            | Expr::AtTimeZone { .. }
            | Expr::Collate { .. }
    )
}

fn wrap(e: &mut Box<Expr>) {
    if compound(e) {
        let inner = std::mem::replace(e.as_mut(), Expr::Value(Value::Null.into()));
        **e = Expr::Nested(Box::new(inner));
    }
}

fn canon_ident(id: &mut Ident) {
    if id.quote_style.is_none() {
        id.value = id.value.to_lowercase();
    }
    id.quote_style = if quote_ident(&id.value).starts_with('"') {
        Some('"')
    } else {
        None
    };
}

fn canon_object_name(n: &mut ObjectName) {
    for part in &mut n.0 {
        if let ObjectNamePart::Identifier(id) = part {
            canon_ident(id);
        }
    }
}

fn custom_type(name: &str) -> DataType {
    // A type name printed verbatim by Display.
    DataType::Custom(
        ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        vec![],
    )
}

fn rewrite(e: &mut Expr, schema: Option<&str>) {
    let taken = std::mem::replace(e, Expr::Value(Value::Null.into()));
    *e = match taken {
        Expr::Nested(inner) => *inner,
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr,
            data_type,
            format: None,
        } => {
            let ty = type_name(&data_type, schema.unwrap_or(""));
            let base = base_type(&ty).to_string();
            if base == "regclass" {
                let expr = match (*expr, schema) {
                    (
                        Expr::Value(ValueWithSpan {
                            value: Value::SingleQuotedString(s),
                            ..
                        }),
                        Some(sch),
                    ) => Expr::Value(Value::SingleQuotedString(qualify_regclass(&s, sch)).into()),
                    (other, _) => other,
                };
                Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(expr),
                    data_type: custom_type(&ty),
                    format: None,
                }
            } else if let Some(s) = is_string_lit(&expr) {
                if NUMERIC_TYPES.contains(&base.as_str()) && s.trim().parse::<f64>().is_ok() {
                    number(s.trim())
                } else {
                    *expr
                }
            } else if cast_postgres_adds(&expr, &base, &ty) {
                *expr
            } else {
                let mut expr = expr;
                wrap(&mut expr);
                Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr,
                    data_type: custom_type(&ty),
                    format: None,
                }
            }
        }
        Expr::TypedString(ts) => {
            let ty = type_name(&ts.data_type, schema.unwrap_or(""));
            if ty == "regclass" {
                Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(Expr::Value(ts.value)),
                    data_type: custom_type(&ty),
                    format: None,
                }
            } else {
                Expr::Value(ts.value)
            }
        }
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match *expr {
            Expr::Value(ValueWithSpan {
                value: Value::Number(n, l),
                ..
            }) if !n.starts_with('-') => Expr::Value(Value::Number(format!("-{n}"), l).into()),
            other => {
                let mut b = Box::new(other);
                wrap(&mut b);
                Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: b,
                }
            }
        },
        Expr::UnaryOp { op, mut expr } => {
            wrap(&mut expr);
            Expr::UnaryOp { op, expr }
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if matches!(*right, Expr::Array(_)) => {
            let Expr::Array(arr) = *right else {
                unreachable!()
            };
            let mut left = left;
            wrap(&mut left);
            Expr::InList {
                expr: left,
                list: arr.elem,
                negated: false,
            }
        }
        Expr::AllOp {
            left,
            compare_op: BinaryOperator::NotEq,
            right,
        } if matches!(*right, Expr::Array(_)) => {
            let Expr::Array(arr) = *right else {
                unreachable!()
            };
            let mut left = left;
            wrap(&mut left);
            Expr::InList {
                expr: left,
                list: arr.elem,
                negated: true,
            }
        }
        Expr::BinaryOp {
            mut left,
            op,
            mut right,
        } => {
            wrap(&mut left);
            wrap(&mut right);
            match op {
                BinaryOperator::PGLikeMatch => Expr::Like {
                    negated: false,
                    any: false,
                    expr: left,
                    pattern: right,
                    escape_char: None,
                },
                BinaryOperator::PGNotLikeMatch => Expr::Like {
                    negated: true,
                    any: false,
                    expr: left,
                    pattern: right,
                    escape_char: None,
                },
                BinaryOperator::PGILikeMatch => Expr::ILike {
                    negated: false,
                    any: false,
                    expr: left,
                    pattern: right,
                    escape_char: None,
                },
                BinaryOperator::PGNotILikeMatch => Expr::ILike {
                    negated: true,
                    any: false,
                    expr: left,
                    pattern: right,
                    escape_char: None,
                },
                op => Expr::BinaryOp { left, op, right },
            }
        }
        Expr::InList {
            mut expr,
            list,
            negated,
        } => {
            wrap(&mut expr);
            Expr::InList {
                expr,
                list,
                negated,
            }
        }
        Expr::IsNull(mut x) => {
            wrap(&mut x);
            Expr::IsNull(x)
        }
        Expr::IsNotNull(mut x) => {
            wrap(&mut x);
            Expr::IsNotNull(x)
        }
        Expr::Like {
            negated,
            any,
            mut expr,
            mut pattern,
            escape_char,
        } => {
            wrap(&mut expr);
            wrap(&mut pattern);
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
        }
        Expr::ILike {
            negated,
            any,
            mut expr,
            mut pattern,
            escape_char,
        } => {
            wrap(&mut expr);
            wrap(&mut pattern);
            Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
        }
        // PostgreSQL stores `x BETWEEN a AND b` as `(x >= a) AND (x <= b)`.
        Expr::Between {
            mut expr,
            negated,
            mut low,
            mut high,
        } => {
            wrap(&mut expr);
            wrap(&mut low);
            wrap(&mut high);
            let (op_low, op_high, join) = if negated {
                (BinaryOperator::Lt, BinaryOperator::Gt, BinaryOperator::Or)
            } else {
                (
                    BinaryOperator::GtEq,
                    BinaryOperator::LtEq,
                    BinaryOperator::And,
                )
            };
            let a = Expr::BinaryOp {
                left: expr.clone(),
                op: op_low,
                right: low,
            };
            let b = Expr::BinaryOp {
                left: expr,
                op: op_high,
                right: high,
            };
            Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(a))),
                op: join,
                right: Box::new(Expr::Nested(Box::new(b))),
            }
        }
        Expr::Identifier(mut id) => {
            canon_ident(&mut id);
            Expr::Identifier(id)
        }
        Expr::CompoundIdentifier(mut ids) => {
            ids.iter_mut().for_each(canon_ident);
            Expr::CompoundIdentifier(ids)
        }
        Expr::Function(mut f) => {
            canon_object_name(&mut f.name);
            if let (Some(sch), true) = (schema, f.name.to_string() == "nextval") {
                qualify_nextval_arg(&mut f, sch);
            }
            Expr::Function(f)
        }
        other => other,
    };
}

/// `nextval('seq')` → `nextval('<schema>.seq'::regclass)`.
fn qualify_nextval_arg(f: &mut sqlparser::ast::Function, schema: &str) {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    if let FunctionArguments::List(list) = &mut f.args {
        if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut() {
            if let Some(s) = is_string_lit(arg) {
                let q = qualify_regclass(s, schema);
                *arg = Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(Expr::Value(Value::SingleQuotedString(q).into())),
                    data_type: custom_type("regclass"),
                    format: None,
                };
            }
        }
    }
}

/// `'seq'` → `'public.seq'`, `'"My Seq"'` kept quoted, already qualified names kept.
fn qualify_regclass(s: &str, schema: &str) -> String {
    let parts = split_qualified(s);
    let parts: Vec<String> = parts.iter().map(|p| quote_ident(p)).collect();
    if parts.len() == 1 {
        format!("{}.{}", quote_ident(schema), parts[0])
    } else {
        parts.join(".")
    }
}

/// Splits `a."B c".d` into its (unquoted, case-folded) parts.
pub(crate) fn split_qualified(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.trim().chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted_part = true;
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            cur.push('"');
                        } else {
                            break;
                        }
                    } else {
                        cur.push(c);
                    }
                }
            }
            '.' => {
                parts.push(std::mem::take(&mut cur));
                quoted_part = false;
            }
            c if quoted_part => cur.push(c),
            c => cur.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(cur);
    parts
}

/// Casts PostgreSQL adds on its own when it stores an expression (numbers to numeric types,
/// columns and array literals to text types): both readers drop them.
fn cast_postgres_adds(expr: &Expr, base: &str, ty: &str) -> bool {
    let number = matches!(
        expr,
        Expr::Value(ValueWithSpan {
            value: Value::Number(..),
            ..
        })
    );
    let column = matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    let text_array = matches!(expr, Expr::Array(_))
        && ty.ends_with("[]")
        && TEXT_TYPES.contains(&base_type(ty.trim_end_matches("[]")));
    (number && NUMERIC_TYPES.contains(&base))
        || (column && TEXT_TYPES.contains(&base))
        || text_array
}

/// Canonical spelling of a parsed data type (see [`normalize_type`]).
pub(crate) fn type_name(dt: &DataType, default_schema: &str) -> String {
    normalize_type(&dt.to_string(), default_schema)
}

/// Types `format_type()` prints unqualified (pg_catalog), besides the ones mapped below.
const BUILTIN: &[&str] = &[
    "text",
    "bytea",
    "date",
    "json",
    "jsonb",
    "uuid",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "tsvector",
    "tsquery",
    "money",
    "xml",
    "interval",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "regclass",
    "regtype",
    "regproc",
    "regconfig",
    "oid",
    "name",
    "\"char\"",
    "boolean",
    "integer",
    "bigint",
    "smallint",
    "real",
    "double precision",
    "numeric",
    "character varying",
    "character",
    "bit",
    "bit varying",
    "timestamp without time zone",
    "timestamp with time zone",
    "time without time zone",
    "time with time zone",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "record",
    "void",
    "trigger",
    "anyelement",
    "jsonpath",
    "pg_lsn",
    "txid_snapshot",
    "pg_snapshot",
    "xid",
    "cid",
    "tid",
    "bpchar",
];

/// Maps a DDL spelling of a type to `format_type()`'s (with `search_path = ''`):
/// `int4` → `integer`, `varchar(20)` → `character varying(20)`, `timestamptz(3)` →
/// `timestamp(3) with time zone`, `serial` → `integer`, `mpaa_rating[]` →
/// `public.mpaa_rating[]` (unqualified user types go in `default_schema`).
pub fn normalize_type(text: &str, default_schema: &str) -> String {
    let mut t = text.trim().to_string();
    let mut array = false;
    loop {
        let trimmed = t.trim_end();
        if let Some(stripped) = trimmed.strip_suffix(']') {
            if let Some(i) = stripped.rfind('[') {
                t = stripped[..i].to_string();
                array = true;
                continue;
            }
        }
        break;
    }
    let lower_t = t.to_lowercase();
    if let Some(stripped) = lower_t.trim_end().strip_suffix(" array") {
        t = t[..stripped.len()].to_string();
        array = true;
    }
    let base = canon_base_type(t.trim(), default_schema);
    if array {
        format!("{base}[]")
    } else {
        base
    }
}

fn canon_base_type(t: &str, default_schema: &str) -> String {
    // User-defined (or quoted) names: keep as identifiers.
    if t.contains('"') || (t.contains('.') && !t.contains('(')) {
        let parts = split_qualified(t);
        if parts.len() == 1 && parts[0] == "char" && t.contains('"') {
            return "\"char\"".into();
        }
        let quoted: Vec<String> = parts.iter().map(|p| quote_ident(p)).collect();
        if parts.len() >= 2 {
            if parts[0] == "pg_catalog" {
                return canon_base_type(&parts[1..].join("."), default_schema);
            }
            return quoted.join(".");
        }
        return qualify_type(&quoted[0], default_schema);
    }
    let lower = t.to_lowercase();
    let lower = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    // Split "name(args) rest" into name + rest and args.
    let (name, args) = match (lower.find('('), lower.rfind(')')) {
        (Some(a), Some(b)) if b > a => {
            let name = format!("{} {}", lower[..a].trim(), lower[b + 1..].trim());
            let args: String = lower[a + 1..b]
                .split(',')
                .map(|s| s.trim())
                .collect::<Vec<_>>()
                .join(",");
            (name.trim().to_string(), Some(args))
        }
        _ => (lower.clone(), None),
    };
    let with_args = |base: &str| match &args {
        Some(a) => format!("{base}({a})"),
        None => base.to_string(),
    };
    let time_like = |kind: &str, tz: bool| {
        let a = args.as_ref().map(|a| format!("({a})")).unwrap_or_default();
        format!(
            "{kind}{a} {}",
            if tz {
                "with time zone"
            } else {
                "without time zone"
            }
        )
    };
    match name.as_str() {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer".into(),
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint".into(),
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint".into(),
        "float4" | "real" => "real".into(),
        "float8" | "double precision" | "double" => "double precision".into(),
        "float" => match args.as_deref().and_then(|a| a.parse::<u32>().ok()) {
            Some(p) if p <= 24 => "real".into(),
            _ => "double precision".into(),
        },
        "bool" | "boolean" => "boolean".into(),
        "varchar" | "character varying" | "char varying" => with_args("character varying"),
        "char" | "character" => with_args("character") + if args.is_none() { "(1)" } else { "" },
        "bpchar" => with_args("bpchar"),
        "numeric" | "decimal" | "dec" => match &args {
            Some(a) if !a.contains(',') => format!("numeric({a},0)"),
            _ => with_args("numeric"),
        },
        "timestamp" | "timestamp without time zone" => time_like("timestamp", false),
        "timestamptz" | "timestamp with time zone" => time_like("timestamp", true),
        "time" | "time without time zone" => time_like("time", false),
        "timetz" | "time with time zone" => time_like("time", true),
        "varbit" | "bit varying" => with_args("bit varying"),
        "bit" => with_args("bit") + if args.is_none() { "(1)" } else { "" },
        "interval" => with_args("interval"),
        n if BUILTIN.contains(&n) => with_args(n),
        n if n.starts_with("interval ") => lower.clone(),
        n => {
            // An unqualified user type (maybe with modifiers): qualify it.
            let q = qualify_type(&quote_ident(n), default_schema);
            with_args(&q)
        }
    }
}

fn qualify_type(quoted_name: &str, default_schema: &str) -> String {
    if default_schema.is_empty() {
        quoted_name.to_string()
    } else {
        format!("{}.{}", quote_ident(default_schema), quoted_name)
    }
}

/// A tolerant canonical spelling of SQL text sqlparser cannot parse: tokens joined by
/// single spaces (none inside parentheses or before commas), comments dropped,
/// keywords upper-cased, unquoted identifiers lower-cased.
pub(crate) fn canon_tokens(sql: &str) -> String {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return sql.split_whitespace().collect::<Vec<_>>().join(" ");
    };
    let mut out = String::new();
    let mut prev: Option<Token> = None;
    for tok in tokens {
        if matches!(tok, Token::Whitespace(_)) {
            continue;
        }
        let text = match &tok {
            Token::Word(w) if w.quote_style.is_none() => {
                if w.keyword != sqlparser::keywords::Keyword::NoKeyword {
                    w.value.to_uppercase()
                } else {
                    w.value.to_lowercase()
                }
            }
            Token::Word(w) => quote_ident(&w.value),
            t => t.to_string(),
        };
        let no_space = match (&prev, &tok) {
            (None, _) => true,
            (Some(Token::LParen), _) | (Some(Token::Period), _) | (Some(Token::DoubleColon), _) => {
                true
            }
            (_, Token::RParen)
            | (_, Token::Comma)
            | (_, Token::Period)
            | (_, Token::DoubleColon) => true,
            (Some(Token::Word(_)), Token::LParen) => false,
            _ => false,
        };
        if !no_space {
            out.push(' ');
        }
        out.push_str(&text);
        prev = Some(tok);
    }
    out
}

/// A partition bound (`FOR VALUES …`) in canonical spelling; timestamps with a UTC
/// offset are converted to UTC (pg_dump prints them in the session's time zone).
pub(crate) fn canon_bound(bound: &str) -> String {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, bound).tokenize() else {
        return canon_tokens(bound);
    };
    let mut out = String::new();
    for t in tokens {
        match t {
            Token::SingleQuotedString(s) => {
                let s = timestamptz_to_utc(&s).unwrap_or(s);
                out.push_str(&quote_literal(&s));
            }
            t => out.push_str(&t.to_string()),
        }
    }
    canon_tokens(&out)
}

/// `2022-04-01 01:00:00+01` → `2022-04-01 00:00:00+00`; None when not of that shape.
fn timestamptz_to_utc(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 22
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let rest = &s[19..];
    let (frac, off) = match rest.find(['+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return None,
    };
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let off = &off[1..];
    let (oh, om) = match off.split_once(':') {
        Some((a, b)) => (a.parse::<i64>().ok()?, b.parse::<i64>().ok()?),
        None if off.len() == 4 => (off[..2].parse().ok()?, off[2..].parse().ok()?),
        None => (off.parse::<i64>().ok()?, 0),
    };
    // days from civil (Howard Hinnant's algorithm)
    let days = |y: i64, m: i64, d: i64| {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    };
    let secs = days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    let (z, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dd = doy - (153 * mp + 2) / 5 + 1;
    let mm = if mp < 10 { mp + 3 } else { mp - 9 };
    let yy = yoe + era * 400 + if mm <= 2 { 1 } else { 0 };
    Some(format!(
        "{yy:04}-{mm:02}-{dd:02} {:02}:{:02}:{:02}{frac}+00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}
