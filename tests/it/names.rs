//! Names that collide once PostgreSQL or a file system has its way with them
//! (tests/it/fixtures/models/names): two V2 tables sharing their first 59 bytes (their id
//! maps' names are cut to 63 bytes), a table named like a path, case twins, and an unquoted
//! `id(Users, …)` next to steps `Users` and `users`. Run with psql as written, then
//! exported with `pgmig export`.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{cluster, repo_root};

const LONG: &str = "table_with_a_name_long_enough_to_share_fifty_nine_bytes_abc";

fn rows(db: &crate::support::TestDb, sql: &str) -> Vec<String> {
    let msgs = db
        .client()
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", crate::support::pg_error_text(&e)));
    msgs.iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("∅"))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn long_names_case_twins_and_paths_migrate_verify_and_export_apart() {
    let fixture = repo_root().join("tests/it/fixtures/models/names");
    let dir = crate::support::compile_ddl(
        &fixture.join("model.yaml"),
        &fixture.join("v1.sql"),
        &fixture.join("v2.sql"),
    );
    let db = cluster().create_db("names");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture.join("v1.sql"), "v1");
    db.load_in_schema(&fixture.join("v2.sql"), "public");
    db.load_in_schema(&fixture.join("data.sql"), "v1");
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        let out = db.psql_file(dir.path().join(script), &[]);
        assert!(
            out.status.success(),
            "{script}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // One id map per step, each with its own three rows.
    let maps = rows(&db, &format!("SELECT tablename FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'map_{}%' ORDER BY 1", &LONG[..40]));
    assert_eq!(maps.len(), 2, "{maps:?}");
    for map in &maps {
        assert!(map.len() <= 63, "{map}");
        assert_eq!(
            rows(&db, &format!("SELECT count(*) FROM _pgmig.\"{map}\"")),
            ["3"],
            "{map}"
        );
    }
    for table in [
        format!("{LONG}_one"),
        format!("{LONG}_two"),
        "\"../../x\"".into(),
        "users".into(),
    ] {
        assert_eq!(
            rows(&db, &format!("SELECT count(*) FROM public.{table}")),
            ["3"],
            "{table}"
        );
    }
    assert_eq!(rows(&db, "SELECT count(*) FROM public.\"Users\""), ["2"]);
    // Unquoted `Users` is `users` (all three rows); quoted "Users" has ids 1 and 2 only.
    assert_eq!(
        rows(
            &db,
            "SELECT id, user_id, upper_id FROM public.child ORDER BY id"
        ),
        ["1|1|1", "2|2|2", "3|3|∅"]
    );

    // The export lands inside --to, one file per step and V1 table, none outside.
    let parent = tempfile::tempdir().unwrap();
    let to = parent.path().join("out/deep");
    let output = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["export", "--dir"])
        .arg(dir.path())
        .arg("--to")
        .arg(&to)
        .args(["--db", &db.url()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outside: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["out"], "nothing is written outside --to");
    assert_eq!(
        std::fs::read_dir(parent.path().join("out"))
            .unwrap()
            .count(),
        1,
        "nothing beside --to"
    );
    let files: Vec<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // 6 steps, 1 V1 table, the rejects.
    assert_eq!(files.len(), 8, "{files:?}");
    let folded: BTreeSet<String> = files.iter().map(|f| f.to_lowercase()).collect();
    assert_eq!(
        folded.len(),
        files.len(),
        "case twins share no file on a case-insensitive file system: {files:?}"
    );
    for f in &files {
        let lines = std::fs::read_to_string(to.join(f)).unwrap().lines().count();
        let expected = if f.starts_with("users-") {
            3
        } else if f == "rejects.csv" {
            1
        } else {
            4
        };
        assert_eq!(lines, expected, "{f}: a header and its rows");
    }
}
