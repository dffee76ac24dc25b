//! Bad input: each gets a clear error saying what and where, exit code 2, no panic.
//! The rendered diagnostics are snapshotted (read them when accepting).

use std::process::Command;

use crate::support::{compile_refused, repo_root};

fn compile_bad(name: &str) -> (i32, String) {
    let root = repo_root();
    compile_refused(
        &root.join("tests/it/fixtures/bad"),
        &format!("{name}.yaml"),
        &root.join("models/workout/v1.sql"),
        &root.join("models/workout/v2.sql"),
    )
}

macro_rules! bad_model {
    ($name:ident, $($needle:expr),+) => {
        #[test]
        fn $name() {
            let (code, stderr) = compile_bad(stringify!($name));
            assert_eq!(code, 2, "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            $(assert!(stderr.contains($needle), "expected {:?} in:\n{stderr}", $needle);)+
            insta::assert_snapshot!(stringify!($name), stderr);
        }
    };
}

bad_model!(malformed_yaml, "malformed_yaml.yaml:");
bad_model!(
    unknown_column,
    "unknown_column.yaml:8:",
    "duration_weks",
    "did you mean `duration_weeks`?"
);
bad_model!(injection, "injection.yaml:9:", "unexpected `)`");
bad_model!(
    warn_unknown_column,
    "warn_unknown_column.yaml:7:",
    "start_dat",
    "did you mean `start_date`?"
);
bad_model!(
    unknown_table,
    "unknown_table.yaml:5:",
    "workout_plan",
    "did you mean `workout_plans`?"
);
bad_model!(
    not_assignable,
    "not_assignable.yaml:8:",
    "can't be assigned"
);
bad_model!(
    not_null_unfilled,
    "not_null_unfilled.yaml:4:",
    "NOT NULL in V2 and nothing fills it"
);
bad_model!(
    batch_zero,
    "batch_zero.yaml:3:",
    "batch size must be a positive whole number"
);
bad_model!(several_errors, "user_idd", "statuss", "workout_wekes");
bad_model!(
    model_name_path,
    "model_name_path.yaml:1:7",
    "is not a plain word"
);
bad_model!(
    model_name_quote,
    "model_name_quote.yaml:1:7",
    "is not a plain word"
);
bad_model!(
    archive_errors,
    "archive_errors.yaml:11:8",
    "archive directory `../outside` is not a plain word",
    "archive_errors.yaml:13:5",
    "archive directory `Plans/x` is not a plain word",
    "archive_errors.yaml:14:16",
    "an archive query needs an ORDER BY",
    "archive_errors.yaml:15:14",
    "an archive query returns two columns, `file` and `text`",
    "archive_errors.yaml:16:"
);

#[test]
fn unreachable_database_is_a_failed_run_not_a_panic() {
    let root = repo_root();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["run", "migrate", "--dir"])
        .arg(root.join("out/workout"))
        .args(["--db", "host=/nonexistent port=1 dbname=x user=postgres"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn unreachable_schema_database_fails_compile_with_exit_1() {
    let root = repo_root();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .arg("compile")
        .arg(root.join("models/workout/model.yaml"))
        .args([
            "--v1",
            "host=/nonexistent port=1 dbname=x user=postgres",
            "--v2",
        ])
        .arg(root.join("models/workout/v2.sql"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: V1: can't read the schema from the database"),
        "{stderr}"
    );
}

#[test]
fn compile_format_json_prints_the_plan_as_data() {
    let root = repo_root();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .arg("compile")
        .arg(root.join("models/workout/model.yaml"))
        .arg("--v1")
        .arg(root.join("models/workout/v1.sql"))
        .arg("--v2")
        .arg(root.join("models/workout/v2.sql"))
        .arg("--out")
        .arg(out.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["model"], "workout");
    assert_eq!(plan["mode"], "transaction");
    let steps = plan["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "workout_plans",
            "workout_weeks",
            "workout_days",
            "exercises",
            "workout_sessions",
            "exercise_logs"
        ]
    );
    assert_eq!(steps[1]["key"]["new"]["new"]["sql"], "gen_random_uuid()");
    assert!(steps[3]["rejects"].as_array().unwrap().len() == 3);
}

// ---- hostile model files: each is an error at its position, never a crash or a silent cut ----

/// Compiles a model given as bytes (written to a temp file) against the workout DDL.
fn compile_bytes(model: &[u8]) -> (i32, String) {
    let root = repo_root();
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), model).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(src.path())
        .args(["compile", "model.yaml", "--v1"])
        .arg(root.join("models/workout/v1.sql"))
        .arg("--v2")
        .arg(root.join("models/workout/v2.sql"))
        .arg("--out")
        .arg(out.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code().unwrap_or(-1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if code != 0 {
        assert!(
            std::fs::read_dir(out.path()).unwrap().next().is_none(),
            "nothing is written on error"
        );
    }
    (code, stderr)
}

fn workout_model() -> String {
    std::fs::read_to_string(repo_root().join("models/workout/model.yaml")).unwrap()
}

#[test]
fn a_where_of_300k_terms_is_an_error_not_a_stack_overflow() {
    // Was exit 134 (SIGABRT: stack overflow): the checks walk expressions recursively.
    let condition = vec!["p.weeks = 1"; 300_000].join(" OR ");
    let model = format!("name: deep\nsource: {{ schema: v1 }}\ntables:\n  workout_plans:\n    from: workout_plans p\n    where: {condition}\n    key: keep\n");
    let (code, stderr) = compile_bytes(model.as_bytes());
    assert_eq!(code, 2, "{}", &stderr[..stderr.len().min(2000)]);
    assert!(
        stderr
            .contains("model.yaml:6:12: error: `where` is too long: 1799999 tokens, at most 10000"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
}

#[test]
fn thousands_of_bad_steps_are_all_reported() {
    // Rendering was quadratic (20k bad steps took minutes); every error is still reported.
    let mut model = String::from("name: many\nsource: { schema: v1 }\ntables:\n");
    for i in 0..5000 {
        model.push_str(&format!("  s{i}:\n    into: workout_plans\n    from: workout_plans p\n    where: p.nope = 1\n    key: keep\n"));
    }
    let (code, stderr) = compile_bytes(model.as_bytes());
    assert_eq!(code, 2);
    assert_eq!(
        stderr
            .matches("error: column `nope` does not exist")
            .count(),
        5000
    );
    assert!(
        stderr.contains("model.yaml:25002:14: error: column `nope`"),
        "the last step's error has its position"
    );
}

#[test]
fn a_nul_byte_is_an_error_where_it_is() {
    // Was exit 0: the YAML reader stopped at the NUL and the assertions after it were dropped.
    let model = workout_model().replacen("verify:", "verify:\0", 1);
    let line = model[..model.find('\0').unwrap()].matches('\n').count() + 1;
    let (code, stderr) = compile_bytes(model.as_bytes());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "model.yaml:{line}:8: error: the model contains a NUL byte"
        )),
        "{stderr}"
    );
}

#[test]
fn a_second_yaml_document_is_an_error_at_its_marker() {
    // Was exit 0: everything after the second `---` was ignored.
    let model = format!(
        "{}---\nverify:\n  - name: x\n    zero_rows: SELECT 1\n",
        workout_model()
    );
    let line = workout_model().lines().count() + 1;
    let (code, stderr) = compile_bytes(model.as_bytes());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "model.yaml:{line}:1: error: a model is one YAML document; a second one starts here"
        )),
        "{stderr}"
    );
}

#[test]
fn invalid_utf8_is_an_error_at_the_first_bad_byte() {
    let mut model = workout_model().into_bytes();
    let at = model.windows(5).position(|w| w == b"name:").unwrap() + 6;
    model.insert(at, 0xff);
    let (code, stderr) = compile_bytes(&model);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error: the model is not valid UTF-8 (byte 0xff here)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":7: error: the model is not valid UTF-8"),
        "column 7, after `name: `: {stderr}"
    );
}

#[test]
fn a_leading_byte_order_mark_is_accepted() {
    // Was read as part of the first key (`\u{feff}# …` then `name` missing or unknown).
    let model = format!("\u{feff}{}", workout_model());
    let (code, stderr) = compile_bytes(model.as_bytes());
    assert_eq!(code, 0, "{stderr}");
}

bad_model!(
    shape_errors,
    "shape_errors.yaml:6:5: error: unknown field `wher`",
    "did you mean `where`?",
    "relink_json",
    "shape_errors.yaml:10:5: error: unknown field `replce`",
    "shape_errors.yaml:12:5: error: missing field `zero_rows`",
    "shape_errors.yaml:14:1: error: unknown field `mod`"
);
bad_model!(
    psql_variable,
    "psql_variable.yaml:6:22: error: `where`: `:lock_timeout` is a psql variable",
    "psql_variable.yaml:11:20: error: a column expression: `:'n'` is a psql variable"
);
bad_model!(
    assertion_writes,
    "assertion_writes.yaml:9:30: error: an assertion must not change data: `DELETE`",
    "assertion_writes.yaml:11:45: error: an assertion must not lock rows"
);
bad_model!(unterminated_dollar_quote, "unterminated_dollar_quote.yaml:9:28: error: a column expression: unterminated dollar-quoted string: `$x$` is never closed");

/// A live V1 whose tables are all in another schema than the model's `source: {schema}`:
/// the error names the schema and lists the ones that have tables.
#[test]
fn a_live_source_schema_without_tables_names_the_schemas_that_have_some() {
    let db = crate::support::cluster().create_db("empty_source_schema");
    db.execute("CREATE SCHEMA legacy; CREATE TABLE legacy.users (id integer PRIMARY KEY);");
    let root = repo_root();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .arg("compile")
        .arg(root.join("models/workout/model.yaml"))
        .args(["--v1", &db.url(), "--v2"])
        .arg(root.join("models/workout/v2.sql"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("V1 has no table in schema `v1`") && stderr.contains("in: legacy"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing is written"
    );
}
