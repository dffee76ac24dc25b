//! The V2 foreign keys into the filled tables as rollback.sql checks them and PLAN.md lists
//! them: how many rows others wrote reference a migrated row through each, and what
//! deleting that row does to them, and the indexes rollback builds for its deletes.

use super::TableRows;
use crate::catalog::{FkAction, QualName};
use crate::plan::{Key, Plan, Referrer, Step};

#[derive(Debug, Clone)]
pub struct ReferrerView {
    /// The referencing table: the foreign key is its own rows', not its inheritance children's.
    pub table: TableRows,
    pub parent: String,
    pub constraint: String,
    /// The referencing columns, as they are (the templates print them quoted, in
    /// parentheses).
    pub columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, …: the foreign key's ON DELETE action.
    pub action: &'static str,
    /// What deleting a migrated row does to a row of others under it.
    pub effect: &'static str,
    /// NO ACTION or RESTRICT: the delete fails, no flag makes it go through.
    pub blocks: bool,
    /// Which rows of `parent` rollback's deletes reach, for its finding: the migrated ones,
    /// or down a CASCADE chain, the rows of others it deletes with them.
    pub reached: String,
    /// The chain, from the filled table to `table` (`a → b → c`); empty for a direct key.
    pub chain: String,
    /// The rows rollback deletes in the chain's first table (`root`, its migrated rows, found
    /// through the id maps of the steps filling it), as the columns the next foreign key
    /// references; then down the chain, hop by hop, the rows of others CASCADE deletes with
    /// them. templates/referrer.sql nests them into the count of the rows of others under them.
    pub root: TableRows,
    pub root_columns: Vec<String>,
    pub root_maps: Vec<IdMapView>,
    pub hops: Vec<HopView>,
    /// The id maps of the steps filling the referencing table: their rows are rollback's own.
    pub maps: Vec<IdMapView>,
    /// An index of the referencing table leads with the columns.
    pub indexed: bool,
    /// The referencing table is one the steps fill (rollback holds it locked).
    pub filled: bool,
}

impl ReferrerView {
    pub fn new(plan: &Plan, r: &Referrer) -> ReferrerView {
        let steps = &plan.steps;
        let (effect, blocks) = match r.on_delete {
            FkAction::Cascade => ("deleted", false),
            FkAction::SetNull => ("set to NULL", false),
            FkAction::SetDefault => ("set to the column default", false),
            FkAction::NoAction | FkAction::Restrict => ("rollback cannot delete it", true),
        };
        let maps = |table: &QualName| -> Vec<IdMapView> {
            steps
                .iter()
                .filter(|s| &s.target == table)
                .map(|s| IdMapView {
                    map_table: s.map_table.to_string(),
                    key: key_columns(s),
                })
                .collect()
        };
        let hops = r
            .via
            .iter()
            .enumerate()
            .map(|(i, hop)| HopView {
                table: TableRows::of(plan, &hop.table),
                alias: format!("c{}", i + 1),
                columns: hop.columns.clone(),
                referenced: r
                    .via
                    .get(i + 1)
                    .map_or(&r.parent_columns, |h| &h.parent_columns)
                    .clone(),
                maps: maps(&hop.table),
            })
            .collect();
        let chain = if r.via.is_empty() {
            String::new()
        } else {
            r.via
                .iter()
                .map(|h| h.parent.to_string())
                .chain([r.parent.to_string(), r.table.to_string()])
                .collect::<Vec<_>>()
                .join(" → ")
        };
        let reached = if r.via.is_empty() {
            format!("a migrated row of {}", r.parent)
        } else {
            format!(
                "a row of {} that ON DELETE CASCADE deletes with a migrated row ({chain})",
                r.parent
            )
        };
        ReferrerView {
            table: TableRows::of(plan, &r.table),
            parent: r.parent.to_string(),
            constraint: r.constraint.clone(),
            columns: r.columns.clone(),
            action: r.on_delete.sql(),
            effect,
            blocks,
            reached,
            chain,
            root: TableRows::of(plan, r.root()),
            root_columns: r
                .via
                .first()
                .map_or(&r.parent_columns, |h| &h.parent_columns)
                .clone(),
            root_maps: maps(r.root()),
            hops,
            maps: maps(&r.table),
            indexed: r.indexed,
            filled: steps.iter().any(|s| s.target == r.table),
        }
    }
}

/// A step's id map as rollback finds its migrated rows: the map and its key columns, as they are.
#[derive(Debug, Clone)]
pub struct IdMapView {
    pub map_table: String,
    pub key: Vec<String>,
}

/// A CASCADE foreign key down the chain: the rows of its table (over `alias`) under the rows
/// deleted before, as the columns the next key references; its steps' id maps.
#[derive(Debug, Clone)]
pub struct HopView {
    pub table: TableRows,
    pub alias: String,
    pub columns: Vec<String>,
    pub referenced: Vec<String>,
    pub maps: Vec<IdMapView>,
}

/// An index rollback.sql builds on a filled table (each leaf partition of a partitioned one)
/// because a foreign key from it into a filled table has none: each parent row rollback
/// deletes is looked up in the table, and without an index every lookup reads the whole table
/// (dead rows included), while the build reads it once. Rollback holds the table in EXCLUSIVE
/// mode already, so the build's SHARE lock makes no one else wait; after COMMIT the index is
/// dropped CONCURRENTLY (a partitioned index can't be, hence one per leaf). A table the steps
/// do not fill gets none, as its writers would wait for the build: PLAN.md names it instead.
#[derive(Debug, Clone)]
pub struct RollbackIndexView {
    /// The index's name and its table's schema (DROP INDEX qualifies it), and its columns:
    /// names as they are.
    pub name: String,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    /// The foreign key it serves, for the comment.
    pub constraint: String,
}

/// The foreign keys rollback.sql builds an index for, with each leaf table the index goes on,
/// one per leaf table and column list.
pub fn rollback_index_tables<'a>(
    referrers: &'a [Referrer],
    steps: &'a [Step],
) -> impl Iterator<Item = (&'a Referrer, &'a QualName)> {
    let mut seen = std::collections::BTreeSet::new();
    referrers
        .iter()
        .filter(|r| !r.indexed && steps.iter().any(|s| s.target == r.table))
        .flat_map(|r| r.leaf_tables.iter().map(move |leaf| (r, leaf)))
        .filter(move |(r, leaf)| seen.insert(((*leaf).clone(), r.columns.clone())))
}

impl RollbackIndexView {
    pub fn all(referrers: &[Referrer], steps: &[Step]) -> Vec<RollbackIndexView> {
        rollback_index_tables(referrers, steps)
            .map(|(r, leaf)| {
                let name = crate::check::names::derived(
                    "pgmig_rollback_",
                    &format!("{}_{}", leaf.name, r.columns.join("_")),
                );
                RollbackIndexView {
                    name,
                    schema: leaf.schema.clone(),
                    table: leaf.to_string(),
                    columns: r.columns.clone(),
                    constraint: r.constraint.clone(),
                }
            })
            .collect()
    }
}

/// The columns of a step's id map that name its target rows.
fn key_columns(s: &Step) -> Vec<String> {
    match &s.key {
        Key::Keep { columns } => columns.clone(),
        Key::New { column, .. } => vec![column.clone()],
    }
}
