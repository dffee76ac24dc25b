//! Issue 14, items 3 and 4, on real PostgreSQL: the compiler's "can a value of type A be
//! assigned to a column of type B" equals PostgreSQL's for built-in types with modifiers and
//! arrays of them; a Rails 6+ V2 (`timestamp(6) without time zone`) is drafted and compiled
//! without complaint; conversions that depend on a time zone need the model's `timezone:`,
//! and the scripts give the same bytes under any server TimeZone.

use std::path::{Path, PathBuf};

use pgmig::check::types::assignable;
use pgmig::SchemaInput;

use crate::support::{cluster, repo_root, TestDb};

/// Built-in types, spelled as they are written in DDL: each with and without a modifier.
/// PostgreSQL's own `format_type()` spelling of each is what the compiler sees.
const TYPES: &[&str] = &[
    "\"char\"",
    "bigint",
    "bit",
    "bit(3)",
    "bit varying",
    "bit varying(5)",
    "boolean",
    "bytea",
    "character",
    "character(4)",
    "character varying",
    "character varying(10)",
    "cidr",
    "date",
    "double precision",
    "inet",
    "integer",
    "interval",
    "interval second(3)",
    "interval day to second(3)",
    "interval year",
    "json",
    "jsonb",
    "money",
    "name",
    "numeric",
    "numeric(10,2)",
    "oid",
    "real",
    "smallint",
    "text",
    "time without time zone",
    "time(3) without time zone",
    "time with time zone",
    "time(3) with time zone",
    "timestamp without time zone",
    "timestamp(6) without time zone",
    "timestamp(0) without time zone",
    "timestamp with time zone",
    "timestamp(0) with time zone",
    "uuid",
];

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/it/fixtures/models").join(name)
}

/// PostgreSQL's verdict on every (source, target) pair of `types`: whether
/// `INSERT INTO t (c) SELECT NULL::<source>` is accepted for a column `c` of the target type.
/// Returns the types in format_type() spelling and the verdicts, row-major.
fn postgres_verdicts(db: &TestDb, types: &[String]) -> (Vec<String>, Vec<bool>) {
    let mut client = db.client();
    let columns: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("c{i} {t}"))
        .collect();
    client
        .batch_execute(&format!("CREATE TABLE matrix ({})", columns.join(", ")))
        .unwrap();
    let spelled: Vec<String> = client
        .query(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
              WHERE attrelid = 'public.matrix'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    client
        .batch_execute("CREATE TEMP TABLE verdict (s integer, t integer, ok boolean)")
        .unwrap();
    client
        .execute("CREATE TEMP TABLE spelled AS SELECT i::integer - 1 AS i, name FROM unnest($1::text[]) WITH ORDINALITY AS u(name, i)", &[&spelled])
        .unwrap();
    // Only "column is of type … but expression is of type …" (datatype_mismatch) is a "no";
    // any other error fails the test.
    client
        .batch_execute(
            "DO $matrix$
             DECLARE s record; t record;
             BEGIN
               FOR s IN SELECT * FROM pg_temp.spelled ORDER BY i LOOP
                 FOR t IN SELECT * FROM pg_temp.spelled ORDER BY i LOOP
                   BEGIN
                     EXECUTE format('INSERT INTO public.matrix (%I) SELECT NULL::%s', 'c' || t.i, s.name);
                     INSERT INTO pg_temp.verdict VALUES (s.i, t.i, true);
                   EXCEPTION WHEN datatype_mismatch THEN
                     INSERT INTO pg_temp.verdict VALUES (s.i, t.i, false);
                   END;
                 END LOOP;
               END LOOP;
             END
             $matrix$",
        )
        .unwrap_or_else(|e| panic!("the matrix: {}", crate::support::pg_error_text(&e)));
    let verdicts = client
        .query("SELECT ok FROM pg_temp.verdict ORDER BY s, t", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (spelled, verdicts)
}

#[test]
fn assignment_verdicts_equal_postgres_for_modifiers_and_arrays() {
    let db = cluster().create_db("assignment_matrix");
    let mut types: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
    types.extend(TYPES.iter().map(|t| format!("{t}[]")));
    let (spelled, verdicts) = postgres_verdicts(&db, &types);
    assert_eq!(verdicts.len(), spelled.len() * spelled.len());
    // The DDL reader spells each type as format_type() does.
    for (written, spelled) in types.iter().zip(&spelled) {
        assert_eq!(
            &pgmig::catalog::normalize_type(written, "public"),
            spelled,
            "the DDL reader's spelling of {written}"
        );
    }
    let mut disagreements = Vec::new();
    for (i, source) in spelled.iter().enumerate() {
        for (j, target) in spelled.iter().enumerate() {
            let postgres = verdicts[i * spelled.len() + j];
            if assignable(source, target) != postgres {
                disagreements.push(format!(
                    "{source} → {target}: PostgreSQL {}",
                    if postgres { "assigns it" } else { "refuses it" }
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} pairs disagree:\n{}",
        disagreements.len(),
        verdicts.len(),
        disagreements.join("\n")
    );
}

fn compile(dir: &Path) -> Result<pgmig::Compiled, String> {
    pgmig::compile(
        &dir.join("model.yaml"),
        &SchemaInput::Ddl(dir.join("v1.sql")),
        &SchemaInput::Ddl(dir.join("v2.sql")),
    )
    .map_err(|e| match e {
        pgmig::CompileError::Model { diagnostics, file } => diagnostics.render(&file, false),
        other => other.to_string(),
    })
}

/// V1 (DDL + data) in schema v1, V2's empty tables in public.
fn fixture_db(name: &str, db_name: &str) -> TestDb {
    let db = cluster().create_db(db_name);
    db.execute("CREATE SCHEMA v1");
    let dir = fixture(name);
    db.load_in_schema(&dir.join("v1.sql"), "v1");
    db.load_in_schema(&dir.join("v2.sql"), "public");
    db.load_in_schema(&dir.join("data.sql"), "v1");
    db
}

fn run_scripts(db: &TestDb, dir: &Path, scripts: &[&str]) -> Vec<String> {
    scripts
        .iter()
        .map(|script| {
            let out = db.psql_file(dir.join(script), &[]);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.success(),
                "{script} in {} failed:\n{stderr}",
                db.name()
            );
            assert!(!stderr.contains("FAIL"), "{script}: {stderr}");
            String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
        })
        .collect()
}

#[test]
fn rails_timestamps_are_drafted_without_todo_and_now_is_assigned() {
    let dir = fixture("rails_timestamps");
    let (v1, v2) = (
        SchemaInput::Ddl(dir.join("v1.sql")),
        SchemaInput::Ddl(dir.join("v2.sql")),
    );
    let options = pgmig::init::Options {
        v1,
        v2,
        source_schema: "v1".into(),
        target_schema: "public".into(),
        source_server: None,
        name: "rails".into(),
    };
    let out = pgmig::init::init(&options).expect("init on the Rails pair");
    assert!(
        out.draft.todos.is_empty(),
        "{:?}\n{}",
        out.draft.todos,
        out.yaml
    );
    // Past the header (which explains what a TODO is), none: timestamp → timestamp(6) is copied.
    let body = out.yaml.split_once("\ntables:").map_or("", |(_, b)| b);
    assert!(!body.contains("TODO"), "{}", out.yaml);
    assert!(
        body.contains("copied by name: id, email, created_at, updated_at"),
        "{}",
        out.yaml
    );

    let compiled = compile(&dir).unwrap_or_else(|e| {
        panic!("now() and timestamp columns into timestamp(6) must compile:\n{e}")
    });
    let scripts = tempfile::tempdir().unwrap();
    pgmig::compile::write(&compiled.scripts, scripts.path()).unwrap();
    let db = fixture_db("rails_timestamps", "rails_timestamps");
    run_scripts(
        &db,
        scripts.path(),
        &["precheck.sql", "migrate.sql", "verify.sql"],
    );
    let kept: i64 = db
        .client()
        .query_one("SELECT count(*) FROM public.users u JOIN v1.users o USING (id) WHERE u.created_at = o.created_at AND u.updated_at = o.updated_at", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 2, "timestamp → timestamp(6) keeps every microsecond");
}

/// Every table of schema public, as `table: rows: md5`, read at a fixed session time zone (a
/// timestamptz prints in the session's zone; the stored instants are what is compared).
fn public_md5s(db: &TestDb) -> Vec<String> {
    let mut client = db.client();
    client.batch_execute("SET TIME ZONE 'UTC'").unwrap();
    let tables: Vec<String> = client
        .query("SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .iter()
        .map(|t| {
            // `t` comes from format('%I.%I') above: quoted where needed.
            let q = format!("SELECT count(*)::text || ': ' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '-') FROM {t} r");
            let v: String = client.query_one(&q, &[]).unwrap().get(0);
            format!("{t}: {v}")
        })
        .collect()
}

fn compiled_time_zones(edit: impl Fn(&str) -> String) -> Result<tempfile::TempDir, String> {
    let fixture = fixture("time_zones");
    let model = std::fs::read_to_string(fixture.join("model.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for f in ["v1.sql", "v2.sql"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join("model.yaml"), edit(&model)).unwrap();
    let compiled = compile(dir.path())?;
    pgmig::compile::write(&compiled.scripts, dir.path()).unwrap();
    Ok(dir)
}

#[test]
fn time_zone_conversions_give_the_same_rows_under_any_server_time_zone() {
    let scripts = compiled_time_zones(|m| m.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut results = Vec::new();
    for zone in ["UTC", "America/New_York"] {
        let db = fixture_db(
            "time_zones",
            &format!("time_zones_{}", zone.replace('/', "_")),
        );
        // The database's TimeZone is what every new session (psql's included) starts with.
        db.execute(&format!(
            "ALTER DATABASE {} SET timezone = '{zone}'",
            db.name()
        ));
        let session: String = db.client().query_one("SHOW TimeZone", &[]).unwrap().get(0);
        assert_eq!(session, zone);
        let outputs = run_scripts(
            &db,
            scripts.path(),
            &["precheck.sql", "migrate.sql", "verify.sql"],
        );
        let rows = public_md5s(&db);
        let mut client = db.client();
        client.batch_execute("SET TIME ZONE 'UTC'").unwrap();
        let values: Vec<String> = client
            .query("SELECT format('%s %s %s %s %s', id, starts_at, logged_on, due_at, local_start) FROM public.events ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        results.push((zone, outputs, rows, values));
    }
    let (utc, new_york) = (&results[0], &results[1]);
    // V1's naive timestamps are UTC (the model says so), whatever the server's zone.
    assert_eq!(
        utc.3,
        [
            "1 2024-03-10 01:30:00+00 2024-03-10 2024-03-10 00:00:00+00 2024-03-10 01:30:00",
            "2 2024-11-03 23:00:00+00 2024-11-04 2024-11-03 00:00:00+00 2024-11-03 23:00:00",
            "3 2024-07-01 12:00:00+00 2024-07-01 2024-07-01 00:00:00+00 2024-07-01 12:00:00",
        ]
    );
    assert_eq!(
        utc.3, new_york.3,
        "the rows migrated under America/New_York"
    );
    assert_eq!(utc.2, new_york.2, "md5 of V2's tables");
    // The scripts' reports are the same bytes.
    for (i, script) in ["precheck.sql", "migrate.sql", "verify.sql"]
        .iter()
        .enumerate()
    {
        assert_eq!(utc.1[i], new_york.1[i], "{script}'s output");
    }
}

#[test]
fn a_zone_dependent_conversion_needs_the_model_time_zone() {
    let drop_zone = |m: &str| m.replacen("timezone: UTC\n", "", 1);
    let without = compiled_time_zones(drop_zone)
        .map(|_| ())
        .expect_err("no timezone: must not compile");
    for what in [
        "assigning timestamp without time zone to `events.starts_at`",
        "the cast timestamp with time zone → date",
        "assigning date to `events.due_at`",
        "the cast timestamp without time zone → timestamp with time zone",
    ] {
        assert!(without.contains(what), "{what}:\n{without}");
    }
    assert!(
        without.contains("depends on the time zone, and the model names none"),
        "{without}"
    );
    assert!(without.contains("add `timezone: UTC`"), "{without}");
    // Each error points at the model line: the cast on `logged_on`'s line.
    let model =
        drop_zone(&std::fs::read_to_string(fixture("time_zones").join("model.yaml")).unwrap());
    let line = model
        .lines()
        .position(|l| l.contains("logged_on:"))
        .unwrap()
        + 1;
    assert!(
        without.contains(&format!("model.yaml:{}:", line)),
        "line {line}:\n{without}"
    );

    // A timestamptz read at the session's zone: its day, its hour, its text.
    let read_at_zone = |m: &str| {
        drop_zone(m).replacen("logged_on: e.logged_at::date", "logged_on: (date_trunc('day', e.logged_at) + extract(hour from e.logged_at) * interval '1 hour')::date", 1)
    };
    let functions = compiled_time_zones(read_at_zone)
        .map(|_| ())
        .expect_err("date_trunc and extract of a timestamptz read the zone");
    assert!(
        functions.contains("date_trunc() of a timestamp with time zone depends on the time zone"),
        "{functions}"
    );
    assert!(
        functions.contains(
            "EXTRACT(HOUR FROM …) of a timestamp with time zone depends on the time zone"
        ),
        "{functions}"
    );
    // With the zone explicit, date_trunc reads none (the other steps' conversions still do).
    let explicit = |m: &str| {
        drop_zone(m).replacen(
            "logged_on: e.logged_at::date",
            "logged_on: date_trunc('day', e.logged_at, 'UTC')::date",
            1,
        )
    };
    let errors = compiled_time_zones(explicit)
        .map(|_| ())
        .expect_err("the other conversions need the zone");
    assert!(
        errors.contains("assigning date to `events.due_at`") && !errors.contains("date_trunc() of"),
        "{errors}"
    );

    // Not a zone name: refused at compile time, never written into a script.
    let hostile = compiled_time_zones(|m| {
        m.replacen(
            "timezone: UTC",
            "timezone: \"UTC'; DROP TABLE v1.events; --\"",
            1,
        )
    })
    .map(|_| ())
    .expect_err("a hostile zone must not compile");
    assert!(hostile.contains("is not a time zone name"), "{hostile}");

    // A name that looks like a zone but the server doesn't know: the scripts stop at once.
    let scripts =
        compiled_time_zones(|m| m.replacen("timezone: UTC", "timezone: Mars/Olympus_Mons", 1))
            .unwrap_or_else(|e| panic!("{e}"));
    let db = fixture_db("time_zones", "time_zones_unknown");
    for script in ["precheck.sql", "migrate.sql"] {
        let out = db.psql_file(scripts.path().join(script), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{script} ran under an unknown zone");
        assert!(
            stderr.contains("invalid value for parameter \"TimeZone\": \"Mars/Olympus_Mons\""),
            "{script}: {stderr}"
        );
    }
    assert_eq!(
        db.client()
            .query_one("SELECT count(*) FROM public.events", &[])
            .unwrap()
            .get::<_, i64>(0),
        0
    );
}

#[test]
fn in_place_timestamps_keep_their_modifiers_and_the_model_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = "CREATE TABLE t (id bigint PRIMARY KEY, at timestamp, day date, stamp timestamp);\n";
    let v2 = "CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz, day timestamptz, stamp timestamp(6) without time zone);\n";
    std::fs::write(dir.path().join("v1.sql"), v1).unwrap();
    std::fs::write(dir.path().join("v2.sql"), v2).unwrap();
    let model = "name: stamps\nin_place: true\n";
    std::fs::write(dir.path().join("model.yaml"), model).unwrap();
    let err = compile(dir.path())
        .map(|_| ())
        .expect_err("timestamp → timestamptz in place needs timezone:");
    assert!(
        err.contains(
            "t.at: timestamp without time zone → timestamp with time zone depends on the time zone"
        ),
        "{err}"
    );
    assert!(
        err.contains("t.day: date → timestamp with time zone depends on the time zone"),
        "{err}"
    );
    // timestamp → timestamp(6) is PostgreSQL's own assignment: no `using` asked for.
    assert!(!err.contains("t.stamp"), "{err}");

    std::fs::write(
        dir.path().join("model.yaml"),
        format!("{model}timezone: UTC\n"),
    )
    .unwrap();
    let compiled = compile(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    pgmig::compile::write(&compiled.scripts, dir.path()).unwrap();
    let db = cluster().create_db("in_place_time_zone");
    db.execute(&format!(
        "ALTER DATABASE {} SET timezone = 'America/New_York'",
        db.name()
    ));
    db.load_in_schema(&dir.path().join("v1.sql"), "public");
    db.execute("INSERT INTO public.t VALUES (1, '2024-11-03 23:00:00', '2024-11-03', '2024-01-01 10:00:00.123456')");
    run_scripts(
        &db,
        dir.path(),
        &["precheck.sql", "migrate.sql", "verify.sql"],
    );
    let mut client = db.client();
    client.batch_execute("SET TIME ZONE 'UTC'").unwrap();
    let row: String = client
        .query_one(
            "SELECT format('%s %s %s', at, day, stamp) FROM public.t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        row,
        "2024-11-03 23:00:00+00 2024-11-03 00:00:00+00 2024-01-01 10:00:00.123456"
    );
}

#[test]
fn init_states_the_time_zone_its_draft_converts_at() {
    let dir = fixture("time_zones");
    let (v1, v2) = (
        SchemaInput::Ddl(dir.join("v1.sql")),
        SchemaInput::Ddl(dir.join("v2.sql")),
    );
    let options = pgmig::init::Options {
        v1: v1.clone(),
        v2: v2.clone(),
        source_schema: "v1".into(),
        target_schema: "public".into(),
        source_server: None,
        name: "zones".into(),
    };
    let out = pgmig::init::init(&options).expect("init on the time zone pair");
    assert_eq!(
        out.draft.zone_dependent,
        ["events.due_at", "events.logged_on", "events.starts_at"],
        "{}",
        out.yaml
    );
    assert!(
        out.yaml.contains(
            "# converted at it: events.due_at, events.logged_on, events.starts_at\ntimezone: UTC\n"
        ),
        "{}",
        out.yaml
    );
    // Answered (local_start has no V1 column), the draft compiles: its zone is the one asked for.
    let todo = "'\"TODO: value for local_start\"'";
    assert!(out.yaml.contains(todo), "{}", out.yaml);
    let drafted = tempfile::tempdir().unwrap();
    std::fs::write(
        drafted.path().join("model.yaml"),
        out.yaml.replacen(todo, "e.starts_at", 1),
    )
    .unwrap();
    pgmig::compile(&drafted.path().join("model.yaml"), &v1, &v2)
        .unwrap_or_else(|e| panic!("{e:?}\n{}", out.yaml));
}
