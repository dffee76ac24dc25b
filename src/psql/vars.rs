//! psql variables: names, boolean values, and quoting for `:'name'` / `:"name"`.

use std::collections::BTreeMap;

/// The variables of a run (`-v name=value`, `\set`).
pub type Vars = BTreeMap<String, String>;

/// psql's `variable_char`: ASCII letters, digits, underscore, and any non-ASCII character.
pub fn is_var_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

/// A valid name for `\set`/`\unset`/`-v` (psql's `valid_variable_name`).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_var_char)
}

/// psql's `ParseVariableBool`: true/false/yes/no (any unambiguous prefix), on/off (at least
/// two letters), 1/0; case-insensitive. `None` for anything else (including the empty string).
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let len = v.len();
    let prefix_of =
        |word: &str, min: usize| len >= min && len <= word.len() && word.starts_with(&v);
    if len == 0 {
        None
    } else if prefix_of("true", 1) {
        Some(true)
    } else if prefix_of("false", 1) {
        Some(false)
    } else if prefix_of("yes", 1) {
        Some(true)
    } else if prefix_of("no", 1) {
        Some(false)
    } else if prefix_of("on", 2) {
        Some(true)
    } else if prefix_of("off", 2) {
        Some(false)
    } else if v == "1" {
        Some(true)
    } else if v == "0" {
        Some(false)
    } else {
        None
    }
}

/// psql's `:'name'`, libpq's `PQescapeLiteral`: quotes doubled; a value holding a backslash
/// is written ` E'…'` (leading space, backslashes doubled) so it reads the same whatever
/// `standard_conforming_strings` is. Other characters stay as they are, as in psql.
/// This is psql's interpolation of a variable, which `pgmig run` reproduces byte for byte
/// (the server must read what psql would send), not pgmig's quoting of the text it
/// generates: [`crate::sql_text::quote_literal`] writes control characters as `\xHH` and no
/// leading space, so it does not apply here.
pub fn quote_literal(value: &str) -> String {
    let quoted = format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"));
    if value.contains('\\') {
        format!(" E{quoted}")
    } else {
        quoted
    }
}

/// psql's `:"name"`, libpq's `PQescapeIdentifier`: always double-quoted.
pub use crate::sql_text::quote_ident_always as quote_ident;

/// Splits `-v name=value` as psql does: `name=` sets the empty string, a bare `name`
/// unsets the variable (returned as `None`).
pub fn parse_assignment(arg: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match arg.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (arg, None),
    };
    if !is_valid_name(name) {
        return Err(format!("invalid variable name: \"{name}\""));
    }
    Ok((name.to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_psql() {
        for t in ["true", "TRUE", "t", "tr", "yes", "y", "on", "ON", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "f", "FALS", "no", "n", "off", "of", "OFF", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in [
            "", "o", "2", "truex", "onn", "offf", " true", "-1", "nope", "01",
        ] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn literal_quoting_matches_libpq() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b"), r" E'a\\b'");
        assert_eq!(quote_literal(""), "''");
    }

    #[test]
    fn identifier_quoting_matches_libpq() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn names_and_assignments() {
        assert!(is_valid_name("dry_run"));
        assert!(is_valid_name("été"));
        assert!(!is_valid_name("a-b"));
        assert!(!is_valid_name(""));
        assert_eq!(
            parse_assignment("dry_run=1").unwrap(),
            ("dry_run".into(), Some("1".into()))
        );
        assert_eq!(
            parse_assignment("x=a=b").unwrap(),
            ("x".into(), Some("a=b".into()))
        );
        assert_eq!(parse_assignment("x").unwrap(), ("x".into(), None));
        assert!(parse_assignment("bad name=1").is_err());
    }
}
