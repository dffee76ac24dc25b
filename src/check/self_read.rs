//! V1 must really be V1: a step reading the very table the model writes would read V2's rows
//! (the ones being inserted, or rows that were never V1's) as its source.
//!
//! With V1 and V2 in one schema of one database (`source` and `target` both `public`, no
//! `server`), `INSERT INTO public.users … FROM public.users` reads and writes one table. That
//! is refused; V1 tables renamed aside in the same schema (`users_v1`, as the in-place guide
//! does) are other tables and stay allowed, and so is an in-place model (`in_place: true`).

use std::collections::BTreeSet;

use crate::catalog::QualName;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{pos_of, Model};
use crate::plan;

/// One error per step reading a table that a step of the model fills, pointing at its `from`.
pub fn check(
    model: &Model,
    steps: &[plan::Step],
    read_schema: &str,
    target_schema: &str,
    diags: &mut Diagnostics,
) {
    // On another server (or another schema) V1's names can't be V2's tables.
    if model.source_server().is_some() || read_schema != target_schema {
        return;
    }
    let written: BTreeSet<&QualName> = steps.iter().map(|s| &s.target).collect();
    for s in steps {
        let Some(table) = s.reads.iter().find(|t| written.contains(t)) else {
            continue;
        };
        let step = &s.name;
        let at = model
            .tables
            .iter()
            .find(|(name, _)| name.as_str() == s.name)
            .and_then(|(_, step)| pos_of(&step.from));
        diags.push(
            Diagnostic::error(
                format!("step {step} reads `{table}`, which this model fills: V1 and V2 are one schema (`{target_schema}`) of one database here, so the step would read V2's rows as V1's"),
                at,
            )
            .with_hint("give V1 its own schema (`source: {schema: v1}`), or rename V1's tables aside (`users_v1`) and read those, or write an in-place model (`in_place: true`)"),
        );
    }
}
