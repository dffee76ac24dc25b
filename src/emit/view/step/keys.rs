//! A step's key (check/row_key.rs): copied (`key: [COLUMN, …]`) or made (`key: new`), the id
//! map that records each migrated row's, and how the scripts tell a migrated row by it. The
//! clauses are templates/step_keys.sql's macros; this view holds the names and expressions
//! they are made of.

use askama::Template;

use crate::emit::filters;

use crate::catalog::QualName;
use crate::check::BOOKKEEPING_SCHEMA;
use crate::plan::{Key, RowKey, Step};

#[derive(Debug, Clone)]
pub struct KeysView {
    /// The id map: each migrated row's key (and, for `key: new`, its `by` values).
    pub map_table: String,
    pub is_new_key: bool,
    /// Model line of `key: [COLUMN, …]` when V2 does not enforce that key (0 when it does):
    /// migrate and rollback then check that no other V2 row shares a migrated row's key.
    pub declared_key_line: usize,
    /// For PLAN.md: what makes the key columns tell the rows apart, when not the primary key.
    pub row_key_note: String,
    /// keep: the map's key columns with their types (templates/step_keys.sql prints these
    /// lists; names as they are).
    pub map_columns: Vec<MapColumn>,
    /// The V2 key columns: RETURNING, the map insert, a target row this step made (`t`
    /// with its id map row `mapped`) and their order.
    pub key: Vec<String>,
    /// The id map's columns a source row's map row is found by, each with the source's
    /// expression it holds: the copied key's columns (keep), the `by` values (new).
    pub map_match: Vec<ColumnExpr>,
    /// new: the map's columns of the `by` values.
    pub by: Vec<String>,
    pub new_expr: String,
    /// new: the V2 type of the key column it fills. Precheck makes keys of that type with
    /// no side effect (it must not move a sequence, which ROLLBACK does not undo): numbers
    /// (above those an earlier wave gave) or random uuids; any other type by the model's
    /// expression.
    pub new_key_type: String,
    pub new_line: usize,
    /// new: the key column it fills.
    pub new_key: String,
    /// Precheck: migrate's id map of the step, whose rows (an earlier wave's) seed precheck's.
    pub seed_table: String,
    /// The clauses the other step views build theirs from (repairs, replace, verify,
    /// rejects), rendered by step_keys.sql's macros.
    ///
    /// Transaction mode's waves: the source row (in the step's keyed FROM) is not one an
    /// earlier wave migrated. New keys: its id map row is this wave's (`this_wave`, the step's
    /// variable); copied keys: its key is not in the id map yet.
    pub unmigrated: String,
    /// The source row (in the step's plain FROM) has a row in the id map: migrate chose it.
    pub migrated: String,
    /// Precheck: the source row (in the step's plain FROM) is not one an earlier wave
    /// migrated: its key is in precheck's id map with no wave, or not at all.
    pub not_migrated: String,
    /// The step's FROM plus, for `key: new`, the join to this step's id map (`key_map`): the
    /// step's FROM before the repairs join theirs.
    pub from_unrepaired: String,
    /// The V2 key of a source row (in `from_unrepaired`), as jsonb: what `_pgmig.changes`
    /// records of a repaired row.
    pub key_json: String,
    /// A source row's place in line: its source key (`by` values, or the copied key), as jsonb.
    pub order_json: String,
}

/// A column of an id map's key, with its V2 type.
#[derive(Debug, Clone)]
pub struct MapColumn {
    pub name: String,
    pub data_type: String,
}

/// A column with the expression (SQL as checked) that fills it.
#[derive(Debug, Clone)]
pub struct ColumnExpr {
    pub name: String,
    pub expr: String,
}

impl KeysView {
    /// `from` is the step's FROM as a DO block body indents it.
    pub(super) fn new(step: &Step, from: &str) -> Result<KeysView, askama::Error> {
        let key_cols = key_columns(step);
        let type_of = |c: &str| {
            step.columns
                .iter()
                .find(|m| m.name == c)
                .map_or(String::new(), |m| m.target_type.clone())
        };
        let mut view = KeysView {
            map_table: step.map_table.to_string(),
            is_new_key: false,
            declared_key_line: match step.row_key {
                RowKey::Declared { line } => line,
                RowKey::Enforced { .. } => 0,
            },
            row_key_note: match &step.row_key {
                RowKey::Enforced { primary: true, .. } => String::new(),
                RowKey::Enforced { constraint, .. } => format!("UNIQUE `{constraint}` on NOT NULL columns (V2 has no primary key)"),
                RowKey::Declared { line } => format!(
                    "declared by `key:` (line {line}); V2 does not enforce it, so migrate refuses when another V2 row shares a migrated row's key, and rollback when one was written since"
                ),
            },
            map_columns: key_cols
                .iter()
                .map(|k| MapColumn {
                    name: k.clone(),
                    data_type: type_of(k),
                })
                .collect(),
            map_match: key_cols
                .iter()
                .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
                .map(|c| ColumnExpr {
                    name: c.name.clone(),
                    expr: c.expr.clone(),
                })
                .collect(),
            by: Vec::new(),
            new_expr: String::new(),
            new_key_type: String::new(),
            new_line: 0,
            new_key: String::new(),
            seed_table: QualName::new(BOOKKEEPING_SCHEMA, &step.map_table.name).to_string(),
            unmigrated: String::new(),
            migrated: String::new(),
            not_migrated: String::new(),
            from_unrepaired: String::new(),
            key_json: String::new(),
            order_json: String::new(),
            key: key_cols,
        };
        if let Key::New { column, new, by } = &step.key {
            view.is_new_key = true;
            view.map_match = by
                .iter()
                .map(|b| ColumnExpr {
                    name: b.column.clone(),
                    expr: b.expr.sql.clone(),
                })
                .collect();
            view.by = by.iter().map(|b| b.column.clone()).collect();
            view.new_expr = new.sql.clone();
            view.new_key_type = type_of(column);
            view.new_line = new.line;
            view.new_key = column.clone();
        }
        let k = &view;
        let (unmigrated, migrated, not_migrated) = (
            Unmigrated { k }.render()?,
            Migrated { k }.render()?,
            NotMigrated { k }.render()?,
        );
        let from_unrepaired = FromUnrepaired { k, from }.render()?;
        let (key_json, order_json) = (KeyJson { k }.render()?, OrderJson { k }.render()?);
        view.unmigrated = unmigrated;
        view.migrated = migrated;
        view.not_migrated = not_migrated;
        view.from_unrepaired = from_unrepaired;
        view.key_json = key_json;
        view.order_json = order_json;
        Ok(view)
    }
}

// The clauses rendered for the other step views (see KeysView::unmigrated and what follows).

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::unmigrated(k) %}{% endcall %}"#
)]
struct Unmigrated<'a> {
    k: &'a KeysView,
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::migrated(k) %}{% endcall %}"#
)]
struct Migrated<'a> {
    k: &'a KeysView,
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::not_migrated(k) %}{% endcall %}"#
)]
struct NotMigrated<'a> {
    k: &'a KeysView,
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::from_unrepaired(k, from) %}{% endcall %}"#
)]
struct FromUnrepaired<'a> {
    k: &'a KeysView,
    from: &'a str,
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::key_json(k) %}{% endcall %}"#
)]
struct KeyJson<'a> {
    k: &'a KeysView,
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_keys.sql" as keys %}{% call keys::order_json(k) %}{% endcall %}"#
)]
struct OrderJson<'a> {
    k: &'a KeysView,
}

/// The step's V2 key columns: the copied ones, or the one `key: new` fills.
pub(super) fn key_columns(step: &Step) -> Vec<String> {
    match &step.key {
        Key::Keep { columns } => columns.clone(),
        Key::New { column, .. } => vec![column.clone()],
    }
}
