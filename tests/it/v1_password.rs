//! V1 on another server wants a password: it reaches postgres_fdw's user mapping without
//! appearing in the server log (log_statement = all), and the mapping that holds it does not
//! outlive the script that made it (precheck, migrate, verify, export), whether the script
//! succeeds or fails.

use std::path::Path;
use std::process::Output;

use crate::support::scripts::{count, must_pass, stderr};
use crate::support::workout::remote_v1;
use crate::support::{cluster, second_cluster, TestDb};

/// The fdw server's user mappings (the catalog view the mapping's owner can read).
fn mappings(db: &TestDb) -> i64 {
    count(
        db,
        "SELECT count(*) FROM pg_user_mappings WHERE srvname = '_pgmig_v1db'",
    )
}

/// V1 (workout, on the second cluster) readable only by a role that logs in with `password`.
fn password_protected_v1(
    name: &str,
    password: &str,
) -> (TestDb, TestDb, tempfile::TempDir, String) {
    let (v1, db, dir) = remote_v1(name);
    let role = format!("{}_reader", v1.name());
    v1.execute(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"));
    second_cluster().require_password_for(&role);
    (v1, db, dir, role)
}

/// psql on `script` with every statement logged (the session's log_statement = all and
/// log_min_duration_statement = 0, as a superuser may set them) and the password in the
/// environment, as the scripts want it.
fn logged_run(
    db: &TestDb,
    dir: &Path,
    script: &str,
    cwd: &Path,
    v1: &TestDb,
    role: &str,
    password: &str,
) -> Output {
    let second = second_cluster();
    db.psql_cmd()
        .current_dir(cwd)
        .env(
            "PGOPTIONS",
            "-c log_statement=all -c log_min_duration_statement=0",
        )
        .env("PGMIG_V1_PASSWORD", password)
        .args([
            "-v",
            &format!("v1_host={}", second.socket_dir().display()),
            "-v",
            &format!("v1_port={}", second.port()),
        ])
        .args([
            "-v",
            &format!("v1_dbname={}", v1.name()),
            "-v",
            &format!("v1_user={role}"),
        ])
        .arg("-f")
        .arg(dir.join(script))
        .output()
        .unwrap()
}

/// The attack: anyone who reads the server log (or, later, `pg_user_mappings` and pg_dump
/// output) collects V1's password. precheck, migrate (done, and failed) and export run with
/// statement logging on; the password is nowhere in the log, and no mapping is left.
#[test]
fn the_v1_password_is_not_logged_and_no_mapping_outlives_a_script() {
    let password = "Pw-of-V1-never-in-a-log-7c1e";
    let (v1, db, dir, role) = password_protected_v1("pw_log", password);
    let cwd = tempfile::tempdir().unwrap();
    let go = |script: &str| logged_run(&db, dir.path(), script, cwd.path(), &v1, &role, password);

    let pre = go("precheck.sql");
    assert!(pre.status.success(), "precheck: {}", stderr(&pre));
    assert_eq!(
        mappings(&db),
        0,
        "precheck's mapping goes with its rollback"
    );

    must_pass(go("migrate.sql"), "migrate");
    assert_eq!(mappings(&db), 0, "migrate drops its mapping");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_foreign_server WHERE srvname = '_pgmig_v1db'"
        ),
        1,
        "the server stays for export"
    );
    assert!(
        count(&db, "SELECT count(*) FROM public.workout_plans") > 0,
        "the password worked"
    );

    // verify reads V1 too, with a mapping of its own.
    let verified = go("verify.sql");
    assert!(
        verified.status.success() && stderr(&verified).contains("verify: every check passed"),
        "verify: {}",
        stderr(&verified)
    );
    assert_eq!(mappings(&db), 0, "verify's mapping goes with its rollback");

    // A second migrate fails (already migrated) after it made its mapping: rolled back with it.
    let again = go("migrate.sql");
    assert!(
        !again.status.success() && stderr(&again).contains("already migrated"),
        "{}",
        stderr(&again)
    );
    assert_eq!(mappings(&db), 0, "a failed migrate leaves no mapping");

    // export reads the V1 tables through the server, with a mapping of its own.
    let out = go("export.sql");
    assert!(out.status.success(), "export: {}", stderr(&out));
    let plans = std::fs::read_to_string(cwd.path().join("public.workout_plans.csv")).unwrap();
    assert!(plans.lines().count() > 1, "{plans}");
    assert_eq!(mappings(&db), 0, "export's mapping goes with its rollback");

    let log = cluster().server_log();
    assert!(
        log.contains("CREATE USER MAPPING FOR CURRENT_USER SERVER _pgmig_v1db OPTIONS (user"),
        "statements were logged"
    );
    assert!(
        !log.contains(password),
        "the password is in the server log:\n{}",
        log.lines()
            .filter(|l| l.contains(password))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for (what, out) in [
        ("precheck", &pre),
        ("verify", &verified),
        ("again", &again),
        ("export", &out),
    ] {
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
        assert!(
            !said.contains(password),
            "{what} printed the password:\n{said}"
        );
    }
}

/// Batched mode commits as it goes: the mapping is made and committed on its own, and
/// dropped at the end of the run.
#[test]
fn a_batched_migrate_drops_its_mapping_at_the_end() {
    let password = "Pw-of-V1-batched-3f9a";
    let (v1, db, _, role) = password_protected_v1("pw_batched", password);
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: public }",
            1,
        )
        .replacen(
            "\nname: workout\n",
            "\nname: workout\nmode: { batched: { size: 50 } }\n",
            1,
        )
    });
    let cwd = tempfile::tempdir().unwrap();
    must_pass(
        logged_run(
            &db,
            dir.path(),
            "migrate.sql",
            cwd.path(),
            &v1,
            &role,
            password,
        ),
        "batched migrate",
    );
    assert_eq!(mappings(&db), 0);
    assert!(count(&db, "SELECT count(*) FROM public.workout_plans") > 0);
    assert!(
        !cluster().server_log().contains(password),
        "the password is in the server log"
    );
}

/// A role that may not change log_statement (not a superuser) gets the same mapping: its
/// attempt to stop logging is given up quietly, and under log_statement = ddl (the setting
/// that logs every DDL statement) the password is not in the log either.
#[test]
fn a_role_that_may_not_stop_logging_still_keeps_the_password_out_of_ddl() {
    let password = "Pw-of-V1-plain-role-5d20";
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: public }",
            1,
        )
    });
    let migrate = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    // The fdw part of migrate.sql from the server to the mapping, as this role runs it.
    let from = migrate.find("CREATE SERVER _pgmig_v1db").unwrap();
    let to = migrate.find("CREATE SCHEMA _pgmig_v1db;").unwrap();
    let script = dir.path().join("mapping.sql");
    std::fs::write(&script, format!("BEGIN;\n{}COMMIT;\n", &migrate[from..to])).unwrap();

    let db = cluster().create_db("pw_plain_role");
    let role = format!("{}_app", db.name());
    db.execute(&format!("CREATE EXTENSION postgres_fdw; CREATE ROLE {role} LOGIN; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {role}"));
    let out = db
        .psql_cmd()
        .env("PGOPTIONS", format!("-c log_statement=ddl -c role={role}"))
        .env("PGMIG_V1_PASSWORD", password)
        .args([
            "-v",
            "v1_host=v1.example",
            "-v",
            "v1_port=5432",
            "-v",
            "v1_dbname=v1",
            "-v",
            "v1_user=reader",
            "-f",
        ])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        count(&db, &format!("SELECT count(*) FROM pg_user_mappings WHERE srvname = '_pgmig_v1db' AND usename = '{role}' AND 'password={password}' = ANY (umoptions)")),
        1,
        "the mapping has the password"
    );
    let log = cluster().server_log();
    assert!(
        log.contains("CREATE SERVER _pgmig_v1db FOREIGN DATA WRAPPER postgres_fdw"),
        "DDL was logged"
    );
    assert!(!log.contains(password), "the password is in the server log");
}

/// Per-entity mode commits entity batches as it goes, like batched mode: its mapping is made
/// and committed on its own and dropped at the end (the drills model, V1 on the second cluster).
#[test]
fn a_per_entity_migrate_drops_its_mapping_at_the_end() {
    let password = "Pw-of-V1-per-entity-81b4";
    let models = crate::support::repo_root().join("models/drills");
    let load = |db: &TestDb, schema: &str, ddl: &str, sample: &str| {
        db.execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"));
        db.load_in_schema(&models.join(ddl), schema);
        let out = db
            .psql_cmd()
            .args([
                "-q",
                "-v",
                "scale=1",
                "-v",
                &format!("schema={schema}"),
                "-f",
            ])
            .arg(models.join(sample))
            .output()
            .unwrap();
        assert!(out.status.success(), "{sample}: {}", stderr(&out));
    };
    let v1 = second_cluster().create_db("pw_entities_v1");
    load(&v1, "v1", "v1.sql", "sample_v1.sql");
    let db = cluster().create_db("pw_entities_v2");
    load(&db, "public", "v2.sql", "sample_v2.sql");
    let role = format!("{}_reader", v1.name());
    v1.execute(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'; GRANT USAGE ON SCHEMA v1 TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA v1 TO {role}"));
    second_cluster().require_password_for(&role);

    let text = std::fs::read_to_string(models.join("model.yaml")).unwrap();
    let edited = text
        .replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: v1 }",
            1,
        )
        .replacen(
            "name: drills\n",
            "name: drills\nmode: { per_entity: { root: users, size: 3 } }\n",
            1,
        );
    assert_ne!(text, edited);
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), edited).unwrap();
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );

    let cwd = tempfile::tempdir().unwrap();
    let said = must_pass(
        logged_run(
            &db,
            dir.path(),
            "migrate.sql",
            cwd.path(),
            &v1,
            &role,
            password,
        ),
        "per-entity migrate",
    );
    assert!(
        said.contains("batches committed, 0 entities failed"),
        "{said}"
    );
    assert_eq!(mappings(&db), 0);
    assert!(
        !cluster().server_log().contains(password),
        "the password is in the server log"
    );
}
