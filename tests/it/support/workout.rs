//! The workout model (models/workout): compiled, and loaded into a database.

use super::scripts::stderr;
use super::{cluster, repo_root, Cluster, TestDb};

/// Compiles the workout model from its DDL files into a fresh directory.
pub(crate) fn compiled() -> tempfile::TempDir {
    let models = repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// V1 schema with sample data in schema v1, V2's empty schema in public.
pub(crate) fn workout_db(name: &str) -> TestDb {
    workout_db_in(cluster(), name)
}

/// V1 with its sample data in `v1`, an empty V2 in `public`, in a database of `cluster`.
pub(crate) fn workout_db_in(cluster: &'static Cluster, name: &str) -> TestDb {
    let db = cluster.create_db(name);
    db.execute("CREATE SCHEMA v1");
    let models = repo_root().join("models/workout");
    db.load_in_schema(&models.join("v1.sql"), "v1");
    db.load_in_schema(&models.join("v2.sql"), "public");
    db.load_in_schema(&models.join("sample.sql"), "v1");
    db
}

/// V1 alone on the second cluster (schema public, sample data), V2 alone in a database of
/// the first, and the workout model reading V1 through postgres_fdw, compiled.
pub(crate) fn remote_v1(name: &str) -> (TestDb, TestDb, tempfile::TempDir) {
    let models = repo_root().join("models/workout");
    let v1 = crate::support::second_cluster().create_db(&format!("{name}_v1"));
    v1.load_in_schema(&models.join("v1.sql"), "public");
    let out = v1
        .psql_cmd()
        .args(["-q", "-v", "schema=public", "-f"])
        .arg(models.join("sample.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let db = cluster().create_db(&format!("{name}_v2"));
    db.load_in_schema(&models.join("v2.sql"), "public");
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: public }",
            1,
        )
    });
    let migrate = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    assert!(
        migrate.contains("FROM _pgmig_v1db.workout_plans"),
        "V1 is read from the staging schema"
    );
    (v1, db, dir)
}
