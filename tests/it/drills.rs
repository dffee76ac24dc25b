//! The drills model (models/drills, seed 000) end to end on a real PostgreSQL: Apple users
//! from V1 (integer ids) into a live V2 that Android users already use (uuid ids), where some
//! Apple users have stale copies (same email) that the migration replaces.
//!
//! The checks after migrate are an oracle written here, in SQL against V1 and the V2 state
//! recorded before the run, independently of the generated scripts: users one-to-one by email
//! with fresh uuids, counts that reconcile, content through the id maps, the session JSON
//! rewritten element by element ("uuid" first, no "id", the rest untouched), the rejected
//! sessions exactly those naming a drill V2 lacks, progress metrics recomputed by hand, and
//! every Android user's rows untouched. Then rollback gives V2 back byte for byte (stale
//! copies included) while keeping what the application wrote since. `--only` migrates one
//! root user; the model's compile errors and a precheck finding close the file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::compile_errors::{assert_compile_error, compile_variant, location};
use crate::support::drills::{
    compiled, compiled_only, drills, drills_db, full_migration_oracle, STREAK_RUNS, V1_UNMATCHED,
};
use crate::support::scripts::{assert_oracle, count, must_pass, run, stderr, strings};
use crate::support::TestDb;

/// Sample data scale of the database tests (the sample's per-unit counts are multiplied by it).
const SCALE: i64 = 1;

/// The V2 tables a user owns rows in, with the condition tying a row `x` to user `u`: through
/// user_id, or through the group (drill_group_items, drill_group_item_notes).
const USER_TABLES: &[(&str, &str)] = &[
    ("users", "x.id = u.id"),
    ("completed_sessions", "x.user_id = u.id"),
    ("session_preferences", "x.user_id = u.id"),
    ("drill_groups", "x.user_id = u.id"),
    (
        "drill_group_items",
        "x.group_id IN (SELECT g.id FROM public.drill_groups g WHERE g.user_id = u.id)",
    ),
    (
        "drill_group_item_notes",
        "x.group_id IN (SELECT g.id FROM public.drill_groups g WHERE g.user_id = u.id)",
    ),
    ("ordered_session_drills", "x.user_id = u.id"),
    ("progress_history", "x.user_id = u.id"),
];

/// Per V2 user matching `filter` (on `u`, a public.users row), keyed by email: an md5 of all
/// the user's rows in every V2 table, each table's rows as text in order.
fn user_md5s(db: &TestDb, filter: &str) -> BTreeMap<String, String> {
    let parts: Vec<String> = USER_TABLES
        .iter()
        .map(|(t, on)| format!("'{t}:' || coalesce((SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM public.{t} x WHERE {on}), '-')"))
        .collect();
    let sql = format!(
        "SELECT u.email, md5({}) FROM public.users u WHERE {filter}",
        parts.join(" || E'\\n' || ")
    );
    db.client()
        .query(&sql, &[])
        .unwrap_or_else(|e| panic!("{sql}\n{}", crate::support::pg_error_text(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Per V2 table (`public.<t>`), the rows owned by the V2 users matching `filter`.
fn rows_under(db: &TestDb, filter: &str) -> BTreeMap<String, i64> {
    USER_TABLES
        .iter()
        .map(|(t, on)| (format!("public.{t}"), count(db, &format!("SELECT count(*) FROM public.users u JOIN public.{t} x ON {on} WHERE {filter}"))))
        .collect()
}

/// precheck's `REPLACE  users: N rows of public.T would be deleted …` lines, as T → N.
fn replace_counts(notices: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in notices.lines() {
        let Some(rest) = line.split("REPLACE  users: ").nth(1) else {
            continue;
        };
        let (n, rest) = rest
            .split_once(" rows of ")
            .unwrap_or_else(|| panic!("{line}"));
        let table = rest.split_whitespace().next().unwrap();
        assert!(
            rest.ends_with("would be deleted and restored by rollback"),
            "{line}"
        );
        out.insert(
            table.to_string(),
            n.parse().unwrap_or_else(|_| panic!("{line}")),
        );
    }
    out
}

/// The row count part (`N:` before the md5) of a `table_md5s` value.
fn rows_of(md5s: &BTreeMap<String, String>, table: &str) -> i64 {
    md5s[table].split(':').next().unwrap().parse().unwrap()
}

#[test]
fn migrate_full_oracle_then_rollback_keeps_what_the_app_wrote() {
    let db = drills_db("drills_e2e", SCALE);
    let dir = compiled();

    // Before: Android users are the V2 users whose email V1 does not have; the others are the
    // stale Apple copies (the sample plants one for every Apple user u % 4 = 0).
    // Emails compare case-insensitively and trimmed: the sample types two stale copies' emails
    // by hand ('Apple8@Example.com', '  apple16@example.com ').
    let android = "lower(btrim(u.email)) NOT IN (SELECT lower(btrim(email)) FROM v1.users)";
    let apple = "lower(btrim(u.email)) IN (SELECT lower(btrim(email)) FROM v1.users)";
    let android_before = user_md5s(&db, android);
    let stale_before = user_md5s(&db, apple);
    assert_eq!(android_before.len() as i64, 15 * SCALE);
    assert!(
        android_before.keys().all(|e| e.starts_with("android")),
        "{android_before:?}"
    );
    let expected_stale: Vec<String> = (1..=20 * SCALE)
        .filter(|u| u % 4 == 0)
        .map(|u| match u % 20 {
            8 => format!("Apple{u}@Example.com"),
            16 => format!("  apple{u}@example.com "),
            _ => format!("apple{u}@example.com"),
        })
        .collect();
    assert_eq!(
        stale_before
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        expected_stale.iter().cloned().collect(),
        "the stale copies"
    );
    let stale_ids = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {apple} ORDER BY 1"),
    );
    let stale_notes = strings(&db, &format!("SELECT n::text FROM public.drill_group_item_notes n JOIN public.drill_groups g ON g.id = n.group_id JOIN public.users u ON u.id = g.user_id WHERE {apple} ORDER BY 1"));
    assert_eq!(stale_notes.len() as i64, 5 * SCALE);
    let under_stale = rows_under(&db, apple);
    let public_before = db.table_md5s(&["public"]);
    let v1_before = db.table_md5s(&["v1"]);

    // precheck: passes, writes nothing, and says what replace will delete.
    let t = std::time::Instant::now();
    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(pre.contains("precheck: no blocking finding"), "{pre}");
    assert_eq!(
        replace_counts(&pre),
        under_stale,
        "REPLACE lines = the rows under the stale copies; precheck said:\n{pre}"
    );
    assert_eq!(under_stale["public.users"], 5 * SCALE);
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "precheck changed V2"
    );
    eprintln!("drills: precheck {:?}", t.elapsed());

    let t = std::time::Instant::now();
    let migrated_notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    eprintln!("drills: migrate {:?}", t.elapsed());
    // migrate says how many users it overwrote (a stale copy, matched by email) and created.
    let overwritten = under_stale["public.users"];
    let created = count(&db, "SELECT count(*) FROM v1.users") - overwritten;
    let said = format!("REPLACE  users: {overwritten} migrated rows overwrote a V2 row with the same (email), {created} were created");
    assert!(
        migrated_notices.contains(&said),
        "{said}\n{migrated_notices}"
    );
    assert_eq!(
        strings(&db, "SELECT message FROM _pgmig.log WHERE model = 'drills' AND script = 'migrate' AND step = 'users'"),
        [format!("{overwritten} overwritten, {created} created")]
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(
        verify.contains("verify: every check passed") && !verify.contains("FAIL"),
        "{verify}"
    );

    // The oracle.
    assert_oracle(&db, &full_migration_oracle(&stale_ids));
    // The planted cases (sample_v1.sql's header): 8 sessions (s % 20 = 7), 2 items and 2
    // ordered drills per unit of scale are rejected; the rejected sessions by id.
    let rejects = |step: &str| {
        count(
            &db,
            &format!(
                "SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = '{step}'"
            ),
        )
    };
    assert_eq!(
        (
            rejects("completed_sessions"),
            rejects("drill_group_items"),
            rejects("ordered_session_drills")
        ),
        (8 * SCALE, 2 * SCALE, 2 * SCALE)
    );
    assert_eq!(
        strings(&db, "SELECT source_key ->> 'id' FROM _pgmig.rejects WHERE step = 'completed_sessions' ORDER BY (source_key ->> 'id')::int"),
        strings(&db, "SELECT cs.id::text FROM v1.completed_sessions cs WHERE cs.id % 20 = 7 ORDER BY cs.id"),
    );
    // V2 users = Android + V1; every table = before - the stale rows + the migrated rows.
    let after = db.table_md5s(&["public"]);
    assert_eq!(
        rows_of(&after, "public.users"),
        android_before.len() as i64 + count(&db, "SELECT count(*) FROM v1.users")
    );
    assert_eq!(
        strings(
            &db,
            &format!("SELECT email FROM public.users u WHERE {android} ORDER BY 1")
        ),
        android_before.keys().cloned().collect::<Vec<_>>(),
        "the Android users, no more"
    );
    let migrated = rows_under(&db, "u.id IN (SELECT id FROM _pgmig.map_users)");
    for (table, n) in &migrated {
        assert_eq!(
            rows_of(&after, table),
            rows_of(&public_before, table) - under_stale[table] + n,
            "{table}: before - replaced + migrated"
        );
    }
    assert_eq!(
        migrated["public.drill_group_item_notes"], 0,
        "V1 has no notes"
    );
    assert_eq!(
        rows_of(&after, "public.drills"),
        rows_of(&public_before, "public.drills"),
        "the catalog is V2's own"
    );
    assert_eq!(after["public.drills"], public_before["public.drills"]);
    assert_eq!(
        user_md5s(&db, android),
        android_before,
        "Android users' rows changed"
    );
    assert_eq!(db.table_md5s(&["v1"]), v1_before, "V1 is only read");
    assert_eq!(count(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'replaced\\_%'"), 8, "the backups of replace");

    // The Android app writes a session after the migration.
    let new_session = "'00000000-0000-4000-8000-00000000beef'";
    let new_drills = r#"[{"drill": {"uuid": "6ab5c5b8-4bd1-1d35-b1a1-a5d3e5c9f5d0", "title": "x"}, "setsDone": 1}]"#;
    db.execute(&format!(
        "INSERT INTO public.completed_sessions (id, user_id, date, drills, total_minutes)
         SELECT {new_session}, u.id, date '2025-03-01', '{new_drills}', 12 FROM public.users u WHERE u.email = 'android1@example.com'"
    ));

    let t = std::time::Instant::now();
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    eprintln!("drills: rollback {:?}", t.elapsed());
    let kept = strings(&db, &format!("SELECT u.email || ' ' || c.date || ' ' || c.total_minutes || ' ' || c.drills::text FROM public.completed_sessions c JOIN public.users u ON u.id = c.user_id WHERE c.id = {new_session}"));
    assert_eq!(
        kept,
        [format!("android1@example.com 2025-03-01 12 {new_drills}")],
        "rollback keeps the session the app wrote"
    );
    // Stale copies back byte for byte: the same uuids, the same notes, the same rows.
    assert_eq!(
        strings(
            &db,
            &format!("SELECT u.id::text FROM public.users u WHERE {apple} ORDER BY 1")
        ),
        stale_ids
    );
    assert_eq!(strings(&db, &format!("SELECT n::text FROM public.drill_group_item_notes n JOIN public.drill_groups g ON g.id = n.group_id JOIN public.users u ON u.id = g.user_id WHERE {apple} ORDER BY 1")), stale_notes);
    assert_eq!(
        user_md5s(&db, apple),
        stale_before,
        "stale copies restored byte for byte"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND (tablename LIKE 'replaced\\_%' OR tablename LIKE 'map\\_%')"), 0, "backups and maps dropped");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills'"
        ),
        0
    );
    // Everything else as before, once the app's session is taken out again.
    db.execute(&format!(
        "DELETE FROM public.completed_sessions WHERE id = {new_session}"
    ));
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
    assert_eq!(user_md5s(&db, android), android_before);
    assert_eq!(db.table_md5s(&["v1"]), v1_before);

    // And it migrates again to the same content (fresh uuids aside).
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate again");
    assert_oracle(&db, &full_migration_oracle(&stale_ids));
}

/// `--only 'users.email = …'` on a user with a stale copy: that user alone is replaced and
/// created, with its dependents; nothing else in V2 moves; rollback puts it back.
#[test]
fn only_one_user_with_a_stale_copy() {
    let email = "apple4@example.com";
    let db = drills_db("drills_only", SCALE);
    let dir = compiled_only(&format!("users.email = '{email}'"));
    let this = format!("u.email = '{email}'");
    let others = format!("u.email <> '{email}'");
    let others_before = user_md5s(&db, &others);
    assert_eq!(
        others_before.len() as i64,
        15 * SCALE + 5 * SCALE - 1,
        "Android users and the other stale copies"
    );
    let old_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(old_id.len(), 1, "{email} has a stale copy");
    let under_this = rows_under(&db, &this);
    let public_before = db.table_md5s(&["public"]);

    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert_eq!(
        replace_counts(&pre),
        under_this,
        "REPLACE lines = the rows under {email}'s stale copy; precheck said:\n{pre}"
    );
    assert!(
        pre.contains("REPLACE  users: 1 rows of public.users"),
        "{pre}"
    );
    assert!(
        pre.contains("step users: 20 source rows, 19 filtered by `where`"),
        "{pre}"
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "precheck changed V2"
    );

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = stderr(&run(&db, dir.path(), "verify.sql", &[]));
    // Every check passes, the model's assertion too (it reads only the sessions migrated).
    assert!(!verify.contains("FAIL  "), "{verify}");
    for step in [
        "users",
        "completed_sessions",
        "session_preferences",
        "drill_groups",
        "drill_group_items",
        "ordered_session_drills",
        "progress_history",
    ] {
        assert!(
            verify.contains(&format!("PASS  {step}: row counts:")),
            "{step}: {verify}"
        );
        assert!(
            verify.contains(&format!("PASS  {step}: content equals V1 recomputed")),
            "{step}: {verify}"
        );
    }

    // One user migrated: V1 user 4, a fresh uuid in place of the stale copy's.
    assert_eq!(
        strings(&db, "SELECT source_id::text FROM _pgmig.map_users"),
        ["4"]
    );
    let new_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(
        new_id,
        strings(&db, "SELECT id::text FROM _pgmig.map_users")
    );
    assert_ne!(new_id, old_id, "a fresh uuid");
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM public.users WHERE id = '{}'",
                old_id[0]
            )
        ),
        0,
        "the stale copy is gone"
    );
    // Its rows: V1's, less the rejected ones (session 27 names 'Retired Juggle').
    let expected = BTreeMap::from([
        ("public.users".to_string(), 1),
        ("public.completed_sessions".to_string(), count(&db, &format!("SELECT count(*) FROM v1.completed_sessions cs WHERE cs.user_id = 4 AND NOT {V1_UNMATCHED}"))),
        ("public.session_preferences".to_string(), count(&db, "SELECT count(*) FROM v1.session_preferences WHERE user_id = 4")),
        ("public.drill_groups".to_string(), count(&db, "SELECT count(*) FROM v1.drill_groups WHERE user_id = 4")),
        (
            "public.drill_group_items".to_string(),
            count(&db, "SELECT count(*) FROM v1.drill_group_items i JOIN v1.drill_groups g ON g.id = i.group_id JOIN v1.drills d ON d.id = i.drill_id WHERE g.user_id = 4 AND d.title IN (SELECT title FROM public.drills)"),
        ),
        ("public.drill_group_item_notes".to_string(), 0),
        (
            "public.ordered_session_drills".to_string(),
            count(&db, "SELECT count(*) FROM v1.ordered_session_drills o JOIN v1.drills d ON d.id = o.drill_id WHERE o.user_id = 4 AND d.title IN (SELECT title FROM public.drills)"),
        ),
        ("public.progress_history".to_string(), 1),
    ]);
    assert_eq!(rows_under(&db, &this), expected);
    assert_eq!(
        expected["public.completed_sessions"], 7,
        "8 slots, session 27 rejected"
    );
    assert_eq!(
        strings(&db, "SELECT step || ' ' || (source_row ->> 'user_id') FROM _pgmig.rejects WHERE model = 'drills' ORDER BY 1"),
        ["completed_sessions 4"],
        "the only reject is user 4's session"
    );
    // Nothing else: the other Apple users are not migrated, the other stale copies and the
    // Android users untouched, every table = before - the replaced rows + user 4's rows.
    assert_eq!(count(&db, "SELECT count(*) FROM public.users u JOIN v1.users v ON v.email = u.email WHERE v.id % 4 <> 0"), 0, "other Apple users are not migrated");
    assert_eq!(
        user_md5s(&db, &others),
        others_before,
        "other users' rows changed"
    );
    let after = db.table_md5s(&["public"]);
    for (table, n) in &expected {
        assert_eq!(
            rows_of(&after, table),
            rows_of(&public_before, table) - under_this[table] + n,
            "{table}"
        );
    }
    assert_eq!(
        rows_of(&after, "public.users"),
        rows_of(&public_before, "public.users"),
        "one user replaced, none added"
    );

    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
    assert_eq!(
        strings(
            &db,
            &format!("SELECT u.id::text FROM public.users u WHERE {this}")
        ),
        old_id
    );
}

/// verify.sql of an `--only` compile passes after its migrate: the model's assertion reads
/// only the sessions the migration wrote (its id map), not the stale copies `--only` leaves
/// alone (old drill uuids, by design of the sample).
#[test]
fn only_verify_passes() {
    let db = drills_db("drills_only_verify", SCALE);
    let dir = compiled_only("users.email = 'apple4@example.com'");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");
}

/// `--only` with a literal holding a line break: the replace step's backup and delete read the
/// same value as the step's own selection. Re-indenting the condition put spaces into the
/// literal, so the stale copy went unmatched and migrate hit V2's unique email.
#[test]
fn only_a_literal_with_a_line_break_selects_what_it_says() {
    let email = "apple4\nline@example.com";
    let db = drills_db("drills_only_newline", SCALE);
    // User 4 and its stale V2 copy, both with the line break in their email.
    db.execute(
        "UPDATE v1.users SET email = E'apple4\\nline@example.com' WHERE email = 'apple4@example.com';
         UPDATE public.users SET email = E'apple4\\nline@example.com' WHERE email = 'apple4@example.com'",
    );
    let this = "u.email = E'apple4\\nline@example.com'";
    let old_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(old_id.len(), 1, "the stale copy");
    let public_before = db.table_md5s(&["public"]);
    let dir = compiled_only(&format!("users.email = '{email}'"));

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");
    // The one user migrated is V1's user 4, under its own email, in place of the stale copy.
    assert_eq!(
        strings(&db, "SELECT source_id::text FROM _pgmig.map_users"),
        ["4"]
    );
    let new_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(
        new_id,
        strings(&db, "SELECT id::text FROM _pgmig.map_users")
    );
    assert_ne!(new_id, old_id, "the stale copy is replaced");
    assert_eq!(
        strings(&db, "SELECT email FROM _pgmig.replaced_users_users"),
        [email],
        "the backup holds the stale copy, whose email is the literal's"
    );

    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
}

/// The backups of the replaced V2 rows are sealed at migrate: a backup row changed since is a
/// verify FAIL naming the backup, and rollback (which puts V2's rows back from the backups)
/// refuses before it changes anything, naming it. Put back as migrate left it, verify passes
/// and rollback gives V2 back exactly.
#[test]
fn a_changed_replace_backup_fails_verify_and_rollback_refuses_naming_it() {
    let db = drills_db("drills_backup_seal", SCALE);
    let dir = compiled();
    let v2_before = db.table_md5s(&["public"]);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(
        verify.contains(
            "PASS  replace backup _pgmig.replaced_users_users as migrate sealed it (5 rows)"
        ),
        "{verify}"
    );

    // A backed-up V2 row changed (the tables' owner can write _pgmig's copies of its rows).
    let original = strings(&db, "SELECT min(email) FROM _pgmig.replaced_users_users").remove(0);
    db.execute(&format!(
        "UPDATE _pgmig.replaced_users_users SET email = 'attacker@example.com' WHERE email = '{original}'"
    ));
    let changed = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        !changed.status.success()
            && stderr(&changed).contains(
                "FAIL  replace backup _pgmig.replaced_users_users changed since migrate: 5 rows now, 5 sealed"
            ),
        "{}",
        stderr(&changed)
    );
    let after_migrate = db.table_md5s(&["public", "_pgmig"]);
    let rollback = run(&db, dir.path(), "rollback.sql", &[]);
    assert!(
        !rollback.status.success()
            && stderr(&rollback).contains("rollback: refused, nothing was changed")
            && stderr(&rollback).contains("_pgmig.replaced_users_users changed since migrate"),
        "{}",
        stderr(&rollback)
    );
    assert_eq!(
        db.table_md5s(&["public", "_pgmig"]),
        after_migrate,
        "a refused rollback changes no row"
    );

    // A backup row deleted: the count tells.
    db.execute(
        "CREATE SCHEMA kept;
         CREATE TABLE kept.sessions AS SELECT * FROM _pgmig.replaced_users_completed_sessions;
         DELETE FROM _pgmig.replaced_users_completed_sessions WHERE id = (SELECT max(id::text)::uuid FROM kept.sessions)",
    );
    let sessions = count(&db, "SELECT count(*) FROM kept.sessions");
    let deleted = stderr(&run(&db, dir.path(), "verify.sql", &[]));
    assert!(
        deleted.contains(&format!(
            "FAIL  replace backup _pgmig.replaced_users_completed_sessions changed since migrate: {} rows now, {sessions} sealed",
            sessions - 1
        )),
        "{deleted}"
    );

    // Both put back as migrate left them: verify passes, rollback gives V2 back exactly.
    db.execute(&format!(
        "UPDATE _pgmig.replaced_users_users SET email = '{original}' WHERE email = 'attacker@example.com';
         INSERT INTO _pgmig.replaced_users_completed_sessions
         SELECT * FROM kept.sessions WHERE id NOT IN (SELECT id FROM _pgmig.replaced_users_completed_sessions);
         DROP SCHEMA kept CASCADE"
    ));
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify put back");
    assert!(verify.contains("verify: every check passed"), "{verify}");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(db.table_md5s(&["public"]), v2_before, "V2 after rollback");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.seals WHERE subject LIKE 'backup %'"
        ),
        0,
        "the backups' seals go with them"
    );
}

/// progress_history of a migrated user is computed like V2's own rows (the Android ones,
/// sample_v2.sql's header): drills_per_session averages the elements that hold a drill, and
/// <skill>_drills_completed counts the completed ones.
#[test]
fn progress_metrics_follow_v2s_own_definition() {
    let db = drills_db("drills_metrics", SCALE);
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let differ = |filter: &str| {
        strings(
            &db,
            &format!(
                "SELECT u.email || ': ' || row(p.drills_per_session, p.dribbling_drills_completed, p.passing_drills_completed, p.shooting_drills_completed)::text
                        || ' <> ' || row(o.dps, o.dr, o.pa, o.sh)::text
                   FROM public.users u JOIN public.progress_history p ON p.user_id = u.id
                  CROSS JOIN LATERAL (
                        SELECT (SELECT round(avg((SELECT count(*) FROM json_array_elements(c.drills) e WHERE json_typeof(e -> 'drill') = 'object')), 2)
                                  FROM public.completed_sessions c WHERE c.user_id = u.id) AS dps,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'dribbling')::int AS dr,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'passing')::int AS pa,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'shooting')::int AS sh
                          FROM public.completed_sessions c CROSS JOIN LATERAL json_array_elements(c.drills) AS e
                         WHERE c.user_id = u.id AND (e ->> 'isCompleted')::boolean) o
                  WHERE {filter}
                    AND row(p.drills_per_session, p.dribbling_drills_completed, p.passing_drills_completed, p.shooting_drills_completed)
                        IS DISTINCT FROM row(o.dps, o.dr, o.pa, o.sh)
                  ORDER BY 1"
            ),
        )
    };
    assert_eq!(
        differ("u.email LIKE 'android%'"),
        Vec::<String>::new(),
        "the definition, checked on V2's own rows"
    );
    assert_eq!(
        differ("u.id IN (SELECT id FROM _pgmig.map_users)"),
        Vec::<String>::new(),
        "migrated users"
    );

    // Streaks: runs of consecutive session days (STREAK_RUNS), the definition checked on V2's
    // own users (sample_v2.sql: days 0 1 2 4 5 9, current 1, highest 3), then on the migrated.
    let streaks_differ = |filter: &str| {
        strings(
            &db,
            &(String::from("WITH ")
                + STREAK_RUNS
                + " SELECT u.email || ': ' || row(p.current_streak, p.highest_streak)::text
                          || ' <> ' || row(coalesce(st.current_streak, 0), coalesce(st.highest_streak, 0))::text
                     FROM public.users u JOIN public.progress_history p ON p.user_id = u.id
                     LEFT JOIN streaks st ON st.user_id = u.id
                    WHERE "
                + filter
                + " AND (p.current_streak, p.highest_streak)
                        IS DISTINCT FROM (coalesce(st.current_streak, 0), coalesce(st.highest_streak, 0))
                    ORDER BY 1"),
        )
    };
    assert_eq!(
        streaks_differ("u.email LIKE 'android%'"),
        Vec::<String>::new(),
        "the definition, checked on V2's own rows"
    );
    assert_eq!(
        streaks_differ("u.id IN (SELECT id FROM _pgmig.map_users)"),
        Vec::<String>::new(),
        "migrated users' streaks are their sessions' runs"
    );
    // The gap this closes: V1's stored streaks are stale for most users with sessions.
    let stale = count(
        &db,
        &(String::from("WITH ")
            + STREAK_RUNS
            + " SELECT count(*) FROM v1.progress_history ph
                 JOIN _pgmig.map_users mu ON mu.source_id = ph.user_id
                 JOIN streaks st ON st.user_id = mu.id
                WHERE (ph.current_streak, ph.highest_streak) <> (st.current_streak, st.highest_streak)"),
    );
    eprintln!("drills: {stale} users' V1 streaks differ from their sessions'");
    assert!(stale >= 10 * SCALE, "{stale}");
}

// ---- bad input ----------------------------------------------------------------------------

/// `pgmig <args> --v1 … --v2 … --out <out>` (the drills DDL files) in `cwd`.
fn pgmig_compile(cwd: &Path, args: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(cwd)
        .args(args)
        .arg("--v1")
        .arg(drills().join("v1.sql"))
        .arg("--v2")
        .arg(drills().join("v2.sql"))
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn compile_error_replace_on_a_column_not_unique_in_v2() {
    let (code, err, text) = compile_variant(&drills(), "replace: [email]", "replace: [name]");
    let loc = location(&text, "replace: [name]", 0, "replace: [".len());
    assert_compile_error(
        code,
        &err,
        &loc,
        "`replace` matches on (name), which is not UNIQUE in V2 table `public.users`",
        true,
    );
    assert!(
        err.contains("help: a migrated row must name at most one V2 row to replace"),
        "{err}"
    );
}

#[test]
fn compile_error_relink_json_to_a_column_not_unique_in_v2() {
    let (code, err, text) = compile_variant(&drills(), "to: drills.title", "to: drills.skill");
    let loc = location(&text, "drills.skill", 0, 0);
    assert_compile_error(
        code,
        &err,
        &loc,
        "relink_json: `public.drills.skill` must be UNIQUE, and the table's primary key one column",
        true,
    );
}

#[test]
fn compile_error_relink_json_on_a_column_that_is_not_json() {
    let (code, err, text) = compile_variant(
        &drills(),
        "{ column: drills, object: drill,",
        "{ column: date, object: drill,",
    );
    let loc = location(&text, "column: date, object", 0, "column: ".len());
    assert_compile_error(
        code,
        &err,
        &loc,
        "relink_json: `completed_sessions.date` is date, not json or jsonb",
        true,
    );
}

#[test]
fn only_names_an_unknown_column_or_table() {
    let select = |cond: &str| {
        pgmig::compile::compile_selected(
            &drills().join("model.yaml"),
            &pgmig::SchemaInput::Ddl(drills().join("v1.sql")),
            &pgmig::SchemaInput::Ddl(drills().join("v2.sql")),
            &pgmig::compile::Selection {
                entities: vec![],
                only: Some(cond.to_string()),
            },
        )
        .map(|_| ())
        .unwrap_err()
    };
    let err = select("users.emial = 1");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        "--only: V1 table `v1.users` has no column `emial` (did you mean `email`?)"
    );
    let err = select("nosuch.x = 1");
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .starts_with("--only: no step reads V1 table `nosuch` first"),
        "{err}"
    );
    assert!(
        err.to_string().contains("users"),
        "names the tables it could be: {err}"
    );

    // The same through the CLI: exit 2, the message, nothing written.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let model = drills().join("model.yaml").display().to_string();
    for (cond, says) in [
        (
            "users.emial = 1",
            "has no column `emial` (did you mean `email`?)",
        ),
        ("nosuch.x = 1", "no step reads V1 table `nosuch` first"),
    ] {
        let o = pgmig_compile(tmp.path(), &["compile", &model, "--only", cond], &out);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(says) && !stderr(&o).contains("panicked"),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists(), "nothing is written on error");
    }
}

/// A relink_json whose `object` no element holds compiles (the key is data), but precheck
/// finds it and blocks: migrate would relink nothing.
#[test]
fn precheck_blocks_a_relink_json_object_no_element_has() {
    let text = std::fs::read_to_string(drills().join("model.yaml")).unwrap();
    let edited = text.replacen("object: drill,", "object: drll,", 1);
    assert_ne!(text, edited);
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), &edited).unwrap();
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &drills().join("v1.sql"),
        &drills().join("v2.sql"),
    );
    let db = drills_db("drills_drll", SCALE);
    let before = db.table_md5s(&["v1", "public"]);
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(
        !out.status.success(),
        "precheck must fail: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    let blocking: Vec<&str> = err.lines().filter(|l| l.contains("BLOCKING")).collect();
    assert_eq!(blocking.len(), 1, "{err}");
    assert!(
        blocking[0].ends_with("BLOCKING  completed_sessions: relink_json drills: no element holds an object under drll; nothing would be relinked"),
        "{err}"
    );
    assert!(err.contains("precheck: 1 blocking finding(s)"), "{err}");
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "precheck writes nothing"
    );
}
