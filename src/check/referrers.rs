//! The V2 foreign keys into the tables the steps fill. Deleting a migrated row fires them on
//! the rows others wrote since (CASCADE deletes them, SET NULL / SET DEFAULT changes them,
//! NO ACTION / RESTRICT stops the delete), and a row CASCADE deletes fires the foreign keys
//! into its own table in turn: rollback counts those rows, down every chain, before it
//! deletes anything, and PLAN.md lists the keys and the chains.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, FkAction, ForeignKey, QualName, Table};
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
            walk(v2, link(t, fk), Vec::new(), &mut out);
        }
    }
    out
}

fn link(t: &Table, fk: &ForeignKey) -> Referrer {
    Referrer {
        constraint: fk.name.clone(),
        table: t.name.clone(),
        columns: fk.columns.clone(),
        parent: fk.references.clone(),
        parent_columns: fk.referenced_columns.clone(),
        on_delete: fk.on_delete,
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
                    .map(move |fk| link(t, fk))
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
