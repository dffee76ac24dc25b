//! Rollback's lookups through foreign keys without an index (issue 17, item 6): deleting a
//! migrated parent row makes PostgreSQL look it up in every table referencing it; without an
//! index leading with the key's columns each lookup reads the whole table. rollback.sql builds
//! an index on each such filled table (each leaf partition) under the lock it holds, and drops
//! it after COMMIT; PLAN.md names every such foreign key, and the ones it can't help.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{cluster, compile_ddl, pgmig_cli, repo_root, TestDb};

const PARENTS: i64 = 3000;

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/rollback_lookups")
}

/// The fixture (from `fixture`) migrated, its compiled scripts, and V2's tables before migrate.
fn migrated_db(
    name: &str,
    fixture: &Path,
) -> (TestDb, tempfile::TempDir, BTreeMap<String, String>) {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture.join("v1.sql"), "v1");
    db.load_in_schema(&fixture.join("v2.sql"), "public");
    db.load_in_schema(&fixture.join("data.sql"), "public");
    let dir = compile_ddl(
        &fixture.join("model.yaml"),
        &fixture.join("v1.sql"),
        &fixture.join("v2.sql"),
    );
    let before = db.table_md5s(&["public"]);
    let out = db.psql_file(dir.path().join("migrate.sql"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (db, dir, before)
}

/// Sequential scans of the lines and the events' partitions so far (the statistics of other
/// sessions reach this one within a second of their commit).
fn seq_scans(db: &TestDb) -> i64 {
    std::thread::sleep(Duration::from_millis(1500));
    let mut c = db.client();
    c.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
    c.query_one(
        "SELECT sum(seq_scan)::bigint FROM pg_stat_user_tables WHERE schemaname = 'public' \
         AND relname IN ('order_lines', 'order_events_low', 'order_events_high')",
        &[],
    )
    .unwrap()
    .get(0)
}

fn rollback_indexes(db: &TestDb) -> Vec<String> {
    let mut c = db.client();
    c.query(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indexrelid::regclass::text LIKE '%pgmig_rollback_%' ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Runs `script` and returns how long it took and how many sequential scans it made.
fn timed_rollback(db: &TestDb, script: &Path) -> (Duration, i64) {
    let scans = seq_scans(db);
    let start = Instant::now();
    let out = db.psql_file(script, &[]);
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, seq_scans(db) - scans)
}

#[test]
fn rollback_looks_up_deleted_parents_through_indexes_it_builds_and_drops() {
    let (db, dir, before) = migrated_db("rb_lookups", &fixture());
    let rollback = std::fs::read_to_string(dir.path().join("rollback.sql")).unwrap();
    for leaf in ["order_lines", "order_events_low", "order_events_high"] {
        assert!(
            rollback.contains(&format!(
                "CREATE INDEX pgmig_rollback_{leaf}_order_id ON public.{leaf} (order_id);"
            )),
            "{leaf}: {rollback}"
        );
        assert!(rollback.contains(&format!(
            "DROP INDEX CONCURRENTLY IF EXISTS public.pgmig_rollback_{leaf}_order_id;"
        )));
    }
    assert!(
        !rollback.contains("ON public.order_notes"),
        "an unfilled table gets no index"
    );

    // The defect, reproduced on a copy: the same rollback without the index builds reads the
    // referencing tables once per deleted order.
    let copy = cluster().copy_db(&db, "rb_lookups_noindex");
    let by_runner = cluster().copy_db(&db, "rb_lookups_runner");
    let without: String = rollback
        .lines()
        .filter(|l| !l.starts_with("CREATE INDEX pgmig_rollback_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let without_file = dir.path().join("rollback_without_indexes.sql");
    std::fs::write(&without_file, without).unwrap();
    let (slow, slow_scans) = timed_rollback(&copy, &without_file);
    assert!(
        slow_scans >= PARENTS,
        "{slow_scans} sequential scans for {PARENTS} orders"
    );

    let (fast, fast_scans) = timed_rollback(&db, &dir.path().join("rollback.sql"));
    assert!(fast_scans < 50, "{fast_scans} sequential scans");
    eprintln!("rollback of {PARENTS} orders: {slow:?} reading the tables per order ({slow_scans} scans), {fast:?} with the indexes ({fast_scans} scans)");

    assert!(
        rollback_indexes(&db).is_empty(),
        "{:?}",
        rollback_indexes(&db)
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        before,
        "V2 is as before migrate"
    );
    assert_eq!(copy.table_md5s(&["public"]), before, "the slow way too");

    // pgmig run reads the statements after COMMIT (DROP INDEX CONCURRENTLY) as psql does.
    let out = pgmig_cli(&[
        "run",
        "rollback",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &by_runner.url(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rollback_indexes(&by_runner).is_empty());
    assert_eq!(by_runner.table_md5s(&["public"]), before);
    assert_eq!(
        db.client()
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'",
                &[]
            )
            .unwrap()
            .get::<_, i64>(0),
        6,
        "the V2 schema's own indexes only (four primary keys, two partitions' ones)"
    );
}

#[test]
fn plan_names_the_foreign_keys_without_an_index() {
    let dir = compile_ddl(
        &fixture().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    let row = |table: &str| {
        plan.lines()
            .find(|l| l.starts_with(&format!("| `public.{table}` (order_id)")))
            .unwrap_or_else(|| panic!("{table}: {plan}"))
            .to_string()
    };
    assert!(row("order_lines").ends_with("| none: rollback builds one for its deletes (the table is locked already) and drops it after COMMIT |"), "{}", row("order_lines"));
    assert!(row("order_events").contains("none: rollback builds one"));
    assert!(row("order_notes").ends_with("| **none**: rollback reads the table once per migrated row it deletes; create one (`CREATE INDEX CONCURRENTLY`) before a large rollback |"), "{}", row("order_notes"));
}

/// The lines' table named to end a quote, a quoted name and a dollar quote, with a psql
/// meta-command after: rollback's index on it is named and dropped as the table is, quoted.
#[test]
fn an_index_on_a_hostile_table_name_is_quoted_built_and_dropped() {
    let hostile = tempfile::tempdir().unwrap();
    let sql_name = r#""Order's ""lines"" $x$\!""#;
    for file in ["v1.sql", "v2.sql", "data.sql"] {
        let text = std::fs::read_to_string(fixture().join(file)).unwrap();
        std::fs::write(
            hostile.path().join(file),
            text.replace("order_lines", sql_name),
        )
        .unwrap();
    }
    let model = std::fs::read_to_string(fixture().join("model.yaml")).unwrap();
    let step = "  order_lines:\n    from: order_lines l\n";
    assert!(model.contains(step));
    let model = model.replace(
        step,
        "  lines:\n    into: 'Order''s \"lines\" $x$\\!'\n    from: '\"Order''s \"\"lines\"\" $x$\\!\" l'\n",
    );
    std::fs::write(hostile.path().join("model.yaml"), model).unwrap();

    let (db, dir, before) = migrated_db("rb_lookups_hostile", hostile.path());
    let rollback = std::fs::read_to_string(dir.path().join("rollback.sql")).unwrap();
    assert!(
        rollback.contains(r#"CREATE INDEX "pgmig_rollback_Order's ""lines"" $x$\!_order_id" ON public."Order's ""lines"" $x$\!" (order_id);"#),
        "{rollback}"
    );
    let out = db.psql_file(dir.path().join("rollback.sql"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rollback_indexes(&db).is_empty(),
        "{:?}",
        rollback_indexes(&db)
    );
    assert_eq!(db.table_md5s(&["public"]), before);
}

/// CREATE INDEX needs the table's owner, which no GRANT gives: a role with every grant but
/// not the ownership is told, before anything changes, whom to run rollback as.
#[test]
fn a_role_that_does_not_own_the_tables_is_told_whom_to_run_rollback_as() {
    let (db, dir, _) = migrated_db("rb_lookups_owner", &fixture());
    let role = format!("grantee_{}", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} LOGIN;
         GRANT USAGE ON SCHEMA v1, public, _pgmig TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA v1 TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, _pgmig TO {role};
         ALTER SCHEMA _pgmig OWNER TO {role};"
    ));
    let migrated = db.table_md5s(&["public", "_pgmig"]);
    let cwd = tempfile::tempdir().unwrap();
    let out = crate::support::roles::psql_as(
        &db,
        &role,
        &dir.path().join("rollback.sql"),
        &[],
        cwd.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for table in ["order_lines", "order_events_low", "order_events_high"] {
        assert!(
            stderr.contains(&format!(
                "-- run this script as postgres (or a member of it): it builds a temporary index on public.{table}, which only the owner can"
            )),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("lacks privileges it needs; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(db.table_md5s(&["public", "_pgmig"]), migrated);
    assert!(rollback_indexes(&db).is_empty());
}
