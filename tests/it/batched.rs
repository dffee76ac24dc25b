//! Batched mode on the workout model: same result as one transaction, resumable after the
//! backend is killed at any moment, and undone by rollback from any point.

use std::time::Duration;

use crate::support::pgmig_cli;
use crate::support::scripts::{count, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::{workout_db, workout_db_in};
use crate::support::{crashable_cluster, repo_root, TestDb};

/// Tables whose keys migrate copies: equal content means the same migration, whatever the
/// fresh uuids of the generated weeks and days (sessions' days compared by what they stand for).
const KEPT: &[&str] = &[
    "public.workout_plans",
    "public.workout_sessions",
    "public.exercise_logs",
];

/// Batches of the kill tests: small enough for hundreds of batches (322: 5 of plans, 26 of
/// weeks, 96 of days, 47 of exercises, 25 of sessions, 123 of logs), few enough that the
/// guard each batch runs first does not make the test minutes long.
const SMALL_BATCHES: &str = "40";

/// The workout model in batched mode, compiled into a fresh directory.
fn compiled_batched(size: &str) -> tempfile::TempDir {
    crate::support::workout_batched(size)
}

fn kept(db: &TestDb) -> Vec<Option<String>> {
    let all = crate::support::scripts::keyed_md5s(db, USER_SCHEMAS);
    KEPT.iter().map(|t| all.get(*t).cloned()).collect()
}

/// What one uninterrupted transaction-mode migrate gives.
fn reference() -> Vec<Option<String>> {
    let db = workout_db("batch_ref");
    let models = repo_root().join("models/workout");
    let dir = crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    kept(&db)
}

#[test]
fn batched_migrate_commits_per_batch_and_equals_one_transaction() {
    let db = workout_db("batch_plain");
    let dir = compiled_batched("50");
    let notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "batched migrate");
    assert!(
        notices.contains("step 6/6 exercise_logs: batch 98 of 98"),
        "{notices}"
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(kept(&db), reference());
    let batches = count(
        &db,
        "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs'",
    );
    assert_eq!(batches, 98, "4,900 logs in batches of 50");
    // Run again once finished: refused, nothing changes.
    let again = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(
        !again.status.success() && stderr(&again).contains("already migrated"),
        "{}",
        stderr(&again)
    );
    // -v batch_size overrides the model's size.
    let other = workout_db("batch_var");
    must_pass(
        run(&other, dir.path(), "migrate.sql", &[("batch_size", "1000")]),
        "batch_size=1000",
    );
    assert_eq!(
        count(
            &other,
            "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs'"
        ),
        5
    );
    assert_eq!(kept(&other), kept(&db));
    assert_eq!(
        count(&db, STAGES_LEFT),
        0,
        "each step drops its stage when done"
    );
}

/// Staging tables still in the database.
const STAGES_LEFT: &str =
    "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'stage\\_%'";

/// A crash of the server empties every UNLOGGED table, the stage of the step under way
/// included: the rerun stages the batches left again. The server is really crashed
/// (`pg_ctl stop -m immediate`, then crash recovery), on a cluster of its own.
#[test]
fn a_stage_emptied_by_a_crash_is_staged_again_on_resume() {
    let expected = reference();
    let dir = compiled_batched(SMALL_BATCHES);
    let cluster = crashable_cluster();
    let stage_of = |db: &TestDb| -> Vec<String> {
        let sql = "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'stage\\_%'";
        db.client()
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    // A kill can fall between two steps, or before a stage is filled: try other points.
    let (db, stage) = [100i64, 15, 250]
        .into_iter()
        .enumerate()
        .map(|(i, batches)| {
            let db = workout_db_in(cluster, &format!("batch_crash{i}"));
            assert!(
                db.migrate_until_batches(
                    &dir.path().join("migrate.sql"),
                    "pgmig-kill-test",
                    batches
                ),
                "the run must be cut short"
            );
            let stages = stage_of(&db);
            assert!(
                stages.len() <= 1,
                "only the step under way has a stage: {stages:?}"
            );
            (db, stages)
        })
        .find_map(|(db, stages)| {
            let stage = stages.into_iter().next()?;
            (count(&db, &format!("SELECT count(*) FROM {stage}")) > 0).then_some((db, stage))
        })
        .expect("one of the kills falls inside a step, its stage filled");
    cluster.crash_and_restart();
    assert_eq!(
        count(&db, &format!("SELECT count(*) FROM {stage}")),
        0,
        "crash recovery empties the UNLOGGED stage"
    );
    let resumed = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "resumed migrate");
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        &format!("verify after the crash:\n{resumed}"),
    );
    assert_eq!(kept(&db), expected);
    assert_eq!(count(&db, STAGES_LEFT), 0);
}

#[test]
fn a_bad_batch_size_is_refused() {
    let db = workout_db("batch_zero");
    let dir = compiled_batched("50");
    let out = run(&db, dir.path(), "migrate.sql", &[("batch_size", "0")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("batch_size must be a positive whole number"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM public.workout_plans"), 0);
    let dry = run(&db, dir.path(), "migrate.sql", &[("dry_run", "1")]);
    assert!(
        !dry.status.success() && stderr(&dry).contains("a batched migration commits as it goes"),
        "{}",
        stderr(&dry)
    );
}

#[test]
fn a_killed_batched_run_resumes_to_exactly_the_uninterrupted_state() {
    let expected = reference();
    let dir = compiled_batched(SMALL_BATCHES);
    let mut cut = 0;
    // Kill points by committed batches: before the first, in the plans, in the days, in the
    // logs.
    for (i, batches) in [0i64, 2, 100, 250].into_iter().enumerate() {
        let db = workout_db(&format!("batch_kill{i}"));
        let was_cut =
            db.migrate_until_batches(&dir.path().join("migrate.sql"), "pgmig-kill-test", batches);
        cut += was_cut as i32;
        // A run that finished before the kill is complete: running it again is refused.
        let resumed = if was_cut {
            must_pass(run(&db, dir.path(), "migrate.sql", &[]), "resumed migrate")
        } else {
            String::new()
        };
        must_pass(
            run(&db, dir.path(), "verify.sql", &[]),
            &format!("verify after a kill after {batches} batches:\n{resumed}"),
        );
        assert_eq!(kept(&db), expected, "kill after {batches} batches");
        let dupes = count(
            &db,
            "SELECT count(*) - count(DISTINCT (step, batch)) FROM _pgmig.batches",
        );
        assert_eq!(dupes, 0);
    }
    assert!(
        cut >= 3,
        "at least three of the runs must really have been interrupted (were {cut})"
    );
}

#[test]
fn rollback_undoes_a_batched_run_stopped_part_way() {
    let db = workout_db("batch_partial");
    let dir = compiled_batched(SMALL_BATCHES);
    let before = db.table_md5s(USER_SCHEMAS);
    assert!(
        db.migrate_until_batches(&dir.path().join("migrate.sql"), "pgmig-kill-test", 75),
        "the run must be cut short"
    );
    assert!(
        count(&db, "SELECT count(*) FROM _pgmig.batches") > 0,
        "some batches were committed before the kill"
    );
    must_pass(
        run(&db, dir.path(), "rollback.sql", &[]),
        "rollback of a partial run",
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
    assert_eq!(
        count(&db, STAGES_LEFT),
        0,
        "rollback drops the stage of the step it stopped in"
    );
    // And the model migrates cleanly afterwards, through pgmig run.
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

/// The runner killed with SIGKILL part way (its backend then fails on its next notice and
/// rolls back the open batch): run again, it ends exactly as an uninterrupted run.
#[test]
fn a_sigkilled_runner_resumes_to_the_uninterrupted_state() {
    let expected = reference();
    let dir = compiled_batched(SMALL_BATCHES);
    let db = workout_db("batch_sigkill");
    let app = "pgmig-sigkill";
    let url = format!("{} application_name={app}", db.url());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args([
            "run",
            "migrate",
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches are committed, then kill the runner outright.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut watcher = db.client();
    loop {
        let exists: bool = watcher
            .query_one("SELECT to_regclass('_pgmig.batches') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        let n: i64 = if exists {
            watcher
                .query_one("SELECT count(*) FROM _pgmig.batches", &[])
                .unwrap()
                .get(0)
        } else {
            0
        };
        if n >= 20 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The orphaned backend ends (its open batch rolled back) at its next notice: resume after.
    db.waits_until_gone(app);
    let done: i64 = watcher
        .query_one("SELECT count(*) FROM _pgmig.log WHERE step = '(all)'", &[])
        .unwrap()
        .get(0);
    assert_eq!(done, 0, "the run must have been cut short");
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert!(out.status.success(), "resume: {}", stderr(&out));
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify after SIGKILL",
    );
    assert_eq!(kept(&db), expected);
}

/// Issue 17: a batched step reads its source once, into its stage, which the counts, the
/// reject rule, the id map and the batches read. Before, the counts, the rule, the id map and
/// the stage each read V1: migrate scanned `v1.items` 9 times here, the seal's included (4
/// sequential scans, 5 by index).
#[test]
fn a_batched_step_reads_its_source_once() {
    let v1 = "CREATE TABLE items (id integer PRIMARY KEY, name text, broken boolean NOT NULL);\n";
    let v2 = "CREATE TABLE items (id integer PRIMARY KEY, name text, broken boolean NOT NULL);\n";
    let model = "name: reads\nsource: { schema: v1 }\ntarget: { schema: public }\nmode: { batched: { size: 2 } }\ntables:\n  items:\n    from: items i\n    where: i.id > 1\n    reject:\n      - when: i.broken\n        reason: broken\n    key: keep\n";
    let (_dir, out) = crate::support::compile_texts(v1, v2, model);
    let db = crate::support::cluster().create_db("batch_reads");
    db.execute(&format!(
        "CREATE SCHEMA v1; SET search_path = v1; {v1} \
         INSERT INTO v1.items SELECT n, 'item ' || n, n = 3 FROM generate_series(1, 7) AS n; \
         SET search_path = public; {v2}"
    ));
    // A backend's statistics reach pg_stat_user_tables when it exits: each count waits for
    // every other session of the database to have ended.
    let others = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db.name()
    );
    let scans = || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while count(&db, &others) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "a session never ended"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        count(
            &db,
            "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relid = 'v1.items'::regclass",
        )
    };
    let before = scans();
    let notices = must_pass(run(&db, &out, "migrate.sql", &[]), "batched migrate");
    assert!(
        notices.contains("step 1/1 items: 7 source rows, 1 filtered, 1 rejected, 5 migrated")
            && notices.contains("batch 3 of 3"),
        "{notices}"
    );
    assert_eq!(
        scans() - before,
        2,
        "the step's source is read once, and once more for the seal verify checks V1 against"
    );
}
