//! Batched mode reads a step's source once too (as transaction mode does, stage.rs): one
//! statement puts every row the step's FROM yields into the step's UNLOGGED batch stage
//! (`_pgmig.stage_<step>`) with its class (filtered out, caught by reject rule N, or to
//! migrate), what the rejects need, and, for the rows that migrate, their batch and the V2
//! columns' values in V2's types. The counts, the rejects, the id map and every batch read
//! the stage. A rerun stages the batches still queued again, from the FROM joined to the id
//! map (a crash empties an UNLOGGED table; V1 fixed after a failed batch is read anew).
//! templates/step_batch_stage.sql lays the statements' lists out.

use super::super::hierarchy::staged_rows;
use super::keys::key_columns;
use super::stage::{
    class_rules, stage_column, staged_by, staged_rejects, ClassRules, StageColumn, StagedBy,
    StagedRejects,
};
use crate::catalog::quote_ident;
use crate::plan::{Key, Step};

#[derive(Debug, Clone)]
pub struct BatchStageView {
    /// What the rejects need of a caught row, when the step has reject rules.
    pub rejects: Option<StagedRejects>,
    /// `key: new`: the `by` values the stage holds (their types from the step's FROM).
    pub by: Vec<StagedBy>,
    /// The step's V2 columns: the stage holds the values of those it stages, in V2's types.
    pub columns: Vec<StageColumn>,
    /// The step's key columns as the stage holds them.
    pub key: Vec<StageColumn>,
    /// What gives each row its class: `where` and the reject rules.
    pub rules: ClassRules,
    /// The batches are numbered as the rows are staged, in the order of `order`: by their
    /// `by` values (rows sharing them share a new key, so a batch) or their copied key. Not
    /// for a hierarchy, numbered later.
    pub numbered: bool,
    pub order: Vec<String>,
    /// A hierarchy: the stage's migrating rows with their key and parent, for the levels
    /// (hierarchy.rs's statement, from the values as the stage holds them).
    pub hierarchy_rows: String,
}

impl BatchStageView {
    pub(super) fn new(
        step: &Step,
        source_key: &str,
        source_row: &str,
    ) -> Result<BatchStageView, askama::Error> {
        let columns: Vec<StageColumn> = step.columns.iter().map(stage_column).collect();
        let column_of = |name: &str| columns.iter().find(|c| c.name == name);
        // A key column the step does not fill is read from the stage by its name.
        let key: Vec<StageColumn> = key_columns(step)
            .iter()
            .map(|k| {
                column_of(k).cloned().unwrap_or_else(|| StageColumn {
                    name: k.clone(),
                    expr: String::new(),
                    data_type: String::new(),
                    staged: true,
                })
            })
            .collect();
        let by = staged_by(step);
        let order: Vec<String> = match &step.key {
            Key::New { .. } => by.iter().map(|b| b.expr.clone()).collect(),
            Key::Keep { .. } => key_columns(step)
                .iter()
                .filter_map(|k| column_of(k))
                .map(|c| c.expr.clone())
                .collect(),
        };
        let hierarchy_rows = match &step.hierarchy {
            Some(h) => {
                // The key and the parent as the stage holds them: the referenced columns are
                // the step's key columns, the foreign key's are columns the step fills.
                let fk = step
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.constraint == h.constraint);
                let value_of = |quoted: &String| {
                    columns
                        .iter()
                        .find(|c| &quote_ident(&c.name) == quoted)
                        .map(StageColumn::value)
                };
                let own_keys: Vec<String> = fk
                    .map(|fk| fk.parent_columns.iter().filter_map(value_of).collect())
                    .unwrap_or_default();
                let parents: Vec<String> = h.columns.iter().filter_map(value_of).collect();
                staged_rows(
                    key.iter().map(|c| (c.value(), c.name.as_str())).collect(),
                    &own_keys,
                    &parents,
                    &step.stage_table.to_string(),
                )?
            }
            None => String::new(),
        };
        Ok(BatchStageView {
            rejects: staged_rejects(step, source_key, source_row),
            by,
            columns,
            key,
            rules: class_rules(step),
            numbered: step.hierarchy.is_none(),
            order,
            hierarchy_rows,
        })
    }
}
