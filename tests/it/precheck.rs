//! Precheck predicts every failure: one V1 row planted per kind of V2 constraint, each found
//! (count and sample key) before anything is written, and migrate fails on none of the rest.

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, repo_root};

#[test]
fn precheck_finds_one_planted_violation_of_each_kind() {
    let models = repo_root().join("tests/it/fixtures/models/violations");
    let dir = crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    );

    let db = cluster().create_db("precheck_kinds");
    db.execute("CREATE SCHEMA v1");
    for (file, schema) in [("v1.sql", "v1"), ("v2.sql", "public")] {
        let out = db
            .psql_cmd()
            .env("PGOPTIONS", format!("-c search_path={schema}"))
            .args(["-q", "-f"])
            .arg(models.join(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    db.execute(
        "INSERT INTO public.accounts VALUES (999, 'taken@example.org', 'old', 'DE', 40, 'pro', 0)",
    );
    let before = db.table_md5s(&["v1", "public"]);

    let out = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(
        !out.status.success(),
        "blocking findings make precheck fail"
    );
    let notices = stderr(&out);
    let expected = [
        ("email NOT NULL: 1 rows", "{\"id\": 101}"),
        (
            "UNIQUE accounts_email_key: duplicates among the migrated rows: 1 key values",
            "(user1@example.org)",
        ),
        (
            "UNIQUE accounts_email_key: the value is already in V2: 1 rows",
            "{\"id\": 103}",
        ),
        (
            "FOREIGN KEY accounts_country_fkey: no parent row: 1 rows",
            "{\"id\": 104}",
        ),
        ("CHECK accounts_balance_check: 1 rows", "{\"id\": 105}"),
        ("nickname longer than 8 characters: 1 rows", "{\"id\": 106}"),
        (
            "plan: `a.plan` does not convert to public.plan: 1 rows",
            "{\"id\": 107}",
        ),
        (
            "age: `a.age` does not convert to integer: 1 rows",
            "{\"id\": 108}",
        ),
    ];
    for (finding, sample) in expected {
        let line = notices
            .lines()
            .find(|l| l.contains(finding))
            .unwrap_or_else(|| panic!("missing {finding:?} in:\n{notices}"));
        assert!(
            line.contains("BLOCKING  accounts: ") && line.contains(sample),
            "{line}"
        );
    }
    assert_eq!(
        notices.matches("BLOCKING").count(),
        expected.len(),
        "nothing else is found:\n{notices}"
    );
    assert!(
        notices.contains(&format!("precheck: {} blocking finding(s)", expected.len())),
        "{notices}"
    );
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "precheck writes nothing"
    );

    // Without the planted rows precheck passes, and migrate fails on none of the rows it passed.
    db.execute("DELETE FROM v1.accounts WHERE id BETWEEN 101 AND 108");
    must_pass(
        run(&db, dir.path(), "precheck.sql", &[]),
        "precheck on clean rows",
    );
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
}

/// A trigger on a table migrate writes, whose function a superuser owns (the guard lets it
/// run): precheck names it, and says that what it does beyond the row is neither verified nor
/// undone. (Before 2026-12-07 nothing mentioned it: a welcome-mail queue filled by migrate
/// stayed full after rollback.)
#[test]
fn precheck_names_each_trigger_that_fires_as_migrate_writes() {
    let db = crate::support::workout::workout_db("precheck_triggers");
    let dir = crate::support::workout::compiled();
    db.execute(
        "CREATE TABLE public.plan_events (plan_id uuid);
         CREATE FUNCTION public.note_plan() RETURNS trigger LANGUAGE plpgsql AS $f$
         BEGIN INSERT INTO public.plan_events VALUES (NEW.id); RETURN NEW; END $f$;
         CREATE TRIGGER note_plan AFTER INSERT ON public.workout_plans FOR EACH ROW EXECUTE FUNCTION public.note_plan();
         CREATE TRIGGER switched_off AFTER INSERT ON public.workout_plans FOR EACH ROW EXECUTE FUNCTION public.note_plan();
         ALTER TABLE public.workout_plans DISABLE TRIGGER switched_off;",
    );
    let notices = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    let listed: Vec<&str> = notices
        .lines()
        .filter(|l| l.contains("TRIGGER  "))
        .collect();
    assert_eq!(listed.len(), 1, "the enabled trigger only:\n{notices}");
    assert!(
        listed[0].contains("TRIGGER  public.workout_plans: CREATE TRIGGER note_plan AFTER INSERT ON public.workout_plans FOR EACH ROW EXECUTE FUNCTION public.note_plan() (function owned by postgres) fires as migrate writes and as rollback deletes; what it does beyond the row is neither verified nor undone"),
        "{notices}"
    );
}
