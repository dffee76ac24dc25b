//! Self-referencing tables: a V2 foreign key from a step's table to itself (a manager is an
//! employee). One statement inserts a row and its parent together, so transaction mode needs
//! nothing; batched and per-entity mode commit rows in parts and must insert parents first.
//! This finds the foreign key and the expressions that give each row its key and its parent,
//! and refuses, in those modes, what they can't order.

use crate::catalog::quote_ident;
use crate::diagnostic::Diagnostic;
use crate::plan::{self, Hierarchy, Mode, Origin};

/// The step's hierarchy, if its table references itself; an error (positioned by the caller)
/// when the mode commits in parts and the rows can't be put in hierarchy order.
pub fn of(step: &plan::Step, mode: &Mode) -> Result<Option<Hierarchy>, Diagnostic> {
    let own: Vec<&plan::ForeignKeyTest> = step
        .foreign_keys
        .iter()
        .filter(|fk| fk.parent == step.target)
        .collect();
    let commits_in_parts = *mode != Mode::Transaction;
    let Some(fk) = own.first() else {
        return Ok(None);
    };
    if own.len() > 1 && commits_in_parts {
        let names: Vec<&str> = own.iter().map(|fk| fk.constraint.as_str()).collect();
        return Err(Diagnostic::error(
            format!("step {}: {} has {} foreign keys to itself ({}); batched and per-entity mode order rows by one hierarchy", step.name, step.target, own.len(), names.join(", ")),
            None,
        )
        .with_hint("use `mode: transaction`: one statement inserts every row and its parents together"));
    }
    // The referenced columns' values, as the step fills them. A fresh key (`key: new`) is made
    // in the id map, and a row's parent is looked up in that same map: neither is known
    // before the map exists, which batched mode numbers in batches as it makes it.
    let new_key = matches!(step.key, plan::Key::New { .. });
    let key_exprs: Option<Vec<String>> = if new_key {
        None
    } else {
        fk.parent_columns
            .iter()
            .map(|pc| {
                step.columns
                    .iter()
                    .find(|c| &quote_ident(&c.name) == pc && c.origin != Origin::NewKey)
                    .map(|c| c.expr.clone())
            })
            .collect()
    };
    match key_exprs {
        Some(key_exprs) => Ok(Some(Hierarchy { constraint: fk.constraint.clone(), columns: fk.columns.clone(), parent_exprs: fk.exprs.clone(), key_exprs })),
        None if commits_in_parts => Err(Diagnostic::error(
            format!(
                "step {}: foreign key {} references {} itself through {} ({}); batched and per-entity mode can't put its rows in hierarchy order",
                step.name,
                fk.constraint,
                step.target,
                if new_key { "keys the step makes (`key: new`)" } else { "columns the step does not copy" },
                fk.parent_columns.join(", ")
            ),
            None,
        )
        .with_hint("copy the referenced key (`key: keep`), or use `mode: transaction`: one statement inserts every row and its parents together")),
        None => Ok(None),
    }
}
