//! One spelling for expressions read from DDL text and from pg_get_expr().
pub fn normalize_expr(expr: &str) -> String {
    expr.to_string()
}
