-- Floor: the same V2 rows and columns as the workout model, as plain INSERT … SELECT.
-- No id maps, no reject/filter bookkeeping, no counts, no per-step DO blocks: each
-- child finds its parent through the V2 table just filled (its UNIQUE/PK index).
-- V2 tables read by a later statement are ANALYZEd first, as a DBA writing this by
-- hand would. `pgmig-bench` runs the statements between `-- step:` markers one by one
-- inside one transaction and times each.

-- step: workout_plans
INSERT INTO public.workout_plans
       (id, user_id, name, description, goal, total_weeks, current_week, status, created_at, updated_at)
SELECT p.id, p.user_id, CASE WHEN p.dup_rank = 1 THEN p.name ELSE p.name || '-' || p.dup_rank END, p.description,
       coalesce(p.goal, 'general_fitness'),
       coalesce(p.duration_weeks, 4),
       1,
       CASE WHEN p.is_active THEN 'active' ELSE 'completed' END,
       p.created_at, p.updated_at
  FROM (SELECT *, row_number() OVER (PARTITION BY user_id, name ORDER BY created_at, id) AS dup_rank
          FROM v1.workout_plans) AS p
 WHERE p.user_id IS NOT NULL;
ANALYZE public.workout_plans;

-- step: workout_weeks
INSERT INTO public.workout_weeks (plan_id, week_number, start_date, end_date)
SELECT p.id, w.n, p.start_date + (w.n - 1) * 7, p.start_date + w.n * 7 - 1
  FROM v1.workout_plans p
  JOIN public.workout_plans m ON m.id = p.id
 CROSS JOIN LATERAL generate_series(1, coalesce(p.duration_weeks, 4)) AS w(n);
ANALYZE public.workout_weeks;

-- step: workout_days
INSERT INTO public.workout_days (week_id, day_label, muscle_groups)
SELECT w.id, d.day_label, d.muscle_groups
  FROM (SELECT e.plan_id,
               coalesce(e.day_label,
                        CASE
                          WHEN e.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                          WHEN e.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                          WHEN e.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                          ELSE 'Upper Body'
                        END) AS day_label,
               array_agg(DISTINCT e.muscle_group ORDER BY e.muscle_group) AS muscle_groups
          FROM v1.exercises e
         GROUP BY 1, 2) AS d
  JOIN public.workout_weeks w ON w.plan_id = d.plan_id;
ANALYZE public.workout_days;

-- step: exercises
INSERT INTO public.exercises
       (id, day_id, name, muscle_group, sets, target_reps_min, target_reps_max, target_weight,
        rest_seconds, notes, order_index)
SELECT e.id, d.id, e.name, e.muscle_group, e.sets, e.reps_min, e.reps_max, e.weight,
       coalesce(e.rest_seconds, 90), e.notes, e.order_index
  FROM v1.exercises e
  JOIN public.workout_weeks w ON w.plan_id = e.plan_id AND w.week_number = 1
  JOIN public.workout_days d
    ON d.week_id = w.id
   AND d.day_label = coalesce(e.day_label,
                              CASE
                                WHEN e.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                                WHEN e.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                                WHEN e.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                                ELSE 'Upper Body'
                              END)
 WHERE NOT coalesce(e.sets <= 0 OR e.reps_min <= 0 OR e.weight < 0, false);
ANALYZE public.exercises;

-- step: workout_sessions
-- day_id: the week-1 day of the label most of the session's logged sets (of its plan's
-- exercises) carry, ties to the smallest label.
INSERT INTO public.workout_sessions (id, user_id, plan_id, day_id, started_at, completed_at, status, notes)
SELECT s.id, s.user_id, s.plan_id, d.id, s.started_at, s.completed_at,
       CASE WHEN s.completed_at IS NOT NULL THEN 'completed'
            WHEN s.started_at < now() - interval '24 hours' THEN 'abandoned'
            ELSE 'in_progress' END,
       s.notes
  FROM v1.workout_sessions s
  JOIN public.workout_plans p ON p.id = s.plan_id
  LEFT JOIN (SELECT DISTINCT ON (x.session_id) x.session_id, x.day_label
               FROM (SELECT l.session_id, coalesce(e.day_label,
                        CASE
                          WHEN e.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                          WHEN e.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                          WHEN e.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                          ELSE 'Upper Body'
                        END) AS day_label, count(*) AS sets
                       FROM v1.exercise_logs l
                       JOIN v1.exercises e ON e.id = l.exercise_id
                       JOIN v1.workout_sessions ls ON ls.id = l.session_id AND ls.plan_id = e.plan_id
                      GROUP BY 1, 2) AS x
              ORDER BY x.session_id, x.sets DESC, x.day_label) AS trained ON trained.session_id = s.id
  LEFT JOIN public.workout_weeks w ON w.plan_id = s.plan_id AND w.week_number = 1
  LEFT JOIN public.workout_days d ON d.week_id = w.id AND d.day_label = trained.day_label;
ANALYZE public.workout_sessions;

-- step: exercise_logs
INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
SELECT l.id, l.session_id, e.id, l.set_number, l.reps, l.weight, l.completed_at
  FROM v1.exercise_logs l
  JOIN public.workout_sessions s ON s.id = l.session_id
  LEFT JOIN public.exercises e ON e.id = l.exercise_id;
