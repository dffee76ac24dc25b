-- V2's foreign keys off for the load (re-added, and so validated in one pass each, by fk_add.sql).
ALTER TABLE public.workout_weeks    DROP CONSTRAINT workout_weeks_plan_id_fkey;
ALTER TABLE public.workout_days     DROP CONSTRAINT workout_days_week_id_fkey;
ALTER TABLE public.exercises        DROP CONSTRAINT exercises_day_id_fkey;
ALTER TABLE public.workout_sessions DROP CONSTRAINT workout_sessions_plan_id_fkey;
ALTER TABLE public.workout_sessions DROP CONSTRAINT workout_sessions_day_id_fkey;
ALTER TABLE public.exercise_logs    DROP CONSTRAINT exercise_logs_session_id_fkey;
ALTER TABLE public.exercise_logs    DROP CONSTRAINT exercise_logs_exercise_id_fkey;
