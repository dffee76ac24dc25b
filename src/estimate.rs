//! PLAN.md's window estimate: how long precheck, migrate, verify and rollback each take, step
//! by step, against the live V1 the model is compiled against.
//!
//! A step's time in a script is what its rows cost there plus what its expensive calls cost:
//!
//! - rows: the rows it writes (its first `from` table's, by V1's statistics; without one, the
//!   rows of every V1 table it reads) at a per-row cost of each script, and the rows of
//!   every V1 table it reads at a per-row cost of reading them. Both were calibrated on real
//!   runs (the figures below) and are scaled by how fast this server runs a fixed probe
//!   query now, against how fast the calibration's server ran it;
//! - the transform library's calls, at a calibrated cost per call site and row;
//! - bcrypt (`_pgmig.new_password_hash(cost)`), whose cost no statistics tell: timed on the
//!   server itself, on a few hashes of a constant at cost 6, doubled for each step of cost
//!   above it (bcrypt's work is 2^cost). Migrate hashes once per row and column, precheck
//!   once in each constraint test of the column; verify and rollback never hash.
//!
//! What compile runs on V1 for this (PLAN.md says it): one `READ ONLY` transaction under a
//! `statement_timeout`, holding the probe and the hashes of a constant. Never the model's
//! expressions (a volatile one may write or call out: it is not run), never a row of V1.

use crate::plan::estimate::{ScriptSeconds, StepEstimate, Window};
use crate::plan::{Plan, Step};

/// Per written row, seconds each script spends on a step (its statements over that row,
/// the id map, the checks): fitted to `pgmig-bench --estimate` on the bench's durable cluster
/// (fsync and synchronous_commit on, as in production), workout at scales 10 and 100
/// (106,000 and 1,060,000 written rows) and school at 10, on 2 cores shared with other
/// builds (load 14 to 18), PostgreSQL 15. The test cluster's fsync off made an earlier fit
/// 2.5 to 5 times too low.
const WRITE_SECONDS_PER_ROW: ScriptSeconds = ScriptSeconds {
    precheck: 64.0e-6,
    migrate: 300.0e-6,
    verify: 84.0e-6,
    rollback: 108.0e-6,
};

/// Per row of every V1 table a step reads (joins, groups), seconds each script spends.
const READ_SECONDS_PER_ROW: ScriptSeconds = ScriptSeconds {
    precheck: 16.0e-6,
    migrate: 30.0e-6,
    verify: 21.0e-6,
    rollback: 0.0,
};

/// What a script costs whatever the rows: its session setup, the library and bookkeeping
/// schema, the catalog and privilege checks (the same runs).
const FIXED_SECONDS: ScriptSeconds = ScriptSeconds {
    precheck: 1.0,
    migrate: 1.5,
    verify: 1.0,
    rollback: 2.0,
};

/// Per row and call site of a transform library function (`_pgmig.split_name(…)`, …: plain
/// SQL and PL/pgSQL over regular expressions, far dearer than a column copy), seconds each
/// script spends: measured on the school model at scale 10 (15,200 calls a script), where
/// verify recomputes each call once, precheck about twice (its tests of V2's constraints and
/// uniques recompute the columns) and migrate once plus its repairs.
const LIBRARY_CALL_SECONDS: ScriptSeconds = ScriptSeconds {
    precheck: 5.8e-3,
    migrate: 3.0e-3,
    verify: 2.9e-3,
    rollback: 0.0,
};

/// One bcrypt hash at cost 6 on the calibration's server, used when pgcrypto can't be timed.
const BCRYPT_COST_6_SECONDS: f64 = 13.0e-3;

/// The probe: a fixed amount of hashing and aggregation, no table read. The calibration's
/// server ran it in [`PROBE_SECONDS`] (median of [`PROBE_RUNS`]).
const PROBE: &str =
    "SELECT count(DISTINCT pg_catalog.md5(i::text)) FROM pg_catalog.generate_series(1, 5000) AS i";
const PROBE_SECONDS: f64 = 0.043;

/// Runs of the probe; their median is the server's speed now (a single run under a moment's
/// load said 0.64× and 1.51× within ten minutes on the shared bench machine).
pub const PROBE_RUNS: usize = 5;

/// Hashes of a constant timed at cost 6, each on its own and between the probe's runs (about
/// 30 ms in all), once per compile whatever the number of hashing steps and columns: their
/// median is a hash's cost (the mean of 8 in one statement took a load spike for the cost).
pub const BCRYPT_SAMPLE: i32 = 8;

/// Every statement compile runs on V1 for the estimate is stopped past this (PLAN.md names it).
pub const STATEMENT_TIMEOUT_MS: u32 = 2000;

/// What compile measures on V1: the server's speed, and bcrypt's cost when a step hashes.
#[derive(Debug, Clone, Copy)]
pub struct Measurements {
    pub speed: f64,
    pub bcrypt_cost_6: Option<f64>,
}

/// Times the probe ([`PROBE_RUNS`] runs, the median) and, when a step hashes and pgcrypto is
/// installed, [`BCRYPT_SAMPLE`] hashes of a constant one by one between them (the median): in
/// one read-only transaction, each statement bounded by [`STATEMENT_TIMEOUT_MS`].
pub fn measure(
    client: &mut postgres::Client,
    plan: &Plan,
) -> Result<Measurements, postgres::Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"
    ))?;
    let hash = if plan.steps.iter().any(|s| hashing_columns(s) > 0) {
        // pgcrypto's schema, as the server quotes it: no name reaches the query unquoted.
        let schema: Option<String> = tx
            .query_opt(
                "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e
                   JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
                  WHERE e.extname = 'pgcrypto'",
                &[],
            )?
            .map(|r| r.get(0));
        schema.map(|schema| {
            format!(
                "SELECT {schema}.crypt('pgmig'::pg_catalog.text, {schema}.gen_salt('bf'::pg_catalog.text, 6))"
            )
        })
    } else {
        None
    };
    let hashes = if hash.is_some() {
        BCRYPT_SAMPLE as usize
    } else {
        0
    };
    let (mut probes, mut hash_times) = (Vec::new(), Vec::new());
    for run in 0..PROBE_RUNS.max(hashes) {
        if run < PROBE_RUNS {
            probes.push(timed(|| tx.query_one(PROBE, &[]))?);
        }
        if let Some(hash) = hash.as_deref().filter(|_| run < hashes) {
            hash_times.push(timed(|| tx.query_one(hash, &[]))?);
        }
    }
    tx.rollback()?;
    Ok(Measurements {
        speed: PROBE_SECONDS / median(probes).unwrap_or(PROBE_SECONDS).max(1e-4),
        bcrypt_cost_6: median(hash_times),
    })
}

/// Seconds `run` took.
fn timed<T>(run: impl FnOnce() -> Result<T, postgres::Error>) -> Result<f64, postgres::Error> {
    let started = std::time::Instant::now();
    run()?;
    Ok(started.elapsed().as_secs_f64())
}

/// The middle value (the upper one of an even count); `None` for none.
fn median(mut seconds: Vec<f64>) -> Option<f64> {
    seconds.sort_by(f64::total_cmp);
    seconds.get(seconds.len() / 2).copied()
}

/// Puts each step's estimate, and the window's, into the plan: from its sizes (set by
/// [`crate::stats::annotate`]) and what [`measure`] found.
pub fn annotate(
    plan: &mut Plan,
    table_rows: impl Fn(&crate::catalog::QualName) -> Option<i64>,
    measured: Measurements,
) {
    let slower = 1.0 / measured.speed;
    let mut total = FIXED_SECONDS.scaled(slower);
    let mut hashes_any = false;
    for step in &mut plan.steps {
        let rows_read: i64 = step.reads.iter().filter_map(&table_rows).sum();
        let rows = step.source_size.map_or(rows_read, |s| s.rows);
        let hashes = rows * hashing_columns(step);
        hashes_any |= hashes > 0;
        let per_hash = match measured.bcrypt_cost_6 {
            Some(s) => s,
            None => BCRYPT_COST_6_SECONDS * slower,
        };
        let hashing: f64 = bcrypt_costs(step)
            .map(|cost| rows as f64 * per_hash * 2f64.powi(cost as i32 - 6))
            .sum();
        let seconds = WRITE_SECONDS_PER_ROW
            .scaled(rows as f64 * slower)
            .plus(READ_SECONDS_PER_ROW.scaled(rows_read as f64 * slower))
            .plus(LIBRARY_CALL_SECONDS.scaled((rows * library_calls(step)) as f64 * slower))
            .plus(ScriptSeconds {
                migrate: hashing,
                precheck: hashing * precheck_hashes(step) as f64,
                ..ScriptSeconds::default()
            });
        total = total.plus(seconds);
        step.estimate = Some(StepEstimate {
            rows,
            rows_read,
            hashes,
            seconds,
        });
    }
    plan.window = Some(Window {
        total,
        speed: measured.speed,
        bcrypt_measured: measured.bcrypt_cost_6.filter(|_| hashes_any),
        hashes: hashes_any,
    });
}

/// The bcrypt cost of each column the step fills with a fresh hash.
fn bcrypt_costs(step: &Step) -> impl Iterator<Item = u32> + '_ {
    step.columns
        .iter()
        .filter_map(|c| c.fresh.as_ref()?.bcrypt_cost)
}

/// How many times precheck hashes a row of each hashing column: once in each test of V2's
/// constraints that recomputes the column (its NOT NULL, its CHECKs).
fn precheck_hashes(step: &Step) -> i64 {
    step.columns
        .iter()
        .filter_map(|c| Some((c, c.fresh.as_ref()?)))
        .filter(|(_, f)| f.bcrypt_cost.is_some())
        .map(|(c, f)| {
            i64::from(c.not_null)
                + step
                    .checks
                    .iter()
                    .filter(|t| t.test.contains(&f.call))
                    .count() as i64
        })
        .sum::<i64>()
        .max(1)
}

/// The call sites of the transform library in a step's `from` and columns (bcrypt's apart):
/// `_pgmig.` and a name called (the id maps are `_pgmig.map_<step>`, never called).
fn library_calls(step: &Step) -> i64 {
    std::iter::once(step.from.as_str())
        .chain(step.columns.iter().map(|c| c.expr.as_str()))
        .flat_map(|sql| {
            sql.match_indices("_pgmig.")
                .map(move |(at, _)| &sql[at + 7..])
        })
        .filter(|after| {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            after[name.len()..].starts_with('(') && name != "new_password_hash"
        })
        .count() as i64
}

fn hashing_columns(step: &Step) -> i64 {
    bcrypt_costs(step).count() as i64
}

/// Seconds as PLAN.md shows an estimate: two significant figures, in s, min or h.
pub fn approx(secs: f64) -> String {
    if secs < 0.1 {
        "< 0.1 s".into()
    } else if secs < 10.0 {
        format!("{secs:.1} s")
    } else if secs < 60.0 {
        format!("{secs:.0} s")
    } else if secs < 3600.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_of_load_does_not_move_the_median() {
        // Eight hashes, two of them during a load spike.
        let hashes = vec![
            4.1e-3, 3.9e-3, 21.0e-3, 4.0e-3, 4.3e-3, 19.5e-3, 4.2e-3, 4.0e-3,
        ];
        assert_eq!(median(hashes), Some(4.2e-3));
        assert_eq!(median(vec![0.05, 0.04, 0.30]), Some(0.05));
        assert_eq!(median(Vec::new()), None);
    }
}
