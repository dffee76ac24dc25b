//! In-place mode on the uuid model (models/uuid): varchar(36) ids become uuid in the same
//! tables. Precheck finds the planted bad values, migrate fills in batches and swaps,
//! verify passes, the catalog is V2's; rollback gives back V1's catalog and every row; a
//! killed migrate resumes to the same end state.

use crate::support::scripts::count;
use crate::support::scripts::{must_pass, run, stderr};
use crate::support::uuid::{compiled, ddl, live, md5s, uuid_db, NOT_UUID};

#[test]
fn precheck_finds_the_planted_values_with_their_keys_and_passes_once_fixed() {
    let db = uuid_db("ip_precheck", true);
    let dir = compiled(1000);
    let before = md5s(&db);
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    let text = stderr(&out);
    assert!(!out.status.success(), "precheck must fail:\n{text}");
    assert!(
        text.contains("blocking finding(s); migrate would fail"),
        "{text}"
    );
    let bad_users = count(
        &db,
        &format!("SELECT count(*) FROM users WHERE id {NOT_UUID}"),
    );
    let bad_entries = count(
        &db,
        &format!("SELECT count(*) FROM journal_entries WHERE user_id {NOT_UUID}"),
    );
    let orphans = count(&db, &format!("SELECT count(*) FROM reminders r WHERE NOT (user_id {NOT_UUID}) AND NOT EXISTS (SELECT 1 FROM users u WHERE lower(u.id) = lower(r.user_id))"));
    let null_tags = count(&db, "SELECT count(*) FROM tags WHERE user_id IS NULL");
    assert!(bad_users > 0 && bad_entries > 0 && orphans > 0 && null_tags > 0);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{text}"))
            .to_string()
    };
    assert!(
        line("BLOCKING  users.id: does not convert to uuid")
            .contains(&format!(": {bad_users} rows, e.g. ")),
        "{text}"
    );
    assert!(
        line("BLOCKING  journal_entries.user_id: does not convert")
            .contains(&format!(": {bad_entries} rows")),
        "{text}"
    );
    assert!(
        line("BLOCKING  reminders: FOREIGN KEY reminders_user_id_fkey")
            .contains(&format!(": {orphans} rows")),
        "{text}"
    );
    assert!(
        line("BLOCKING  tags.user_id: NULL").contains(&format!(": {null_tags} rows")),
        "{text}"
    );
    // The samples are the planted rows, with their keys.
    let users = line("BLOCKING  users.id: does not convert");
    assert!(users.contains("id=user-375: 'user-375'"), "{users}");
    let first_entry: i64 = count(
        &db,
        &format!("SELECT min(id) FROM journal_entries WHERE user_id {NOT_UUID}"),
    );
    assert!(
        line("BLOCKING  journal_entries.user_id").contains(&format!("id={first_entry}: "))
            || bad_entries > 5,
        "{text}"
    );
    let orphan_id = count(&db, &format!("SELECT min(id) FROM reminders r WHERE NOT (user_id {NOT_UUID}) AND NOT EXISTS (SELECT 1 FROM users u WHERE lower(u.id) = lower(r.user_id))"));
    assert!(
        line("reminders_user_id_fkey").contains(&format!("id={orphan_id}: ")),
        "{text}"
    );
    assert_eq!(md5s(&db), before, "precheck changes nothing");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'"
        ),
        0
    );

    // Fix the data (users cascade to entries and tags); then nothing blocks.
    db.execute(&format!(
        "DELETE FROM users WHERE id {NOT_UUID};
         DELETE FROM reminders r WHERE user_id {NOT_UUID} OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id);
         DELETE FROM tags WHERE user_id IS NULL;"
    ));
    let ok = must_pass(
        run(&db, dir.path(), "precheck.sql", &[]),
        "precheck after the fix",
    );
    assert!(ok.contains("precheck: no blocking finding"), "{ok}");
    // Migrate is possible now.
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

#[test]
fn migrate_in_batches_verify_catalog_is_v2_rollback_gives_v1_back() {
    let db = uuid_db("ip_cycle", false);
    let dir = compiled(50);
    let before = md5s(&db);
    assert_eq!(
        live(&db),
        ddl("v1.sql"),
        "the loaded V1 reads back as v1.sql"
    );
    must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    let notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    assert!(
        notices.contains("fill journal_entries: batch 60 of 60, 50 rows"),
        "{notices}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.batches WHERE step = 'journal_entries'"
        ),
        60
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.batches"),
        10 + 60 + 20 + 30
    );
    // pgmig status shows each in-place step's batches done / total.
    let status = crate::support::pgmig_cli(&["status", "--db", &db.url(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&status.stdout)));
    let step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == "journal_entries")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(
        (
            step["batches_done"].as_i64(),
            step["batches_total"].as_i64()
        ),
        (Some(60), Some(60)),
        "{step}"
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(
        verify.contains("PASS  users.id: every value equals its backed-up original"),
        "{verify}"
    );
    assert!(!verify.contains("FAIL"), "{verify}");
    assert_eq!(
        live(&db),
        ddl("v2.sql"),
        "after migrate the tables are V2's"
    );
    // Upper-case ids were converted and read back in lower case.
    assert!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.backup_uuid_users WHERE id <> lower(id)"
        ) > 0
    );

    // A hand edit: verify fails and names the check.
    db.execute(
        "UPDATE reminders SET user_id = (SELECT id FROM users ORDER BY id LIMIT 1) WHERE id = 7",
    );
    let tampered = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        !tampered.status.success()
            && stderr(&tampered).contains("FAIL  reminders.user_id: every value equals"),
        "{}",
        stderr(&tampered)
    );
    db.execute("UPDATE reminders r SET user_id = b.user_id::uuid FROM _pgmig.backup_uuid_reminders b WHERE b.id = r.id AND r.id = 7");

    // Migrate again is refused.
    let again = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(
        !again.status.success() && stderr(&again).contains("already migrated"),
        "{}",
        stderr(&again)
    );

    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        live(&db),
        ddl("v1.sql"),
        "after rollback the tables are V1's"
    );
    assert_eq!(md5s(&db), before, "after rollback every row is as before");
    assert_eq!(count(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'backup%'"), 0);

    // And it migrates again, through pgmig run.
    let out = crate::support::pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify after migrate → rollback → migrate",
    );
}

#[test]
fn a_killed_migrate_resumes_to_the_uninterrupted_state_and_rolls_back_from_anywhere() {
    let dir = compiled(10);
    let reference = {
        let db = uuid_db("ip_ref", false);
        must_pass(
            run(&db, dir.path(), "migrate.sql", &[]),
            "uninterrupted migrate",
        );
        md5s(&db)
    };
    let mut cut = 0;
    // Kill points by committed batches (600 in all with batches of 10): while the backups
    // are being made, early in the fill, mid-way, and near the end.
    for (i, batches) in [0i64, 5, 250, 560].into_iter().enumerate() {
        let db = uuid_db(&format!("ip_kill{i}"), false);
        let before = md5s(&db);
        let was_cut = db.migrate_until_batches(
            &dir.path().join("migrate.sql"),
            "pgmig-inplace-kill",
            batches,
        );
        cut += was_cut as i32;
        if i % 2 == 1 && was_cut {
            // Roll back the partial run: V1 exactly.
            must_pass(
                run(&db, dir.path(), "rollback.sql", &[]),
                "rollback of a killed run",
            );
            assert_eq!(
                live(&db),
                ddl("v1.sql"),
                "kill after {batches} batches, then rollback"
            );
            assert_eq!(
                md5s(&db),
                before,
                "kill after {batches} batches, then rollback"
            );
        }
        if was_cut {
            must_pass(
                run(&db, dir.path(), "migrate.sql", &[]),
                &format!("resumed migrate after a kill after {batches} batches"),
            );
        }
        must_pass(
            run(&db, dir.path(), "verify.sql", &[]),
            &format!("verify after a kill after {batches} batches"),
        );
        assert_eq!(md5s(&db), reference, "kill after {batches} batches");
        assert_eq!(live(&db), ddl("v2.sql"), "kill after {batches} batches");
    }
    assert!(
        cut >= 3,
        "at least three runs must really have been interrupted (were {cut})"
    );
}

/// A view reading a changed column would make the swap fail: precheck names it first.
#[test]
fn a_view_on_a_changed_column_is_a_precheck_finding() {
    let db = uuid_db("ip_view", false);
    let dir = compiled(1000);
    must_pass(
        run(&db, dir.path(), "precheck.sql", &[]),
        "precheck without the view",
    );
    db.execute("CREATE VIEW user_entries AS SELECT u.id, count(e.id) AS entries FROM users u LEFT JOIN journal_entries e ON e.user_id = u.id GROUP BY u.id");
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(!out.status.success());
    let text = stderr(&out);
    let line = text
        .lines()
        .find(|l| l.contains("BLOCKING  views that read a changed column"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("user_entries reads public.journal_entries.user_id")
            && line.contains("user_entries reads public.users.id"),
        "{line}"
    );
}

#[test]
fn a_type_change_without_a_cast_needs_using() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v1.sql"),
        "CREATE TABLE t (id bigint PRIMARY KEY, n text, m text);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("v2.sql"),
        "CREATE TABLE t (id bigint PRIMARY KEY, n integer, m integer);\n",
    )
    .unwrap();
    let model = "name: ints\nin_place: true\nusing:\n  t.m: \"nullif(m, '')::integer\"\n";
    std::fs::write(dir.path().join("model.yaml"), model).unwrap();
    let err = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(dir.path().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(dir.path().join("v2.sql")),
    )
    .unwrap_err();
    let pgmig::CompileError::Model { diagnostics, file } = err else {
        panic!("{err:?}")
    };
    let text = diagnostics.render(&file, false);
    assert!(text.contains("model.yaml:2:1: error: t.n: text → integer has no safe cast; give the conversion in `using`"), "{text}");
    assert!(!text.contains("t.m"), "{text}");
    assert_eq!(diagnostics.0.len(), 1, "{text}");
    // With a `using` for n too, it compiles and the conversion is the model's.
    std::fs::write(
        dir.path().join("model.yaml"),
        format!("{model}  t.n: \"CASE WHEN n ~ '^[0-9]+$' THEN n::integer END\"\n"),
    )
    .unwrap();
    let c = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(dir.path().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(dir.path().join("v2.sql")),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let migrate = &c
        .scripts
        .files
        .iter()
        .find(|(n, _)| *n == "migrate.sql")
        .unwrap()
        .1;
    assert!(
        migrate.contains("pgmig_new_n = (CASE WHEN t.n ~ '^[0-9]+$' THEN t.n::INTEGER END)"),
        "{migrate}"
    );
}

/// verify.sql and rollback.sql of another compile of the model (here another batch size)
/// refuse a migration they did not make, naming both fingerprints, and change nothing; the
/// migration's own scripts still verify and roll it back.
#[test]
fn scripts_of_another_compile_refuse_the_migration() {
    let db = uuid_db("ip_fingerprint", false);
    let (ours, theirs) = (compiled(1000), compiled(500));
    let fingerprint = |dir: &tempfile::TempDir| {
        let text = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
        let at = text
            .find("SET pgmig.fingerprint = '")
            .expect("migrate sets its fingerprint")
            + "SET pgmig.fingerprint = '".len();
        text[at..at + 64].to_string()
    };
    assert_ne!(fingerprint(&ours), fingerprint(&theirs));
    must_pass(run(&db, ours.path(), "migrate.sql", &[]), "migrate");
    let migrated = md5s(&db);
    for script in ["verify.sql", "rollback.sql"] {
        let o = run(&db, theirs.path(), script, &[]);
        let said = stderr(&o);
        assert!(
            !o.status.success(),
            "{script} of another compile ran:\n{said}"
        );
        assert!(
            said.contains("was migrated by another compile")
                && said.contains(&fingerprint(&ours))
                && said.contains(&fingerprint(&theirs)),
            "{said}"
        );
        assert_eq!(
            md5s(&db),
            migrated,
            "{script} of another compile changed nothing"
        );
    }
    must_pass(run(&db, ours.path(), "verify.sql", &[]), "verify");
    must_pass(run(&db, ours.path(), "rollback.sql", &[]), "rollback");
}

/// Least privilege in place: the role that owns the tables (it must: the scripts ALTER them),
/// with CREATE on their schema (the swap builds keys and indexes there) and on the database
/// (for `_pgmig`), runs every script, as a superuser would.
#[test]
fn the_tables_owner_runs_every_script() {
    let db = uuid_db("ip_owner", false);
    let dir = compiled(1000);
    let before = md5s(&db);
    let role = format!("owner_{}", db.name());
    db.execute(&format!("CREATE ROLE {role} LOGIN; GRANT CREATE ON DATABASE {} TO {role}; GRANT CREATE ON SCHEMA public TO {role};", db.name()));
    db.execute(&format!(
        "DO $o$ DECLARE t record; BEGIN
           FOR t IN SELECT c.oid::regclass AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') LOOP
             EXECUTE format('ALTER TABLE %s OWNER TO {role}', t.r);
           END LOOP;
         END $o$"
    ));
    let cwd = tempfile::tempdir().unwrap();
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "rollback.sql"] {
        let o =
            crate::support::roles::psql_as(&db, &role, &dir.path().join(script), &[], cwd.path());
        assert!(
            o.status.success(),
            "{script} as the tables' owner: {}",
            stderr(&o)
        );
    }
    assert_eq!(md5s(&db), before, "rollback as the owner gives V1 back");
}

/// The backups are sealed at migrate: a backup row changed or deleted since is a verify FAIL
/// naming the table, and rollback (which restores the originals from the backups) refuses
/// before it touches anything, naming the table.
#[test]
fn a_changed_backup_fails_verify_and_rollback_refuses_naming_it() {
    let db = uuid_db("ip_backup_seal", false);
    let dir = compiled(100);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(
        verify.contains("PASS  backup of public.tags as migrate sealed it"),
        "{verify}"
    );

    // A backed-up original changed: verify names the backup.
    db.execute("UPDATE _pgmig.backup_uuid_tags SET user_id = upper(user_id) WHERE id = (SELECT min(id) FROM _pgmig.backup_uuid_tags)");
    let changed = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        !changed.status.success()
            && stderr(&changed).contains("FAIL  backup of public.tags changed since migrate"),
        "{}",
        stderr(&changed)
    );
    db.execute("UPDATE _pgmig.backup_uuid_tags SET user_id = lower(user_id) WHERE id = (SELECT min(id) FROM _pgmig.backup_uuid_tags)");
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify with the original put back",
    );

    // A backup row deleted: verify fails, and rollback refuses before it changes anything.
    db.execute("DELETE FROM _pgmig.backup_uuid_reminders WHERE id = (SELECT max(id) FROM _pgmig.backup_uuid_reminders)");
    let deleted = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        !deleted.status.success()
            && stderr(&deleted)
                .contains("FAIL  backup of public.reminders changed since migrate: 1499 rows now, 1500 sealed"),
        "{}",
        stderr(&deleted)
    );
    let before = md5s(&db);
    let rollback = run(&db, dir.path(), "rollback.sql", &[]);
    assert!(
        !rollback.status.success()
            && stderr(&rollback).contains("backup of public.reminders changed since migrate"),
        "{}",
        stderr(&rollback)
    );
    assert_eq!(md5s(&db), before, "a refused rollback changes no row");
    assert_eq!(
        live(&db),
        ddl("v2.sql"),
        "a refused rollback changes no table"
    );
}

/// The server log's statements of `db` (log_statement = all for it alone) from byte
/// `from` on: what migrate sent, in order.
fn logged_since(from: usize) -> String {
    let log = crate::support::cluster().server_log();
    log.get(from..).unwrap_or_default().to_string()
}

/// V2's keys and indexes are built with CREATE INDEX CONCURRENTLY before the swap; the swap
/// only attaches them (its statement builds nothing). The check of attached code runs in the
/// swap's transaction before its statement (ROW EXCLUSIVE), not under its ACCESS EXCLUSIVE
/// locks, where its catalog query was most of the window. A run killed after the swap's COMMIT
/// runs again without building anything (the \gset of phase 1c sees the swap done);
/// verify passes; rollback from after the swap gives V1 back exactly.
#[test]
fn the_swap_attaches_keys_and_indexes_built_concurrently_before_it() {
    let db = uuid_db("ip_concurrent", false);
    let dir = compiled(200);
    let before = md5s(&db);
    db.execute(&format!(
        "ALTER DATABASE {} SET log_statement = 'all'",
        db.name()
    ));
    let from = crate::support::cluster().server_log().len();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let log = logged_since(from);
    let swap_at = log
        .find("statement: DO $swap$")
        .unwrap_or_else(|| panic!("no swap in the log:\n{log}"));
    let swap = &log[swap_at..];
    let swap = &swap[..swap.find("$swap$;").unwrap_or(swap.len())];
    let builds: Vec<usize> = log
        .match_indices("INDEX CONCURRENTLY IF NOT EXISTS pgmig_ix_")
        .map(|(at, _)| at)
        .collect();
    // users_pkey, tags_user_id_name_key and five indexes.
    assert_eq!(builds.len(), 7, "{log}");
    assert!(
        builds.iter().all(|&at| at < swap_at),
        "every build before the swap:\n{log}"
    );
    assert!(
        !swap.contains("CREATE INDEX")
            && !swap.contains("CREATE UNIQUE INDEX")
            && !swap.contains("PRIMARY KEY (")
            && !swap.contains("UNIQUE ("),
        "the swap builds nothing:\n{swap}"
    );
    assert!(
        !swap.contains("pgmig_implicit_code_guard"),
        "no catalog check under the swap's locks:\n{swap}"
    );
    let swap_transaction = &log[log[..swap_at]
        .rfind("statement: BEGIN")
        .unwrap_or_else(|| panic!("the swap's BEGIN:\n{log}"))
        ..swap_at];
    assert_eq!(
        swap_transaction
            .matches("PERFORM _pgmig.pgmig_implicit_code_guard(")
            .count(),
        1,
        "the check in the swap's transaction, before its locks:\n{swap_transaction}"
    );
    assert_eq!(swap.matches("USING INDEX pgmig_ix_").count(), 2, "{swap}");
    assert_eq!(
        swap.matches("ALTER INDEX public.pgmig_ix_").count(),
        5,
        "{swap}"
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(live(&db), ddl("v2.sql"));
    let migrated = md5s(&db);

    // Killed after the swap's COMMIT, before its end (the log's last row not written):
    // the rerun builds nothing, swaps nothing, validates again and ends.
    db.execute("DELETE FROM _pgmig.log WHERE model = 'uuid' AND step = '(all)'");
    let from = crate::support::cluster().server_log().len();
    let rerun = must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate after the swap",
    );
    assert!(rerun.contains("swap: already done"), "{rerun}");
    let log = logged_since(from);
    assert!(!log.contains("INDEX CONCURRENTLY"), "{log}");
    assert_eq!(md5s(&db), migrated);
    must_pass(
        run(&db, dir.path(), "verify.sql", &[]),
        "verify after the rerun",
    );

    must_pass(
        run(&db, dir.path(), "rollback.sql", &[]),
        "rollback after the swap",
    );
    assert_eq!(live(&db), ddl("v1.sql"));
    assert_eq!(md5s(&db), before);
}

/// A migrate killed while CREATE INDEX CONCURRENTLY waits (a transaction older than the
/// build holds a snapshot) leaves an INVALID index: rollback from there gives V1 back
/// exactly (the index gone too); a rerun drops the invalid index and builds it again, and
/// ends where an uninterrupted run does.
#[test]
fn a_migrate_killed_in_a_concurrent_build_leaves_an_invalid_index_the_rerun_rebuilds() {
    let dir = compiled(500);
    let reference = {
        let db = uuid_db("ip_cic_ref", false);
        must_pass(
            run(&db, dir.path(), "migrate.sql", &[]),
            "uninterrupted migrate",
        );
        md5s(&db)
    };
    let db = uuid_db("ip_cic_kill", false);
    let before = md5s(&db);
    let invalid = "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'pgmig_ix_%' AND NOT i.indisvalid";
    let kill_in_a_build = |app: &str| {
        let mut blocker = db.client();
        blocker
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")
            .unwrap();
        let mut child = db.spawn_psql_file(&dir.path().join("migrate.sql"), app);
        let mut watcher = db.client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        let waiting = loop {
            let n: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 AND query LIKE '%INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
                    &[&app, &db.name()],
                )
                .unwrap()
                .get(0);
            if n > 0 || std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some()
            {
                break n > 0;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        db.terminate(app);
        let status = child.wait().unwrap();
        blocker.batch_execute("ROLLBACK").unwrap();
        assert!(
            waiting && !status.success(),
            "migrate was not caught in a build"
        );
    };

    kill_in_a_build("pgmig-cic-kill-1");
    assert_eq!(
        count(&db, invalid),
        1,
        "the interrupted build's index is left INVALID"
    );
    must_pass(
        run(&db, dir.path(), "rollback.sql", &[]),
        "rollback before the swap",
    );
    assert_eq!(live(&db), ddl("v1.sql"));
    assert_eq!(md5s(&db), before);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgmig_ix_%'"
        ),
        0
    );

    kill_in_a_build("pgmig-cic-kill-2");
    assert_eq!(count(&db, invalid), 1);
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate after a killed build",
    );
    assert_eq!(count(&db, invalid), 0);
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(live(&db), ddl("v2.sql"));
    assert_eq!(md5s(&db), reference);
}

/// A transaction open since before migrate (a snapshot held, as a report or a session left
/// idle in a transaction holds one) would keep a concurrent index build waiting without
/// limit: the build waits lock_timeout, pauses and retries like the swap, then stops migrate
/// with an error naming the index and the blocking pid; once that transaction ends, the
/// rerun builds and swaps, and verify passes. (A watchdog ends the blocker after a minute,
/// so a build that waits without limit shows as a migrate that succeeded late.)
#[test]
fn a_concurrent_build_behind_a_long_transaction_gives_up_naming_the_index_and_the_pid() {
    let dir = compiled(500);
    let db = uuid_db("ip_cic_wait", false);
    let mut blocker = db.client();
    blocker
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class")
        .unwrap();
    let pid: i32 = blocker
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    // migrate names a transaction open longer than lock_timeout (a younger one is waited
    // for, up to lock_timeout, as any lock): on a quiet machine the fills can reach the build
    // within 300 ms, so the blocker must be older than that first.
    let mut watcher = db.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !watcher
        .query_one(
            "SELECT clock_timestamp() - xact_start > interval '1 second' FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .unwrap()
        .get::<_, bool>(0)
    {
        assert!(std::time::Instant::now() < deadline, "the blocker never aged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let watchdog = {
        let mut client = db.client();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(60));
            // The test may be over (its database dropped): nothing to end then.
            let _ = client.execute("SELECT pg_terminate_backend($1)", &[&pid]);
        })
    };
    let started = std::time::Instant::now();
    let out = run(
        &db,
        dir.path(),
        "migrate.sql",
        &[("lock_timeout", "300ms"), ("lock_retries", "2")],
    );
    let text = stderr(&out);
    assert!(!out.status.success(), "migrate must give up:\n{text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "build of index public.pgmig_ix_users_pkey on public.users waits for pid {pid}: no lock within lock_timeout 300ms in 3 attempts"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "waits for pid {pid}: no lock within lock_timeout 300ms, attempt 2 of 3: trying again in"
        )),
        "{text}"
    );
    blocker.batch_execute("ROLLBACK").unwrap();
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate once it ended",
    );
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert_eq!(live(&db), ddl("v2.sql"));
    drop(watchdog);
}

/// `pgmig status` of a fill under way (killed part way) counts its batches out of the whole
/// table's (the rows counted at the fill's start over the batch size), not out of the
/// batches done so far.
#[test]
fn status_of_a_fill_under_way_shows_the_batches_of_the_whole_table() {
    // Batches of 2: reminders (1,500 rows) fills first, in 750 batches, in key order. They
    // take under 0.1 s: a kill timed by polling landed after the last one on a busy machine
    // (2 of 5 runs, then once in CI). So once the first batch is committed the test locks the
    // last row; the fill stops there, waiting for it, and is killed while it waits.
    let dir = compiled(2);
    let db = uuid_db("ip_status_fill", false);
    let app = "pgmig-ip-status";
    let mut child = db.spawn_psql_file(&dir.path().join("migrate.sql"), app);
    let mut watcher = db.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let began = |w: &mut postgres::Client| {
        let exists: bool = w
            .query_one("SELECT to_regclass('_pgmig.batches') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        exists
            && w.query_one(
                "SELECT EXISTS (SELECT 1 FROM _pgmig.batches WHERE step = 'reminders')",
                &[],
            )
            .unwrap()
            .get::<_, bool>(0)
    };
    while !began(&mut watcher) {
        assert!(std::time::Instant::now() < deadline, "the fill never began");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; SELECT 1 FROM public.reminders WHERE id = (SELECT max(id) FROM public.reminders) FOR UPDATE")
        .unwrap();
    assert!(
        db.waits_for_lock(app, || child.try_wait().unwrap().is_none()),
        "the fill ended before it reached the locked row"
    );
    db.terminate(app);
    assert!(
        !child.wait().unwrap().success(),
        "migrate was not cut short"
    );
    holder.batch_execute("ROLLBACK").unwrap();
    let status = crate::support::pgmig_cli(&["status", "--db", &db.url(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&status.stdout)));
    let step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == "reminders")
        .unwrap_or_else(|| panic!("{json}"));
    let done = step["batches_done"].as_i64().unwrap();
    assert!((1..750).contains(&done), "{step}");
    assert_eq!(step["batches_total"].as_i64(), Some(750), "{step}");
}

/// Hostile names (a quote, a doubled double quote, a dollar tag, psql's `\!`, a `:var`) in the table, the column and the index the concurrent builds and the swap name:
/// compile passes its meta-command guard, migrate runs under psql and `pgmig run`, verify
/// passes, rollback gives the rows back, and nothing but the scripts' SQL ran.
#[test]
fn hostile_names_reach_the_concurrent_builds_and_the_swap_quoted() {
    let table = r#"public."t'x""$b$ \! touch /tmp/pgmig-ip-pwned""#;
    let ddl = |ty: &str| {
        format!(
            "CREATE TABLE {table} (id {ty} PRIMARY KEY, \"us'er :id\" {ty} NOT NULL);\n\
             CREATE INDEX \"ix'$b$ :id\" ON {table} (\"us'er :id\");\n"
        )
    };
    let (dir, out) = crate::support::compile_texts(
        &ddl("character varying(36)"),
        &ddl("uuid"),
        "name: hostile\nin_place: true\ntarget: { schema: public }\nbatch_size: 2\n",
    );
    let migrate = std::fs::read_to_string(out.join("migrate.sql")).unwrap();
    assert_eq!(
        migrate.matches("INDEX CONCURRENTLY IF NOT EXISTS").count(),
        2,
        "{migrate}"
    );

    for (i, through_run) in [false, true].into_iter().enumerate() {
        let db = crate::support::cluster().create_db(&format!("ip_hostile{i}"));
        must_pass(db.psql_file(dir.path().join("v1.sql"), &[]), "load V1");
        db.execute(&format!(
            "INSERT INTO {table} SELECT md5(n::text)::uuid::text, upper(md5((n * 7)::text)::uuid::text) FROM generate_series(1, 9) AS n"
        ));
        let rows =
            format!("SELECT string_agg(id || ',' || \"us'er :id\", ';' ORDER BY id) FROM {table}");
        let before: String = db.client().query_one(&rows, &[]).unwrap().get(0);
        if through_run {
            let run = crate::support::pgmig_cli(&[
                "run",
                "migrate",
                "--dir",
                &out.display().to_string(),
                "--db",
                &db.url(),
            ]);
            assert!(run.status.success(), "{}", stderr(&run));
        } else {
            must_pass(run(&db, &out, "migrate.sql", &[]), "migrate");
        }
        must_pass(run(&db, &out, "verify.sql", &[]), "verify");
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix''$b$ :id'"
            ),
            1
        );
        must_pass(run(&db, &out, "rollback.sql", &[]), "rollback");
        let after: String = db.client().query_one(&rows, &[]).unwrap().get(0);
        assert_eq!(after, before);
    }
    assert!(!std::path::Path::new("/tmp/pgmig-ip-pwned").exists());
}

/// A converted column whose name holds a doubled double quote (`"us""er"`), read by a CHECK
/// and by an expression index: both read the converted column, so the swap re-creates them
/// on it; after migrate and after rollback each is there and still refuses what it refused.
#[test]
fn a_check_and_an_index_on_a_column_named_with_a_doubled_quote_survive_the_swap() {
    let ddl = |ty: &str| {
        format!(
            "CREATE TABLE public.t (id integer PRIMARY KEY, \"us\"\"er\" {ty} NOT NULL,\n\
             CONSTRAINT us_er_not_zero CHECK (\"us\"\"er\" <> '00000000-0000-0000-0000-000000000000'));\n\
             CREATE INDEX us_er_null ON public.t ((\"us\"\"er\" IS NULL));\n"
        )
    };
    let (dir, out) = crate::support::compile_texts(
        &ddl("character varying(36)"),
        &ddl("uuid"),
        "name: quoted\nin_place: true\ntarget: { schema: public }\nbatch_size: 3\n",
    );

    let db = crate::support::cluster().create_db("ip_doubled_quote");
    must_pass(db.psql_file(dir.path().join("v1.sql"), &[]), "load V1");
    db.execute(
        "INSERT INTO public.t SELECT n, md5(n::text)::uuid::text FROM generate_series(1, 7) AS n",
    );
    let rows = "SELECT string_agg(id || ',' || \"us\"\"er\", ';' ORDER BY id) FROM public.t";
    let before: String = db.client().query_one(rows, &[]).unwrap().get(0);
    // What the CHECK and the index read, as PostgreSQL prints it for each.
    let objects = "SELECT (SELECT string_agg(pg_get_constraintdef(oid), ';') FROM pg_constraint \
                   WHERE conrelid = 'public.t'::regclass AND contype = 'c') || ' / ' || \
                   (SELECT string_agg(pg_get_indexdef(indexrelid), ';') FROM pg_index \
                   WHERE indrelid = 'public.t'::regclass AND NOT indisprimary)";
    let zero = "INSERT INTO public.t VALUES (100, '00000000-0000-0000-0000-000000000000')";
    let refused = |db: &crate::support::TestDb| {
        let err = db.client().execute(zero, &[]).unwrap_err();
        assert!(
            err.as_db_error()
                .is_some_and(|e| e.constraint() == Some("us_er_not_zero")),
            "{err}"
        );
    };

    must_pass(run(&db, &out, "migrate.sql", &[]), "migrate");
    must_pass(run(&db, &out, "verify.sql", &[]), "verify");
    let v2: String = db.client().query_one(objects, &[]).unwrap().get(0);
    assert_eq!(
        v2,
        "CHECK ((\"us\"\"er\" <> '00000000-0000-0000-0000-000000000000'::uuid)) / \
         CREATE INDEX us_er_null ON public.t USING btree (((\"us\"\"er\" IS NULL)))"
    );
    refused(&db);

    must_pass(run(&db, &out, "rollback.sql", &[]), "rollback");
    let v1: String = db.client().query_one(objects, &[]).unwrap().get(0);
    assert_eq!(
        v1,
        "CHECK (((\"us\"\"er\")::text <> '00000000-0000-0000-0000-000000000000'::text)) / \
         CREATE INDEX us_er_null ON public.t USING btree (((\"us\"\"er\" IS NULL)))"
    );
    refused(&db);
    let after: String = db.client().query_one(rows, &[]).unwrap().get(0);
    assert_eq!(after, before);
}
