//! verify's PASS means V2 is right, exactly: values that a type's equality calls equal but the
//! application tells apart fail verify (transaction, batched, per-entity and in-place
//! verify); values no later run can recompute (`current_user`, `txid_current()`, a `where`
//! on the clock) don't fail a correct V2; and `-v defer_constraints=on` gives back an index's
//! tablespace, replica identity, CLUSTER mark, comment and statistics targets with it.

use std::path::{Path, PathBuf};

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, compile_ddl, model_variant, repo_root, TestDb};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/it/fixtures/models").join(name)
}

/// A database with V1 (schema v1) and V2 (public) of a fixture, loaded from its DDL files.
fn db_with(prefix: &str, dir: &Path, v1: &str, v2: &str) -> TestDb {
    let db = cluster().create_db(prefix);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&dir.join(v1), "v1");
    db.load_in_schema(&dir.join(v2), "public");
    db
}

/// verify.sql's outcome: passed, and its output.
fn verify(db: &TestDb, dir: &Path) -> (bool, String) {
    let out = run(db, dir, "verify.sql", &[]);
    (out.status.success(), stderr(&out))
}

/// Each value changed alone to one its type's equality calls equal (and reads back the same
/// way through `=`), then put back.
const CHANGES: &[(&str, &str, &str)] = &[
    // The application sees it: date '2024-02-01' + period is 2024-03-01 or 2024-03-02.
    ("period", "interval '30 days'", "interval '1 month'"),
    ("price", "2.5000", "2.50"),
    ("ratio", "'-0'::float8", "0.0"),
    ("doc", r#"'{"a": 1}'::jsonb"#, r#"'{"a": 1.0}'::jsonb"#),
    ("email", "'ana@x.ORG'", "'Ana@X.org'"),
];

#[test]
fn values_equal_by_their_type_but_different_fail_verify_in_every_mode() {
    let models = fixture("equal_but_different");
    for (mode, line) in [
        ("transaction", ""),
        ("batched", "mode: { batched: { size: 1 } }\n"),
        (
            "per_entity",
            "mode: { per_entity: { root: plans, size: 1 } }\n",
        ),
    ] {
        let model = model_variant(&models.join("model.yaml"), |m| {
            m.replacen("tables:\n", &format!("{line}tables:\n"), 1) + "# variant\n"
        });
        let dir = compile_ddl(
            &model.path().join("model.yaml"),
            &models.join("v1.sql"),
            &models.join("v2.sql"),
        );
        let db = db_with(&format!("eq_{mode}"), &models, "v1.sql", "v2.sql");
        db.execute(
            r#"INSERT INTO v1.plans VALUES (1, '1 month', 2.50, 'Ana@X.org', 0.0, '{"a": 1.0}'),
                                           (2, '2 days', 7, 'bo@y.org', 1.5, '{"b": [1, 2]}')"#,
        );
        must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
        let (passed, text) = verify(&db, dir.path());
        assert!(passed, "{mode}: verify of an untouched V2:\n{text}");
        for (column, different, original) in CHANGES {
            db.execute(&format!(
                "UPDATE public.plans SET {column} = {different} WHERE id = 1"
            ));
            let still_equal: bool = db
                .client()
                .query_one(
                    &format!("SELECT {column} = {original} FROM public.plans WHERE id = 1"),
                    &[],
                )
                .unwrap()
                .get(0);
            assert!(still_equal, "{column}: the change is one `=` cannot see");
            let (passed, text) = verify(&db, dir.path());
            assert!(
                !passed && text.contains("FAIL  plans: content"),
                "{mode}: {column} = {different} must fail verify naming plans:\n{text}"
            );
            db.execute(&format!(
                "UPDATE public.plans SET {column} = {original} WHERE id = 1"
            ));
            let (passed, text) = verify(&db, dir.path());
            assert!(passed, "{mode}: {column} put back:\n{text}");
        }
        db.drop_db();
    }
}

#[test]
fn in_place_verify_tells_apart_converted_values_equal_by_their_type() {
    let models = fixture("equal_but_different");
    let dir = compile_ddl(
        &models.join("inplace_model.yaml"),
        &models.join("inplace_v1.sql"),
        &models.join("inplace_v2.sql"),
    );
    let db = cluster().create_db("eq_in_place");
    db.load_in_schema(&models.join("inplace_v1.sql"), "public");
    db.execute("INSERT INTO public.fees VALUES (1, '2.50', '1 month'), (2, '7', '2 days')");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let (passed, text) = verify(&db, dir.path());
    assert!(passed, "verify of an untouched V2:\n{text}");
    for (column, different, original) in [
        ("price", "2.5000", "2.50"),
        ("period", "interval '30 days'", "interval '1 month'"),
    ] {
        db.execute(&format!(
            "UPDATE public.fees SET {column} = {different} WHERE id = 1"
        ));
        let (passed, text) = verify(&db, dir.path());
        assert!(
            !passed && text.contains(&format!("FAIL  fees.{column}: every value equals")),
            "{column} = {different} must fail verify naming fees.{column}:\n{text}"
        );
        db.execute(&format!(
            "UPDATE public.fees SET {column} = {original} WHERE id = 1"
        ));
        let (passed, text) = verify(&db, dir.path());
        assert!(passed, "{column} put back:\n{text}");
    }
    db.drop_db();
}

/// `current_user`, `txid_current()`, a one-argument `age()` and a `where` on
/// `clock_timestamp()`: PostgreSQL says none is immutable, so verify does not recompute them;
/// eleven seconds after migrate (the `where` now keeps no row) a correct V2 passes, and a
/// changed value still fails.
#[test]
fn non_repeatable_calls_and_where_pass_a_correct_v2_later() {
    let models = fixture("non_repeatable");
    let dir = compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains("it calls `clock_timestamp()`, which gives another value on each call, so verify cannot recount it"),
        "{plan}"
    );
    let db = db_with("non_repeatable", &models, "v1.sql", "v2.sql");
    db.execute(
        "INSERT INTO v1.users SELECT n, CASE WHEN n <= 3 THEN now() ELSE '2020-01-01' END, date '1990-05-17' + n
         FROM generate_series(1, 5) AS n",
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    std::thread::sleep(std::time::Duration::from_secs(11));
    let (passed, text) = verify(&db, dir.path());
    assert!(passed, "verify of a correct V2, 11 s later:\n{text}");
    for needle in [
        "PASS  users: row counts: 5 source = 3 migrated + 2 filtered + 0 rejected",
        "INFO  users: `where` (model line 8) calls clock_timestamp(), which gives another value on each call: verify cannot recount the rows it filtered",
        "PASS  users: content equals V1 recomputed",
        "note not comparable",
        "xid not comparable",
        "age_days not comparable",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
    // What is compared still is: a migrated row's seen changed fails verify.
    db.execute("UPDATE public.users SET seen = seen + interval '1 second' WHERE id = 2");
    let (passed, text) = verify(&db, dir.path());
    assert!(
        !passed && text.contains("FAIL  users: content"),
        "a changed value must fail verify:\n{text}"
    );
    db.drop_db();
}

/// What pg_get_indexdef leaves out of items' indexes, and the table's replica identity.
fn index_metadata(db: &TestDb) -> String {
    db.client()
        .query_one(
            "SELECT string_agg(format('%s %s %s %s %s %s %s', ic.relname, i.indisreplident, i.indisclustered,
                                      coalesce(s.spcname, '-'), coalesce(obj_description(i.indexrelid, 'pg_class'), '-'),
                                      (SELECT array_agg(a.attstattarget ORDER BY a.attnum) FROM pg_attribute AS a WHERE a.attrelid = i.indexrelid),
                                      pg_get_indexdef(i.indexrelid)), E'\\n' ORDER BY ic.relname)
                   || E'\\n' || (SELECT relreplident::text FROM pg_class WHERE oid = 'public.items'::regclass)
             FROM pg_index AS i
             JOIN pg_class AS ic ON ic.oid = i.indexrelid
             LEFT JOIN pg_tablespace AS s ON s.oid = ic.reltablespace
             WHERE i.indrelid = 'public.items'::regclass",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn deferred_indexes_come_back_with_what_indexdef_omits() {
    let models = fixture("index_metadata");
    let dir = compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );
    let db = db_with("index_metadata", &models, "v1.sql", "v2.sql");
    // A tablespace is the cluster's: a directory of the server's OS user, named for this database.
    let location = cluster().base_dir().join(format!("ts_{}", db.name()));
    std::fs::create_dir(&location).unwrap();
    let owner = std::fs::metadata(cluster().data_dir()).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        std::os::unix::fs::chown(&location, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    let tablespace = format!("ts_{}", db.name());
    db.execute(&format!(
        "CREATE TABLESPACE {tablespace} LOCATION '{}'",
        location.display()
    ));
    db.execute(&format!(
        "ALTER INDEX public.items_code SET TABLESPACE {tablespace};
         ALTER TABLE public.items REPLICA IDENTITY USING INDEX items_code;
         ALTER TABLE public.items CLUSTER ON items_code;
         COMMENT ON INDEX public.items_code IS 'codes are unique';
         ALTER INDEX public.items_lower_name ALTER COLUMN 1 SET STATISTICS 500;"
    ));
    db.execute(
        "INSERT INTO v1.items SELECT n, 'c' || n, 'Item ' || n FROM generate_series(1, 20) AS n",
    );
    let before = index_metadata(&db);
    assert!(
        before.contains(&format!("items_code t t {tablespace} codes are unique"))
            && before.contains("{500}")
            && before.ends_with('i'),
        "{before}"
    );
    let index_oids = |db: &TestDb| -> i64 {
        crate::support::scripts::count(
            db,
            "SELECT sum(indexrelid::oid::bigint)::bigint FROM pg_index WHERE indrelid = 'public.items'::regclass",
        )
    };
    let oids_before = index_oids(&db);
    must_pass(
        run(
            &db,
            dir.path(),
            "migrate.sql",
            &[("defer_constraints", "on")],
        ),
        "migrate, constraints deferred",
    );
    assert_ne!(
        index_oids(&db),
        oids_before,
        "the indexes were dropped and rebuilt"
    );
    assert_eq!(index_metadata(&db), before, "after migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(index_metadata(&db), before, "after rollback");
    db.drop_db();
    cluster()
        .connect("postgres")
        .unwrap()
        .batch_execute(&format!("DROP TABLESPACE {tablespace}"))
        .unwrap();
}

/// The scripts read a whole row through its alias (`t` in verify's V1 digest and rollback's
/// row digests, the model's alias in a reject's archived row). A column named like the alias
/// took its place: the digests covered that column alone, so a V1 row changed in another
/// column passed verify, rollback deleted a row the application had changed, and the reject
/// archive kept one value instead of the row. Whole rows are read as `alias.*` now.
#[test]
fn a_column_named_like_a_row_alias_does_not_stand_for_the_row() {
    let ddl = "CREATE TABLE notes (id integer PRIMARY KEY, t text, body text);\n";
    let model = "name: alias\nsource: { schema: v1 }\ntables:\n  notes:\n    from: notes t\n    reject:\n      - when: t.body = 'reject me'\n        reason: rejected on purpose\n    key: keep\n";
    let (_dir, out) = crate::support::compile_texts(ddl, ddl, model);
    let db = cluster().create_db("alias_column");
    db.execute(&format!(
        "CREATE SCHEMA v1; SET search_path = v1; {ddl} RESET search_path; {ddl}"
    ));
    db.execute(
        "INSERT INTO v1.notes VALUES (1, 'a', 'one'), (2, 'b', 'two'), (3, 'c', 'reject me')",
    );
    must_pass(run(&db, &out, "migrate.sql", &[]), "migrate");
    let archived: String = db
        .client()
        .query_one("SELECT source_row::text FROM _pgmig.rejects", &[])
        .unwrap()
        .get(0);
    assert_eq!(archived, r#"{"t": "c", "id": 3, "body": "reject me"}"#);
    assert!(verify(&db, &out).0, "verify of an untouched migration");

    db.execute("UPDATE v1.notes SET body = 'changed' WHERE id = 1");
    let (passed, text) = verify(&db, &out);
    assert!(
        !passed && text.contains("FAIL  V1 changed since migrate: v1.notes"),
        "{text}"
    );
    db.execute("UPDATE v1.notes SET body = 'one' WHERE id = 1");
    assert!(verify(&db, &out).0, "V1 as it was");

    db.execute("UPDATE public.notes SET body = 'the application' WHERE id = 2");
    let out_rollback = run(&db, &out, "rollback.sql", &[]);
    let text = stderr(&out_rollback);
    assert!(
        !out_rollback.status.success()
            && text.contains(
                "public.notes: 1 migrated row modified since migrate (keys: {\"id\": 2})"
            ),
        "{text}"
    );
}
