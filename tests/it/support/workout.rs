//! The workout model (models/workout): compiled, loaded into a database, and the oracle of
//! its guide (seed 004).

use super::scripts::stderr;
use super::{cluster, repo_root, Cluster, TestDb};

/// Compiles the workout model from its DDL files into a fresh directory.
pub(crate) fn compiled() -> tempfile::TempDir {
    let models = repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// V1 schema with sample data in schema v1, V2's empty schema in public.
pub(crate) fn workout_db(name: &str) -> TestDb {
    workout_db_in(cluster(), name)
}

/// V1 with its sample data in `v1`, an empty V2 in `public`, in a database of `cluster`.
pub(crate) fn workout_db_in(cluster: &'static Cluster, name: &str) -> TestDb {
    let db = cluster.create_db(name);
    db.execute("CREATE SCHEMA v1");
    let models = repo_root().join("models/workout");
    db.load_in_schema(&models.join("v1.sql"), "v1");
    db.load_in_schema(&models.join("v2.sql"), "public");
    db.load_in_schema(&models.join("sample.sql"), "v1");
    db
}

/// V1 alone on the second cluster (schema public, sample data), V2 alone in a database of
/// the first, and the workout model reading V1 through postgres_fdw, compiled.
pub(crate) fn remote_v1(name: &str) -> (TestDb, TestDb, tempfile::TempDir) {
    let models = repo_root().join("models/workout");
    let v1 = crate::support::second_cluster().create_db(&format!("{name}_v1"));
    v1.load_in_schema(&models.join("v1.sql"), "public");
    let out = v1
        .psql_cmd()
        .args(["-q", "-v", "schema=public", "-f"])
        .arg(models.join("sample.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let db = cluster().create_db(&format!("{name}_v2"));
    db.load_in_schema(&models.join("v2.sql"), "public");
    let dir = crate::support::compile_workout_variant(|m| {
        m.replacen(
            "source: { schema: v1 }",
            "source: { server: v1db, schema: public }",
            1,
        )
    });
    let migrate = std::fs::read_to_string(dir.path().join("migrate.sql")).unwrap();
    assert!(
        migrate.contains("FROM _pgmig_v1db.workout_plans"),
        "V1 is read from the staging schema"
    );
    (v1, db, dir)
}

/// The rows the guide itself says can't be migrated: plans without a user (its check #1, "will
/// cause migration issues"), exercises without a plan (#2) or with invalid data (#4), and what
/// hangs off a plan without a user.
pub(crate) const NULL_USER_PLANS: &str = "SELECT id FROM v1.workout_plans WHERE user_id IS NULL";
pub(crate) const DROPPED_EXERCISES: &str = "SELECT e.id FROM v1.exercises e
  WHERE NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)
     OR e.sets <= 0 OR e.reps_min <= 0 OR e.weight < 0
     OR e.plan_id IN (SELECT id FROM v1.workout_plans WHERE user_id IS NULL)";

/// The guide's validation queries as an oracle: (what must hold, a query counting the rows
/// that break it).
pub(crate) fn guide_checks() -> Vec<(&'static str, String)> {
    vec![
        (
            "check 1: V2 plans = V1 plans but those without a user",
            format!(
                "SELECT abs((SELECT count(*) FROM v1.workout_plans) - (SELECT count(*) FROM ({NULL_USER_PLANS}) d)
                            - (SELECT count(*) FROM public.workout_plans))"
            ),
        ),
        (
            "check 2: V2 exercises = V1 exercises but the orphaned, the invalid and those of plans without a user",
            format!(
                "SELECT abs((SELECT count(*) FROM v1.exercises) - (SELECT count(*) FROM ({DROPPED_EXERCISES}) d)
                            - (SELECT count(*) FROM public.exercises))"
            ),
        ),
        (
            "check 3: no orphaned weeks",
            "SELECT count(*) FROM public.workout_weeks w WHERE NOT EXISTS (SELECT 1 FROM public.workout_plans p WHERE p.id = w.plan_id)".into(),
        ),
        (
            "check 4: no orphaned days",
            "SELECT count(*) FROM public.workout_days d WHERE NOT EXISTS (SELECT 1 FROM public.workout_weeks w WHERE w.id = d.week_id)".into(),
        ),
        (
            "check 5: no orphaned exercises",
            "SELECT count(*) FROM public.exercises e WHERE NOT EXISTS (SELECT 1 FROM public.workout_days d WHERE d.id = e.day_id)".into(),
        ),
        (
            "check 6: every V1 session of a migrated plan with a log of its plan's exercises is linked to a day",
            "SELECT abs((SELECT count(*) FROM v1.workout_sessions s
                          WHERE EXISTS (SELECT 1 FROM v1.exercise_logs l JOIN v1.exercises e ON e.id = l.exercise_id
                                         WHERE l.session_id = s.id AND e.plan_id = s.plan_id)
                            AND s.plan_id NOT IN (SELECT id FROM v1.workout_plans WHERE user_id IS NULL))
                        - (SELECT count(*) FROM public.workout_sessions WHERE day_id IS NOT NULL))".into(),
        ),
        (
            "a linked day is the week-1 day of the session's plan where most of its logged sets' exercises sit",
            "WITH sets AS (
               SELECT s.id AS session_id, d.id AS day_id, d.day_label, count(*) AS n
                 FROM v1.workout_sessions s
                 JOIN v1.exercise_logs l ON l.session_id = s.id
                 JOIN v1.exercises e1 ON e1.id = l.exercise_id AND e1.plan_id = s.plan_id
                 JOIN public.workout_weeks w ON w.plan_id = s.plan_id AND w.week_number = 1
                 JOIN public.workout_days d ON d.week_id = w.id
                WHERE d.day_label = coalesce(e1.day_label,
                        CASE WHEN e1.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                             WHEN e1.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                             WHEN e1.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                             ELSE 'Upper Body' END)
                GROUP BY 1, 2, 3
             ), best AS (
               SELECT session_id, day_id, rank() OVER (PARTITION BY session_id ORDER BY n DESC, day_label) AS r FROM sets
             )
             SELECT count(*) FROM public.workout_sessions s2
              WHERE s2.day_id IS DISTINCT FROM (SELECT b.day_id FROM best b WHERE b.session_id = s2.id AND b.r = 1)"
                .into(),
        ),
        // What the guide promises to keep ("Will users lose data? No").
        (
            "every V1 plan with a user is in V2 under its id, with its user",
            "SELECT count(*) FROM v1.workout_plans p LEFT JOIN public.workout_plans q ON q.id = p.id
              WHERE p.user_id IS NOT NULL AND (q.id IS NULL OR q.user_id <> p.user_id)".into(),
        ),
        (
            "the oldest plan of a (user, name) keeps the name; the k-th oldest is renamed name-k",
            "SELECT count(*) FROM (
               SELECT p.id, p.name, row_number() OVER (PARTITION BY p.user_id, p.name ORDER BY p.created_at, p.id) AS k
                 FROM v1.workout_plans p WHERE p.user_id IS NOT NULL) o
               JOIN public.workout_plans q ON q.id = o.id
              WHERE q.name <> CASE WHEN o.k = 1 THEN o.name ELSE o.name || '-' || o.k END".into(),
        ),
        (
            "every V1 session of a plan with a user is in V2, under its plan",
            "SELECT count(*) FROM v1.workout_sessions s JOIN v1.workout_plans p ON p.id = s.plan_id
               LEFT JOIN public.workout_sessions q ON q.id = s.id
              WHERE p.user_id IS NOT NULL AND (q.id IS NULL OR q.plan_id IS DISTINCT FROM s.plan_id)".into(),
        ),
        (
            "every V1 log of a migrated session is in V2 with its sets, reps and weight",
            "SELECT count(*) FROM v1.exercise_logs l JOIN public.workout_sessions s ON s.id = l.session_id
               LEFT JOIN public.exercise_logs q ON q.id = l.id
              WHERE q.id IS NULL OR (q.set_number, q.reps, q.weight, q.completed_at) IS DISTINCT FROM (l.set_number, l.reps, l.weight, l.completed_at)".into(),
        ),
        (
            "a log keeps its exercise when the exercise was migrated, and has none otherwise",
            "SELECT count(*) FROM v1.exercise_logs l JOIN public.exercise_logs q ON q.id = l.id
              WHERE q.exercise_id IS DISTINCT FROM (SELECT e.id FROM public.exercises e WHERE e.id = l.exercise_id)".into(),
        ),
        // Pre-migration check #5: sessions started over 24 hours ago and never completed.
        (
            "status: completed when completed_at is set, abandoned when stale (check 5), else in_progress",
            "SELECT count(*) FROM v1.workout_sessions s JOIN public.workout_sessions q ON q.id = s.id
              WHERE q.status <> CASE WHEN s.completed_at IS NOT NULL THEN 'completed'
                                     WHEN s.started_at < now() - interval '24 hours' THEN 'abandoned'
                                     ELSE 'in_progress' END".into(),
        ),
    ]
}
