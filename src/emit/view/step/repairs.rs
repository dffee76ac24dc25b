//! A step's uniqueness repairs (check/repair.rs): the rounds migrate runs before the insert,
//! the recorded changes the insert reads, and verify's own recomputation of them. The clauses
//! are templates/step_repairs.sql's.

use askama::Template;

use crate::emit::filters;
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

/// A repaired column whose recorded new value a statement reads: the join to
/// `_pgmig.changes` (templates/step_stage.sql's `from_keyed`) and the value
/// (step_repairs.sql's `recorded_or`).
#[derive(Debug, Clone)]
pub struct RecordedRepair {
    /// As it is: the join's alias, and the column whose changes it reads.
    pub alias: String,
    pub column: String,
}

/// The repaired columns of `step`, whose recorded values its insert reads.
pub(super) fn recorded_repairs(step: &Step) -> Vec<RecordedRepair> {
    step.repairs
        .iter()
        .map(|r| RecordedRepair {
            alias: repair_alias(&r.column),
            column: r.column.clone(),
        })
        .collect()
}

/// A column's value as the step inserts it: for a repaired column, the recorded new value
/// where there is one (the repair's join in `recorded_repairs`, or verify's recomputation).
pub(super) fn value_of(step: &Step, c: &ColumnMap) -> String {
    repaired_value(step, c, &c.expr)
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_repairs.sql" as repairs %}{% call repairs::recorded_or(alias, value, data_type) %}{% endcall %}"#
)]
struct RecordedOr<'a> {
    alias: &'a str,
    value: &'a str,
    data_type: &'a str,
}

/// `value` (the column's value as computed) or, for a repaired column, the recorded new value
/// where there is one. Text: the select lists of the stage and of verify hold values as text.
/// Rendering only splices text and quotes a name (no filter that can fail), so it cannot fail.
pub(super) fn repaired_value(step: &Step, c: &ColumnMap, value: &str) -> String {
    match step.repairs.iter().find(|r| r.column == c.name) {
        Some(r) => RecordedOr {
            alias: &repair_alias(&r.column),
            value,
            data_type: &c.target_type,
        }
        .to_string(),
        None => value.to_string(),
    }
}

/// The alias of a repaired column's recorded (or recomputed) values, as it is.
fn repair_alias(column: &str) -> String {
    format!("repair_{column}")
}
