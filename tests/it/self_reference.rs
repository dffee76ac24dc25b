//! Self-referencing tables (tests/it/fixtures/models/org_chart: employees managed by
//! employees, managers with higher ids than their reports) in every mode: batched and
//! per-entity migrate insert in hierarchy order, verify passes, rollback is exact; a cycle in
//! V1 is a blocking precheck finding naming its rows and migrate refuses it before writing.

use std::path::PathBuf;

use crate::support::scripts::{count, must_pass, run, stderr};
use crate::support::{cluster, repo_root, TestDb};

const USER_SCHEMAS: &[&str] = &["v1", "public"];

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/org_chart")
}

const BATCHED: &str = "mode: { batched: { size: 2 } }";
const PER_ENTITY: &str = "mode: { per_entity: { root: employees, size: 2 } }";

/// The fixture model with `mode` (none: transaction mode), compiled into a fresh directory.
fn compiled(mode: Option<&str>) -> tempfile::TempDir {
    let text = std::fs::read_to_string(fixture().join("model.yaml")).unwrap();
    let edited = match mode {
        Some(m) => text.replacen("name: org_chart\n", &format!("name: org_chart\n{m}\n"), 1),
        None => text.clone(),
    };
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), edited).unwrap();
    crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    )
}

/// V1 with the fixture's rows in `v1`, an empty V2 in `public`.
fn org_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    db.load_in_schema(&fixture().join("data.sql"), "v1");
    db
}

/// What one transaction-mode migrate gives (md5 of the V2 tables' ordered rows).
fn reference() -> std::collections::BTreeMap<String, String> {
    let db = org_db("selfref_reference");
    let dir = compiled(None);
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "transaction migrate",
    );
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "transaction verify",
    );
    db.table_md5s(&["public"])
}

/// Precheck, migrate, verify and rollback in `mode`: the rows of one transaction, and back.
fn migrates_in_hierarchy_order(mode: &str, db_name: &str) -> String {
    let expected = reference();
    let db = org_db(db_name);
    let dir = compiled(Some(mode));
    let before = db.table_md5s(USER_SCHEMAS);
    let precheck = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(
        precheck.contains("precheck: no blocking finding"),
        "{precheck}"
    );
    let notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.employees"),
        17,
        "{notices}"
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");
    assert_eq!(
        db.table_md5s(&["public"]),
        expected,
        "the rows of one transaction"
    );
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "rollback leaves V1 and V2 as before"
    );
    format!("{precheck}\n{notices}")
}

#[test]
fn batched_mode_inserts_managers_before_their_reports() {
    let out = migrates_in_hierarchy_order(BATCHED, "selfref_batched");
    assert!(out.contains("HIERARCHY  employees"), "{out}");
}

#[test]
fn per_entity_mode_migrates_managers_before_their_reports() {
    let out = migrates_in_hierarchy_order(PER_ENTITY, "selfref_entities");
    assert!(out.contains("0 entities failed"), "{out}");
}

/// 40 and 41 manage each other, 42 reports to 41: in transaction mode one statement inserts
/// them; batches and entities can't put either of 40, 41 first.
const CYCLE: &str = "INSERT INTO v1.employees (id, name, manager_id) VALUES (40, 'Forty', 41), (41, 'Forty-one', 40), (42, 'Forty-two', 41)";

/// Precheck blocks, naming the rows; migrate refuses before writing any V2 row (rollback
/// finds nothing to undo), and migrates from the start once the cycle is gone.
fn a_cycle_is_refused(mode: &str, db_name: &str) -> String {
    let db = org_db(db_name);
    db.execute(CYCLE);
    let dir = compiled(Some(mode));
    let before = db.table_md5s(USER_SCHEMAS);
    let precheck = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(
        !precheck.status.success(),
        "precheck must block:\n{}",
        stderr(&precheck)
    );
    let notices = stderr(&precheck);
    assert!(
        notices.contains(
            r#"BLOCKING  employees: foreign key employees_manager_id_fkey: 3 rows are their own ancestors (a cycle, or under one): no order inserts each after its parent, e.g. {"id": 40}, {"id": 41}, {"id": 42}"#
        ),
        "{notices}"
    );
    let migrate = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(!migrate.status.success(), "migrate must refuse");
    let refused = stderr(&migrate);
    assert!(refused.contains("3 rows are their own ancestors through foreign key employees_manager_id_fkey (a cycle, or under one)"), "{refused}");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "nothing of V2 was written"
    );
    let undo = run(&db, dir.path(), "rollback.sql", &[]);
    assert!(
        stderr(&undo).contains("nothing to roll back"),
        "{}",
        stderr(&undo)
    );
    // The cycle broken in V1, the same scripts migrate from the start.
    db.execute("DELETE FROM v1.employees WHERE id >= 40");
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate once the cycle is gone",
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(db.table_md5s(&["public"]), reference());
    refused
}

#[test]
fn batched_mode_refuses_a_cycle_before_writing() {
    let refused = a_cycle_is_refused(BATCHED, "selfref_cycle_batched");
    assert!(
        refused.contains(
            r#"e.g. {"id": 40}, {"id": 41}, {"id": 42}; nothing of this step was written"#
        ),
        "{refused}"
    );
}

#[test]
fn per_entity_mode_refuses_a_cycle_before_migrating_anything() {
    let refused = a_cycle_is_refused(PER_ENTITY, "selfref_cycle_entities");
    assert!(
        refused.contains(r#"e.g. {"id": 40}, {"id": 41}, {"id": 42}; nothing was migrated"#),
        "{refused}"
    );
}

/// Transaction mode inserts a cycle in its one statement: precheck says so without blocking.
#[test]
fn transaction_mode_inserts_a_cycle_in_one_statement() {
    let db = org_db("selfref_cycle_transaction");
    db.execute(CYCLE);
    let dir = compiled(None);
    let precheck = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(precheck.contains("HIERARCHY  employees: foreign key employees_manager_id_fkey: 8 levels, 3 rows in cycles; one statement inserts them all"), "{precheck}");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(count(&db, "SELECT count(*) FROM public.employees"), 20);
}

/// Modes that commit in parts can't order two self-references, nor keys made by `key: new`:
/// compile errors at the step, with a way out.
#[test]
fn what_batches_cannot_order_is_a_compile_error() {
    let v2 = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture().join("v2.sql")).unwrap();
    let two = text.replace("    manager_id bigint REFERENCES employees (id)\n", "    manager_id bigint REFERENCES employees (id),\n    mentor_id bigint REFERENCES employees (id)\n");
    assert_ne!(two, text);
    std::fs::write(v2.path().join("v2.sql"), two).unwrap();
    let model = tempfile::tempdir().unwrap();
    let model_text = std::fs::read_to_string(fixture().join("model.yaml"))
        .unwrap()
        .replacen(
            "name: org_chart\n",
            &format!("name: org_chart\n{BATCHED}\n"),
            1,
        );
    let with_mentor = model_text.replace(
        "      full_name: e.name\n",
        "      full_name: e.name\n      mentor_id: e.manager_id\n",
    );
    std::fs::write(model.path().join("model.yaml"), &with_mentor).unwrap();
    let err = pgmig::compile(
        &model.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(fixture().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(v2.path().join("v2.sql")),
    )
    .unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("step employees: public.employees has 2 foreign keys to itself (employees_manager_id_fkey, employees_mentor_id_fkey)"), "{text}");
    assert!(text.contains("use `mode: transaction`"), "{text}");
    // The same model in transaction mode compiles.
    std::fs::write(
        model.path().join("model.yaml"),
        with_mentor.replace(&format!("{BATCHED}\n"), ""),
    )
    .unwrap();
    pgmig::compile(
        &model.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(fixture().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(v2.path().join("v2.sql")),
    )
    .unwrap();
}

/// The employees made new keys (`key: new`), each looking up its manager's new key with
/// `id(employees, …)`, in transaction mode: every manager is found, whichever row of the same
/// run made it (with the source read once into a stage, the lookup saw only earlier waves'
/// keys and every manager_id was NULL).
#[test]
fn a_new_key_step_looks_up_its_own_rows_of_the_same_run() {
    let text = std::fs::read_to_string(fixture().join("model.yaml")).unwrap();
    let edited = text.replacen(
        "    key: keep\n    columns:\n      full_name: e.name\n",
        "    key: { new: nextval('public.employee_ids'), by: [e.id] }\n    columns:\n      full_name: e.name\n      manager_id: id(employees, e.manager_id)\n",
        1,
    );
    assert_ne!(edited, text);
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), edited).unwrap();
    let v2 = std::fs::read_to_string(fixture().join("v2.sql")).unwrap();
    let keys = "CREATE SEQUENCE employee_ids START 1000;\n";
    std::fs::write(model.path().join("v2.sql"), format!("{keys}{v2}")).unwrap();
    let dir = crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &fixture().join("v1.sql"),
        &model.path().join("v2.sql"),
    );
    let db = org_db("selfref_new_key");
    db.execute(&format!("SET search_path = public; {keys}"));
    let before = db.table_md5s(USER_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let pairs = |schema: &str, name: &str| {
        let sql = format!(
            "SELECT string_agg(e.{name} || ' <- ' || coalesce(m.{name}, '-'), ', ' ORDER BY e.{name}) \
             FROM {schema}.employees AS e LEFT JOIN {schema}.employees AS m ON m.id = e.manager_id"
        );
        let row = db.client().query_one(sql.as_str(), &[]).unwrap();
        row.get::<_, String>(0)
    };
    assert_eq!(pairs("public", "full_name"), pairs("v1", "name"));
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before, "rollback is exact");
}
