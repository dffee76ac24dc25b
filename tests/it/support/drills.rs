//! The drills model (models/drills): compiled per entity, and loaded.

use std::path::PathBuf;

use super::{cluster, repo_root, TestDb};

pub(crate) fn drills() -> PathBuf {
    repo_root().join("models/drills")
}

/// The drills model in per-entity mode (`size` users per commit), compiled into a fresh directory.
pub(crate) fn compiled(size: u32) -> tempfile::TempDir {
    let text = std::fs::read_to_string(drills().join("model.yaml")).unwrap();
    let edited = text.replacen(
        "name: drills\n",
        &format!("name: drills\nmode: {{ per_entity: {{ root: users, size: {size} }} }}\n"),
        1,
    );
    assert_ne!(edited, text);
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), edited).unwrap();
    crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &drills().join("v1.sql"),
        &drills().join("v2.sql"),
    )
}

pub(crate) fn drills_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&drills().join("v1.sql"), "v1");
    db.load_in_schema(&drills().join("v2.sql"), "public");
    db.load_in_schema(&drills().join("sample_v1.sql"), "v1");
    db.load_in_schema(&drills().join("sample_v2.sql"), "public");
    db
}
