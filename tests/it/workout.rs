//! The workout model end to end on a real PostgreSQL: precheck, migrate, verify, a tampered
//! row, rollback, re-migrate, dry run, and `pgmig run` against psql.

use std::collections::BTreeMap;

use crate::support::scripts::{count, keyed_md5s, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::{compiled, remote_v1, workout_db};
use crate::support::{pgmig_cli, repo_root, TestDb};

fn ids(db: &TestDb, sql: &str) -> std::collections::BTreeSet<String> {
    db.client()
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// `REJECT  step rule N "…": COUNT rows` lines of precheck, as (step, rule) → count.
fn reject_counts(notices: &str) -> BTreeMap<(String, u32), i64> {
    let mut out = BTreeMap::new();
    for line in notices.lines() {
        let Some(rest) = line.split("REJECT  ").nth(1) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let step = words.next().unwrap().to_string();
        let rule: u32 = words.nth(1).unwrap().parse().unwrap();
        let n: i64 = rest
            .split("\": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        out.insert((step, rule), n);
    }
    out
}

#[test]
fn precheck_lists_exactly_the_planted_bad_rows() {
    let db = workout_db("wk_precheck");
    let dir = compiled();
    let before = db.table_md5s(USER_SCHEMAS);
    let notices = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    let found = reject_counts(&notices);
    // The seed's own data-quality queries, written independently of the model.
    let expected = BTreeMap::from([
        (("workout_plans".into(), 1), count(&db, "SELECT count(*) FROM v1.workout_plans WHERE user_id IS NULL")),
        (
            ("exercises".into(), 1),
            count(&db, "SELECT count(*) FROM v1.exercises e WHERE NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)"),
        ),
        (
            ("exercises".into(), 2),
            count(&db, "SELECT count(*) FROM v1.exercises e WHERE (e.sets <= 0 OR e.reps_min <= 0 OR e.weight < 0) AND EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)"),
        ),
    ]);
    for (k, n) in &expected {
        assert!(*n > 0, "the sample data must plant {k:?}");
        assert_eq!(
            found.get(k),
            Some(n),
            "precheck count for {k:?}; notices:\n{notices}"
        );
    }
    // The sample keys precheck shows are the planted rows themselves.
    let null_users = ids(
        &db,
        "SELECT id::text FROM v1.workout_plans WHERE user_id IS NULL",
    );
    let orphans = ids(&db, "SELECT id::text FROM v1.exercises e WHERE NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)");
    for (needle, planted) in [
        ("workout_plans rule 1 ", &null_users),
        ("exercises rule 1 ", &orphans),
    ] {
        let line = notices.lines().find(|l| l.contains(needle)).unwrap();
        let samples: Vec<&str> = line.split("\"id\": \"").skip(1).map(|s| &s[..36]).collect();
        assert_eq!(samples.len(), planted.len().min(5), "{line}");
        assert!(samples.iter().all(|s| planted.contains(*s)), "{line}");
    }
    // Duplicate (user_id, name) plans are renamed, not rejected: no rule for them.
    assert!(
        !notices.contains("REJECT  workout_plans rule 2"),
        "{notices}"
    );
    // The seed's check #5 (sessions started over 24 hours ago, never completed), among the
    // sessions that migrate: a warning with the count and sample keys, not a reject.
    let stale = ids(
        &db,
        "SELECT s.id::text FROM v1.workout_sessions s JOIN v1.workout_plans p ON p.id = s.plan_id
          WHERE s.started_at IS NOT NULL AND s.completed_at IS NULL
            AND s.started_at < now() - interval '24 hours' AND p.user_id IS NOT NULL",
    );
    assert!(!stale.is_empty(), "the sample must plant stale sessions");
    let line = notices
        .lines()
        .find(|l| l.contains("WARN  workout_sessions warning 1 "))
        .unwrap_or_else(|| panic!("no stale session warning:\n{notices}"));
    assert!(
        line.contains(&format!(": {} rows (migrated), e.g. ", stale.len())),
        "{line}"
    );
    let samples: Vec<&str> = line.split("\"id\": \"").skip(1).map(|s| &s[..36]).collect();
    assert_eq!(samples.len(), 5, "{line}");
    assert!(samples.iter().all(|s| stale.contains(*s)), "{line}");
    assert!(
        notices.contains("precheck: no blocking finding"),
        "{notices}"
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "precheck must not change any table"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig'"
        ),
        0,
        "precheck leaves no bookkeeping"
    );
}

#[test]
fn migrate_verify_tamper_rollback_and_migrate_again() {
    let db = workout_db("wk_cycle");
    let dir = compiled();
    let before = db.table_md5s(USER_SCHEMAS);

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let plans = count(&db, "SELECT count(*) FROM public.workout_plans");
    let expected_plans = count(
        &db,
        "SELECT count(*) FROM v1.workout_plans WHERE user_id IS NOT NULL",
    );
    assert_eq!(
        plans, expected_plans,
        "every plan with a user (duplicate names renamed), none without one"
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(!verify.contains("FAIL"), "{verify}");
    // A session's status comes from a rule reading now(): not comparable, yet checked for
    // what can be (V2 says NOT NULL), and no block runs a query that checks nothing.
    assert!(
        verify.contains("PASS  workout_sessions: status not comparable (not repeatable: a function gives another value on each call); checked: set"),
        "{verify}"
    );
    let script = std::fs::read_to_string(dir.path().join("verify.sql")).unwrap();
    assert!(
        // (The guard's lock on a materialized view or foreign table plans no scan on purpose.)
        !script
            .replace("'SELECT FROM %s WHERE false'", "")
            .contains("WHERE false"),
        "a check of nothing in verify.sql"
    );
    let first = keyed_md5s(&db, &["public"]);

    // Hand-edit one migrated row: verify must fail and name the check.
    db.execute("UPDATE public.exercises SET target_weight = target_weight + 1 WHERE id = (SELECT min(id::text)::uuid FROM public.exercises)");
    let tampered = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        !tampered.status.success(),
        "verify must fail after a hand edit"
    );
    assert!(
        stderr(&tampered).contains("FAIL  exercises: content"),
        "{}",
        stderr(&tampered)
    );

    // The hand-edited row stops rollback; -v modified=delete deletes it as it is now.
    let refused = run(&db, dir.path(), "rollback.sql", &[]);
    assert!(
        !refused.status.success()
            && stderr(&refused).contains("public.exercises: 1 migrated row modified since migrate"),
        "{}",
        stderr(&refused)
    );
    must_pass(
        run(&db, dir.path(), "rollback.sql", &[("modified", "delete")]),
        "rollback",
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "rollback restores every table's content"
    );

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate again");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify again");
    // Same content up to freshly generated keys: compare the tables whose keys are copied.
    let second = keyed_md5s(&db, &["public"]);
    for table in ["public.workout_plans", "public.workout_sessions"] {
        assert_eq!(
            first.get(table),
            second.get(table),
            "{table} after migrate → rollback → migrate"
        );
    }
    let shape = "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (SELECT w.plan_id::text || ':' || w.week_number || ':' || d.day_label || ':' || d.muscle_groups::text AS x FROM public.workout_days d JOIN public.workout_weeks w ON w.id = d.week_id) s";
    let shape_second: String = db.client().query_one(shape, &[]).unwrap().get(0);
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback again");
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate a third time",
    );
    let shape_third: String = db.client().query_one(shape, &[]).unwrap().get(0);
    assert_eq!(
        shape_second, shape_third,
        "weeks and days hang off the same plans with the same labels"
    );
}

/// `-v defer_constraints=on`: the empty targets' foreign keys and secondary indexes are dropped
/// and re-created around each insert; afterwards they are exactly V2's again (validated, not
/// NOT VALID), the content is the plain run's, and rollback still restores every table.
#[test]
fn deferred_constraints_come_back_exactly_and_change_no_row() {
    let db = workout_db("wk_defer");
    let dir = compiled();
    let catalog = |db: &TestDb| -> Vec<String> {
        db.client()
            .query(
                "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
                   FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                 UNION ALL
                 SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
                 ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = db.table_md5s(USER_SCHEMAS);
    let shape_of = |db: &TestDb| keyed_md5s(db, &["public"]);
    let v2_catalog = catalog(&db);
    assert!(
        v2_catalog
            .iter()
            .any(|c| c.contains("FOREIGN KEY") && c.ends_with("true")),
        "V2 has validated foreign keys"
    );

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let plain = shape_of(&db);
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");

    must_pass(
        run(
            &db,
            dir.path(),
            "migrate.sql",
            &[("defer_constraints", "on")],
        ),
        "migrate, constraints deferred",
    );
    assert_eq!(
        catalog(&db),
        v2_catalog,
        "constraints and indexes are V2's again, validated"
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    let deferred = shape_of(&db);
    // Copied keys and no fresh uuid in the row: same rows as the plain run.
    for table in [
        "public.workout_plans",
        "public.workout_sessions",
        "public.exercise_logs",
    ] {
        assert_eq!(plain.get(table), deferred.get(table), "{table}");
    }
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

#[test]
fn migrate_twice_is_refused_and_changes_nothing() {
    let db = workout_db("wk_twice");
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let after = db.table_md5s(USER_SCHEMAS);
    let again = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already migrated"),
        "{}",
        stderr(&again)
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), after);
}

#[test]
fn dry_run_reports_and_leaves_no_trace() {
    let db = workout_db("wk_dry");
    let dir = compiled();
    let before = db.table_md5s(USER_SCHEMAS);
    let notices = must_pass(
        run(&db, dir.path(), "migrate.sql", &[("dry_run", "1")]),
        "dry run",
    );
    assert!(notices.contains("step 6/6 exercise_logs"), "{notices}");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'"
        ),
        0,
        "dry run leaves no _pgmig schema"
    );
}

/// Compiles the workout model against the live database's catalogs.
fn compiled_live(db: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let models = repo_root().join("models/workout");
    let live = pgmig::SchemaInput::Database(db.url());
    let c = pgmig::compile(&models.join("model.yaml"), &live, &live)
        .unwrap_or_else(|e| panic!("compile from a live database: {e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

#[test]
fn compiling_from_a_live_database_gives_the_same_scripts_as_from_ddl() {
    let db = workout_db("wk_live");
    let (live, ddl) = (compiled_live(&db), compiled());
    for name in ["precheck.sql", "migrate.sql", "verify.sql", "rollback.sql"] {
        let a = std::fs::read_to_string(live.path().join(name)).unwrap();
        let b = std::fs::read_to_string(ddl.path().join(name)).unwrap();
        assert!(a == b, "{name} differs between live and DDL catalogs");
    }
    // PLAN.md adds what only a live V1 can tell: sizes and the window estimate.
    db.execute("ANALYZE v1.exercise_logs");
    let live = compiled_live(&db);
    let plan = std::fs::read_to_string(live.path().join("PLAN.md")).unwrap();
    let logs = count(&db, "SELECT count(*) FROM v1.exercise_logs");
    assert!(
        plan.contains("**Window estimate** (compiled against the live V1)"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("~{logs} rows, ")),
        "exercise_logs' size line: {plan}"
    );
    let ddl_plan = std::fs::read_to_string(ddl.path().join("PLAN.md")).unwrap();
    assert!(ddl_plan.contains("**Window estimate**: none."));
}

#[test]
fn a_failing_step_names_itself_and_leaves_nothing_half_applied() {
    let db = workout_db("wk_fail");
    // A V2 constraint the V1 data breaks: precheck predicts it, migrate stops at that step
    // and rolls back everything.
    db.execute("ALTER TABLE public.exercises ADD CONSTRAINT no_heavy CHECK (target_weight < 50)");
    let dir = compiled_live(&db);
    let heavy = count(&db, "SELECT count(*) FROM v1.exercises e JOIN v1.workout_plans p ON p.id = e.plan_id WHERE e.weight >= 50 AND e.sets > 0 AND e.reps_min > 0 AND p.user_id IS NOT NULL");
    let pre = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(
        !pre.status.success(),
        "precheck must fail on a blocking finding"
    );
    assert!(
        stderr(&pre).contains("BLOCKING  exercises: CHECK no_heavy:"),
        "{}",
        stderr(&pre)
    );
    assert!(heavy > 0);
    let before = db.table_md5s(USER_SCHEMAS);
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("step exercises (model.yaml:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("no_heavy"), "{}", stderr(&out));
    assert_eq!(db.table_md5s(USER_SCHEMAS), before, "nothing half-applied");

    // The runner: exit 1, the failed step and the database error named, nothing applied.
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("step exercises (model.yaml:") && stderr(&out).contains("no_heavy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "nothing half-applied by pgmig run"
    );
}

#[test]
fn pgmig_run_gives_the_same_result_as_psql() {
    let by_psql = workout_db("wk_psql");
    let by_runner = workout_db("wk_runner");
    let dir = compiled();
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        must_pass(run(&by_psql, dir.path(), script, &[]), script);
        let out = pgmig_cli(&[
            "run",
            script.trim_end_matches(".sql"),
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &by_runner.url(),
        ]);
        assert!(out.status.success(), "pgmig run {script}: {}", stderr(&out));
    }
    let keyed = [
        "public.workout_plans",
        "public.workout_sessions",
        "public.exercise_logs",
        "v1.workout_plans",
    ];
    let (a, b) = (
        keyed_md5s(&by_psql, USER_SCHEMAS),
        keyed_md5s(&by_runner, USER_SCHEMAS),
    );
    for t in keyed {
        assert_eq!(a.get(t), b.get(t), "{t}");
    }
    let status = pgmig_cli(&["status", "--db", &by_runner.url()]);
    assert!(status.status.success());
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("exercise_logs") && text.contains("done"),
        "{text}"
    );

    let out = pgmig_cli(&[
        "run",
        "rollback",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &by_runner.url(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        by_runner
            .table_md5s(&["public"])
            .values()
            .filter(|v| !v.starts_with("0:"))
            .count(),
        0,
        "rollback via pgmig run empties V2"
    );
}

/// A `where` that keeps nothing, by V1's statistics, is a warning (legal, but suspicious).
#[test]
fn a_where_that_keeps_no_row_is_a_warning_when_compiled_live() {
    let db = workout_db("wk_where");
    db.execute("ANALYZE v1.workout_plans");
    let models = repo_root().join("models/workout");
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(models.join("model.yaml")).unwrap();
    let filtered = model.replacen(
        "    reject:\n      - when: p.user_id IS NULL",
        "    where: p.duration_weeks > 1000\n    reject:\n      - when: p.user_id IS NULL",
        1,
    );
    assert_ne!(model, filtered);
    std::fs::write(dir.path().join("model.yaml"), filtered).unwrap();
    let live = pgmig::SchemaInput::Database(db.url());
    let c = pgmig::compile(&dir.path().join("model.yaml"), &live, &live)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let text = c.warnings.render(&c.source, false);
    assert!(
        text.contains("warning: the `where` of step workout_plans keeps no row of ~200"),
        "{text}"
    );
    assert!(text.contains("model.yaml:21:5"), "{text}");
    // From DDL there are no statistics, and no such warning.
    let ddl = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(models.join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models.join("v2.sql")),
    )
    .unwrap();
    assert!(ddl.warnings.0.is_empty());
}

/// A V1 server that wants a password: a wrong one fails the run naming the cause, with
/// nothing written; the right one, given only in the URL, migrates and appears nowhere.
#[test]
fn v1_server_password_right_and_wrong() {
    let (v1, db, dir) = remote_v1("wk_pw");
    let role = format!("{}_reader", v1.name());
    v1.execute(&format!("CREATE ROLE {role} LOGIN PASSWORD 'S3cret-pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"));
    crate::support::second_cluster().require_password_for(&role);
    let second = crate::support::second_cluster();
    let url = |pw: &str| {
        format!(
            "host={} port={} dbname={} user={role} password={pw}",
            second.socket_dir().display(),
            second.port(),
            v1.name()
        )
    };
    let before = db.table_md5s(&["public"]);
    let cli = |script: &str, pw: &str| {
        pgmig_cli(&[
            "run",
            script,
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &db.url(),
            "--v1",
            &url(pw),
        ])
    };

    let wrong = cli("migrate", "wrong-pw");
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("password authentication failed"),
        "{}",
        stderr(&wrong)
    );
    assert!(
        !stderr(&wrong).contains("wrong-pw"),
        "the password is not printed"
    );
    assert_eq!(db.table_md5s(&["public"]), before, "nothing written");

    let right = cli("migrate", "S3cret-pw");
    assert!(right.status.success(), "{}", stderr(&right));
    assert!(
        !stderr(&right).contains("S3cret-pw")
            && !String::from_utf8_lossy(&right.stdout).contains("S3cret-pw")
    );
    let log: String = db
        .client()
        .query_one(
            "SELECT coalesce(string_agg(l::text, ' '), '') FROM _pgmig.log l",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!log.contains("S3cret-pw"), "not in the log");
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains("S3cret-pw"), "not in any script");
    }
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

/// V1 on another PostgreSQL server (a second cluster on another port), read through
/// postgres_fdw: the same migration as with V1 in the target database.
#[test]
fn v1_on_another_server_through_postgres_fdw() {
    let (v1, db, dir) = remote_v1("wk_remote");
    let second = crate::support::second_cluster();
    let (host, port) = (
        second.socket_dir().display().to_string(),
        second.port().to_string(),
    );
    let vars = [
        ("v1_host", host.as_str()),
        ("v1_port", port.as_str()),
        ("v1_dbname", v1.name()),
        ("v1_user", "postgres"),
    ];
    let before = db.table_md5s(&["public"]);
    let v1_before = v1.table_md5s(&["public"]);
    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &vars), "precheck");
    assert!(pre.contains("REJECT  workout_plans rule 1"), "{pre}");
    must_pass(run(&db, dir.path(), "migrate.sql", &vars), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &vars), "verify");

    // Same content as the migration with V1 in the target database.
    let local = workout_db("wk_remote_ref");
    let local_dir = compiled();
    must_pass(
        run(&local, local_dir.path(), "migrate.sql", &[]),
        "local migrate",
    );
    let (a, b) = (
        keyed_md5s(&db, &["public"]),
        keyed_md5s(&local, &["public"]),
    );
    for t in [
        "public.workout_plans",
        "public.workout_sessions",
        "public.exercise_logs",
    ] {
        assert_eq!(a.get(t), b.get(t), "{t}");
    }

    must_pass(run(&db, dir.path(), "rollback.sql", &vars), "rollback");
    assert_eq!(db.table_md5s(&["public"]), before);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_foreign_server WHERE srvname = '_pgmig_v1db'"
        ),
        0,
        "rollback drops the fdw server"
    );
    assert_eq!(v1.table_md5s(&["public"]), v1_before, "V1 is only read");

    // The same through `pgmig run --v1 URL`.
    let cli = |script: &str| {
        pgmig_cli(&[
            "run",
            script,
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &db.url(),
            "--v1",
            &v1.url(),
        ])
    };
    for script in ["migrate", "verify", "rollback"] {
        let out = cli(script);
        assert!(
            out.status.success(),
            "pgmig run {script} --v1: {}",
            stderr(&out)
        );
    }
    assert_eq!(db.table_md5s(&["public"]), before);

    // An unreachable V1 server: a failed run (exit 1) naming it, nothing written to V2.
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
        "--v1",
        "host=/nonexistent port=1 dbname=x user=postgres",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not connect to server \"_pgmig_v1db\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.table_md5s(&["public"]), before);

    // Without the connection variables: a clear error, nothing written.
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(
        !out.status.success()
            && stderr(&out).contains("V1 is on another server: give psql -v v1_host"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.table_md5s(&["public"]), before);
}

/// A file export cannot write (here a directory where a CSV goes; a full disk does the same)
/// ends the run with exit 1 naming the file, and lets go of the database: before, the
/// export's transaction stayed open and the lock's release looped for ever (hostile review).
#[test]
fn an_export_that_cannot_write_a_file_fails_and_lets_go_of_the_database() {
    let db = workout_db("wk_export_fail");
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let to = tempfile::tempdir().unwrap();
    std::fs::create_dir(to.path().join("workout_plans.v2.csv")).unwrap();
    let mut export = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["export", "--dir"])
        .arg(dir.path())
        .arg("--to")
        .arg(to.path())
        .args(["--db", &db.url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while export.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            export.kill().unwrap();
            panic!("pgmig export never ended");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = export.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("workout_plans.v2.csv"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        ),
        0,
        "the pgmig lock is still held"
    );
}

/// export.sql (psql's `\copy`) and `pgmig run export` write the same CSV archives; the
/// rejects are data, listed by `pgmig rejects`.
#[test]
fn archives_and_rejects_after_a_migration() {
    let db = workout_db("wk_export");
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let by_psql = tempfile::tempdir().unwrap();
    let out = db
        .psql_cmd()
        .current_dir(by_psql.path())
        .arg("-f")
        .arg(dir.path().join("export.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let by_runner = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(by_runner.path())
        .args([
            "run",
            "export",
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &db.url(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut files: Vec<String> = std::fs::read_dir(by_psql.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6 + 4 + 1, "{files:?}");
    for f in &files {
        let a = std::fs::read(by_psql.path().join(f)).unwrap();
        let b = std::fs::read(by_runner.path().join(f)).unwrap();
        assert!(a == b, "{f} differs between psql and pgmig run");
    }
    let lines = |f: &str| {
        std::fs::read_to_string(by_psql.path().join(f))
            .unwrap()
            .lines()
            .count() as i64
    };
    assert_eq!(
        lines("exercise_logs.v2.csv"),
        1 + count(&db, "SELECT count(*) FROM public.exercise_logs")
    );
    assert_eq!(
        lines("v1.workout_plans.csv"),
        1 + count(&db, "SELECT count(*) FROM v1.workout_plans")
    );
    assert_eq!(
        lines("rejects.csv"),
        1 + count(&db, "SELECT count(*) FROM _pgmig.rejects")
    );
    let header = std::fs::read_to_string(by_psql.path().join("rejects.csv")).unwrap();
    assert!(
        header.starts_with("step,rule,reason,source_table,source_key,source_row\n"),
        "{header}"
    );
    assert!(
        header.contains(",v1.exercises,"),
        "rejects name their V1 table"
    );

    let table = pgmig_cli(&["rejects", "--db", &db.url(), "--model", "workout"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success()
            && text.contains("plan has no user_id")
            && text.contains("v1.workout_plans"),
        "{text}"
    );
    let csv = pgmig_cli(&["rejects", "--db", &db.url(), "--csv"]);
    let csv_text = String::from_utf8_lossy(&csv.stdout);
    assert_eq!(
        csv_text.lines().count() as i64,
        1 + count(&db, "SELECT count(*) FROM _pgmig.rejects"),
        "{csv_text}"
    );
    assert!(csv_text.starts_with("model,step,rule,reason,source_table,source_key,source_row\n"));
}
