//! A step's key (check/row_key.rs): copied (`key: [COLUMN, …]`) or made (`key: new`), the id
//! map that records each migrated row's, and how the scripts tell a migrated row by it.

use super::super::{lit, INDENT};
use crate::catalog::{quote_ident, QualName};
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
    /// keep: the key columns' expressions, named as the key columns.
    pub key_select: String,
    /// new: `SELECT DISTINCT` list of the by-expressions with their map names.
    pub by_select: String,
    /// new: the map's columns of the `by` values.
    pub by: Vec<String>,
    pub new_expr: String,
    /// The key precheck makes instead: same type, no side effect (precheck must not move
    /// a sequence, which ROLLBACK does not undo).
    pub precheck_new_expr: String,
    /// The same for the keys of the next wave, once precheck's map holds the earlier waves'.
    pub precheck_next_expr: String,
    pub new_line: usize,
    /// new: the key column it fills.
    pub new_key: String,
    /// Transaction mode's waves: the source row (in the step's keyed FROM) is not one an
    /// earlier wave migrated. New keys: its id map row is this wave's (`this_wave`, the step's
    /// variable); copied keys: its key is not in the id map yet.
    pub unmigrated: String,
    /// The source row (in the step's plain FROM) has a row in the id map: migrate chose it.
    pub migrated: String,
    /// `from` plus, for `key: new`, the join to this step's id map (`key_map`): the step's
    /// FROM before the repairs join theirs.
    pub from_unrepaired: String,
    /// `from` joined to this step's id map whatever the key strategy (batched mode reads
    /// each batch's keys from the map).
    pub from_batched: String,
    /// The V2 key of a source row (in `from_unrepaired`), as jsonb: what `_pgmig.changes`
    /// records of a repaired row.
    pub key_json: String,
    /// A source row's place in line: its source key (`by` values, or the copied key), as jsonb.
    pub order_json: String,
    /// The wave that migrated a source row (in `from_unrepaired`; NULL when none did): verify
    /// recomputes a repair wave by wave, as migrate made it.
    pub row_wave: String,
    /// `key_map.k = expr AND …`: the id map row of a source row (in `from`), by its copied key
    /// or its `by` values.
    pub map_join_on: String,
    /// A map column that is never NULL in a map row: a LEFT JOIN to the map found one.
    pub map_found_column: String,
    /// Precheck: migrate's id map of the step, whose rows (an earlier wave's) seed precheck's.
    pub seed_table: String,
    /// Precheck: the source row (in the step's plain FROM) is not one an earlier wave
    /// migrated: its key is in precheck's id map with no wave, or not at all.
    pub not_migrated: String,
}

/// A column of an id map's key, with its V2 type.
#[derive(Debug, Clone)]
pub struct MapColumn {
    pub name: String,
    pub data_type: String,
}

impl KeysView {
    /// `from` is the step's FROM as a DO block body indents it.
    pub(super) fn new(step: &Step, from: &str) -> KeysView {
        let key_cols = key_columns(step);
        let type_of = |c: &str| {
            step.columns
                .iter()
                .find(|m| m.name == c)
                .map_or(String::new(), |m| m.target_type.clone())
        };
        // The copied key's columns, each with the expression that fills it.
        let key_exprs: Vec<&crate::plan::ColumnMap> = key_cols
            .iter()
            .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
            .collect();
        // The copied key of a source row equals the one of map row `alias`.
        let keep_join_as = |alias: &str| {
            key_exprs
                .iter()
                .map(|c| format!("{alias}.{} = {}", quote_ident(&c.name), c.expr))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let keep_join = keep_join_as("key_map");
        let migrated_before = |join: String| {
            format!(
                "NOT EXISTS (SELECT 1 FROM {} AS earlier WHERE {join} AND earlier.pgmig_wave IS NOT NULL)",
                step.map_table
            )
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
            key_select: key_exprs
                .iter()
                .map(|c| format!("{} AS {}", c.expr, quote_ident(&c.name)))
                .collect::<Vec<_>>()
                .join(", "),
            by_select: String::new(),
            by: Vec::new(),
            new_expr: String::new(),
            precheck_new_expr: String::new(),
            precheck_next_expr: String::new(),
            new_line: 0,
            new_key: String::new(),
            unmigrated: format!(
                "NOT EXISTS (SELECT 1 FROM {} AS key_map WHERE {keep_join})",
                step.map_table
            ),
            migrated: format!(
                "EXISTS (SELECT 1 FROM {} AS key_map WHERE {keep_join})",
                step.map_table
            ),
            from_unrepaired: from.to_string(),
            from_batched: format!(
                "{from}\n{INDENT}     JOIN {} AS key_map ON {keep_join}",
                step.map_table
            ),
            key_json: format!(
                "jsonb_build_object({})",
                key_exprs
                    .iter()
                    .map(|c| format!("{}, {}", lit(&c.name), c.expr))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            order_json: String::new(),
            row_wave: format!(
                "(SELECT key_map.pgmig_wave FROM {} AS key_map WHERE {keep_join})",
                step.map_table
            ),
            map_join_on: keep_join.clone(),
            map_found_column: key_cols.first().map_or(String::new(), |k| quote_ident(k)),
            seed_table: QualName::new(BOOKKEEPING_SCHEMA, &step.map_table.name).to_string(),
            not_migrated: migrated_before(keep_join_as("earlier")),
            key: key_cols,
        };
        view.order_json = view.key_json.clone();
        if let Key::New { column, new, by } = &step.key {
            let on_as = |alias: &str| {
                by.iter()
                    .map(|b| format!("{alias}.{} = {}", quote_ident(&b.column), b.expr.sql))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            let on = on_as("key_map");
            let from_mapped = format!(
                "{from}\n{INDENT}     JOIN {} AS key_map ON {on}",
                step.map_table
            );
            let ty = type_of(column);
            view.is_new_key = true;
            view.map_join_on = on.clone();
            view.map_found_column = by.first().map_or(String::new(), |b| quote_ident(&b.column));
            view.by_select = by
                .iter()
                .map(|b| format!("{} AS {}", b.expr.sql, quote_ident(&b.column)))
                .collect::<Vec<_>>()
                .join(", ");
            view.by = by.iter().map(|b| b.column.clone()).collect();
            view.new_expr = new.sql.clone();
            view.precheck_new_expr = match ty.as_str() {
                "smallint" | "integer" | "bigint" | "numeric" => {
                    format!("(row_number() OVER ())::{ty}")
                }
                "uuid" => "gen_random_uuid()".to_string(),
                _ => new.sql.clone(),
            };
            view.precheck_next_expr = match ty.as_str() {
                // Above the keys an earlier wave gave (seeded into precheck's map).
                "smallint" | "integer" | "bigint" | "numeric" => format!(
                    "(coalesce((SELECT max(earlier.{}) FROM {} AS earlier), 0) + row_number() OVER ())::{ty}",
                    quote_ident(column),
                    step.map_table
                ),
                _ => view.precheck_new_expr.clone(),
            };
            view.new_line = new.line;
            view.new_key = column.clone();
            view.unmigrated = "key_map.pgmig_wave = this_wave".to_string();
            view.row_wave = "key_map.pgmig_wave".to_string();
            view.not_migrated = migrated_before(on_as("earlier"));
            view.migrated = format!(
                "EXISTS (SELECT 1 FROM {} AS key_map WHERE {on})",
                step.map_table
            );
            view.from_unrepaired = from_mapped.clone();
            view.from_batched = from_mapped;
            view.key_json = format!(
                "jsonb_build_object({}, key_map.{})",
                lit(column),
                quote_ident(column)
            );
            view.order_json = format!(
                "jsonb_build_object({})",
                by.iter()
                    .map(|b| format!("{}, key_map.{}", lit(&b.column), quote_ident(&b.column)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        view
    }
}

/// The step's V2 key columns: the copied ones, or the one `key: new` fills.
pub(super) fn key_columns(step: &Step) -> Vec<String> {
    match &step.key {
        Key::Keep { columns } => columns.clone(),
        Key::New { column, .. } => vec![column.clone()],
    }
}
