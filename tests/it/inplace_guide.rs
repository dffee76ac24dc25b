//! Seed 003 ("Migration Procedures for UUID Schema Conversion") point by point, on the uuid
//! model in place: what a team following the guide hits first. The application writing
//! after migrate and then rolling back, bad data found before anything is written, UUIDs
//! spelled without hyphens, objects outside the model that hang on a changed column, the
//! guide's cleanup step, and PLAN.md's sizes from a live database.

use crate::support::scripts::count;
use crate::support::scripts::{must_pass, run, stderr};
use crate::support::uuid::{compiled, ddl, live, md5s, models, uuid_db, NOT_UUID};
use crate::support::TestDb;

fn text(db: &TestDb, sql: &str) -> String {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

/// What migrate leaves behind in a database: backups, new columns, running log rows.
fn traces(db: &TestDb) -> (i64, i64, i64) {
    let backups = count(
        db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'backup%'",
    );
    let columns = count(
        db,
        "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND a.attname LIKE 'pgmig%' AND NOT a.attisdropped",
    );
    let running = count(
        db,
        "SELECT CASE WHEN to_regclass('_pgmig.log') IS NULL THEN 0
                ELSE (SELECT count(*) FROM _pgmig.log WHERE status = 'running') END",
    );
    (backups, columns, running)
}

/// The application goes on after migrate: new rows (one for a user whose V1 id is spelled in
/// upper case), a reminder moved to another user, one only marked done, a row deleted.
/// Rollback keeps all of it in V1's form, and restores the original spellings of the rows
/// it backed up: the same tables as V1 with the same writes made there.
#[test]
fn rollback_keeps_what_the_application_wrote_since_migrate() {
    let db = uuid_db("ipg_writes", false);
    let reference = uuid_db("ipg_writes_ref", false);
    let dir = compiled(1000);
    let upper = text(
        &db,
        "SELECT id FROM users WHERE id <> lower(id) ORDER BY id LIMIT 1",
    );
    let lower = text(
        &db,
        "SELECT id FROM users WHERE id = lower(id) ORDER BY id LIMIT 1",
    );
    let moved = count(
        &db,
        &format!("SELECT min(id) FROM reminders WHERE user_id = '{upper}'"),
    );
    let marked = count(
        &db,
        &format!("SELECT max(id) FROM reminders WHERE user_id = '{upper}'"),
    );
    assert_ne!(moved, marked);
    let deleted = count(&db, "SELECT min(id) FROM tags");
    let fresh = "00000000-0000-4000-8000-000000000001";
    // The same writes, spelled for V2 (uuid) and for V1 (the ids as V1 stores them).
    let writes = |id: &dyn Fn(&str) -> String| {
        format!(
            "INSERT INTO users (id, email, created_at) VALUES ({fresh}, 'new@example.com', '2026-01-02');
             INSERT INTO tags (id, user_id, name) VALUES (900001, {upper}, 'written after migrate');
             INSERT INTO journal_entries (id, user_id, title, created_at)
             VALUES (900001, {lower}, 'after migrate', '2026-01-02'),
                    (900002, {fresh}, 'a new user''s entry', '2026-01-02');
             UPDATE reminders SET user_id = {lower}, message = 'moved' WHERE id = {moved};
             UPDATE reminders SET done = true WHERE id = {marked};
             DELETE FROM tags WHERE id = {deleted};",
            fresh = id(fresh),
            upper = id(&upper),
            lower = id(&lower),
        )
    };
    reference.execute(&writes(&|v| format!("'{v}'")));

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    db.execute(&writes(&|v| format!("'{v}'::uuid")));
    let out = must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        live(&db),
        ddl("v1.sql"),
        "after rollback the tables are V1's"
    );
    assert_eq!(
        md5s(&db),
        md5s(&reference),
        "rollback keeps the application's writes, in V1's spelling"
    );
    assert!(
        out.contains("journal_entries.user_id: 2 rows written or changed since migrate"),
        "{out}"
    );
    assert!(
        out.contains("reminders.user_id: 1 rows written or changed since migrate"),
        "{out}"
    );
}

/// Bad data stops migrate before it writes anything, with the keys; fixed, migrate runs.
#[test]
fn migrate_refuses_bad_data_before_it_writes_and_runs_once_fixed() {
    let db = uuid_db("ipg_validate", true);
    let dir = compiled(1000);
    let before = md5s(&db);
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    let said = stderr(&out);
    assert!(!out.status.success(), "migrate must refuse:\n{said}");
    assert!(
        said.contains("users.id: does not convert to uuid")
            && said.contains("id=user-375: 'user-375'")
            && said.contains("tags.user_id: NULL, and V2 makes it NOT NULL"),
        "{said}"
    );
    assert!(said.contains("run precheck.sql"), "{said}");
    assert!(!said.contains("invalid input syntax"), "{said}");
    assert_eq!(md5s(&db), before, "a refused migrate changes no row");
    assert_eq!(traces(&db), (0, 0, 0), "a refused migrate leaves nothing");

    db.execute(&format!(
        "DELETE FROM users WHERE id {NOT_UUID};
         DELETE FROM reminders r WHERE user_id {NOT_UUID} OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id);
         DELETE FROM tags WHERE user_id IS NULL;"
    ));
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate once fixed",
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

/// An interrupted migrate: precheck says so (and what to run), and migrate resumes.
#[test]
fn precheck_says_when_a_migrate_is_half_done() {
    let db = uuid_db("ipg_half", false);
    let dir = compiled(10);
    assert!(db.migrate_until_batches(&dir.path().join("migrate.sql"), "pgmig-ipg-half", 30));
    let said = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    let line = said
        .lines()
        .find(|l| l.contains("half done"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        line.contains("being filled") && line.contains("run migrate.sql to resume"),
        "{line}"
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "resumed migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

/// UUIDs without hyphens, in braces, in upper case are UUIDs: precheck passes, migrate
/// converts them, verify compares uuid values (not text) and passes; rollback gives back
/// each spelling.
#[test]
fn uuids_spelled_otherwise_convert_and_verify() {
    let db = uuid_db("ipg_spelling", false);
    let dir = compiled(1000);
    db.execute(
        "INSERT INTO users (id, email, created_at) VALUES
           ('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'plain@example.com', '2026-01-02'),
           ('{A0EEBC999C0B4EF8BB6D6BB9BD380A12}', 'braces@example.com', '2026-01-02'),
           ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A13', 'upper@example.com', '2026-01-02');
         INSERT INTO journal_entries (id, user_id, title, created_at) VALUES
           (900001, 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 't', '2026-01-02'),
           (900002, '{A0EEBC999C0B4EF8BB6D6BB9BD380A12}', 't', '2026-01-02');
         INSERT INTO reminders (id, user_id, remind_at, message) VALUES
           (900001, '{A0EEBC999C0B4EF8BB6D6BB9BD380A12}', '2026-01-02', 'm');",
    );
    let before = md5s(&db);
    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(!pre.contains("BLOCKING"), "{pre}");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM journal_entries WHERE user_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'"
        ),
        1
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(!verify.contains("FAIL"), "{verify}");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(md5s(&db), before, "rollback gives back every spelling");
}

/// Objects V1's DDL does not list that hang on a changed column or on a key migrate drops:
/// a foreign key from another table, an index, a trigger. The swap would fail on the first
/// after the whole fill, and silently drop the others: precheck names each, and migrate
/// refuses before it writes.
#[test]
fn objects_outside_the_model_on_a_changed_column_are_found_first() {
    let db = uuid_db("ipg_dependents", false);
    let dir = compiled(1000);
    db.execute(
        "CREATE TABLE audit (id bigint PRIMARY KEY, user_id varchar(36) REFERENCES users (id));
         CREATE INDEX users_id_lower ON users (lower(id));
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER tags_user_changed BEFORE UPDATE OF user_id ON tags
           FOR EACH ROW EXECUTE FUNCTION touch();",
    );
    let before = md5s(&db);
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    let said = stderr(&out);
    assert!(!out.status.success(), "{said}");
    let line = said
        .lines()
        .find(|l| l.contains("BLOCKING  objects outside the model"))
        .unwrap_or_else(|| panic!("{said}"));
    for object in [
        "constraint audit_user_id_fkey on table public.audit depends on column id of table public.users",
        "index public.users_id_lower depends on column id of table public.users",
        "trigger tags_user_changed on table public.tags depends on column user_id of table public.tags",
    ] {
        assert!(line.contains(object), "no {object} in {line}");
    }
    assert!(line.contains(": 3 rows"), "{line}");
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    let said = stderr(&out);
    assert!(
        !out.status.success() && said.contains("audit_user_id_fkey"),
        "{said}"
    );
    assert_eq!(md5s(&db), before);
    assert_eq!(traces(&db), (0, 0, 0), "a refused migrate leaves nothing");
    db.execute(
        "DROP TABLE audit; DROP INDEX users_id_lower; DROP TRIGGER tags_user_changed ON tags;",
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
}

/// The guide's step 6: drop the backups once verified. cleanup.sql runs verify's checks
/// and refuses if one fails; after it, rollback and verify say the backups are gone.
#[test]
fn cleanup_drops_the_backups_only_when_verify_passes() {
    let db = uuid_db("ipg_cleanup", false);
    let dir = compiled(1000);
    let refused = run(&db, dir.path(), "cleanup.sql", &[]);
    assert!(
        !refused.status.success() && stderr(&refused).contains("run migrate.sql first"),
        "{}",
        stderr(&refused)
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let original = text(&db, "SELECT user_id::text FROM reminders WHERE id = 7");
    db.execute(
        "UPDATE reminders SET user_id = (SELECT id FROM users ORDER BY id LIMIT 1) WHERE id = 7",
    );
    let tampered = run(&db, dir.path(), "cleanup.sql", &[]);
    let said = stderr(&tampered);
    assert!(
        !tampered.status.success()
            && said.contains("FAIL  reminders.user_id: every value equals")
            && said.contains("cleanup: refused"),
        "{said}"
    );
    assert_eq!(traces(&db).0, 4, "a refused cleanup keeps the backups");
    db.execute(&format!(
        "UPDATE reminders SET user_id = '{original}' WHERE id = 7"
    ));
    let migrated = md5s(&db);
    // A dry run of either changes nothing (before, both ignored -v dry_run and ran for real).
    for script in ["cleanup.sql", "rollback.sql"] {
        let out = run(&db, dir.path(), script, &[("dry_run", "1")]);
        assert!(
            out.status.success(),
            "{script} -v dry_run=1: {}",
            stderr(&out)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("ran and was rolled back; nothing changed"),
            "{said}"
        );
        assert_eq!(md5s(&db), migrated, "{script} -v dry_run=1 changed rows");
        assert_eq!(traces(&db).0, 4, "{script} -v dry_run=1 kept the backups");
        assert_eq!(
            live(&db),
            ddl("v2.sql"),
            "{script} -v dry_run=1 kept V2's types"
        );
    }
    must_pass(run(&db, dir.path(), "cleanup.sql", &[]), "cleanup");
    assert_eq!(md5s(&db), migrated, "cleanup changes no row");
    assert_eq!(traces(&db).0, 0, "cleanup drops the backups");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '_pgmig' AND p.proname LIKE 'inplace_%'"
        ),
        0
    );
    for script in ["rollback.sql", "verify.sql"] {
        let o = run(&db, dir.path(), script, &[]);
        assert!(
            !o.status.success() && stderr(&o).contains("cleaned up"),
            "{script}: {}",
            stderr(&o)
        );
    }
    assert_eq!(md5s(&db), migrated);
    assert_eq!(live(&db), ddl("v2.sql"));
}

/// Compiled against the live V1, PLAN.md gives each table's rows and size and an estimate
/// of the fill and of the index builds before the swap (the swap itself reads no table).
#[test]
fn plan_from_a_live_database_gives_sizes_and_the_window() {
    let db = uuid_db("ipg_plan", false);
    db.execute("ANALYZE");
    let c = pgmig::compile(
        &models().join("model.yaml"),
        &pgmig::SchemaInput::Database(db.url()),
        &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let plan = &c
        .scripts
        .files
        .iter()
        .find(|(n, _)| *n == "PLAN.md")
        .unwrap()
        .1;
    for row in [
        "| `public.journal_entries` | 3,000 |",
        "| `public.users` | 500 |",
        "| `public.tags` | 1,000 |",
        "| `public.reminders` | 1,500 |",
    ] {
        assert!(plan.contains(row), "no `{row}` in:\n{plan}");
    }
    assert!(
        plan.contains("Estimated key and index builds before the swap (CONCURRENTLY")
            && plan.contains("The swap's window (ACCESS EXCLUSIVE) reads no table"),
        "{plan}"
    );
    // From DDL files there are no sizes, and PLAN.md says where to get them.
    let from_ddl = pgmig::compile(
        &models().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(models().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
    )
    .unwrap();
    let plan = &from_ddl
        .scripts
        .files
        .iter()
        .find(|(n, _)| *n == "PLAN.md")
        .unwrap()
        .1;
    assert!(
        plan.contains("compile with `--v1` a live database"),
        "{plan}"
    );
}
