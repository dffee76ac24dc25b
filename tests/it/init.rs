//! `pgmig init`: drafts compared with the hand-written workout model, a schema drafted
//! against itself compiled and migrated 1:1 on a real PostgreSQL (pagila with its data,
//! danbooru's structure), a fixture of naming conventions and type changes migrated end to
//! end, determinism, and the CLI's exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use pgmig::init::{self, draft::Key, matching::How, Options};
use pgmig::SchemaInput;

use crate::support::{cluster, pgmig_cli, repo_root, TestDb};

fn opts(v1: SchemaInput, v2: SchemaInput, name: &str) -> Options {
    Options {
        v1,
        v2,
        source_schema: "v1".into(),
        target_schema: "public".into(),
        source_server: None,
        name: name.into(),
    }
}

fn ddl(path: impl Into<PathBuf>) -> SchemaInput {
    SchemaInput::Ddl(path.into())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn must_pass(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed:\n{}", stderr(&o));
    stderr(&o)
}

/// Writes the draft as `model.yaml` in a fresh directory and compiles it there.
fn compile_draft(
    yaml: &str,
    v1: &SchemaInput,
    v2: &SchemaInput,
) -> (
    tempfile::TempDir,
    Result<pgmig::Compiled, pgmig::CompileError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.yaml");
    std::fs::write(&model, yaml).unwrap();
    let compiled = pgmig::compile(&model, v1, v2);
    if let Ok(c) = &compiled {
        pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    }
    (dir, compiled)
}

fn compile_error_text(e: &pgmig::CompileError) -> String {
    match e {
        pgmig::CompileError::Model { diagnostics, file } => diagnostics.render(file, false),
        other => other.to_string(),
    }
}

/// precheck, migrate, verify with psql; each must pass.
fn migrate_and_verify(db: &TestDb, dir: &Path) {
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        let notices = must_pass(db.psql_file(dir.join(script), &[]), script);
        if script == "verify.sql" {
            assert!(!notices.contains("FAIL"), "{notices}");
        }
    }
}

// ---- workout: the draft next to the hand-written model --------------------------------

#[test]
fn workout_draft_finds_what_the_hand_written_model_maps() {
    let models = repo_root().join("models/workout");
    let out = init::init(&opts(
        ddl(models.join("v1.sql")),
        ddl(models.join("v2.sql")),
        "workout",
    ))
    .expect("init on workout");
    let d = &out.draft;

    // Table pairs: every V1 table is matched by its own name; the two new V2 tables are TODOs.
    let pairs: Vec<(&str, Option<&str>)> = d
        .steps
        .iter()
        .map(|s| (s.table.as_str(), s.source.as_ref().map(|(t, _)| t.as_str())))
        .collect();
    assert_eq!(
        pairs,
        [
            ("workout_plans", Some("workout_plans")),
            ("workout_weeks", None),
            ("workout_days", None),
            ("exercises", Some("exercises")),
            ("workout_sessions", Some("workout_sessions")),
            ("exercise_logs", Some("exercise_logs")),
        ]
    );
    assert!(
        d.steps
            .iter()
            .filter(|s| s.source.is_some())
            .all(|s| s.key == Key::Keep),
        "every matched step keeps its uuid key"
    );

    // The hand-written model, read with the compiler's own loader.
    let hand_text = std::fs::read_to_string(models.join("model.yaml")).unwrap();
    let hand = pgmig::model::load(&hand_text).unwrap();
    let draft = pgmig::model::load(&out.yaml).expect("the draft is a well-formed model");
    assert_eq!(
        draft.tables.len(),
        hand.tables.len(),
        "one step per V2 table, as by hand"
    );

    // Columns: the draft's expressions with its alias replaced by the hand model's.
    // `exercises e LEFT JOIN …` → e; `(SELECT …) AS p` → p.
    let alias_of = |from: &str| {
        let words: Vec<&str> = from.split_whitespace().collect();
        if from.starts_with('(') {
            words.last()
        } else {
            words.get(1)
        }
        .unwrap_or(&"")
        .to_string()
    };
    let mut agree = BTreeSet::new();
    let mut differ = BTreeMap::new();
    for s in d.steps.iter().filter(|s| s.source.is_some()) {
        let hand_step = hand
            .tables
            .iter()
            .find(|(k, _)| k.as_str() == s.table)
            .map(|(_, v)| v)
            .unwrap();
        let hand_alias = alias_of(hand_step.from.as_str());
        for c in &s.columns {
            let ours = c
                .expr
                .replace(&format!("{}.", s.alias), &format!("{hand_alias}."));
            let theirs = hand_step
                .columns
                .iter()
                .find(|(k, _)| k.as_str() == c.name)
                .map(|(_, v)| v.as_str().trim().to_string());
            let key = format!("{}.{}", s.table, c.name);
            if theirs.as_deref() == Some(ours.as_str()) {
                agree.insert(key);
            } else {
                differ.insert(key, (ours, theirs));
            }
        }
    }
    eprintln!("workout draft agrees with the hand model on: {agree:?}\ndiffers on: {differ:#?}");
    for expected in [
        "exercises.target_reps_min",
        "exercises.target_reps_max",
        "exercises.target_weight",
        "exercises.rest_seconds",
        "workout_plans.goal",
    ] {
        assert!(agree.contains(expected), "{expected}: {differ:#?}");
    }
    // Where the draft says TODO, the hand model wrote logic of its own.
    let todo_columns: BTreeSet<String> = d
        .steps
        .iter()
        .flat_map(|s| {
            s.columns
                .iter()
                .filter(|c| c.todo)
                .map(move |c| format!("{}.{}", s.table, c.name))
        })
        .collect();
    assert_eq!(
        todo_columns,
        BTreeSet::from([
            "workout_plans.total_weeks".to_string(),
            "exercises.day_id".to_string()
        ])
    );
    let total_weeks = d.steps[0]
        .columns
        .iter()
        .find(|c| c.name == "total_weeks")
        .unwrap();
    assert!(
        total_weeks
            .comment
            .as_deref()
            .unwrap()
            .contains("wp.duration_weeks"),
        "hint at the column the hand model reads: {total_weeks:?}"
    );
    for k in differ.keys() {
        assert!(
            todo_columns.contains(k),
            "only TODOs differ from the hand model, not {k}"
        );
    }
    // The V1 data the draft drops is what the hand model transforms (is_active → status…).
    let dropped: BTreeMap<&str, &Vec<String>> = d
        .dropped_columns
        .iter()
        .map(|(t, c)| (t.as_str(), c))
        .collect();
    assert_eq!(
        dropped["workout_plans"],
        &["duration_weeks", "start_date", "is_active"]
    );
    assert_eq!(dropped["exercises"], &["plan_id", "day_label"]);
    assert!(d.dropped_tables.is_empty());

    // The TODOs fail compilation, each error naming what is missing.
    let (_dir, compiled) = compile_draft(
        &out.yaml,
        &ddl(models.join("v1.sql")),
        &ddl(models.join("v2.sql")),
    );
    let text = compile_error_text(&compiled.expect_err("a draft with TODOs must not compile"));
    for needle in [
        "column `TODO: value for total_weeks` is not in any table of `from`",
        "column `TODO: value for day_id` is not in any table of `from`",
        "table `\"TODO: V1 source of workout_weeks\"` does not exist in V1",
        "unknown key strategy `TODO`",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

// ---- a fixture of naming conventions and type changes, end to end --------------------

#[test]
fn conventions_fixture_drafts_a_model_that_migrates() {
    let fx = repo_root().join("tests/it/fixtures/init");
    let (v1, v2) = (ddl(fx.join("v1.sql")), ddl(fx.join("v2.sql")));
    let out = init::init(&opts(v1.clone(), v2.clone(), "conventions")).expect("init");
    let d = &out.draft;
    let step = |t: &str| d.steps.iter().find(|s| s.table == t).unwrap();
    let expr = |t: &str, c: &str| {
        step(t)
            .columns
            .iter()
            .find(|l| l.name == c)
            .map(|l| l.expr.clone())
            .unwrap_or_else(|| panic!("{t}.{c}:\n{}", out.yaml))
    };

    assert_eq!(
        step("customers").source,
        Some(("Customer".into(), How::Normalized))
    );
    assert_eq!(
        step("order_items").source,
        Some(("OrderItem".into(), How::Normalized))
    );
    assert_eq!(
        step("customers").key,
        Key::New {
            new: "gen_random_uuid()".into(),
            by: vec!["c.\"CustomerId\"".into()]
        }
    );
    assert_eq!(step("order_items").key, Key::Keep);
    assert_eq!(expr("customers", "full_name"), "c.\"FullName\"");
    assert_eq!(
        expr("customers", "age"),
        "NULLIF(btrim(c.\"Age\"), '')::integer"
    );
    assert_eq!(
        expr("order_items", "customer_id"),
        "id(customers, oi.\"CustomerId\")"
    );
    assert_eq!(expr("order_items", "qty"), "coalesce(oi.\"Qty\", 1)");
    assert_eq!(expr("events", "payload"), "e.payload::jsonb");
    assert_eq!(
        step("order_items").skipped,
        ["total"],
        "generated columns are left to PostgreSQL"
    );
    assert_eq!(step("events").partitions, ["events_2023", "events_2024"]);
    assert!(
        d.steps.iter().all(|s| !s.table.starts_with("events_")),
        "partitions are never targets"
    );
    assert_eq!(d.dropped_tables, ["audit_trail"]);
    assert_eq!(
        d.dropped_columns,
        [("Customer".to_string(), vec!["legacy_flag".to_string()])]
    );
    assert!(d.todos.is_empty(), "{:?}", d.todos);

    // What nothing reads is written under `drop:`, each reason a TODO that fails compilation
    // at its line until answered.
    let drop_block = "drop:\n  audit_trail: 'TODO: why V2 does not need table audit_trail'\n  Customer:\n    legacy_flag: 'TODO: why V2 does not need Customer.legacy_flag'\n";
    assert!(out.yaml.ends_with(drop_block), "{}", out.yaml);
    let (_, compiled) = compile_draft(&out.yaml, &v1, &v2);
    let text = compile_error_text(&compiled.expect_err("a TODO reason must not compile"));
    assert!(text.contains("model.yaml has 2 errors"), "{text}");
    for needle in [
        "drop: the reason for dropping `v1.audit_trail` is still a TODO",
        "drop: the reason for dropping `v1.\"Customer\".legacy_flag` is still a TODO",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    let answered = out
        .yaml
        .replace(
            "'TODO: why V2 does not need table audit_trail'",
            "V2 keeps no audit trail",
        )
        .replace(
            "'TODO: why V2 does not need Customer.legacy_flag'",
            "never set since 2019",
        );
    let (dir, compiled) = compile_draft(&answered, &v1, &v2);
    if let Err(e) = &compiled {
        panic!(
            "the answered draft must compile:\n{}\n{answered}",
            compile_error_text(e)
        );
    }
    let db = cluster().create_db("init_conventions");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fx.join("v1.sql"), "v1");
    db.load_in_schema(&fx.join("v2.sql"), "public");
    db.load_in_schema(&fx.join("data.sql"), "v1");
    migrate_and_verify(&db, dir.path());
    let rows = |sql: &str| -> Vec<String> {
        db.client()
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(
        rows("SELECT full_name || ':' || coalesce(age::text, '-') || ':' || coalesce(nickname, '-') FROM public.customers ORDER BY full_name"),
        ["Ann Lee:42:annie", "Bob Roe:-:-", "Cy Ng:-:cy"]
    );
    assert_eq!(
        rows("SELECT c.full_name || ':' || o.id || ':' || o.qty || ':' || o.total FROM public.order_items o JOIN public.customers c ON c.id = o.customer_id ORDER BY o.id"),
        ["Ann Lee:1:2:19.98", "Ann Lee:2:1:5.00", "Cy Ng:3:1:100.00"]
    );
    assert_eq!(
        rows("SELECT tableoid::regclass::text FROM public.events ORDER BY id"),
        ["events_2023", "events_2024"]
    );
}

// ---- a schema drafted against itself: compiles, migrates everything 1:1 ----------------

fn realworld(name: &str) -> PathBuf {
    repo_root().join("../shared/realworld").join(name)
}

/// `file` with every `public.` made `v1.`, behind a `CREATE SCHEMA v1`.
fn into_v1(file: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let path = dir.join(file.file_name().unwrap());
    std::fs::write(
        &path,
        format!(
            "CREATE SCHEMA IF NOT EXISTS v1;\n{}",
            text.replace("public.", "v1.")
        ),
    )
    .unwrap();
    path
}

#[test]
fn pagila_against_itself_migrates_every_row() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = realworld("pagila-schema.sql");
    let v1_schema = into_v1(&schema, tmp.path());
    let v1_data = into_v1(&realworld("pagila-data.sql"), tmp.path());
    let (v1, v2) = (ddl(&v1_schema), ddl(&schema));
    let out = init::init(&opts(v1.clone(), v2.clone(), "pagila")).expect("init pagila");
    let d = &out.draft;
    assert!(d.todos.is_empty(), "{:?}", d.todos);
    assert!(
        d.dropped_tables.is_empty() && d.dropped_columns.is_empty(),
        "nothing dropped: {:?} {:?}",
        d.dropped_tables,
        d.dropped_columns
    );
    assert!(d.steps.iter().all(|s| s
        .source
        .as_ref()
        .is_some_and(|(t, h)| t == &s.table && *h == How::Same)
        && s.key == Key::Keep));
    assert!(
        d.steps.iter().all(|s| !s.table.starts_with("payment_p")),
        "payment's partitions are not targets"
    );
    // The enum lives in each schema: V1's is cast through text; nothing else is listed.
    let listed: Vec<String> = d
        .steps
        .iter()
        .flat_map(|s| {
            s.columns
                .iter()
                .map(move |c| format!("{}.{}: {}", s.table, c.name, c.expr))
        })
        .collect();
    assert_eq!(listed, ["film.rating: f.rating::text::public.mpaa_rating"]);

    let (dir, compiled) = compile_draft(&out.yaml, &v1, &v2);
    match &compiled {
        Ok(c) => assert_eq!(
            c.plan
                .as_ref()
                .expect("a drafted model has steps")
                .steps
                .len(),
            d.steps.len()
        ),
        Err(e) => panic!("the pagila draft must compile:\n{}", compile_error_text(e)),
    }

    let db = cluster().create_db("init_pagila");
    must_pass(
        db.psql_cmd()
            .arg("-q")
            .arg("-f")
            .arg(&schema)
            .output()
            .unwrap(),
        "load V2",
    );
    must_pass(
        db.psql_cmd()
            .arg("-q")
            .arg("-f")
            .arg(&v1_schema)
            .output()
            .unwrap(),
        "load V1",
    );
    must_pass(
        db.psql_cmd()
            .arg("-q")
            .arg("-f")
            .arg(&v1_data)
            .output()
            .unwrap(),
        "load V1 data",
    );
    // Passes because the draft lists payment after customer, rental and staff: pagila
    // declares payment's foreign keys on its partitions only, and the compiler's load order
    // reads the parent's foreign keys alone (it keeps model order where it sees no
    // dependency). With payment listed first, migrate fails on payment_p2022_01_customer_id_fkey.
    migrate_and_verify(&db, dir.path());
    let (a, b) = (db.table_md5s(&["v1"]), db.table_md5s(&["public"]));
    assert_eq!(a.len(), b.len());
    for (table, md5) in &b {
        let v1_table = table.replacen("public.", "v1.", 1);
        assert!(
            !md5.starts_with("0:") || a[&v1_table].starts_with("0:"),
            "{table} is empty"
        );
        assert_eq!(Some(md5), a.get(&v1_table), "{table} equals {v1_table}");
    }
}

#[test]
fn danbooru_structure_against_itself_compiles_and_verifies() {
    let schema = realworld("danbooru-structure.sql");
    let db = cluster().create_db("init_danbooru");
    must_pass(
        db.psql_cmd()
            .arg("-q")
            .arg("-f")
            .arg(&schema)
            .output()
            .unwrap(),
        "load V2",
    );
    // V1: a structural copy of every table in schema v1 (no data, as in the dump).
    db.execute(
        "CREATE SCHEMA v1;
         DO $$ DECLARE t record; BEGIN
           FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition LOOP
             EXECUTE format('CREATE TABLE v1.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING GENERATED INCLUDING IDENTITY)', t.relname, t.relname);
           END LOOP; END $$;",
    );
    let live = SchemaInput::Database(db.url());
    let out = init::init(&opts(live.clone(), ddl(&schema), "danbooru")).expect("init danbooru");
    let d = &out.draft;
    assert!(d.steps.len() > 50, "{} steps", d.steps.len());
    assert!(d
        .steps
        .iter()
        .all(|s| s.source.as_ref().is_some_and(|(t, _)| t == &s.table)));
    // Tables without a primary key can't be migrated by pgmig: their key is a TODO.
    let no_pk: Vec<&str> = d
        .steps
        .iter()
        .filter(|s| matches!(s.key, Key::Todo(_)))
        .map(|s| s.table.as_str())
        .collect();
    assert_eq!(d.todos.len(), no_pk.len(), "{:?}", d.todos);
    assert!(
        d.todos.iter().all(|t| t.contains("has no primary key")),
        "{:?}",
        d.todos
    );
    // The answer a reviewer would give: delete those steps (their tables stay empty).
    let mut yaml = out.yaml.clone();
    for t in &no_pk {
        let start = yaml.find(&format!("\n  {t}:\n")).unwrap() + 1;
        let end = yaml[start..]
            .find("\n\n")
            .map_or(yaml.len(), |e| start + e + 1);
        yaml.replace_range(start..end, "");
    }
    // …and say so under `drop:`, where every V1 table nobody reads is accounted for.
    assert!(
        !yaml.contains("\ndrop:\n"),
        "a schema drafted against itself drops nothing else"
    );
    yaml.push_str("\ndrop:\n");
    for t in &no_pk {
        yaml.push_str(&format!("  {t}: no primary key, so pgmig can't record the rows it migrates; V2's table stays empty\n"));
    }
    eprintln!(
        "danbooru: {} steps drafted, {} without a primary key left out: {no_pk:?}",
        d.steps.len(),
        no_pk.len()
    );
    let (dir, compiled) = compile_draft(&yaml, &live, &ddl(&schema));
    if let Err(e) = &compiled {
        panic!(
            "the danbooru draft must compile:\n{}",
            compile_error_text(e)
        );
    }
    migrate_and_verify(&db, dir.path());
}

/// The smallest reproduction of the danbooru failure: a self-referencing foreign key.
#[test]
fn self_reference_precheck() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("v1.sql"), dir.path().join("v2.sql"));
    let ddl_text =
        "CREATE TABLE node (id integer PRIMARY KEY, parent_id integer REFERENCES node (id));\n";
    std::fs::write(&a, ddl_text).unwrap();
    std::fs::write(&b, ddl_text).unwrap();
    let out = init::init(&opts(ddl(&a), ddl(&b), "node")).unwrap();
    let (scripts, compiled) = compile_draft(&out.yaml, &ddl(&a), &ddl(&b));
    compiled.unwrap_or_else(|e| panic!("{}", compile_error_text(&e)));
    let db = cluster().create_db("init_self_ref");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&a, "v1");
    db.load_in_schema(&b, "public");
    db.execute("INSERT INTO v1.node VALUES (1, NULL), (2, 1)");
    migrate_and_verify(&db, scripts.path());
    assert_eq!(
        db.table_md5s(&["public"])["public.node"],
        db.table_md5s(&["v1"])["v1.node"]
    );
}

// ---- determinism and the command line -------------------------------------------------

#[test]
fn init_twice_gives_the_same_bytes() {
    let models = repo_root().join("models/workout");
    let fx = repo_root().join("tests/it/fixtures/init");
    for (v1, v2) in [
        (models.join("v1.sql"), models.join("v2.sql")),
        (fx.join("v1.sql"), fx.join("v2.sql")),
    ] {
        let a = init::init(&opts(ddl(&v1), ddl(&v2), "x")).unwrap().yaml;
        let b = init::init(&opts(ddl(&v1), ddl(&v2), "x")).unwrap().yaml;
        assert!(a == b, "{}: same schemas, same bytes", v1.display());
    }
    // Through the CLI, into a file: same bytes again, and the model named after its directory.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("workout");
    std::fs::create_dir(&target).unwrap();
    let file = target.join("model.yaml");
    let args = |f: &Path| {
        vec![
            "init".to_string(),
            "--v1".into(),
            models.join("v1.sql").display().to_string(),
            "--v2".into(),
            models.join("v2.sql").display().to_string(),
            "-o".into(),
            f.display().to_string(),
        ]
    };
    let run = |f: &Path| {
        let a = args(f);
        let out = pgmig_cli(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        out
    };
    let first = run(&file);
    let bytes = std::fs::read(&file).unwrap();
    run(&file);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\nname: workout\n"), "{text}");
    assert!(
        stderr(&first).contains("TODO  table public.workout_weeks: no V1 table matches"),
        "{}",
        stderr(&first)
    );
}

#[test]
fn nothing_in_common_and_unreachable_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.sql"), dir.path().join("b.sql"));
    std::fs::write(
        &a,
        "CREATE TABLE invoices (id integer PRIMARY KEY, total numeric);\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "CREATE TABLE athletes (id uuid PRIMARY KEY, name text);\n",
    )
    .unwrap();
    let out_file = dir.path().join("model.yaml");
    let out = pgmig_cli(&[
        "init",
        "--v1",
        &a.display().to_string(),
        "--v2",
        &b.display().to_string(),
        "-o",
        &out_file.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("have no table in common"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("invoices") && stderr(&out).contains("athletes"),
        "{}",
        stderr(&out)
    );
    assert!(!out_file.exists(), "no empty file");

    let nowhere = "host=/nonexistent/socket port=1 dbname=x user=nobody connect_timeout=2";
    let out = pgmig_cli(&["init", "--v1", &a.display().to_string(), "--v2", nowhere]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("V2:"),
        "names the side: {}",
        stderr(&out)
    );
    let out = pgmig_cli(&["init", "--v1", nowhere, "--v2", &b.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("V1:"),
        "names the side: {}",
        stderr(&out)
    );
}

/// Statements about tables the DDL reader could not take in are not dropped: compile and
/// init say how many per file, list the first three with file:line, all with
/// --show-all-warnings. (Before, the reader's warnings never left the library.)
#[test]
fn reader_warnings_are_counted_and_located_by_compile_and_init() {
    let root = repo_root();
    let school = root.join("models/school");
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(school.join("v1.sql")).unwrap();
    let first = base.lines().count() + 2;
    let mut v1 = base.clone() + "\n";
    for i in 0..5 {
        v1 +=
            &format!("ALTER TABLE ONLY gone_{i} ADD CONSTRAINT gone_{i}_pkey PRIMARY KEY (id);\n");
    }
    let v1_path = dir.path().join("v1.sql");
    std::fs::write(&v1_path, v1).unwrap();
    let v1_arg = v1_path.to_str().unwrap();
    let v2_arg = school.join("v2.sql");
    let v2_arg = v2_arg.to_str().unwrap();
    let model = school.join("model.yaml");
    let out = dir.path().join("out");
    let compile = |extra: &[&str]| {
        let args = [
            &[
                "compile",
                model.to_str().unwrap(),
                "--v1",
                v1_arg,
                "--v2",
                v2_arg,
                "--out",
                out.to_str().unwrap(),
            ],
            extra,
        ]
        .concat();
        must_pass(pgmig_cli(&args), "compile")
    };
    let located = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("  {v1_arg}:")))
            .map(String::from)
            .collect::<Vec<_>>()
    };

    let shown = compile(&[]);
    assert!(
        shown.contains(&format!("warning: 5 statements of {v1_arg} were not understood (first 3 below; --show-all-warnings for all)\n")),
        "{shown}"
    );
    let lines = located(&shown);
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with(&format!(
            "  {v1_arg}:{first}: statement about an unknown table"
        )),
        "{shown}"
    );
    assert!(
        lines[2].contains(&format!(":{}: ", first + 2)) && lines[2].contains("gone_2"),
        "{shown}"
    );
    assert!(
        !shown.contains(&format!("of {v2_arg}")),
        "V2 read cleanly: {shown}"
    );

    let all = compile(&["--show-all-warnings"]);
    assert!(
        all.contains(&format!(
            "warning: 5 statements of {v1_arg} were not understood:\n"
        )),
        "{all}"
    );
    assert_eq!(located(&all).len(), 5, "{all}");
    assert!(
        located(&all)[4].contains(&format!(":{}: ", first + 4)),
        "{all}"
    );

    let draft = dir.path().join("draft.yaml");
    let init = |extra: &[&str]| {
        let args = [
            &[
                "init",
                "--v1",
                v1_arg,
                "--v2",
                v2_arg,
                "-o",
                draft.to_str().unwrap(),
            ],
            extra,
        ]
        .concat();
        must_pass(pgmig_cli(&args), "init")
    };
    let drafted = init(&[]);
    assert!(
        drafted.contains(&format!(
            "warning: 5 statements of {v1_arg} were not understood (first 3 below"
        )),
        "{drafted}"
    );
    assert_eq!(located(&drafted).len(), 3, "{drafted}");
    assert_eq!(located(&init(&["--show-all-warnings"])).len(), 5);
}
