//! The school model (models/school): compiled, and loaded at a scale.

use std::path::PathBuf;

use super::{cluster, repo_root, TestDb};

pub(crate) fn models() -> PathBuf {
    repo_root().join("models/school")
}

/// The school model compiled from its DDL files into a fresh directory.
pub(crate) fn compiled() -> tempfile::TempDir {
    crate::support::compile_ddl(
        &models().join("model.yaml"),
        &models().join("v1.sql"),
        &models().join("v2.sql"),
    )
}

/// V1 (schema v1) with the sample data at `scale`, V2's empty schema in public.
pub(crate) fn school_db(name: &str, scale: u32) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&models().join("v1.sql"), "v1");
    db.load_in_schema(&models().join("v2.sql"), "public");
    db.load_sample(&models().join("sample.sql"), scale.into(), "v1");
    db
}

/// The school model's scripts for the root rows `--only` selects.
pub(crate) fn compiled_only(condition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let selection = pgmig::compile::Selection {
        entities: vec![],
        only: Some(condition.to_string()),
    };
    let c = pgmig::compile::compile_selected(
        &models().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(models().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
        &selection,
    )
    .unwrap_or_else(|e| panic!("--only {condition:?} must compile: {e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}
