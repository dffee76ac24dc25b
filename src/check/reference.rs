//! Reference data (`reference:`): rows V2 needs before any step, matched by a natural key.
//!
//! Checked here against V2's catalog: the table exists, the natural key is UNIQUE in V2 (so
//! "matched by key" means one row), every row gives its key and every NOT NULL column, and a
//! foreign key column to another reference table names a parent row the model declares.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::lookup::MapShape;
use super::suggest::did_you_mean;
use crate::catalog::{quote_ident, Catalog, QualName, Table};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{pos_of, ReferenceDecl, Text};
use crate::plan::{Reference, ReferenceColumn};
use crate::sql_text::quote_literal;

/// Checks every `reference:` entry; returns them parents first.
pub fn check(
    decls: &IndexMap<Text, ReferenceDecl>,
    v2: &Catalog,
    schema: &str,
    diags: &mut Diagnostics,
) -> Vec<Reference> {
    let mut natural: BTreeMap<QualName, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut tables = Vec::new();
    for (name, decl) in decls {
        let qn = QualName::new(schema, name.as_str());
        let Some(table) = v2.table(&qn) else {
            let candidates: Vec<String> =
                v2.tables_in(schema).map(|t| t.name.name.clone()).collect();
            let mut d = Diagnostic::error(
                format!("reference table `{qn}` does not exist in V2"),
                pos_of(name),
            );
            if let Some(s) = did_you_mean(name.as_str(), &candidates) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            continue;
        };
        if check_key(name, decl, table, diags) {
            // A one-column natural key lets child reference rows name their parent by it.
            if let [k] = decl.key.as_slice() {
                let values = decl
                    .rows
                    .iter()
                    .filter_map(|r| value(r, k.as_str()))
                    .map(|v| v.to_string())
                    .collect();
                natural.insert(qn.clone(), (k.to_string(), values));
            }
            tables.push((name, decl, table));
        }
    }
    let mut out = Vec::new();
    for (name, decl, table) in tables {
        if let Some(r) = reference(name, decl, table, v2, &natural, diags) {
            out.push(r);
        }
    }
    parents_first(out)
}

/// What `ref(table, key…)` joins: the table itself, by its natural key, giving its primary key.
pub fn shape(r: &Reference) -> MapShape {
    let (pk, ty) = r.primary_key.first().cloned().unwrap_or_default();
    MapShape {
        map_table: r.table.to_string(),
        key_columns: r.key.clone(),
        result_column: pk,
        result_type: ty,
    }
}

fn value<'a>(row: &'a IndexMap<Text, Option<Text>>, column: &str) -> Option<&'a Text> {
    row.iter()
        .find(|(k, _)| k.as_str() == column)
        .and_then(|(_, v)| v.as_ref())
}

/// The natural key: its columns exist and are a PRIMARY KEY or UNIQUE constraint of V2.
fn check_key(name: &Text, decl: &ReferenceDecl, table: &Table, diags: &mut Diagnostics) -> bool {
    let mut ok = !decl.key.is_empty();
    if decl.key.is_empty() {
        diags.push(Diagnostic::error(
            format!(
                "reference table `{}` needs a `key`: the columns rows are matched by",
                table.name
            ),
            pos_of(name),
        ));
    }
    for k in &decl.key {
        if table.column(k.as_str()).is_none() {
            let d = Diagnostic::error(
                format!(
                    "column `{}` does not exist in V2 table `{}`",
                    k.as_str(),
                    table.name
                ),
                pos_of(k),
            );
            let candidates: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            diags.push(match did_you_mean(k.as_str(), &candidates) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d,
            });
            ok = false;
        }
    }
    if table.primary_key.is_none() {
        diags.push(
            Diagnostic::error(format!("V2 table `{}` has no primary key", table.name), pos_of(name))
                .with_hint("pgmig records the reference rows it inserts by primary key, so rollback removes only those"),
        );
        ok = false;
    }
    if !ok {
        return false;
    }
    let wanted: BTreeSet<&str> = decl.key.iter().map(|k| k.as_str()).collect();
    let unique = table.primary_key.iter().chain(&table.uniques).any(|u| {
        u.columns
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            == wanted
    });
    if !unique {
        let at = decl.key.first().and_then(pos_of);
        diags.push(
            Diagnostic::error(
                format!("the reference key ({}) is not UNIQUE in V2 table `{}`", decl.key.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "), table.name),
                at,
            )
            .with_hint("rows are matched by this key, so a second run inserts nothing: it must name one row; add a UNIQUE constraint to V2 or choose a unique key"),
        );
    }
    unique
}

fn reference(
    name: &Text,
    decl: &ReferenceDecl,
    table: &Table,
    v2: &Catalog,
    natural: &BTreeMap<QualName, (String, BTreeSet<String>)>,
    diags: &mut Diagnostics,
) -> Option<Reference> {
    let before = diags.0.len();
    // Columns given by any row, in V2's order.
    let mut given: BTreeSet<&str> = BTreeSet::new();
    for row in &decl.rows {
        for k in row.keys() {
            match table.column(k.as_str()) {
                Some(_) => {
                    given.insert(k.as_str());
                }
                None => {
                    let candidates: Vec<String> =
                        table.columns.iter().map(|c| c.name.clone()).collect();
                    let mut d = Diagnostic::error(
                        format!(
                            "column `{}` does not exist in V2 table `{}`",
                            k.as_str(),
                            table.name
                        ),
                        pos_of(k),
                    );
                    if let Some(s) = did_you_mean(k.as_str(), &candidates) {
                        d = d.with_hint(format!("did you mean `{s}`?"));
                    }
                    diags.push(d);
                }
            }
        }
    }
    let fks = v2.foreign_keys_of(&table.name);
    let mut columns = Vec::new();
    for c in table
        .columns
        .iter()
        .filter(|c| given.contains(c.name.as_str()))
    {
        let fk = fks
            .iter()
            .find(|f| f.columns == [c.name.clone()] && natural.contains_key(&f.references));
        let parent = fk.map(|f| {
            (
                f.references.clone(),
                natural[&f.references].0.clone(),
                f.referenced_columns[0].clone(),
            )
        });
        columns.push((c, parent));
    }
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for row in &decl.rows {
        // An empty row (`- {}`) has no key of its own to point at: point at the declaration.
        let row_at = row
            .keys()
            .next()
            .and_then(pos_of)
            .or_else(|| decl.key.first().and_then(pos_of))
            .or_else(|| pos_of(name));
        let key: Vec<String> = decl
            .key
            .iter()
            .map(|k| value(row, k.as_str()).map_or(String::new(), |v| v.to_string()))
            .collect();
        if decl.key.iter().any(|k| value(row, k.as_str()).is_none()) {
            diags.push(Diagnostic::error(
                format!(
                    "a reference row of `{}` has no value for its key ({})",
                    table.name,
                    key_names(decl)
                ),
                row_at,
            ));
        } else if !seen.insert(key.clone()) {
            diags.push(Diagnostic::error(
                format!(
                    "two reference rows of `{}` have the key ({})",
                    table.name,
                    key.join(", ")
                ),
                row_at,
            ));
        }
        for c in table.columns.iter().filter(|c| {
            c.not_null && c.default.is_none() && c.identity.is_none() && c.generated.is_none()
        }) {
            if value(row, &c.name).is_none() {
                diags.push(Diagnostic::error(
                    format!(
                        "column `{}.{}` is NOT NULL and this reference row gives no value",
                        table.name.name, c.name
                    ),
                    row_at,
                ));
            }
        }
        let mut literals = Vec::new();
        for (c, parent) in &columns {
            let v = value(row, &c.name);
            let ty = match parent {
                Some((p, key_col, _)) => {
                    let (_, known) = &natural[p];
                    if let Some(v) = v.filter(|v| !known.contains(v.as_str())) {
                        diags.push(
                            Diagnostic::error(
                                format!(
                                    "`{}` names no reference row of `{p}` by {key_col}",
                                    v.as_str()
                                ),
                                pos_of(v),
                            )
                            .with_hint(format!(
                                "{}: one of {}",
                                c.name,
                                known.iter().cloned().collect::<Vec<_>>().join(", ")
                            )),
                        );
                    }
                    v2.table(p)
                        .and_then(|t| t.column(key_col))
                        .map_or("text".to_string(), |k| k.data_type.clone())
                }
                None => c.data_type.clone(),
            };
            literals.push(match v {
                Some(v) => format!("{}::{ty}", quote_literal(v.as_str())),
                None => format!("NULL::{ty}"),
            });
        }
        rows.push(literals);
    }
    if diags.0.len() > before && diags.has_errors() {
        return None;
    }
    let referenced_by = v2
        .tables
        .values()
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .filter(|f| f.references == table.name)
                .map(move |f| {
                    (
                        t.name.clone(),
                        f.columns.clone(),
                        f.referenced_columns.clone(),
                    )
                })
        })
        .collect();
    // Every column drawing from a sequence: the ones the rows leave out draw their keys,
    // the ones they give must not be drawn again by the application.
    let sequences = table
        .columns
        .iter()
        .filter_map(|c| crate::plan::SequenceSync::of(v2, &table.name, &c.name))
        .collect();
    Some(Reference {
        sequences,
        table: table.name.clone(),
        line: pos_of(name).map_or(0, |p| p.line),
        key: decl.key.iter().map(|k| k.to_string()).collect(),
        primary_key: table
            .primary_key
            .iter()
            .flat_map(|k| k.columns.iter())
            .map(|c| {
                (
                    c.clone(),
                    table
                        .column(c)
                        .map_or(String::new(), |c| c.data_type.clone()),
                )
            })
            .collect(),
        columns: columns
            .into_iter()
            .map(|(c, parent)| ReferenceColumn {
                name: c.name.clone(),
                parent,
            })
            .collect(),
        rows,
        referenced_by,
    })
}

fn key_names(decl: &ReferenceDecl) -> String {
    decl.key
        .iter()
        .map(|k| quote_ident(k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parents before children (a reference row may name a parent reference row); model order otherwise.
fn parents_first(mut refs: Vec<Reference>) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    while !refs.is_empty() {
        let ready = refs
            .iter()
            .position(|r| {
                r.columns
                    .iter()
                    .filter_map(|c| c.parent.as_ref())
                    .all(|(p, _, _)| p == &r.table || out.iter().any(|o| &o.table == p))
            })
            .unwrap_or(0);
        out.push(refs.remove(ready));
    }
    out
}
