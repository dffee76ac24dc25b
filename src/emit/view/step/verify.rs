//! What verify checks of a step's rows (templates/verify.sql): each migrated row equals its
//! V1 row recomputed (both ways), no orphans, and of the values no one can recompute what
//! can be checked.

use super::super::{lit, INDENT};
use super::findings::Finding;
use super::rejects::{all_of, Condition, RejectsView};
use super::repairs::value_of;
use crate::catalog::quote_ident;
use crate::plan::Step;

#[derive(Debug, Clone)]
pub struct VerifyView {
    /// The expected row (V1 recomputed, repairs as recorded), one value a line.
    pub expected_list: String,
    /// The V2 row's values, in the same order.
    pub actual_list: String,
    /// For the reader: the columns compared, and those not.
    pub compared: String,
    pub not_compared: Vec<String>,
    /// Foreign keys of migrated rows whose parent is missing (over alias `t`).
    pub orphans: Vec<Finding>,
    /// Columns no one can recompute (over alias `t`): what can be checked of them (set; a
    /// time inside migrate's window; a fresh value's form).
    pub unrepeatable: Vec<Finding>,
    /// Columns of which nothing can be checked (a nullable value of a volatile rule), and a
    /// `where` verify cannot recount, each said in a notice, without a query.
    pub unchecked: Vec<String>,
    /// The call that makes `where` give other rows on each run (`clock_timestamp()`).
    pub filter_non_repeatable: Option<String>,
    /// The rows that migrated: recomputed (`where` kept them, no `reject` caught them), or,
    /// when `where` is not repeatable, chosen by migrate (the id map) and caught by no `reject`.
    pub survivors: String,
}

impl VerifyView {
    /// `migrated`: the test that the id map holds a source row; `sep` joins conditions.
    pub(super) fn new(
        step: &Step,
        model: &str,
        migrated: &str,
        rejects: &RejectsView,
        sep: &str,
    ) -> VerifyView {
        let survivors = match &step.filter_non_repeatable {
            None => rejects.survivors.clone(),
            Some(_) => all_of(
                &std::iter::once(Condition::test(migrated))
                    .chain(step.rejects.iter().map(|r| Condition::fails(&r.when.sql)))
                    .collect::<Vec<_>>(),
                sep,
            ),
        };
        let filter_note = step.filter_non_repeatable.as_ref().map(|call| {
            format!(
                "`where` (model line {}) calls {call}, which gives another value on each call: verify cannot recount the rows it filtered; it checks the rows migrate chose (the id map) instead",
                step.filter.as_ref().map_or(0, |f| f.line)
            )
        });
        let compared: Vec<_> = step.columns.iter().filter(|c| !c.volatile).collect();
        // Compared as text, not with each type's equality: values a type calls equal can
        // still differ to the application (interval '1 mon' and '30 days', numeric 2.50 and
        // 2.5000, float8 0 and -0, jsonb 1.0 and 1, text under a nondeterministic
        // collation); their text tells them apart. pin.sql pins the settings text output
        // depends on (DateStyle, IntervalStyle, TimeZone, extra_float_digits, bytea_output),
        // and COLLATE "C" compares the text byte by byte.
        let comparable = |e: String| format!("CAST(({e}) AS text) COLLATE pg_catalog.\"C\"");
        // Columns left to a repeatable default are part of the expected row: the default, or NULL.
        let defaults: Vec<_> = step.defaulted.iter().filter(|d| !d.volatile).collect();
        let expected_list = compared
            .iter()
            .map(|c| comparable(format!("CAST({} AS {})", value_of(step, c), c.target_type)))
            .chain(defaults.iter().map(|d| {
                comparable(format!(
                    "CAST({} AS {})",
                    d.default.as_deref().unwrap_or("NULL"),
                    d.target_type
                ))
            }))
            .collect::<Vec<_>>()
            .join(&format!(",\n{INDENT}         "));
        let actual_list = compared
            .iter()
            .map(|c| comparable(format!("t.{}", quote_ident(&c.name))))
            .chain(
                defaults
                    .iter()
                    .map(|d| comparable(format!("t.{}", quote_ident(&d.name)))),
            )
            .collect::<Vec<_>>()
            .join(", ");
        let (checkable, unchecked): (Vec<_>, Vec<_>) = step
            .columns
            .iter()
            .filter(|c| c.volatile)
            .map(|c| unrepeatable_value(c, &step.target.to_string(), model))
            .partition(Result::is_ok);
        let unrepeatable = checkable
            .into_iter()
            .filter_map(Result::ok)
            .chain(
                step.defaulted
                    .iter()
                    .filter(|d| d.volatile)
                    .map(|d| unrepeatable_default(d, model)),
            )
            .collect();
        let orphans = step
            .foreign_keys
            .iter()
            .map(|fk| {
                let t_cols: Vec<String> = fk.columns.iter().map(|c| format!("t.{c}")).collect();
                let mut parts: Vec<String> =
                    t_cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
                parts.push(format!(
                    "NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})",
                    fk.parent,
                    equal_all("_parent", &fk.parent_columns, &t_cols)
                ));
                Finding::new(
                    format!("no orphans through {}", fk.constraint),
                    parts.join(" AND "),
                )
            })
            .collect();
        VerifyView {
            expected_list,
            actual_list,
            compared: compared
                .iter()
                .map(|c| c.name.clone())
                .chain(defaults.iter().map(|d| format!("{} (default)", d.name)))
                .collect::<Vec<_>>()
                .join(", "),
            not_compared: step
                .columns
                .iter()
                .filter(|c| c.volatile)
                .map(|c| c.name.clone())
                .chain(
                    step.defaulted
                        .iter()
                        .filter(|d| d.volatile)
                        .map(|d| format!("{} (default)", d.name)),
                )
                .collect(),
            orphans,
            unrepeatable,
            unchecked: filter_note
                .into_iter()
                .chain(unchecked.into_iter().filter_map(Result::err))
                .collect(),
            filter_non_repeatable: step.filter_non_repeatable.clone(),
            survivors,
        }
    }
}

/// What verify checks of a column the model fills with a value no one can recompute: for a
/// fresh value of a known function (a random uuid, the bcrypt hash of a random password),
/// that it is set, that no other row of `table` has it, and its form; for another volatile
/// rule, that it is set when V2 says NOT NULL, and a time made by a bare `now()` (or one of
/// its kin) inside migrate's window. `Err`: nothing can be checked; the notice's text.
fn unrepeatable_value(
    c: &crate::plan::ColumnMap,
    table: &str,
    model: &str,
) -> Result<Finding, String> {
    let name = &c.name;
    let column = quote_ident(name);
    let Some(fresh) = &c.fresh else {
        const NOT_REPEATABLE: &str =
            "not comparable (not repeatable: a function gives another value on each call)";
        let mut test = Vec::new();
        let mut checked = Vec::new();
        if c.not_null {
            test.push(format!("t.{column} IS NULL"));
            checked.push("set");
        }
        if c.target_type.starts_with("timestamp") && is_current_time(&c.expr) {
            test.push(inside_migrate_window(&format!("t.{column}"), model));
            checked.push("inside migrate's time window");
        }
        if test.is_empty() {
            return Err(format!("{name} {NOT_REPEATABLE}; nothing else to check"));
        }
        return Ok(Finding::new(
            format!("{name} {NOT_REPEATABLE}; checked: {}", checked.join(", ")),
            test.join(&format!("\n{INDENT}     OR ")),
        ));
    };
    let mut test = format!(
        "t.{column} IS NULL\n{INDENT}     OR EXISTS (SELECT 1 FROM {table} AS other WHERE other.{column} = t.{column} AND other.ctid <> t.ctid)"
    );
    let mut checked = "set, no other row has it".to_string();
    if let Some(pattern) = &fresh.pattern {
        test.push_str(&format!(
            "\n{INDENT}     OR CAST(t.{column} AS text) !~ {}",
            lit(pattern)
        ));
        checked.push_str(&format!(", {}", fresh.form));
    }
    Ok(Finding::new(
        format!("{name} ({}) not comparable; checked: {checked}", fresh.call),
        test,
    ))
}

/// The expression (as the step inserts it, maybe cast) is the current time and nothing else:
/// its value lies inside migrate's window.
fn is_current_time(expr: &str) -> bool {
    let mut e = expr.trim().to_ascii_lowercase();
    if let Some(inner) = e.strip_prefix("cast(").and_then(|x| x.rsplit_once(" as ")) {
        e = inner.0.trim().to_string();
    }
    let e = e.strip_prefix("pg_catalog.").unwrap_or(&e);
    [
        "now()",
        "current_timestamp",
        "localtimestamp",
        "clock_timestamp()",
        "statement_timestamp()",
        "transaction_timestamp()",
    ]
    .contains(&e)
}

/// The test (over a time `column`) that it lies outside migrate's window: after the start of
/// migrate (`_pgmig.targets.counted_at`), before its end.
fn inside_migrate_window(column: &str, model: &str) -> String {
    let model = lit(model);
    format!(
        "CAST({column} AS timestamptz) < (SELECT min(b.counted_at) FROM _pgmig.targets AS b WHERE b.model = {model})\n{INDENT}     OR CAST({column} AS timestamptz) > (SELECT max(l.finished_at) FROM _pgmig.log AS l WHERE l.model = {model} AND l.script = 'migrate' AND l.status = 'done')"
    )
}

/// What verify checks of a column left to a non-repeatable default: it is set (a default
/// always sets it), and a time lies between the start of migrate (`_pgmig.targets.counted_at`)
/// and its end.
fn unrepeatable_default(d: &crate::plan::DefaultedColumn, model: &str) -> Finding {
    let (name, target_type) = (&d.name, &d.target_type);
    let what = d
        .default
        .as_deref()
        .map_or("identity".to_string(), |x| format!("default {x}"));
    let column = format!("t.{}", quote_ident(name));
    let mut test = format!("{column} IS NULL");
    let mut checked = "set";
    if target_type.starts_with("timestamp") {
        test.push_str(&format!(
            "\n{INDENT}     OR {}",
            inside_migrate_window(&column, model)
        ));
        checked = "set, inside migrate's time window";
    }
    Finding::new(
        format!("{name} ({what}) not comparable; checked: {checked}"),
        test,
    )
}

/// `a = (x) AND b = (y)` over two aliases' columns.
fn equal_all(alias: &str, columns: &[String], exprs: &[String]) -> String {
    columns
        .iter()
        .zip(exprs)
        .map(|(c, e)| format!("{alias}.{c} = ({e})"))
        .collect::<Vec<_>>()
        .join(" AND ")
}
