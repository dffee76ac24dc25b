//! The V2 foreign keys into the tables the steps fill. Deleting a migrated row fires them on
//! the rows others wrote since (CASCADE deletes them, SET NULL / SET DEFAULT changes them,
//! NO ACTION / RESTRICT stops the delete): rollback counts those rows before it deletes
//! anything, and PLAN.md lists the keys.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, QualName};
use crate::plan::{Referrer, Step};

/// Every foreign key of V2 whose parent is a step's target, in V2's table order.
pub fn of(v2: &Catalog, steps: &[Step]) -> Vec<Referrer> {
    let filled: BTreeSet<&QualName> = steps.iter().map(|s| &s.target).collect();
    v2.tables
        .values()
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .filter(|fk| filled.contains(&fk.references))
                .map(|fk| Referrer {
                    constraint: fk.name.clone(),
                    table: t.name.clone(),
                    columns: fk.columns.clone(),
                    parent: fk.references.clone(),
                    parent_columns: fk.referenced_columns.clone(),
                    on_delete: fk.on_delete,
                })
        })
        .collect()
}
