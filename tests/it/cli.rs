//! The command line's own answers to a user's slips: what went wrong and what to do, exit
//! codes as README says (2 bad input, 1 a failed run, 0 success).

use crate::support::{cluster, pgmig_cli, repo_root};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_misspelled_script_name_gets_the_nearest_one() {
    let out = pgmig_cli(&["run", "precheks", "--db", "host=/nonexistent dbname=x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(stderr(&out), @"error: `precheks` is not a script: did you mean `precheck`? (one of precheck, migrate, verify, rollback, export, cleanup, or the path of a .sql file)");
}

#[test]
fn a_failed_connection_names_where_it_tried() {
    let out = pgmig_cli(&[
        "status",
        "--db",
        "host=/nonexistent port=6543 dbname=app user=dba",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tried socket /nonexistent/.s.PGSQL.6543, database app, user dba"),
        "{}",
        stderr(&out)
    );
    let out = pgmig_cli(&["status", "--db", "postgresql://dba@127.0.0.1:1/app"]);
    assert!(
        stderr(&out).contains("tried host 127.0.0.1 port 1, database app"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_creates_the_folder_it_writes_into() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fresh/workout/model.yaml");
    let (v1, v2) = (
        root.join("models/workout/v1.sql"),
        root.join("models/workout/v2.sql"),
    );
    let out = pgmig_cli(&[
        "init",
        "--v1",
        &v1.display().to_string(),
        "--v2",
        &v2.display().to_string(),
        "-o",
        &target.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let draft = std::fs::read_to_string(&target).unwrap();
    assert!(
        draft.starts_with("name: workout") || draft.contains("\nname: workout\n"),
        "the model is named after its folder:\n{draft}"
    );
}

/// An in-place model has no step plan: `--format json` printed `null` and wrote the scripts.
#[test]
fn json_plan_of_an_in_place_model_is_refused_before_anything_is_written() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let model = |f: &str| root.join("models/uuid").join(f).display().to_string();
    let out = pgmig_cli(&[
        "compile",
        &model("model.yaml"),
        "--v1",
        &model("v1.sql"),
        "--v2",
        &model("v2.sql"),
        "--out",
        &out_dir.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr(&out).contains("is an in-place model (its plan is PLAN.md); nothing was written"),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.exists(), "nothing is written");
}

/// `pgmig rejects | head`: the reader is gone before anything is written.
#[test]
fn output_cut_short_by_its_reader_is_no_failure() {
    let db = cluster().create_db("cli_pipe");
    for command in ["rejects", "status"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
            .args([command, "--db", &db.url()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{command}: ends quietly");
    }
}

#[test]
fn a_lock_timeout_says_so_which_lock_and_what_to_do() {
    let db = crate::support::workout::workout_db("lock_timeout");
    let dir = crate::support::workout::compiled();
    let before = db.table_md5s(&["public"]);
    // Another session holds V2's plans table, as an application's long transaction would.
    let mut holder = db.client();
    holder
        .batch_execute(
            "BEGIN; LOCK TABLE public.workout_plans IN ACCESS EXCLUSIVE MODE; SET application_name = 'the_app'",
        )
        .unwrap();
    let out = pgmig_cli(&[
        "run",
        "migrate",
        "--dir",
        &dir.path().display().to_string(),
        "--db",
        &db.url(),
        "-v",
        "lock_timeout=200ms",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lock timeout: the statement waited longer than lock_timeout"),
        "{err}"
    );
    assert!(
        err.contains("held now: ACCESS EXCLUSIVE on workout_plans by pid")
            || err.contains("held now: ACCESS EXCLUSIVE on public.workout_plans by pid"),
        "the lock and its holder are named:\n{err}"
    );
    assert!(err.contains("-v lock_timeout="), "what to do:\n{err}");
    assert!(
        !err.contains("run precheck.sql"),
        "no misleading hint:\n{err}"
    );
    holder.batch_execute("ROLLBACK").unwrap();
    assert_eq!(db.table_md5s(&["public"]), before, "nothing was migrated");
}

#[test]
fn a_model_reading_v1_on_another_server_asks_for_v1_when_it_is_not_given() {
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: workout_v1, schema: public }",
            1,
        )
    });
    for script in ["precheck", "migrate"] {
        let out = pgmig_cli(&[
            "run",
            script,
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            "host=/nonexistent dbname=x",
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("the model reads V1 on another server")
                && err.contains("give V1's database with --v1 URL"),
            "{script}: {err}"
        );
    }
}

/// Every subcommand's `--help` as the user reads it: flags with descriptions, script
/// variables, what `--v1`/`--v2` accept, exit codes. A change shows here for review.
#[test]
fn help_texts() {
    for sub in [
        "compile", "run", "export", "rejects", "status", "init", "lint", "stage",
    ] {
        let out = pgmig_cli(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{sub}: {}", stderr(&out));
        insta::assert_snapshot!(format!("help_{sub}"), String::from_utf8_lossy(&out.stdout));
    }
}

/// `pgmig run` against the wrong database says so first, before any step's findings: given
/// V1's own database as `--db`, or a database without V2's tables, precheck stops at the
/// catalog check naming what is missing and asks whether it is the database to migrate.
#[test]
fn run_against_the_wrong_database_says_so_first() {
    let models = repo_root().join("models/workout");
    let dir = crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );
    let v1_only = cluster().create_db("cli_v1_only");
    v1_only.load_in_schema(&models.join("v1.sql"), "public");
    let sample = v1_only.psql_file(models.join("sample.sql"), &[("schema", "public")]);
    assert!(sample.status.success(), "{}", stderr(&sample));
    let without_v2 = cluster().create_db("cli_without_v2");
    without_v2.execute("CREATE SCHEMA v1");
    without_v2.load_in_schema(&models.join("v1.sql"), "v1");
    without_v2.load_in_schema(&models.join("sample.sql"), "v1");
    for (db, missing) in [
        (&v1_only, "V1 table v1."),
        (&without_v2, "V2 table public."),
    ] {
        let before = db.table_md5s(&["public", "v1"]);
        let out = pgmig_cli(&[
            "run",
            "precheck",
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &db.url(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let first_error = err
            .lines()
            .find(|l| l.contains("ERROR") || l.starts_with("error"))
            .unwrap_or_else(|| panic!("no error:\n{err}"));
        assert!(
            first_error.contains(&format!(
                "this database is not the one the script was compiled against: {missing}"
            )),
            "{err}"
        );
        assert!(err.contains("is this the database to migrate"), "{err}");
        assert!(!err.contains("BLOCKING"), "{err}");
        assert!(!err.contains("step workout_plans"), "no step ran:\n{err}");
        assert_eq!(db.table_md5s(&["public", "v1"]), before, "nothing changed");
    }
}

/// README's walkthrough layout (V1 in a database of its own, read through `--v1`) with V1's
/// database given as both `--db` and `--v1`: precheck and migrate stop at the catalog check,
/// before any step, naming the first V2 difference and asking whether `--db` is the database
/// to migrate; V1's database is left as it was (no bookkeeping, no foreign server).
#[test]
fn v1s_database_given_as_both_db_and_v1_is_refused_first() {
    let models = repo_root().join("models/workout");
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: workout_v1, schema: public }",
            1,
        )
    });
    let v1 = cluster().create_db("cli_v1_as_both");
    v1.load_in_schema(&models.join("v1.sql"), "public");
    let sample = v1.psql_file(models.join("sample.sql"), &[("schema", "public")]);
    assert!(sample.status.success(), "{}", stderr(&sample));
    let before = v1.table_md5s(&["public"]);
    for script in ["precheck", "migrate"] {
        let out = pgmig_cli(&[
            "run",
            script,
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &v1.url(),
            "--v1",
            &v1.url(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{script}: {err}");
        let first_error = err
            .lines()
            .find(|l| l.contains("ERROR") || l.starts_with("error"))
            .unwrap_or_else(|| panic!("{script}: no error:\n{err}"));
        assert!(
            first_error.contains(&format!(
                "{script}.sql: this database is not the one the script was compiled against: V2 "
            )),
            "{script}: {err}"
        );
        assert!(err.contains("is this the database to migrate"), "{err}");
        assert!(!err.contains("BLOCKING"), "{script}: {err}");
        assert!(
            !err.contains("step workout_plans"),
            "{script}: no step ran:\n{err}"
        );
        assert_eq!(v1.table_md5s(&["public"]), before, "{script} changed V1");
        let left: i64 = v1
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_pgmig%')
                      + (SELECT count(*) FROM pg_foreign_server)",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "{script} left bookkeeping or a server behind");
    }
}
