-- Row by row in PL/pgSQL: the workout migration as FOR r IN SELECT … LOOP INSERT …, one
-- statement per V2 row, lookups of parents and duplicates one row at a time through the
-- V2 tables' indexes, in one transaction (`pgmig-bench` wraps it in BEGIN … COMMIT).
DO $rowloop$
DECLARE
  r      record;
  n      integer;
  dw     integer;
  wk     uuid;
  dy     uuid;
  lbl    text;
BEGIN
  -- Plans, oldest first: the k-th plan of one (user_id, name) is renamed name-k. Weeks with them.
  FOR r IN SELECT * FROM v1.workout_plans ORDER BY created_at, id LOOP
    CONTINUE WHEN r.user_id IS NULL;
    SELECT count(*) + 1 INTO n FROM v1.workout_plans p
     WHERE p.user_id = r.user_id AND p.name = r.name AND (p.created_at, p.id) < (r.created_at, r.id);
    dw := coalesce(r.duration_weeks, 4);
    INSERT INTO public.workout_plans
           (id, user_id, name, description, goal, total_weeks, current_week, status, created_at, updated_at)
    VALUES (r.id, r.user_id, CASE WHEN n = 1 THEN r.name ELSE r.name || '-' || n END, r.description, coalesce(r.goal, 'general_fitness'), dw, 1,
            CASE WHEN r.is_active THEN 'active' ELSE 'completed' END, r.created_at, r.updated_at);
    FOR n IN 1 .. dw LOOP
      INSERT INTO public.workout_weeks (plan_id, week_number, start_date, end_date)
      VALUES (r.id, n, r.start_date + (n - 1) * 7, r.start_date + n * 7 - 1);
    END LOOP;
  END LOOP;

  -- Days: one per (plan, label) group of exercises in every week of a migrated plan.
  FOR r IN SELECT e.plan_id,
                  coalesce(e.day_label,
                           CASE
                             WHEN e.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                             WHEN e.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                             WHEN e.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                             ELSE 'Upper Body'
                           END) AS day_label,
                  array_agg(DISTINCT e.muscle_group ORDER BY e.muscle_group) AS muscle_groups
             FROM v1.exercises e
            GROUP BY 1, 2 LOOP
    SELECT p.total_weeks INTO dw FROM public.workout_plans p WHERE p.id = r.plan_id;
    CONTINUE WHEN NOT FOUND;
    FOR n IN 1 .. dw LOOP
      SELECT w.id INTO wk FROM public.workout_weeks w WHERE w.plan_id = r.plan_id AND w.week_number = n;
      INSERT INTO public.workout_days (week_id, day_label, muscle_groups)
      VALUES (wk, r.day_label, r.muscle_groups);
    END LOOP;
  END LOOP;

  -- Exercises: orphans, invalid ones and those of rejected plans are skipped.
  FOR r IN SELECT * FROM v1.exercises LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM v1.workout_plans p WHERE p.id = r.plan_id);
    CONTINUE WHEN coalesce(r.sets <= 0 OR r.reps_min <= 0 OR r.weight < 0, false);
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM public.workout_plans p WHERE p.id = r.plan_id);
    lbl := coalesce(r.day_label,
                    CASE
                      WHEN r.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                      WHEN r.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                      WHEN r.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                      ELSE 'Upper Body'
                    END);
    SELECT d.id INTO dy
      FROM public.workout_weeks w JOIN public.workout_days d ON d.week_id = w.id
     WHERE w.plan_id = r.plan_id AND w.week_number = 1 AND d.day_label = lbl;
    INSERT INTO public.exercises
           (id, day_id, name, muscle_group, sets, target_reps_min, target_reps_max, target_weight,
            rest_seconds, notes, order_index)
    VALUES (r.id, dy, r.name, r.muscle_group, r.sets, r.reps_min, r.reps_max, r.weight,
            coalesce(r.rest_seconds, 90), r.notes, r.order_index);
  END LOOP;

  -- Sessions: the day is the week-1 day of the label most of its logged sets carry.
  FOR r IN SELECT * FROM v1.workout_sessions LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM public.workout_plans p WHERE p.id = r.plan_id);
    SELECT coalesce(e.day_label,
                               CASE
                                 WHEN e.muscle_group IN ('chest', 'shoulders', 'triceps') THEN 'Push Day'
                                 WHEN e.muscle_group IN ('back', 'biceps') THEN 'Pull Day'
                                 WHEN e.muscle_group IN ('quads', 'hamstrings', 'glutes') THEN 'Leg Day'
                                 ELSE 'Upper Body'
                               END) INTO lbl
      FROM v1.exercise_logs l JOIN v1.exercises e ON e.id = l.exercise_id
     WHERE l.session_id = r.id AND e.plan_id = r.plan_id
     GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1;
    SELECT d.id INTO dy
      FROM public.workout_weeks w JOIN public.workout_days d ON d.week_id = w.id
     WHERE w.plan_id = r.plan_id AND w.week_number = 1 AND d.day_label = lbl;
    INSERT INTO public.workout_sessions (id, user_id, plan_id, day_id, started_at, completed_at, status, notes)
    VALUES (r.id, r.user_id, r.plan_id, dy, r.started_at, r.completed_at,
            CASE WHEN r.completed_at IS NOT NULL THEN 'completed'
                 WHEN r.started_at < now() - interval '24 hours' THEN 'abandoned'
                 ELSE 'in_progress' END, r.notes);
  END LOOP;

  FOR r IN SELECT * FROM v1.exercise_logs LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM public.workout_sessions s WHERE s.id = r.session_id);
    -- A log whose exercise was not migrated keeps no exercise.
    INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at)
    VALUES (r.id, r.session_id,
            CASE WHEN EXISTS (SELECT 1 FROM public.exercises e WHERE e.id = r.exercise_id) THEN r.exercise_id END,
            r.set_number, r.reps, r.weight, r.completed_at);
  END LOOP;
END
$rowloop$;
