//! The in-place series: models/uuid migrated in place at several scales while a probe
//! connection queries every changed table every 10 ms, as an application would. Per scale:
//! the swap's ACCESS EXCLUSIVE window, as a watcher connection sees it in pg_locks (sampled
//! every few ms, from the last sample before the lock was granted to the first after its
//! release); the server's durations of the swap's statement and of its COMMIT (logged for the
//! migrate session only), which say more than the lock: PostgreSQL lets the locks go once the
//! commit record is flushed and only then drops the files of the dropped indexes; and the
//! longest a probe query took (what an application statement waited behind migrate's locks),
//! with the whole migrate's time. The window must not grow with the table; the probe's
//! longest wait must stay under lock_timeout.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgmig_testkit::{pg_error_text, Cluster};

/// Rows of models/uuid/sample.sql per unit of scale (500 users, 3,000 journal entries,
/// 1,000 tags, 1,500 reminders).
const ROWS_PER_SCALE: u64 = 6_000;

/// The probe's one statement: a read of every table the swap locks.
const PROBE: &str =
    "SELECT (SELECT 1 FROM public.users LIMIT 1), (SELECT 1 FROM public.journal_entries LIMIT 1), \
                     (SELECT 1 FROM public.tags LIMIT 1), (SELECT 1 FROM public.reminders LIMIT 1)";

/// The watcher's one statement: the server's clock, and whether another session holds ACCESS
/// EXCLUSIVE on one of the tables the swap locks (`{oids}`: theirs, numbers from the server).
const WATCH: &str = "SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()), \
     EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'relation' AND granted \
     AND mode = 'AccessExclusiveLock' AND pid <> pg_catalog.pg_backend_pid() AND relation IN ({oids}))";

/// The lock_timeout migrate runs with (its default).
const LOCK_TIMEOUT_SECS: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct InPlacePoint {
    pub scale: u32,
    pub rows: u64,
    pub migrate_secs: f64,
    /// The swap's ACCESS EXCLUSIVE, as the watcher saw it held (the last time it was).
    pub window_secs: f64,
    /// The longest any ACCESS EXCLUSIVE of migrate's on the tables was held (the fill's
    /// short transactions that add the new columns take it too).
    pub longest_hold_secs: f64,
    /// The swap's statement and its COMMIT, by the server's clock.
    pub statement_secs: f64,
    pub probe_queries: u64,
    pub probe_longest_secs: f64,
}

/// Runs the series on `cluster` (models/uuid in `models_dir`, compiled by `pgmig`).
pub fn run(
    cluster: &Cluster,
    pgmig: &Path,
    models_dir: &Path,
    scales: &[u32],
) -> Result<Vec<InPlacePoint>, String> {
    if scales.is_empty() {
        return Ok(Vec::new());
    }
    let model = models_dir.join("uuid");
    let scripts = cluster.base_dir().join("inplace-uuid");
    super::compile_model(pgmig, &model.join("model.yaml"), &model, &scripts)?;
    let mut pg = cluster.connect("postgres").map_err(|e| pg_error_text(&e))?;
    let mut points = Vec::new();
    for &scale in scales {
        let db = format!("bench_inplace_s{scale}");
        // Two statements: CREATE DATABASE can't run in the one transaction of a batch.
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            pg.batch_execute(&sql)
                .map_err(super::pg_err("create the database"))?;
        }
        eprintln!("bench: in-place series, scale {scale}: loading");
        psql(cluster, &db, &model.join("v1.sql"), &[])?;
        psql(
            cluster,
            &db,
            &model.join("sample.sql"),
            &[("scale", scale.to_string()), ("traps", "0".into())],
        )?;
        let mut c = cluster.connect(&db).map_err(|e| pg_error_text(&e))?;
        for sql in ["VACUUM ANALYZE", "CHECKPOINT"] {
            c.batch_execute(sql).map_err(super::pg_err("vacuum"))?;
        }
        let log_from = std::fs::metadata(cluster.log_path()).map_or(0, |m| m.len() as usize);

        let stop = Arc::new(AtomicBool::new(false));
        let probe = {
            let stop = stop.clone();
            let mut client = cluster.connect(&db).map_err(|e| pg_error_text(&e))?;
            std::thread::spawn(move || -> Result<(u64, f64), String> {
                let (mut n, mut longest) = (0u64, 0f64);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    client
                        .simple_query(PROBE)
                        .map_err(|e| format!("probe: {e}"))?;
                    longest = longest.max(t.elapsed().as_secs_f64());
                    n += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok((n, longest))
            })
        };
        let watcher = {
            let stop = stop.clone();
            let mut client = cluster.connect(&db).map_err(|e| pg_error_text(&e))?;
            let oids: String = client
                .query_one(
                    "SELECT pg_catalog.string_agg(c.oid::text, ', ') FROM pg_catalog.pg_class AS c \
                     WHERE c.oid IN ('public.users'::regclass, 'public.journal_entries'::regclass, \
                                     'public.tags'::regclass, 'public.reminders'::regclass)",
                    &[],
                )
                .map_err(super::pg_err("the tables' oids"))?
                .get(0);
            let watch = WATCH.replace("{oids}", &oids);
            std::thread::spawn(move || -> Result<Vec<f64>, String> {
                let mut holds = Vec::new();
                let (mut free_at, mut held) = (None::<f64>, false);
                while !stop.load(Ordering::Relaxed) {
                    let row = client
                        .query_one(watch.as_str(), &[])
                        .map_err(|e| format!("watcher: {}", pg_error_text(&e)))?;
                    let (now, locked): (f64, bool) = (row.get(0), row.get(1));
                    if locked && !held {
                        held = true;
                    } else if !locked {
                        if let (true, Some(free)) = (held, free_at) {
                            holds.push(now - free);
                        }
                        held = false;
                        free_at = Some(now);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Ok(holds)
            })
        };
        eprintln!("bench: in-place series, scale {scale}: migrate");
        let mut migrate = cluster.psql(&db);
        migrate
            .env("PGOPTIONS", "-c log_min_duration_statement=0")
            .arg("-f")
            .arg(scripts.join("migrate.sql"));
        let t = Instant::now();
        let out = migrate.output().map_err(|e| format!("psql: {e}"));
        let migrate_secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let (probe_queries, probe_longest_secs) = probe
            .join()
            .map_err(|_| "the probe panicked".to_string())??;
        let holds = watcher
            .join()
            .map_err(|_| "the watcher panicked".to_string())??;
        let out = out?;
        if !out.status.success() {
            return Err(format!(
                "migrate at scale {scale}: {}",
                super::tail(&out.stderr, 20)
            ));
        }
        let log = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
        let statement_secs = swap_window(log.get(log_from..).unwrap_or_default())
            .ok_or_else(|| format!("scale {scale}: no swap statement in the server log"))?;
        let window_secs = *holds
            .last()
            .ok_or_else(|| format!("scale {scale}: the watcher never saw the swap's lock"))?;
        points.push(InPlacePoint {
            scale,
            rows: ROWS_PER_SCALE * u64::from(scale),
            migrate_secs,
            window_secs,
            longest_hold_secs: holds.iter().cloned().fold(0.0, f64::max),
            statement_secs,
            probe_queries,
            probe_longest_secs,
        });
        drop(c);
        pg.batch_execute(&format!("DROP DATABASE {db}"))
            .map_err(super::pg_err("drop the database"))?;
    }
    Ok(points)
}

fn psql(cluster: &Cluster, db: &str, file: &Path, vars: &[(&str, String)]) -> Result<(), String> {
    let mut c = cluster.psql(db);
    for (k, v) in vars {
        c.arg("-v").arg(format!("{k}={v}"));
    }
    let out = c
        .arg("-f")
        .arg(file)
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql -f {}: {}",
            file.display(),
            super::tail(&out.stderr, 20)
        ));
    }
    Ok(())
}

/// The swap's window from the server log (`log_min_duration_statement = 0`): the duration
/// of the `DO $swap$` statement (it takes the locks) plus that of the COMMIT after it.
pub fn swap_window(log: &str) -> Option<f64> {
    let duration = |line: &str| -> Option<f64> {
        let ms = line.split("duration: ").nth(1)?.split(" ms").next()?;
        ms.trim().parse::<f64>().ok().map(|ms| ms / 1000.0)
    };
    let mut lines = log.lines();
    let swap = lines.find(|l| l.contains("statement: DO $swap$"))?;
    let commit = lines.find(|l| l.contains("duration: ") && l.contains("statement: COMMIT"))?;
    Some(duration(swap)? + duration(commit)?)
}

/// The series as a Markdown section.
pub fn render(points: &[InPlacePoint]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## In place: models/uuid, the swap's lock window\n");
    let _ = writeln!(
        md,
        "migrate.sql through psql while a probe connection reads every changed table every \
         10 ms. Window: how long migrate's ACCESS EXCLUSIVE on the tables was held at the swap, \
         seen in pg_locks by a watcher connection every few ms (from its last sample before the \
         grant to its first after the release); longest hold: the same for any of migrate's \
         ACCESS EXCLUSIVE (the fill's first transactions add the new columns under it). \
         Statement + COMMIT: the server's durations of the swap's statement and its COMMIT \
         (`log_min_duration_statement = 0` for the migrate session); the COMMIT goes on after \
         the locks are let go, dropping the files of V1's dropped indexes. Longest probe: the \
         slowest probe query, i.e. the longest an application statement waited (lock_timeout \
         {LOCK_TIMEOUT_SECS} s).\n"
    );
    let _ = writeln!(
        md,
        "| scale | rows | migrate | ACCESS EXCLUSIVE window | longest hold | statement + COMMIT | probe queries | longest probe |"
    );
    let _ = writeln!(
        md,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for p in points {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.3} s | {:.3} s | {:.3} s | {} | {:.3} s |",
            p.scale,
            super::thousands(p.rows as f64),
            super::secs(p.migrate_secs),
            p.window_secs,
            p.longest_hold_secs,
            p.statement_secs,
            p.probe_queries,
            p.probe_longest_secs
        );
    }
    let windows: Vec<f64> = points.iter().map(|p| p.window_secs).collect();
    let worst_window = windows.iter().cloned().fold(0.0, f64::max);
    let worst_probe = points
        .iter()
        .map(|p| p.probe_longest_secs)
        .fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "\nTargets: window ≤ 0.2 s at every size ({}: {:.3} s at most); longest probe ≤ \
         lock_timeout ({}: {:.3} s at most).",
        super::met(worst_window <= 0.2),
        worst_window,
        super::met(worst_probe <= LOCK_TIMEOUT_SECS),
        worst_probe
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_swap_and_its_commit() {
        let log = "LOG:  duration: 1.5 ms  statement: SELECT 1\n\
                   LOG:  duration: 41.250 ms  statement: DO $swap$\n\tDECLARE\n\
                   LOG:  duration: 0.5 ms  statement: SELECT 2\n\
                   LOG:  duration: 8.750 ms  statement: COMMIT;\n";
        assert_eq!(swap_window(log), Some(0.05));
        assert_eq!(
            swap_window("LOG:  duration: 1 ms  statement: COMMIT;"),
            None
        );
    }
}
