//! What verify checks of a step's rows (templates/verify.sql): each migrated row equals its
//! V1 row recomputed (both ways), no orphans, and of the values no one can recompute what
//! can be checked. The checks are written by templates/step_verify.sql.

use askama::Template;

use super::findings::Finding;
use super::rejects::{all_of, Condition, RejectsView};
use super::repairs::value_of;
use crate::emit::filters;
use crate::emit::view::TableRows;
use crate::plan::{ForeignKeyTest, Plan, Step};

#[derive(Debug, Clone)]
pub struct VerifyView {
    /// The expected row (V1 recomputed, repairs as recorded), each value with its V2 type.
    pub expected: Vec<ExpectedValue>,
    /// The V2 row's columns, in the same order.
    pub actual: Vec<String>,
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

/// A value of the expected row: the SQL recomputing it (none: NULL, a column left to no
/// default), and the V2 type it is cast to.
#[derive(Debug, Clone)]
pub struct ExpectedValue {
    pub value: Option<String>,
    pub target_type: String,
}

/// What can be wrong with a migrated row `t`'s value that no one can recompute.
enum Wrong<'a> {
    Unset(&'a str),
    /// The column, and the model whose migrate's window it is.
    OutsideMigrateWindow(&'a str, &'a str),
    /// The table, and the column another of its rows has the same value in.
    TakenTwice(&'a TableRows, &'a str),
    /// The column, and the pattern its text must match.
    Malformed(&'a str, &'a str),
}

/// A verify test over a migrated row `t`, as templates/step_verify.sql writes it.
enum Test<'a> {
    /// The foreign key, and its parent table.
    Orphan(&'a ForeignKeyTest, TableRows),
    /// Any is wrong (none: nothing to check).
    AnyOf(Vec<Wrong<'a>>),
}

#[derive(Template)]
#[template(
    source = r#"{%- import "step_verify.sql" as verify -%}
{%- match test -%}
{%- when Test::Orphan with (fk, parent) -%}{% call verify::orphan(fk, parent) %}{% endcall -%}
{%- when Test::AnyOf with (wrongs) -%}
{%- for wrong in wrongs.iter() %}{% if !loop.first %}
       OR {% endif %}{% match wrong %}{% when Wrong::Unset with (column) %}{% call verify::unset(column) %}{% endcall %}{% when Wrong::OutsideMigrateWindow with (column, model) %}{% call verify::outside_migrate_window(column, model) %}{% endcall %}{% when Wrong::TakenTwice with (table, column) %}{% call verify::taken_twice(table, column) %}{% endcall %}{% when Wrong::Malformed with (column, pattern) %}{% call verify::malformed(column, pattern) %}{% endcall %}{% endmatch %}{% endfor -%}
{%- endmatch -%}"#,
    ext = "sql"
)]
struct TestText<'a> {
    test: Test<'a>,
}

/// The test as text, as precheck's findings are (they share verify.sql's loop). Rendering
/// only splices text, quotes and tables' rows, with no filter that can fail, so it cannot fail.
fn text(test: Test) -> String {
    TestText { test }.to_string()
}

impl VerifyView {
    /// `migrated`: the test that the id map holds a source row; `sep` joins conditions.
    pub(super) fn new(
        plan: &Plan,
        step: &Step,
        target: &TableRows,
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
        // and COLLATE "C" compares the text byte by byte (templates/step_verify.sql).
        // Columns left to a repeatable default are part of the expected row: the default, or NULL.
        let defaults: Vec<_> = step.defaulted.iter().filter(|d| !d.volatile).collect();
        let expected = compared
            .iter()
            .map(|c| ExpectedValue {
                value: Some(value_of(step, c)),
                target_type: c.target_type.clone(),
            })
            .chain(defaults.iter().map(|d| ExpectedValue {
                value: d.default.clone(),
                target_type: d.target_type.clone(),
            }))
            .collect();
        let actual = compared
            .iter()
            .map(|c| c.name.clone())
            .chain(defaults.iter().map(|d| d.name.clone()))
            .collect();
        let (checkable, unchecked): (Vec<_>, Vec<_>) = step
            .columns
            .iter()
            .filter(|c| c.volatile)
            .map(|c| unrepeatable_value(c, target, model))
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
                Finding::new(
                    format!("no orphans through {}", fk.constraint),
                    text(Test::Orphan(fk, TableRows::of(plan, &fk.parent))),
                )
            })
            .collect();
        VerifyView {
            expected,
            actual,
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
    table: &TableRows,
    model: &str,
) -> Result<Finding, String> {
    let name = &c.name;
    let Some(fresh) = &c.fresh else {
        const NOT_REPEATABLE: &str =
            "not comparable (not repeatable: a function gives another value on each call)";
        let mut wrongs = Vec::new();
        let mut checked = Vec::new();
        if c.not_null {
            wrongs.push(Wrong::Unset(name));
            checked.push("set");
        }
        if c.target_type.starts_with("timestamp") && is_current_time(&c.expr) {
            wrongs.push(Wrong::OutsideMigrateWindow(name, model));
            checked.push("inside migrate's time window");
        }
        if wrongs.is_empty() {
            return Err(format!("{name} {NOT_REPEATABLE}; nothing else to check"));
        }
        return Ok(Finding::new(
            format!("{name} {NOT_REPEATABLE}; checked: {}", checked.join(", ")),
            text(Test::AnyOf(wrongs)),
        ));
    };
    let mut wrongs = vec![Wrong::Unset(name), Wrong::TakenTwice(table, name)];
    let mut checked = "set, no other row has it".to_string();
    if let Some(pattern) = &fresh.pattern {
        wrongs.push(Wrong::Malformed(name, pattern));
        checked.push_str(&format!(", {}", fresh.form));
    }
    Ok(Finding::new(
        format!("{name} ({}) not comparable; checked: {checked}", fresh.call),
        text(Test::AnyOf(wrongs)),
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

/// What verify checks of a column left to a non-repeatable default: it is set (a default
/// always sets it), and a time lies between the start of migrate (`_pgmig.targets.counted_at`)
/// and its end.
fn unrepeatable_default(d: &crate::plan::DefaultedColumn, model: &str) -> Finding {
    let (name, target_type) = (&d.name, &d.target_type);
    let what = d
        .default
        .as_deref()
        .map_or("identity".to_string(), |x| format!("default {x}"));
    let mut wrongs = vec![Wrong::Unset(name)];
    let mut checked = "set";
    if target_type.starts_with("timestamp") {
        wrongs.push(Wrong::OutsideMigrateWindow(name, model));
        checked = "set, inside migrate's time window";
    }
    Finding::new(
        format!("{name} ({what}) not comparable; checked: {checked}"),
        text(Test::AnyOf(wrongs)),
    )
}
