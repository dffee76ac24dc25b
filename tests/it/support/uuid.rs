//! The uuid model (models/uuid, in place): compiled, loaded, and its tables read back.

use std::collections::BTreeMap;

use pgmig::catalog::Catalog;

use super::scripts::stderr;
use super::{cluster, repo_root, TestDb};

pub(crate) const TABLES: &[&str] = &["users", "journal_entries", "tags", "reminders"];

pub(crate) fn models() -> std::path::PathBuf {
    repo_root().join("models/uuid")
}

/// V1 with its sample data (`traps` plants bad ids, orphans and NULLs) in schema public.
pub(crate) fn uuid_db(name: &str, traps: bool) -> TestDb {
    let db = cluster().create_db(name);
    let out = db
        .psql_cmd()
        .arg("-q")
        .arg("-f")
        .arg(models().join("v1.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let traps = if traps { "1" } else { "0" };
    let out = db
        .psql_cmd()
        .args(["-q", "-v", &format!("traps={traps}"), "-f"])
        .arg(models().join("sample.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

/// The model compiled with `batch_size` into a fresh directory.
pub(crate) fn compiled(batch_size: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(models().join("model.yaml")).unwrap();
    let sized = model.replacen("batch_size: 1000", &format!("batch_size: {batch_size}"), 1);
    assert!(batch_size == 1000 || model != sized);
    std::fs::write(dir.path().join("model.yaml"), sized).unwrap();
    let c = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(models().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

/// Per table: row count and md5 of the rows as jsonb (keys in jsonb's own order, so the
/// column order — which the swap changes — does not count; types and values do).
pub(crate) fn md5s(db: &TestDb) -> BTreeMap<String, String> {
    let mut client = db.client();
    TABLES
        .iter()
        .map(|t| {
            let q = format!(
                "SELECT count(*)::text || ':' || coalesce(md5(string_agg(to_jsonb(t)::text, E'\\n' ORDER BY to_jsonb(t)::text)), '-') FROM public.{t} t"
            );
            (t.to_string(), client.query_one(&q, &[]).unwrap().get(0))
        })
        .collect()
}

/// The catalog of the four tables, columns by name: the swap moves converted columns to
/// the end of the table, which is the one difference in-place mode accepts.
pub(crate) fn tables_of(mut c: Catalog) -> Catalog {
    c.tables
        .retain(|n, _| n.schema == "public" && TABLES.contains(&n.name.as_str()));
    for t in c.tables.values_mut() {
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    c.schemas.clear();
    c.sequences.clear();
    c
}

pub(crate) fn live(db: &TestDb) -> Catalog {
    tables_of(pgmig::catalog::from_database(&mut db.client(), &["public".to_string()]).unwrap())
}

pub(crate) fn ddl(file: &str) -> Catalog {
    let text = std::fs::read_to_string(models().join(file)).unwrap();
    tables_of(pgmig::catalog::from_ddl(&text, "public").unwrap().catalog)
}

pub(crate) const NOT_UUID: &str =
    "!~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'";
