//! Just enough type inference to catch values PostgreSQL would not assign.
//!
//! `infer` answers only when it is sure; `None` means "unknown" and is never
//! an error. `assignable` follows PostgreSQL's assignment-cast rules.

use sqlparser::ast::{CastKind, Expr, FunctionArguments, Value};

use super::scope::{ident_name, Scope};

/// The type of an expression, in `format_type()` spelling, when it is certain.
pub fn infer(expr: &Expr, scope: &Scope) -> Option<String> {
    match expr {
        Expr::Identifier(i) => scope.column_type(None, &ident_name(i)),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            scope.column_type(Some(&ident_name(&parts[0])), &ident_name(&parts[1]))
        }
        Expr::Nested(inner) => infer(inner, scope),
        Expr::Cast { kind: CastKind::Cast | CastKind::DoubleColon, data_type, .. } => {
            Some(crate::catalog::normalize_type(&data_type.to_string(), &scope.default_schema))
        }
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) if n.contains(['.', 'e', 'E']) => Some("numeric".into()),
            Value::Number(..) => Some("integer".into()),
            Value::Boolean(_) => Some("boolean".into()),
            _ => None, // string literals are `unknown`: assignable to anything
        },
        Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::IsTrue(_) | Expr::IsFalse(_) | Expr::Exists { .. } | Expr::InList { .. } => {
            Some("boolean".into())
        }
        Expr::BinaryOp { op, .. } if is_comparison(&op.to_string()) => Some("boolean".into()),
        Expr::Case { conditions, else_result, .. } => {
            conditions.iter().map(|c| &c.result).chain(else_result.as_deref()).find_map(|e| infer(e, scope))
        }
        Expr::CompoundFieldAccess { .. } => super::transforms::infer(expr),
        Expr::Function(f) if f.name.0.len() == 2 => super::transforms::infer(expr),
        Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            match name.as_str() {
                "coalesce" | "greatest" | "least" | "nullif" => match &f.args {
                    FunctionArguments::List(list) => list.args.iter().find_map(|a| match a {
                        sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => infer(e, scope),
                        _ => None,
                    }),
                    _ => None,
                },
                "now" | "clock_timestamp" | "statement_timestamp" | "transaction_timestamp" => {
                    Some("timestamp with time zone".into())
                }
                "gen_random_uuid" => Some("uuid".into()),
                "count" => Some("bigint".into()),
                "lower" | "upper" | "trim" | "btrim" | "concat" | "concat_ws" | "initcap" | "md5" | "substr" | "left" | "right" => {
                    Some("text".into())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `ty` is a string type (text, varchar, char, name, citext).
pub fn is_string(ty: &str) -> bool {
    category(ty) == Category::String
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "=" | "<>" | "!=" | "<" | ">" | "<=" | ">=" | "AND" | "OR")
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
    let base = ty.split('(').next().unwrap_or(ty).trim();
    match base {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => Category::Numeric,
        "text" | "character varying" | "character" | "name" | "citext" => Category::String,
        "boolean" => Category::Boolean,
        "date" | "timestamp without time zone" | "timestamp with time zone" => Category::DateTime,
        "uuid" => Category::Uuid,
        "json" | "jsonb" => Category::Json,
        _ => Category::Other,
    }
}

/// Whether PostgreSQL assigns a value of type `from` to a column of type `to` without an explicit cast.
pub fn assignable(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    match (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        (Some(f), Some(t)) => return assignable(f, t),
        (Some(_), None) => return category(to) == Category::String,
        (None, Some(_)) => return false,
        (None, None) => {}
    }
    let (f, t) = (category(from), category(to));
    match t {
        // Every type converts to a string type on assignment (I/O conversion).
        Category::String => true,
        // Enums and other user types (domains are resolved to their base type before):
        // only from the very same type, handled above.
        Category::Other => false,
        _ => f == t,
    }
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
    }
}

/// Why assigning a `from` value to a `to` column can lose data, if it can.
pub fn lossy(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    let base = |t: &str| t.split('(').next().unwrap_or(t).trim().to_string();
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
    let (f, t) = (base(from), base(to));
    match (category(&f), category(&t)) {
        (Category::Numeric, Category::Numeric) => {
            let (rf, rt) = (rank(&f)?, rank(&t)?);
            if rt < rf {
                let what = if rf >= 4 && rt <= 3 { "fractions are rounded away" } else { "large values overflow" };
                return Some(format!("{from} → {to}: {what}"));
            }
            match (modifier(from), modifier(to)) {
                (None, Some(_)) if f == "numeric" => Some(format!("{from} → {to}: rounded to the target's scale, large values overflow")),
                (Some(a), Some(b)) if b.first() < a.first() || b.get(1) < a.get(1) => Some(format!("{from} → {to}: smaller precision or scale")),
                _ => None,
            }
        }
        (_, Category::String) => match modifier(to) {
            Some(m) if modifier(from).is_none_or(|fm| fm.first() > m.first()) => {
                Some(format!("{from} → {to}: values longer than {} characters fail (the cast truncates only when explicit)", m[0]))
            }
            _ => None,
        },
        (Category::DateTime, Category::DateTime) => match (f.as_str(), t.as_str()) {
            (_, "date") => Some(format!("{from} → {to}: the time of day is dropped")),
            ("timestamp with time zone", "timestamp without time zone") => Some(format!("{from} → {to}: the time zone is dropped (converted at the session's TimeZone)")),
            _ => None,
        },
        _ => None,
    }
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
    }
}
