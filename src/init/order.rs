//! The order of the draft's steps: V2's foreign keys first (parents before children), then
//! by name. The compiler orders the steps itself; this order is for the reader.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, QualName, Table};

/// `tables` sorted parents first; a cycle is broken at its first table by name. A partitioned
/// table's foreign keys include its partitions' (pg_dump declares them there).
pub fn parents_first<'a>(tables: &[&'a Table], catalog: &Catalog) -> Vec<&'a Table> {
    let parents_of = |t: &Table| -> BTreeSet<QualName> {
        let partitions = catalog.tables.values().filter(|p| {
            p.partition_of
                .as_ref()
                .is_some_and(|(parent, _)| parent == &t.name)
        });
        t.foreign_keys
            .iter()
            .chain(partitions.flat_map(|p| p.foreign_keys.iter()))
            .map(|fk| fk.references.clone())
            .collect()
    };
    let names: BTreeSet<&QualName> = tables.iter().map(|t| &t.name).collect();
    let mut left: Vec<&Table> = tables.to_vec();
    left.sort_by(|a, b| a.name.cmp(&b.name));
    let mut done: BTreeSet<&QualName> = BTreeSet::new();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            parents_of(t)
                .iter()
                .all(|p| p == &t.name || done.contains(p) || !names.contains(p))
        });
        let t = left.remove(ready.unwrap_or(0));
        done.insert(&t.name);
        out.push(t);
    }
    out
}
