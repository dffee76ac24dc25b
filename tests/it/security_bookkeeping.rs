//! Issue 15, attacks 3, 5 and 6 performed against a real PostgreSQL: a `_pgmig` planted by
//! the database's owner (a role that is not superuser), a mistyped boolean psql variable,
//! and two runs at once. Each attack must fail, with its message, and change nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use pgmig::run;

use crate::support::scripts::{count, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::workout_db;
use crate::support::TestDb;

/// The workout model (transaction mode) compiled from its DDL files.
fn compiled() -> tempfile::TempDir {
    let models = crate::support::repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// A role that owns the database but is not superuser: it can create schemas in it.
fn attacker(db: &TestDb) -> String {
    let role = format!("owner_of_{}", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER; ALTER DATABASE {} OWNER TO {role}",
        db.name()
    ));
    role
}

fn is_superuser(db: &TestDb, role: &str) -> bool {
    db.client()
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = $1", &[&role])
        .unwrap()
        .get(0)
}

/// Where the attacker's code writes (as the server's OS user) when it runs as a superuser.
fn evidence(db: &TestDb) -> PathBuf {
    let path = PathBuf::from(format!("/tmp/pgmig-pwned-{}", db.name()));
    let _ = std::fs::remove_file(&path);
    path
}

/// PL/pgSQL statements that make `role` superuser and write `evidence`: both fail (quietly)
/// unless they run with a superuser's rights.
fn payload(role: &str, evidence: &Path) -> String {
    format!(
        "BEGIN EXECUTE format('COPY (SELECT current_user) TO %L', '{}'); EXCEPTION WHEN OTHERS THEN NULL; END;
         BEGIN EXECUTE 'ALTER ROLE {role} SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;",
        evidence.display()
    )
}

const LOG_COLUMNS: &str = "id bigint, model text, script text, step text, started_at timestamptz, finished_at timestamptz,
  rows_in bigint, rows_filtered bigint, rows_rejected bigint, rows_out bigint, status text, message text";

fn assert_refused(out: &Output, what: &str, expected: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what} must stop under ON_ERROR_STOP:\n{}",
        stderr(out)
    );
    for e in expected {
        assert!(
            stderr(out).contains(e),
            "{what}: no {e:?} in:\n{}",
            stderr(out)
        );
    }
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_trigger_on_a_pre_created_log_does_not_make_the_database_owner_superuser() {
    let db = workout_db("sb_trigger");
    let dir = compiled();
    let role = attacker(&db);
    let evidence = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE SCHEMA _pgmig;
         CREATE TABLE _pgmig.log (id bigserial PRIMARY KEY, model text NOT NULL, script text NOT NULL, step text NOT NULL,
           started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz, rows_in bigint,
           rows_filtered bigint, rows_rejected bigint, rows_out bigint, status text NOT NULL, message text);
         CREATE FUNCTION _pgmig.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {} RETURN NEW; END $f$;
         CREATE TRIGGER pwn BEFORE INSERT ON _pgmig.log FOR EACH ROW EXECUTE FUNCTION _pgmig.pwn();
         RESET ROLE;",
        payload(&role, &evidence)
    ));
    let before = db.table_md5s(USER_SCHEMAS);

    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert_refused(
        &out,
        "migrate",
        &[
            "pgmig will not use schema _pgmig",
            &format!("schema _pgmig is owned by {role}"),
            &format!("trigger pwn on _pgmig.log runs _pgmig.pwn(), owned by {role}"),
            &format!("function _pgmig.pwn() is owned by {role}"),
            "DROP SCHEMA _pgmig CASCADE",
        ],
    );
    assert!(
        !is_superuser(&db, &role),
        "migrate made the database owner superuser"
    );
    assert!(!evidence.exists(), "the planted trigger ran as superuser");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "migrate changed V1 or V2"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM _pgmig.log"), 0);

    // `pgmig run` refuses before it reads the log itself.
    let text = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "migrate.sql", &text, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(e, run::RunError::UntrustedBookkeeping { .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains(&format!("schema _pgmig is owned by {role}")),
        "{e}"
    );
    assert_eq!(e.exit_code(), 1);
    assert!(!is_superuser(&db, &role));
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

#[test]
fn a_planted_log_view_runs_nothing_in_precheck_verify_rollback_or_export() {
    let db = workout_db("sb_view");
    let dir = compiled();
    let role = attacker(&db);
    let evidence = evidence(&db);
    // A log that says "migrated", read through a function of the attacker's: every script
    // that reads _pgmig.log would run it.
    db.execute(&format!(
        "SET ROLE {role};
         CREATE SCHEMA _pgmig;
         CREATE FUNCTION _pgmig.log_rows() RETURNS TABLE ({LOG_COLUMNS}) LANGUAGE plpgsql AS $f$
         BEGIN {}
           RETURN QUERY SELECT 1::bigint, 'workout'::text, 'migrate'::text, '(all)'::text, now(), now(),
                               0::bigint, 0::bigint, 0::bigint, 0::bigint, 'done'::text, NULL::text;
         END $f$;
         CREATE VIEW _pgmig.log AS SELECT * FROM _pgmig.log_rows();
         RESET ROLE;",
        payload(&role, &evidence)
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    for script in ["precheck.sql", "verify.sql", "rollback.sql", "export.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_refused(
            &out,
            script,
            &[
                &format!("schema _pgmig is owned by {role}"),
                "_pgmig.log is a view",
                &format!("view _pgmig.log is owned by {role}"),
            ],
        );
        assert!(
            !evidence.exists(),
            "{script} ran the attacker's function as superuser"
        );
        assert!(
            !is_superuser(&db, &role),
            "{script} made the database owner superuser"
        );
    }
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::print_status(&mut conn, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("_pgmig.log is not a table"), "{e}");
    assert!(
        !evidence.exists(),
        "pgmig status ran the attacker's function"
    );
}

#[test]
fn what_is_attached_later_to_a_genuine_bookkeeping_schema_is_refused() {
    let db = workout_db("sb_later");
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let migrated = db.table_md5s(USER_SCHEMAS);
    let role = attacker(&db);
    let evidence = evidence(&db);
    // Someone lets the owner put a trigger on the log; its function stays the owner's.
    db.execute(&format!(
        "GRANT USAGE ON SCHEMA _pgmig TO {role}; GRANT TRIGGER ON _pgmig.log TO {role};
         SET ROLE {role};
         CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {} RETURN NEW; END $f$;
         CREATE TRIGGER pwn AFTER INSERT ON _pgmig.log FOR EACH ROW EXECUTE FUNCTION public.pwn();
         RESET ROLE;",
        payload(&role, &evidence)
    ));
    for script in ["rollback.sql", "verify.sql", "migrate.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_refused(
            &out,
            script,
            &[
                "trigger pwn on _pgmig.log runs ",
                &format!("pwn(), owned by {role}"),
                &format!("_pgmig.log grants TRIGGER to {role}"),
            ],
        );
        assert!(
            !evidence.exists() && !is_superuser(&db, &role),
            "{script} ran the trigger as superuser"
        );
    }
    assert_eq!(db.table_md5s(USER_SCHEMAS), migrated, "rollback ran");

    // A bookkeeping table given to that role: refused, unless the DBA names it as trusted.
    db.execute(&format!("DROP TRIGGER pwn ON _pgmig.log; REVOKE ALL ON _pgmig.log FROM {role}; ALTER TABLE _pgmig.rejects OWNER TO {role}"));
    let out = run(&db, dir.path(), "verify.sql", &[]);
    assert_refused(
        &out,
        "verify",
        &[
            &format!("table _pgmig.rejects is owned by {role}"),
            "pgmig_owner",
        ],
    );
    must_pass(
        run(&db, dir.path(), "verify.sql", &[("pgmig_owner", &role)]),
        "verify trusting the named owner",
    );
    // `pgmig run` reads the log itself only on the same terms.
    let text = std::fs::read_to_string(dir.path().join("verify.sql")).unwrap();
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "verify.sql", &text, &BTreeMap::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("_pgmig.rejects is owned by {role}")),
        "{e}"
    );
    run::run_script(
        &mut conn,
        "verify.sql",
        &text,
        &vars(&[("pgmig_owner", &role)]),
    )
    .unwrap();
    // The variable is data: a quote in it ends nothing.
    let hostile = "x'; DROP TABLE public.users; --";
    let out = run(&db, dir.path(), "verify.sql", &[("pgmig_owner", hostile)]);
    assert_refused(
        &out,
        "verify",
        &[&format!(
            "pgmig_owner: there is no role named \"{hostile}\""
        )],
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), migrated);
}

#[test]
fn an_event_trigger_running_another_roles_function_stops_migrate_and_precheck_lists_them() {
    let db = workout_db("sb_event");
    let dir = compiled();
    let role = attacker(&db);
    let evidence = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN {} END $f$;
         RESET ROLE;
         CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION public.on_ddl();",
        payload(&role, &evidence)
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert_refused(
        &out,
        "migrate",
        &[
            "event trigger audit_ddl on ddl_command_end runs ",
            &format!("on_ddl(), owned by {role}"),
            "ALTER EVENT TRIGGER",
        ],
    );
    assert!(
        !evidence.exists() && !is_superuser(&db, &role),
        "the event trigger ran as superuser"
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);

    // A superuser's function: precheck goes on and says what will run during migrate.
    db.execute("ALTER FUNCTION public.on_ddl() OWNER TO postgres; CREATE OR REPLACE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN END $f$");
    let notices = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(
        notices.contains("EVENT TRIGGER  audit_ddl (ddl_command_end) runs ")
            && notices.contains("on_ddl() (owned by postgres)"),
        "{notices}"
    );
    db.execute("DROP EVENT TRIGGER audit_ddl");
}

#[test]
fn a_mistyped_boolean_stops_the_script_before_anything_is_written() {
    let db = workout_db("sb_bool");
    let dir = compiled();
    let fresh = db.table_md5s(USER_SCHEMAS);
    let no_bookkeeping = "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'";
    for (var, value) in [
        ("dry_run", "2"),
        ("dry_run", "1 "),
        ("dry_run", ""),
        ("defer_constraints", "maybe"),
    ] {
        let out = run(&db, dir.path(), "migrate.sql", &[(var, value)]);
        assert_refused(
            &out,
            &format!("migrate -v {var}={value:?}"),
            &[
                &format!("{var} must be a boolean"),
                &format!("not \"{value}\""),
            ],
        );
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            fresh,
            "-v {var}={value:?} changed the database"
        );
        assert_eq!(count(&db, no_bookkeeping), 0);
    }
    // What PostgreSQL reads as a boolean, psql's \if reads alike: yes is a dry run.
    let out = must_pass(
        run(&db, dir.path(), "migrate.sql", &[("dry_run", "yes")]),
        "dry run",
    );
    assert!(!out.contains("unrecognized value"), "{out}");
    assert_eq!(db.table_md5s(USER_SCHEMAS), fresh, "dry_run=yes committed");

    let batched = crate::support::workout_batched("3");
    let out = run(&db, batched.path(), "migrate.sql", &[("dry_run", "2")]);
    assert_refused(&out, "batched migrate", &["dry_run must be a boolean"]);
    assert_eq!(db.table_md5s(USER_SCHEMAS), fresh);

    // The runner stops on it too.
    let text = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e =
        run::run_script(&mut conn, "migrate.sql", &text, &vars(&[("dry_run", "2")])).unwrap_err();
    assert!(e.to_string().contains("dry_run must be a boolean"), "{e}");
    assert_eq!(db.table_md5s(USER_SCHEMAS), fresh);

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let migrated = db.table_md5s(USER_SCHEMAS);
    let out = run(&db, dir.path(), "rollback.sql", &[("dry_run", "2")]);
    assert_refused(&out, "rollback", &["dry_run must be a boolean"]);
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        migrated,
        "rollback -v dry_run=2 rolled back"
    );
    must_pass(
        run(&db, dir.path(), "rollback.sql", &[("dry_run", "T")]),
        "rollback dry run",
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        migrated,
        "rollback -v dry_run=T committed"
    );
}

/// Holds pgmig's lock in a session of its own, as a run in progress does.
fn hold_lock(db: &TestDb) -> (postgres::Client, i32) {
    let mut holder = db.client();
    holder
        .batch_execute("SET application_name = 'first_run'")
        .unwrap();
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&run::LOCK_KEY])
        .unwrap();
    let pid = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    (holder, pid)
}

#[test]
fn a_second_run_under_psql_fails_at_once_naming_the_first() {
    let db = workout_db("sb_lock");
    let batched = crate::support::workout_batched("3");
    let transaction = compiled();
    let fresh = db.table_md5s(USER_SCHEMAS);
    let (mut holder, pid) = hold_lock(&db);
    for (dir, what) in [
        (&batched, "batched migrate"),
        (&transaction, "transaction migrate"),
    ] {
        let started = std::time::Instant::now();
        let out = run(&db, dir.path(), "migrate.sql", &[]);
        assert_refused(
            &out,
            what,
            &[
                "pgmig's lock on this database is held by pid",
                &format!("pid {pid} "),
                "application 'first_run'",
            ],
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{what} waited for the lock"
        );
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            fresh,
            "{what} changed the database"
        );
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'"
            ),
            0
        );
    }
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&run::LOCK_KEY])
        .unwrap();
    must_pass(
        run(&db, batched.path(), "migrate.sql", &[]),
        "batched migrate",
    );
    must_pass(run(&db, batched.path(), "verify.sql", &[]), "verify");
}

/// Any role that can connect may take an advisory lock, pgmig's key included (third review,
/// l1). It cannot be kept from doing so (advisory locks are PUBLIC), but it must not pass for
/// a pgmig run: the scripts and the runner name its role as not a superuser, change nothing,
/// and say how to end the session.
#[test]
fn a_lock_held_by_a_role_that_is_not_a_superuser_is_named_as_such() {
    let db = workout_db("sb_lock_role");
    let batched = crate::support::workout_batched("3");
    let fresh = db.table_md5s(USER_SCHEMAS);
    let role = attacker(&db);
    db.execute(&format!("ALTER ROLE {role} LOGIN"));
    let mut squatter =
        postgres::Client::connect(&format!("{} user={role}", db.url()), postgres::NoTls).unwrap();
    squatter
        .execute("SELECT pg_advisory_lock($1)", &[&run::LOCK_KEY])
        .unwrap();
    let pid: i32 = squatter
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let holder = format!("pid {pid} (user {role}, not a superuser,");

    let out = run(&db, batched.path(), "migrate.sql", &[]);
    assert_refused(
        &out,
        "batched migrate",
        &[
            &holder,
            "or a session that took the same advisory lock key",
            "pg_terminate_backend",
        ],
    );
    let text = std::fs::read_to_string(batched.path().join("migrate.sql")).unwrap();
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "migrate.sql", &text, &BTreeMap::new()).unwrap_err();
    let message = e.to_string();
    assert!(message.contains(&holder), "{message}");
    assert!(message.contains("pg_terminate_backend"), "{message}");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        fresh,
        "a refused run changed the database"
    );

    drop(squatter);
    must_pass(
        run(&db, batched.path(), "migrate.sql", &[]),
        "batched migrate",
    );
}

/// `pgmig run` holds the lock in the session the script takes it again in: it still runs, and
/// leaves no hold behind, after a failure part way too.
#[test]
fn the_runner_runs_scripts_that_lock_and_leaves_no_hold() {
    let db = workout_db("sb_runner_lock");
    let batched = crate::support::workout_batched("3");
    let text = std::fs::read_to_string(batched.path().join("migrate.sql")).unwrap();
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let holds =
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()";
    // batch_size=0 fails inside the first step, after the script took the lock.
    let e = run::run_script(
        &mut conn,
        "migrate.sql",
        &text,
        &vars(&[("batch_size", "0")]),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("batch_size must be a positive whole number"),
        "{e}"
    );
    let n: i64 = conn.client().query_one(holds, &[]).unwrap().get(0);
    assert_eq!(n, 0, "a failed run left the lock held");
    run::run_script(&mut conn, "migrate.sql", &text, &BTreeMap::new()).unwrap();
    let n: i64 = conn.client().query_one(holds, &[]).unwrap().get(0);
    assert_eq!(n, 0, "a run left the lock held");
    let verify = std::fs::read_to_string(batched.path().join("verify.sql")).unwrap();
    run::run_script(&mut conn, "verify.sql", &verify, &BTreeMap::new()).unwrap();
}

/// The in-place scripts (models/uuid) check the same: the boolean, the lock, `_pgmig`.
#[test]
fn in_place_scripts_refuse_a_bad_boolean_a_held_lock_and_a_planted_bookkeeping_schema() {
    let db = crate::support::uuid::uuid_db("sb_inplace", true);
    let dir = crate::support::uuid::compiled(1000);
    let before = db.table_md5s(&["public"]);

    let out = run(&db, dir.path(), "migrate.sql", &[("dry_run", "2")]);
    assert_refused(
        &out,
        "in-place migrate -v dry_run=2",
        &["dry_run must be a boolean"],
    );
    let (mut holder, pid) = hold_lock(&db);
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert_refused(
        &out,
        "in-place migrate",
        &[
            "pgmig's lock on this database is held by pid",
            &format!("pid {pid} "),
        ],
    );
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&run::LOCK_KEY])
        .unwrap();
    assert_eq!(db.table_md5s(&["public"]), before);

    let role = attacker(&db);
    let evidence = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE SCHEMA _pgmig;
         CREATE TABLE _pgmig.log ({LOG_COLUMNS});
         CREATE FUNCTION _pgmig.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {} RETURN NEW; END $f$;
         CREATE TRIGGER pwn BEFORE INSERT ON _pgmig.log FOR EACH ROW EXECUTE FUNCTION _pgmig.pwn();
         RESET ROLE;",
        payload(&role, &evidence)
    ));
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "rollback.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_refused(
            &out,
            script,
            &[
                &format!("schema _pgmig is owned by {role}"),
                "trigger pwn on _pgmig.log",
            ],
        );
        assert!(
            !evidence.exists() && !is_superuser(&db, &role),
            "in-place {script} ran the trigger as superuser"
        );
    }
    assert_eq!(db.table_md5s(&["public"]), before);
}
