//! The workout guide's own rules (seed 004, "Pre-Migration Checklist" and "Step 4: Verify Data
//! Integrity") checked on the migrated data by the guide's queries, written here independently
//! of the model: an oracle beside verify.sql, which only proves the scripts match the model.

use crate::support::scripts::{count, must_pass, run, USER_SCHEMAS};
use crate::support::workout::workout_db;

/// Compiles the workout model from its DDL files into a fresh directory.
fn compiled() -> tempfile::TempDir {
    let models = crate::support::repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// The rows the guide itself says can't be migrated: plans without a user (its check #1, "will
/// cause migration issues"), exercises without a plan (#2) or with invalid data (#4), and what
/// hangs off a plan without a user.
const NULL_USER_PLANS: &str = "SELECT id FROM v1.workout_plans WHERE user_id IS NULL";
const DROPPED_EXERCISES: &str = "SELECT e.id FROM v1.exercises e
  WHERE NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)
     OR e.sets <= 0 OR e.reps_min <= 0 OR e.weight < 0
     OR e.plan_id IN (SELECT id FROM v1.workout_plans WHERE user_id IS NULL)";

/// (what must hold, a query counting the rows that break it).
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

#[test]
fn the_guides_validation_queries_hold_on_the_migrated_data() {
    let db = workout_db("wk_guide");
    let dir = compiled();
    let before = db.table_md5s(USER_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(!verify.contains("FAIL"), "{verify}");

    let broken: Vec<String> = guide_checks()
        .iter()
        .filter_map(|(what, sql)| match count(&db, sql) {
            0 => None,
            n => Some(format!("{n:>5}  {what}")),
        })
        .collect();
    assert!(
        broken.is_empty(),
        "the guide's checks broken (rows that break them):\n{}",
        broken.join("\n")
    );
    // The sample plants each case the checks above are about (models/workout/sample.sql).
    for (what, sql) in [
        ("renamed duplicate plans", "SELECT count(*) FROM public.workout_plans q JOIN v1.workout_plans p ON p.id = q.id WHERE q.name <> p.name"),
        ("logs kept without their exercise", "SELECT count(*) FROM public.exercise_logs WHERE exercise_id IS NULL"),
        ("abandoned sessions", "SELECT count(*) FROM public.workout_sessions WHERE status = 'abandoned'"),
        ("sessions linked to a day", "SELECT count(*) FROM public.workout_sessions WHERE day_id IS NOT NULL"),
    ] {
        let n = count(&db, sql);
        eprintln!("workout guide: {n} {what}");
        assert!(n > 0, "the sample must plant {what}");
    }
    // Rejects: only what the guide drops (plans without a user, orphaned or invalid exercises)
    // and what hangs off those plans: no duplicate name, no log, nothing else.
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.rejects WHERE step IN ('workout_plans', 'exercises')"),
        count(&db, &format!("SELECT (SELECT count(*) FROM ({NULL_USER_PLANS}) p) + (SELECT count(*) FROM ({DROPPED_EXERCISES}) e)")),
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM _pgmig.rejects WHERE step = 'exercise_logs'"),
        count(&db, &format!("SELECT count(*) FROM v1.exercise_logs l JOIN v1.workout_sessions s ON s.id = l.session_id WHERE s.plan_id IN ({NULL_USER_PLANS})")),
        "the only logs rejected are those of sessions whose plan has no user"
    );

    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "rollback restores every table"
    );
}
