//! The last checks of rendered scripts before they are written: text psql would read
//! otherwise than PostgreSQL is meant to.

use super::Scripts;
use crate::diagnostic::Diagnostic;

/// psql reads a script line by line and drops a carriage return before a line feed: a name
/// holding one (or another ASCII control character but a tab or a line feed) would reach
/// PostgreSQL changed. Literals are written with escapes (`E'…\x0D…'`, `E'…\r…'`); a name
/// (from a schema or the model's SQL) has no such form here, so it is an error naming where
/// it is.
pub(crate) fn uncarried_control_character(scripts: &Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let (n, line) = text.split('\n').enumerate().find(|(_, l)| l.chars().any(|c| c.is_ascii_control() && c != '\t'))?;
        let shown: String = line.chars().map(|c| if c.is_ascii_control() && c != '\t' { '␍' } else { c }).collect();
        Some(
            Diagnostic::error(format!("a name holds a carriage return or another control character: {name}:{} would be `{}`", n + 1, shown.trim()), None)
                .with_hint("rename the object: psql drops a carriage return before a line feed, so the script would name another one; line feeds and tabs in names are fine"),
        )
    })
}

/// The last line of defence against text that escaped its quotes: each script is read as psql
/// reads it, and every meta-command must be one the templates write (`\set`, `\if`, `\elif`,
/// `\else`, `\endif`, `\getenv`, `\echo`, and `\g` to a plain file name). Any other (`\!`,
/// `\o`, `\copy`, …) means a name or value from the model or a schema ended its quotes: it is
/// an error, and nothing is written.
pub(crate) fn foreign_meta_command(scripts: &Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let mut scanner = crate::psql::scanner::SqlScanner::new();
        text.split('\n').enumerate().find_map(|(n, line)| {
            let meta = scanner.feed_line(line, n + 1, None).meta?;
            let (command, rest) = crate::run::meta::split_name(&meta);
            let allowed = match command {
                "set" | "if" | "elif" | "else" | "endif" | "getenv" | "echo" => true,
                "g" => rest.trim().strip_prefix('\'').and_then(|f| f.strip_suffix('\'')).is_some_and(|f| crate::run::meta::plain_file_name(f).is_ok()),
                _ => false,
            };
            (!allowed).then(|| {
                Diagnostic::error(format!("{name}:{} would run psql's `\\{command}`: a name or a value from the model or a schema ends its quotes there", n + 1), None)
                    .with_hint("this is a defect of pgmig's quoting: report it with the model; rename the object or rewrite the value meanwhile")
            })
        })
    })
}
