//! A step's `relink_json` rules (check/relink.rs), as precheck counts the objects each rewrites.

use crate::plan::Step;

/// A `relink_json` rule.
#[derive(Debug, Clone)]
pub struct RelinkView {
    pub line: usize,
    pub column: String,
    /// The key under which an element holds the object to relink.
    pub object: String,
    /// The source array, as jsonb SQL.
    pub source: String,
}

impl RelinkView {
    pub(super) fn all(step: &Step) -> Vec<RelinkView> {
        step.relinks
            .iter()
            .map(|r| RelinkView {
                line: r.line,
                column: r.column.clone(),
                object: r.object.clone(),
                source: r.source.clone(),
            })
            .collect()
    }
}
