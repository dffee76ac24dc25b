//! Load order: a topological sort of the steps by V2's foreign keys and `id()` lookups.

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::plan::{self, Dependency};

use super::lookup::IdJoin;

/// Sorts step indexes so each step runs after the ones it depends on; ties keep model order.
pub fn sort(deps: &[Vec<(usize, Dependency)>], names: &[String]) -> Result<Vec<usize>, Diagnostic> {
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
                return Err(Diagnostic::error(format!("the steps depend on each other in a cycle: {}", stuck.join("; ")), None)
                    .with_hint("a cycle of foreign keys needs one of them filled by a later UPDATE, which pgmig does not do yet"));
            }
        }
    }
    Ok(order)
}

/// Dependencies of one step: V2 foreign keys to other steps' tables, and id() lookups.
pub fn dependencies(step: &plan::Step, joins: &[IdJoin], steps: &[plan::Step], v2: &Catalog) -> Vec<(usize, Dependency)> {
    let mut deps = Vec::new();
    for fk in v2.foreign_keys_of(&step.target) {
        for i in (0..steps.len()).filter(|&i| steps[i].target == fk.references && steps[i].name != step.name) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((i, Dependency { step: steps[i].name.clone(), reason: format!("foreign key {} ({})", fk.name, fk.columns.join(", ")) }));
            }
        }
    }
    for j in joins.iter().filter(|j| j.kind == "id") {
        if let Some(i) = steps.iter().position(|s| s.name == j.step) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((i, Dependency { step: j.step.clone(), reason: format!("id({}, …) at line {}", j.step, j.line) }));
            }
        }
    }
    deps
}
