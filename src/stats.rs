//! Planner statistics of a live V1 (row estimates and sizes from pg_class), for PLAN.md.
//! The compiler reads the catalog, not the rows: only a small table never analyzed is
//! counted, where a count costs less than PLAN.md being wrong about it.

use std::collections::BTreeMap;

use crate::catalog::QualName;
use crate::plan::{Plan, TableSize};

/// Rows per second an in-place swap scans or indexes (each re-created key, index and validated
/// CHECK, and each SET NOT NULL, passes over its table once): measured on the uuid model at
/// scale 20 (120,000 rows), 360,000 row passes in 0.32 s on 2 shared cores (README.md). A
/// rough figure for PLAN.md's window estimate: the DBA's hardware decides.
pub const SWAP_ROWS_PER_SECOND: i64 = 1_000_000;

/// Rows per second an in-place fill converts (batches of 1,000, each committed): the same
/// run filled 120,000 rows in 11.7 s.
pub const FILL_ROWS_PER_SECOND: i64 = 10_000;

/// A table never analyzed this small (main fork, bytes) is counted rather than estimated.
const COUNT_BELOW_BYTES: i64 = 8 << 20;

/// Estimated rows and total bytes of every table in `schema`, its inheritance children and
/// partitions included (a step's `FROM t` reads their rows too).
pub fn table_sizes(
    client: &mut postgres::Client,
    schema: &str,
) -> Result<BTreeMap<QualName, TableSize>, postgres::Error> {
    // Every table of the schema with each relation of its inheritance tree, itself included.
    let rows = client.query(
        "WITH RECURSIVE tree (root, rel) AS (
           SELECT c.oid, c.oid
             FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
           UNION
           SELECT tree.root, i.inhrelid FROM tree JOIN pg_catalog.pg_inherits i ON i.inhparent = tree.rel
         )
         SELECT root.relname::text, pg_catalog.format('%I.%I', n.nspname, c.relname), c.relkind = 'p',
                c.reltuples::float8, c.relpages::float8,
                pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::float8,
                pg_catalog.pg_relation_size(c.oid), pg_catalog.pg_total_relation_size(c.oid)
           FROM tree
           JOIN pg_catalog.pg_class root ON root.oid = tree.root
           JOIN pg_catalog.pg_class c ON c.oid = tree.rel
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          ORDER BY 1, 2",
        &[&schema],
    )?;
    let mut own_rows: BTreeMap<String, i64> = BTreeMap::new();
    let mut sizes: BTreeMap<QualName, TableSize> = BTreeMap::new();
    for r in &rows {
        let root: String = r.get(0);
        let relation: String = r.get(1);
        let rows = match own_rows.get(&relation) {
            Some(n) => *n,
            None => {
                let stats = Relation {
                    partitioned: r.get(2),
                    reltuples: r.get(3),
                    relpages: r.get(4),
                    pages: r.get(5),
                    bytes: r.get(6),
                };
                let n = stats.rows(client, &relation)?;
                own_rows.insert(relation, n);
                n
            }
        };
        let size = sizes
            .entry(QualName::new(schema, root))
            .or_insert(TableSize { rows: 0, bytes: 0 });
        size.rows += rows;
        size.bytes += r.get::<_, i64>(7);
    }
    Ok(sizes)
}

/// What pg_class says of one relation, and its size now.
struct Relation {
    partitioned: bool,
    reltuples: f64,
    relpages: f64,
    pages: f64,
    bytes: i64,
}

impl Relation {
    /// Rows of the relation alone (`ONLY`), as the planner would count on them: the density
    /// of its last ANALYZE or VACUUM times its pages now. With no density to go by (never
    /// analyzed: `reltuples = -1`), a small table is counted and a big one gets the
    /// planner's own guess from its pages and row width. A partitioned table holds none.
    fn rows(&self, client: &mut postgres::Client, relation: &str) -> Result<i64, postgres::Error> {
        if self.partitioned {
            return Ok(0);
        }
        if self.reltuples >= 0.0 && self.relpages > 0.0 {
            return Ok((self.reltuples / self.relpages * self.pages).round() as i64);
        }
        // `relation` is format('%I.%I') from the server: quoted as PostgreSQL quotes names.
        if self.bytes < COUNT_BELOW_BYTES {
            return Ok(client
                .query_one(
                    format!("SELECT count(*) FROM ONLY {relation}").as_str(),
                    &[],
                )?
                .get(0));
        }
        let plan: String = client
            .query_one(
                format!("EXPLAIN SELECT 1 FROM ONLY {relation}").as_str(),
                &[],
            )?
            .get(0);
        Ok(plan
            .split(" rows=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|r| r.parse().ok())
            .unwrap_or(0))
    }
}

/// Puts each step's source table size into the plan.
pub fn annotate(plan: &mut Plan, sizes: &BTreeMap<QualName, TableSize>) {
    for step in &mut plan.steps {
        step.source_size = step
            .source_table
            .as_ref()
            .and_then(|t| sizes.get(t))
            .copied();
    }
}

/// Steps whose `where` keeps (by the planner's estimate) no row of a V1 table that has
/// rows: suspicious, but legal. Steps reading id maps are skipped (the maps don't exist yet).
/// EXPLAIN reads statistics, not rows.
pub fn empty_filters(client: &mut postgres::Client, plan: &Plan) -> Vec<(String, usize, i64)> {
    let mut found = Vec::new();
    for step in &plan.steps {
        let (Some(filter), Some(size)) = (&step.filter, step.source_size) else {
            continue;
        };
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
            .and_then(|line| {
                line.split(" rows=")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<f64>()
                    .ok()
            });
        if estimate.is_some_and(|rows| rows <= 1.0) {
            found.push((step.name.clone(), filter.line, size.rows));
        }
    }
    found
}
