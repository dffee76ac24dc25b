//! Identifiers as PostgreSQL reads them and as the compiler writes them back into a
//! sqlparser tree.

use sqlparser::ast::Ident;

/// An identifier's name as PostgreSQL sees it: unquoted names fold to lower case. A name
/// the scope's `printable_name` wrote out through the toolkit (kept as quoted text) reads back as the
/// name it stands for.
pub fn ident_name(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => match ident
            .value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
        {
            Some(quoted) => quoted.replace("\"\"", "\""),
            None => ident.value.to_lowercase(),
        },
    }
}

/// An `Ident` that prints as PostgreSQL needs it (quoted only when required).
pub fn sql_ident(name: &str) -> Ident {
    let quoted = crate::catalog::quote_ident(name);
    if quoted.starts_with('"') {
        Ident::with_quote('"', name)
    } else {
        Ident::new(name)
    }
}
