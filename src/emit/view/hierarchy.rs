//! A self-referencing step's rows in hierarchy order, as SQL: each row with its depth under
//! the foreign key to its own table (0: no parent among the step's rows; NULL: the row is its
//! own ancestor, in a cycle or under one). Batched migrate numbers its batches by depth,
//! per-entity migrate orders its entities by it, precheck counts the rows without one.

use super::{comment_text, notice_text, INDENT};
use crate::plan::Hierarchy;

#[derive(Debug, Clone)]
pub struct HierarchyView {
    pub constraint: String,
    pub constraint_notice: String,
    /// The foreign key's columns, for PLAN.md and comments: `manager_id`.
    pub columns: String,
    /// `WITH RECURSIVE …` ending in `hierarchy_order`, the rows `WHERE condition` with the
    /// carried columns and `hierarchy_depth`: the step's keys (batched migrate's id map), its
    /// source keys (precheck), its entities (per-entity migrate).
    pub batched: String,
    pub precheck: String,
    pub entities: String,
}

impl HierarchyView {
    /// `key_select` names the step's key columns; `survivors` are the rows migrate inserts,
    /// `kept` the root's candidate entities (rejected ones included: their rule is recorded
    /// entity by entity).
    pub(super) fn new(h: &Hierarchy, from: &str, survivors: &str, kept: &str, key_select: &str, source_key: &str, entity: &str, cast_guard: &str) -> HierarchyView {
        HierarchyView {
            constraint: comment_text(&h.constraint),
            constraint_notice: notice_text(&h.constraint),
            columns: h.columns.join(", "),
            batched: ctes(h, key_select, from, survivors),
            precheck: ctes(h, &format!("({source_key})::text AS hierarchy_source_key"), from, &format!("{survivors}\n{INDENT}  AND {cast_guard}")),
            entities: ctes(h, &format!("({entity}) AS entity"), from, kept),
        }
    }
}

/// The recursive walk from the rows without a parent among them down to their children.
/// A row that is its own parent is a top (one statement inserts it); a parent that is not
/// among the rows is in V2 already, or missing (precheck's foreign key finding says so).
/// The depth bound stops the walk on duplicate keys, which precheck and the primary key refuse.
fn ctes(h: &Hierarchy, carry: &str, from: &str, condition: &str) -> String {
    let n = h.key_exprs.len();
    let key = |i: usize| format!("hierarchy_key_{i}");
    let parent = |i: usize| format!("hierarchy_parent_{i}");
    let select: Vec<String> = (0..n)
        .map(|i| format!("({}) AS {}", h.key_exprs[i], key(i + 1)))
        .chain((0..n).map(|i| format!("({}) AS {}", h.parent_exprs[i], parent(i + 1))))
        .collect();
    let all = |a: &str, b: &str, f: &dyn Fn(usize) -> String, g: &dyn Fn(usize) -> String| {
        (1..=n).map(|i| format!("{a}.{} = {b}.{}", f(i), g(i))).collect::<Vec<_>>().join(" AND ")
    };
    let no_parent = (1..=n).map(|i| format!("r.{} IS NULL", parent(i))).collect::<Vec<_>>().join(" OR ");
    let own_parent = all("r", "r", &parent, &key);
    let parent_here = all("p", "r", &key, &parent);
    let child_of = all("r", "h", &parent, &key);
    let keys = (1..=n).map(|i| format!("r.{}", key(i))).collect::<Vec<_>>().join(", ");
    format!(
        "WITH RECURSIVE hierarchy_rows AS MATERIALIZED (
  SELECT {carry},
         row_number() OVER () AS hierarchy_row,
         {select}
  {from}
  WHERE {condition}
), hierarchy AS (
  SELECT r.hierarchy_row, {keys}, 0 AS depth
  FROM hierarchy_rows AS r
  WHERE {no_parent}
     OR ({own_parent})
     OR NOT EXISTS (SELECT 1 FROM hierarchy_rows AS p WHERE {parent_here})
  UNION ALL
  SELECT r.hierarchy_row, {keys}, h.depth + 1
  FROM hierarchy AS h
  JOIN hierarchy_rows AS r ON {child_of}
  WHERE NOT coalesce({own_parent}, false)
    AND h.depth < (SELECT count(*) FROM hierarchy_rows)
), hierarchy_order AS (
  SELECT r.*, d.hierarchy_depth
  FROM hierarchy_rows AS r
  LEFT JOIN (SELECT hierarchy_row, max(depth) AS hierarchy_depth FROM hierarchy GROUP BY hierarchy_row) AS d USING (hierarchy_row)
)",
        select = select.join(&format!(",\n{INDENT}       ")),
    )
}
