//! Least privilege: a role that owns V2's tables, reads V1 and has CREATE on the database
//! runs every script; a missing privilege stops a script before it writes anything, naming
//! the GRANT to run; a role without grants can't read `_pgmig`.

use std::path::Path;
use std::process::Output;

use crate::support::roles::psql_as;
use crate::support::scripts::{count, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::workout_db;
use crate::support::{cluster, repo_root, TestDb};

/// Tables whose keys migrate copies: equal content means the same migration, whatever the
/// fresh uuids of the generated weeks and days.
const KEPT: &[&str] = &[
    "public.workout_plans",
    "public.workout_sessions",
    "public.exercise_logs",
];

fn compiled() -> tempfile::TempDir {
    let models = repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// A login role named after `db` (roles are the cluster's, databases the test's) that owns
/// V2's tables (their sequences follow them), may read V1, and has CREATE on the database.
fn app_owner(db: &TestDb) -> String {
    let role = format!("app_owner_{}", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} LOGIN;
         GRANT CREATE ON DATABASE {db} TO {role};
         GRANT USAGE ON SCHEMA v1 TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA v1 TO {role};
         DO $own$
         DECLARE t regclass;
         BEGIN
           FOR t IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') LOOP
             EXECUTE format('ALTER TABLE %s OWNER TO {role}', t);
           END LOOP;
         END
         $own$;",
        db = db.name()
    ));
    role
}

fn kept(db: &TestDb) -> Vec<Option<String>> {
    let all = crate::support::scripts::keyed_md5s(db, USER_SCHEMAS);
    KEPT.iter().map(|t| all.get(*t).cloned()).collect()
}

fn rejects(db: &TestDb) -> String {
    db.client()
        .query_one("SELECT coalesce(md5(string_agg(concat_ws('|', model, step, rule, reason, source_key), E'\\n' ORDER BY step, rule, source_key::text)), '-') FROM _pgmig.rejects", &[])
        .unwrap()
        .get(0)
}

/// Every script of `dir`, as `role`, then as the superuser on another database: the same
/// content (tables with copied keys, rejects, the archives of those tables), verify passes,
/// and rollback puts V1 and V2 back as they were.
fn every_script_as_owner(dir: &Path, name: &str) {
    let db = workout_db(name);
    let role = app_owner(&db);
    let before = db.table_md5s(USER_SCHEMAS);
    let as_owner = tempfile::tempdir().unwrap();
    let here = as_owner.path();
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "export.sql"] {
        must_pass(
            psql_as(&db, &role, &dir.join(script), &[], here),
            &format!("{script} as {role}"),
        );
    }
    let owner: String = db
        .client()
        .query_one(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = '_pgmig'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, role, "the role that migrated owns _pgmig");

    let reference = workout_db(&format!("{name}_su"));
    let as_superuser = tempfile::tempdir().unwrap();
    for script in ["migrate.sql", "verify.sql"] {
        must_pass(
            run(&reference, dir, script, &[]),
            &format!("{script} as the superuser"),
        );
    }
    let out = reference
        .psql_cmd()
        .current_dir(as_superuser.path())
        .arg("-f")
        .arg(dir.join("export.sql"))
        .output()
        .unwrap();
    must_pass(out, "export.sql as the superuser");
    assert_eq!(
        kept(&db),
        kept(&reference),
        "the role's migration equals the superuser's"
    );
    for table in [
        "public.workout_weeks",
        "public.workout_days",
        "public.exercises",
    ] {
        let rows = |db: &TestDb| {
            db.table_md5s(&["public"])[table]
                .split(':')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(rows(&db), rows(&reference), "{table}: row count");
    }
    assert_eq!(rejects(&db), rejects(&reference), "the same rejects");
    // workout_sessions.v2.csv holds each session's day_id, a fresh uuid per run: same rows only.
    let lines = |dir: &std::path::Path| {
        std::fs::read_to_string(dir.join("workout_sessions.v2.csv"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(
        lines(here),
        lines(as_superuser.path()),
        "workout_sessions.v2.csv"
    );
    for file in [
        "workout_plans.v2.csv",
        "exercise_logs.v2.csv",
        "v1.exercises.csv",
        "rejects.csv",
    ] {
        let a = std::fs::read(here.join(file)).unwrap();
        let b = std::fs::read(as_superuser.path().join(file)).unwrap();
        assert!(
            a == b,
            "{file}: the role's archive differs from the superuser's"
        );
    }

    must_pass(
        psql_as(&db, &role, &dir.join("rollback.sql"), &[], here),
        &format!("rollback.sql as {role}"),
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "rollback as the role restores every table"
    );
    must_pass(
        psql_as(&db, &role, &dir.join("migrate.sql"), &[], here),
        "migrate again after the rollback",
    );
}

#[test]
fn the_v2_owner_runs_every_script_in_transaction_mode() {
    let dir = compiled();
    every_script_as_owner(dir.path(), "priv_tx");
}

#[test]
fn the_v2_owner_runs_every_script_in_batched_mode() {
    let dir = crate::support::workout_batched("200");
    every_script_as_owner(dir.path(), "priv_batched");
}

/// The GRANT lines of a refusal.
fn grants_named(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("GRANT "))
        .map(String::from)
        .collect()
}

/// Takes one privilege at a time from the role: the script stops before writing anything
/// and names exactly the GRANT that gives it back; with it given back, the script runs.
#[test]
fn a_missing_privilege_is_named_with_its_grant() {
    let db = workout_db("priv_missing");
    let role = app_owner(&db);
    let dir = compiled();
    let cwd = tempfile::tempdir().unwrap();
    let dbname = db.name().to_string();
    let before = db.table_md5s(USER_SCHEMAS);
    let no_pgmig = "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'";
    // (privilege taken, the GRANT the scripts must name, the scripts that need it)
    let cases: Vec<(String, String, Vec<&str>)> = vec![
        (
            format!("CREATE ON DATABASE {dbname} FROM {role}"),
            format!("GRANT CREATE ON DATABASE {dbname} TO {role};"),
            vec!["precheck.sql", "migrate.sql"],
        ),
        (
            format!("USAGE ON SCHEMA v1 FROM {role}"),
            format!("GRANT USAGE ON SCHEMA v1 TO {role};"),
            vec!["precheck.sql", "migrate.sql"],
        ),
        (
            format!("SELECT ON v1.exercises FROM {role}"),
            format!("GRANT SELECT ON TABLE v1.exercises TO {role};"),
            vec!["precheck.sql", "migrate.sql"],
        ),
        (
            format!("INSERT ON public.exercise_logs FROM {role}"),
            format!("GRANT INSERT ON TABLE public.exercise_logs TO {role};"),
            vec!["migrate.sql"],
        ),
        (
            format!("SELECT ON public.workout_days FROM {role}"),
            format!("GRANT SELECT ON TABLE public.workout_days TO {role};"),
            vec!["precheck.sql", "migrate.sql"],
        ),
    ];
    for (taken, grant, scripts) in &cases {
        db.execute(&format!("REVOKE {taken}"));
        for script in scripts {
            let out = psql_as(&db, &role, &dir.path().join(script), &[], cwd.path());
            assert!(
                !out.status.success(),
                "{script} must refuse without {taken}"
            );
            assert_eq!(
                grants_named(&out),
                vec![grant.clone()],
                "{script} without {taken}:\n{}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains(&format!(
                    "role {role} lacks privileges it needs; nothing was changed"
                )),
                "{}",
                stderr(&out)
            );
            assert_eq!(
                db.table_md5s(USER_SCHEMAS),
                before,
                "{script} changed nothing"
            );
            assert_eq!(count(&db, no_pgmig), 0, "{script} made no _pgmig");
        }
        db.execute(grant);
    }
    // TEMPORARY, which PUBLIC has unless revoked: migrate's session-only helpers need it.
    db.execute(&format!(
        "REVOKE TEMPORARY ON DATABASE {dbname} FROM PUBLIC"
    ));
    let out = psql_as(&db, &role, &dir.path().join("migrate.sql"), &[], cwd.path());
    assert_eq!(
        grants_named(&out),
        vec![format!("GRANT TEMPORARY ON DATABASE {dbname} TO {role};")],
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&db, no_pgmig), 0);
    db.execute(&format!("GRANT TEMPORARY ON DATABASE {dbname} TO PUBLIC"));

    // Several missing at once: one error lists them all, database first, schemas before tables.
    db.execute(&format!("REVOKE CREATE ON DATABASE {dbname} FROM {role}; REVOKE USAGE ON SCHEMA v1 FROM {role}; REVOKE SELECT ON v1.workout_plans FROM {role}"));
    let out = psql_as(&db, &role, &dir.path().join("migrate.sql"), &[], cwd.path());
    assert_eq!(
        grants_named(&out),
        vec![
            format!("GRANT CREATE ON DATABASE {dbname} TO {role};"),
            format!("GRANT USAGE ON SCHEMA v1 TO {role};"),
            format!("GRANT SELECT ON TABLE v1.workout_plans TO {role};"),
        ],
        "{}",
        stderr(&out)
    );
    db.execute(&format!("GRANT CREATE ON DATABASE {dbname} TO {role}; GRANT USAGE ON SCHEMA v1 TO {role}; GRANT SELECT ON v1.workout_plans TO {role}"));

    // With every grant back: migrate runs; then rollback's own needs (DELETE) are checked.
    must_pass(
        psql_as(&db, &role, &dir.path().join("migrate.sql"), &[], cwd.path()),
        "migrate with every grant",
    );
    let migrated = db.table_md5s(USER_SCHEMAS);
    db.execute(&format!(
        "REVOKE DELETE ON public.workout_plans FROM {role}"
    ));
    let out = psql_as(
        &db,
        &role,
        &dir.path().join("rollback.sql"),
        &[],
        cwd.path(),
    );
    assert!(!out.status.success());
    assert_eq!(
        grants_named(&out),
        vec![format!(
            "GRANT DELETE ON TABLE public.workout_plans TO {role};"
        )],
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        migrated,
        "rollback changed nothing"
    );
    db.execute(&format!("GRANT DELETE ON public.workout_plans TO {role}"));
    must_pass(
        psql_as(
            &db,
            &role,
            &dir.path().join("rollback.sql"),
            &[],
            cwd.path(),
        ),
        "rollback with every grant",
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), before);
}

/// `_pgmig` holds V1 rows (rejects) and the id maps: a role with no grant reads none of it,
/// whoever migrated.
#[test]
fn a_role_without_grants_cannot_read_pgmig() {
    let db = workout_db("priv_nobody");
    let owner = app_owner(&db);
    let dir = compiled();
    let cwd = tempfile::tempdir().unwrap();
    must_pass(
        psql_as(
            &db,
            &owner,
            &dir.path().join("migrate.sql"),
            &[],
            cwd.path(),
        ),
        "migrate as the V2 owner",
    );
    let nobody = format!("nobody_{}", db.name());
    db.execute(&format!("CREATE ROLE {nobody} LOGIN"));
    let file = cwd.path().join("read.sql");
    for table in ["log", "rejects", "sequences", "map_workout_plans"] {
        std::fs::write(&file, format!("SELECT * FROM _pgmig.{table};\n")).unwrap();
        let out = psql_as(&db, &nobody, &file, &[], cwd.path());
        assert!(!out.status.success(), "{nobody} read _pgmig.{table}");
        assert!(
            stderr(&out).contains("permission denied for schema _pgmig"),
            "{}",
            stderr(&out)
        );
    }
    // Nor through pgmig's scripts: verify as that role stops at the privilege check.
    let out = psql_as(
        &db,
        &nobody,
        &dir.path().join("verify.sql"),
        &[],
        cwd.path(),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "-- run this script as {owner} instead: that role owns schema _pgmig"
        )),
        "{}",
        stderr(&out)
    );
}

/// PLAN.md names the grants, derived from the model: V1's tables read, V2's tables written.
#[test]
fn plan_lists_the_grants() {
    let dir = compiled();
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    for line in [
        "GRANT CREATE ON DATABASE <database> TO <role>;",
        "GRANT USAGE ON SCHEMA v1, public TO <role>;",
        "GRANT SELECT ON TABLE v1.exercise_logs, v1.exercises, v1.workout_plans, v1.workout_sessions TO <role>;",
        "GRANT SELECT, INSERT, DELETE ON TABLE public.workout_plans, public.workout_weeks, public.workout_days, public.exercises, public.workout_sessions, public.exercise_logs TO <role>;",
    ] {
        assert!(plan.contains(line), "PLAN.md lacks `{line}`:\n{plan}");
    }
    assert!(
        !plan.contains("pgcrypto") && !plan.contains("postgres_fdw"),
        "the workout model needs neither"
    );
}

/// The school model needs more than workout: reference rows and their sequences, and the
/// transform library with pgcrypto, not installed yet: a trusted extension, which CREATE on
/// the database lets the role install.
#[test]
fn the_v2_owner_runs_the_school_model_and_installs_pgcrypto() {
    let db = crate::support::school::school_db("priv_school", 1);
    let role = app_owner(&db);
    let dir = crate::support::school::compiled();
    let cwd = tempfile::tempdir().unwrap();
    let pgcrypto = "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'";
    assert_eq!(count(&db, pgcrypto), 0);
    let before = db.table_md5s(&["v1", "public"]);
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        must_pass(
            psql_as(&db, &role, &dir.path().join(script), &[], cwd.path()),
            &format!("school {script} as {role}"),
        );
    }
    assert_eq!(count(&db, pgcrypto), 1, "the role installed pgcrypto");
    must_pass(
        psql_as(
            &db,
            &role,
            &dir.path().join("rollback.sql"),
            &[],
            cwd.path(),
        ),
        "school rollback.sql as the role",
    );
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "rollback restores every table, reference data included"
    );
}

/// Per-entity mode, on the drills model into a V2 that has rows (replace, repairs): the V2
/// owner runs every script too, and rollback puts V2 back as it was.
#[test]
fn the_v2_owner_runs_every_script_in_per_entity_mode() {
    let db = crate::support::drills::drills_db("priv_entity", 1);
    let role = app_owner(&db);
    let dir = crate::support::drills::compiled_per_entity(4);
    let cwd = tempfile::tempdir().unwrap();
    let before = db.table_md5s(&["v1", "public"]);
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "export.sql"] {
        must_pass(
            psql_as(&db, &role, &dir.path().join(script), &[], cwd.path()),
            &format!("per-entity {script} as {role}"),
        );
    }
    must_pass(
        psql_as(
            &db,
            &role,
            &dir.path().join("rollback.sql"),
            &[],
            cwd.path(),
        ),
        "per-entity rollback.sql as the role",
    );
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "rollback as the role restores every table"
    );
}

/// V1 on another server needs more than the V2 owner has: postgres_fdw is not a trusted
/// extension. migrate.sql names what a superuser must do, one thing at a time as it is done;
/// PLAN.md lists it; with it done, the privilege check passes and postgres_fdw's own rule
/// (a password for a role that is not superuser) is what stops the run.
#[test]
fn a_v1_on_another_server_names_what_postgres_fdw_needs() {
    let db = workout_db("priv_fdw");
    let role = app_owner(&db);
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: public }",
            1,
        )
    });
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(plan.contains("CREATE EXTENSION IF NOT EXISTS postgres_fdw;\nGRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO <role>;"), "{plan}");
    let cwd = tempfile::tempdir().unwrap();
    let socket = cluster().socket_dir().display().to_string();
    let port = cluster().port().to_string();
    let vars = [
        ("v1_host", socket.as_str()),
        ("v1_port", port.as_str()),
        ("v1_dbname", db.name()),
    ];
    let migrate = |db: &TestDb| {
        psql_as(
            db,
            &role,
            &dir.path().join("migrate.sql"),
            &vars,
            cwd.path(),
        )
    };
    let before = db.table_md5s(USER_SCHEMAS);

    let out = migrate(&db);
    assert_eq!(
        grants_named(&out),
        vec![format!(
            "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {role};"
        )],
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(
            "CREATE EXTENSION postgres_fdw;  -- by a superuser: it is not a trusted extension"
        ),
        "{}",
        stderr(&out)
    );
    db.execute("CREATE EXTENSION postgres_fdw");
    let out = migrate(&db);
    assert_eq!(
        grants_named(&out),
        vec![format!(
            "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {role};"
        )],
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("CREATE EXTENSION"),
        "{}",
        stderr(&out)
    );
    db.execute(&format!(
        "GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {role}"
    ));
    let out = migrate(&db);
    assert!(!out.status.success());
    assert!(
        !stderr(&out).contains("lacks privileges"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("password"),
        "postgres_fdw wants a password from a role that is not superuser: {}",
        stderr(&out)
    );
    assert_eq!(db.table_md5s(USER_SCHEMAS), before, "nothing was written");
}

/// Names are data: tables named with the privilege check's own dollar-quote tag neither end
/// its block nor escape the GRANT it prints.
#[test]
fn names_holding_the_checks_tag_stay_inside_it() {
    let src = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| std::fs::write(src.path().join(name), text).unwrap();
    file(
        "v1.sql",
        "CREATE TABLE \"src$privileges$\" (id integer PRIMARY KEY, v text);\n",
    );
    file(
        "v2.sql",
        "CREATE TABLE \"dst$privileges$\" (id integer PRIMARY KEY, v text);\n",
    );
    file("model.yaml", "name: hostile\nsource: { schema: v1 }\ntarget: { schema: public }\ntables:\n  dst$privileges$:\n    from: '\"src$privileges$\" AS s'\n    key: keep\n");
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &src.path().join("v1.sql"),
        &src.path().join("v2.sql"),
    );

    let db = cluster().create_db("priv_hostile");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&src.path().join("v1.sql"), "v1");
    db.load_in_schema(&src.path().join("v2.sql"), "public");
    db.execute("INSERT INTO v1.\"src$privileges$\" VALUES (1, 'a'), (2, 'b')");
    let role = format!("app_owner_{}", db.name());
    db.execute(&format!("CREATE ROLE {role} LOGIN; GRANT CREATE ON DATABASE {} TO {role}; GRANT USAGE ON SCHEMA v1 TO {role}; ALTER TABLE public.\"dst$privileges$\" OWNER TO {role}", db.name()));
    let cwd = tempfile::tempdir().unwrap();
    let out = psql_as(&db, &role, &dir.path().join("migrate.sql"), &[], cwd.path());
    assert_eq!(
        grants_named(&out),
        vec![format!(
            "GRANT SELECT ON TABLE v1.\"src$privileges$\" TO {role};"
        )],
        "{}",
        stderr(&out)
    );
    db.execute(&format!("GRANT SELECT ON v1.\"src$privileges$\" TO {role}"));
    for script in [
        "precheck.sql",
        "migrate.sql",
        "verify.sql",
        "export.sql",
        "rollback.sql",
    ] {
        must_pass(
            psql_as(&db, &role, &dir.path().join(script), &[], cwd.path()),
            script,
        );
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM public.\"dst$privileges$\""),
        0,
        "rolled back"
    );
    let migrate = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    assert!(
        migrate.contains("DO $privileges_1$"),
        "a tag the body does not hold"
    );
}
