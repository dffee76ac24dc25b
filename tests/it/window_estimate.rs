//! PLAN.md's window estimate (issue 17, item 5): what can be checked without timing anything.
//! Present per script and step against a live V1, absent with its reason from DDL; compile
//! against the live V1 changes nothing there and reads none of its rows; bcrypt is timed once
//! per compile; and for a given calibration PLAN.md's bytes are fixed (snapshot). How close
//! the estimate comes to a real run is measured by `pgmig-bench --estimate`, never asserted
//! here: a test's timing depends on the machine's load.

use std::collections::BTreeMap;

use pgmig::catalog::QualName;
use pgmig::estimate::{Measurements, BCRYPT_SAMPLE};
use pgmig::plan::{Plan, TableSize};

use crate::support::{cluster, repo_root, TestDb};

/// `models/<model>` with its sample at `scale` in schema v1, V2 empty in public, pgcrypto
/// installed (as after a first migrate: compile can time bcrypt), analyzed.
fn sample_db(model: &str, scale: i64) -> TestDb {
    let db = cluster().create_db(&format!("window_{model}_{scale}"));
    let dir = repo_root().join("models").join(model);
    db.execute("CREATE SCHEMA v1; CREATE EXTENSION pgcrypto");
    db.load_in_schema(&dir.join("v1.sql"), "v1");
    db.load_in_schema(&dir.join("v2.sql"), "public");
    db.load_sample(&dir.join("sample.sql"), scale, "v1");
    db.execute("ANALYZE");
    db
}

/// The model compiled against the live database (V1 and V2 in it).
fn compiled_live(db: &TestDb, model: &str) -> pgmig::compile::Compiled {
    let live = pgmig::SchemaInput::Database(db.url());
    let path = repo_root().join("models").join(model).join("model.yaml");
    pgmig::compile(&path, &live, &live)
        .unwrap_or_else(|e| panic!("compile {model} against the live V1: {e:?}"))
}

fn plan_md(scripts: &pgmig::emit::Scripts) -> String {
    scripts
        .files
        .iter()
        .find(|(n, _)| *n == "PLAN.md")
        .map(|(_, t)| t.clone())
        .expect("a PLAN.md")
}

/// The window table's cells after `#` and the step's name: rows written, rows read, then
/// precheck, migrate, verify, rollback. `None` without such a row.
fn window_row<'a>(plan: &'a str, step: &str) -> Option<Vec<&'a str>> {
    let line = plan
        .lines()
        .find(|l| l.split('|').nth(2).map(str::trim) == Some(step))?;
    Some(line.split('|').skip(3).map(str::trim).collect())
}

/// A time as PLAN.md prints it: `< 0.1 s`, `0.4 s`, `12 s`, `3.5 min`, `1.2 h` (bold or not).
fn is_a_time(cell: &str) -> bool {
    let cell = cell.trim().trim_matches('*');
    if cell == "< 0.1 s" {
        return true;
    }
    matches!(
        cell.split_once(' '),
        Some((n, "s" | "min" | "h")) if n.parse::<f64>().is_ok_and(|n| n >= 0.1)
    )
}

const TOTAL: &str = "**total**, with each script's fixed work";

#[test]
fn against_a_live_v1_plan_md_gives_each_script_time_per_step_and_in_total() {
    let db = sample_db("school", 1);
    let compiled = compiled_live(&db, "school");
    let plan = plan_md(&compiled.scripts);
    let steps = &compiled.plan.as_ref().unwrap().steps;
    assert!(steps.len() > 5, "school has many steps");
    for step in steps {
        let cells = window_row(&plan, &format!("`{}`", step.name))
            .unwrap_or_else(|| panic!("no window row for {}:\n{plan}", step.name));
        assert!(
            cells[0].starts_with('~') && cells[1].starts_with('~'),
            "{}: rows {cells:?}",
            step.name
        );
        assert!(
            cells[2..6].iter().all(|c| is_a_time(c)),
            "{}: precheck, migrate, verify, rollback {cells:?}",
            step.name
        );
        assert!(
            step.estimate.is_some(),
            "{}: no estimate in the plan",
            step.name
        );
    }
    let total = window_row(&plan, TOTAL).unwrap_or_else(|| panic!("no total row:\n{plan}"));
    assert!(total[2..6].iter().all(|c| is_a_time(c)), "{total:?}");
    // pgcrypto is installed: bcrypt was timed on this server, not taken from the calibration.
    assert!(
        plan.contains("a bcrypt hash (`_pgmig.new_password_hash`) took"),
        "{plan}"
    );
    // Each step's size line points at it.
    assert!(
        plan.contains("; migrate: ") && plan.contains("(window estimate above)"),
        "{plan}"
    );
}

#[test]
fn without_a_live_v1_plan_md_says_there_is_no_estimate_and_why() {
    let dir = crate::support::workout::compiled();
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains(
            "**Window estimate**: none. V1 was read from a DDL file: no row counts to go by"
        ),
        "{plan}"
    );
    assert!(window_row(&plan, TOTAL).is_none(), "{plan}");
    assert!(!plan.contains("(window estimate above)"), "{plan}");
}

/// Every object of the database's catalogs that a session could create (relations, functions,
/// schemas, types, extensions, triggers, constraints, event triggers), by name and owner.
fn catalog_objects(db: &TestDb) -> Vec<String> {
    let mut c = db.client();
    c.query(
        "SELECT 'class ' || oid::regclass::text || ' ' || relowner::regrole::text FROM pg_catalog.pg_class
         UNION ALL SELECT 'proc ' || oid::regprocedure::text FROM pg_catalog.pg_proc
         UNION ALL SELECT 'schema ' || nspname FROM pg_catalog.pg_namespace
         UNION ALL SELECT 'type ' || oid::regtype::text FROM pg_catalog.pg_type
         UNION ALL SELECT 'extension ' || extname FROM pg_catalog.pg_extension
         UNION ALL SELECT 'trigger ' || tgname FROM pg_catalog.pg_trigger
         UNION ALL SELECT 'constraint ' || conname FROM pg_catalog.pg_constraint
         UNION ALL SELECT 'event trigger ' || evtname FROM pg_catalog.pg_event_trigger
         ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Rows read from V1's tables since the server started (sequential and index fetches), once
/// every other session of the database has ended (a backend's counters reach the shared
/// statistics when it exits).
fn v1_rows_read(db: &TestDb) -> i64 {
    let mut c = db.client();
    for _ in 0..500 {
        let others: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_catalog.pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        if others == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.batch_execute("SELECT pg_catalog.pg_stat_clear_snapshot()")
        .unwrap();
    c.query_one(
        "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::bigint
           FROM pg_catalog.pg_stat_user_tables WHERE schemaname = 'v1'",
        &[],
    )
    .unwrap()
    .get(0)
}

/// What compile runs on V1 for the estimate writes nothing, creates nothing, and reads no row
/// of V1: its work does not grow with V1's tables (row counts come from the statistics, the
/// probe reads no table). The control read shows the counters would have seen one.
#[test]
fn compiling_against_a_live_v1_changes_nothing_there_and_reads_none_of_its_rows() {
    let db = sample_db("school", 1);
    let tables = db.table_md5s(&["v1", "public"]);
    let objects = catalog_objects(&db);
    let read_before = v1_rows_read(&db);

    let compiled = compiled_live(&db, "school");
    assert!(compiled.plan.unwrap().window.is_some());

    assert_eq!(v1_rows_read(&db), read_before, "compile read V1's rows");
    assert_eq!(db.table_md5s(&["v1", "public"]), tables);
    assert_eq!(
        catalog_objects(&db),
        objects,
        "compile left an object behind"
    );
    // The control: a count of one V1 table from another session shows in the counters.
    let read_before = v1_rows_read(&db);
    let teachers: i64 = db
        .client()
        .query_one("SELECT count(*) FROM v1.teachers", &[])
        .unwrap()
        .get(0);
    assert_eq!(v1_rows_read(&db), read_before + teachers);
}

/// bcrypt is timed once per compile (8 hashes of a constant), however many steps and columns
/// hash (school's user steps). Counted by the server (`track_functions = all` counts C functions).
#[test]
fn bcrypt_is_timed_once_per_compile_on_a_constant() {
    let db = sample_db("school", 1);
    db.execute(&format!(
        "ALTER DATABASE {} SET track_functions = 'all'",
        db.name()
    ));
    let calls = |db: &TestDb| -> i64 {
        v1_rows_read(db); // waits for the other sessions to end and flush their counters
        db.client()
            .query_one(
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_catalog.pg_stat_user_functions
                  WHERE funcname = 'crypt'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let before = calls(&db);
    let compiled = compiled_live(&db, "school");
    let plan = compiled.plan.unwrap();
    let hashing_steps = plan
        .steps
        .iter()
        .filter(|s| s.estimate.as_ref().is_some_and(|e| e.hashes > 0))
        .count();
    assert!(
        hashing_steps >= 4,
        "school's user steps hash: {hashing_steps}"
    );
    assert_eq!(calls(&db) - before, i64::from(BCRYPT_SAMPLE));
}

/// School compiled from its DDL files, then given V1 sizes and a calibration by hand, as the
/// live annotate pass would: the plan whose estimate the deterministic tests read.
/// `bcrypt_cost` replaces the model's 6 when it differs.
fn school_with(measured: Measurements, bcrypt_cost: u32) -> Plan {
    let models = repo_root().join("models/school");
    let variant = (bcrypt_cost != 6).then(|| {
        crate::support::model_variant(&models.join("model.yaml"), |m| {
            m.replace(
                "_pgmig.new_password_hash(6)",
                &format!("_pgmig.new_password_hash({bcrypt_cost})"),
            )
        })
    });
    let model = variant
        .as_ref()
        .map_or(models.clone(), |v| v.path().to_path_buf())
        .join("model.yaml");
    let compiled = pgmig::compile(
        &model,
        &pgmig::SchemaInput::Ddl(models.join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models.join("v2.sql")),
    )
    .unwrap();
    let mut plan = compiled.plan.unwrap();
    // Every V1 table read by a step, 1,000 rows more than the one before in name order.
    let mut names: Vec<QualName> = plan.steps.iter().flat_map(|s| s.reads.clone()).collect();
    names.sort();
    names.dedup();
    let sizes: BTreeMap<QualName, TableSize> = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let rows = 1000 * (i as i64 + 1);
            (
                n,
                TableSize {
                    rows,
                    bytes: rows * 120,
                },
            )
        })
        .collect();
    pgmig::stats::annotate(&mut plan, &sizes);
    pgmig::estimate::annotate(&mut plan, |t| sizes.get(t).map(|s| s.rows), measured);
    plan
}

const CALIBRATION: Measurements = Measurements {
    speed: 1.25,
    bcrypt_cost_6: Some(0.0125),
};

/// PLAN.md's estimate (its section and the steps' size lines) for a given calibration: fixed
/// bytes, the same on every render.
#[test]
fn for_a_given_calibration_plan_md_s_estimate_is_fixed_bytes() {
    let plan = school_with(CALIBRATION, 6);
    let render = || plan_md(&pgmig::emit::render(&plan, "fingerprint").unwrap());
    let text = render();
    assert_eq!(render(), text);
    let section: String = text
        .lines()
        .skip_while(|l| !l.starts_with("**Window estimate**"))
        .take_while(|l| !l.starts_with("## "))
        .chain(text.lines().filter(|l| l.starts_with("- **size**")))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(section);
}

/// bcrypt's work doubles with each step of its cost: a hashing step's migrate grows by its
/// rows' hashes times 2^3 - 1 from cost 6 to cost 9, precheck by that times the column's
/// tests that recompute it; verify and rollback, which compute no hash, do not change.
#[test]
fn a_hashing_step_costs_twice_as_much_per_bcrypt_cost_step() {
    let (six, nine) = (school_with(CALIBRATION, 6), school_with(CALIBRATION, 9));
    let step = |plan: &Plan| {
        plan.steps
            .iter()
            .find(|s| s.name == "parent_users")
            .and_then(|s| s.estimate.clone())
            .unwrap()
    };
    let (six, nine) = (step(&six), step(&nine));
    assert!(six.hashes > 0);
    let hashing_at_6 = six.hashes as f64 * CALIBRATION.bcrypt_cost_6.unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
    assert!(
        close(
            nine.seconds.migrate - six.seconds.migrate,
            7.0 * hashing_at_6
        ),
        "{six:?} → {nine:?}"
    );
    assert!(nine.seconds.precheck - six.seconds.precheck >= 7.0 * hashing_at_6 - 1e-9);
    assert_eq!(nine.seconds.verify, six.seconds.verify);
    assert_eq!(nine.seconds.rollback, six.seconds.rollback);
}
