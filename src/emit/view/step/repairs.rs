//! A step's uniqueness repairs (check/repair.rs): the rounds migrate runs before the insert,
//! the recorded changes the insert reads, and verify's own recomputation of them.

use super::super::{lit, INDENT};
use super::keys::KeysView;
use crate::catalog::quote_ident;
use crate::plan::{ColumnMap, RepairStrategy, Step};

#[derive(Debug, Clone)]
pub struct RepairsView {
    /// One per repaired column.
    pub columns: Vec<RepairView>,
    /// The keyed FROM (`from_unrepaired`) plus the joins to the recorded repairs of its values.
    pub from_keyed: String,
    /// The keyed FROM joined to verify's own recomputation of each repair (the CTEs
    /// [`RepairView::recomputed`]) instead of what `_pgmig.changes` records.
    pub from_recomputed: String,
}

/// A uniqueness repair of one column, as migrate runs it before the step's insert.
#[derive(Debug, Clone)]
pub struct RepairView {
    pub column: String,
    pub line: usize,
    /// `suffix` or `clear`.
    pub strategy: &'static str,
    pub original: String,
    /// The column holds a secret: `_pgmig.changes` records its old value as `'[redacted]'`.
    pub secret: bool,
    /// The V2 key of the row, as jsonb: what `_pgmig.changes` records.
    pub key_json: String,
    /// The row's place in line: its source key (`by` values, or the copied key), as jsonb.
    pub order_json: String,
    /// The new value of a repaired row `r` in round `r.n + 1`.
    pub next_value: String,
    /// `t.email = CAST(r.value AS text)`: the candidate is taken in V2.
    pub taken: String,
    /// verify's names for its recomputation: the CTE of the rounds, and the one of the
    /// changed values (key, old_value, new_value) that the content check joins.
    pub rounds: String,
    pub recomputed: String,
}

impl RepairsView {
    pub(super) fn new(step: &Step, keys: &KeysView, model: &str) -> RepairsView {
        let columns: Vec<RepairView> = step
            .repairs
            .iter()
            .map(|r| RepairView {
                column: r.column.clone(),
                line: r.line,
                strategy: match r.strategy {
                    RepairStrategy::Suffix => "suffix",
                    RepairStrategy::Clear => "clear",
                },
                original: r.original.clone(),
                secret: r.secret,
                key_json: keys.key_json.clone(),
                order_json: keys.order_json.clone(),
                next_value: match r.strategy {
                    RepairStrategy::Suffix => "_pgmig.with_counter(r.original, r.n + 1)".into(),
                    RepairStrategy::Clear => "NULL".into(),
                },
                taken: format!(
                    "t.{} = CAST(r.value AS {})",
                    quote_ident(&r.column),
                    r.column_type
                ),
                rounds: quote_ident(&format!("pgmig_rounds_{}", r.column)),
                recomputed: quote_ident(&format!("pgmig_repaired_{}", r.column)),
            })
            .collect();
        let key_json = &keys.key_json;
        let from_keyed = format!(
            "{}{}",
            keys.from_unrepaired,
            recorded_repairs(step, model, key_json)
        );
        let mut from_recomputed = keys.from_unrepaired.clone();
        for view in &columns {
            let alias = repair_alias(&view.column);
            from_recomputed.push_str(&format!(
                "\n{INDENT}     LEFT JOIN {} AS {alias} ON {alias}.key = {key_json}",
                view.recomputed
            ));
        }
        RepairsView {
            columns,
            from_keyed,
            from_recomputed,
        }
    }
}

/// The joins to the values `_pgmig.changes` records of a source row's repaired columns, the
/// row's V2 key being `key_json`: one `LEFT JOIN` a line, each line starting with a newline.
pub(super) fn recorded_repairs(step: &Step, model: &str, key_json: &str) -> String {
    step.repairs
        .iter()
        .map(|r| {
            let alias = repair_alias(&r.column);
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
/// where there is one (the repair's join in `from_keyed`, or `from_recomputed`).
pub(super) fn value_of(step: &Step, c: &ColumnMap) -> String {
    repaired_value(step, c, &c.expr)
}

/// `value` (the column's value as computed) or, for a repaired column, the recorded new value
/// where there is one.
pub(super) fn repaired_value(step: &Step, c: &ColumnMap, value: &str) -> String {
    match step.repairs.iter().find(|r| r.column == c.name) {
        Some(r) => format!(
            "CASE WHEN {0}.key IS NULL THEN {value} ELSE CAST({0}.new_value AS {1}) END",
            repair_alias(&r.column),
            c.target_type
        ),
        None => value.to_string(),
    }
}

fn repair_alias(column: &str) -> String {
    quote_ident(&format!("repair_{column}"))
}
