//! Just enough type inference to catch values PostgreSQL would not assign.
//!
//! `infer` answers only when it is sure; `None` means "unknown" and is never
//! an error. `assignable` follows PostgreSQL's assignment-cast rules.

use sqlparser::ast::{CastKind, Expr, FunctionArguments, Value};

use super::ident::ident_name;

/// What inference needs of the names an expression can see: the type of a column, by its
/// relation's alias (or none) and its name, and the schema unqualified type names are in.
pub(crate) trait ColumnTypes {
    fn column_type(&self, qualifier: Option<&str>, name: &str) -> Option<String>;
    fn default_schema(&self) -> &str;
}

/// The type of an expression, in `format_type()` spelling, when it is certain.
pub(crate) fn infer(expr: &Expr, scope: &dyn ColumnTypes) -> Option<String> {
    match expr {
        Expr::Identifier(i) => scope.column_type(None, &ident_name(i)),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            scope.column_type(Some(&ident_name(&parts[0])), &ident_name(&parts[1]))
        }
        Expr::Nested(inner) => infer(inner, scope),
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            data_type,
            ..
        } => Some(crate::catalog::normalize_type(
            &data_type.to_string(),
            scope.default_schema(),
        )),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) if n.contains(['.', 'e', 'E']) => Some("numeric".into()),
            Value::Number(..) => Some("integer".into()),
            Value::Boolean(_) => Some("boolean".into()),
            _ => None, // string literals are `unknown`: assignable to anything
        },
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::Exists { .. }
        | Expr::InList { .. } => Some("boolean".into()),
        Expr::BinaryOp { op, .. } if is_comparison(&op.to_string()) => Some("boolean".into()),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => conditions
            .iter()
            .map(|c| &c.result)
            .chain(else_result.as_deref())
            .find_map(|e| infer(e, scope)),
        Expr::CompoundFieldAccess { .. } => super::library::infer(expr),
        Expr::Function(f) if f.name.0.len() == 2 => super::library::infer(expr),
        Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            match name.as_str() {
                "coalesce" | "greatest" | "least" | "nullif" => match &f.args {
                    FunctionArguments::List(list) => list.args.iter().find_map(|a| match a {
                        sqlparser::ast::FunctionArg::Unnamed(
                            sqlparser::ast::FunctionArgExpr::Expr(e),
                        ) => infer(e, scope),
                        _ => None,
                    }),
                    _ => None,
                },
                "now" | "clock_timestamp" | "statement_timestamp" | "transaction_timestamp" => {
                    Some("timestamp with time zone".into())
                }
                "gen_random_uuid" => Some("uuid".into()),
                "count" => Some("bigint".into()),
                "lower" | "upper" | "trim" | "btrim" | "concat" | "concat_ws" | "initcap"
                | "md5" | "substr" | "left" | "right" => Some("text".into()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `ty` is a string type (text, varchar, char, name, citext).
pub(crate) fn is_string(ty: &str) -> bool {
    category(ty) == Category::String
}

fn is_comparison(op: &str) -> bool {
    matches!(
        op,
        "=" | "<>" | "!=" | "<" | ">" | "<=" | ">=" | "AND" | "OR"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Numeric,
    String,
    Boolean,
    DateTime,
    Uuid,
    Json,
    Other,
}

fn category(ty: &str) -> Category {
    match base_type(ty).as_str() {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => {
            Category::Numeric
        }
        "text" | "character varying" | "character" | "name" | "citext" => Category::String,
        "boolean" => Category::Boolean,
        "date"
        | "timestamp without time zone"
        | "timestamp with time zone"
        | "time without time zone"
        | "time with time zone"
        | "interval" => Category::DateTime,
        "uuid" => Category::Uuid,
        "json" | "jsonb" => Category::Json,
        _ => Category::Other,
    }
}

/// `ty` (one `format_type()` spelling, not an array) without its type modifiers:
/// `timestamp(6) without time zone` → `timestamp without time zone`, `numeric(10,2)` →
/// `numeric`, `interval day to second(3)` → `interval`, `bpchar` → `character`. A quoted
/// (user) type name is left as it is: its parentheses are part of the name.
pub fn base_type(ty: &str) -> String {
    if ty.contains('"') {
        return ty.to_string();
    }
    let mut bare = String::with_capacity(ty.len());
    let mut depth = 0usize;
    for c in ty.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let bare = bare.split_whitespace().collect::<Vec<_>>().join(" ");
    match bare.as_str() {
        // The fields (`day to second`) restrict an interval's values, not its type.
        b if b == "interval" || b.starts_with("interval ") => "interval".into(),
        "bpchar" => "character".into(),
        _ => bare,
    }
}

/// PostgreSQL 15's assignment and implicit casts between built-in types (`pg_cast` rows with
/// `castcontext` in ('a', 'i')), by base type. Same-base assignments (length coercion) and
/// I/O conversion to a string type are rules of their own in [`assignable`].
const ASSIGNMENT_CASTS: &[(&str, &[&str])] = &[
    ("\"char\"", &["character", "character varying", "text"]),
    (
        "bigint",
        &[
            "double precision",
            "integer",
            "money",
            "numeric",
            "oid",
            "real",
            "smallint",
        ],
    ),
    ("bit", &["bit varying"]),
    ("bit varying", &["bit"]),
    ("boolean", &["character", "character varying", "text"]),
    (
        "character",
        &["\"char\"", "character varying", "name", "text"],
    ),
    (
        "character varying",
        &["\"char\"", "character", "name", "text"],
    ),
    ("cidr", &["character", "character varying", "inet", "text"]),
    (
        "date",
        &["timestamp with time zone", "timestamp without time zone"],
    ),
    (
        "double precision",
        &["bigint", "integer", "numeric", "real", "smallint"],
    ),
    ("inet", &["character", "character varying", "cidr", "text"]),
    (
        "integer",
        &[
            "bigint",
            "double precision",
            "money",
            "numeric",
            "oid",
            "real",
            "smallint",
        ],
    ),
    ("interval", &["time without time zone"]),
    ("json", &["jsonb"]),
    ("jsonb", &["json"]),
    ("money", &["numeric"]),
    ("name", &["character", "character varying", "text"]),
    (
        "numeric",
        &[
            "bigint",
            "double precision",
            "integer",
            "money",
            "real",
            "smallint",
        ],
    ),
    ("oid", &["bigint", "integer"]),
    (
        "real",
        &[
            "bigint",
            "double precision",
            "integer",
            "numeric",
            "smallint",
        ],
    ),
    (
        "smallint",
        &[
            "bigint",
            "double precision",
            "integer",
            "numeric",
            "oid",
            "real",
        ],
    ),
    (
        "text",
        &["\"char\"", "character", "character varying", "name"],
    ),
    ("time with time zone", &["time without time zone"]),
    (
        "time without time zone",
        &["interval", "time with time zone"],
    ),
    (
        "timestamp with time zone",
        &[
            "date",
            "time with time zone",
            "time without time zone",
            "timestamp without time zone",
        ],
    ),
    (
        "timestamp without time zone",
        &["date", "time without time zone", "timestamp with time zone"],
    ),
];

/// Whether PostgreSQL assigns a value of type `from` to a column of type `to` without an
/// explicit cast (`INSERT INTO t (to_column) SELECT from_value` is accepted). Both are
/// `format_type()` spellings, modifiers and `[]` included; domains are resolved before.
pub fn assignable(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    match (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        // Arrays convert element by element.
        (Some(f), Some(t)) => return assignable(f, t),
        (Some(_), None) => return category(to) == Category::String,
        (None, Some(_)) => return false,
        (None, None) => {}
    }
    let (f, t) = (base_type(from), base_type(to));
    // Same base type: only the modifier changes (length coercion). Enums and other user
    // types (domains are resolved to their base type before) only reach here this way.
    f == t
        // Every type converts to a string type on assignment (I/O conversion).
        || category(&t) == Category::String
        || ASSIGNMENT_CASTS.iter().any(|(source, targets)| *source == f && targets.contains(&t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::assignable;

    #[test]
    fn follows_postgres_assignment_casts() {
        assert!(assignable("integer", "bigint"));
        assert!(assignable("numeric", "integer"));
        assert!(assignable("boolean", "text"));
        assert!(assignable("date", "timestamp with time zone"));
        assert!(assignable("text[]", "character varying(20)[]"));
        assert!(!assignable("text", "integer"));
        assert!(!assignable("boolean", "integer"));
        assert!(!assignable("integer", "boolean"));
        assert!(!assignable("text", "uuid"));
        assert!(!assignable("integer", "timestamp with time zone"));
        assert!(!assignable("v1.mpaa_rating", "public.mpaa_rating"));
        assert!(!assignable("text", "public.mpaa_rating"));
        assert!(assignable("public.mpaa_rating", "public.mpaa_rating"));
        assert!(assignable(
            "timestamp with time zone",
            "timestamp(6) without time zone"
        ));
        assert!(assignable(
            "timestamp without time zone",
            "timestamp(6) without time zone"
        ));
        assert!(assignable(
            "time(3) without time zone",
            "interval second(3)"
        ));
        assert!(assignable("numeric(10,2)[]", "bigint[]"));
        assert!(assignable("bit(3)", "bit varying(5)"));
        assert!(!assignable("integer", "bit(8)"));
        assert!(!assignable("integer", "\"char\""));
    }
}

/// Why assigning a `from` value to a `to` column can lose data, if it can.
pub(crate) fn lossy(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    if let (Some(f), Some(t)) = (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        return lossy(f, t).map(|why| {
            format!(
                "{from} → {to}, element by element: {}",
                why.split_once(": ").map_or(why.as_str(), |w| w.1)
            )
        });
    }
    // The modifier's numbers: (10,2) of numeric(10,2), (6) of timestamp(6) with time zone.
    let modifier = |t: &str| -> Option<Vec<u32>> {
        let inner = t.split_once('(')?.1.split_once(')')?.0;
        inner.split(',').map(|n| n.trim().parse().ok()).collect()
    };
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        "real" => Some(4),
        "double precision" => Some(5),
        "numeric" => Some(6),
        _ => None,
    };
    let (f, t) = (base_type(from), base_type(to));
    match (category(&f), category(&t)) {
        (Category::Numeric, Category::Numeric) => {
            let (rf, rt) = (rank(&f)?, rank(&t)?);
            if rt < rf {
                let what = if rf >= 4 && rt <= 3 { "fractions are rounded away" } else { "large values overflow" };
                return Some(format!("{from} → {to}: {what}"));
            }
            match (modifier(from), modifier(to)) {
                (None, Some(_)) if t == "numeric" => Some(format!("{from} → {to}: rounded to the target's scale, large values overflow")),
                (Some(a), Some(b)) if b.first() < a.first() || b.get(1) < a.get(1) => Some(format!("{from} → {to}: smaller precision or scale")),
                _ => None,
            }
        }
        (_, Category::String) => match modifier(to) {
            Some(m) if modifier(from).is_none_or(|fm| category(&f) != Category::String || fm.first() > m.first()) => {
                Some(format!("{from} → {to}: values longer than {} characters fail (the cast truncates only when explicit)", m[0]))
            }
            _ => None,
        },
        (Category::DateTime, Category::DateTime) => match (f.as_str(), t.as_str()) {
            (_, "date") if f != "date" => Some(format!("{from} → {to}: the time of day is dropped")),
            ("timestamp with time zone", "timestamp without time zone") => Some(format!("{from} → {to}: the time zone is dropped (converted at the model's timezone)")),
            (_, "time without time zone" | "time with time zone") if f.starts_with("timestamp") || f == "interval" => {
                Some(format!("{from} → {to}: only the time of day is kept"))
            }
            // Without a modifier a time value keeps microseconds (6 digits).
            _ if f == t && to.contains('(') => match modifier(to) {
                Some(p) if modifier(from).map_or(6, |m| m.last().copied().unwrap_or(6)) > p.last().copied().unwrap_or(6) => {
                    Some(format!("{from} → {to}: fractions of a second are rounded to {} digits", p.last().copied().unwrap_or(6)))
                }
                _ => interval_truncates(from, to),
            },
            _ if f == "interval" && t == f => interval_truncates(from, to),
            _ => None,
        },
        // bit(n) takes strings of exactly n bits, bit varying(n) of at most n.
        _ if (t == "bit" || t == "bit varying") && modifier(to).is_some() && modifier(from) != modifier(to) => {
            let fits = t == "bit varying" && f == t && modifier(from).zip(modifier(to)).is_some_and(|(a, b)| a <= b);
            (!fits).then(|| format!("{from} → {to}: bit strings of another length fail"))
        }
        _ => None,
    }
}

/// Why an interval of type `from` loses its finer fields in a `to` column (`interval year`
/// keeps years only; fields ending at `second` keep everything).
fn interval_truncates(from: &str, to: &str) -> Option<String> {
    // The fields: `day to second` of `interval day to second(3)`, empty for a plain interval.
    let fields = |ty: &str| {
        ty.split('(')
            .next()
            .unwrap_or(ty)
            .trim()
            .strip_prefix("interval")
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (f, t) = (fields(from), fields(to));
    (f != t && !t.is_empty() && !t.ends_with("second"))
        .then(|| format!("{from} → {to}: fields finer than `{t}` are dropped"))
}

#[cfg(test)]
mod lossy_tests {
    use super::lossy;

    #[test]
    fn names_the_narrowing_casts() {
        assert!(lossy("bigint", "integer").is_some());
        assert!(lossy("numeric", "integer").unwrap().contains("fractions"));
        assert!(lossy("text", "character varying(20)").is_some());
        assert!(lossy("character varying(10)", "character varying(20)").is_none());
        assert!(lossy("timestamp with time zone", "date").is_some());
        assert!(lossy("integer", "bigint").is_none());
        assert!(lossy("integer", "text").is_none());
        assert!(lossy(
            "timestamp(6) without time zone",
            "timestamp(0) without time zone"
        )
        .unwrap()
        .contains("rounded to 0 digits"));
        assert!(lossy(
            "timestamp without time zone",
            "timestamp(6) without time zone"
        )
        .is_none());
        assert!(lossy(
            "timestamp(0) without time zone",
            "timestamp(3) without time zone"
        )
        .is_none());
        assert!(lossy("time without time zone", "time(3) without time zone").is_some());
        assert!(lossy("interval", "interval second(3)").is_some());
        assert!(lossy("interval", "interval year").is_some());
        assert!(lossy("interval", "interval day to second").is_none());
        assert!(lossy("character varying(20)", "character varying(10)").is_some());
        assert!(lossy("character varying(20)[]", "character varying(10)[]").is_some());
        assert!(lossy("numeric(10,2)", "numeric(10,1)").is_some());
        assert!(lossy("bit(3)", "bit(5)").is_some());
        assert!(lossy("bit varying(3)", "bit varying(5)").is_none());
        assert!(lossy("integer", "character varying(5)").is_some());
    }
}
