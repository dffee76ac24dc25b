//! `--entities`: the subset's names as the scripts' guards and bookkeeping use them.

use crate::catalog::QualName;
use crate::check::{names, BOOKKEEPING_SCHEMA, PRECHECK_SCHEMA};
use crate::plan::Plan;

/// A subset of the model's steps, as the scripts' guards and bookkeeping name them.
#[derive(Debug, Clone)]
pub struct SubsetView {
    pub label: String,
    /// The log row of a migrate of this subset: `(entities: schools,teachers)`.
    pub marker: String,
    /// Step names: the subset's, those it needs, those that need it, the model's others, and
    /// all of them; and the sequences its steps move (templates/literal_lists.sql makes them
    /// literals).
    pub steps: Vec<String>,
    pub prerequisite_steps: Vec<String>,
    pub dependents: Vec<String>,
    pub others: Vec<String>,
    pub all_steps: Vec<String>,
    pub sequences: Vec<String>,
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
        let included: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
        let label = u.entities.join(",");
        SubsetView {
            marker: format!("(entities: {label})"),
            prerequisite_steps: u.prerequisites.iter().map(|d| d.step.clone()).collect(),
            dependents: u.dependents.clone(),
            others: (u.all_steps.iter())
                .filter(|s| !included.contains(s))
                .cloned()
                .collect(),
            all_steps: u.all_steps.clone(),
            sequences: (plan.steps.iter())
                .flat_map(|s| s.sequences.iter().map(|q| q.sequence.to_string()))
                .collect(),
            steps: included,
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
