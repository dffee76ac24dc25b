//! Overwrite or create (check/replace.rs): the V2 rows a step replaces, as migrate backs
//! them up and deletes them and rollback restores them. The clauses are templates/step_replace.sql's.

use super::super::TableRows;
use crate::plan::{Plan, Step};

/// Overwrite or create, as migrate backs up and deletes the replaced rows and rollback restores them.
#[derive(Debug, Clone)]
pub struct ReplaceView {
    pub line: usize,
    /// The matching key, for the comments, notices and PLAN.md: quoted names, comma-separated.
    pub key_list: String,
    /// The matching key: the V2 columns and the step's expressions filling them.
    pub key: Vec<ReplaceKeyView>,
    /// Parents first.
    pub tables: Vec<ReplacedView>,
    /// Children first (the delete order).
    pub tables_reversed: Vec<ReplacedView>,
}

/// A column of the matching key.
#[derive(Debug, Clone)]
pub struct ReplaceKeyView {
    /// The V2 column, as it is.
    pub column: String,
    /// The step's expression filling it (over the step's aliases).
    pub expr: String,
    /// A text column: matched lower-cased and trimmed on both sides (see check/replace.rs).
    pub folded: bool,
}

#[derive(Debug, Clone)]
pub struct ReplacedView {
    pub table: TableRows,
    pub backup: String,
    /// Its primary key's columns, as they are: which backed-up row is which.
    pub primary_key: Vec<String>,
    /// The backups of tables replaced before it that it references, each with its foreign key's
    /// (column here, parent column) pairs; none for the step's table, matched by key instead.
    pub parents: Vec<ReplacedParentView>,
    pub overriding: bool,
}

#[derive(Debug, Clone)]
pub struct ReplacedParentView {
    pub backup: String,
    pub columns: Vec<(String, String)>,
}

/// A backup of replaced rows as the seals see it (templates/seal.sql): migrate seals it, verify
/// checks it, rollback refuses to restore from it once changed.
#[derive(Debug, Clone)]
pub struct SealedBackupView {
    pub backup: String,
    /// Its subject in `_pgmig.seals`.
    pub subject: String,
}

impl SealedBackupView {
    /// Every backup of `steps`' replaced rows, in step order, parents first.
    pub fn all(steps: &[super::StepView]) -> Vec<SealedBackupView> {
        steps
            .iter()
            .flat_map(|s| s.replace.iter().flat_map(|x| &x.tables))
            .map(|t| SealedBackupView {
                backup: t.backup.clone(),
                subject: format!("backup {}", t.backup),
            })
            .collect()
    }
}

impl ReplaceView {
    pub(super) fn new(plan: &Plan, step: &Step) -> Option<ReplaceView> {
        let r = step.replace.as_ref()?;
        let tables: Vec<ReplacedView> = r
            .tables
            .iter()
            .map(|t| ReplacedView {
                table: TableRows::of(plan, &t.table),
                backup: t.backup.to_string(),
                primary_key: t.primary_key.clone(),
                parents: t
                    .parents
                    .iter()
                    .map(|(backup, columns)| ReplacedParentView {
                        backup: backup.to_string(),
                        columns: columns.clone(),
                    })
                    .collect(),
                overriding: t.overriding,
            })
            .collect();
        Some(ReplaceView {
            line: r.line,
            key_list: r
                .columns
                .iter()
                .map(|c| crate::catalog::quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            key: r
                .columns
                .iter()
                .zip(&r.exprs)
                .zip(&r.folded)
                .map(|((column, expr), folded)| ReplaceKeyView {
                    column: column.clone(),
                    expr: expr.clone(),
                    folded: *folded,
                })
                .collect(),
            tables_reversed: tables.iter().rev().cloned().collect(),
            tables,
        })
    }
}
