//! Transaction mode reads a step's source once: every row the step's FROM yields goes into a
//! temporary stage with its class (filtered out, caught by reject rule N, migrated by an
//! earlier wave, or to migrate now) and what the later statements need of it: the rejected
//! rows' keys, rows and reasons, the `by` values of `key: new`, and the values of the V2
//! columns. The counts, the rejects, the id map and the insert all read the stage. Batched
//! mode's stage (batch_stage.rs) classifies and stages a row with the same pieces.

use super::super::INDENT;
use super::keys::KeysView;
use super::repairs::{recorded_repairs, repaired_value};
use crate::catalog::quote_ident;
use crate::plan::{ColumnMap, Key, MapKey, Origin, Step};

/// The class of a row `where` filters out; a rule's catch is the rule's number.
const FILTERED: i32 = -1;
/// The class of a row an earlier wave migrated.
const MIGRATED_BEFORE: i32 = -2;
/// The class of a row that migrates now.
pub const MIGRATES: i32 = 0;

#[derive(Debug, Clone)]
pub struct StageView {
    /// The stage's column list: the class, what the rejects need, the `by` values, the V2
    /// columns' values (computed for the rows that migrate only: a rejected row's value may
    /// be one the rule is there to keep out).
    pub select: String,
    /// The step's FROM, its id map (`key_map`) left joined, and the class of each row.
    pub from: String,
    /// `key: new`: the distinct `by` values of the rows that migrate, named as the map's columns.
    pub by_select: String,
    /// The stage, joined to the id map for `key: new` and to the recorded repairs.
    pub from_keyed: String,
    /// The insert's values, from the stage.
    pub select_list: String,
    /// A `key: new` step whose columns look up its own keys (`id(self, …)`): its id map is
    /// filled from the source before the stage (a second read), so that a row finds the key
    /// of another row of the same run; the stage then tells this run's map rows from earlier
    /// waves' by their wave.
    pub own_lookup: bool,
}

impl StageView {
    pub(super) fn new(
        step: &Step,
        model: &str,
        from: &str,
        keys: &KeysView,
        source_key: &str,
        source_row: &str,
    ) -> StageView {
        let sep = format!(",\n{INDENT}       ");
        let mut select = vec![CLASS.to_string()];
        select.extend(reject_columns(step, source_key, source_row));
        let mut by_select = String::new();
        if let Key::New { by, .. } = &step.key {
            for b in by {
                select.push(format!(
                    "{} AS {}",
                    when_migrating(&b.expr.sql),
                    by_column(&b.column)
                ));
            }
            by_select = staged_by_values(by);
        }
        for c in step.columns.iter().filter(|c| staged(c)) {
            select.push(format!(
                "{} AS {}",
                when_migrating(&c.expr),
                quote_ident(&c.name)
            ));
        }
        let key_json = match &step.key {
            Key::New { .. } => keys.key_json.clone(),
            Key::Keep { columns } => format!(
                "jsonb_build_object({})",
                columns
                    .iter()
                    .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
                    .map(|c| format!("{}, {}", super::super::lit(&c.name), stage_value(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut rules = class_rules(step);
        let own_lookup =
            matches!(step.key, Key::New { .. }) && step.from != step.from_without_own_map;
        let map_join_on = keys
            .map_match
            .iter()
            .map(|c| format!("key_map.{} = {}", quote_ident(&c.name), c.expr))
            .collect::<Vec<_>>()
            .join(" AND ");
        rules.push(format!(
            "WHEN key_map.{} IS NOT NULL{} THEN {MIGRATED_BEFORE}",
            keys.map_match
                .first()
                .map_or(String::new(), |c| quote_ident(&c.name)),
            if own_lookup {
                " AND key_map.pgmig_wave <> this_wave"
            } else {
                ""
            }
        ));
        StageView {
            select: select.join(&sep),
            from: classified(
                &format!(
                    "{from}\n{INDENT}     LEFT JOIN {} AS key_map ON {}",
                    step.map_table, map_join_on
                ),
                &rules,
            ),
            by_select,
            from_keyed: format!(
                "FROM pg_temp.pgmig_stage AS stage{}{}",
                new_key_join(step),
                recorded_repairs(step, model, &key_json)
            ),
            select_list: step
                .columns
                .iter()
                .map(|c| repaired_value(step, c, &stage_value(c)))
                .collect::<Vec<_>>()
                .join(&sep),
            own_lookup,
        }
    }
}

/// A source row's class, as the classified FROM (`classified`) names it.
pub(super) const CLASS: &str = "pgmig_row.pgmig_class";

/// `expr` for the rows that migrate, NULL for the others: a rejected row's value may be one
/// the rule is there to keep out (a cast that fails, a lookup that finds nothing).
pub(super) fn when_migrating(expr: &str) -> String {
    format!("CASE WHEN {CLASS} = {MIGRATES} THEN {expr} END")
}

/// The stage's column of a `by` value (apart from the V2 columns of the same name).
pub(super) fn by_column(column: &str) -> String {
    quote_ident(&format!("pgmig_by_{column}"))
}

/// The `by` values as the stage holds them, named as the id map's columns.
pub(super) fn staged_by_values(by: &[MapKey]) -> String {
    by.iter()
        .map(|b| {
            format!(
                "stage.{} AS {}",
                by_column(&b.column),
                quote_ident(&b.column)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A V2 column whose value the stage holds. A bare literal is the same for every row and has
/// no type until the insert gives it the column's: it stays in the insert. The new key comes
/// from the id map.
pub(super) fn staged(c: &ColumnMap) -> bool {
    !c.literal && c.origin != Origin::NewKey
}

/// A V2 column's value in the insert from a stage (`stage`): the staged value, or the literal.
pub(super) fn stage_value(c: &ColumnMap) -> String {
    if staged(c) {
        format!("stage.{}", quote_ident(&c.name))
    } else {
        c.expr.clone()
    }
}

/// `key: new`: the join of a stage (`stage`) to the step's id map (`key_map`), where each
/// row finds its new key by its `by` values; nothing for copied keys.
pub(super) fn new_key_join(step: &Step) -> String {
    let Key::New { by, .. } = &step.key else {
        return String::new();
    };
    format!(
        "\n{INDENT}     JOIN {} AS key_map ON {}",
        step.map_table,
        by.iter()
            .map(|b| format!(
                "key_map.{} = stage.{}",
                quote_ident(&b.column),
                by_column(&b.column)
            ))
            .collect::<Vec<_>>()
            .join(" AND ")
    )
}

/// What the rejects table records of a row a rule catches (its key, its row, the rule's
/// reason), NULL for the other rows; nothing when the step has no rule.
pub(super) fn reject_columns(step: &Step, source_key: &str, source_row: &str) -> Vec<String> {
    if step.rejects.is_empty() {
        return Vec::new();
    }
    let reasons: String = step
        .rejects
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let reason = r
                .reason_sql
                .clone()
                .unwrap_or_else(|| super::super::lit(&r.reason));
            format!(" WHEN {} THEN {reason}", i + 1)
        })
        .collect();
    vec![
        format!("CASE WHEN {CLASS} > 0 THEN {source_key} END AS pgmig_source_key"),
        format!("CASE WHEN {CLASS} > 0 THEN {source_row} END AS pgmig_source_row"),
        format!("CASE {CLASS}{reasons} END AS pgmig_reason"),
    ]
}

/// The classes `where` and the reject rules give, in the order they apply: a row `where`
/// leaves out is filtered whatever the rules say, and the first rule that catches a row is
/// its rule.
pub(super) fn class_rules(step: &Step) -> Vec<String> {
    let filtered = step
        .filter
        .iter()
        .map(|f| format!("WHEN NOT coalesce(({}), false) THEN {FILTERED}", f.sql));
    let caught = step
        .rejects
        .iter()
        .enumerate()
        .map(|(i, r)| format!("WHEN coalesce(({}), false) THEN {}", r.when.sql, i + 1));
    filtered.chain(caught).collect()
}

/// `from` (the step's FROM and what is joined to it) with each row's class (`CLASS`): the
/// first of `rules` that matches, else `MIGRATES` (every row, when there is no rule). OFFSET 0
/// keeps the class computed once per row, not inlined into every reference.
pub(super) fn classified(from: &str, rules: &[String]) -> String {
    let case_sep = format!("\n{INDENT}                                 ");
    let class = if rules.is_empty() {
        MIGRATES.to_string()
    } else {
        format!(
            "CASE {}{case_sep}ELSE {MIGRATES} END",
            rules.join(&case_sep)
        )
    };
    format!(
        "{from}\n{INDENT}     CROSS JOIN LATERAL (SELECT {class} AS pgmig_class\n{INDENT}                         OFFSET 0) AS pgmig_row"
    )
}
