//! Batched mode's work queue (`pgmig run migrate --jobs N`, run/workers.rs): the procedure
//! that copies a step's staged batches, and the table its sessions claim them from.

use crate::catalog::quote_ident;
use crate::check::names::derived;
use crate::plan::Step;

#[derive(Debug, Clone)]
pub struct JobsView {
    /// `_pgmig.batches_<step>(finish)`: copies the staged batches, one transaction each;
    /// several sessions may run it at once, each claiming batches from `queue_table`.
    pub batches_procedure: String,
    /// `_pgmig.queue_<step>`: one row per batch not yet committed.
    pub queue_table: String,
}

impl JobsView {
    pub(super) fn new(step: &Step) -> JobsView {
        JobsView {
            batches_procedure: format!("_pgmig.{}", quote_ident(&derived("batches_", &step.name))),
            queue_table: format!("_pgmig.{}", quote_ident(&derived("queue_", &step.name))),
        }
    }
}
