//! Self-referencing tables (tests/it/fixtures/models/org_chart: employees managed by
//! employees, managers with higher ids than their reports) in every mode: batched and
//! per-entity migrate insert in hierarchy order, verify passes, rollback is exact; a cycle in
//! V1 is a blocking precheck finding naming its rows and migrate refuses it before writing.

use std::path::PathBuf;

use crate::support::{cluster, repo_root, TestDb};
use crate::workout::{count, must_pass, run, stderr};

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
    crate::support::compile_ddl(&model.path().join("model.yaml"), &fixture().join("v1.sql"), &fixture().join("v2.sql"))
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
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "transaction migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "transaction verify");
    db.table_md5s(&["public"])
}

/// Precheck, migrate, verify and rollback in `mode`: the rows of one transaction, and back.
fn migrates_in_hierarchy_order(mode: &str, db_name: &str) -> String {
    let expected = reference();
    let db = org_db(db_name);
    let dir = compiled(Some(mode));
    let before = db.table_md5s(USER_SCHEMAS);
    let precheck = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(precheck.contains("precheck: no blocking finding"), "{precheck}");
    let notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    assert_eq!(count(&db, "SELECT count(*) FROM public.employees"), 17, "{notices}");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");
    assert_eq!(db.table_md5s(&["public"]), expected, "the rows of one transaction");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before, "rollback leaves V1 and V2 as before");
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
