//! `--entities`: the subset's names as the scripts' guards and bookkeeping use them.

use super::lit;
use crate::catalog::QualName;
use crate::check::{names, BOOKKEEPING_SCHEMA, PRECHECK_SCHEMA};
use crate::plan::Plan;

/// A subset of the model's steps, as the scripts' guards and bookkeeping name them.
#[derive(Debug, Clone)]
pub struct SubsetView {
    pub label: String,
    /// The log row of a migrate of this subset: `(entities: schools,teachers)`.
    pub marker: String,
    /// `('a'), ('b')` rows of: the subset's steps, the steps it needs, the steps that need it,
    /// the model's other steps, and all of them.
    pub steps_values: String,
    pub prerequisites_values: String,
    pub dependents_values: String,
    pub others_values: String,
    pub all_values: String,
    /// `'a', 'b'`: the subset's steps, and the sequences they move.
    pub steps_list: String,
    pub sequences_list: String,
    pub prerequisite_lines: Vec<String>,
    /// The steps it needs, `a, b`.
    pub prerequisites: String,
    /// Precheck: the id maps of the steps it needs, as its steps' lookups name them (in
    /// pg_temp), each with migrate's it is copied from.
    pub prerequisite_maps: Vec<CopiedMap>,
}

/// An id map precheck copies from migrate's.
#[derive(Debug, Clone)]
pub struct CopiedMap {
    pub map: String,
    pub from: String,
}

impl SubsetView {
    pub(super) fn new(u: &crate::plan::Subset, plan: &Plan) -> SubsetView {
        let values = |names: &mut dyn Iterator<Item = &String>| {
            names
                .map(|n| format!("({})", lit(n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let included: Vec<&String> = plan.steps.iter().map(|s| &s.name).collect();
        let label = u.entities.join(",");
        SubsetView {
            marker: format!("(entities: {label})"),
            steps_values: values(&mut included.iter().copied()),
            prerequisites_values: values(&mut u.prerequisites.iter().map(|d| &d.step)),
            dependents_values: values(&mut u.dependents.iter()),
            others_values: values(&mut u.all_steps.iter().filter(|s| !included.contains(s))),
            all_values: values(&mut u.all_steps.iter()),
            steps_list: included
                .iter()
                .map(|n| lit(n))
                .collect::<Vec<_>>()
                .join(", "),
            sequences_list: plan
                .steps
                .iter()
                .flat_map(|s| s.sequences.iter().map(|q| lit(&q.sequence.to_string())))
                .collect::<Vec<_>>()
                .join(", "),
            prerequisite_lines: u
                .prerequisites
                .iter()
                .map(|d| format!("{} ({})", d.step, d.reason))
                .collect(),
            prerequisites: u
                .prerequisites
                .iter()
                .map(|d| d.step.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            prerequisite_maps: u
                .prerequisites
                .iter()
                .map(|d| {
                    let name = names::derived("map_", &d.step);
                    CopiedMap {
                        map: QualName::new(PRECHECK_SCHEMA, &name).to_string(),
                        from: QualName::new(BOOKKEEPING_SCHEMA, &name).to_string(),
                    }
                })
                .collect(),
            label,
        }
    }
}
