-- The seed's own "Data Quality Checks" (004_187fa8d5413e3cad, Pre-Migration Checklist),
-- adapted to schema v1: `<table>_v1` becomes `v1.<table>`, and each query returns the keys
-- of the rows it finds (ordered) instead of a bare COUNT(*).

-- 1. NULL user_id -> v2 workout_plans.user_id NOT NULL
SELECT p.id
  FROM v1.workout_plans p
 WHERE p.user_id IS NULL
 ORDER BY p.id;

-- 2. Orphaned exercises (no parent plan) -> v2 exercises.day_id NOT NULL
--    (an exercise with no plan has no day to sit in)
SELECT e.id
  FROM v1.exercises e
 WHERE NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = e.plan_id)
 ORDER BY e.id;

-- 3. Duplicate (user_id, name) -> v2 UNIQUE (user_id, name).
--    One row per duplicated key, as the seed's GROUP BY returns. Adapted: user_id IS NOT
--    NULL, since UNIQUE treats NULLs as distinct and NULL user_ids are check #1.
SELECT p.user_id, p.name, count(*) AS n
  FROM v1.workout_plans p
 WHERE p.user_id IS NOT NULL
 GROUP BY p.user_id, p.name
HAVING count(*) > 1
 ORDER BY p.user_id, p.name;

-- 4. Exercises with invalid data -> v2 CHECK (sets > 0), CHECK (target_reps_min > 0),
--    CHECK (target_weight >= 0)
SELECT e.id
  FROM v1.exercises e
 WHERE e.sets <= 0 OR e.reps_min <= 0 OR e.weight < 0
 ORDER BY e.id;

-- 5. Sessions started more than 24 hours ago and never completed (a warning: they are
--    still migrated, with status 'in_progress')
SELECT s.id
  FROM v1.workout_sessions s
 WHERE s.started_at IS NOT NULL AND s.completed_at IS NULL
   AND s.started_at < now() - interval '24 hours'
 ORDER BY s.id;
