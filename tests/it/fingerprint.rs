//! The compile's fingerprint: migrate records it in `_pgmig.log` (and `pgmig run` the
//! sha256 of the script file); verify.sql and rollback.sql of another compile of the model
//! refuse, naming both fingerprints, and change nothing.

use std::path::Path;

use crate::support::pgmig_cli;
use crate::support::scripts::{must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::workout_db;
use crate::support::{repo_root, TestDb};

fn compiled() -> tempfile::TempDir {
    let models = repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// The fingerprint a compiled script carries (its `SET pgmig.fingerprint` line).
fn fingerprint_of(dir: &Path, script: &str) -> String {
    let text = std::fs::read_to_string(dir.join(script)).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("SET pgmig.fingerprint = '"))
        .unwrap_or_else(|| panic!("{script} sets no fingerprint"));
    let fp = line
        .trim_start_matches("SET pgmig.fingerprint = '")
        .trim_end_matches("';")
        .to_string();
    assert_eq!(fp.len(), 64, "a sha256 in hex: {line}");
    fp
}

/// (script, step, fingerprint, script_sha256) of every log row, in order.
fn log(db: &TestDb) -> Vec<(String, String, Option<String>, Option<String>)> {
    db.client()
        .query(
            "SELECT script, step, fingerprint, script_sha256 FROM _pgmig.log ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[test]
fn verify_and_rollback_of_another_compile_are_refused() {
    let db = workout_db("fp_other");
    let ours = compiled();
    let fp = fingerprint_of(ours.path(), "migrate.sql");
    assert_eq!(
        fingerprint_of(ours.path(), "rollback.sql"),
        fp,
        "one fingerprint for the whole compile"
    );
    for file in ["verify.sql", "PLAN.md"] {
        assert!(
            std::fs::read_to_string(ours.path().join(file))
                .unwrap()
                .contains(&fp),
            "{file} names it"
        );
    }
    // The same model compiled again: the same fingerprint (deterministic bytes).
    assert_eq!(fingerprint_of(compiled().path(), "migrate.sql"), fp);
    // One reject reason changed: another compile.
    let theirs = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "reason: plan has no user_id",
            "reason: plan without a user",
            1,
        )
    });
    let other = fingerprint_of(theirs.path(), "rollback.sql");
    assert_ne!(other, fp);

    must_pass(run(&db, ours.path(), "migrate.sql", &[]), "migrate");
    let rows = log(&db);
    assert!(
        rows.iter().any(|r| r.0 == "migrate" && r.1 == "(all)"),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.2.as_deref() == Some(fp.as_str())),
        "every log row carries the fingerprint: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.3.is_none()),
        "under psql no file hash: {rows:?}"
    );

    let migrated = db.table_md5s(USER_SCHEMAS);
    let pgmig = || db.table_md5s(&["_pgmig"]);
    let bookkeeping = pgmig();
    for script in ["verify.sql", "rollback.sql"] {
        let out = run(&db, theirs.path(), script, &[]);
        assert!(
            !out.status.success(),
            "{script} of another compile must refuse"
        );
        let e = stderr(&out);
        assert!(e.contains(&format!("{script}: model workout was migrated by another compile (fingerprint {fp}); this script is from compile {other}")), "{e}");
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            migrated,
            "{script} changed nothing"
        );
        assert_eq!(pgmig(), bookkeeping, "{script} wrote no bookkeeping");
    }

    // The compile that migrated still verifies and rolls back; its rollback's rows carry it too.
    must_pass(
        run(&db, ours.path(), "verify.sql", &[]),
        "verify of the same compile",
    );
    must_pass(
        run(&db, ours.path(), "rollback.sql", &[]),
        "rollback of the same compile",
    );
    assert!(log(&db)
        .iter()
        .filter(|r| r.0 == "rollback")
        .all(|r| r.2.as_deref() == Some(fp.as_str())));
    // Rolled back, the other compile may migrate, and then only its own scripts verify.
    must_pass(
        run(&db, theirs.path(), "migrate.sql", &[]),
        "migrate of the other compile",
    );
    must_pass(run(&db, theirs.path(), "verify.sql", &[]), "its verify");
    let out = run(&db, ours.path(), "verify.sql", &[]);
    assert!(
        !out.status.success()
            && stderr(&out).contains(&format!(
                "(fingerprint {other}); this script is from compile {fp}"
            )),
        "{}",
        stderr(&out)
    );
}

/// `--entities` and `--only` choose a part of the same compile: the fingerprint is the whole
/// model's, so a subset's migrate and the full verify agree.
#[test]
fn a_subset_shares_the_model_fingerprint() {
    let models = repo_root().join("models/workout");
    let full = compiled();
    let selection = pgmig::compile::Selection {
        entities: vec!["workout_plans".into()],
        only: None,
    };
    let ddl = |f: &str| pgmig::SchemaInput::Ddl(models.join(f));
    let part = pgmig::compile::compile_selected(
        &models.join("model.yaml"),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &selection,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    pgmig::compile::write(&part.scripts, dir.path()).unwrap();
    assert_ne!(
        std::fs::read(dir.path().join("migrate.sql")).unwrap(),
        std::fs::read(full.path().join("migrate.sql")).unwrap()
    );
    assert_eq!(
        fingerprint_of(dir.path(), "migrate.sql"),
        fingerprint_of(full.path(), "migrate.sql")
    );
}

/// `pgmig run` records the sha256 of the script file it ran, next to the fingerprint.
#[test]
fn the_runner_records_the_script_file_sha256() {
    let db = workout_db("fp_runner");
    let dir = compiled();
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Hashed by PostgreSQL, not by pgmig's code.
    let file = std::fs::read(dir.path().join("migrate.sql")).unwrap();
    let expected: String = db
        .client()
        .query_one("SELECT encode(sha256($1), 'hex')", &[&file])
        .unwrap()
        .get(0);
    let rows = log(&db);
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r.3.as_deref(), Some(expected.as_str()), "{r:?}");
        assert_eq!(
            r.2.as_deref(),
            Some(fingerprint_of(dir.path(), "migrate.sql").as_str()),
            "{r:?}"
        );
    }
}

/// A `_pgmig.log` made by an earlier pgmig (no fingerprint columns) gets them on the next
/// migrate; a migration recorded without a fingerprint is not compared.
#[test]
fn an_earlier_log_gets_the_columns() {
    let db = workout_db("fp_upgrade");
    db.execute(
        "CREATE SCHEMA _pgmig;
         CREATE TABLE _pgmig.log (
           id bigserial PRIMARY KEY, model text NOT NULL, script text NOT NULL, step text NOT NULL,
           started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz,
           rows_in bigint, rows_filtered bigint, rows_rejected bigint, rows_out bigint,
           status text NOT NULL, message text);
         INSERT INTO _pgmig.log (model, script, step, status) VALUES ('other', 'migrate', '(all)', 'done');",
    );
    let dir = compiled();
    let fp = fingerprint_of(dir.path(), "migrate.sql");
    must_pass(
        run(&db, dir.path(), "migrate.sql", &[]),
        "migrate over an earlier _pgmig.log",
    );
    let rows = log(&db);
    assert_eq!(
        rows[0].2, None,
        "an earlier row stays without a fingerprint"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.2.as_deref() == Some(fp.as_str())),
        "{rows:?}"
    );
    // As if an earlier pgmig had migrated: nothing to compare, verify and rollback run.
    db.execute("UPDATE _pgmig.log SET fingerprint = NULL");
    let theirs = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "reason: plan has no user_id",
            "reason: plan without a user",
            1,
        )
    });
    must_pass(
        run(&db, theirs.path(), "verify.sql", &[]),
        "verify of a migration without a fingerprint",
    );
}

/// A batched migrate stopped part way resumes only with the compile that began it: another
/// compile's migrate.sql refuses, naming both fingerprints, and changes nothing.
#[test]
fn a_stopped_batched_migrate_resumes_only_with_its_own_compile() {
    let db = workout_db("fp_resume");
    let ours = crate::support::workout_batched("50");
    let theirs = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "\nname: workout\n",
            "\nname: workout\nmode: { batched: { size: 50 } }\n",
            1,
        )
        .replacen(
            "reason: plan has no user_id",
            "reason: plan without a user",
            1,
        )
    });
    let (fp, other) = (
        fingerprint_of(ours.path(), "migrate.sql"),
        fingerprint_of(theirs.path(), "migrate.sql"),
    );
    assert_ne!(fp, other);
    assert!(
        db.migrate_until_batches(&ours.path().join("migrate.sql"), "pgmig_fp_resume", 3),
        "the run was cut short"
    );
    let stopped = db.table_md5s(&["public", "_pgmig"]);
    let out = run(&db, theirs.path(), "migrate.sql", &[]);
    assert!(
        !out.status.success(),
        "another compile must not resume the run"
    );
    let e = stderr(&out);
    assert!(e.contains(&format!("migrate.sql: model workout was migrated by another compile (fingerprint {fp}); this script is from compile {other}")), "{e}");
    assert_eq!(
        db.table_md5s(&["public", "_pgmig"]),
        stopped,
        "the refused run changed nothing"
    );
    must_pass(
        run(&db, ours.path(), "migrate.sql", &[]),
        "resume with the compile that began",
    );
    must_pass(run(&db, ours.path(), "verify.sql", &[]), "verify");
}

/// V1 on another server: its tables are imported at run time, and then compared with the
/// V1 catalog the scripts were compiled against. A V1 column whose type changed there, or a
/// V1 table gone, stops precheck and migrate naming it, and V2 stays as it was.
#[test]
fn a_v1_on_another_server_is_checked_against_the_compiled_catalog() {
    let (v1, db, dir) = crate::support::workout::remote_v1("fp_remote");
    let second = crate::support::second_cluster();
    let (host, port) = (
        second.socket_dir().display().to_string(),
        second.port().to_string(),
    );
    let vars = [
        ("v1_host", host.as_str()),
        ("v1_port", port.as_str()),
        ("v1_dbname", v1.name()),
        ("v1_user", "postgres"),
    ];
    let pgmig_schemas = || -> i64 {
        db.client()
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_pgmig%'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let before = db.table_md5s(&["public"]);
    for (change, undo, difference) in [
        (
            "ALTER TABLE public.workout_plans ALTER COLUMN duration_weeks TYPE bigint",
            "ALTER TABLE public.workout_plans ALTER COLUMN duration_weeks TYPE integer",
            "V1 column public.workout_plans.duration_weeks is bigint, compiled as integer",
        ),
        (
            "ALTER TABLE public.exercises RENAME TO exercises_old",
            "ALTER TABLE public.exercises_old RENAME TO exercises",
            "V1 table public.exercises does not exist",
        ),
    ] {
        v1.execute(change);
        for script in ["precheck.sql", "migrate.sql"] {
            let out = run(&db, dir.path(), script, &vars);
            assert!(!out.status.success(), "{script} after {change}");
            let e = stderr(&out);
            let expected = format!("{script}: V1 on server v1db is not the one the script was compiled against: {difference}; nothing was changed");
            assert!(e.contains(&expected), "{script} after {change}: {e}");
            assert_eq!(
                db.table_md5s(&["public"]),
                before,
                "{script} changed nothing"
            );
            assert_eq!(pgmig_schemas(), 0, "{script} left no bookkeeping");
        }
        v1.execute(undo);
    }
    // V1 as compiled: the same scripts pass.
    must_pass(run(&db, dir.path(), "precheck.sql", &vars), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql", &vars), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &vars), "verify");
}
