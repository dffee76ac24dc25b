//! A self-referencing step's rows in hierarchy order, as SQL: each row with its depth under
//! the foreign key to its own table (0: no parent among the step's rows; NULL: the row is its
//! own ancestor, in a cycle or under one). Batched migrate numbers its batches by depth (the
//! rows of its stage, `staged_rows`),
//! per-entity migrate orders its entities by it, precheck counts the rows without one.
//! (A recursive CTE over the rows rescanned them at every level: 105,000 rows with a chain
//! 5,000 deep took minutes; one indexed UPDATE per level takes seconds.)

use askama::Template;

use crate::emit::filters;

use crate::plan::Hierarchy;

#[derive(Debug, Clone)]
pub struct HierarchyView {
    /// The foreign key's name, raw: templates write it through `comment` and `notice`.
    pub constraint: String,
    /// The foreign key's columns, for PLAN.md and comments: `manager_id`.
    pub columns: String,
    /// `CREATE TEMPORARY TABLE pg_temp.hierarchy_rows AS …`: the rows `WHERE condition` with
    /// the carried columns, their key and parent, and `hierarchy_depth` (NULL until `levels`
    /// sets it): the step's source keys (precheck), its entities (per-entity migrate).
    pub precheck: String,
    pub entities: String,
    /// PL/pgSQL statements setting `hierarchy_depth`, one set-based UPDATE per level (variable
    /// `hierarchy_level bigint`): indexed, so each level costs its own rows, however deep.
    pub levels: String,
}

/// The rows to order, with their own key and their parent's, in a table of the session.
#[derive(Template)]
#[template(path = "hierarchy_rows.sql")]
struct Rows<'a> {
    carry: Carry<'a>,
    key_exprs: &'a [String],
    parent_exprs: &'a [String],
    from: RowsFrom<'a>,
    condition: Condition<'a>,
}

/// What each row carries besides its key and its parent's.
pub(super) enum Carry<'a> {
    /// Precheck: the source row's key, as text.
    SourceKey(&'a str),
    /// Per-entity migrate: the row's entity.
    Entity(&'a str),
    /// Batched migrate: the step's key columns as its stage holds them (value, column name).
    StagedKey(Vec<(String, &'a str)>),
}

/// Where the rows are read.
pub(super) enum RowsFrom<'a> {
    /// The step's `FROM` clause.
    Source(&'a str),
    /// Batched migrate's stage table, whose values are already V2's.
    Stage(&'a str),
}

/// Which rows.
pub(super) enum Condition<'a> {
    /// Precheck: the rows migrate inserts whose conversions all succeed (`cast_guard`).
    Survivors {
        survivors: &'a str,
        cast_guard: &'a str,
    },
    /// Per-entity migrate: the root's candidate entities.
    Kept(&'a str),
    /// Batched migrate: the stage's rows that migrate.
    StagedMigrating,
}

/// Depth 0: no parent, its own parent, or a parent that is not among the rows (in V2 already,
/// or missing: precheck's foreign key finding says so). Then level by level, the children of
/// the last level. A row never reached is its own ancestor; the loop ends when a level is
/// empty, so it ends on any data (at most one level per row).
#[derive(Template)]
#[template(path = "hierarchy_levels.sql")]
struct Levels {
    /// The foreign key's columns: `hierarchy_key_1` … `hierarchy_key_n` of a row, and
    /// `hierarchy_parent_1` … of its parent.
    n: usize,
}

impl HierarchyView {
    /// `survivors` are the rows migrate inserts, `kept` the root's candidate entities
    /// (rejected ones included: their rule is recorded entity by entity).
    pub(super) fn new(
        h: &Hierarchy,
        from: &str,
        survivors: &str,
        kept: &str,
        source_key: &str,
        entity: &str,
        cast_guard: &str,
    ) -> Result<HierarchyView, askama::Error> {
        let rows = |carry, condition| {
            Rows {
                carry,
                key_exprs: &h.key_exprs,
                parent_exprs: &h.parent_exprs,
                from: RowsFrom::Source(from),
                condition,
            }
            .render()
        };
        Ok(HierarchyView {
            constraint: h.constraint.clone(),
            columns: h.columns.join(", "),
            precheck: rows(
                Carry::SourceKey(source_key),
                Condition::Survivors {
                    survivors,
                    cast_guard,
                },
            )?,
            entities: rows(Carry::Entity(entity), Condition::Kept(kept))?,
            levels: Levels {
                n: h.key_exprs.len(),
            }
            .render()?,
        })
    }
}

/// Batched migrate's rows in hierarchy order come from its stage (step/batch_stage.rs):
/// `key` is the step's key columns as the stage holds them, `key_exprs` and `parent_exprs`
/// the stage's values of the referenced columns and of the foreign key's.
pub(super) fn staged_rows(
    key: Vec<(String, &str)>,
    key_exprs: &[String],
    parent_exprs: &[String],
    stage_table: &str,
) -> Result<String, askama::Error> {
    Rows {
        carry: Carry::StagedKey(key),
        key_exprs,
        parent_exprs,
        from: RowsFrom::Stage(stage_table),
        condition: Condition::StagedMigrating,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::{staged_rows, HierarchyView};
    use crate::plan::Hierarchy;

    /// The statements as the templates write them, byte for byte as they were built in Rust
    /// before (a two-column key: lists and conditions joined).
    #[test]
    fn rows_and_levels_are_laid_out_as_before() {
        let h = Hierarchy {
            constraint: "fk".into(),
            columns: vec!["a_id".into(), "b_id".into()],
            parent_exprs: vec!["s.pa".into(), "s.pb".into()],
            key_exprs: vec!["s.a".into(), "s.b".into()],
        };
        let view = HierarchyView::new(
            &h,
            "FROM v1.t AS s\n       JOIN v1.u AS u ON true",
            "true",
            "kept",
            "src",
            "ent",
            "guard",
        )
        .unwrap();
        assert_eq!(
            staged_rows(
                vec![("stage.a".into(), "a")],
                &h.key_exprs,
                &h.parent_exprs,
                "_pgmig.stage_t"
            )
            .unwrap(),
            "CREATE TEMPORARY TABLE pg_temp.hierarchy_rows AS
SELECT stage.a AS a,
       (s.a) AS hierarchy_key_1,
       (s.b) AS hierarchy_key_2,
       (s.pa) AS hierarchy_parent_1,
       (s.pb) AS hierarchy_parent_2,
       NULL::bigint AS hierarchy_depth
FROM _pgmig.stage_t AS stage
WHERE stage.pgmig_class = 0;"
        );
        assert!(view
            .precheck
            .starts_with("CREATE TEMPORARY TABLE pg_temp.hierarchy_rows AS\nSELECT (src)::text AS hierarchy_source_key,\n"));
        assert!(view.precheck.ends_with("\nWHERE true\n    AND guard;"));
        assert!(view.entities.ends_with("\nWHERE kept;"));
        assert_eq!(
            view.levels,
            "CREATE INDEX ON pg_temp.hierarchy_rows (hierarchy_key_1, hierarchy_key_2);
CREATE INDEX ON pg_temp.hierarchy_rows (hierarchy_parent_1, hierarchy_parent_2);
CREATE INDEX ON pg_temp.hierarchy_rows (hierarchy_depth);
ANALYZE pg_temp.hierarchy_rows;
UPDATE pg_temp.hierarchy_rows AS r SET hierarchy_depth = 0
WHERE r.hierarchy_parent_1 IS NULL OR r.hierarchy_parent_2 IS NULL
   OR (r.hierarchy_parent_1 = r.hierarchy_key_1 AND r.hierarchy_parent_2 = r.hierarchy_key_2)
   OR NOT EXISTS (SELECT 1 FROM pg_temp.hierarchy_rows AS p WHERE p.hierarchy_key_1 = r.hierarchy_parent_1 AND p.hierarchy_key_2 = r.hierarchy_parent_2);
hierarchy_level := 0;
LOOP
  UPDATE pg_temp.hierarchy_rows AS r SET hierarchy_depth = hierarchy_level + 1
  FROM pg_temp.hierarchy_rows AS p
  WHERE p.hierarchy_depth = hierarchy_level
    AND r.hierarchy_parent_1 = p.hierarchy_key_1 AND r.hierarchy_parent_2 = p.hierarchy_key_2
    AND r.hierarchy_depth IS NULL;
  EXIT WHEN NOT FOUND;
  hierarchy_level := hierarchy_level + 1;
END LOOP;"
        );
    }
}
