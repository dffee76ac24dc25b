-- Fingerprint of the migrated V2 tables: per table, the row count and the sum of a
-- 64-bit slice of md5(row as text) (order-independent, streams, no 1 GB text limit).
-- Freshly generated uuids (workout_weeks.id, workout_days.id, exercises.day_id,
-- workout_sessions.day_id and the week_id that points at them) are replaced by what they stand for: a week by
-- (plan_id, week_number), a day by its week's (plan_id, week_number) and its day_label.
SELECT 'workout_plans' AS t, count(*) AS n,
       coalesce(sum(('x' || left(md5(p::text), 16))::bit(64)::bigint), 0)::text AS h
  FROM public.workout_plans p
UNION ALL
SELECT 'workout_weeks', count(*),
       coalesce(sum(('x' || left(md5((w.plan_id, w.week_number, w.start_date, w.end_date, w.notes)::text), 16))::bit(64)::bigint), 0)::text
  FROM public.workout_weeks w
UNION ALL
SELECT 'workout_days', count(*),
       coalesce(sum(('x' || left(md5((w.plan_id, w.week_number, d.day_label, d.muscle_groups, d.notes,
                                      d.estimated_duration)::text), 16))::bit(64)::bigint), 0)::text
  FROM public.workout_days d
  LEFT JOIN public.workout_weeks w ON w.id = d.week_id
UNION ALL
SELECT 'exercises', count(*),
       coalesce(sum(('x' || left(md5((e.id, w.plan_id, w.week_number, d.day_label, e.name, e.muscle_group,
                                      e.sets, e.target_reps_min, e.target_reps_max, e.target_weight,
                                      e.target_rpe_min, e.target_rpe_max, e.rest_seconds, e.tempo,
                                      e.notes, e.video_url, e.order_index)::text), 16))::bit(64)::bigint), 0)::text
  FROM public.exercises e
  LEFT JOIN public.workout_days d ON d.id = e.day_id
  LEFT JOIN public.workout_weeks w ON w.id = d.week_id
UNION ALL
SELECT 'workout_sessions', count(*),
       coalesce(sum(('x' || left(md5((s.id, s.user_id, s.plan_id, w.plan_id, w.week_number, d.day_label,
                                      s.started_at, s.completed_at, s.status, s.notes)::text), 16))::bit(64)::bigint), 0)::text
  FROM public.workout_sessions s
  LEFT JOIN public.workout_days d ON d.id = s.day_id
  LEFT JOIN public.workout_weeks w ON w.id = d.week_id
UNION ALL
SELECT 'exercise_logs', count(*),
       coalesce(sum(('x' || left(md5(l::text), 16))::bit(64)::bigint), 0)::text
  FROM public.exercise_logs l
