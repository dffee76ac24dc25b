//! Batched mode's work queue (`pgmig run migrate --jobs N`, run/workers.rs): the procedure
//! that copies a step's staged batches, the table its sessions claim them from, and the
//! earlier steps it must wait for before it may run beside others.

use crate::catalog::QualName;
use crate::check::names::derived;
use crate::check::BOOKKEEPING_SCHEMA;
use crate::plan::Plan;
use crate::step_contract::batches_call;

#[derive(Debug, Clone)]
pub struct JobsView {
    /// `_pgmig.batches_<step>(finish)`: copies the staged batches, one transaction each;
    /// several sessions may run it at once, each claiming batches from `queue_table`.
    pub batches_procedure: String,
    /// migrate.sql's own call of `batches_procedure`, the one that closes the step.
    pub finish_call: String,
    /// `_pgmig.queue_<step>`: one row per batch not yet committed.
    pub queue_table: String,
    /// The earlier steps whose committed rows this step needs (model order), for the runner.
    pub prerequisites: Vec<String>,
}

impl JobsView {
    /// The view of the step at `index` in `plan`.
    pub(super) fn new(plan: &Plan, index: usize) -> JobsView {
        let step = &plan.steps[index];
        let bookkept = |prefix: &str| {
            QualName::new(BOOKKEEPING_SCHEMA, derived(prefix, &step.name)).to_string()
        };
        let batches_procedure = bookkept("batches_");
        JobsView {
            finish_call: batches_call(&batches_procedure, true),
            batches_procedure,
            queue_table: bookkept("queue_"),
            prerequisites: prerequisites(plan, index),
        }
    }
}

/// The earlier steps the step at `index` must wait for: those it depends on (the id maps it
/// joins, the parents its foreign keys point to, the V2 tables it reads: `Step::after`), those
/// writing the same table (keys, repairs of duplicates), and those drawing from a sequence
/// it draws from. A step that replaces rows or relinks other tables' references waits for
/// every earlier step: what it touches reaches beyond its own table.
fn prerequisites(plan: &Plan, index: usize) -> Vec<String> {
    let step = &plan.steps[index];
    let earlier = &plan.steps[..index];
    let reaches_beyond = step.replace.is_some() || !step.relinks.is_empty();
    let sequences = |s: &crate::plan::Step| -> Vec<String> {
        s.sequences.iter().map(|q| q.sequence.to_string()).collect()
    };
    let own_sequences = sequences(step);
    earlier
        .iter()
        .filter(|e| {
            reaches_beyond
                || e.replace.is_some()
                || !e.relinks.is_empty()
                || e.target == step.target
                || step.after.iter().any(|d| d.step == e.name)
                || sequences(e).iter().any(|q| own_sequences.contains(q))
        })
        .map(|e| e.name.clone())
        .collect()
}
