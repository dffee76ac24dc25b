//! `pgmig run` against a real PostgreSQL: same result as psql, errors, the lock, status.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pgmig::run::{self, OutputLine, RunError};

use crate::support::{cluster, TestDb};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn stderr_of(out: &[OutputLine]) -> String {
    out.iter()
        .filter_map(|l| match l {
            OutputLine::Stderr(s) => Some(s.as_str()),
            OutputLine::Stdout(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn stdout_of(out: &[OutputLine]) -> String {
    out.iter()
        .filter_map(|l| match l {
            OutputLine::Stdout(s) => Some(s.as_str()),
            OutputLine::Stderr(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

/// Everything the runner interprets, in one script.
const SCRIPT: &str = r#"\set ON_ERROR_STOP on
-- a comment with :who and a ; in it
\set tbl items
\set greeting 'it''s a \\ test'
CREATE TABLE :"tbl" (id int PRIMARY KEY, label text, note text);
CREATE TABLE log_lines (n serial PRIMARY KEY, line text);
INSERT INTO :"tbl" VALUES
  (1, :'greeting', 'a::text :notavar; x'),
  (2, :'who', E'back\\slash :who');
CREATE FUNCTION tag(x text) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  -- :notavar stays as written, and so does \ here; a ; too
  RETURN x || ' :notavar \ ' || length(':x');
END
$fn$;
BEGIN;
DO $$
DECLARE n int;
BEGIN
  SELECT count(*) INTO n FROM items;
  RAISE NOTICE 'step items: % rows :notavar \', n;
  INSERT INTO log_lines(line) VALUES (tag('do-block'));
END
$$;
\if :{?dry_run}
  \echo dry run: rolling back
  ROLLBACK;
\elif :{?suffix}
  UPDATE items SET note = note || :'suffix' WHERE id = 1;
  INSERT INTO log_lines(line) SELECT /* :who */ :'who' || '::' || :"tbl".label FROM items WHERE false;
  COMMIT;
\else
  \echo never
\endif
SELECT id, label FROM items ORDER BY id;
"#;

fn run_both(name: &str, pairs: &[(&str, &str)]) -> (TestDb, TestDb, Vec<OutputLine>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.sql");
    std::fs::write(&path, SCRIPT).unwrap();

    let by_psql = cluster().create_db(&format!("{name}_psql"));
    let out = by_psql.psql_file(&path, pairs);
    let by_run = cluster().create_db(&format!("{name}_run"));
    let mut conn = run::connect_capturing(&by_run.url()).unwrap();
    let result = run::run_script(&mut conn, "script.sql", SCRIPT, &vars(pairs));
    let output = conn.take_output();
    (by_psql, by_run, {
        // Both must agree on success before anything is compared.
        assert_eq!(
            out.status.success(),
            result.is_ok(),
            "psql: {}\nrunner: {result:?}",
            String::from_utf8_lossy(&out.stderr)
        );
        output
    })
}

#[test]
fn same_tables_as_psql_when_committing() {
    let (by_psql, by_run, out) =
        run_both("same_commit", &[("who", "o'neil"), ("suffix", " + done")]);
    let a = by_psql.table_md5s(&["public"]);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a, by_run.table_md5s(&["public"]));

    let mut c = by_run.client();
    let label: String = c
        .query_one("SELECT label FROM items WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(label, r"it's a \ test");
    let note: String = c
        .query_one("SELECT note FROM items WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(note, "a::text :notavar; x + done");
    let note2: String = c
        .query_one("SELECT note FROM items WHERE id = 2", &[])
        .unwrap()
        .get(0);
    assert_eq!(note2, r"back\slash :who");
    let line: String = c
        .query_one("SELECT line FROM log_lines", &[])
        .unwrap()
        .get(0);
    assert_eq!(line, r"do-block :notavar \ 2");

    let err = stderr_of(&out);
    assert!(
        err.contains(r"step items: 2 rows :notavar \"),
        "notice not shown:\n{err}"
    );
    assert!(!err.contains("NOTICE"), "{err}");
    let stdout = stdout_of(&out);
    assert!(
        !stdout.contains("never") && !stdout.contains("dry run"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" id |     label")
            && stdout.contains("  2 | o'neil")
            && stdout.contains("(2 rows)"),
        "{stdout}"
    );
}

#[test]
fn same_tables_as_psql_in_a_dry_run() {
    let (by_psql, by_run, out) = run_both("same_dry", &[("who", "x"), ("dry_run", "1")]);
    let a = by_psql.table_md5s(&["public"]);
    assert_eq!(a, by_run.table_md5s(&["public"]));
    assert_eq!(
        count(&by_run, "SELECT count(*) FROM log_lines"),
        0,
        "the DO block was not rolled back"
    );
    assert_eq!(count(&by_run, "SELECT count(*) FROM items"), 2);
    assert!(stdout_of(&out).contains("dry run: rolling back"));
}

#[test]
fn a_failing_step_rolls_back_and_names_line_statement_and_message() {
    let db = cluster().create_db("run_fail");
    let script = "CREATE TABLE t (id int PRIMARY KEY);\nBEGIN;\nINSERT INTO t VALUES (1);\n\
DO $$\nBEGIN\n  RAISE EXCEPTION 'step workout_weeks failed: % duplicates', 3\n    USING DETAIL = 'ids 1, 2, 3', HINT = 'dedupe first';\nEND\n$$;\n\
INSERT INTO t VALUES (2);\nCOMMIT;\n";
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "migrate.sql", script, &BTreeMap::new()).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    match &e {
        RunError::Database {
            script,
            line,
            statement,
            message,
            details,
            rolled_back,
        } => {
            assert_eq!(script, "migrate.sql");
            assert_eq!(*line, 4);
            assert_eq!(statement, "DO $$");
            assert_eq!(message, "ERROR:  step workout_weeks failed: 3 duplicates");
            assert!(
                details.contains(&"DETAIL:  ids 1, 2, 3".to_string()),
                "{details:?}"
            );
            assert!(
                details.contains(&"HINT:  dedupe first".to_string()),
                "{details:?}"
            );
            assert!(
                details
                    .iter()
                    .any(|d| d.starts_with("CONTEXT:  PL/pgSQL function inline_code_block")),
                "{details:?}"
            );
            assert!(rolled_back);
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.starts_with(
            "migrate.sql:4: ERROR:  step workout_weeks failed: 3 duplicates\n  statement: DO $$"
        ),
        "{text}"
    );
    // The table (created before BEGIN) is there, the insert was rolled back, the session is
    // usable and no longer in a transaction, and the lock was released.
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 0);
    // (simple protocol: in the extended one Bind and Execute get different timestamps)
    let open = conn
        .client()
        .simple_query("SELECT now() <> statement_timestamp()")
        .unwrap();
    let open = open.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
        _ => None,
    });
    assert_eq!(open.as_deref(), Some("f"), "a transaction is still open");
    let mut other = db.client();
    let got: bool = other
        .query_one("SELECT pg_try_advisory_lock($1)", &[&run::LOCK_KEY])
        .unwrap()
        .get(0);
    assert!(got, "the lock was not released after a failed run");
}

#[test]
fn a_syntax_error_points_at_the_line_of_its_position() {
    let db = cluster().create_db("run_syntax");
    let script = "SELECT 1;\n\n-- next\nSELECT\n  relname,\n  nosuchcol\nFROM pg_class;\nSELECT 'not reached';\n";
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "verify.sql", script, &BTreeMap::new()).unwrap_err();
    match &e {
        RunError::Database {
            line,
            statement,
            message,
            rolled_back,
            ..
        } => {
            assert_eq!(*line, 6, "{e}");
            assert_eq!(statement, "SELECT");
            assert!(
                message.contains("column \"nosuchcol\" does not exist"),
                "{message}"
            );
            assert!(!rolled_back, "no transaction was open");
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    assert!(!stdout_of(&conn.take_output()).contains("not reached"));
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held() {
    let db = cluster().create_db("run_lock");
    let url = db.url();
    let mut first = run::connect_capturing(&url).unwrap();
    let first_pid: i32 = first
        .client()
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let slow = std::thread::spawn(move || {
        let r = run::run_script(
            &mut first,
            "slow.sql",
            "SELECT pg_sleep(3);\nCREATE TABLE slow_done ();\n",
            &BTreeMap::new(),
        );
        r.map(|s| s.statements)
    });
    // Wait until the first run holds the lock.
    let mut watcher = db.client();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = watcher
            .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted", &[&first_pid])
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = run::connect_capturing(&url).unwrap();
    let e = run::run_script(
        &mut second,
        "other.sql",
        "CREATE TABLE second_ran ();\n",
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(matches!(e, RunError::LockHeld { .. }), "{e:?}");
    assert_eq!(e.exit_code(), 1);
    let text = e.to_string();
    assert!(text.contains(&format!("pid {first_pid} ")), "{text}");
    assert!(text.contains("application 'pgmig'"), "{text}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'second_ran'"
        ),
        0
    );

    assert_eq!(slow.join().unwrap().unwrap(), 2);
    // Released: now the second run goes through.
    run::run_script(
        &mut second,
        "other.sql",
        "CREATE TABLE second_ran ();\n",
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname IN ('second_ran', 'slow_done')"
        ),
        2
    );
}

const LOG_DDL: &str = "CREATE SCHEMA IF NOT EXISTS _pgmig;
CREATE TABLE IF NOT EXISTS _pgmig.log (id bigserial PRIMARY KEY, model text NOT NULL, script text NOT NULL, step text NOT NULL, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz, rows_in bigint, rows_filtered bigint, rows_rejected bigint, rows_out bigint, status text NOT NULL, message text);
";

#[test]
fn status_on_an_empty_database_and_after_runs() {
    let db = cluster().create_db("run_status");
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let mut out = Vec::new();
    run::print_status(&mut conn, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n", run::NO_RUN)
    );

    let first = format!(
        "{LOG_DDL}INSERT INTO _pgmig.log (model, script, step, finished_at, rows_in, rows_filtered, rows_rejected, rows_out, status)
         VALUES ('workout', 'migrate', 'workout_plans', clock_timestamp() + interval '2 seconds', 10, 1, 2, 7, 'done');
INSERT INTO _pgmig.log (model, script, step, status, message) VALUES ('workout', 'migrate', 'workout_weeks', 'failed', 'boom');
"
    );
    let summary = run::run_script(&mut conn, "migrate.sql", &first, &BTreeMap::new()).unwrap();
    assert_eq!(summary.log.len(), 2);
    assert_eq!(summary.log[0].step, "workout_plans");
    assert_eq!(summary.log[0].rows_out, Some(7));
    assert!(summary.log[0].seconds.unwrap() >= 2.0);
    let err = stderr_of(&conn.take_output());
    assert!(
        err.contains("workout_weeks") && err.contains("boom"),
        "log rows not printed after the run:\n{err}"
    );
    // The summary's totals row: 10 in, 7 out, 1 filtered, 2 rejected.
    let total = err
        .lines()
        .find(|l| l.starts_with(" total "))
        .unwrap_or_else(|| panic!("no totals row:\n{err}"));
    let cells: Vec<&str> = total.split('|').map(str::trim).collect();
    assert_eq!(&cells[2..6], &["10", "7", "1", "2"], "{total}");

    let second = "INSERT INTO _pgmig.log (model, script, step, status) VALUES ('workout', 'verify', 'counts', 'done');\n";
    let summary = run::run_script(&mut conn, "verify.sql", second, &BTreeMap::new()).unwrap();
    assert_eq!(
        summary
            .log
            .iter()
            .map(|r| r.step.as_str())
            .collect::<Vec<_>>(),
        vec!["counts"]
    );

    let mut out = Vec::new();
    run::print_status(&mut conn, &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].contains("step") && lines[0].contains("batches") && lines[0].contains("state"),
        "{s}"
    );
    assert!(
        lines[2].contains("| workout_plans ")
            && lines[2].contains("| 10 |")
            && lines[2].contains("| done"),
        "{s}"
    );
    assert!(
        lines[3].contains("workout_weeks") && lines[3].ends_with("| failed | boom"),
        "{s}"
    );
    assert!(lines[4].contains("| counts"), "{s}");
    // Totals of what is migrated: the done migrate step only (not the failed one, not verify).
    assert!(
        lines[5].contains("| total migrated |")
            && lines[5].contains("| 10 |")
            && lines[5].contains("|   7 |"),
        "{s}"
    );
    assert_eq!(lines[6], "(3 rows)");
}

#[test]
fn a_malformed_script_runs_nothing() {
    let db = cluster().create_db("run_malformed");
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    for (script, want) in [
        (
            "CREATE TABLE a ();\n\\if :{?dry_run}\nSELECT 1;\n",
            "s.sql:2: reached the end",
        ),
        (
            "CREATE TABLE a ();\n\\gexec\n",
            "s.sql:2: unsupported meta-command \\gexec",
        ),
    ] {
        let e = run::run_script(&mut conn, "s.sql", script, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().starts_with(want), "{e}");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'a'"),
        0
    );
    // A non-boolean \if is found when it is reached: what ran before it stays, as in psql.
    let e = run::run_script(
        &mut conn,
        "s.sql",
        "CREATE TABLE b ();\n\\if :dry_run\n\\endif\n",
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("Boolean expected"), "{e}");
}

#[test]
fn a_script_ending_inside_a_transaction_is_rolled_back_like_psql() {
    let db = cluster().create_db("run_open_tx");
    let script = "CREATE TABLE kept (id int);\nBEGIN;\nCREATE TABLE lost (id int);\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.sql");
    std::fs::write(&path, script).unwrap();
    let by_psql = cluster().create_db("run_open_tx_psql");
    assert!(by_psql.psql_file(&path, &[]).status.success());

    let mut conn = run::connect_capturing(&db.url()).unwrap();
    run::run_script(&mut conn, "open.sql", script, &BTreeMap::new()).unwrap();
    let q = "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('kept', 'lost')";
    let got: String = db.client().query_one(q, &[]).unwrap().get(0);
    let want: String = by_psql.client().query_one(q, &[]).unwrap().get(0);
    assert_eq!(got, "kept");
    assert_eq!(got, want);
    assert!(stderr_of(&conn.take_output()).contains("ended inside a transaction"));
}

#[test]
fn connection_errors_have_their_exit_codes() {
    let e = run::connect("host=/tmp port=notaport dbname=x").unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = run::connect(&format!(
        "host={} port=1 dbname=x user=postgres",
        dir.path().display()
    ))
    .unwrap_err();
    assert!(matches!(e, RunError::Connect { .. }), "{e:?}");
    assert_eq!(e.exit_code(), 1);
    // A URL works as well as key=value.
    let db = cluster().create_db("run_url");
    let c = cluster();
    let url = format!(
        "postgresql://postgres@localhost:{}/{}?host={}",
        c.port(),
        db.name(),
        c.socket_dir().display()
    );
    let mut conn = run::connect(&url).unwrap();
    let name: String = conn
        .client()
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(name, db.name());
}

// ---------------------------------------------------------------------------------------
// Progress, summary and status on the workout model (issue 8 point 4, issue 5).

mod progress {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use pgmig::run::{self, Format, OutputLine};
    use serde_json::Value;

    use super::{stderr_of, stdout_of};
    use crate::support::pgmig_cli;
    use crate::support::scripts::{count, must_pass, stderr};
    use crate::support::workout::workout_db;
    use crate::support::{repo_root, TestDb};

    /// The workout model compiled into a fresh directory; `batch` puts it in batched mode.
    fn compiled(batch: Option<u32>) -> tempfile::TempDir {
        let models = repo_root().join("models/workout");
        match batch {
            Some(size) => crate::support::workout_batched(&size.to_string()),
            None => crate::support::compile_ddl(
                &models.join("model.yaml"),
                &models.join("v1.sql"),
                &models.join("v2.sql"),
            ),
        }
    }

    /// (step, in, out, filtered, rejected, seconds) of the migrate step rows, in log order.
    type Row = (String, i64, i64, i64, i64, f64);
    fn log_of(db: &TestDb) -> Vec<Row> {
        db.client()
            .query(
                "SELECT step, rows_in, rows_out, rows_filtered, rows_rejected,
                        extract(epoch FROM finished_at - started_at)::float8
                   FROM _pgmig.log WHERE script = 'migrate' AND step <> '(all)' ORDER BY id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
            .collect()
    }

    /// The summary table's step rows and totals row, as cells.
    fn summary_cells(err: &str) -> (Vec<Vec<String>>, Vec<String>) {
        let cells = |l: &str| {
            l.split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        };
        let header = err
            .lines()
            .position(|l| l.contains(" step ") && l.contains(" rows/s "))
            .unwrap_or_else(|| panic!("no summary:\n{err}"));
        let body: Vec<&str> = err
            .lines()
            .skip(header + 2)
            .take_while(|l| l.contains('|'))
            .collect();
        let (total, steps) = body.split_last().unwrap();
        (steps.iter().map(|l| cells(l)).collect(), cells(total))
    }

    fn secs_of(took: &str) -> f64 {
        took.strip_suffix('s')
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{took}"))
    }

    fn events(lines: &[String]) -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
        ev.iter().filter(|e| e["event"] == kind).collect()
    }

    #[test]
    fn the_summary_table_is_the_log_and_each_step_has_one_line() {
        let db = workout_db("prog_summary");
        let dir = compiled(None);
        let text = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
        let mut conn = run::connect_capturing(&db.url()).unwrap();
        let summary = run::run_script(&mut conn, "migrate.sql", &text, &BTreeMap::new()).unwrap();
        let err = stderr_of(&conn.take_output());
        let log = log_of(&db);
        assert_eq!(log.len(), 6, "{log:?}");

        let (rows, total) = summary_cells(&err);
        assert_eq!(rows.len(), log.len(), "{err}");
        for (cells, (step, i, o, f, r, secs)) in rows.iter().zip(&log) {
            assert_eq!(cells[0], *step, "{err}");
            let nums: Vec<i64> = cells[2..6].iter().map(|c| c.parse().unwrap()).collect();
            assert_eq!(nums, vec![*i, *o, *f, *r], "{step}: {err}");
            assert!(
                (secs_of(&cells[6]) - secs).abs() < 0.0006,
                "{step}: took {} vs {secs}",
                cells[6]
            );
            assert_eq!(cells[8], "done");
        }
        let sums: Vec<i64> = vec![
            log.iter().map(|r| r.1).sum(),
            log.iter().map(|r| r.2).sum(),
            log.iter().map(|r| r.3).sum(),
            log.iter().map(|r| r.4).sum(),
        ];
        assert_eq!(total[0], "total");
        assert_eq!(
            total[2..6]
                .iter()
                .map(|c| c.parse::<i64>().unwrap())
                .collect::<Vec<_>>(),
            sums,
            "{err}"
        );
        assert!(
            sums[2] > 0 && sums[3] > 0,
            "the sample's traps filter and reject rows: {sums:?}"
        );
        assert_eq!(summary.log.iter().filter(|r| r.step != "(all)").count(), 6);

        // Not a terminal: one plain line per step, with the counts of the log.
        let step_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("step ")).collect();
        assert_eq!(step_lines.len(), 6, "{err}");
        for (line, (step, i, o, f, r, _)) in step_lines.iter().zip(&log) {
            let want =
                format!("{step}: {i} source rows, {f} filtered, {r} rejected, {o} migrated (");
            assert!(line.contains(&want), "{line} lacks {want}");
        }
    }

    /// Rollback's log rows time the deletes themselves: a start taken before the delete, not
    /// the log insert's own time (which made every rollback step take 0.000 s at billions of
    /// rows per second in `pgmig status`).
    #[test]
    fn rollback_logs_when_each_undo_started_and_ended() {
        let db = workout_db("prog_rollback_times");
        let dir = compiled(None);
        for script in ["migrate", "rollback"] {
            let text = std::fs::read_to_string(dir.path().join(format!("{script}.sql"))).unwrap();
            let mut conn = run::connect_capturing(&db.url()).unwrap();
            run::run_script(&mut conn, &format!("{script}.sql"), &text, &BTreeMap::new()).unwrap();
        }
        let undos: Vec<(String, i64, f64, bool)> = db
            .client()
            .query(
                "SELECT step, rows_out, extract(epoch FROM finished_at - started_at)::float8,
                        started_at >= lag(finished_at, 1, started_at) OVER (ORDER BY id)
                   FROM _pgmig.log WHERE script = 'rollback' AND step <> '(all)' ORDER BY id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        assert_eq!(undos.len(), 6, "{undos:?}");
        for (step, rows, secs, after_previous) in &undos {
            assert!(*secs > 0.0, "{step}: took {secs} s");
            assert!(
                after_previous,
                "{step} starts after the previous undo ended"
            );
            assert!(
                (*rows as f64) / secs < 50_000_000.0,
                "{step}: {rows} rows in {secs} s"
            );
        }
        let (step, rows, secs, _) = undos.iter().max_by_key(|u| u.1).unwrap();
        assert!(
            *secs >= 0.001,
            "{step}: deleting {rows} rows under foreign keys takes a millisecond at least, not {secs} s"
        );
    }

    #[test]
    fn json_events_parse_and_carry_the_log_counts() {
        let db = workout_db("prog_json");
        let dir = compiled(None);
        let text = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
        let mut conn = run::connect_capturing_as(&db.url(), Format::Json).unwrap();
        run::run_script(&mut conn, "migrate.sql", &text, &BTreeMap::new()).unwrap();
        let out = conn.take_output();
        let lines: Vec<String> = out
            .iter()
            .filter_map(|l| match l {
                OutputLine::Stdout(s) => Some(s.clone()),
                OutputLine::Stderr(_) => None,
            })
            .collect();
        let ev = events(&lines);
        let log = log_of(&db);
        assert_eq!(ev.first().unwrap()["event"], "run_started");
        assert_eq!(ev.last().unwrap()["event"], "run_done");
        let started = of_kind(&ev, "step_started");
        let done = of_kind(&ev, "step_done");
        assert_eq!((started.len(), done.len()), (6, 6), "{lines:#?}");
        for ((s, d), (step, rows_in, ..)) in started.iter().zip(&done).zip(&log) {
            assert_eq!(s["step"], d["step"]);
            assert_eq!(s["mode"], "transaction");
            // Counted (as the first step began), not estimated: workout_weeks' LATERAL generate_series
            // had the planner off by hundreds of times.
            assert_eq!(
                s["estimate_source"],
                "count (the step's source rows, counted as the first step began)",
                "{s}"
            );
            assert_eq!(s["estimated_rows"].as_i64(), Some(*rows_in), "{step}: {s}");
        }
        for (d, (step, i, o, f, r, _)) in done.iter().zip(&log) {
            assert_eq!(d["step"], step.as_str());
            assert_eq!(
                [
                    &d["rows_in"],
                    &d["rows_out"],
                    &d["rows_filtered"],
                    &d["rows_rejected"]
                ]
                .map(|v| v.as_i64()),
                [Some(*i), Some(*o), Some(*f), Some(*r)],
                "{d}"
            );
        }
        let totals = &ev.last().unwrap()["summary"]["totals"];
        assert_eq!(
            totals["rows_out"].as_i64(),
            Some(log.iter().map(|r| r.2).sum::<i64>()),
            "{totals}"
        );
        assert_eq!(
            totals["rows_in"].as_i64(),
            Some(log.iter().map(|r| r.1).sum::<i64>()),
            "{totals}"
        );
        // Human lines stay on stderr.
        assert!(stderr_of(&out).contains("pgmig: migrate.sql done"));
        assert!(!stdout_of(&out).contains("pgmig: migrate.sql done"));
    }

    #[test]
    fn json_of_a_batched_run_through_the_cli_counts_every_batch() {
        let db = workout_db("prog_json_batched");
        let dir = compiled(Some(200));
        let out = pgmig_cli(&[
            "run",
            "migrate",
            "--json",
            "--dir",
            &dir.path().display().to_string(),
            "--db",
            &db.url(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let lines: Vec<String> = String::from_utf8(out.stdout.clone())
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let ev = events(&lines);
        assert_eq!(ev.last().unwrap()["event"], "run_done", "{lines:#?}");
        let done = of_kind(&ev, "step_done");
        let log = log_of(&db);
        assert_eq!(done.len(), log.len());
        let mut client = db.client();
        for (d, (step, i, o, f, r, _)) in done.iter().zip(&log) {
            assert_eq!(d["step"], step.as_str());
            assert_eq!(
                [
                    &d["rows_in"],
                    &d["rows_out"],
                    &d["rows_filtered"],
                    &d["rows_rejected"]
                ]
                .map(|v| v.as_i64()),
                [Some(*i), Some(*o), Some(*f), Some(*r)],
                "{d}"
            );
            let (n, rows): (i64, i64) = client
                .query_one("SELECT count(*), coalesce(sum(rows), 0)::bigint FROM _pgmig.batches WHERE step = $1", &[step])
                .map(|r| (r.get(0), r.get(1)))
                .unwrap();
            let batches: Vec<&Value> = of_kind(&ev, "batch_done")
                .into_iter()
                .filter(|b| b["step"] == step.as_str())
                .collect();
            assert_eq!(
                batches.len() as i64,
                n,
                "{step}: one batch_done per committed batch"
            );
            assert_eq!(
                batches
                    .iter()
                    .map(|b| b["rows"].as_i64().unwrap())
                    .sum::<i64>(),
                rows,
                "{step}"
            );
            assert_eq!(d["batches_done"].as_i64(), Some(n), "{d}");
            assert_eq!(d["batches_total"].as_i64(), Some(n), "{d}");
            if let Some(last) = batches.last() {
                assert_eq!(last["rows_done"].as_i64(), Some(*o), "{last}");
                assert_eq!(last["rows_total"].as_i64(), Some(*o), "{last}");
                assert_eq!(last["batches_total"].as_i64(), Some(n), "{last}");
            }
        }
        assert!(
            of_kind(&ev, "batch_done").len() >= 23,
            "exercise_logs alone has 23 batches of 200"
        );
        // Batch notices are not printed one by one; each step has its line.
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains(": batch "), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("step ")).count(),
            6,
            "{err}"
        );
    }

    /// Starts a batched migrate in psql and terminates its backend once `at_least` batches
    /// of `step` are committed; returns whether the run was cut short. Before the kill the
    /// watcher freezes the run by locking `_pgmig.batches` (every batch writes it before it
    /// commits), so a busy machine cannot let the run finish between the count and the kill.
    fn migrate_and_kill(db: &TestDb, dir: &Path, step: &str, at_least: i64) -> bool {
        let mut child = db.spawn_psql_file(&dir.join("migrate.sql"), "pgmig-status-kill");
        let mut watcher = db.client();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let exists: bool = watcher
                .query_one("SELECT to_regclass('_pgmig.batches') IS NOT NULL", &[])
                .unwrap()
                .get(0);
            let n: i64 = if exists {
                watcher
                    .query_one(
                        "SELECT count(*) FROM _pgmig.batches WHERE step = $1",
                        &[&step],
                    )
                    .unwrap()
                    .get(0)
            } else {
                0
            };
            if n >= at_least {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{step} did not reach {at_least} batches in 10 minutes"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("migrate ended ({status}) before {step} reached {at_least} batches");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        watcher
            .batch_execute("BEGIN; LOCK TABLE _pgmig.batches IN SHARE MODE")
            .unwrap();
        db.terminate("pgmig-status-kill");
        let cut_short = !child.wait().unwrap().success();
        watcher.batch_execute("COMMIT").unwrap();
        cut_short
    }

    #[test]
    fn status_shows_batches_of_a_killed_run_and_of_its_resume() {
        let db = workout_db("prog_status");
        let dir = compiled(Some(10));
        assert!(
            migrate_and_kill(&db, dir.path(), "exercise_logs", 3),
            "the run must be cut short"
        );
        let mut conn = run::connect_capturing(&db.url()).unwrap();
        let rows = run::status_rows(&mut conn).unwrap();
        let running: Vec<_> = rows.iter().filter(|r| r.log.status == "running").collect();
        assert_eq!(running.len(), 1, "{rows:#?}");
        let r = running[0];
        let step = r.log.step.clone();
        let (done, total) = (r.batches_done.unwrap(), r.batches_total.unwrap());
        assert_eq!(
            done,
            count(
                &db,
                &format!("SELECT count(*) FROM _pgmig.batches WHERE step = '{step}'")
            )
        );
        assert_eq!(
            total,
            count(
                &db,
                &format!("SELECT max(batch) + 1 FROM _pgmig.map_{step}")
            )
        );
        assert!(0 < done && done < total, "{done}/{total}");
        assert_eq!(
            r.rows(),
            Some(count(
                &db,
                &format!("SELECT sum(rows)::bigint FROM _pgmig.batches WHERE step = '{step}'")
            ))
        );
        let mut text = Vec::new();
        run::print_status(&mut conn, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(&format!("| {step} ")))
            .unwrap();
        assert!(
            line.contains(&format!(" {done}/{total} |")) && line.contains("| running"),
            "{text}"
        );

        // Resumed by the runner: the summary shows the resumed step, status shows done == total.
        let migrate = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
        let summary =
            run::run_script(&mut conn, "migrate.sql", &migrate, &BTreeMap::new()).unwrap();
        assert!(
            summary
                .log
                .iter()
                .any(|l| l.step == step && l.status == "done"),
            "{:#?}",
            summary.log
        );
        let err = stderr_of(&conn.take_output());
        let resumed_line = err
            .lines()
            .find(|l| l.starts_with("step ") && l.contains(&format!(" {step}: ")))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(resumed_line.contains("migrated"), "{resumed_line}");
        let rows = run::status_rows(&mut conn).unwrap();
        let steps: Vec<_> = rows
            .iter()
            .filter(|r| r.log.script == "migrate" && r.log.step != "(all)")
            .collect();
        assert_eq!(steps.len(), 6);
        for r in &steps {
            assert_eq!(r.log.status, "done");
            let n = count(
                &db,
                &format!(
                    "SELECT count(*) FROM _pgmig.batches WHERE step = '{}'",
                    r.log.step
                ),
            );
            assert_eq!(r.batches_done, Some(n), "{r:?}");
            assert_eq!(r.batches_total, Some(n), "{r:?}");
            assert!(
                r.rate().is_some_and(|x| x > 0.0) || r.log.rows_out == Some(0),
                "{r:?}"
            );
        }

        // --json: the same numbers.
        let out = pgmig_cli(&["status", "--json", "--db", &db.url()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let js = v["steps"].as_array().unwrap();
        for r in &steps {
            let j = js
                .iter()
                .find(|j| j["id"].as_i64() == Some(r.log.id))
                .unwrap();
            assert_eq!(j["batches_done"].as_i64(), r.batches_done, "{j}");
            assert_eq!(j["batches_total"].as_i64(), r.batches_total, "{j}");
            assert_eq!(j["rows_out"].as_i64(), r.log.rows_out, "{j}");
            assert_eq!(j["status"].as_str(), Some("done"));
        }
        assert_eq!(
            v["totals"]["rows_out"].as_i64(),
            Some(steps.iter().map(|r| r.log.rows_out.unwrap()).sum::<i64>())
        );
        must_pass(
            crate::support::scripts::run(&db, dir.path(), "verify.sql", &[]),
            "verify",
        );
    }

    #[test]
    fn status_of_a_transaction_run_has_no_batch_columns() {
        let db = workout_db("prog_status_tx");
        let dir = compiled(None);
        must_pass(
            crate::support::scripts::run(&db, dir.path(), "migrate.sql", &[]),
            "migrate",
        );
        let mut conn = run::connect_capturing(&db.url()).unwrap();
        let rows = run::status_rows(&mut conn).unwrap();
        assert_eq!(rows.iter().filter(|r| r.log.step != "(all)").count(), 6);
        assert!(
            rows.iter()
                .all(|r| r.batches_done.is_none() && r.batches_total.is_none()),
            "{rows:#?}"
        );
        assert!(
            rows.iter()
                .filter(|r| r.log.step != "(all)")
                .all(|r| r.rate().is_some()),
            "{rows:#?}"
        );
    }
}

/// `\gset` as the in-place migrate uses it (a boolean computed in SQL, then `\if`): psql and
/// pgmig run take the same branches and leave the same tables, whatever the variable it is
/// computed from holds (quotes, a `\gset`, psql's `\!`: all quoted by `:'who'`). A query
/// that returns no row stops both.
#[test]
fn gset_then_if_behaves_as_in_psql() {
    const GSET: &str = r#"\set ON_ERROR_STOP on
CREATE TABLE IF NOT EXISTS seen (n serial PRIMARY KEY, what text);
SELECT :'who' = 'x' AS pgmig_is_x \gset
\if :pgmig_is_x
INSERT INTO seen (what) VALUES ('x');
\else
INSERT INTO seen (what) VALUES (:'who');
\endif
SELECT NOT EXISTS (SELECT 1 FROM seen WHERE what = 'fresh') AS pgmig_fresh \gset
\if :pgmig_fresh
INSERT INTO seen (what) VALUES ('fresh');
\endif
\if :{?empty}
SELECT true AS pgmig_never WHERE false \gset
INSERT INTO seen (what) VALUES ('after an empty gset');
\endif
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gset.sql");
    std::fs::write(&path, GSET).unwrap();
    let hostile = "x' \\gset \\! touch /tmp/pgmig-pwned ; '";
    for (i, pairs) in [
        vec![("who", "x")],
        vec![("who", hostile)],
        vec![("who", "y"), ("empty", "1")],
    ]
    .into_iter()
    .enumerate()
    {
        let by_psql = cluster().create_db(&format!("gset{i}_psql"));
        let by_run = cluster().create_db(&format!("gset{i}_run"));
        for _ in 0..2 {
            let out = by_psql.psql_file(&path, &pairs);
            let mut conn = run::connect_capturing(&by_run.url()).unwrap();
            let result = run::run_script(&mut conn, "gset.sql", GSET, &vars(&pairs));
            assert_eq!(
                out.status.success(),
                result.is_ok(),
                "{pairs:?}: psql: {}\nrunner: {result:?}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                result.is_ok(),
                !pairs.contains(&("empty", "1")),
                "{result:?}"
            );
            if let Err(e) = result {
                assert!(e.to_string().contains("no rows returned for \\gset"), "{e}");
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("no rows returned for \\gset")
                );
            }
        }
        let a = by_psql.table_md5s(&["public"]);
        assert_eq!(a, by_run.table_md5s(&["public"]), "{pairs:?}");
        let seen: Vec<String> = by_run
            .client()
            .query("SELECT what FROM seen ORDER BY n", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let who = pairs[0].1.to_string();
        let first = if who == "x" { "x".to_string() } else { who };
        assert_eq!(
            seen,
            vec![first.clone(), "fresh".into(), first],
            "{pairs:?}"
        );
    }
    assert!(!std::path::Path::new("/tmp/pgmig-pwned").exists());
}
