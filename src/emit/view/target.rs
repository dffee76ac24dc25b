//! A V2 table the steps fill, as migrate counts its rows before and verify finds rows no id map holds.

use crate::catalog::{quote_ident, QualName};
use crate::plan::{Key, Plan, Step};

#[derive(Debug, Clone)]
pub struct TargetView {
    pub table: String,
    /// A row `t` of the table that no id map of the steps filling it holds.
    pub unmapped: String,
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
            .map(|t| TargetView::new(t, plan.steps.iter().filter(|s| &s.target == t).collect()))
            .collect()
    }

    fn new(table: &QualName, steps: Vec<&Step>) -> TargetView {
        let unmapped = steps
            .iter()
            .map(|s| {
                let on = key_columns(s)
                    .iter()
                    .map(|k| format!("mapped.{k} = t.{k}"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                format!(
                    "NOT EXISTS (SELECT 1 FROM {} AS mapped WHERE {on})",
                    s.map_table
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let keys: Vec<String> = steps
            .first()
            .map(|s| key_columns(s))
            .unwrap_or_default()
            .iter()
            .map(|k| format!("t.{k}"))
            .collect();
        TargetView {
            table: table.to_string(),
            unmapped,
            sample_key: format!("ROW({})::text", keys.join(", ")),
            key_order: keys.join(", "),
        }
    }
}
