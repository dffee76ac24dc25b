//! `archives:` — text archives of V2 after migrate (the ThyWill guide's `text_archives_v2`:
//! a file per user, per prayer, the rebuilt activity log). Each entry is a read-only query
//! over V2 (and the id maps) returning `file` and `text`, ordered: `pgmig export` writes one
//! file per value of `file` (its rows' texts in order) into `dir/<entry>/`. The directory
//! names are checked here (plain words: they become paths); file names come from data and are
//! made safe when the archive is written (`crate::run::archives`).

use std::collections::BTreeSet;

use sqlparser::ast::{Expr, Ident, SelectItem, SetExpr};

use super::scope;
use super::sql::{self, Origin};
use crate::catalog::{Catalog, QualName};
use crate::diagnostic::Diagnostic;
use crate::model::{pos_of, ArchivesDecl, Text};
use crate::plan;

/// A directory name an archive may use: lowercase ASCII letters, digits, `_` and `-`, not
/// starting with `-` (no path, no dot, the same on every file system).
pub fn plain_word(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Where the archive queries' names for the implicit-code guard go: the types they cast to
/// and the functions they call.
pub struct GuardedNames<'a> {
    pub cast_types: &'a mut BTreeSet<String>,
    pub called_functions: &'a mut BTreeSet<String>,
}

pub fn check(
    decl: &ArchivesDecl,
    v2: &Catalog,
    target_schema: &str,
    maps: &BTreeSet<QualName>,
    lines: &[&str],
    guarded: GuardedNames,
    diags: &mut Vec<Diagnostic>,
) -> Option<plan::Archives> {
    let word = |name: &Text, what: &str, diags: &mut Vec<Diagnostic>| {
        let ok = plain_word(name);
        if !ok {
            diags.push(
                Diagnostic::error(
                    format!("archive {what} `{}` is not a plain word", name.as_str()),
                    pos_of(name),
                )
                .with_hint(
                    "it becomes a directory: lowercase ASCII letters, digits, `_` and `-` only",
                ),
            );
        }
        ok
    };
    let mut ok = word(&decl.dir, "directory", diags);
    let mut files = Vec::new();
    for (name, query) in &decl.files {
        ok &= word(name, "directory", diags);
        let origin = Origin {
            value: query,
            lines,
            lines_before: 0,
        };
        let mut q = match sql::parse_query(origin, sql::ReadQuery::Archive) {
            Ok(q) => q,
            Err(d) => {
                diags.push(d);
                ok = false;
                continue;
            }
        };
        let columns: Option<Vec<String>> = match q.body.as_ref() {
            SetExpr::Select(s) => s.projection.iter().map(output_name).collect(),
            _ => None,
        };
        if columns.as_deref() != Some(&["file".to_string(), "text".to_string()][..]) {
            diags.push(
                Diagnostic::error("an archive query returns two columns, `file` and `text`", origin.whole())
                    .with_hint("SELECT <file name> AS file, <its text> AS text FROM … ORDER BY …: rows with the same file are written into it in order"),
            );
            ok = false;
            continue;
        }
        if q.order_by.is_none() {
            diags.push(
                Diagnostic::error("an archive query needs an ORDER BY", origin.whole())
                    .with_hint("the files' bytes must not depend on the plan PostgreSQL picks: order by the file, then by what orders its lines"),
            );
            ok = false;
            continue;
        }
        let errors = scope::check_relations(&q, v2, target_schema, maps, origin);
        if !errors.is_empty() {
            diags.extend(errors);
            ok = false;
            continue;
        }
        scope::qualify_tables(&mut q, v2, target_schema, target_schema);
        scope::qualify_types(&mut q, v2, target_schema);
        guarded.cast_types.extend(scope::cast_types(&q));
        guarded
            .called_functions
            .extend(super::calls::called_functions(&q));
        let refused = super::calls::refused_calls(&q, origin);
        if !refused.is_empty() {
            diags.extend(refused);
            ok = false;
            continue;
        }
        match scope::printable_literals(&mut q) {
            Ok(()) => files.push(plan::ArchiveFiles {
                dir: name.to_string(),
                query: q.to_string(),
                line: origin.line(),
            }),
            Err(unprintable) => {
                diags.push(unprintable.diagnostic(origin));
                ok = false;
            }
        }
    }
    ok.then(|| plan::Archives {
        dir: decl.dir.to_string(),
        files,
    })
}

/// The name a select item gives its column: its alias, or the column it names.
fn output_name(item: &SelectItem) -> Option<String> {
    let name = |i: &Ident| {
        if i.quote_style.is_some() {
            i.value.clone()
        } else {
            i.value.to_lowercase()
        }
    };
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(name(alias)),
        SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(name(i)),
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last().map(name),
        _ => None,
    }
}
