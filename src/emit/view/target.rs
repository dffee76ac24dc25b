//! A V2 table the steps fill, as migrate counts its rows before and verify finds rows no id map holds.

use super::lit;
use crate::catalog::{quote_ident, QualName};
use crate::plan::{Key, Plan, Step};

#[derive(Debug, Clone)]
pub struct TargetView {
    pub table: String,
    /// A row `t` of the table that no id map of the steps filling it holds.
    pub unmapped: String,
    /// Maps of a subset's left-out steps that may exist: then verify assembles its queries
    /// (`count_lit`, `samples_lit` … `samples_end_lit`) with a test per map that exists.
    pub maybe_maps: Vec<MaybeMap>,
    /// Every id map of a step filling the table (this plan's and a subset's others): a later
    /// wave counts the rows none of those that exist hold, the rows others wrote.
    pub every_map: Vec<MaybeMap>,
    /// `SELECT count(*) FROM <table> AS t WHERE true` as a literal, for that count.
    pub count_all_lit: String,
    pub count_lit: String,
    pub samples_lit: String,
    pub samples_end_lit: String,
    /// `ROW(t.id)::text`: the key of a row, for samples, and its order.
    pub sample_key: String,
    pub key_order: String,
}

fn key_columns(step: &Step) -> Vec<String> {
    match &step.key {
        Key::Keep { columns } => columns.iter().map(|k| quote_ident(k)).collect(),
        Key::New { column, .. } => vec![quote_ident(column)],
    }
}

/// The id map of a step left out of a subset that may be migrated already: verify adds its
/// rows to the migrated ones when the map exists.
#[derive(Debug, Clone)]
pub struct MaybeMap {
    pub map_lit: String,
    /// `' AND NOT EXISTS (…)'` as a literal, for the query verify assembles.
    pub unmapped_lit: String,
}

fn not_in_map(map_table: &QualName, keys: &[String]) -> String {
    let on = keys
        .iter()
        .map(|k| format!("mapped.{k} = t.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!("NOT EXISTS (SELECT 1 FROM {map_table} AS mapped WHERE {on})")
}

impl MaybeMap {
    fn of(map_table: &QualName, keys: &[String]) -> MaybeMap {
        MaybeMap {
            map_lit: lit(&map_table.to_string()),
            unmapped_lit: lit(&format!(" AND {}", not_in_map(map_table, keys))),
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
                let mut known: Vec<String> = steps
                    .iter()
                    .map(|s| not_in_map(&s.map_table, &key_columns(s)))
                    .collect();
                let mut maybe = Vec::new();
                let mut every: Vec<MaybeMap> = steps
                    .iter()
                    .map(|s| MaybeMap::of(&s.map_table, &key_columns(s)))
                    .collect();
                // A subset's left-out steps that fill the table too hold migrated rows of it:
                // a prerequisite's map exists, another's once its part is migrated.
                for m in plan
                    .subset
                    .iter()
                    .flat_map(|u| &u.other_maps)
                    .filter(|m| &m.table == t)
                {
                    let keys: Vec<String> = m.key_columns.iter().map(|k| quote_ident(k)).collect();
                    let test = not_in_map(&m.map_table, &keys);
                    every.push(MaybeMap::of(&m.map_table, &keys));
                    if m.prerequisite {
                        known.push(test);
                    } else {
                        maybe.push(MaybeMap {
                            map_lit: lit(&m.map_table.to_string()),
                            unmapped_lit: lit(&format!(" AND {test}")),
                        });
                    }
                }
                let mut view = TargetView::new(t, &steps, known.join(" AND "), maybe);
                view.every_map = every;
                view
            })
            .collect()
    }

    fn new(
        table: &QualName,
        steps: &[&Step],
        unmapped: String,
        maybe_maps: Vec<MaybeMap>,
    ) -> TargetView {
        let keys: Vec<String> = steps
            .first()
            .map(|s| key_columns(s))
            .unwrap_or_default()
            .iter()
            .map(|k| format!("t.{k}"))
            .collect();
        let sample_key = format!("ROW({})::text", keys.join(", "));
        let key_order = keys.join(", ");
        TargetView {
            table: table.to_string(),
            count_lit: lit(&format!("SELECT count(*) FROM {table} AS t WHERE {unmapped}")),
            samples_lit: lit(&format!(
                "SELECT string_agg(x.k, ', ') FROM (SELECT {sample_key} AS k FROM {table} AS t WHERE {unmapped}"
            )),
            samples_end_lit: lit(&format!(" ORDER BY {key_order} LIMIT 5) AS x")),
            count_all_lit: lit(&format!("SELECT count(*) FROM {table} AS t WHERE true")),
            every_map: Vec::new(),
            unmapped,
            maybe_maps,
            sample_key,
            key_order,
        }
    }
}
