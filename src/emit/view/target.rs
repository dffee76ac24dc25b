//! A V2 table the steps fill, as migrate counts its rows before and verify finds rows no id map holds.

use super::TableRows;
use crate::catalog::QualName;
use crate::plan::{Key, Plan, Step};

/// templates/unmapped.sql prints its queries: names come as they are.
#[derive(Debug, Clone)]
pub struct TargetView {
    pub table: TableRows,
    /// The key of a row (the first step's): samples print it, in its order.
    pub key: Vec<String>,
    /// The id maps that exist whenever verify runs (the steps' filling the table, a
    /// subset's prerequisites'): a row `t` none holds is beyond the migrated ones.
    pub maps: Vec<IdMap>,
    /// Maps of a subset's left-out steps that may exist: then verify assembles its queries
    /// with a test per map that exists.
    pub maybe_maps: Vec<IdMap>,
    /// Every id map of a step filling the table (this plan's and a subset's others): a later
    /// wave counts the rows none of those that exist hold, the rows others wrote.
    pub every_map: Vec<IdMap>,
}

/// A step's id map, and the key columns its rows hold (named as in the table).
#[derive(Debug, Clone)]
pub struct IdMap {
    pub table: String,
    pub key: Vec<String>,
}

fn key_columns(step: &Step) -> Vec<String> {
    match &step.key {
        Key::Keep { columns } => columns.clone(),
        Key::New { column, .. } => vec![column.clone()],
    }
}

impl IdMap {
    fn of(map_table: &QualName, key: Vec<String>) -> IdMap {
        IdMap {
            table: map_table.to_string(),
            key,
        }
    }
}

impl TargetView {
    /// One per filled table, in load order.
    pub(super) fn all(plan: &Plan) -> Vec<TargetView> {
        let mut tables: Vec<&QualName> = Vec::new();
        for s in &plan.steps {
            if !tables.contains(&&s.target) {
                tables.push(&s.target);
            }
        }
        tables
            .into_iter()
            .map(|t| {
                let steps: Vec<&Step> = plan.steps.iter().filter(|s| &s.target == t).collect();
                let mut maps: Vec<IdMap> = steps
                    .iter()
                    .map(|s| IdMap::of(&s.map_table, key_columns(s)))
                    .collect();
                let mut every_map = maps.clone();
                let mut maybe_maps = Vec::new();
                // A subset's left-out steps that fill the table too hold migrated rows of it:
                // a prerequisite's map exists, another's once its part is migrated.
                for m in plan
                    .subset
                    .iter()
                    .flat_map(|u| &u.other_maps)
                    .filter(|m| &m.table == t)
                {
                    let map = IdMap::of(&m.map_table, m.key_columns.clone());
                    every_map.push(map.clone());
                    if m.prerequisite {
                        maps.push(map);
                    } else {
                        maybe_maps.push(map);
                    }
                }
                TargetView {
                    table: TableRows::of(plan, t),
                    key: steps.first().map(|s| key_columns(s)).unwrap_or_default(),
                    maps,
                    maybe_maps,
                    every_map,
                }
            })
            .collect()
    }
}
