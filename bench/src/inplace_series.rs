//! The in-place series: models/uuid migrated in place at several scales while a probe
//! connection queries every changed table every 10 ms, as an application would. Per scale:
//! the swap's ACCESS EXCLUSIVE window (the server's duration of the swap's statement and of
//! its COMMIT, logged for the migrate session only: from before the first LOCK to COMMIT)
//! and the longest a probe query took (what an application statement waited behind
//! migrate's locks), with the whole migrate's time. The window must not grow with the
//! table; the probe's longest wait must stay under lock_timeout.

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

/// The lock_timeout migrate runs with (its default).
const LOCK_TIMEOUT_SECS: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct InPlacePoint {
    pub scale: u32,
    pub rows: u64,
    pub migrate_secs: f64,
    /// The swap's statement and its COMMIT, by the server's clock.
    pub window_secs: f64,
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
        let out = out?;
        if !out.status.success() {
            return Err(format!(
                "migrate at scale {scale}: {}",
                super::tail(&out.stderr, 20)
            ));
        }
        let log = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
        let window_secs = swap_window(log.get(log_from..).unwrap_or_default())
            .ok_or_else(|| format!("scale {scale}: no swap statement in the server log"))?;
        points.push(InPlacePoint {
            scale,
            rows: ROWS_PER_SCALE * u64::from(scale),
            migrate_secs,
            window_secs,
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
         10 ms. Window: the server's durations of the swap's statement (from before its first \
         LOCK) and its COMMIT (`log_min_duration_statement = 0` for the migrate session). \
         Longest probe: the slowest probe query, i.e. the longest an application statement \
         waited (lock_timeout {LOCK_TIMEOUT_SECS} s).\n"
    );
    let _ = writeln!(
        md,
        "| scale | rows | migrate | ACCESS EXCLUSIVE window | probe queries | longest probe |"
    );
    let _ = writeln!(md, "| ---: | ---: | ---: | ---: | ---: | ---: |");
    for p in points {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.3} s | {} | {:.3} s |",
            p.scale,
            super::thousands(p.rows as f64),
            super::secs(p.migrate_secs),
            p.window_secs,
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
