//! The source is really V1, and PostgreSQL checks the model (issue 14, items 9 and 10):
//! a step reading the table it fills is refused; a V1 and a V2 in two databases without
//! `source: {server: …}` are refused; with `--check-db` (or a live V2) PostgreSQL prepares
//! every step's statements and an expression it rejects is an error at its model line,
//! leaving the scratch database as it was; a runtime error names the step and its line.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, repo_root, TestDb};

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/members")
}

/// The members model with `edit` applied, in a temp dir as `model.yaml`.
fn variant(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(fixture().join("model.yaml")).unwrap();
    let edited = edit(&model);
    assert_ne!(edited, model, "the edit changes the model");
    std::fs::write(dir.path().join("model.yaml"), edited).unwrap();
    dir
}

/// `pgmig compile model.yaml --v1 V1 --v2 V2 [extra…] --out OUT`, from the model's folder.
fn compile(model_dir: &Path, v1: &str, v2: &str, extra: &[&str]) -> (Output, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(model_dir)
        .args(["compile", "model.yaml", "--v1", v1, "--v2", v2])
        .args(extra)
        .arg("--out")
        .arg(out.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (output, out)
}

/// stderr with the ends of lines trimmed (the diagnostics' frames pad empty source lines).
fn shown(out: &Output) -> String {
    stderr(out)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn ddl(name: &str) -> String {
    fixture().join(name).display().to_string()
}

/// Every relation, type and function outside the system schemas, with its schema: what
/// loading a DDL would leave behind.
fn objects(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             UNION ALL SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
             UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn postgres_rejects_what_the_checker_accepts_at_the_model_line() {
    let scratch = cluster().create_db("dbcheck_scratch");
    let before = objects(&scratch);
    assert_eq!(before, vec!["public".to_string()], "a fresh database");

    // Without --check-db both models compile: only PostgreSQL knows these are wrong.
    let plus_twelve = variant(|m| {
        m.replace(
            "m.joined_at + make_interval(years => 1)",
            "m.joined_at + 12",
        )
    });
    let (out, _) = compile(plus_twelve.path(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    let (out, written) = compile(
        plus_twelve.path(),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        std::fs::read_dir(written.path()).unwrap().next().is_none(),
        "nothing is written"
    );
    insta::assert_snapshot!(shown(&out), @r"
    model.yaml:11:19: error: PostgreSQL rejects column expires_at of step members: operator does not exist: timestamp without time zone + integer
        ╭─[model.yaml:11:19]
     10 │     columns:
     11 │       expires_at: m.joined_at + 12
        ·                   ────────┬───────
        ·                           ╰── here
     12 │
        ╰────
      help: PostgreSQL: No operator matches the given name and argument types. You might need to add explicit type casts.
    error: model.yaml has 1 error; nothing was written
    ");
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );

    let date_add =
        variant(|m| m.replace("make_interval(years => r.years)", "date_add(r.years, 1)"));
    let (out, _) = compile(
        date_add.path(),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(shown(&out), @r"
    model.yaml:17:13: error: PostgreSQL rejects column term of step renewals: function date_add(integer, integer) does not exist
        ╭─[model.yaml:17:13]
     16 │     columns:
     17 │       term: date_add(r.years, 1)
        ·             ──────────┬─────────
        ·                       ╰── here
        ╰────
      help: PostgreSQL: No function matches the given name and argument types. You might need to add explicit type casts.
    error: model.yaml has 1 error; nothing was written
    ");
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );

    // The model as it is: named arguments are fine, and the scratch database still empty.
    let (out, _) = compile(
        &fixture(),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );
}

/// The fixture's V1 in schema v1 and V2 in public, with V1's rows.
fn members_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    db.load_in_schema(&fixture().join("data.sql"), "public");
    db
}

#[test]
fn named_arguments_migrate_and_verify() {
    let db = members_db("dbcheck_named");
    let (out, dir) = compile(&fixture(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    let rows: Vec<(i32, String)> = db
        .client()
        .query(
            "SELECT id, expires_at::text FROM public.members ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "2021-01-01 10:00:00".to_string()),
            (2, "2022-06-30 08:30:00".to_string())
        ]
    );
    let terms: Vec<String> = db
        .client()
        .query("SELECT term::text FROM public.renewals ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(terms, ["1 year", "2 years", "12 years"]);
}

#[test]
fn a_live_v2_is_checked_by_postgres_too() {
    let db = members_db("dbcheck_live");
    let before = db.table_md5s(&["v1", "public"]);
    let model = variant(|m| m.replace("make_interval(years => r.years)", "date_add(r.years, 1)"));
    let (out, _) = compile(model.path(), &db.url(), &db.url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("model.yaml:17:13: error: PostgreSQL rejects column term of step renewals: function date_add(integer, integer) does not exist"), "{e}");
    assert_eq!(db.table_md5s(&["v1", "public"]), before);
    assert_eq!(
        db.client()
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'",
                &[]
            )
            .unwrap()
            .get::<_, i64>(0),
        0,
        "no _pgmig left"
    );
    let (out, dir) = compile(&fixture(), &db.url(), &db.url(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Migrated, V2's database holds the id maps: the check uses them as they are.
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let (out, _) = compile(&fixture(), &db.url(), &db.url(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_runtime_error_names_the_step_and_its_model_line() {
    // 1 / (id - 1): division by zero on member 1, which neither checker can know. The
    // email is UNIQUE in V2, so precheck computes it too.
    let model = variant(|m| {
        m.replace(
            "      expires_at:",
            "      email: m.email || (1 / (m.id - 1))::text\n      expires_at:",
        )
    });
    let (out, dir) = compile(model.path(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (script, vars) in [("precheck.sql", &[][..]), ("migrate.sql", &[][..])] {
        let db = members_db("dbcheck_runtime");
        let before = db.table_md5s(&["v1", "public"]);
        let out = run(&db, dir.path(), script, vars);
        assert!(!out.status.success(), "{script} fails");
        let e = stderr(&out);
        assert!(
            e.contains("step members (model.yaml:7) failed: division by zero"),
            "{script}: {e}"
        );
        assert_eq!(
            db.table_md5s(&["v1", "public"]),
            before,
            "{script} changed nothing"
        );
    }
    // Batched: the step is a procedure committing as it goes; its error names the step too.
    let batched = variant(|m| {
        m.replace(
            "      expires_at:",
            "      email: m.email || (1 / (m.id - 1))::text\n      expires_at:",
        ) + "mode: {batched: {size: 1}}\n"
    });
    let (out, dir) = compile(batched.path(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = members_db("dbcheck_runtime_batched");
    let before = db.table_md5s(&["v1", "public"]);
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(!out.status.success(), "batched migrate fails");
    let e = stderr(&out);
    assert!(
        e.contains("step members (model.yaml:7) failed: division by zero"),
        "batched migrate: {e}"
    );
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "no V2 row was written"
    );

    // verify recomputes each step from V1, and runs the model's assertions: a V1 email
    // emptied after migrate makes the step's expression fail there, and an assertion that
    // fails by itself names its line.
    let checked = variant(|m| {
        m.replace("      expires_at:", "      email: m.email || (1 / length(m.email))::text\n      expires_at:")
            + "verify:\n  - name: terms are whole years\n    zero_rows: SELECT id FROM renewals WHERE id / (id - id) > 0\n"
    });
    let (out, dir) = compile(checked.path(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = members_db("dbcheck_runtime_verify");
    let out = run(&db, dir.path(), "migrate.sql", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&db, dir.path(), "verify.sql", &[]);
    assert!(!out.status.success(), "verify fails");
    assert!(
        stderr(&out)
            .contains("assertion terms are whole years (model.yaml:21) failed: division by zero"),
        "verify: {}",
        stderr(&out)
    );
    // The steps' checks run before the assertions: this error comes first.
    db.execute("UPDATE v1.members SET email = '' WHERE id = 2");
    let out = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        stderr(&out).contains("step members (model.yaml:7) failed: division by zero"),
        "verify: {}",
        stderr(&out)
    );
}

#[test]
fn a_step_reading_the_table_it_fills_is_refused() {
    // V1 and V2 both in public: `members` would be read and filled at once.
    let model = variant(|m| m.replace("source: { schema: v1 }", "source: { schema: public }"));
    let (out, _) = compile(model.path(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(shown(&out), @r"
    model.yaml:8:11: error: step members reads `public.members`, which this model fills: V1 and V2 are one schema (`public`) of one database here, so the step would read V2's rows as V1's
       ╭─[model.yaml:8:11]
     7 │   members:
     8 │     from: members m
       ·           ────┬────
       ·               ╰── here
     9 │     key: keep
       ╰────
      help: give V1 its own schema (`source: {schema: v1}`), or rename V1's tables aside (`users_v1`) and read those, or write an in-place model (`in_place: true`)
    model.yaml:14:11: error: step renewals reads `public.renewals`, which this model fills: V1 and V2 are one schema (`public`) of one database here, so the step would read V2's rows as V1's
        ╭─[model.yaml:14:11]
     13 │   renewals:
     14 │     from: renewals r
        ·           ─────┬────
        ·                ╰── here
     15 │     key: keep
        ╰────
      help: give V1 its own schema (`source: {schema: v1}`), or rename V1's tables aside (`users_v1`) and read those, or write an in-place model (`in_place: true`)
    error: model.yaml has 2 errors; nothing was written
    ");

    // V1's tables renamed aside in the same schema are other tables: allowed.
    let aside = variant(|m| {
        m.replace("source: { schema: v1 }", "source: { schema: public }")
            .replace("from: members m", "from: members_v1 m")
            .replace("from: renewals r", "from: renewals_v1 r")
    });
    let v1_aside = aside.path().join("v1_aside.sql");
    let v1 = std::fs::read_to_string(fixture().join("v1.sql")).unwrap();
    std::fs::write(
        &v1_aside,
        v1.replace("TABLE members", "TABLE members_v1")
            .replace("TABLE renewals", "TABLE renewals_v1")
            .replace("REFERENCES members", "REFERENCES members_v1"),
    )
    .unwrap();
    let (out, _) = compile(
        aside.path(),
        &v1_aside.display().to_string(),
        &ddl("v2.sql"),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn v1_and_v2_in_two_databases_need_a_server() {
    let v1 = cluster().create_db("dbcheck_v1");
    v1.execute("CREATE SCHEMA v1");
    v1.load_in_schema(&fixture().join("v1.sql"), "v1");
    let v2 = members_db("dbcheck_v2");
    let (out, _) = compile(&fixture(), &v1.url(), &v2.url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out)
        .replace(v1.name(), "V1DB")
        .replace(v2.name(), "V2DB");
    insta::assert_snapshot!(e, @r"
    error: --v1 is database V1DB and --v2 is database V2DB on one server, but the model reads V1 in the database it migrates: the scripts would read V2's database as V1
      help: load V1 into a schema of V2's database (`source: {schema: v1}`) and compile against that, or read V1 from its server (`source: {server: NAME, schema: …}`)
    ");
    // The same database under two spellings of its URL is one database.
    let c = cluster();
    let respelled = format!(
        "user=postgres dbname={} port={} host={}",
        v2.name(),
        c.port(),
        c.socket_dir().display()
    );
    assert_ne!(respelled, v2.url());
    let (out, _) = compile(&fixture(), &v2.url(), &respelled, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn precheck_and_migrate_refuse_catalogs_they_were_not_compiled_against() {
    let (out, dir) = compile(&fixture(), &ddl("v1.sql"), &ddl("v2.sql"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (change, difference) in [
        (
            "ALTER TABLE public.members ALTER COLUMN expires_at TYPE timestamptz",
            "V2 column public.members.expires_at is timestamp with time zone, compiled as timestamp without time zone",
        ),
        ("ALTER TABLE v1.renewals DROP COLUMN years", "V1 column v1.renewals.years does not exist"),
        ("ALTER TABLE public.renewals RENAME TO renewals_old", "V2 table public.renewals does not exist"),
    ] {
        let db = members_db("dbcheck_catalog");
        db.execute(change);
        let before = db.table_md5s(&["v1", "public"]);
        for script in ["precheck.sql", "migrate.sql"] {
            let out = run(&db, dir.path(), script, &[]);
            assert!(!out.status.success(), "{script} after {change}");
            let e = stderr(&out);
            let expected = format!("{script}: this database is not the one the script was compiled against: {difference}; nothing was changed");
            assert!(e.contains(&expected), "{script} after {change}: {e}");
            assert_eq!(db.table_md5s(&["v1", "public"]), before, "{script} changed nothing");
            assert_eq!(db.client().query_one("SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'", &[]).unwrap().get::<_, i64>(0), 0);
        }
    }
}

/// Every step PostgreSQL rejects is reported at once, each at its model line, and the
/// scratch database is left as it was.
#[test]
fn every_rejected_step_is_reported_at_once() {
    let scratch = cluster().create_db("dbcheck_two");
    let before = objects(&scratch);
    let both = variant(|m| {
        m.replace(
            "m.joined_at + make_interval(years => 1)",
            "m.joined_at + 12",
        )
        .replace("make_interval(years => r.years)", "date_add(r.years, 1)")
    });
    let (out, _) = compile(
        both.path(),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(shown(&out), @"
    model.yaml:11:19: error: PostgreSQL rejects column expires_at of step members: operator does not exist: timestamp without time zone + integer
        ╭─[model.yaml:11:19]
     10 │     columns:
     11 │       expires_at: m.joined_at + 12
        ·                   ────────┬───────
        ·                           ╰── here
     12 │
        ╰────
      help: PostgreSQL: No operator matches the given name and argument types. You might need to add explicit type casts.
    model.yaml:17:13: error: PostgreSQL rejects column term of step renewals: function date_add(integer, integer) does not exist
        ╭─[model.yaml:17:13]
     16 │     columns:
     17 │       term: date_add(r.years, 1)
        ·             ──────────┬─────────
        ·                       ╰── here
        ╰────
      help: PostgreSQL: No function matches the given name and argument types. You might need to add explicit type casts.
    error: model.yaml has 2 errors; nothing was written
    ");
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );
}

/// An in-place model's conversions are prepared by PostgreSQL in the scratch database,
/// V1's DDL loaded there: each rejected `using` at its line, all at once.
#[test]
fn in_place_conversions_are_checked_by_postgres() {
    let scratch = cluster().create_db("dbcheck_in_place");
    let before = objects(&scratch);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v1.sql"),
        "CREATE TABLE t (id bigint PRIMARY KEY, n text, m text);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("v2.sql"),
        "CREATE TABLE t (id bigint PRIMARY KEY, n integer, m integer);\n",
    )
    .unwrap();
    let file = |f: &str| dir.path().join(f).display().to_string();
    let write_model = |n: &str, m: &str| {
        std::fs::write(
            dir.path().join("model.yaml"),
            format!("name: ints\nin_place: true\nusing:\n  t.n: \"{n}\"\n  t.m: \"{m}\"\n"),
        )
        .unwrap()
    };
    write_model("to_integer(n)", "nullif(m, '') + 1");
    let (out, _) = compile(
        dir.path(),
        &file("v1.sql"),
        &file("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(shown(&out), @r#"
    model.yaml:4:8: error: PostgreSQL rejects the `using` of t.n (text → integer): function to_integer(text) does not exist
       ╭─[model.yaml:4:8]
     3 │ using:
     4 │   t.n: "to_integer(n)"
       ·        ──────┬──────
       ·              ╰── here
     5 │   t.m: "nullif(m, '') + 1"
       ╰────
      help: PostgreSQL: No function matches the given name and argument types. You might need to add explicit type casts.
    model.yaml:5:8: error: PostgreSQL rejects the `using` of t.m (text → integer): operator does not exist: text + integer
       ╭─[model.yaml:5:8]
     4 │   t.n: "to_integer(n)"
     5 │   t.m: "nullif(m, '') + 1"
       ·        ────────┬────────
       ·                ╰── here
       ╰────
      help: PostgreSQL: No operator matches the given name and argument types. You might need to add explicit type casts.
    error: model.yaml has 2 errors; nothing was written
    "#);
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );

    write_model("nullif(n, '')::integer", "nullif(m, '')::integer");
    let (out, _) = compile(
        dir.path(),
        &file("v1.sql"),
        &file("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        objects(&scratch),
        before,
        "the scratch database is unchanged"
    );
}

/// `--check-db` loads DDL files; with a live V2 the message says what to do instead.
#[test]
fn check_db_with_a_live_v2_says_what_to_do() {
    let db = members_db("dbcheck_live_flag");
    let scratch = cluster().create_db("dbcheck_live_scratch");
    let (out, _) = compile(
        &fixture(),
        &db.url(),
        &db.url(),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(shown(&out), @"error: --check-db loads V1 and V2 from DDL files into the scratch database, but --v2 is a database: compile without --check-db and PostgreSQL prepares every step in V2's database itself (in a transaction it rolls back), or dump a database's schema with `pg_dump --schema-only --no-owner --no-privileges --schema=NAME` and give that file");
}

/// A step whose id map PostgreSQL can't make (its key's `new` is rejected): the statements
/// of later steps that join that map are left out with a warning naming both steps, not
/// reported as errors of their own ("relation does not exist").
#[test]
fn a_step_joining_an_unmade_id_map_is_left_out_with_a_warning() {
    let scratch = cluster().create_db("dbcheck_unmade_map");
    let model = variant(|m| {
        m.replacen(
            "    from: members m\n    key: keep",
            "    from: members m\n    key: { new: no_such_id(), by: [m.id] }",
            1,
        )
        .replace(
            "    from: renewals r\n",
            "    from: renewals r\n    where: id(members, r.member_id) IS NOT NULL\n",
        )
        .replace(
            "      term: make_interval(years => r.years)",
            "      member_id: id(members, r.member_id)\n      term: make_interval(years => r.years)",
        )
    });
    let (out, _) = compile(
        model.path(),
        &ddl("v1.sql"),
        &ddl("v2.sql"),
        &["--check-db", &scratch.url()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = shown(&out);
    assert!(
        e.contains("error: PostgreSQL rejects key `new` of step members: function no_such_id() does not exist"),
        "{e}"
    );
    assert!(
        e.contains("warning: PostgreSQL did not check the statements of step renewals that look up ids of step members: its id map could not be made"),
        "{e}"
    );
    assert!(!e.contains("relation"), "{e}");
    assert!(
        !e.contains("step members that look up ids of step members"),
        "no warning of a step about itself: {e}"
    );
    assert!(e.contains("model.yaml has 1 error"), "{e}");
}

/// A live V2 the check cannot run in: the compile goes on with a warning saying why and what
/// to do, whether V1's tables are not in V2's database or the role may not make the id maps.
#[test]
fn a_live_v2_the_check_cannot_use_is_a_warning_saying_why() {
    let v2_only = cluster().create_db("dbcheck_v2_only");
    v2_only.load_in_schema(&fixture().join("v2.sql"), "public");
    let (out, _) = compile(&fixture(), &ddl("v1.sql"), &v2_only.url(), &[]);
    let e = shown(&out);
    assert!(out.status.success(), "{e}");
    assert!(
        e.contains("warning: PostgreSQL did not check the model's SQL: V1's tables are not in V2's database (v1.")
            && e.contains("help: compile with --check-db URL"),
        "{e}"
    );

    let db = members_db("dbcheck_no_create");
    let role = format!("{}_reader", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} LOGIN; REVOKE CREATE ON DATABASE {name} FROM PUBLIC;
         GRANT USAGE ON SCHEMA v1, public TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA v1, public TO {role};",
        name = db.name()
    ));
    let c = cluster();
    let url = format!(
        "user={role} dbname={} port={} host={}",
        db.name(),
        c.port(),
        c.socket_dir().display()
    );
    let (out, _) = compile(&fixture(), &url, &url, &[]);
    let e = shown(&out);
    assert!(out.status.success(), "{e}");
    assert!(
        e.contains("warning: PostgreSQL did not check the model's SQL: the id maps can't be made in V2's database: permission denied"),
        "{e}"
    );
}
