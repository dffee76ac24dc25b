//! What precheck finds of a step's rows before anything is written (check/constraints.rs):
//! values that would break V2's constraints, keys made twice, conversions that fail.

use super::super::{castable_function, INDENT};
use crate::catalog::quote_ident;
use crate::plan::{Origin, Step, UniqueTest};

#[derive(Debug, Clone)]
pub struct FindingsView {
    /// Row-level tests of V2 constraints (true: the row would break it).
    pub tests: Vec<Finding>,
    /// Keys that must be unique among the migrated rows.
    pub duplicates: Vec<Finding>,
    /// The row's conversions all succeed (so evaluating its other expressions can't fail on a
    /// bad value: each cast is found once, by its own finding). `true` without casts.
    pub cast_guard: String,
}

/// One constraint test: what it checks (for the reader) and the SQL that finds offenders.
#[derive(Debug, Clone)]
pub struct Finding {
    pub label: String,
    pub test: String,
    /// The offending values are secret: precheck counts them and prints none.
    pub secret: bool,
}

impl Finding {
    pub(in crate::emit::view) fn new(label: String, test: String) -> Finding {
        Finding {
            label,
            test,
            secret: false,
        }
    }
}

impl FindingsView {
    pub(super) fn new(step: &Step) -> FindingsView {
        let mut tests: Vec<Finding> = Vec::new();
        for c in step
            .columns
            .iter()
            .filter(|c| c.not_null && c.origin != Origin::NewKey)
        {
            tests.push(Finding::new(
                format!("{} NOT NULL", c.name),
                format!("({}) IS NULL", c.expr),
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
                format!("length(({})::text) > {n}", c.expr),
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
            let test = format!(
                "EXISTS (SELECT 1 FROM {} AS _existing WHERE {})",
                step.target,
                equal_all("_existing", &u.columns, &u.exprs)
            );
            tests.push(Finding::new(
                format!("UNIQUE {}: the value is already in V2", u.constraint),
                test,
            ));
        }
        for fk in &step.foreign_keys {
            let mut parts: Vec<String> = fk
                .exprs
                .iter()
                .map(|e| format!("({e}) IS NOT NULL"))
                .collect();
            parts.push(format!(
                "NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})",
                fk.parent,
                equal_all("_parent", &fk.parent_columns, &fk.exprs)
            ));
            for map in &fk.parent_maps {
                parts.push(format!(
                    "NOT EXISTS (SELECT 1 FROM {map} AS _parent_map WHERE {})",
                    equal_all("_parent_map", &fk.parent_columns, &fk.exprs)
                ));
            }
            tests.push(Finding::new(
                format!("FOREIGN KEY {}: no parent row", fk.constraint),
                parts.join(&format!("\n{INDENT}      AND ")),
            ));
        }
        let cast_guard = if step.casts.is_empty() {
            "true".to_string()
        } else {
            step.casts
                .iter()
                .map(|c| {
                    format!(
                        "(({}) IS NULL OR {}(({})::text))",
                        c.value,
                        castable_function(&c.type_name),
                        c.value
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        // Other tests run only on rows whose conversions succeed: CASE fixes the order.
        if !step.casts.is_empty() {
            for f in &mut tests {
                f.test = format!("CASE WHEN {cast_guard} THEN {} ELSE false END", f.test);
            }
        }
        for c in &step.casts {
            tests.push(Finding::new(
                format!("{}: {}", c.column, c.what),
                format!(
                    "({}) IS NOT NULL AND NOT {}(({})::text)",
                    c.value,
                    castable_function(&c.type_name),
                    c.value
                ),
            ));
        }
        let duplicates = step
            .uniques
            .iter()
            .filter(|u| !repaired(step, u))
            .map(|u| Finding {
                secret: u.secret,
                ..Finding::new(
                    format!(
                        "UNIQUE {}: duplicates among the migrated rows",
                        u.constraint
                    ),
                    u.exprs.join(", "),
                )
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

/// `a = (x) AND b = (y)` over two aliases' columns.
pub(super) fn equal_all(alias: &str, columns: &[String], exprs: &[String]) -> String {
    columns
        .iter()
        .zip(exprs)
        .map(|(c, e)| format!("{alias}.{c} = ({e})"))
        .collect::<Vec<_>>()
        .join(" AND ")
}
