//! A step's uniqueness repairs (check/repair.rs): the rounds migrate runs before the insert,
//! the recorded changes the insert reads, and verify's own recomputation of them. The clauses
//! are templates/step_repairs.sql's, but for the two below that the stage's and verify's
//! Rust-built select lists splice in.

use super::super::{lit, INDENT};
use crate::catalog::quote_ident;
use crate::plan::{ColumnMap, RepairStrategy, Step};

#[derive(Debug, Clone)]
pub struct RepairsView {
    /// One per repaired column.
    pub columns: Vec<RepairView>,
}

/// A uniqueness repair of one column, as migrate runs it before the step's insert.
#[derive(Debug, Clone)]
pub struct RepairView {
    /// As it is, with its V2 type as the catalog prints it.
    pub column: String,
    pub column_type: String,
    pub line: usize,
    /// `suffix` or `clear`.
    pub strategy: &'static str,
    pub original: String,
    /// The column holds a secret: `_pgmig.changes` records its old value as `'[redacted]'`.
    pub secret: bool,
    /// verify's names for its recomputation, as they are: the CTE of the rounds, and the one of
    /// the changed values (key, old_value, new_value) that the content check joins as `alias`.
    pub rounds: String,
    pub recomputed: String,
    pub alias: String,
}

impl RepairsView {
    pub(super) fn new(step: &Step) -> RepairsView {
        let columns: Vec<RepairView> = step
            .repairs
            .iter()
            .map(|r| RepairView {
                column: r.column.clone(),
                column_type: r.column_type.clone(),
                line: r.line,
                strategy: match r.strategy {
                    RepairStrategy::Suffix => "suffix",
                    RepairStrategy::Clear => "clear",
                },
                original: r.original.clone(),
                secret: r.secret,
                rounds: format!("pgmig_rounds_{}", r.column),
                recomputed: format!("pgmig_repaired_{}", r.column),
                alias: repair_alias(&r.column),
            })
            .collect();
        RepairsView { columns }
    }
}

/// The joins to the values `_pgmig.changes` records of a source row's repaired columns, the
/// row's V2 key being `key_json`: one `LEFT JOIN` a line, each line starting with a newline.
/// (Built here, not in a template: the stage's FROM, step/stage.rs, is still text.)
pub(super) fn recorded_repairs(step: &Step, model: &str, key_json: &str) -> String {
    step.repairs
        .iter()
        .map(|r| {
            let alias = quote_ident(&repair_alias(&r.column));
            format!(
                "\n{INDENT}     LEFT JOIN _pgmig.changes AS {alias} ON {alias}.model = {} AND {alias}.step = {} AND {alias}.column_name = {} AND {alias}.key = {key_json}",
                lit(model),
                lit(&step.name),
                lit(&r.column)
            )
        })
        .collect()
}

/// A column's value as the step inserts it: for a repaired column, the recorded new value
/// where there is one (the repair's join in `recorded_repairs`, or verify's recomputation).
pub(super) fn value_of(step: &Step, c: &ColumnMap) -> String {
    repaired_value(step, c, &c.expr)
}

/// `value` (the column's value as computed) or, for a repaired column, the recorded new value
/// where there is one. (Built here, not in a template: the select lists of the stage and of
/// verify that splice it are still text.)
pub(super) fn repaired_value(step: &Step, c: &ColumnMap, value: &str) -> String {
    match step.repairs.iter().find(|r| r.column == c.name) {
        Some(r) => format!(
            "CASE WHEN {0}.key IS NULL THEN {value} ELSE CAST({0}.new_value AS {1}) END",
            quote_ident(&repair_alias(&r.column)),
            c.target_type
        ),
        None => value.to_string(),
    }
}

/// The alias of a repaired column's recorded (or recomputed) values, as it is.
fn repair_alias(column: &str) -> String {
    format!("repair_{column}")
}
