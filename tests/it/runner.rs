//! `pgmig run` against a real PostgreSQL: same result as psql, errors, the lock, status.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pgmig::run::{self, OutputLine, RunError};

use crate::support::{cluster, TestDb};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
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
    let (by_psql, by_run, out) = run_both("same_commit", &[("who", "o'neil"), ("suffix", " + done")]);
    let a = by_psql.table_md5s(&["public"]);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a, by_run.table_md5s(&["public"]));

    let mut c = by_run.client();
    let label: String = c.query_one("SELECT label FROM items WHERE id = 1", &[]).unwrap().get(0);
    assert_eq!(label, r"it's a \ test");
    let note: String = c.query_one("SELECT note FROM items WHERE id = 1", &[]).unwrap().get(0);
    assert_eq!(note, "a::text :notavar; x + done");
    let note2: String = c.query_one("SELECT note FROM items WHERE id = 2", &[]).unwrap().get(0);
    assert_eq!(note2, r"back\slash :who");
    let line: String = c.query_one("SELECT line FROM log_lines", &[]).unwrap().get(0);
    assert_eq!(line, r"do-block :notavar \ 2");

    let err = stderr_of(&out);
    assert!(err.contains(r"step items: 2 rows :notavar \"), "notice not shown:\n{err}");
    assert!(!err.contains("NOTICE"), "{err}");
    let stdout = stdout_of(&out);
    assert!(!stdout.contains("never") && !stdout.contains("dry run"), "{stdout}");
    assert!(stdout.contains(" id |     label") && stdout.contains("  2 | o'neil") && stdout.contains("(2 rows)"), "{stdout}");
}

#[test]
fn same_tables_as_psql_in_a_dry_run() {
    let (by_psql, by_run, out) = run_both("same_dry", &[("who", "x"), ("dry_run", "1")]);
    let a = by_psql.table_md5s(&["public"]);
    assert_eq!(a, by_run.table_md5s(&["public"]));
    assert_eq!(count(&by_run, "SELECT count(*) FROM log_lines"), 0, "the DO block was not rolled back");
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
        RunError::Database { script, line, statement, message, details, rolled_back } => {
            assert_eq!(script, "migrate.sql");
            assert_eq!(*line, 4);
            assert_eq!(statement, "DO $$");
            assert_eq!(message, "ERROR:  step workout_weeks failed: 3 duplicates");
            assert!(details.contains(&"DETAIL:  ids 1, 2, 3".to_string()), "{details:?}");
            assert!(details.contains(&"HINT:  dedupe first".to_string()), "{details:?}");
            assert!(details.iter().any(|d| d.starts_with("CONTEXT:  PL/pgSQL function inline_code_block")), "{details:?}");
            assert!(rolled_back);
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.starts_with("migrate.sql:4: ERROR:  step workout_weeks failed: 3 duplicates\n  statement: DO $$"), "{text}");
    // The table (created before BEGIN) is there, the insert was rolled back, the session is
    // usable and no longer in a transaction, and the lock was released.
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 0);
    // (simple protocol: in the extended one Bind and Execute get different timestamps)
    let open = conn.client().simple_query("SELECT now() <> statement_timestamp()").unwrap();
    let open = open.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
        _ => None,
    });
    assert_eq!(open.as_deref(), Some("f"), "a transaction is still open");
    let mut other = db.client();
    let got: bool = other.query_one("SELECT pg_try_advisory_lock($1)", &[&run::LOCK_KEY]).unwrap().get(0);
    assert!(got, "the lock was not released after a failed run");
}

#[test]
fn a_syntax_error_points_at_the_line_of_its_position() {
    let db = cluster().create_db("run_syntax");
    let script = "SELECT 1;\n\n-- next\nSELECT\n  relname,\n  nosuchcol\nFROM pg_class;\nSELECT 'not reached';\n";
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    let e = run::run_script(&mut conn, "verify.sql", script, &BTreeMap::new()).unwrap_err();
    match &e {
        RunError::Database { line, statement, message, rolled_back, .. } => {
            assert_eq!(*line, 6, "{e}");
            assert_eq!(statement, "SELECT");
            assert!(message.contains("column \"nosuchcol\" does not exist"), "{message}");
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
    let first_pid: i32 = first.client().query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let slow = std::thread::spawn(move || {
        let r = run::run_script(&mut first, "slow.sql", "SELECT pg_sleep(3);\nCREATE TABLE slow_done ();\n", &BTreeMap::new());
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
        assert!(Instant::now() < deadline, "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = run::connect_capturing(&url).unwrap();
    let e = run::run_script(&mut second, "other.sql", "CREATE TABLE second_ran ();\n", &BTreeMap::new()).unwrap_err();
    assert!(matches!(e, RunError::LockHeld { .. }), "{e:?}");
    assert_eq!(e.exit_code(), 1);
    let text = e.to_string();
    assert!(text.contains(&format!("pid {first_pid} ")), "{text}");
    assert!(text.contains("application pgmig"), "{text}");
    assert_eq!(count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'second_ran'"), 0);

    assert_eq!(slow.join().unwrap().unwrap(), 2);
    // Released: now the second run goes through.
    run::run_script(&mut second, "other.sql", "CREATE TABLE second_ran ();\n", &BTreeMap::new()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM pg_class WHERE relname IN ('second_ran', 'slow_done')"), 2);
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
    assert_eq!(String::from_utf8(out).unwrap(), format!("{}\n", run::NO_RUN));

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
    assert!(err.contains("workout_weeks") && err.contains("boom"), "log rows not printed after the run:\n{err}");

    let second = "INSERT INTO _pgmig.log (model, script, step, status) VALUES ('workout', 'verify', 'counts', 'done');\n";
    let summary = run::run_script(&mut conn, "verify.sql", second, &BTreeMap::new()).unwrap();
    assert_eq!(summary.log.iter().map(|r| r.step.as_str()).collect::<Vec<_>>(), vec!["counts"]);

    let mut out = Vec::new();
    run::print_status(&mut conn, &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].contains("step") && lines[0].contains("status"), "{s}");
    assert!(lines[2].contains("| workout_plans |") && lines[2].contains("| 10 |") && lines[2].contains("| done"), "{s}");
    assert!(lines[3].contains("workout_weeks") && lines[3].ends_with("| failed | boom"), "{s}");
    assert!(lines[4].contains("| counts"), "{s}");
    assert_eq!(lines[5], "(3 rows)");
}

#[test]
fn a_malformed_script_runs_nothing() {
    let db = cluster().create_db("run_malformed");
    let mut conn = run::connect_capturing(&db.url()).unwrap();
    for (script, want) in [
        ("CREATE TABLE a ();\n\\if :{?dry_run}\nSELECT 1;\n", "s.sql:2: reached the end"),
        ("CREATE TABLE a ();\n\\gset\n", "s.sql:2: unsupported meta-command \\gset"),
    ] {
        let e = run::run_script(&mut conn, "s.sql", script, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().starts_with(want), "{e}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM pg_class WHERE relname = 'a'"), 0);
    // A non-boolean \if is found when it is reached: what ran before it stays, as in psql.
    let e = run::run_script(&mut conn, "s.sql", "CREATE TABLE b ();\n\\if :dry_run\n\\endif\n", &BTreeMap::new()).unwrap_err();
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
    let e = run::connect(&format!("host={} port=1 dbname=x user=postgres", dir.path().display())).unwrap_err();
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
    let name: String = conn.client().query_one("SELECT current_database()", &[]).unwrap().get(0);
    assert_eq!(name, db.name());
}
