//! `pgmig run migrate --jobs N` on the batched workout model: N sessions copy each step's
//! batches, and the result is the one of a single session, killed and resumed or not; the
//! batch-copying procedure is safe to run from several psql sessions beside migrate.sql.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::pgmig_cli;
use crate::support::scripts::{count, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::workout_db;
use crate::support::TestDb;

/// Every table of V2 and of `_pgmig` by content: `<rows>:<md5 of its rows ordered>`, each row
/// without what differs between any two runs: uuid columns (the weeks' and days' fresh
/// keys), and in `_pgmig` the log's ids and the bookkeeping's timestamps; the id maps by
/// their batches' sizes. workout_sessions is compared by what its days stand for.
fn contents(db: &TestDb) -> BTreeMap<String, String> {
    let mut client = db.client();
    let tables: Vec<(String, Vec<String>)> = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname),
                    coalesce(array_agg(a.attname::text ORDER BY a.attnum)
                               FILTER (WHERE a.atttypid = 'uuid'::regtype
                                          OR (n.nspname = '_pgmig' AND (a.atttypid = 'timestamptz'::regtype
                                                                        OR (c.relname = 'log' AND a.attname = 'id')))),
                             '{}')
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE n.nspname IN ('public', '_pgmig') AND c.relkind IN ('r', 'p')
              GROUP BY 1 ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = BTreeMap::new();
    for (table, left_out) in tables {
        // An id map's keys are uuids (V1's, or fresh ones): compared by its batches' sizes.
        if table.starts_with("_pgmig.map_") {
            let row = client
                .query_one(
                    &format!(
                        "SELECT count(*)::text || ':' || coalesce(string_agg(n::text, ',' ORDER BY batch), '-')
                           FROM (SELECT batch, count(*) AS n FROM {table} GROUP BY batch) AS b"
                    ),
                    &[],
                )
                .unwrap();
            out.insert(table, row.get::<_, String>(0));
            continue;
        }
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || coalesce(md5(string_agg((to_jsonb(t) - $1::text[])::text, E'\\n'
                                                                          ORDER BY (to_jsonb(t) - $1::text[])::text)), '-')
                       FROM {table} t"
                ),
                &[&left_out],
            )
            .unwrap();
        out.insert(table, row.get::<_, String>(0));
    }
    let sessions = crate::support::scripts::keyed_md5s(db, USER_SCHEMAS);
    out.insert(
        "public.workout_sessions (by day)".into(),
        sessions["public.workout_sessions"].clone(),
    );
    out
}

fn pgmig_migrate(db_url: &str, dir: &std::path::Path, jobs: &str) -> std::process::Output {
    pgmig_cli(&[
        "run",
        "migrate",
        "--jobs",
        jobs,
        "--dir",
        &dir.display().to_string(),
        "--db",
        db_url,
    ])
}

/// One uninterrupted single-session run of the batched model: what every other run must equal.
fn one_session(dir: &std::path::Path) -> BTreeMap<String, String> {
    let db = workout_db("jobs_one");
    let out = pgmig_migrate(&db.url(), dir, "1");
    assert!(out.status.success(), "{}", stderr(&out));
    must_pass(run(&db, dir, "verify.sql", &[]), "verify");
    contents(&db)
}

#[test]
fn two_jobs_give_what_one_gives_and_rollback_is_exact() {
    let dir = crate::support::workout_batched("10");
    let expected = one_session(dir.path());
    let db = workout_db("jobs_two");
    let before = db.table_md5s(USER_SCHEMAS);
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--jobs",
        "2",
        "--json",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(contents(&db), expected);
    // Progress counts every batch once, though two sessions commit them out of order.
    let batch_events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "batch_done")
        .count() as i64;
    assert_eq!(
        batch_events,
        count(&db, "SELECT count(*) FROM _pgmig.batches")
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND (tablename LIKE 'queue\\_%' OR tablename LIKE 'stage\\_%')"
        ),
        0,
        "each step drops its queue and stage when done"
    );
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

/// N = 4 frozen and killed mid-step: the watcher locks `_pgmig.batches` (every batch writes
/// it before it commits) once 30 batches of exercise_logs are in, checks that four sessions
/// are copying, kills the runner (SIGKILL: its helper threads die with it) and terminates
/// the sessions it left. Resumed with N = 4: verified, equal by content to one uninterrupted
/// single-session run, rolled back to V1.
#[test]
fn four_jobs_killed_mid_step_resume_to_the_one_session_result() {
    let dir = crate::support::workout_batched("10");
    let expected = one_session(dir.path());
    let db = workout_db("jobs_kill");
    let before = db.table_md5s(USER_SCHEMAS);
    let url = format!("{} application_name=pgmig-jobs-kill", db.url());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["run", "migrate", "--jobs", "4", "--dir"])
        .arg(dir.path())
        .args(["--db", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut watcher = db.client();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if logs_batches(&mut watcher) >= 30 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exercise_logs did not reach 30 batches"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "migrate ended before exercise_logs reached 30 batches"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    watcher
        .batch_execute("BEGIN; LOCK TABLE _pgmig.batches IN SHARE MODE")
        .unwrap();
    // Frozen: every copying session waits for the lock with its batch claimed (asked from
    // another session: pg_stat_activity stays as first read within the watcher's transaction).
    let mut looker = db.client();
    while count_waiting(&mut looker, "pgmig-jobs-kill") < 4 {
        assert!(
            Instant::now() < deadline,
            "four sessions never waited to write a checkpoint"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let copying: i64 = looker
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'pgmig-jobs-kill'
                AND query LIKE 'CALL _pgmig.batches\\_exercise\\_logs(finish => %'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        copying, 4,
        "the runner's session and three helpers copy batches"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run must be cut short");
    // Their backends wait for the watcher's lock and would not notice the client's death.
    db.terminate("pgmig-jobs-kill");
    db.waits_until_gone("pgmig-jobs-kill");
    watcher.batch_execute("COMMIT").unwrap();
    let done: i64 = count(
        &db,
        "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs'",
    );
    assert!((30..490).contains(&done), "{done} of 490 batches");

    let out = pgmig_migrate(&db.url(), dir.path(), "4");
    assert!(out.status.success(), "resume: {}", stderr(&out));
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify after the kill",
    );
    assert_eq!(contents(&db), expected);
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

/// A batch that breaks a V2 constraint (a V1 log's reps planted at -1: V2 checks
/// reps >= 0) ends a four-session run with exit 1 and the step and batch named, whichever
/// session claimed it; the other sessions are stopped, the batches before it stay
/// committed, and once the row is fixed the resume gives the one-session result.
#[test]
fn a_failing_batch_stops_every_session_and_the_run_resumes() {
    let dir = crate::support::workout_batched("10");
    let expected = one_session(dir.path());
    let db = workout_db("jobs_fail");
    let before = db.table_md5s(USER_SCHEMAS);
    let planted = "(SELECT id FROM v1.exercise_logs ORDER BY id OFFSET 2000 LIMIT 1)";
    let reps: Option<i32> = db
        .client()
        .query_one(
            &format!("SELECT reps FROM v1.exercise_logs WHERE id = {planted}"),
            &[],
        )
        .unwrap()
        .get(0);
    db.execute(&format!(
        "UPDATE v1.exercise_logs SET reps = -1 WHERE id = {planted}"
    ));

    let out = pgmig_migrate(&db.url(), dir.path(), "4");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let named = "step exercise_logs (model.yaml:137) failed in batch ";
    let at = err.find(named).unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains("exercise_logs_reps_check"),
        "the database's reason: {err}"
    );
    let failed: i64 = err[at + named.len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a batch number: {err}"));
    assert!(
        !err.contains("canceling statement"),
        "the cause is reported, not the other sessions' cancellation: {err}"
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs' AND batch = {}",
                failed - 1
            )
        ),
        0,
        "batch {failed} is not committed"
    );
    let done = count(
        &db,
        "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs'",
    );
    assert!(
        done < 489,
        "the other sessions stopped: {done} of 490 batches"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ),
        0,
        "no session of the run is left"
    );

    let value = reps.map_or("NULL".to_string(), |r| r.to_string());
    db.execute(&format!(
        "UPDATE v1.exercise_logs SET reps = {value} WHERE id = {planted}"
    ));
    let out = pgmig_migrate(&db.url(), dir.path(), "4");
    assert!(out.status.success(), "resume: {}", stderr(&out));
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify after the failure",
    );
    assert_eq!(contents(&db), expected);
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

/// What README tells a DBA who runs the scripts with psql: while migrate.sql copies a step's
/// batches, other psql sessions call the step's batch procedure and copy batches too.
#[test]
fn psql_sessions_join_a_running_migrate() {
    let dir = crate::support::workout_batched("10");
    let expected = one_session(dir.path());
    let db = workout_db("jobs_psql");
    // Without a run under way the procedure copies nothing (it exists once migrate began).
    let mut main = db.spawn_psql_file(&dir.path().join("migrate.sql"), "pgmig-jobs-psql");
    let mut watcher = db.client();
    let deadline = Instant::now() + Duration::from_secs(300);
    while logs_batches(&mut watcher) < 1 {
        assert!(Instant::now() < deadline && main.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(5));
    }
    // Freeze the run, start two helpers, let all three go.
    watcher
        .batch_execute("BEGIN; LOCK TABLE _pgmig.batches IN SHARE MODE")
        .unwrap();
    let helpers: Vec<_> = (0..2)
        .map(|_| {
            db.psql_cmd()
                .env("PGAPPNAME", "pgmig-jobs-psql-helper")
                .arg("-c")
                .arg("CALL _pgmig.batches_exercise_logs(finish => false)")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Both helpers in: each claimed a batch and waits to write its checkpoint.
    let mut looker = db.client();
    while count_waiting(&mut looker, "pgmig-jobs-psql-helper") < 2 {
        assert!(
            Instant::now() < deadline,
            "the helpers never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    watcher.batch_execute("COMMIT").unwrap();
    // Each helper's NOTICEs are read while it runs: an unread pipe fills and stops it.
    let outputs: Vec<_> = helpers
        .into_iter()
        .map(|h| std::thread::spawn(move || h.wait_with_output().unwrap()))
        .collect();
    for h in outputs {
        let out = h.join().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("step 6/6 exercise_logs: batch "),
            "each helper copied batches: {err}"
        );
    }
    assert!(main.wait().unwrap().success(), "migrate.sql");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    // The runner records the script's sha256 in the log rows; psql leaves it NULL.
    let (mut got, mut expected) = (contents(&db), expected);
    assert!(got.remove("_pgmig.log").is_some() && expected.remove("_pgmig.log").is_some());
    assert_eq!(got, expected);
    // After the run: nothing to join, said so.
    let late = db
        .psql_cmd()
        .arg("-c")
        .arg("CALL _pgmig.batches_exercise_logs(finish => false)")
        .output()
        .unwrap();
    assert!(!late.status.success());
    assert!(
        stderr(&late).contains("no pgmig run holds the lock on this database"),
        "{}",
        stderr(&late)
    );
}

/// Sessions of the current database named `app` that wait for a lock.
fn count_waiting(client: &mut postgres::Client, app: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'",
            &[&app],
        )
        .unwrap()
        .get(0)
}

/// Committed batches of exercise_logs (0 before the bookkeeping exists).
fn logs_batches(client: &mut postgres::Client) -> i64 {
    let exists: bool = client
        .query_one("SELECT to_regclass('_pgmig.batches') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return 0;
    }
    client
        .query_one(
            "SELECT count(*) FROM _pgmig.batches WHERE step = 'exercise_logs'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn jobs_outside_batched_migrate_are_refused() {
    let db = workout_db("jobs_refused");
    let models = crate::support::repo_root().join("models/workout");
    let dir = crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );
    let out = pgmig_migrate(&db.url(), dir.path(), "2");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--jobs: migrate.sql copies no batches"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM public.workout_plans"), 0);
}
