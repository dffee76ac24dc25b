-- Workout v1 sample data, deterministic, at any scale.
--
--   psql -v ON_ERROR_STOP=1 -v scale=N [-v schema=v1] -f sample.sql
--
-- scale defaults to 1, schema to v1 (the tables of v1.sql must exist there, empty).
-- Rows grow linearly with scale; per unit of scale:
--     200 workout_plans, 2,000 exercises, 1,000 workout_sessions, 5,000 exercise_logs
-- Same scale -> identical rows, uuids included: every uuid is md5(<kind> || <row number>)::uuid
-- and every value is a function of the row number (no random(), no now()).
-- All timestamps lie in 2023-2024, so "older than 24 hours" holds whenever this runs.
--
-- Shape: plan i belongs to user (i - 1) / 4 + 1 (4 plans per user); exercise j is item
-- k = (j - 1) % 10 of plan (j - 1) / 10 + 1; session s trains plan (s - 1) / 5 + 1;
-- log l is set m = (l - 1) % 5 of session (l - 1) / 5 + 1 (3 sets of one exercise, 2 of
-- another), so every exercise of a plan has logs.
--
-- Data-quality traps (the seed's "Data Quality Checks"), planted at every scale:
--   plans      i % 50 = 7   user_id NULL                                   (2 %, check #1)
--              i % 40 = 0   same (user_id, name) as plan i - 1 (same user) (2.5 %, check #3);
--                           when also i % 80 = 0 it is created one day earlier than plan
--                           i - 1, so "keep the oldest" keeps i and rejects i - 1
--              i % 10 = 3   goal NULL                                       (10 %)
--              i %  7 = 0   duration_weeks NULL                             (~14 %)
--   exercises  j % 97 = 0   plan_id matches no plan (orphan)                (~1 %, check #2)
--              j % 101 = 0  sets = 0;   j % 211 = 0  sets = -1              (check #4)
--              j % 103 = 0  reps_min = 0                                    (check #4)
--              j % 107 = 0  weight = -2.5                                   (check #4)
--              plans with (plan number) % 4 = 0, and j % 13 = 0 elsewhere:
--                           day_label NULL (grouped by muscle group in v2)
--              plans with (plan number) % 4 = 3 use the labels 'Push Day', 'Pull Day',
--                           'Leg Day', which collide with the muscle-group fallback names
--              j % 5 = 0    rest_seconds NULL (90 in v2)
--   sessions   s % 23 = 0   completed_at NULL, started long ago             (~4.3 %, check #5)
--              sessions of a rejected plan (NULL user or duplicate)         (~4.5 %)
--   logs       logs of rejected exercises (orphan or invalid) and of sessions of rejected
--              plans follow from the above.

\if :{?scale}
\else
\set scale 1
\endif
\if :{?schema}
\else
\set schema v1
\endif

SET search_path = :"schema";

SELECT 200  * :'scale'::integer AS n_plans,
       2000 * :'scale'::integer AS n_exercises,
       1000 * :'scale'::integer AS n_sessions,
       5000 * :'scale'::integer AS n_logs
\gset

-- Plans ----------------------------------------------------------------------------
INSERT INTO workout_plans
       (id, user_id, name, description, goal, duration_weeks, start_date, is_active,
        created_at, updated_at)
SELECT md5('plan' || i)::uuid,
       CASE WHEN i % 50 = 7 THEN NULL ELSE md5('user' || ((i - 1) / 4 + 1))::uuid END,
       (ARRAY['Strength Block', 'Hypertrophy Phase', 'Fat Loss', 'Beginner Full Body',
              'Powerbuilding'])[1 + x.name_no % 5] || ' ' || x.name_no,
       CASE WHEN i % 6 = 0 THEN NULL ELSE 'Generated plan ' || i END,
       CASE WHEN i % 10 = 3 THEN NULL
            ELSE (ARRAY['strength', 'hypertrophy', 'endurance', 'weight_loss'])[1 + i % 4]
       END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 2 + i % 7 END,
       date '2024-01-01' + i % 365,
       i % 3 <> 0,
       x.created_at,
       x.created_at + (i % 30) * interval '1 day'
  FROM generate_series(1, :n_plans) AS i
 CROSS JOIN LATERAL (
       SELECT CASE WHEN i % 40 = 0 THEN i - 1 ELSE i END AS name_no,
              timestamptz '2023-01-01 00:00:00+00'
              + (i % 500000) * interval '1 minute'
              - CASE WHEN i % 80 = 0 THEN interval '1 day' ELSE interval '0' END AS created_at
       ) AS x;

-- Exercises ------------------------------------------------------------------------
INSERT INTO exercises
       (id, plan_id, name, muscle_group, day_label, sets, reps_min, reps_max, weight,
        rest_seconds, notes, order_index)
SELECT md5('exercise' || j)::uuid,
       CASE WHEN j % 97 = 0 THEN md5('ghost-plan' || j)::uuid
            ELSE md5('plan' || x.plan_no)::uuid
       END,
       (ARRAY['Bench Press', 'Overhead Press', 'Dips', 'Barbell Row', 'Biceps Curl',
              'Back Squat', 'Romanian Deadlift', 'Hip Thrust', 'Plank', 'Calf Raise'])[x.m],
       (ARRAY['chest', 'shoulders', 'triceps', 'back', 'biceps',
              'quads', 'hamstrings', 'glutes', 'core', 'calves'])[x.m],
       CASE WHEN x.plan_no % 4 = 0 OR j % 13 = 0 THEN NULL
            WHEN x.plan_no % 4 = 3 THEN (ARRAY['Push Day', 'Pull Day', 'Leg Day'])[1 + x.k % 3]
            ELSE (ARRAY['Monday', 'Wednesday', 'Friday'])[1 + x.k % 3]
       END,
       CASE WHEN j % 101 = 0 THEN 0 WHEN j % 211 = 0 THEN -1 ELSE 3 + x.k % 3 END,
       CASE WHEN j % 103 = 0 THEN 0 ELSE 6 + (x.k % 3) * 2 END,
       10 + (x.k % 3) * 2,
       CASE WHEN j % 107 = 0 THEN -2.5
            WHEN x.m = 9 THEN NULL                      -- plank: bodyweight
            ELSE 20 + (j % 40) * 2.5
       END,
       CASE WHEN j % 5 = 0 THEN NULL ELSE 60 + (x.k % 4) * 30 END,
       CASE WHEN j % 11 = 0 THEN 'Focus on form' END,
       x.k
  FROM generate_series(1, :n_exercises) AS j
 CROSS JOIN LATERAL (
       SELECT (j - 1) / 10 + 1 AS plan_no,
              (j - 1) % 10     AS k,
              1 + ((j - 1) % 10 + (j - 1) / 10 + 1) % 10 AS m   -- muscle/exercise 1..10
       ) AS x;

-- Sessions -------------------------------------------------------------------------
INSERT INTO workout_sessions (id, user_id, plan_id, started_at, completed_at, notes)
SELECT md5('session' || s)::uuid,
       md5('user' || ((x.plan_no - 1) / 4 + 1))::uuid,
       md5('plan' || x.plan_no)::uuid,
       x.started_at,
       CASE WHEN s % 23 = 0 THEN NULL
            ELSE x.started_at + (30 + s % 60) * interval '1 minute'
       END,
       CASE WHEN s % 9 = 0 THEN 'Felt strong' END
  FROM generate_series(1, :n_sessions) AS s
 CROSS JOIN LATERAL (
       SELECT (s - 1) / 5 + 1 AS plan_no,
              timestamptz '2024-01-01 00:00:00+00'
              + ((s::bigint * 7919) % 525600) * interval '1 minute' AS started_at
       ) AS x;

-- Exercise logs --------------------------------------------------------------------
INSERT INTO exercise_logs
       (id, session_id, exercise_id, set_number, reps, weight, completed_at)
SELECT md5('log' || l)::uuid,
       md5('session' || x.s)::uuid,
       md5('exercise' || ((x.plan_no - 1) * 10 + x.k + 1))::uuid,
       CASE WHEN x.m < 3 THEN x.m + 1 ELSE x.m - 2 END,
       8 + x.m % 3,
       20 + (((x.plan_no - 1) * 10 + x.k + 1) % 40) * 2.5,
       timestamptz '2024-01-01 00:00:00+00'
       + ((x.s::bigint * 7919) % 525600) * interval '1 minute'
       + (x.m + 1) * interval '3 minutes'
  FROM generate_series(1, :n_logs) AS l
 CROSS JOIN LATERAL (
       SELECT (l - 1) / 5 + 1                        AS s,
              (l - 1) % 5                            AS m,
              ((l - 1) / 5) / 5 + 1                  AS plan_no,
              (((l - 1) / 5) % 5) * 2 + ((l - 1) % 5) / 3 AS k
       ) AS x;

ANALYZE workout_plans, exercises, workout_sessions, exercise_logs;
