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
