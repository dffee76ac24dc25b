//! Running generated scripts with psql and reading the database back: shared by every test.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use super::{pg_error_text, TestDb};

pub(crate) const USER_SCHEMAS: &[&str] = &["v1", "public"];

pub(crate) fn run(db: &TestDb, dir: &Path, script: &str, vars: &[(&str, &str)]) -> Output {
    db.psql_file(dir.join(script), vars)
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn must_pass(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed:\n{}", stderr(&o));
    stderr(&o)
}

/// `table_md5s` of `schemas`, with public.workout_sessions' day_id (a fresh uuid of
/// workout_days, new on every run) replaced by what it stands for: the plan, week number and
/// label of the day. Two runs migrating the same rows give the same value.
pub(crate) fn keyed_md5s(db: &TestDb, schemas: &[&str]) -> BTreeMap<String, String> {
    let mut all = db.table_md5s(schemas);
    if let Some(sessions) = all.get_mut("public.workout_sessions") {
        *sessions = db
            .client()
            .query_one(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(x, E'\\n' ORDER BY x)), '') FROM (
                   SELECT (s.id, s.user_id, s.plan_id, w.plan_id, w.week_number, d.day_label,
                           s.started_at, s.completed_at, s.status, s.notes)::text AS x
                     FROM public.workout_sessions s
                     LEFT JOIN public.workout_days d ON d.id = s.day_id
                     LEFT JOIN public.workout_weeks w ON w.id = d.week_id) AS q",
                &[],
            )
            .unwrap()
            .get(0);
    }
    all
}

/// Runs a query that returns one bigint, failing the test with the query on an error.
pub(crate) fn count(db: &TestDb, sql: &str) -> i64 {
    match db.client().query_one(sql, &[]) {
        Ok(r) => r.get(0),
        Err(e) => panic!("{sql}\n{}", pg_error_text(&e)),
    }
}

/// The first column of every row of a query returning text, failing the test on an error.
pub(crate) fn strings(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}\n{}", pg_error_text(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Runs every (what, query counting the rows that break it) check of an oracle; fails
/// listing the broken ones.
pub(crate) fn assert_oracle(db: &TestDb, checks: &[(&str, String)]) {
    let broken: Vec<String> = checks
        .iter()
        .filter_map(|(what, sql)| match count(db, sql) {
            0 => None,
            n => Some(format!("{n:>5}  {what}")),
        })
        .collect();
    assert!(
        broken.is_empty(),
        "oracle checks broken (rows that break them):\n{}",
        broken.join("\n")
    );
}
