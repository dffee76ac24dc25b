//! Bad input: each gets a clear error saying what and where, exit code 2, no panic.
//! The rendered diagnostics are snapshotted (read them when accepting).

use std::process::Command;

use crate::support::repo_root;

fn compile_bad(name: &str) -> (i32, String) {
    let root = repo_root();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(root.join("tests/it/fixtures/bad"))
        .args(["compile", &format!("{name}.yaml")])
        .arg("--v1")
        .arg(root.join("models/workout/v1.sql"))
        .arg("--v2")
        .arg(root.join("models/workout/v2.sql"))
        .arg("--out")
        .arg(out.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "{name}: nothing is written on error");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
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
bad_model!(unknown_column, "unknown_column.yaml:8:", "duration_weks", "did you mean `duration_weeks`?");
bad_model!(injection, "injection.yaml:9:", "unexpected `)`");
bad_model!(unknown_table, "unknown_table.yaml:5:", "workout_plan", "did you mean `workout_plans`?");
bad_model!(not_assignable, "not_assignable.yaml:8:", "can't be assigned");
bad_model!(not_null_unfilled, "not_null_unfilled.yaml:4:", "NOT NULL in V2 and nothing fills it");
bad_model!(batch_zero, "batch_zero.yaml:3:", "batch size must be a positive whole number");
bad_model!(several_errors, "user_idd", "statuss", "workout_wekes");
bad_model!(model_name_path, "model_name_path.yaml:1:7", "is not a plain word");
bad_model!(model_name_quote, "model_name_quote.yaml:1:7", "is not a plain word");

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
    assert!(stderr.starts_with("error:") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unreachable_schema_database_fails_compile_with_exit_1() {
    let root = repo_root();
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .arg("compile")
        .arg(root.join("models/workout/model.yaml"))
        .args(["--v1", "host=/nonexistent port=1 dbname=x user=postgres", "--v2"])
        .arg(root.join("models/workout/v2.sql"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: V1: can't read the schema from the database"), "{stderr}");
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
    assert_eq!(names, ["workout_plans", "workout_weeks", "workout_days", "exercises", "workout_sessions", "exercise_logs"]);
    assert_eq!(steps[1]["key"]["new"]["new"]["sql"], "gen_random_uuid()");
    assert!(steps[3]["rejects"].as_array().unwrap().len() == 3);
}
