//! Planner statistics of a live V1 (row estimates and sizes from pg_class), for PLAN.md.
//! The compiler reads the catalog, never the rows.

use std::collections::BTreeMap;

use crate::catalog::QualName;
use crate::plan::{Plan, TableSize};

/// V2 rows per second of a generated migrate as the benchmark measured it (workout model,
/// scale 100, 2 cores: 49,059; bench/results/20261123-1930-scale-1-10-100.md), used to
/// estimate the window. A rough figure: the DBA's hardware and V2's indexes decide.
pub const MIGRATE_ROWS_PER_SECOND: i64 = 50_000;

/// Estimated rows (`reltuples`, or the row count when never analyzed) and total bytes of
/// every table in `schema`.
pub fn table_sizes(client: &mut postgres::Client, schema: &str) -> Result<BTreeMap<QualName, TableSize>, postgres::Error> {
    let rows = client.query(
        "SELECT c.relname::text,
                greatest(c.reltuples, 0)::bigint,
                pg_catalog.pg_total_relation_size(c.oid)
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
        &[&schema],
    )?;
    Ok(rows
        .iter()
        .map(|r| (QualName::new(schema, r.get::<_, String>(0)), TableSize { rows: r.get(1), bytes: r.get(2) }))
        .collect())
}

/// Puts each step's source table size into the plan.
pub fn annotate(plan: &mut Plan, sizes: &BTreeMap<QualName, TableSize>) {
    for step in &mut plan.steps {
        step.source_size = step.source_table.as_ref().and_then(|t| sizes.get(t)).copied();
    }
}

/// Steps whose `where` keeps (by the planner's estimate) no row of a V1 table that has
/// rows: suspicious, but legal. Steps reading id maps are skipped (the maps don't exist yet).
/// EXPLAIN reads statistics, not rows.
pub fn empty_filters(client: &mut postgres::Client, plan: &Plan) -> Vec<(String, usize, i64)> {
    let mut found = Vec::new();
    for step in &plan.steps {
        let (Some(filter), Some(size)) = (&step.filter, step.source_size) else { continue };
        if size.rows < 100 || step.from.contains("_pgmig.") || filter.sql.contains("id_") {
            continue;
        }
        // The plan's top line: `… (cost=… rows=N width=…)`. The text is the model's own SQL,
        // parsed and printed by the checker (not values): it can't be a `$1` parameter.
        let sql = format!("EXPLAIN SELECT 1 FROM {} WHERE {}", step.from, filter.sql);
        let estimate = client
            .query(sql.as_str(), &[])
            .ok()
            .and_then(|rows| rows.first().and_then(|r| r.try_get::<_, String>(0).ok()))
            .and_then(|line| line.split(" rows=").nth(1)?.split(' ').next()?.parse::<f64>().ok());
        if estimate.is_some_and(|rows| rows <= 1.0) {
            found.push((step.name.clone(), filter.line, size.rows));
        }
    }
    found
}
