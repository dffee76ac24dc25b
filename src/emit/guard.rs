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

/// The implicit-code guard's place, proved on the scripts as written: in every transaction,
/// nothing touches the application before the guard ([`crate::lint::guard_cover`]). A
/// statement that does is a defect of the templates, not of the model; no script is written.
pub(crate) fn unguarded_statement(scripts: &Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let first = crate::lint::guard_cover::unguarded(text).into_iter().next()?;
        Some(
            Diagnostic::error(first.render(name), None)
                .with_hint("this is a defect of pgmig's templates (the guard that refuses code other roles attach to the tables must run first in every transaction): report it with the model"),
        )
    })
}

/// The last line of defence against text that escaped its quotes: each script is read as psql
/// reads it, and every meta-command must be one the templates write (`\set`, `\if`, `\elif`,
/// `\else`, `\endif`, `\getenv`, `\echo`, `\g` to a plain file name, and `\gset` of a
/// query's last column `AS pgmig_…` on the same line: see [`gsets_one_pgmig_column`]). Any other (`\!`,
/// `\o`, `\copy`, …) means a name or value from the model or a schema ended its quotes: it is
/// an error, and nothing is written.
pub(crate) fn foreign_meta_command(scripts: &Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let mut scanner = crate::psql::scanner::SqlScanner::new();
        text.split('\n').enumerate().find_map(|(n, line)| {
            let statement_starts_here = scanner.is_idle();
            let meta = scanner.feed_line(line, n + 1, None).meta?;
            let (command, rest) = crate::run::meta::split_name(&meta);
            let allowed = match command {
                "set" | "if" | "elif" | "else" | "endif" | "getenv" | "echo" => true,
                "g" => rest.trim().strip_prefix('\'').and_then(|f| f.strip_suffix('\'')).is_some_and(|f| crate::run::meta::plain_file_name(f).is_ok()),
                "gset" => statement_starts_here && rest.trim().is_empty() && gsets_one_pgmig_column(line),
                _ => false,
            };
            (!allowed).then(|| {
                Diagnostic::error(format!("{name}:{} would run psql's `\\{command}`: a name or a value from the model or a schema ends its quotes there", n + 1), None)
                    .with_hint("this is a defect of pgmig's quoting: report it with the model; rename the object or rewrite the value meanwhile")
            })
        })
    })
}

/// A `\gset` as the templates write it: one statement on one line, `SELECT … AS pgmig_name
/// \gset`, one column (no comma outside parentheses and quotes), named by the template. The
/// runner sets only `pgmig_…` variables; psql sets whatever the columns are named, so a
/// `\gset` the templates did not write could set ON_ERROR_STOP or a variable a later `\if`
/// reads.
fn gsets_one_pgmig_column(line: &str) -> bool {
    let Some(query) = line.trim_end().strip_suffix("\\gset") else {
        return false;
    };
    let Some((select, alias)) = query.trim_end().rsplit_once(" AS ") else {
        return false;
    };
    let named = alias
        .strip_prefix(crate::run::meta::GSET_PREFIX)
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    named && select.starts_with("SELECT ") && one_column(select)
}

/// No comma, `;` or `\\` outside single quotes at parenthesis depth 0, parentheses balanced.
fn one_column(select: &str) -> bool {
    let (mut depth, mut quoted) = (0i32, false);
    for c in select.chars() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return false,
            ';' | '\\' | '"' => return false,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && !quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> Scripts {
        Scripts {
            files: vec![("migrate.sql", text.to_string())],
        }
    }

    #[test]
    fn gset_only_into_a_pgmig_column_the_template_names() {
        assert!(foreign_meta_command(&script("SELECT EXISTS (SELECT 1 FROM t WHERE s = '(swap)' AND x IN (1, 2)) AS pgmig_swapped \\gset\n\\if :pgmig_swapped\n\\endif\n")).is_none());
        for refused in [
            "SELECT 'off' AS ON_ERROR_STOP \\gset\n",
            "SELECT 1 AS pgmig_x \\gset pgmig_\n",
            "SELECT 'off' AS x, 't' AS pgmig_x \\gset\n",
            "SELECT 't' AS \"pgmig_x\" \\gset\n",
            "SELECT 't' \\gset\n",
            "SELECT 'off' AS \"ON_ERROR_STOP\", (\nSELECT 't') AS pgmig_x \\gset\n",
            "SELECT f(1, 2) AS y, 'a,b' AS pgmig_x \\gset\n",
        ] {
            let e = foreign_meta_command(&script(refused))
                .unwrap_or_else(|| panic!("{refused:?} passed"));
            assert!(
                e.message.contains("would run psql's `\\gset`"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn a_script_touching_the_application_before_the_guard_is_not_written() {
        let e = unguarded_statement(&script(
            "SET search_path = pg_catalog, pg_temp;\nBEGIN;\nINSERT INTO public.t SELECT * FROM v1.t;\nCOMMIT;\n",
        ))
        .expect("an INSERT with no guard before it");
        assert_eq!(
            e.message,
            "migrate.sql:3: names public.t before the implicit-code guard in its transaction: INSERT INTO public.t SELECT * FROM v1.t;"
        );
        assert!(unguarded_statement(&script(
            "SET search_path = pg_catalog, pg_temp;\nSELECT 1;\n"
        ))
        .is_none());
    }
}
