//! `replace:` (overwrite or create): the V2 rows a step replaces, and every row under them.
//! A text key column matches case-insensitively and trimmed (`lower(btrim(…))` on both sides):
//! the stale copy of `ana@x.org` may have been typed `Ana@X.org `, and an exact match would
//! create a second account beside it.
//!
//! The rows under a replaced row are found through V2's foreign keys, transitively, so the
//! delete order (children first) and the restore order (parents first) come from the catalog.

use std::collections::BTreeSet;

use super::suggest::did_you_mean;
use crate::catalog::{Catalog, Identity, QualName, Table};
use crate::diagnostic::Diagnostic;
use crate::model::{pos_of, Text};
use crate::plan::{ColumnMap, Replace, ReplacedTable};

pub fn check(
    step_name: &str,
    columns_decl: &[Text],
    table: &Table,
    columns: &[ColumnMap],
    v2: &Catalog,
    tables_in: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Replace> {
    let at = columns_decl.first().and_then(pos_of);
    let mut exprs = Vec::new();
    for c in columns_decl {
        match columns.iter().find(|m| m.name == c.as_str()) {
            Some(m) => exprs.push(m.expr.clone()),
            None if table.column(c.as_str()).is_none() => {
                let d = Diagnostic::error(format!("column `{}` does not exist in V2 table `{}`", c.as_str(), table.name), pos_of(c));
                let candidates: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
                errors.push(match did_you_mean(c.as_str(), &candidates) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d,
                });
            }
            None => errors.push(
                Diagnostic::error(format!("`replace` matches on `{}`, which this step does not fill", c.as_str()), pos_of(c))
                    .with_hint("the step's rows are matched to V2's by the values they would insert: map the column"),
            ),
        }
    }
    if exprs.len() != columns_decl.len() {
        return None;
    }
    let wanted: BTreeSet<&str> = columns_decl.iter().map(|c| c.as_str()).collect();
    let unique = table.primary_key.iter().chain(&table.uniques).any(|k| {
        k.columns
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            == wanted
    });
    if !unique || wanted.is_empty() {
        errors.push(
            Diagnostic::error(
                format!("`replace` matches on ({}), which is not UNIQUE in V2 table `{}`", columns_decl.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "), table.name),
                at,
            )
            .with_hint("a migrated row must name at most one V2 row to replace: use a natural key with a UNIQUE constraint (e.g. email)"),
        );
        return None;
    }
    let backup = |t: &QualName| {
        QualName::new(
            tables_in,
            super::names::derived(&format!("replaced_{step_name}_"), &t.name),
        )
    };
    // Tables under the step's table: reached by a foreign key from a table already in the set.
    let mut set: Vec<QualName> = vec![table.name.clone()];
    loop {
        let next = v2
            .tables
            .values()
            .filter(|t| !set.contains(&t.name) && t.partition_of.is_none())
            .find(|t| t.foreign_keys.iter().any(|fk| set.contains(&fk.references)))
            .map(|t| t.name.clone());
        match next {
            Some(n) => set.push(n),
            None => break,
        }
    }
    // Parents first: a table comes after every table of the set it references.
    let mut ordered: Vec<QualName> = Vec::new();
    while ordered.len() < set.len() {
        let ready = set.iter().find(|t| {
            !ordered.contains(t)
                && v2.table(t).is_some_and(|tt| {
                    tt.foreign_keys.iter().all(|fk| {
                        fk.references == **t
                            || !set.contains(&fk.references)
                            || ordered.contains(&fk.references)
                    })
                })
        });
        match ready {
            Some(t) => ordered.push(t.clone()),
            None => {
                errors.push(
                    Diagnostic::error(format!("the V2 tables under `{}` reference each other in a cycle", table.name), at)
                        .with_hint("pgmig can't order the deletes of a foreign key cycle; replace is not possible here"),
                );
                return None;
            }
        }
    }
    let tables = ordered
        .iter()
        .map(|t| {
            let tt = v2.table(t).expect("in the catalog");
            let parents = tt
                .foreign_keys
                .iter()
                .filter(|fk| fk.references != *t && set.contains(&fk.references))
                .map(|fk| {
                    (
                        backup(&fk.references),
                        fk.columns
                            .iter()
                            .cloned()
                            .zip(fk.referenced_columns.iter().cloned())
                            .collect(),
                    )
                })
                .collect();
            ReplacedTable {
                table: t.clone(),
                backup: backup(t),
                primary_key: tt
                    .primary_key
                    .as_ref()
                    .map_or(Vec::new(), |k| k.columns.clone()),
                parents,
                overriding: tt
                    .columns
                    .iter()
                    .any(|c| c.identity == Some(Identity::Always)),
            }
        })
        .collect::<Vec<_>>();
    if let Some(t) = tables.iter().find(|t| t.primary_key.is_empty()) {
        errors.push(
            Diagnostic::error(
                format!(
                    "V2 table `{}` (under `{}`) has no primary key",
                    t.table, table.name
                ),
                at,
            )
            .with_hint("replaced rows are deleted and restored by primary key"),
        );
        return None;
    }
    // A text key is matched as a person reads it: `Ana@X.org ` is the account of ana@x.org.
    let folded = columns_decl
        .iter()
        .map(|c| {
            table
                .column(c.as_str())
                .is_some_and(|col| super::types::is_string(&col.data_type))
        })
        .collect();
    Some(Replace {
        line: at.map_or(0, |p| p.line),
        columns: columns_decl.iter().map(|c| c.to_string()).collect(),
        exprs,
        folded,
        tables,
    })
}
