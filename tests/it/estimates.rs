//! PLAN.md's row estimates from a live V1 that was never analyzed (`reltuples = -1`): a
//! small table is counted, a big one gets the planner's estimate from its pages, and a
//! table's inheritance children and partitions count with it (its `FROM` reads them).

use crate::support::{cluster, TestDb};

/// autovacuum is off on every table, so none is analyzed behind the test's back.
const V1: &str = "
CREATE SCHEMA v1;
CREATE TABLE v1.events (id integer PRIMARY KEY, note text) WITH (autovacuum_enabled = off);
INSERT INTO v1.events SELECT i, 'event ' || i FROM generate_series(1, 1234) AS i;

CREATE TABLE v1.animals (id integer PRIMARY KEY, name text) WITH (autovacuum_enabled = off);
CREATE TABLE v1.dogs () INHERITS (v1.animals) WITH (autovacuum_enabled = off);
CREATE TABLE v1.cats () INHERITS (v1.animals) WITH (autovacuum_enabled = off);
INSERT INTO v1.animals SELECT i, 'animal' FROM generate_series(1, 10) AS i;
INSERT INTO v1.dogs SELECT i, 'dog' FROM generate_series(11, 210) AS i;
INSERT INTO v1.cats SELECT i, 'cat' FROM generate_series(211, 510) AS i;

CREATE TABLE v1.readings (id integer, at date, value integer, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE v1.readings_2023 PARTITION OF v1.readings FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') WITH (autovacuum_enabled = off);
CREATE TABLE v1.readings_2024 PARTITION OF v1.readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') WITH (autovacuum_enabled = off);
INSERT INTO v1.readings SELECT i, date '2023-01-01' + i % 365, i FROM generate_series(1, 400) AS i;
INSERT INTO v1.readings SELECT i, date '2024-01-01' + i % 365, i FROM generate_series(401, 1000) AS i;

-- Past the size under which a never-analyzed table is counted: the planner estimates it.
CREATE TABLE v1.big (id integer PRIMARY KEY, note text) WITH (autovacuum_enabled = off);
INSERT INTO v1.big SELECT i, md5(i::text) FROM generate_series(1, 150000) AS i;
";

const V2: &str = "
CREATE TABLE events (id integer PRIMARY KEY, note text);
CREATE TABLE animals (id integer PRIMARY KEY, name text);
CREATE TABLE readings (id integer, at date, value integer, PRIMARY KEY (id, at));
CREATE TABLE big (id integer PRIMARY KEY, note text);
";

const MODEL: &str = "name: estimates
source: { schema: v1 }
target: { schema: public }

tables:
  events:
    from: events e
    key: keep
  animals:
    from: animals a
    key: keep
  readings:
    from: readings r
    key: keep
  big:
    from: big b
    key: keep
";

/// PLAN.md of the model compiled against the live V1.
fn plan_md(db: &TestDb) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.yaml"), MODEL).unwrap();
    std::fs::write(dir.path().join("v2.sql"), V2).unwrap();
    let compiled = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Database(db.url()),
        &pgmig::SchemaInput::Ddl(dir.path().join("v2.sql")),
    )
    .unwrap_or_else(|e| panic!("compile against the live V1: {e:?}"));
    compiled
        .scripts
        .files
        .iter()
        .find(|(name, _)| *name == "PLAN.md")
        .map(|(_, text)| text.to_string())
        .expect("PLAN.md")
}

/// The `~N rows` PLAN.md gives for a source table.
fn estimated_rows(plan: &str, table: &str) -> i64 {
    let marker = format!(" in `{table}`");
    let line = plan
        .lines()
        .find(|l| l.contains(&marker))
        .unwrap_or_else(|| panic!("no size line for {table}:\n{plan}"));
    let after = line.split('~').nth(1).unwrap_or_else(|| panic!("{line}"));
    after
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn estimates_of_a_v1_never_analyzed_count_small_tables_estimate_big_ones_and_include_children() {
    let db = cluster().create_db("estimates_never_analyzed");
    db.execute(V1);
    let never: i64 = db.client().query_one("SELECT count(*) FROM pg_class WHERE relnamespace = 'v1'::regnamespace AND relkind = 'r' AND reltuples >= 0", &[]).unwrap().get(0);
    assert_eq!(never, 0, "the fixture must be unanalyzed");

    let plan = plan_md(&db);
    assert_eq!(
        estimated_rows(&plan, "v1.events"),
        1234,
        "a small table never analyzed is counted"
    );
    assert_eq!(
        estimated_rows(&plan, "v1.animals"),
        510,
        "an inheritance parent counts with its children"
    );
    assert_eq!(
        estimated_rows(&plan, "v1.readings"),
        1000,
        "a partitioned table is the sum of its partitions"
    );
    let big = estimated_rows(&plan, "v1.big");
    assert!(
        (120_000..=180_000).contains(&big),
        "the planner's estimate from pages for 150000 rows, got {big}"
    );

    // Once analyzed: the statistics, still with the children.
    db.execute("ANALYZE v1.events, v1.animals, v1.dogs, v1.cats, v1.readings, v1.big");
    let plan = plan_md(&db);
    assert_eq!(estimated_rows(&plan, "v1.events"), 1234);
    assert_eq!(estimated_rows(&plan, "v1.animals"), 510);
    assert_eq!(estimated_rows(&plan, "v1.readings"), 1000);
    let big = estimated_rows(&plan, "v1.big");
    assert!(
        (145_000..=155_000).contains(&big),
        "150000 rows analyzed, got {big}"
    );
}

/// Transaction-mode progress when counting before the run is over its budget (2 s in all):
/// the first step's FROM sleeps 3 s once per scan (at the row with id 1), so its count is cut
/// short and the second step's is not even tried. Both bars show the planner's estimate,
/// labelled so (`--json`: `estimate_source` "planner"; a terminal's bar reads `~N source rows
/// (planner estimate…)`), and each step's real counts still come from its own NOTICE.
#[test]
fn progress_falls_back_to_the_planner_estimate_when_counting_is_over_its_budget() {
    let db = cluster().create_db("estimates_over_budget");
    db.execute(
        "CREATE SCHEMA v1;
         CREATE TABLE v1.events (id integer PRIMARY KEY, note text);
         INSERT INTO v1.events SELECT i, 'event ' || i FROM generate_series(1, 1234) AS i;
         CREATE TABLE v1.readings (id integer PRIMARY KEY, value integer);
         INSERT INTO v1.readings SELECT i, i FROM generate_series(1, 500) AS i;
         ANALYZE v1.events, v1.readings;
         CREATE TABLE public.events (id integer PRIMARY KEY, note text);
         CREATE TABLE public.readings (id integer PRIMARY KEY, value integer);
         -- pg_sleep is volatile, which the guard refuses in a model: a superuser's own
         -- function, declared stable, slows the count all the same.
         CREATE FUNCTION v1.pause(seconds double precision) RETURNS void LANGUAGE sql STABLE
           AS 'SELECT pg_catalog.pg_sleep(seconds)';",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("model.yaml"),
        "name: over_budget
source: { schema: v1 }
target: { schema: public }

tables:
  events:
    from: events e CROSS JOIN LATERAL v1.pause(CASE WHEN e.id = 1 THEN 3 ELSE 0 END) AS pause
    key: keep
  readings:
    from: readings r
    key: keep
",
    )
    .unwrap();
    let compiled = pgmig::compile(
        &dir.path().join("model.yaml"),
        &pgmig::SchemaInput::Database(db.url()),
        &pgmig::SchemaInput::Database(db.url()),
    )
    .unwrap_or_else(|e| panic!("compile: {e:?}"));
    let out_dir = dir.path().join("out");
    pgmig::compile::write(&compiled.scripts, &out_dir).unwrap();

    let out = crate::support::pgmig_cli(&[
        "run",
        "migrate",
        "--json",
        "--dir",
        &out_dir.display().to_string(),
        "--db",
        &db.url(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let started: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .collect();
    assert_eq!(started.len(), 2, "{events:#?}");
    for (s, step, planned) in [(started[0], "events", 1234), (started[1], "readings", 500)] {
        assert_eq!(s["step"], step);
        assert_eq!(
            s["estimate_source"], "planner (EXPLAIN of the step's FROM clause)",
            "{step}: {s}"
        );
        // The planner's own figure for the clause (analyzed tables: their row counts).
        assert_eq!(s["estimated_rows"].as_i64(), Some(planned), "{step}: {s}");
    }
    let done: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "step_done")
        .collect();
    assert_eq!(
        done.iter()
            .map(|d| d["rows_out"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1234, 500],
        "the real counts, from the steps' NOTICEs"
    );
}
