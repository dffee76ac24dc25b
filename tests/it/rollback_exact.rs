//! rollback.sql undoes exactly what migrate.sql did. After migrate, an application writes as
//! applications do: rows under migrated parents, updates to migrated rows, deletes, rows of
//! its own. Rollback then refuses, naming what it found, and changes nothing (every table
//! of V1, V2 and _pgmig compared by content); with `-v cascade=on` and `-v modified=delete`
//! the result is exactly the one asserted; without application writes every table is back
//! to its content before migrate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::scripts::{count, must_pass, run, stderr};
use crate::support::{cluster, repo_root, TestDb};

const ALL_SCHEMAS: &[&str] = &["v1", "public", "_pgmig"];

fn workout() -> PathBuf {
    repo_root().join("models/workout")
}

/// Workout's V2 with an application table of its own (tests/it/fixtures/rollback): a NO
/// ACTION foreign key into the migrated plans.
fn v2_with_app_table(dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(workout().join("v2.sql")).unwrap();
    text.push('\n');
    text.push_str(
        &std::fs::read_to_string(
            repo_root().join("tests/it/fixtures/rollback/workout_app_tables.sql"),
        )
        .unwrap(),
    );
    let path = dir.join("v2.sql");
    std::fs::write(&path, text).unwrap();
    path
}

/// The workout model in `mode` (a `mode:` line, or none) compiled against the V2 with the
/// application table; the model's directory holds that V2 as v2.sql.
fn compiled(mode: Option<&str>) -> (tempfile::TempDir, tempfile::TempDir) {
    let model = crate::support::model_variant(&workout().join("model.yaml"), |m| match mode {
        Some(mode) => m.replacen(
            "\nname: workout\n",
            &format!("\nname: workout\n{mode}\n"),
            1,
        ),
        None => format!("{m}\n"),
    });
    let v2 = v2_with_app_table(model.path());
    let out = crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &workout().join("v1.sql"),
        &v2,
    );
    (model, out)
}

/// V1 with its sample rows in `v1`, the V2 of [`compiled`] (empty) in `public`.
fn database(name: &str, model: &Path) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&workout().join("v1.sql"), "v1");
    db.load_in_schema(&model.join("v2.sql"), "public");
    db.load_in_schema(&workout().join("sample.sql"), "v1");
    db
}

const BATCHED: &str = "mode: { batched: { size: 3 } }";
const PER_ENTITY: &str = "mode: { per_entity: { root: workout_plans, size: 2 } }";

/// Every table of _pgmig but the log holds nothing of the model after a rollback, and the
/// id maps are gone: what _pgmig keeps is the log, every migrate row marked rolled back.
fn assert_bookkeeping_cleared(db: &TestDb) {
    for (table, content) in db.table_md5s(&["_pgmig"]) {
        if table == "_pgmig.log" {
            continue;
        }
        assert_eq!(content, "0:-", "{table} after rollback");
    }
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM _pgmig.log WHERE script = 'migrate' AND status <> 'rolled back'"
        ),
        0,
        "every migrate row of the log is marked rolled back"
    );
}

/// The pre-migrate state, with the _pgmig tables left out (there was no _pgmig then).
fn user_tables(md5s: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    md5s.iter()
        .filter(|(t, _)| !t.starts_with("_pgmig."))
        .map(|(t, v)| (t.clone(), v.clone()))
        .collect()
}

fn untouched_migration_rolls_back_to_the_state_before_migrate(mode: Option<&str>, name: &str) {
    let (model, dir) = compiled(mode);
    let db = database(name, model.path());
    let before = db.table_md5s(ALL_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let migrated = count(&db, "SELECT count(*) FROM public.exercises");
    assert!(migrated > 0, "migrate filled V2");
    let undo = must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert!(!undo.contains("modified"), "{undo}");
    assert_eq!(
        user_tables(&db.table_md5s(ALL_SCHEMAS)),
        before,
        "V1 and V2 are as before migrate"
    );
    assert_bookkeeping_cleared(&db);
}

#[test]
fn untouched_migration_rolls_back_exactly_transaction() {
    untouched_migration_rolls_back_to_the_state_before_migrate(None, "rbx_clean_tx");
}

#[test]
fn untouched_migration_rolls_back_exactly_batched() {
    untouched_migration_rolls_back_to_the_state_before_migrate(Some(BATCHED), "rbx_clean_batched");
}

#[test]
fn untouched_migration_rolls_back_exactly_per_entity() {
    untouched_migration_rolls_back_to_the_state_before_migrate(
        Some(PER_ENTITY),
        "rbx_clean_entity",
    );
}

/// The application's writes after migrate, each as an application would make them.
const APP_DELETES_A_MIGRATED_LOG: &str =
    "DELETE FROM public.exercise_logs WHERE id = (SELECT min(id::text)::uuid FROM public.exercise_logs)";
const APP_PLAN: &str = "INSERT INTO public.workout_plans (user_id, name, total_weeks) \
     VALUES ('00000000-0000-0000-0000-0000000000aa', 'app plan', 4)";
const APP_LOG_UNDER_MIGRATED_SESSION: &str =
    "INSERT INTO public.exercise_logs (session_id, set_number) \
     SELECT id, 1 FROM public.workout_sessions ORDER BY id LIMIT 1";
const APP_WEEK_UNDER_MIGRATED_PLAN: &str =
    "INSERT INTO public.workout_weeks (plan_id, week_number) \
     SELECT id, 99 FROM public.workout_plans WHERE name <> 'app plan' ORDER BY id LIMIT 1";
const APP_SESSION_ON_MIGRATED_PLAN: &str = "INSERT INTO public.workout_sessions (user_id, plan_id, status, notes) \
     SELECT user_id, id, 'in_progress', 'app session' FROM public.workout_plans WHERE name <> 'app plan' ORDER BY id LIMIT 1";
const APP_EDITS_A_MIGRATED_EXERCISE: &str =
    "UPDATE public.exercises SET notes = 'edited by the app' \
     WHERE id = (SELECT min(id::text)::uuid FROM public.exercises)";
const APP_NOTE_ON_MIGRATED_PLAN: &str = "INSERT INTO public.plan_notes (plan_id, body) \
     SELECT id, 'a note' FROM public.workout_plans WHERE name <> 'app plan' ORDER BY id LIMIT 1";

/// Rows as text, sorted: what a table holds, to compare with what it must hold.
fn rows(db: &TestDb, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = db
        .client()
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    out.sort();
    out
}

fn refused(db: &TestDb, dir: &Path, vars: &[(&str, &str)], what: &str) -> String {
    let before = db.table_md5s(ALL_SCHEMAS);
    let out = run(db, dir, "rollback.sql", vars);
    let text = stderr(&out);
    assert!(
        !out.status.success(),
        "{what}: rollback must refuse:\n{text}"
    );
    assert_eq!(
        db.table_md5s(ALL_SCHEMAS),
        before,
        "{what}: a refused rollback changes no table of V1, V2 or _pgmig"
    );
    text
}

fn application_writes_are_found_and_the_override_is_exact(mode: Option<&str>, name: &str) {
    let (model, dir) = compiled(mode);
    let db = database(name, model.path());
    let v1_before = db.table_md5s(&["v1"]);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let edited: String = db
        .client()
        .query_one("SELECT min(id::text) FROM public.exercises", &[])
        .unwrap()
        .get(0);
    for write in [
        APP_DELETES_A_MIGRATED_LOG,
        APP_PLAN,
        APP_LOG_UNDER_MIGRATED_SESSION,
        APP_WEEK_UNDER_MIGRATED_PLAN,
        APP_SESSION_ON_MIGRATED_PLAN,
        APP_EDITS_A_MIGRATED_EXERCISE,
    ] {
        db.execute(write);
    }

    // Refused by default: every finding named, with its table and count.
    let text = refused(&db, dir.path(), &[], "application writes");
    for needle in [
        "public.exercise_logs: 1 row references a migrated row of public.workout_sessions (exercise_logs_session_id_fkey, ON DELETE CASCADE: deleted)",
        "public.workout_weeks: 1 row references a migrated row of public.workout_plans (workout_weeks_plan_id_fkey, ON DELETE CASCADE: deleted)",
        "public.workout_sessions: 1 row references a migrated row of public.workout_plans (workout_sessions_plan_id_fkey, ON DELETE SET NULL: set to NULL)",
        &format!("public.exercises: 1 migrated row modified since migrate (keys: {{\"id\": \"{edited}\"}})"),
        "-v cascade=on",
        "-v modified=delete",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // One override is not the other.
    let text = refused(&db, dir.path(), &[("cascade", "on")], "cascade=on alone");
    assert!(text.contains("modified since migrate"), "{text}");
    assert!(!text.contains("references a migrated row"), "{text}");
    let text = refused(
        &db,
        dir.path(),
        &[("modified", "delete")],
        "modified=delete alone",
    );
    assert!(!text.contains("modified since migrate"), "{text}");
    assert!(text.contains("references a migrated row"), "{text}");
    // A foreign key with no ON DELETE action can't be overridden: refused before deleting.
    db.execute(APP_NOTE_ON_MIGRATED_PLAN);
    let text = refused(
        &db,
        dir.path(),
        &[("cascade", "on"), ("modified", "delete")],
        "a NO ACTION reference",
    );
    assert!(
        text.contains("public.plan_notes: 1 row references a migrated row of public.workout_plans (plan_notes_plan_id_fkey, ON DELETE NO ACTION: rollback cannot delete it)"),
        "{text}"
    );
    assert!(!text.contains("violates foreign key constraint"), "{text}");
    db.execute("DELETE FROM public.plan_notes");

    // With both overrides: migrated rows gone (the edited one too), the application's rows
    // under them deleted or set to NULL by V2's foreign keys, its own plan kept.
    let app_session_then: Vec<String> = rows(
        &db,
        "SELECT ROW(id, user_id, NULL::uuid, day_id, started_at, completed_at, status, notes)::text \
         FROM public.workout_sessions WHERE notes = 'app session'",
    );
    let app_plan_then = rows(
        &db,
        "SELECT t::text FROM public.workout_plans AS t WHERE name = 'app plan'",
    );
    let undo = must_pass(
        run(
            &db,
            dir.path(),
            "rollback.sql",
            &[("cascade", "on"), ("modified", "delete")],
        ),
        "rollback with both overrides",
    );
    assert!(
        undo.contains("public.exercises: 1 migrated row modified since migrate"),
        "{undo}"
    );
    assert_eq!(
        rows(&db, "SELECT t::text FROM public.workout_sessions AS t"),
        app_session_then,
        "the application's session stays, its migrated plan set to NULL"
    );
    assert_eq!(
        rows(&db, "SELECT t::text FROM public.workout_plans AS t"),
        app_plan_then,
        "only the application's own plan is left"
    );
    for table in [
        "workout_weeks",
        "workout_days",
        "exercises",
        "exercise_logs",
        "plan_notes",
    ] {
        assert_eq!(
            count(&db, &format!("SELECT count(*) FROM public.{table}")),
            0,
            "{table}: the migrated rows and the application's rows under them are gone"
        );
    }
    assert_eq!(db.table_md5s(&["v1"]), v1_before, "V1 is only read");
    assert_bookkeeping_cleared(&db);
}

#[test]
fn application_writes_transaction() {
    application_writes_are_found_and_the_override_is_exact(None, "rbx_app_tx");
}

#[test]
fn application_writes_batched() {
    application_writes_are_found_and_the_override_is_exact(Some(BATCHED), "rbx_app_batched");
}

#[test]
fn application_writes_per_entity() {
    application_writes_are_found_and_the_override_is_exact(Some(PER_ENTITY), "rbx_app_entity");
}

/// Writes that touch no migrated row (a row of the application's own; a migrated row the
/// application deleted) don't stop rollback: it removes the rest, keeps the application's.
#[test]
fn harmless_writes_are_left_as_they_are() {
    let (model, dir) = compiled(None);
    let db = database("rbx_harmless", model.path());
    let before = db.table_md5s(ALL_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    db.execute(APP_DELETES_A_MIGRATED_LOG);
    db.execute(APP_PLAN);
    let app_plan = rows(
        &db,
        "SELECT t::text FROM public.workout_plans AS t WHERE name = 'app plan'",
    );
    let undo = must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert!(
        undo.contains("public.exercise_logs: 1 migrated row already deleted since migrate"),
        "{undo}"
    );
    let mut after = user_tables(&db.table_md5s(ALL_SCHEMAS));
    assert_eq!(
        rows(&db, "SELECT t::text FROM public.workout_plans AS t"),
        app_plan,
        "the application's plan stays"
    );
    after.remove("public.workout_plans");
    let mut expected = before.clone();
    expected.remove("public.workout_plans");
    assert_eq!(after, expected, "every other table as before migrate");
    assert_bookkeeping_cleared(&db);
}

/// School: foreign keys without ON DELETE actions everywhere. A user role the application
/// gives a migrated user, and a migrated school it renames, are named before anything is
/// deleted; without them rollback gives back every table.
#[test]
fn school_application_writes_are_refused_by_name() {
    let dir = crate::support::school::compiled();
    let db = crate::support::school::school_db("rbx_school", 1);
    let before = db.table_md5s(ALL_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    db.execute(
        "INSERT INTO public.user_roles (user_id, role_id) \
         SELECT u.id, r.id FROM public.users AS u, public.roles AS r \
         WHERE NOT EXISTS (SELECT 1 FROM public.user_roles AS x WHERE x.user_id = u.id AND x.role_id = r.id) \
         ORDER BY u.id, r.id LIMIT 1",
    );
    db.execute("UPDATE public.schools SET name = name || ' (renamed)' WHERE id = (SELECT min(id::text)::uuid FROM public.schools)");
    let text = refused(
        &db,
        dir.path(),
        &[("cascade", "on"), ("modified", "delete")],
        "school",
    );
    assert!(
        text.contains("public.user_roles: 1 row references a migrated row of public.users (user_roles_user_id_fkey, ON DELETE NO ACTION: rollback cannot delete it)"),
        "{text}"
    );
    assert!(
        !text.contains("modified since migrate"),
        "modified=delete allows it: {text}"
    );
    let text = refused(&db, dir.path(), &[], "school");
    assert!(
        text.contains("public.schools: 1 migrated row modified since migrate"),
        "{text}"
    );

    // The application takes its writes back: rollback gives every table back.
    db.execute("DELETE FROM public.user_roles WHERE NOT EXISTS (SELECT 1 FROM _pgmig.map_teacher_roles AS m WHERE m.id = user_roles.id) AND NOT EXISTS (SELECT 1 FROM _pgmig.map_parent_roles AS m WHERE m.id = user_roles.id) AND NOT EXISTS (SELECT 1 FROM _pgmig.map_student_roles AS m WHERE m.id = user_roles.id)");
    db.execute("UPDATE public.schools SET name = left(name, -length(' (renamed)')) WHERE name LIKE '% (renamed)'");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        user_tables(&db.table_md5s(ALL_SCHEMAS)),
        before,
        "V1 and V2 as before migrate"
    );
    assert_bookkeeping_cleared(&db);
}

/// Rows further down a CASCADE chain are counted before anything is deleted
/// (tests/it/fixtures/models/chain): a migrated project → an application's task (CASCADE) →
/// its comment (CASCADE) → a flag on it (NO ACTION). Even with `-v cascade=on` rollback
/// refuses, naming the flag's table, the chain and the count, where it used to stop on
/// PostgreSQL's foreign key error; PLAN.md lists the chain. The flag removed, `-v cascade=on`
/// rolls back, deleting the task and its comment as it says. (The tasks ↔ comments cycle
/// through a task's pinned comment ends the compile's walk.)
#[test]
fn rollback_counts_rows_down_a_cascade_chain() {
    let fixture = repo_root().join("tests/it/fixtures/models/chain");
    let out = crate::support::compile_ddl(
        &fixture.join("model.yaml"),
        &fixture.join("v1.sql"),
        &fixture.join("v2.sql"),
    );
    let plan = std::fs::read_to_string(out.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains("| `public.comment_flags` (comment_id) | `public.task_comments` (its rows ON DELETE CASCADE deletes with migrated ones: `public.projects → public.tasks → public.task_comments → public.comment_flags`) | `comment_flags_comment_id_fkey` | NO ACTION |"),
        "{plan}"
    );
    let db = cluster().create_db("rollback_chain");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture.join("v1.sql"), "v1");
    db.load_in_schema(&fixture.join("data.sql"), "v1");
    db.load_in_schema(&fixture.join("v2.sql"), "public");
    must_pass(run(&db, out.path(), "migrate.sql", &[]), "migrate");
    db.execute(
        "INSERT INTO public.tasks (id, project_id) VALUES (10, 2), (11, 3);
         INSERT INTO public.task_comments (id, task_id, body) VALUES (100, 10, 'leaks'), (101, 11, 'fine');
         UPDATE public.tasks SET pinned_comment_id = 100 WHERE id = 10;
         INSERT INTO public.comment_flags (id, comment_id, reason) VALUES (1000, 100, 'spam');",
    );
    let written = db.table_md5s(&ALL_SCHEMAS[1..]);

    for vars in [&[][..], &[("cascade", "on")][..]] {
        let refused = run(&db, out.path(), "rollback.sql", vars);
        let text = stderr(&refused);
        assert!(!refused.status.success(), "{vars:?}: {text}");
        assert!(
            text.contains("public.comment_flags: 1 row references a row of public.task_comments that ON DELETE CASCADE deletes with a migrated row (public.projects → public.tasks → public.task_comments → public.comment_flags) (comment_flags_comment_id_fkey, ON DELETE NO ACTION: rollback cannot delete it)"),
            "{vars:?}: {text}"
        );
        // Without -v cascade=on the rows CASCADE would delete refuse too.
        assert!(
            !vars.is_empty() || text.contains("public.task_comments: 2 rows reference a row of public.tasks that ON DELETE CASCADE deletes with a migrated row (public.projects → public.tasks → public.task_comments)"),
            "{vars:?}: {text}"
        );
        assert!(
            !text.contains("violates foreign key constraint"),
            "{vars:?}: {text}"
        );
        assert_eq!(
            db.table_md5s(&ALL_SCHEMAS[1..]),
            written,
            "{vars:?}: a refused rollback changes nothing"
        );
    }

    db.execute("DELETE FROM public.comment_flags");
    let text = must_pass(
        run(&db, out.path(), "rollback.sql", &[("cascade", "on")]),
        "rollback -v cascade=on without the flag",
    );
    assert!(
        text.contains("public.tasks: 2 rows reference a migrated row of public.projects (tasks_project_id_fkey, ON DELETE CASCADE: deleted): rolled back as -v cascade / -v modified say"),
        "{text}"
    );
    for table in ["projects", "tasks", "task_comments"] {
        assert_eq!(
            count(&db, &format!("SELECT count(*) FROM public.{table}")),
            0,
            "{table}"
        );
    }
}
