//! Transaction mode reads a step's source once: every row the step's FROM yields goes into a
//! temporary stage with its class (filtered out, caught by reject rule N, migrated by an
//! earlier wave, or to migrate now) and what the later statements need of it: the rejected
//! rows' keys, rows and reasons, the `by` values of `key: new`, and the values of the V2
//! columns. The counts, the rejects, the id map and the insert all read the stage. Batched
//! mode's stage (batch_stage.rs) classifies and stages a row with the same pieces.

use askama::Template;

use super::keys::KeysView;
use super::repairs::{recorded_repairs, repaired_value, RecordedRepair};
use crate::catalog::quote_ident;
use crate::emit::filters;
use crate::plan::{ColumnMap, Key, Origin, Step};

/// The pieces of the stage templates/step_stage.sql's macros lay out.
#[derive(Debug, Clone)]
pub struct StageView {
    /// What the rejects need of a caught row, when the step has reject rules.
    pub rejects: Option<StagedRejects>,
    /// `key: new`: the `by` values the stage holds, for the rows that migrate.
    pub by: Vec<StagedBy>,
    /// The step's V2 columns: the stage holds the values of those it stages (computed for
    /// the rows that migrate only: a rejected row's value may be one the rule is there to
    /// keep out).
    pub columns: Vec<StageColumn>,
    /// What gives each row its class: `where`, the reject rules, the id map.
    pub rules: ClassRules,
    /// The repaired columns, whose values `_pgmig.changes` records under the model, the
    /// step and the staged row's V2 key (`repair_key`, jsonb SQL).
    pub recorded_repairs: Vec<RecordedRepair>,
    pub model: String,
    pub step: String,
    pub repair_key: String,
    /// The insert's values, from the stage, one a column (templates/step_stage.sql's
    /// `values`): each a staged value, or the recorded new value of a repaired column.
    pub select_list: Vec<String>,
    /// A `key: new` step whose columns look up its own keys (`id(self, …)`): its id map is
    /// filled from the source before the stage (a second read), so that a row finds the key
    /// of another row of the same run; the stage then tells this run's map rows from earlier
    /// waves' by their wave.
    pub own_lookup: bool,
}

/// What the rejects table records of a row a rule catches.
#[derive(Debug, Clone)]
pub struct StagedRejects {
    /// The V1 row's key and the row as jsonb SQL.
    pub source_key: String,
    pub source_row: String,
    /// Each rule's reason, in rule order.
    pub reasons: Vec<RejectReason>,
}

/// A reject rule's reason: its SQL expression, or its text.
#[derive(Debug, Clone)]
pub struct RejectReason {
    pub sql: Option<String>,
    pub text: String,
}

/// A `by` value of `key: new`: the id map's column, the stage's (apart from the V2 columns
/// of the same name), and its expression.
#[derive(Debug, Clone)]
pub struct StagedBy {
    pub column: String,
    pub stage_column: String,
    pub expr: String,
}

/// A V2 column with the expression that fills it, and whether the stage holds its value.
#[derive(Debug, Clone)]
pub struct StageColumn {
    pub name: String,
    pub expr: String,
    pub data_type: String,
    pub staged: bool,
}

impl StageColumn {
    /// Its value in a statement reading a stage (`stage`), as step_stage.sql's `value`
    /// writes it: for the views that still take SQL text (repairs.rs, hierarchy.rs).
    pub(super) fn value(&self) -> String {
        if self.staged {
            format!("stage.{}", quote_ident(&self.name))
        } else {
            self.expr.clone()
        }
    }
}

/// The tests giving a row its class, in the order they apply: a row `where` leaves out is
/// filtered whatever the rules say, and the first rule that catches a row is its rule.
#[derive(Debug, Clone)]
pub struct ClassRules {
    /// `where`'s conditions.
    pub filters: Vec<String>,
    /// Each reject rule's `when`.
    pub rejects: Vec<String>,
    /// Transaction mode: a map column never NULL in a map row, in the id map left joined:
    /// a row found there was migrated by an earlier wave.
    pub map_found_column: Option<String>,
    /// The id map is filled before the stage (`StageView::own_lookup`): a row found there
    /// was migrated earlier only when its map row is an earlier wave's.
    pub own_lookup: bool,
}

impl ClassRules {
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.rejects.is_empty() && self.map_found_column.is_none()
    }
}

/// The V2 key of a staged row as jsonb, for the joins to its recorded repairs.
#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_stage.sql" as stage %}{% call stage::key_json(k, key) %}{% endcall %}"#
)]
struct StagedKeyJson<'a> {
    k: &'a KeysView,
    key: &'a [StageColumn],
}

impl StageView {
    pub(super) fn new(
        step: &Step,
        model: &str,
        keys: &KeysView,
        source_key: &str,
        source_row: &str,
    ) -> Result<StageView, askama::Error> {
        let columns: Vec<StageColumn> = step.columns.iter().map(stage_column).collect();
        let key: Vec<StageColumn> = keys
            .key
            .iter()
            .filter_map(|k| columns.iter().find(|c| &c.name == k).cloned())
            .collect();
        let own_lookup =
            matches!(step.key, Key::New { .. }) && step.from != step.from_without_own_map;
        let key_json = StagedKeyJson { k: keys, key: &key }.render()?;
        Ok(StageView {
            rejects: staged_rejects(step, source_key, source_row),
            by: staged_by(step),
            rules: ClassRules {
                map_found_column: keys.map_match.first().map(|c| c.name.clone()),
                own_lookup,
                ..class_rules(step)
            },
            recorded_repairs: recorded_repairs(step),
            model: model.to_string(),
            step: step.name.clone(),
            repair_key: key_json,
            select_list: step
                .columns
                .iter()
                .zip(&columns)
                .map(|(c, staged)| repaired_value(step, c, &staged.value()))
                .collect(),
            columns,
            own_lookup,
        })
    }
}

/// What the rejects need of a caught row; nothing when the step has no rule.
pub(super) fn staged_rejects(
    step: &Step,
    source_key: &str,
    source_row: &str,
) -> Option<StagedRejects> {
    (!step.rejects.is_empty()).then(|| StagedRejects {
        source_key: source_key.to_string(),
        source_row: source_row.to_string(),
        reasons: step
            .rejects
            .iter()
            .map(|r| RejectReason {
                sql: r.reason_sql.clone(),
                text: r.reason.clone(),
            })
            .collect(),
    })
}

/// `key: new`: the `by` values, each with the stage's column holding it.
pub(super) fn staged_by(step: &Step) -> Vec<StagedBy> {
    let Key::New { by, .. } = &step.key else {
        return Vec::new();
    };
    by.iter()
        .map(|b| StagedBy {
            column: b.column.clone(),
            stage_column: format!("pgmig_by_{}", b.column),
            expr: b.expr.sql.clone(),
        })
        .collect()
}

/// A V2 column of the step, as the stage templates read it.
pub(super) fn stage_column(c: &ColumnMap) -> StageColumn {
    StageColumn {
        name: c.name.clone(),
        expr: c.expr.clone(),
        data_type: c.target_type.clone(),
        staged: staged(c),
    }
}

/// A V2 column whose value the stage holds. A bare literal is the same for every row and has
/// no type until the insert gives it the column's: it stays in the insert. The new key comes
/// from the id map.
fn staged(c: &ColumnMap) -> bool {
    !c.literal && c.origin != Origin::NewKey
}

/// The tests of `where` and the reject rules (the id map's is transaction mode's own).
pub(super) fn class_rules(step: &Step) -> ClassRules {
    ClassRules {
        filters: step.filter.iter().map(|f| f.sql.clone()).collect(),
        rejects: step.rejects.iter().map(|r| r.when.sql.clone()).collect(),
        map_found_column: None,
        own_lookup: false,
    }
}
