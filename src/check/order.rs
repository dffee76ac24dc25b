//! Load order: a topological sort of the steps by V2's foreign keys and `id()` lookups.

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::plan::{self, Dependency};

use super::lookup::IdJoin;

/// Sorts step indexes so each step runs after the ones it depends on; ties keep model order.
/// On a cycle: the error (its position is the caller's to give) and the first step in it.
pub fn sort(
    deps: &[Vec<(usize, Dependency)>],
    names: &[String],
) -> Result<Vec<usize>, (Diagnostic, usize)> {
    let n = deps.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n).find(|&i| !done[i] && deps[i].iter().all(|(d, _)| *d == i || done[*d]));
        match ready {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<String> = (0..n)
                    .filter(|&i| !done[i])
                    .map(|i| {
                        let on: Vec<String> = deps[i]
                            .iter()
                            .filter(|(d, _)| !done[*d] && *d != i)
                            .map(|(d, why)| format!("{} ({})", names[*d], why.reason))
                            .collect();
                        format!("{} needs {}", names[i], on.join(", "))
                    })
                    .collect();
                let first = (0..n).find(|&i| !done[i]).unwrap_or(0);
                return Err((
                    Diagnostic::error(format!("the steps depend on each other in a cycle: {}", stuck.join("; ")), None)
                        .with_hint("a cycle of foreign keys needs one of them filled by a later UPDATE, which pgmig does not do yet"),
                    first,
                ));
            }
        }
    }
    Ok(order)
}

/// Whether every one of `columns` is filled with an `id(parent, …)` lookup.
fn fk_reads_map_of(step: &plan::Step, columns: &[String], joins: &[IdJoin], parent: &str) -> bool {
    let aliases: Vec<String> = joins
        .iter()
        .filter(|j| j.kind == "id" && j.step == parent)
        .map(|j| format!("{}.", crate::catalog::quote_ident(&j.alias)))
        .collect();
    columns.iter().all(|c| {
        step.columns
            .iter()
            .find(|m| &m.name == c)
            .is_some_and(|m| aliases.iter().any(|a| m.expr.starts_with(a.as_str())))
    })
}

/// Dependencies of one step: V2 foreign keys to other steps' tables, and id() lookups.
pub fn dependencies(
    step: &plan::Step,
    joins: &[IdJoin],
    steps: &[plan::Step],
    v2: &Catalog,
) -> Vec<(usize, Dependency)> {
    let mut deps = Vec::new();
    for fk in v2.foreign_keys_of(&step.target) {
        let fillers: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].target == fk.references && steps[i].name != step.name)
            .collect();
        // Several steps fill the parent table (`into:`): when the key columns take their values
        // from id() lookups of some of them, only those must run first.
        let looked_up: Vec<usize> = fillers
            .iter()
            .copied()
            .filter(|&i| fk_reads_map_of(step, &fk.columns, joins, &steps[i].name))
            .collect();
        let needed = if fillers.len() > 1 && !looked_up.is_empty() {
            looked_up
        } else {
            fillers
        };
        for i in needed {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((
                    i,
                    Dependency {
                        step: steps[i].name.clone(),
                        reason: format!("foreign key {} ({})", fk.name, fk.columns.join(", ")),
                    },
                ));
            }
        }
    }
    for t in &step.v2_reads {
        for i in (0..steps.len()).filter(|&i| &steps[i].target == t && steps[i].name != step.name) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((
                    i,
                    Dependency {
                        step: steps[i].name.clone(),
                        reason: format!("reads the migrated rows of {t}"),
                    },
                ));
            }
        }
    }
    for j in joins.iter().filter(|j| j.kind == "id") {
        if let Some(i) = steps.iter().position(|s| s.name == j.step) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((
                    i,
                    Dependency {
                        step: j.step.clone(),
                        reason: format!("id({}, …) at line {}", j.step, j.line),
                    },
                ));
            }
        }
    }
    deps
}
