//! The V2 foreign keys into the tables the steps fill. Deleting a migrated row fires them on
//! the rows others wrote since (CASCADE deletes them, SET NULL / SET DEFAULT changes them,
//! NO ACTION / RESTRICT stops the delete), and a row CASCADE deletes fires the foreign keys
//! into its own table in turn: rollback counts those rows, down every chain, before it
//! deletes anything, and PLAN.md lists the keys and the chains. Each deleted parent row is
//! also looked up in the referencing table, by a scan of the whole table when no index leads
//! with the key's columns.

use std::collections::BTreeSet;

use crate::catalog::{quote_ident, Catalog, FkAction, ForeignKey, QualName, Table};
use crate::plan::{Referrer, Step};

/// Every foreign key of V2 whose parent is a step's target, in V2's table order, each
/// followed by the chains it starts: when it cascades, the foreign keys into its table, and
/// so on (a chain never comes back to a table it passed, so the walk ends on cycles).
pub fn of(v2: &Catalog, steps: &[Step]) -> Vec<Referrer> {
    let filled: BTreeSet<&QualName> = steps.iter().map(|s| &s.target).collect();
    let mut out = Vec::new();
    for t in v2.tables.values() {
        for fk in t
            .foreign_keys
            .iter()
            .filter(|fk| filled.contains(&fk.references))
        {
            walk(v2, link(v2, t, fk), Vec::new(), &mut out);
        }
    }
    out
}

fn link(v2: &Catalog, t: &Table, fk: &ForeignKey) -> Referrer {
    Referrer {
        constraint: fk.name.clone(),
        table: t.name.clone(),
        columns: fk.columns.clone(),
        parent: fk.references.clone(),
        parent_columns: fk.referenced_columns.clone(),
        on_delete: fk.on_delete,
        indexed: has_index_leading_with(t, &fk.columns),
        leaf_tables: leaves(v2, t),
        via: Vec::new(),
    }
}

/// Adds `hop` reached through `via`, then, if it cascades, every foreign key into its table
/// from a table the chain has not passed.
fn walk(v2: &Catalog, hop: Referrer, via: Vec<Referrer>, out: &mut Vec<Referrer>) {
    let next = if hop.on_delete == FkAction::Cascade {
        let passed: BTreeSet<&QualName> = via
            .iter()
            .map(|h| &h.parent)
            .chain([&hop.parent, &hop.table])
            .collect();
        v2.tables
            .values()
            .filter(|t| !passed.contains(&t.name))
            .flat_map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.references == hop.table)
                    .map(move |fk| link(v2, t, fk))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut chain = via.clone();
    chain.push(hop.clone());
    out.push(Referrer { via, ..hop });
    for n in next {
        walk(v2, n, chain.clone(), out);
    }
}

/// The tables holding `table`'s rows: itself, or the leaves of its partition tree.
fn leaves(v2: &Catalog, table: &Table) -> Vec<QualName> {
    if table.partition_by.is_none() {
        return vec![table.name.clone()];
    }
    v2.tables
        .values()
        .filter(|p| {
            p.partition_of
                .as_ref()
                .is_some_and(|(parent, _)| *parent == table.name)
        })
        .flat_map(|p| leaves(v2, p))
        .collect()
}

/// A primary key, UNIQUE constraint or full (not partial) btree or hash index of `table` whose
/// first keys are `columns`, in any order: what PostgreSQL's foreign key check can use.
fn has_index_leading_with(table: &Table, columns: &[String]) -> bool {
    let wanted: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
    let leads = |keys: Vec<String>| {
        keys.len() >= wanted.len()
            && keys[..wanted.len()]
                .iter()
                .all(|k| wanted.iter().any(|c| key_is_column(k, c)))
    };
    table
        .primary_key
        .iter()
        .chain(&table.uniques)
        .any(|k| leads(k.columns.iter().map(|c| quote_ident(c)).collect()))
        || table.indexes.iter().any(|i| {
            i.predicate.is_none()
                && matches!(i.method.as_str(), "btree" | "hash")
                && leads(i.keys.clone())
        })
}

/// An index key as `pg_get_indexdef` prints it (`"Name" DESC`, `email text_pattern_ops`) is
/// the plain column `column`.
fn key_is_column(key: &str, column: &str) -> bool {
    let quoted = quote_ident(column);
    key == quoted
        || key
            .strip_prefix(quoted.as_str())
            .is_some_and(|rest| rest.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ddl: &str) -> Table {
        let c = crate::catalog::from_ddl(ddl, "public").unwrap().catalog;
        c.tables
            .values()
            .find(|t| t.name.name == "c")
            .unwrap()
            .clone()
    }

    #[test]
    fn an_index_counts_when_it_leads_with_the_columns() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let base = "CREATE TABLE p (id int PRIMARY KEY, k int, UNIQUE (id, k));";
        for (ddl, columns, indexed) in [
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);", cols(&["p_id"]), false),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (p_id);", cols(&["p_id"]), true),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (p_id DESC, id);", cols(&["p_id"]), true),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (id, p_id);", cols(&["p_id"]), false),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (p_id) WHERE p_id > 0;", cols(&["p_id"]), false),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c USING gin (p_id);", cols(&["p_id"]), false),
            ("CREATE TABLE c (p_id int REFERENCES p, n int, PRIMARY KEY (p_id, n));", cols(&["p_id"]), true),
            ("CREATE TABLE c (\"P\" int, k int, FOREIGN KEY (k, \"P\") REFERENCES p (k, id)); CREATE INDEX ON c (\"P\", k);", cols(&["k", "P"]), true),
        ] {
            let t = table(&format!("{base}\n{ddl}"));
            assert_eq!(has_index_leading_with(&t, &columns), indexed, "{ddl}");
        }
    }
}
