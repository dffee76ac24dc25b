//! Nothing is lost silently (tests/it/fixtures/models/accounts): V1's `"Account"."Name"` is
//! V2's `account.name` in another spelling, which the implicit copy (same names only) does
//! not fill. Before `drop:` a model leaving it out compiled, prechecked, migrated and
//! verified green with every name NULL; now every V1 table and column is read by a step or
//! dropped with a reason, and PLAN.md lists the reasons.

use crate::support::{cluster, compile_refused, model_variant, repo_root, TestDb};

fn fixture() -> std::path::PathBuf {
    repo_root().join("tests/it/fixtures/models/accounts")
}

fn loaded_db() -> TestDb {
    let db = cluster().create_db("accounts");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    db.load_in_schema(&fixture().join("data.sql"), "v1");
    db
}

fn run_scripts(db: &TestDb, dir: &std::path::Path) {
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        let out = db.psql_file(dir.join(script), &[]);
        assert!(
            out.status.success(),
            "{script}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `rows:md5` of a query's rows as text, in order.
fn content(db: &TestDb, query: &str) -> String {
    let sql = format!("SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') FROM ({query}) t");
    db.client()
        .query_one(&sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", crate::support::pg_error_text(&e)))
        .get(0)
}

#[test]
fn leaving_a_column_in_another_spelling_out_is_a_compile_error_not_a_column_of_nulls() {
    let src = model_variant(&fixture().join("model.yaml"), |m| {
        m.replace("    columns:\n      name: a.\"Name\"\n", "")
    });
    let (code, stderr) = compile_refused(
        src.path(),
        "model.yaml",
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    assert_eq!(code, 2, "{stderr}");
    insta::assert_snapshot!(stderr, @r#"
    model.yaml:9:3: error: `v1."Account"."Name"` is read by no step; V2's `account.name` is left to its default; map it or list it under drop:
        ╭─[model.yaml:9:3]
      8 │ tables:
      9 │   account:
        ·   ───┬───
        ·      ╰── here
     10 │     from: '"Account" a'
        ╰────
      help: add `name: 'a."Name"'` to the columns of step account, or say why it is dropped: `drop: {Account: {Name: REASON}}`
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn plan_lists_what_is_dropped_with_the_reasons() {
    let dir = crate::support::compile_ddl(
        &fixture().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    let section = plan
        .split("## Data this migration does not carry over")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    insta::assert_snapshot!(section.trim(), @r#"
    Dropped, as the model's `drop:` says (no step reads them):

    - `v1."Account".fax`, line 17: V2 has no fax; nobody has sent one since 2010
    - `v1.audit_trail` (the whole table), line 18: the audit trail stays in V1's archive; V2 starts its own
    "#);
}

#[test]
fn a_mapped_column_arrives_and_a_dropped_one_is_dropped_by_decision() {
    // The fixture maps "Name": every name arrives, byte for byte.
    let dir = crate::support::compile_ddl(
        &fixture().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    let db = loaded_db();
    run_scripts(&db, dir.path());
    let v1 = content(&db, r#"SELECT id, "Name" FROM v1."Account""#);
    assert_eq!(v1.split(':').next(), Some("3"));
    assert_eq!(content(&db, "SELECT id, name FROM public.account"), v1);

    // Dropping "Name" on purpose compiles, and the names are NULL as the model says (PLAN.md too).
    let src = model_variant(&fixture().join("model.yaml"), |m| {
        m.replace("    columns:\n      name: a.\"Name\"\n", "")
            .replace(
                "  Account:\n",
                "  Account:\n    Name: V2 shows no names; each account is known by its id\n",
            )
    });
    let dropped = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &fixture().join("v1.sql"),
        &fixture().join("v2.sql"),
    );
    let plan = std::fs::read_to_string(dropped.path().join("PLAN.md")).unwrap();
    assert!(plan.contains(r#"- `v1."Account"."Name"`, line 15: V2 shows no names; each account is known by its id"#), "{plan}");
    let db = loaded_db();
    run_scripts(&db, dropped.path());
    assert_eq!(
        content(
            &db,
            "SELECT id, name FROM public.account WHERE name IS NULL"
        ),
        content(&db, r#"SELECT id, NULL::text FROM v1."Account""#)
    );
}
