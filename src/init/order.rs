//! The order of the draft's steps: V2's foreign keys first (parents before children), then
//! by name. The compiler orders the steps itself; this order is for the reader.

use std::collections::BTreeSet;

use crate::catalog::{QualName, Table};

/// `tables` sorted parents first; a cycle is broken at its first table by name.
pub fn parents_first<'a>(tables: &[&'a Table]) -> Vec<&'a Table> {
    let names: BTreeSet<&QualName> = tables.iter().map(|t| &t.name).collect();
    let mut left: Vec<&Table> = tables.to_vec();
    left.sort_by(|a, b| a.name.cmp(&b.name));
    let mut done: BTreeSet<&QualName> = BTreeSet::new();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.foreign_keys.iter().all(|fk| fk.references == t.name || done.contains(&fk.references) || !names.contains(&fk.references))
        });
        let t = left.remove(ready.unwrap_or(0));
        done.insert(&t.name);
        out.push(t);
    }
    out
}
