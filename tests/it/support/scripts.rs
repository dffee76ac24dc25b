//! Running generated scripts with psql and reading the database back: shared by every test.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use super::TestDb;

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

pub(crate) fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}
