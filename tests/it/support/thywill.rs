//! The thywill model (models/thywill): its SQLite V1 built and staged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::scripts::stderr;
use super::{cluster, repo_root, TestDb};

pub(crate) fn models() -> PathBuf {
    repo_root().join("models/thywill")
}

/// The V1 SQLite file, built fresh from models/thywill/v1.sql.
pub(crate) fn build_sqlite(dir: &Path) -> PathBuf {
    let file = dir.join("thywill-v1.db");
    let out = Command::new("sh")
        .arg(models().join("build.sh"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

pub(crate) fn stage_cli(source: &str, db: &str, schema: &str, more: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["stage", source, "--db", db, "--schema", schema])
        .args(more)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A fresh database with the SQLite V1 staged in schema v1 and V2's empty schema in public.
pub(crate) fn thywill_db(name: &str, dir: &Path) -> TestDb {
    let sqlite = build_sqlite(dir);
    let db = cluster().create_db(name);
    let out = stage_cli(
        &format!("sqlite:{}", sqlite.display()),
        &db.url(),
        "v1",
        &["--full-scan"],
    );
    assert!(out.status.success(), "stage: {}", stderr(&out));
    assert!(
        stderr(&out).contains("staged 6 tables into schema v1"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("staged user rowid 66 {\"id\":\"c0ffee00000000000000000000000001\"}: missing from index sqlite_autoindex_user_1"), "{}", stderr(&out));
    let out = db
        .psql_cmd()
        .arg("-q")
        .arg("-f")
        .arg(models().join("v2.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "v2.sql: {}", stderr(&out));
    db
}
