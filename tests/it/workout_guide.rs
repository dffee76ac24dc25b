//! The workout guide's own rules (seed 004, "Pre-Migration Checklist" and "Step 4: Verify Data
//! Integrity") checked on the migrated data by the guide's queries, written here independently
//! of the model: an oracle beside verify.sql, which only proves the scripts match the model.

use crate::support::scripts::{assert_oracle, count, must_pass, run, USER_SCHEMAS};
use crate::support::workout::{
    compiled, guide_checks, workout_db, DROPPED_EXERCISES, NULL_USER_PLANS,
};

#[test]
fn the_guides_validation_queries_hold_on_the_migrated_data() {
    let db = workout_db("wk_guide");
    let dir = compiled();
    let before = db.table_md5s(USER_SCHEMAS);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(!verify.contains("FAIL"), "{verify}");

    assert_oracle(&db, &guide_checks());
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
