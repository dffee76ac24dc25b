//! Which V2 columns tell a step's rows apart: the key its id map records, `id()` looks up,
//! verify joins on and rollback deletes by.
//!
//! The primary key first; a table without one (partitioned: its unique keys must include the
//! partition column; a join table) is keyed by a UNIQUE constraint or unique index on NOT NULL
//! columns; a table with neither (a log) needs the model's `key: [COLUMN, …]`, which the
//! scripts check since V2 does not.

use std::collections::BTreeSet;

use crate::catalog::Table;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{pos_of, KeyDecl, Step, Text};
use crate::plan::RowKey;

use super::suggest::did_you_mean;

/// The key columns of `table` for the step `name` and where they come from; `None` (an
/// error pushed) when the table has no key and the model declares none, or declares a wrong one.
pub fn resolve(
    name: &Text,
    step: &Step,
    table: &Table,
    diags: &mut Diagnostics,
) -> Option<(Vec<String>, RowKey)> {
    let enforced = enforced_keys(table);
    if let Some(KeyDecl::Columns(columns)) = step.key.as_deref() {
        let names = declared(name, columns, table, diags)?;
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let key = match enforced
            .iter()
            .find(|(_, cols, _)| cols.iter().map(String::as_str).collect::<BTreeSet<_>>() == wanted)
        {
            Some((constraint, _, primary)) => RowKey::Enforced {
                constraint: constraint.clone(),
                primary: *primary,
            },
            None => RowKey::Declared {
                line: columns.first().and_then(pos_of).map_or(0, |p| p.line),
            },
        };
        return Some((names, key));
    }
    match enforced.into_iter().next() {
        Some((constraint, columns, primary)) => Some((
            columns,
            RowKey::Enforced {
                constraint,
                primary,
            },
        )),
        None => {
            diags.push(
                Diagnostic::error(format!("V2 table `{}` has no primary key and no UNIQUE key on NOT NULL columns", table.name), pos_of(name))
                    .with_hint(
                        "pgmig records the rows it writes by a key, for id(), verify and rollback: add a primary key or a UNIQUE key on NOT NULL columns, or declare `key: [column, …]` in the model (V2 columns that tell the migrated rows apart)",
                    ),
            );
            None
        }
    }
}

/// Keys V2 enforces on NOT NULL columns, best first: the primary key, then UNIQUE constraints
/// and plain unique indexes (no expression, no predicate), fewest columns first, then by name.
fn enforced_keys(table: &Table) -> Vec<(String, Vec<String>, bool)> {
    let not_null = |c: &String| table.column(c).is_some_and(|c| c.not_null);
    let mut unique: Vec<(String, Vec<String>, bool)> = table
        .uniques
        .iter()
        .map(|k| (k.name.clone(), k.columns.clone(), false))
        .chain(
            table
                .indexes
                .iter()
                .filter(|i| {
                    i.unique
                        && i.predicate.is_none()
                        && i.method == "btree"
                        && i.keys.iter().all(|k| table.column(k).is_some())
                })
                .map(|i| (i.name.clone(), i.keys.clone(), false)),
        )
        .filter(|(_, columns, _)| !columns.is_empty() && columns.iter().all(not_null))
        .collect();
    unique.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(&b.0)));
    table
        .primary_key
        .iter()
        .map(|k| (k.name.clone(), k.columns.clone(), true))
        .chain(unique)
        .collect()
}

/// The columns of `key: [COLUMN, …]`: each a NOT NULL column of V2, once.
fn declared(
    name: &Text,
    columns: &[Text],
    table: &Table,
    diags: &mut Diagnostics,
) -> Option<Vec<String>> {
    let mut ok = !columns.is_empty();
    let mut names: Vec<String> = Vec::new();
    for c in columns {
        let Some(column) = table.column(c.as_str()) else {
            let candidates: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let mut d = Diagnostic::error(
                format!(
                    "key column `{}` does not exist in V2 table `{}`",
                    c.as_str(),
                    table.name
                ),
                pos_of(c),
            );
            if let Some(s) = did_you_mean(c.as_str(), &candidates) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            ok = false;
            continue;
        };
        if !column.not_null {
            diags.push(
                Diagnostic::error(format!("key column `{}` of `{}` can be NULL", column.name, table.name), pos_of(c))
                    .with_hint("the id map records each migrated row's key, and NULL equals nothing: choose NOT NULL columns, or make this one NOT NULL in V2"),
            );
            ok = false;
        }
        if names.contains(&column.name) {
            diags.push(Diagnostic::error(
                format!("key column `{}` is listed twice", column.name),
                pos_of(c),
            ));
            ok = false;
        }
        names.push(column.name.clone());
    }
    if columns.is_empty() {
        diags.push(Diagnostic::error(format!("`key: []` of step `{}` names no column", name.as_str()), pos_of(name)).with_hint("list the V2 columns that tell the migrated rows apart, e.g. `key: [sensor_id, happened_at]`"));
    }
    ok.then_some(names)
}
