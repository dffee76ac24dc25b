//! V2 tables without a primary key (tests/it/fixtures/models/nokey): a partitioned table keyed
//! by UNIQUE (id, taken_on), a log keyed only by the model's `key: [sensor_id, happened_at]`
//! and a join table with a composite primary key. Rows land in their partitions, verify
//! passes and catches a corruption, rollback restores every table byte for byte; a table
//! with no key at all is a compile error saying what to add.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{cluster, compile_refused, repo_root, TestDb};

const SCHEMAS: &[&str] = &["v1", "public"];

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/nokey")
}

fn model_text() -> String {
    std::fs::read_to_string(fixture().join("model.yaml")).unwrap()
}

/// The fixture model with `edit` applied (it must change it), compiled from its DDL files.
fn compiled_variant(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let text = model_text();
    let edited = edit(&text);
    assert_ne!(text, edited, "the variant must differ from the model");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), edited).unwrap();
    crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    )
}

fn compiled() -> tempfile::TempDir {
    crate::support::compile_ddl(
        &fixture().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    )
}

/// `pgmig compile` of the edited model: exit code and stderr; nothing may be written.
fn compile_fails(edit: impl Fn(&str) -> String) -> (i32, String) {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), edit(&model_text())).unwrap();
    compile_refused(
        src.path(),
        "model.yaml",
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    )
}

/// V1 with its rows in schema v1, V2 empty in public but for two rows the application wrote.
fn nokey_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    db.load_in_schema(&fixture().join("data.sql"), "v1");
    db.execute(
        "INSERT INTO public.sensors VALUES (9, 'app');
         INSERT INTO public.readings VALUES (100, 9, '2025-02-02', 5.00);
         INSERT INTO public.events VALUES (9, '2025-02-02 08:00', 'app row');",
    );
    db
}

fn run(db: &TestDb, dir: &Path, script: &str) -> Output {
    db.psql_file(dir.join(script), &[])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn must_pass(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed:\n{}", stderr(&o));
    stderr(&o)
}

fn rows(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .simple_query(sql)
        .unwrap()
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("∅"))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

/// Migrate, verify, a corruption verify catches, rollback back to the exact start.
fn migrate_verify_corrupt_rollback(db: &TestDb, dir: &Path) {
    let before = db.table_md5s(SCHEMAS);
    must_pass(run(db, dir, "precheck.sql"), "precheck");
    must_pass(run(db, dir, "migrate.sql"), "migrate");

    // Each reading is in the partition of its day; 6 (2023) was rejected, 100 is the app's.
    assert_eq!(
        rows(
            db,
            "SELECT tableoid::regclass, id FROM public.readings ORDER BY id"
        ),
        [
            "readings_2024|1",
            "readings_2024|2",
            "readings_2025|3",
            "readings_2025|4",
            "readings_2025|5",
            "readings_2025|100"
        ]
    );
    assert_eq!(rows(db, "SELECT count(*) FROM public.events"), ["5"]);
    assert_eq!(rows(db, "SELECT count(*) FROM public.sensor_tags"), ["4"]);
    let verify = must_pass(run(db, dir, "verify.sql"), "verify");
    assert!(
        verify.contains("PASS  readings: content equals V1 recomputed"),
        "{verify}"
    );
    assert!(
        verify
            .contains("PASS  events: row counts: 4 source = 4 migrated + 0 filtered + 0 rejected"),
        "{verify}"
    );
    assert!(
        verify.contains(
            "PASS  readings: row counts: 6 source = 5 migrated + 0 filtered + 1 rejected"
        ),
        "{verify}"
    );
    let migrated = db.table_md5s(SCHEMAS);

    // A migrated row changed in each keyless table: verify fails on each, naming it.
    db.execute(
        "UPDATE public.readings SET value = 99 WHERE id = 4;
         UPDATE public.events SET message = 'edited' WHERE sensor_id = 1 AND happened_at = '2024-03-01 10:05';
         DELETE FROM public.sensor_tags WHERE sensor_id = 1 AND tag = 'high';",
    );
    let failed = run(db, dir, "verify.sql");
    assert!(
        !failed.status.success(),
        "verify must fail on corrupted rows"
    );
    let text = stderr(&failed);
    assert!(
        text.contains(
            "FAIL  readings: content: 1 expected rows missing or different, 1 rows not expected"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "FAIL  events: content: 1 expected rows missing or different, 1 rows not expected"
        ),
        "{text}"
    );
    assert!(text.contains("FAIL  sensor_tags: row counts"), "{text}");
    db.execute(
        "UPDATE public.readings SET value = NULL WHERE id = 4;
         UPDATE public.events SET message = 'calibrated' WHERE sensor_id = 1 AND happened_at = '2024-03-01 10:05';
         INSERT INTO public.sensor_tags VALUES (1, 'high');",
    );
    assert_eq!(db.table_md5s(SCHEMAS), migrated, "the corruption is undone");

    must_pass(run(db, dir, "rollback.sql"), "rollback");
    let after = db.table_md5s(SCHEMAS);
    assert_eq!(
        after, before,
        "rollback leaves every table (partitions included) as before migrate"
    );
}

#[test]
fn tables_without_a_primary_key_migrate_verify_and_roll_back_exactly() {
    let db = nokey_db("nokey_tx");
    let dir = compiled();
    migrate_verify_corrupt_rollback(&db, dir.path());
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains(
            "UNIQUE `readings_id_taken_on_key` on NOT NULL columns (V2 has no primary key)"
        ),
        "{plan}"
    );
    assert!(plan.contains("declared by `key:` (line"), "{plan}");
}

#[test]
fn a_partitioned_table_keyed_by_a_unique_key_migrates_in_batches() {
    let db = nokey_db("nokey_batched");
    // The log's declared key needs one transaction; the other tables' keys are V2's.
    let dir = compiled_variant(|m| {
        let m = m.replace("mode: transaction", "mode: { batched: { size: 2 } }");
        let (head, tail) = m.split_once("  events:").unwrap();
        let (_, rest) = tail.split_once("\n\n").unwrap();
        format!("{head}{rest}\ndrop:\n  events: a log without a key; batched mode cannot keep a declared key (transaction mode is tested)\n")
    });
    let before = db.table_md5s(SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql"), "batched migrate");
    assert_eq!(
        rows(
            &db,
            "SELECT tableoid::regclass, id FROM public.readings ORDER BY id"
        ),
        [
            "readings_2024|1",
            "readings_2024|2",
            "readings_2025|3",
            "readings_2025|4",
            "readings_2025|5",
            "readings_2025|100"
        ]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT count(DISTINCT batch) FROM _pgmig.batches WHERE step = 'readings'"
        ),
        ["3"]
    );
    must_pass(run(&db, dir.path(), "verify.sql"), "verify");
    db.execute("UPDATE public.readings SET taken_on = '2024-06-01' WHERE id = 3");
    assert!(
        !run(&db, dir.path(), "verify.sql").status.success(),
        "a reading moved to another day fails verify"
    );
    db.execute("UPDATE public.readings SET taken_on = '2025-01-01' WHERE id = 3");
    must_pass(run(&db, dir.path(), "rollback.sql"), "rollback");
    assert_eq!(db.table_md5s(SCHEMAS), before);
}

#[test]
fn a_declared_key_shared_by_another_row_is_refused_by_migrate_and_rollback() {
    let dir = compiled();

    // Two V1 events with one key: precheck lists them, migrate stops on the id map's key.
    let db = nokey_db("nokey_shared_v1");
    db.execute("INSERT INTO v1.events VALUES (1, '2024-03-01 10:00', 'twice')");
    let before = db.table_md5s(SCHEMAS);
    let precheck = run(&db, dir.path(), "precheck.sql");
    assert!(!precheck.status.success(), "precheck must block");
    assert!(
        stderr(&precheck).contains(
            "key: [sensor_id, happened_at] (line 23): duplicates among the migrated rows"
        ),
        "{}",
        stderr(&precheck)
    );
    let migrate = run(&db, dir.path(), "migrate.sql");
    assert!(!migrate.status.success(), "migrate must fail");
    assert!(
        stderr(&migrate).contains("step events"),
        "{}",
        stderr(&migrate)
    );
    assert_eq!(
        db.table_md5s(SCHEMAS),
        before,
        "a failed migrate changes nothing"
    );

    // Before migrate: the application wrote an event with a key a migrated row has (a log
    // without foreign keys, so its rows need no sensor of V2's).
    let db = nokey_db("nokey_shared_before");
    db.execute(
        "ALTER TABLE public.events DROP CONSTRAINT events_sensor_id_fkey;
         INSERT INTO public.events VALUES (2, '2025-01-01 00:00', 'app, same key')",
    );
    let before = db.table_md5s(SCHEMAS);
    let precheck = run(&db, dir.path(), "precheck.sql");
    assert!(!precheck.status.success(), "precheck must block");
    assert!(
        stderr(&precheck).contains("key: [sensor_id, happened_at]"),
        "{}",
        stderr(&precheck)
    );
    let migrate = run(&db, dir.path(), "migrate.sql");
    assert!(!migrate.status.success(), "migrate must refuse");
    assert!(
        stderr(&migrate)
            .contains("share the declared key (sensor_id, happened_at) of migrated rows"),
        "{}",
        stderr(&migrate)
    );
    assert_eq!(
        db.table_md5s(SCHEMAS),
        before,
        "a refused migrate changes nothing"
    );

    // After migrate: one written since; verify fails, rollback refuses and changes nothing.
    let db = nokey_db("nokey_shared_after");
    must_pass(run(&db, dir.path(), "migrate.sql"), "migrate");
    db.execute("INSERT INTO public.events VALUES (3, '2025-07-04 12:00', 'app, same key')");
    let verify = run(&db, dir.path(), "verify.sql");
    assert!(!verify.status.success(), "verify must fail");
    assert!(
        stderr(&verify).contains("FAIL  events: row counts: 4 source, 5 migrated"),
        "{}",
        stderr(&verify)
    );
    let written = db.table_md5s(SCHEMAS);
    let rollback = run(&db, dir.path(), "rollback.sql");
    assert!(!rollback.status.success(), "rollback must refuse");
    assert!(
        stderr(&rollback).contains(
            "rows written since the migration share the declared key (sensor_id, happened_at)"
        ),
        "{}",
        stderr(&rollback)
    );
    assert_eq!(
        db.table_md5s(SCHEMAS),
        written,
        "a refused rollback changes nothing"
    );
    db.execute("DELETE FROM public.events WHERE message = 'app, same key'");
    must_pass(
        run(&db, dir.path(), "rollback.sql"),
        "rollback once the row is gone",
    );
}

#[test]
fn a_table_with_no_key_is_a_compile_error_saying_what_to_add() {
    let (code, err) = compile_fails(|m| m.replace("key: [sensor_id, happened_at]", "key: keep"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("model.yaml:21:3: error: V2 table `public.events` has no primary key and no UNIQUE key on NOT NULL columns"), "{err}");
    assert!(err.contains("add a primary key or a UNIQUE key on NOT NULL columns, or declare `key: [column, …]` in the model"), "{err}");
    assert!(
        !err.contains("readings"),
        "readings has a UNIQUE key on NOT NULL columns: {err}"
    );
}

#[test]
fn a_declared_key_must_name_not_null_v2_columns_and_needs_a_transaction() {
    let (code, err) = compile_fails(|m| {
        m.replace(
            "key: [sensor_id, happened_at]",
            "key: [sensor_id, happend_at, message]",
        )
    });
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("key column `happend_at` does not exist in V2 table `public.events`"),
        "{err}"
    );
    assert!(err.contains("did you mean `happened_at`?"), "{err}");
    assert!(
        err.contains("key column `message` of `public.events` can be NULL"),
        "{err}"
    );

    for mode in [
        "{ batched: { size: 10 } }",
        "{ per_entity: { root: sensors } }",
    ] {
        let (code, err) =
            compile_fails(|m| m.replace("mode: transaction", &format!("mode: {mode}")));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("error: the key declared for `events` needs `mode: transaction`: V2 does not enforce it"), "{mode}: {err}");
    }
}

/// Per-entity mode (a sensor with its readings and tags is the unit of work): the
/// partitioned table keyed by its UNIQUE (id, taken_on) and the join table keyed by its
/// composite primary key migrate entity by entity, verify passes and catches a corrupted
/// row, and rollback restores every table byte for byte.
#[test]
fn a_partitioned_table_keyed_by_a_unique_key_migrates_per_entity() {
    let db = nokey_db("nokey_per_entity");
    let dir = compiled_variant(|m| {
        let m = m
            .replace(
                "mode: transaction",
                "mode: { per_entity: { root: sensors, size: 2 } }",
            )
            .replace(
                "    from: readings r\n",
                "    from: readings r\n    where: id(sensors, r.sensor_id) IS NOT NULL\n",
            )
            .replace(
                "    from: sensor_tags t\n",
                "    from: sensor_tags t\n    where: id(sensors, t.sensor_id) IS NOT NULL\n",
            );
        let (head, tail) = m.split_once("  events:").unwrap();
        let (_, rest) = tail.split_once("\n\n").unwrap();
        format!("{head}{rest}\ndrop:\n  events: a log without a key; per-entity mode cannot keep a declared key (transaction mode is tested)\n")
    });
    let before = db.table_md5s(SCHEMAS);
    must_pass(run(&db, dir.path(), "precheck.sql"), "precheck");
    let log = must_pass(run(&db, dir.path(), "migrate.sql"), "per-entity migrate");
    assert!(
        log.contains("entities: 2 batches committed, 0 entities failed"),
        "three sensors, two per commit: {log}"
    );
    assert_eq!(
        rows(
            &db,
            "SELECT tableoid::regclass, id FROM public.readings ORDER BY id"
        ),
        [
            "readings_2024|1",
            "readings_2024|2",
            "readings_2025|3",
            "readings_2025|4",
            "readings_2025|5",
            "readings_2025|100"
        ]
    );
    assert_eq!(rows(&db, "SELECT count(*) FROM public.sensor_tags"), ["4"]);
    let verify = must_pass(run(&db, dir.path(), "verify.sql"), "verify");
    assert!(
        verify.contains("PASS  readings: content equals V1 recomputed"),
        "{verify}"
    );
    let migrated = db.table_md5s(SCHEMAS);

    db.execute(
        "UPDATE public.readings SET value = 99 WHERE id = 4;
         DELETE FROM public.sensor_tags WHERE sensor_id = 1 AND tag = 'high';",
    );
    let failed = run(&db, dir.path(), "verify.sql");
    assert!(
        !failed.status.success(),
        "verify must fail on corrupted rows"
    );
    let text = stderr(&failed);
    assert!(
        text.contains(
            "FAIL  readings: content: 1 expected rows missing or different, 1 rows not expected"
        ),
        "{text}"
    );
    assert!(text.contains("FAIL  sensor_tags: row counts"), "{text}");
    db.execute(
        "UPDATE public.readings SET value = NULL WHERE id = 4;
         INSERT INTO public.sensor_tags VALUES (1, 'high');",
    );
    assert_eq!(db.table_md5s(SCHEMAS), migrated, "the corruption is undone");

    must_pass(run(&db, dir.path(), "rollback.sql"), "rollback");
    assert_eq!(
        db.table_md5s(SCHEMAS),
        before,
        "rollback leaves every table (partitions included) as before migrate"
    );
}
