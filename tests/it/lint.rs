//! `pgmig lint`: every rule's ok/err fixtures, the generated scripts, the lock table and
//! the command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pgmig::lint::{self, LockMode};

use crate::support::repo_root;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/it/fixtures/lint").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn rule_of(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// (line, rule) of every `-- expect: RULE` marker.
fn expected(text: &str) -> BTreeSet<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(n, l)| {
            l.split_once("-- expect: ")
                .map(|(_, r)| (n + 1, r.trim().to_string()))
        })
        .collect()
}

#[test]
fn every_rule_has_an_ok_and_an_err_fixture() {
    let names: BTreeSet<String> = lint::rules::ALL
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    for kind in ["ok", "err"] {
        let have: BTreeSet<String> = fixtures(kind).iter().map(|p| rule_of(p)).collect();
        assert_eq!(have, names, "fixtures/lint/{kind}");
    }
}

#[test]
fn err_fixtures_report_exactly_the_marked_statements() {
    for path in fixtures("err") {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = expected(&text);
        assert!(
            want.iter().any(|(_, r)| r == &rule_of(&path)),
            "{}: no marker of its own rule",
            path.display()
        );
        let report = lint::lint(&text);
        let got: BTreeSet<(usize, String)> = report
            .findings
            .iter()
            .map(|f| (f.line, f.rule.to_string()))
            .collect();
        assert_eq!(
            got,
            want,
            "{}:\n{}",
            path.display(),
            report.render(&path.display().to_string())
        );
        assert!(report.has_errors(), "{}", path.display());
        assert!(
            report.skipped.is_empty(),
            "{}: {:?}",
            path.display(),
            report.skipped
        );
        for f in &report.findings {
            assert!(!f.message.is_empty() && !f.safer.is_empty(), "{f:?}");
        }
    }
}

#[test]
fn ok_fixtures_are_clean() {
    for path in fixtures("ok") {
        let text = std::fs::read_to_string(&path).unwrap();
        let report = lint::lint(&text);
        assert!(
            report.findings.is_empty(),
            "{}:\n{}",
            path.display(),
            report.render(&path.display().to_string())
        );
        assert!(
            report.skipped.is_empty(),
            "{}: {:?}",
            path.display(),
            report.skipped
        );
        // They do take locks: the fixtures exercise real statements.
        assert!(!report.locks.is_empty(), "{}", path.display());
    }
}

/// Transaction and batched scripts insert into V2 and fill id maps the script created: no
/// finding. The `_pgmig` maps get a primary key and (batched) a batch index right after
/// `CREATE TABLE`: tables of the script, not flagged.
fn assert_clean(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let report = lint::lint(&text);
    assert!(
        report.findings.is_empty(),
        "{}:\n{}",
        file.display(),
        report.render(&file.display().to_string())
    );
    assert!(
        report.skipped.is_empty(),
        "{}: statements not understood: {:?}",
        file.display(),
        report.skipped
    );
}

/// In-place scripts (first line says `in place`) swap columns in one short transaction that
/// first takes `LOCK TABLE … IN ACCESS EXCLUSIVE MODE` on purpose; the keys it attaches (built
/// CONCURRENTLY before it) and the NOT NULL it sets (proven by a validated CHECK) read as
/// builds and scans to the linter. Those findings, and only those, may be: index-without-concurrently and
/// constraint-without-not-valid on a table the script explicitly locked ACCESS EXCLUSIVE
/// before; and foreign-key-without-index where the index was built before (see below).
/// Never a rewrite (new columns are filled in batches) nor a missing lock_timeout.
fn assert_only_swap_findings(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let report = lint::lint(&text);
    assert!(
        report.skipped.is_empty(),
        "{}: {:?}",
        file.display(),
        report.skipped
    );
    for f in &report.findings {
        // A foreign key the swap adds NOT VALID whose index was built CONCURRENTLY before the
        // swap under a name of its own and renamed in it: the linter does not follow the rename.
        let table = f.table.as_deref().unwrap_or_default();
        let index_built_before = text.lines().take(f.line).any(|l| {
            l.contains("INDEX CONCURRENTLY IF NOT EXISTS pgmig_ix_")
                && l.contains(&format!(" ON {table} ("))
        });
        if f.rule == "foreign-key-without-index" && index_built_before {
            continue;
        }
        assert!(
            f.rule == "index-without-concurrently" || f.rule == "constraint-without-not-valid",
            "{}:{}: unexpected {} ({})",
            file.display(),
            f.line,
            f.rule,
            f.message
        );
        let table = f.table.as_deref().unwrap();
        let locked_before = report.locks.iter().any(|l| {
            l.line < f.line
                && l.statement.starts_with("LOCK TABLE")
                && l.lock == LockMode::AccessExclusive
                && l.table == table
        });
        assert!(
            locked_before,
            "{}:{}: {} on {table}, which the script did not lock explicitly before",
            file.display(),
            f.line,
            f.rule
        );
    }
}

#[test]
fn generated_scripts_lint_as_expected() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_root().join("out")).unwrap() {
        let dir = entry.unwrap().path();
        for script in ["migrate.sql", "rollback.sql"] {
            let file = dir.join(script);
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            seen += 1;
            if text.lines().next().unwrap_or("").contains("in place") {
                assert_only_swap_findings(&file);
            } else {
                assert_clean(&file);
            }
        }
    }
    assert!(seen >= 4, "out/workout and out/thywill at least");
    // The committed examples are transaction mode; batched mode puts the maps' DDL inside
    // procedures.
    let batched = crate::support::workout_batched("50");
    for script in ["migrate.sql", "rollback.sql"] {
        assert_clean(&batched.path().join(script));
    }
    let text = std::fs::read_to_string(batched.path().join("migrate.sql")).unwrap();
    let rows = lint::lock_table(&text);
    let index = rows
        .iter()
        .find(|r| r.statement == "CREATE INDEX")
        .expect("the stage's batch index is seen inside the procedure");
    assert!(
        index.new_table && index.table.starts_with("_pgmig.stage_"),
        "{index:?}"
    );
    assert!(
        index
            .block
            .as_deref()
            .unwrap()
            .starts_with("PROCEDURE _pgmig."),
        "{index:?}"
    );
}

#[test]
fn workout_lock_table_names_what_each_step_locks() {
    let text = std::fs::read_to_string(repo_root().join("out/workout/migrate.sql")).unwrap();
    let rows = lint::lock_table(&text);
    // Every V2 table is written under ROW EXCLUSIVE inside a DO block, never locked harder.
    for t in ["public.workout_plans", "public.exercise_logs"] {
        let on_t: Vec<_> = rows.iter().filter(|r| r.table == t).collect();
        assert!(
            on_t.iter().any(
                |r| r.lock == LockMode::RowExclusive && r.block.as_deref() == Some("DO $step$")
            ),
            "{t}: {on_t:?}"
        );
        assert!(
            on_t.iter()
                .all(|r| r.lock <= LockMode::ShareUpdateExclusive),
            "{t}: {on_t:?}"
        );
    }
    // V1 is only read.
    assert!(rows
        .iter()
        .filter(|r| r.table.starts_with("v1."))
        .all(|r| r.lock == LockMode::AccessShare));
    // ACCESS EXCLUSIVE only on tables the script creates.
    let ae: Vec<_> = rows
        .iter()
        .filter(|r| r.lock == LockMode::AccessExclusive && !r.new_table)
        .map(|r| r.table.as_str())
        .collect();
    assert!(ae.iter().all(|t| t.starts_with("_pgmig.")), "{ae:?}");
    // Lines point at the statement in the file.
    let lines: Vec<&str> = text.lines().collect();
    for r in rows.iter().filter(|r| r.statement.starts_with("ANALYZE")) {
        assert!(
            lines[r.line - 1].trim_start().starts_with("ANALYZE"),
            "line {}: {}",
            r.line,
            lines[r.line - 1]
        );
    }
    let md = lint::locks_markdown(&rows);
    assert!(md.starts_with("| line | statement | lock | table | rewrites / scans |\n"));
    assert_eq!(md.lines().count(), rows.len() + 2);
}

#[test]
fn the_command_line_exits_1_on_errors_and_prints_json() {
    let exe = env!("CARGO_BIN_EXE_pgmig");
    let err = repo_root().join("tests/it/fixtures/lint/err/index-without-concurrently.sql");
    let ok = repo_root().join("tests/it/fixtures/lint/ok/index-without-concurrently.sql");

    let out = std::process::Command::new(exe)
        .args(["lint"])
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = std::process::Command::new(exe)
        .args(["lint"])
        .arg(&err)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("error[index-without-concurrently]")
            && stdout.contains("safer: CREATE INDEX CONCURRENTLY"),
        "{stdout}"
    );

    let out = std::process::Command::new(exe)
        .args(["lint", "--format", "json"])
        .arg(&err)
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], 4);
    assert_eq!(
        v["files"][0]["findings"][0]["rule"],
        "index-without-concurrently"
    );
    assert_eq!(v["files"][0]["findings"][0]["severity"], "error");
    assert_eq!(v["files"][0]["findings"][0]["line"], 3);
    assert_eq!(v["files"][1]["findings"].as_array().unwrap().len(), 0);

    let out = std::process::Command::new(exe)
        .args(["lint", "--locks"])
        .arg(&ok)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| 3 | CREATE INDEX CONCURRENTLY | SHARE UPDATE EXCLUSIVE | orders | scans |"),
        "{md}"
    );
    assert!(
        md.contains("| CREATE INDEX | SHARE | _pgmig.map_orders (new) | scans |"),
        "{md}"
    );

    let out = std::process::Command::new(exe)
        .args(["lint", "/nonexistent.sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
