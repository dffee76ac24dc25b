//! The V2 foreign keys into the filled tables as rollback.sql checks them and PLAN.md lists
//! them: how many rows others wrote reference a migrated row through each, and what
//! deleting that row does to them.

use super::lit;
use crate::catalog::{quote_ident, FkAction};
use crate::plan::{Key, Referrer, Step};

#[derive(Debug, Clone)]
pub struct ReferrerView {
    /// The referencing table, as SQL names it.
    pub table: String,
    pub table_lit: String,
    pub parent: String,
    pub parent_lit: String,
    pub constraint: String,
    pub constraint_lit: String,
    /// `(plan_id)`: the referencing columns, quoted as SQL names them.
    pub columns: String,
    /// `CASCADE`, `SET NULL`, …: the foreign key's ON DELETE action.
    pub action: &'static str,
    /// What deleting a migrated row does to a row of others under it.
    pub effect: &'static str,
    /// NO ACTION or RESTRICT: the delete fails, no flag makes it go through.
    pub blocks: bool,
    /// `FROM … WHERE …`: the rows of the referencing table that reference a migrated row
    /// and that no step of this model wrote.
    pub others: String,
}

impl ReferrerView {
    pub fn new(r: &Referrer, steps: &[Step]) -> ReferrerView {
        let (effect, blocks) = match r.on_delete {
            FkAction::Cascade => ("deleted", false),
            FkAction::SetNull => ("set to NULL", false),
            FkAction::SetDefault => ("set to the column default", false),
            FkAction::NoAction | FkAction::Restrict => ("rollback cannot delete it", true),
        };
        let list = |alias: &str, columns: &[String]| {
            columns
                .iter()
                .map(|c| format!("{alias}.{}", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let made_here = |s: &Step, alias: &str| {
            key_columns(s)
                .iter()
                .map(|k| format!("{alias}.{0} = mapped.{0}", quote_ident(k)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let migrated_parents = steps
            .iter()
            .filter(|s| s.target == r.parent)
            .map(|s| {
                format!(
                    "SELECT {} FROM {} AS t JOIN {} AS mapped ON {} WHERE mapped.pgmig_wave >= undo_from",
                    list("t", &r.parent_columns),
                    r.parent,
                    s.map_table,
                    made_here(s, "t")
                )
            })
            .collect::<Vec<_>>()
            .join("\n      UNION ALL ");
        let mut others = format!(
            "FROM {} AS c\n  WHERE ({}) IN ({migrated_parents})",
            r.table,
            list("c", &r.columns)
        );
        for s in steps.iter().filter(|s| s.target == r.table) {
            others.push_str(&format!(
                "\n    AND NOT EXISTS (SELECT 1 FROM {} AS mapped WHERE {})",
                s.map_table,
                made_here(s, "c")
            ));
        }
        ReferrerView {
            table: r.table.to_string(),
            table_lit: lit(&r.table.to_string()),
            parent: r.parent.to_string(),
            parent_lit: lit(&r.parent.to_string()),
            constraint: r.constraint.clone(),
            constraint_lit: lit(&r.constraint),
            columns: format!(
                "({})",
                r.columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            action: r.on_delete.sql(),
            effect,
            blocks,
            others,
        }
    }
}

/// The columns of a step's id map that name its target rows.
fn key_columns(s: &Step) -> Vec<String> {
    match &s.key {
        Key::Keep { columns } => columns.clone(),
        Key::New { column, .. } => vec![column.clone()],
    }
}
