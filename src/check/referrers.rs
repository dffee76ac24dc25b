//! The V2 foreign keys into the tables the steps fill. Deleting a migrated row fires them on
//! the rows others wrote since (CASCADE deletes them, SET NULL / SET DEFAULT changes them,
//! NO ACTION / RESTRICT stops the delete), and a row CASCADE deletes fires the foreign keys
//! into its own table in turn: rollback counts those rows, down every chain, before it
//! deletes anything, and PLAN.md lists the keys and the chains. Each deleted parent row is
//! also looked up in the referencing table, by a scan of the whole table when no index leads
//! with the key's columns.

use std::collections::BTreeSet;

use crate::catalog::{fk_index, Catalog, FkAction, ForeignKey, QualName, Table};
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
        indexed: fk_index::has_index_leading_with(&fk_index::of_table(t), &fk.columns),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule itself is tested in `catalog::fk_index`; this is the catalog's part: a
    /// table's primary key, UNIQUE constraints and indexes all count.
    #[test]
    fn a_referrer_is_indexed_by_any_of_its_tables_keys_and_indexes() {
        let base = "CREATE TABLE p (id int PRIMARY KEY, k int, UNIQUE (id, k));";
        for (ddl, indexed) in [
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);", false),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (p_id DESC, id);", true),
            ("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p); CREATE INDEX ON c (p_id) WHERE p_id > 0;", false),
            ("CREATE TABLE c (p_id int REFERENCES p, n int, PRIMARY KEY (p_id, n));", true),
            ("CREATE TABLE c (p_id int UNIQUE REFERENCES p, n int);", true),
            ("CREATE TABLE c (\"P\" int, k int, FOREIGN KEY (k, \"P\") REFERENCES p (k, id)); CREATE INDEX ON c (\"P\", k);", true),
        ] {
            let catalog = crate::catalog::from_ddl(&format!("{base}\n{ddl}"), "public")
                .unwrap()
                .catalog;
            let c = catalog.tables.values().find(|t| t.name.name == "c").unwrap();
            assert_eq!(link(&catalog, c, &c.foreign_keys[0]).indexed, indexed, "{ddl}");
        }
    }
}
