-- V2's foreign keys back, exactly as v2.sql declares them; ADD CONSTRAINT validates every row
-- with one anti-join per key instead of one trigger query per inserted row.
ALTER TABLE public.workout_weeks    ADD CONSTRAINT workout_weeks_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.workout_plans (id) ON DELETE CASCADE;
ALTER TABLE public.workout_days     ADD CONSTRAINT workout_days_week_id_fkey FOREIGN KEY (week_id) REFERENCES public.workout_weeks (id) ON DELETE CASCADE;
ALTER TABLE public.exercises        ADD CONSTRAINT exercises_day_id_fkey FOREIGN KEY (day_id) REFERENCES public.workout_days (id) ON DELETE CASCADE;
ALTER TABLE public.workout_sessions ADD CONSTRAINT workout_sessions_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.workout_plans (id) ON DELETE SET NULL;
ALTER TABLE public.workout_sessions ADD CONSTRAINT workout_sessions_day_id_fkey FOREIGN KEY (day_id) REFERENCES public.workout_days (id) ON DELETE SET NULL;
ALTER TABLE public.exercise_logs    ADD CONSTRAINT exercise_logs_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.workout_sessions (id) ON DELETE CASCADE;
ALTER TABLE public.exercise_logs    ADD CONSTRAINT exercise_logs_exercise_id_fkey FOREIGN KEY (exercise_id) REFERENCES public.exercises (id) ON DELETE SET NULL;
