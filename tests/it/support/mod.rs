//! Test support: the throwaway cluster and the helpers the test files share.

mod cluster;
pub mod compile_errors;
pub mod drills;
pub mod golden;
pub mod roles;
pub mod school;
pub mod scripts;
pub mod thywill;
pub mod uuid;
pub mod workout;

pub use cluster::{cluster, crashable_cluster, pg_error_text, second_cluster, Cluster, TestDb};

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the pgmig binary with `args` (colour off) and waits for it.
pub fn pgmig_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `pgmig compile MODEL` run in `dir` against V1 and V2 DDL files, when it must fail: its
/// exit code and stderr; asserts that nothing was written.
pub fn compile_refused(
    dir: &std::path::Path,
    model: &str,
    v1: &std::path::Path,
    v2: &std::path::Path,
) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(dir)
        .args(["compile", model, "--v1"])
        .arg(v1)
        .arg("--v2")
        .arg(v2)
        .arg("--out")
        .arg(out.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "{model}: nothing is written on error"
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A model file's text with `edit` applied (it must change it), as `model.yaml` in a fresh
/// directory.
pub fn model_variant(model: &std::path::Path, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let text = std::fs::read_to_string(model).unwrap();
    let edited = edit(&text);
    assert_ne!(text, edited, "the variant must differ from the model");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.yaml"), edited).unwrap();
    dir
}

/// Compiles a model (a file, or model text written next to nothing) against V1 and V2 DDL
/// files into a fresh directory; a compile error fails the test with its diagnostics.
///
/// Many tests compile the same model (workout, dozens of times): the scripts of a compile are
/// kept for the run, keyed by the three files' paths and contents, and written again into each
/// caller's own directory (a compile in a debug build takes about a second of CPU).
pub fn compile_ddl(
    model: &std::path::Path,
    v1: &std::path::Path,
    v2: &std::path::Path,
) -> tempfile::TempDir {
    type Key = Vec<(std::path::PathBuf, Vec<u8>)>;
    static COMPILED: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<Key, std::sync::Arc<pgmig::emit::Scripts>>>,
    > = std::sync::OnceLock::new();
    let key: Key = [model, v1, v2]
        .iter()
        .map(|p| (p.to_path_buf(), std::fs::read(p).unwrap_or_default()))
        .collect();
    let cache = COMPILED.get_or_init(Default::default);
    let cached = cache.lock().unwrap().get(&key).cloned();
    let scripts = cached.unwrap_or_else(|| {
        let c = pgmig::compile(
            model,
            &pgmig::SchemaInput::Ddl(v1.into()),
            &pgmig::SchemaInput::Ddl(v2.into()),
        )
        .unwrap_or_else(|e| panic!("{} must compile: {e:?}", model.display()));
        let scripts = std::sync::Arc::new(c.scripts);
        cache.lock().unwrap().insert(key, scripts.clone());
        scripts
    });
    let dir = tempfile::tempdir().unwrap();
    pgmig::compile::write(&scripts, dir.path()).unwrap();
    dir
}

/// V1's and V2's DDL and a model, given as text, written into a fresh directory and compiled:
/// the scripts are in its `out/`.
pub fn compile_texts(v1: &str, v2: &str, model: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    try_compile_texts(v1, v2, model).unwrap_or_else(|e| panic!("{e}"))
}

/// [`compile_texts`], or the compile's error as the DBA reads it (diagnostics with their
/// `model.yaml:line:col`).
pub fn try_compile_texts(
    v1: &str,
    v2: &str,
    model: &str,
) -> Result<(tempfile::TempDir, std::path::PathBuf), String> {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in [("v1.sql", v1), ("v2.sql", v2), ("model.yaml", model)] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let c = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(dir.path().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(dir.path().join("v2.sql")),
    )
    .map_err(|e| match e {
        pgmig::CompileError::Model { diagnostics, file } => diagnostics.render(&file, false),
        e => e.to_string(),
    })?;
    let out = dir.path().join("out");
    pgmig::compile::write(&c.scripts, &out).unwrap();
    Ok((dir, out))
}

/// The scripts of the model in `model_dir` (model.yaml, v1.sql, v2.sql) for the root rows
/// `--only condition` selects, compiled into a fresh directory.
pub fn compile_only(model_dir: &std::path::Path, condition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let selection = pgmig::compile::Selection {
        entities: vec![],
        only: Some(condition.to_string()),
    };
    let c = pgmig::compile::compile_selected(
        &model_dir.join("model.yaml"),
        &pgmig::SchemaInput::Ddl(model_dir.join("v1.sql")),
        &pgmig::SchemaInput::Ddl(model_dir.join("v2.sql")),
        &selection,
    )
    .unwrap_or_else(|e| panic!("--only {condition:?} must compile: {e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

/// The workout model with `edit` applied to its text (it must change it), compiled from
/// the workout DDL files.
pub fn compile_workout_variant(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let models = repo_root().join("models/workout");
    let src = model_variant(&models.join("model.yaml"), edit);
    compile_ddl(
        &src.path().join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// The workout model in batched mode with batches of `size` keys.
pub fn workout_batched(size: &str) -> tempfile::TempDir {
    compile_workout_variant(|m| {
        m.replacen(
            "\nname: workout\n",
            &format!("\nname: workout\nmode: {{ batched: {{ size: {size} }} }}\n"),
            1,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_answers_and_databases_are_isolated() {
        let a = cluster().create_db("iso_a");
        let b = cluster().create_db("iso_b");
        assert_ne!(a.name(), b.name());
        let one: i32 = a.client().query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);

        a.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x'), (2, NULL);");
        let n: i64 = a
            .client()
            .query_one("SELECT count(*) FROM t", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 2);
        // b does not see a's table
        let err = b.try_execute("SELECT * FROM t").unwrap_err();
        assert!(err.contains("does not exist"), "{err}");

        let md5s = a.table_md5s(&["public"]);
        assert_eq!(md5s.len(), 1);
        assert!(md5s["public.t"].starts_with("2:"), "{md5s:?}");
        b.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (2, NULL), (1, 'x');");
        assert_eq!(a.table_md5s(&["public"]), b.table_md5s(&["public"]));
        b.execute("UPDATE t SET v = 'y' WHERE id = 1");
        assert_ne!(a.table_md5s(&["public"]), b.table_md5s(&["public"]));

        // psql with variables, as the generated scripts are run
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.sql");
        std::fs::write(&f, "SELECT :'who' AS who;\n").unwrap();
        let out = a.psql_file(&f, &[("who", "psql-ok")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("psql-ok"));
        std::fs::write(&f, "SELECT nope;\nSELECT 'not reached';\n").unwrap();
        let out = a.psql_file(&f, &[]);
        assert!(!out.status.success());
        assert!(!String::from_utf8_lossy(&out.stdout).contains("not reached"));
    }
}
