//! What precheck finds of a step's rows before anything is written (check/constraints.rs):
//! values that would break V2's constraints, keys made twice, conversions that fail. The
//! tests are written by templates/step_findings.sql.

use askama::Template;

use super::super::{castable_function, TableRows};
use crate::catalog::quote_ident;
use crate::emit::filters;
use crate::plan::{ForeignKeyTest, Origin, Plan, Step, UniqueTest};

#[derive(Debug, Clone)]
pub struct FindingsView {
    /// Row-level tests of V2 constraints (true: the row would break it).
    pub tests: Vec<Finding>,
    /// Keys that must be unique among the migrated rows.
    pub duplicates: Vec<Duplicates>,
    /// The row's conversions all succeed (so evaluating its other expressions can't fail on a
    /// bad value: each cast is found once, by its own finding). `true` without casts. Text:
    /// the hierarchy view splices it too.
    pub cast_guard: String,
}

/// One constraint test: what it checks (for the reader) and the SQL that finds offenders.
#[derive(Debug, Clone)]
pub struct Finding {
    pub label: String,
    pub test: String,
}

impl Finding {
    pub(in crate::emit::view) fn new(label: String, test: String) -> Finding {
        Finding { label, test }
    }

    /// A value of a V2 unique key (`exprs`) that an earlier step filling the same table makes
    /// too (`earlier_exprs` over its rows). Compared with `IN`, so the earlier step's aliases
    /// can't capture this step's expressions; NULLs never collide, as in V2.
    pub(in crate::emit::view) fn made_by_earlier_step(
        label: String,
        exprs: &[String],
        earlier_exprs: &[String],
        earlier_from: &str,
        earlier_survivors: &str,
    ) -> Finding {
        Finding {
            label,
            test: text(Test::MadeByEarlierStep {
                exprs,
                earlier_exprs,
                earlier_from,
                earlier_survivors,
            }),
        }
    }
}

/// A unique key: the expressions whose values must not repeat among the migrated rows.
#[derive(Debug, Clone)]
pub struct Duplicates {
    pub label: String,
    pub exprs: Vec<String>,
    /// The offending values are secret: precheck counts them and prints none.
    pub secret: bool,
}

/// A conversion a row's values go through, and the precheck helper telling it succeeds.
struct Conversion<'a> {
    value: &'a str,
    function: String,
}

/// One test's SQL, as templates/step_findings.sql writes it.
enum Test<'a> {
    IsNull(&'a str),
    LongerThan(&'a str, &'a str),
    AlreadyInV2(&'a TableRows, &'a UniqueTest),
    /// The foreign key, and its parent table.
    NoParent(&'a ForeignKeyTest, TableRows),
    CastGuard(&'a [Conversion<'a>]),
    DoesNotConvert(&'a Conversion<'a>),
    Guarded(&'a str, &'a str),
    MadeByEarlierStep {
        exprs: &'a [String],
        earlier_exprs: &'a [String],
        earlier_from: &'a str,
        earlier_survivors: &'a str,
    },
}

#[derive(Template)]
#[template(
    source = r#"{%- import "step_findings.sql" as findings -%}
{%- match test -%}
{%- when Test::IsNull with (expr) -%}{% call findings::is_null(expr) %}{% endcall -%}
{%- when Test::LongerThan with (expr, length) -%}{% call findings::longer_than(expr, length) %}{% endcall -%}
{%- when Test::AlreadyInV2 with (table, key) -%}{% call findings::already_in_v2(table, key) %}{% endcall -%}
{%- when Test::NoParent with (fk, parent) -%}{% call findings::no_parent(fk, parent) %}{% endcall -%}
{%- when Test::CastGuard with (casts) -%}{% call findings::cast_guard(casts) %}{% endcall -%}
{%- when Test::DoesNotConvert with (cast) -%}{% call findings::does_not_convert(cast) %}{% endcall -%}
{%- when Test::Guarded with (guard, test) -%}{% call findings::guarded(guard, test) %}{% endcall -%}
{%- when Test::MadeByEarlierStep { exprs, earlier_exprs, earlier_from, earlier_survivors } -%}{% call findings::made_by_earlier_step(exprs, earlier_exprs, earlier_from, earlier_survivors) %}{% endcall -%}
{%- endmatch -%}"#,
    ext = "sql"
)]
struct TestText<'a> {
    test: Test<'a>,
}

/// The test as text: a finding's test is text, since verify.rs adds findings of its own.
/// Rendering only splices text and indents it (its filters, `sql_indent` and `only`, cannot
/// fail), so it cannot fail.
fn text(test: Test) -> String {
    TestText { test }.to_string()
}

impl FindingsView {
    /// `target`: the step's table.
    pub(super) fn new(plan: &Plan, step: &Step, target: &TableRows) -> FindingsView {
        let mut tests: Vec<Finding> = Vec::new();
        for c in step
            .columns
            .iter()
            .filter(|c| c.not_null && c.origin != Origin::NewKey)
        {
            tests.push(Finding::new(
                format!("{} NOT NULL", c.name),
                text(Test::IsNull(&c.expr)),
            ));
        }
        for c in &step.columns {
            let Some(n) = c
                .target_type
                .strip_prefix("character varying(")
                .and_then(|t| t.strip_suffix(')'))
            else {
                continue;
            };
            tests.push(Finding::new(
                format!("{} longer than {n} characters", c.name),
                text(Test::LongerThan(&c.expr, n)),
            ));
        }
        for c in &step.checks {
            tests.push(Finding::new(
                format!("CHECK {}", c.constraint),
                c.test.clone(),
            ));
        }
        // The V2 rows with the replace key's values are the ones replaced: no collision.
        let replaced = |u: &&UniqueTest| {
            step.replace.as_ref().is_some_and(|r| {
                let mut a: Vec<String> = r.columns.iter().map(|c| quote_ident(c)).collect();
                let mut b = u.columns.clone();
                a.sort();
                b.sort();
                a == b
            })
        };
        for u in step
            .uniques
            .iter()
            .filter(|u| !u.columns.is_empty() && !repaired(step, u) && !replaced(u))
        {
            tests.push(Finding::new(
                format!("UNIQUE {}: the value is already in V2", u.constraint),
                text(Test::AlreadyInV2(target, u)),
            ));
        }
        for fk in &step.foreign_keys {
            tests.push(Finding::new(
                format!("FOREIGN KEY {}: no parent row", fk.constraint),
                text(Test::NoParent(fk, TableRows::of(plan, &fk.parent))),
            ));
        }
        let conversions: Vec<Conversion> = step
            .casts
            .iter()
            .map(|c| Conversion {
                value: &c.value,
                function: castable_function(&c.type_name),
            })
            .collect();
        let cast_guard = text(Test::CastGuard(&conversions));
        // Other tests run only on rows whose conversions succeed.
        if !conversions.is_empty() {
            for f in &mut tests {
                f.test = text(Test::Guarded(&cast_guard, &f.test));
            }
        }
        for (c, conversion) in step.casts.iter().zip(&conversions) {
            tests.push(Finding::new(
                format!("{}: {}", c.column, c.what),
                text(Test::DoesNotConvert(conversion)),
            ));
        }
        let duplicates = step
            .uniques
            .iter()
            .filter(|u| !repaired(step, u))
            .map(|u| Duplicates {
                label: format!(
                    "UNIQUE {}: duplicates among the migrated rows",
                    u.constraint
                ),
                exprs: u.exprs.clone(),
                secret: u.secret,
            })
            .collect();
        FindingsView {
            tests,
            duplicates,
            cast_guard,
        }
    }
}

/// A unique key of one column that a repair makes unique: no finding.
pub(in crate::emit::view) fn repaired(step: &Step, u: &UniqueTest) -> bool {
    step.repairs
        .iter()
        .any(|r| u.columns == [quote_ident(&r.column)])
}
