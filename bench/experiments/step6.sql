-- The exercise_logs step of migrate.sql (the biggest: 500,000 source rows at scale 100), one
-- statement at a time, on a database where migrate.sql has run: each variant in its own
-- transaction that is rolled back, V2's exercise_logs and its id map emptied first.
--   psql -X -v ON_ERROR_STOP=1 -d DB -f bench/experiments/step6.sql   (run it 3 times; medians)
\set QUIET on
\pset pager off

\echo '== count scan (Source rows)'
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
SELECT count(*), 0
FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id;

\echo '== reject rule 1 scan'
BEGIN;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
INSERT INTO _pgmig.rejects (model, step, rule, reason, source_key, source_row)
SELECT 'x', 'exercise_logs', 1, 'session was rejected', jsonb_build_object('id', l.id), to_jsonb(l)
FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
WHERE coalesce((id_workout_sessions.id IS NULL), false);
ROLLBACK;

\echo '== insert as migrate.sql does it: CTE RETURNING into a logged map with its PRIMARY KEY'
BEGIN;
TRUNCATE public.exercise_logs, _pgmig.map_exercise_logs;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
WITH inserted AS (
  INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
  SELECT l.id, l.session_id, l.exercise_id, l.set_number, l.reps, l.weight, l.completed_at
  FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
  WHERE NOT coalesce((id_workout_sessions.id IS NULL), false)
  AND NOT coalesce((id_exercises.id IS NULL), false)
  RETURNING id
)
INSERT INTO _pgmig.map_exercise_logs (id) SELECT id FROM inserted;
ROLLBACK;

\echo '== same, map without PRIMARY KEY during the insert, key added after'
BEGIN;
TRUNCATE public.exercise_logs;
DROP TABLE _pgmig.map_exercise_logs;
CREATE TABLE _pgmig.map_exercise_logs (id uuid);
\timing on
WITH inserted AS (
  INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
  SELECT l.id, l.session_id, l.exercise_id, l.set_number, l.reps, l.weight, l.completed_at
  FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
  WHERE NOT coalesce((id_workout_sessions.id IS NULL), false)
  AND NOT coalesce((id_exercises.id IS NULL), false)
  RETURNING id
)
INSERT INTO _pgmig.map_exercise_logs (id) SELECT id FROM inserted;
ALTER TABLE _pgmig.map_exercise_logs ADD PRIMARY KEY (id);
\timing off
ROLLBACK;

\echo '== same, UNLOGGED map with its PRIMARY KEY'
BEGIN;
TRUNCATE public.exercise_logs;
DROP TABLE _pgmig.map_exercise_logs;
CREATE UNLOGGED TABLE _pgmig.map_exercise_logs (id uuid PRIMARY KEY);
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
WITH inserted AS (
  INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
  SELECT l.id, l.session_id, l.exercise_id, l.set_number, l.reps, l.weight, l.completed_at
  FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
  WHERE NOT coalesce((id_workout_sessions.id IS NULL), false)
  AND NOT coalesce((id_exercises.id IS NULL), false)
  RETURNING id
)
INSERT INTO _pgmig.map_exercise_logs (id) SELECT id FROM inserted;
ROLLBACK;

\echo '== plain INSERT … SELECT, no map (the floor of this statement)'
BEGIN;
TRUNCATE public.exercise_logs;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
SELECT l.id, l.session_id, l.exercise_id, l.set_number, l.reps, l.weight, l.completed_at
FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
WHERE NOT coalesce((id_workout_sessions.id IS NULL), false)
AND NOT coalesce((id_exercises.id IS NULL), false);
ROLLBACK;

\echo '== plain INSERT … SELECT, no map, FK triggers off (session_replication_role = replica)'
BEGIN;
TRUNCATE public.exercise_logs;
SET LOCAL session_replication_role = replica;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF)
INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
SELECT l.id, l.session_id, l.exercise_id, l.set_number, l.reps, l.weight, l.completed_at
FROM v1.exercise_logs l
     LEFT JOIN _pgmig.map_workout_sessions AS id_workout_sessions ON id_workout_sessions.id = l.session_id
     LEFT JOIN _pgmig.map_exercises AS id_exercises ON id_exercises.id = l.exercise_id
WHERE NOT coalesce((id_workout_sessions.id IS NULL), false)
AND NOT coalesce((id_exercises.id IS NULL), false);
ROLLBACK;

\echo '== the two FKs of exercise_logs validated set-based (ADD CONSTRAINT on the loaded table)'
BEGIN;
ALTER TABLE public.exercise_logs DROP CONSTRAINT exercise_logs_session_id_fkey, DROP CONSTRAINT exercise_logs_exercise_id_fkey;
\timing on
ALTER TABLE public.exercise_logs
  ADD CONSTRAINT exercise_logs_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.workout_sessions (id) ON DELETE CASCADE,
  ADD CONSTRAINT exercise_logs_exercise_id_fkey FOREIGN KEY (exercise_id) REFERENCES public.exercises (id) ON DELETE SET NULL;
\timing off
ROLLBACK;
