//! `mode: {per_entity: …}` on the drills model: one user with everything under it is the unit
//! of work; a failing user is rolled back alone and the run goes on; a killed run resumes.

use crate::support::drills::{compiled_per_entity, drills, drills_db};
use crate::support::scripts::{count, must_pass, stderr};

#[test]
fn a_failing_entity_is_rolled_back_alone_and_the_run_goes_on() {
    let db = drills_db("per_entity_fail", 1);
    let dir = compiled_per_entity(4);
    let before = db.table_md5s(&["public"]);
    // User 7's first session can't be inserted: the whole of user 7 must be left out.
    db.execute(
        "CREATE FUNCTION public.refuse_user_7() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.user_id = (SELECT id FROM public.users WHERE email = 'apple7@example.com')
              AND NEW.date = (SELECT min(date) FROM v1.completed_sessions WHERE user_id = 7) THEN
             RAISE EXCEPTION 'planted failure';
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_user_7 BEFORE INSERT ON public.completed_sessions FOR EACH ROW EXECUTE FUNCTION public.refuse_user_7();",
    );
    let out = db.psql_file(dir.path().join("migrate.sql"), &[]);
    let log = must_pass(out, "per-entity migrate");
    // The error names the step that failed, and its line in the model (one line longer than models/drills/: the mode).
    assert!(log.contains("entity {\"id\": 7} failed and was rolled back: step completed_sessions (model.yaml:25) failed: planted failure"), "{log}");
    assert!(log.contains("1 entities failed"), "{log}");
    // User 7: one reject (rule 0, with the error), nothing of it in V2.
    let reason: String = db
        .client()
        .query_one("SELECT reason FROM _pgmig.rejects WHERE model = 'drills' AND step = 'users' AND rule = 0 AND source_key = '{\"id\": 7}'", &[])
        .unwrap()
        .get(0);
    assert_eq!(reason, "the entity failed and was rolled back: step completed_sessions (model.yaml:25) failed: planted failure");
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.rejects WHERE rule = 0"),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.users WHERE email = 'apple7@example.com'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.map_users WHERE source_id = 7"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM _pgmig.map_completed_sessions m JOIN v1.completed_sessions s ON s.id = m.source_id WHERE s.user_id = 7"), 0);
    // Every other user is there, with its sessions.
    let others = count(&db, "SELECT count(*) FROM v1.users WHERE id <> 7");
    assert_eq!(count(&db, "SELECT count(*) FROM _pgmig.map_users"), others);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.users u JOIN _pgmig.map_users m ON m.id = u.id"
        ),
        others,
        "the other users are migrated"
    );
    // Counts still reconcile: user 7 is a reject, its sessions are filtered (their user is not migrated).
    must_pass(db.psql_file(dir.path().join("verify.sql"), &[]), "verify");
    db.execute("DROP TRIGGER refuse_user_7 ON public.completed_sessions; DROP FUNCTION public.refuse_user_7()");
    must_pass(
        db.psql_file(dir.path().join("rollback.sql"), &[]),
        "rollback",
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        before,
        "rollback leaves V2 as before"
    );
}

#[test]
fn a_killed_per_entity_run_resumes_to_the_same_result() {
    let db = drills_db("per_entity_kill", 1);
    let dir = compiled_per_entity(3);
    let before = db.table_md5s(&["public"]);
    // Killed once two batches (6 users) are committed, then run again.
    let cut = db.migrate_until_batches(&dir.path().join("migrate.sql"), "pgmig_per_entity_kill", 2);
    assert!(
        cut,
        "the run must be cut short for this test to mean anything"
    );
    let done = count(&db, "SELECT count(*) FROM _pgmig.map_users");
    assert!(
        done >= 6 && done < count(&db, "SELECT count(*) FROM v1.users"),
        "{done} users done at the kill"
    );
    let resumed = must_pass(
        db.psql_file(dir.path().join("migrate.sql"), &[]),
        "resumed migrate",
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.map_users"),
        count(&db, "SELECT count(*) FROM v1.users")
    );
    // How many users overwrote a stale copy and how many were created: the whole run's,
    // the users committed before the kill included.
    let overwritten = count(&db, "SELECT count(*) FROM v1.users WHERE id % 4 = 0");
    let created = count(&db, "SELECT count(*) FROM v1.users") - overwritten;
    assert!(
        resumed.contains(&format!("REPLACE  users: {overwritten} migrated rows overwrote a V2 row with the same (email), {created} were created")),
        "{resumed}"
    );
    let message: String = db
        .client()
        .query_one("SELECT message FROM _pgmig.log WHERE model = 'drills' AND script = 'migrate' AND step = 'users'", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        message,
        format!("{overwritten} overwritten, {created} created")
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.rejects WHERE rule = 0"),
        0
    );
    must_pass(
        db.psql_file(dir.path().join("verify.sql"), &[]),
        "verify after resume",
    );
    // The replaced stale copies were backed up once each.
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.replaced_users_users"),
        count(&db, "SELECT count(*) FROM v1.users WHERE id % 4 = 0")
    );
    let again = db.psql_file(dir.path().join("migrate.sql"), &[]);
    assert!(
        !again.status.success() && stderr(&again).contains("already migrated"),
        "a finished run is not repeated"
    );
    must_pass(
        db.psql_file(dir.path().join("rollback.sql"), &[]),
        "rollback",
    );
    assert_eq!(db.table_md5s(&["public"]), before);
}

#[test]
fn per_entity_needs_every_step_under_the_root() {
    let text = std::fs::read_to_string(drills().join("model.yaml")).unwrap();
    // Without its id() lookup, progress_history's rows belong to no user.
    let edited = text
        .replacen("name: drills\n", "name: drills\nmode: { per_entity: { root: users } }\n", 1)
        .replace("    from: users u\n    where: id(users, u.id) IS NOT NULL\n", "    from: users u\n")
        .replace("      user_id: id(users, u.id)\n      current_streak", "      user_id: (SELECT x.id FROM public.users x WHERE x.email = u.email)\n      current_streak")
        .replace("WHERE s.user_id = id(users, u.id)", "WHERE s.user_id = (SELECT x.id FROM public.users x WHERE x.email = u.email)");
    assert!(
        !edited.contains("id(users, u.id)"),
        "the edit must remove progress_history's id() lookups"
    );
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), &edited).unwrap();
    let err = pgmig::compile(
        &model.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(drills().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(drills().join("v2.sql")),
    )
    .unwrap_err();
    let pgmig::CompileError::Model { diagnostics, .. } = &err else {
        panic!("{err:?}")
    };
    let text = format!("{diagnostics:?}");
    assert!(
        text.contains("per_entity: step progress_history makes no id() lookup into users"),
        "{text}"
    );

    let unknown = text_with_root("user");
    let err = compile_text(&unknown).unwrap_err();
    assert!(
        format!("{err:?}").contains("per_entity: no step is named `user`"),
        "{err:?}"
    );
}

fn text_with_root(root: &str) -> String {
    let text = std::fs::read_to_string(drills().join("model.yaml")).unwrap();
    text.replacen(
        "name: drills\n",
        &format!("name: drills\nmode: {{ per_entity: {{ root: {root} }} }}\n"),
        1,
    )
}

fn compile_text(text: &str) -> Result<pgmig::Compiled, pgmig::CompileError> {
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), text).unwrap();
    pgmig::compile(
        &model.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(drills().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(drills().join("v2.sql")),
    )
}
