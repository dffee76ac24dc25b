//! Inheritance children of a V2 target (tests/it/fixtures/models/inherit): `members_archive
//! () INHERITS (members)`, filled by a step of its own, and `member_snapshots`, the
//! application's. PostgreSQL enforces a parent's PRIMARY KEY in the parent alone, so a child
//! may hold a row with a migrated row's key, and `FROM members` reads the children's rows as
//! rows of members. The scripts read and delete each target's own rows (`ONLY`): verify
//! counts and compares the rows migrate wrote, and rollback deletes them and nothing else.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{cluster, repo_root, TestDb};

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/inherit")
}

fn run(db: &TestDb, dir: &Path, script: &str) -> Output {
    db.psql_file(dir.join(script), &[])
}

fn must_pass(o: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{what} failed:\n{stderr}");
    stderr
}

/// Every row of the tree under public.members, with the table holding it.
fn members(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT m.tableoid::regclass::text || '|' || m.id || '|' || m.email
               FROM public.members AS m ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn rollback_and_verify_leave_the_rows_of_a_targets_inheritance_children_alone() {
    let dir = crate::support::compile_ddl(
        &fixture().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    let db = cluster().create_db("inherit");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    // Archived member 1 kept the id of live member 1: both migrate, to two tables.
    db.execute(
        "INSERT INTO v1.members VALUES (1, 'ana@example.org'), (2, 'bo@example.org');
         INSERT INTO v1.archived_members VALUES (1, 'ana@old.example.org', '2020-01-01 00:00+00'),
                                                (3, 'cy@example.org', '2021-06-01 00:00+00');",
    );
    let before = db.table_md5s(&["v1", "public"]);

    must_pass(run(&db, dir.path(), "precheck.sql"), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql"), "migrate");
    let verified = must_pass(run(&db, dir.path(), "verify.sql"), "verify after migrate");
    assert!(
        verified.contains("PASS  members: row counts: 2 source = 2 migrated")
            && verified.contains("PASS  public.members: no rows beyond the migrated ones"),
        "{verified}"
    );

    // The application snapshots member 2: a row of a child with a migrated row's key.
    db.execute("INSERT INTO public.member_snapshots (id, email) SELECT id, email FROM ONLY public.members WHERE id = 2");
    let verified = must_pass(
        run(&db, dir.path(), "verify.sql"),
        "verify after the snapshot",
    );
    assert!(
        verified.contains("verify: every check passed"),
        "{verified}"
    );

    let undone = must_pass(run(&db, dir.path(), "rollback.sql"), "rollback");
    assert!(
        undone.contains("undo members: 2 rows deleted")
            && undone.contains("undo members_archive: 2 rows deleted"),
        "{undone}"
    );
    // The application's row stays; every other table is as before migrate.
    assert_eq!(members(&db), ["member_snapshots|2|bo@example.org"]);
    db.execute("DELETE FROM public.member_snapshots");
    assert_eq!(db.table_md5s(&["v1", "public"]), before);
}
