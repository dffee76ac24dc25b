//! Batched mode reads a step's source once too (as transaction mode does, stage.rs): one
//! statement puts every row the step's FROM yields into the step's UNLOGGED batch stage
//! (`_pgmig.stage_<step>`) with its class (filtered out, caught by reject rule N, or to
//! migrate), what the rejects need, and, for the rows that migrate, their batch and the V2
//! columns' values in V2's types. The counts, the rejects, the id map and every batch read
//! the stage. A rerun stages the batches still queued again, from the FROM joined to the id
//! map (a crash empties an UNLOGGED table; V1 fixed after a failed batch is read anew).

use super::super::hierarchy::staged_rows;
use super::super::INDENT;
use super::keys::key_columns;
use super::stage::{
    by_column, class_rules, classified, new_key_join, reject_columns, stage_value, staged,
    staged_by_values, when_migrating, CLASS, MIGRATES,
};
use crate::catalog::quote_ident;
use crate::plan::{Key, Step};

#[derive(Debug, Clone)]
pub struct BatchStageView {
    /// The stage's columns as typed NULLs (`NULL::integer AS pgmig_class, …`) for
    /// `CREATE … AS … WITH NO DATA`: the V2 columns in V2's types, so that filling the stage
    /// converts each value as the insert into V2 would. A `by` value (`key: new`) has the type
    /// of its expression, hence `types_from`.
    pub typed_columns: String,
    /// `key: new`: the step's FROM, which the `by` values' types come from (nothing is read:
    /// WITH NO DATA); empty for copied keys.
    pub types_from: String,
    /// The stage's columns, as the first fill writes them.
    pub columns: String,
    /// Their values, from `from`.
    pub select: String,
    /// The step's FROM with each row's class.
    pub from: String,
    /// The rows that migrate first, in batch order (empty for a hierarchy, numbered later).
    pub order: String,
    /// The columns a rerun stages again for the batches still queued (the rows that migrate).
    pub migrating_columns: String,
    /// Their values, from the step's FROM joined to the id map (`key_map`).
    pub migrating_select: String,
    /// The id map's key columns, from the stage: copied keys by name, `by` values named as
    /// the map's columns.
    pub map_keys: String,
    /// `key: new`: the map's `by` columns, from its `keys` subquery.
    pub map_by_columns: String,
    /// The values of one batch's insert into V2, from `copy_from`.
    pub copy_select: String,
    /// The stage, joined to the id map for the new keys of `key: new`.
    pub copy_from: String,
    /// A hierarchy: the stage's migrating rows with their key and parent, for the levels;
    /// and the join giving each staged row its batch from the id map.
    pub hierarchy_rows: String,
    pub hierarchy_batch_on: String,
}

impl BatchStageView {
    /// `from` is the step's FROM as a DO block body indents it.
    pub(super) fn new(
        step: &Step,
        from: &str,
        source_key: &str,
        source_row: &str,
    ) -> Result<BatchStageView, askama::Error> {
        let sep = format!(",\n{INDENT}       ");
        let by = match &step.key {
            Key::New { by, .. } => by.as_slice(),
            Key::Keep { .. } => &[],
        };
        let staged_columns: Vec<&crate::plan::ColumnMap> =
            step.columns.iter().filter(|c| staged(c)).collect();
        let column_of = |name: &str| step.columns.iter().find(|c| c.name == name);
        let keys = key_columns(step);
        // What a row's batch is numbered by: its `by` values (rows sharing them share a new
        // key, so a batch) or its copied key.
        let order_keys: Vec<String> = match &step.key {
            Key::New { .. } => by.iter().map(|b| when_migrating(&b.expr.sql)).collect(),
            Key::Keep { .. } => keys
                .iter()
                .filter_map(|k| column_of(k))
                .map(|c| when_migrating(&c.expr))
                .collect(),
        };
        let order = format!("{CLASS} <> {MIGRATES}, {}", order_keys.join(", "));
        let numbering = match step.key {
            Key::New { .. } => "dense_rank()",
            Key::Keep { .. } => "row_number()",
        };
        let batch = if step.hierarchy.is_some() {
            "NULL".to_string()
        } else {
            format!("CASE WHEN {CLASS} = {MIGRATES} THEN ({numbering} OVER (ORDER BY {order}) - 1) / batch_size END")
        };

        let mut typed = vec!["NULL::integer AS pgmig_class".to_string()];
        let mut columns = vec!["pgmig_class".to_string()];
        let mut select = vec![CLASS.to_string()];
        let rejects = reject_columns(step, source_key, source_row);
        if !rejects.is_empty() {
            typed.extend([
                "NULL::jsonb AS pgmig_source_key".to_string(),
                "NULL::jsonb AS pgmig_source_row".to_string(),
                "NULL::text AS pgmig_reason".to_string(),
            ]);
            columns
                .extend(["pgmig_source_key", "pgmig_source_row", "pgmig_reason"].map(String::from));
            select.extend(rejects);
        }
        let mut migrating_columns = vec!["pgmig_class".to_string()];
        let mut migrating_select = vec![MIGRATES.to_string()];
        for b in by {
            typed.push(format!("({}) AS {}", b.expr.sql, by_column(&b.column)));
            columns.push(by_column(&b.column));
            select.push(when_migrating(&b.expr.sql));
            migrating_columns.push(by_column(&b.column));
            migrating_select.push(b.expr.sql.clone());
        }
        typed.push("NULL::bigint AS batch".to_string());
        columns.push("batch".to_string());
        select.push(batch);
        migrating_columns.push("batch".to_string());
        migrating_select.push("key_map.batch".to_string());
        for c in &staged_columns {
            typed.push(format!(
                "NULL::{} AS {}",
                c.target_type,
                quote_ident(&c.name)
            ));
            columns.push(quote_ident(&c.name));
            select.push(when_migrating(&c.expr));
            migrating_columns.push(quote_ident(&c.name));
            migrating_select.push(c.expr.clone());
        }

        let hierarchy = step.hierarchy.as_ref().map(|h| {
            // The key and the parent as the stage holds them: the referenced columns are
            // the step's key columns, the foreign key's are columns the step fills.
            let fk = step
                .foreign_keys
                .iter()
                .find(|fk| fk.constraint == h.constraint);
            let value_of = |quoted: &String| {
                step.columns
                    .iter()
                    .find(|c| &quote_ident(&c.name) == quoted)
                    .map(stage_value)
            };
            let own_keys: Vec<String> = fk
                .map(|fk| fk.parent_columns.iter().filter_map(value_of).collect())
                .unwrap_or_default();
            let parents: Vec<String> = h.columns.iter().filter_map(value_of).collect();
            (own_keys, parents)
        });
        let stage_key = |k: &String| {
            column_of(k).map_or_else(|| format!("stage.{}", quote_ident(k)), stage_value)
        };
        let hierarchy_rows = match &hierarchy {
            Some((own_keys, parents)) => staged_rows(
                &keys
                    .iter()
                    .map(|k| format!("{} AS {}", stage_key(k), quote_ident(k)))
                    .collect::<Vec<_>>()
                    .join(", "),
                own_keys,
                parents,
                &format!("FROM {} AS stage", step.stage_table),
                &format!("stage.pgmig_class = {MIGRATES}"),
            )?,
            None => String::new(),
        };

        Ok(BatchStageView {
            typed_columns: typed.join(&sep),
            types_from: if by.is_empty() {
                String::new()
            } else {
                from.to_string()
            },
            columns: columns.join(", "),
            select: select.join(&sep),
            from: classified(from, &class_rules(step)),
            order: if step.hierarchy.is_some() {
                String::new()
            } else {
                order
            },
            migrating_columns: migrating_columns.join(", "),
            migrating_select: migrating_select.join(&sep),
            map_keys: match &step.key {
                Key::New { .. } => staged_by_values(by),
                Key::Keep { .. } => keys
                    .iter()
                    .map(|k| format!("{} AS {}", stage_key(k), quote_ident(k)))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            map_by_columns: by
                .iter()
                .map(|b| format!("keys.{}", quote_ident(&b.column)))
                .collect::<Vec<_>>()
                .join(", "),
            copy_select: step
                .columns
                .iter()
                .map(stage_value)
                .collect::<Vec<_>>()
                .join(&sep),
            copy_from: format!("FROM {} AS stage{}", step.stage_table, new_key_join(step)),
            hierarchy_rows,
            hierarchy_batch_on: keys
                .iter()
                .map(|k| format!("{} = key_map.{}", stage_key(k), quote_ident(k)))
                .collect::<Vec<_>>()
                .join(" AND "),
        })
    }
}
