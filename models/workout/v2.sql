-- Workout v2: hierarchical plans -> weeks -> days -> exercises, plus session tracking.
-- Seed: 004_187fa8d5413e3cad ("Workout v1 -> v2 Migration Guide").
-- Loaded into `public`; names are unqualified.
-- Every foreign key column is the leading column of an index (a UNIQUE constraint
-- whose first column is the FK column counts as that index).

CREATE TABLE workout_plans (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL,
    name          text        NOT NULL,
    description   text,
    goal          text        NOT NULL DEFAULT 'general_fitness',
    total_weeks   integer     NOT NULL CHECK (total_weeks > 0),
    current_week  integer     NOT NULL DEFAULT 1 CHECK (current_week BETWEEN 1 AND total_weeks),
    status        text        NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'completed', 'paused')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workout_plans_user_id_name_key UNIQUE (user_id, name)
);

-- Index on plan_id: the UNIQUE (plan_id, week_number) constraint.
CREATE TABLE workout_weeks (
    id           uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id      uuid    NOT NULL REFERENCES workout_plans (id) ON DELETE CASCADE,
    week_number  integer NOT NULL CHECK (week_number > 0),
    start_date   date,
    end_date     date,
    notes        text,
    CONSTRAINT workout_weeks_plan_id_week_number_key UNIQUE (plan_id, week_number),
    CONSTRAINT workout_weeks_dates_check CHECK (end_date >= start_date)
);

-- Index on week_id: the UNIQUE (week_id, day_label) constraint.
CREATE TABLE workout_days (
    id                  uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    week_id             uuid    NOT NULL REFERENCES workout_weeks (id) ON DELETE CASCADE,
    day_label           text    NOT NULL,
    muscle_groups       text[]  NOT NULL DEFAULT '{}',
    notes               text,
    estimated_duration  integer CHECK (estimated_duration > 0),   -- minutes
    CONSTRAINT workout_days_week_id_day_label_key UNIQUE (week_id, day_label)
);

CREATE TABLE exercises (
    id               uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    day_id           uuid         NOT NULL REFERENCES workout_days (id) ON DELETE CASCADE,
    name             text         NOT NULL,
    muscle_group     text,
    sets             integer      NOT NULL CHECK (sets > 0),
    target_reps_min  integer      CHECK (target_reps_min > 0),
    target_reps_max  integer      CHECK (target_reps_max > 0),
    target_weight    numeric(6,2) CHECK (target_weight >= 0),
    target_rpe_min   numeric(3,1) CHECK (target_rpe_min BETWEEN 1 AND 10),
    target_rpe_max   numeric(3,1) CHECK (target_rpe_max BETWEEN 1 AND 10),
    rest_seconds     integer      NOT NULL DEFAULT 90 CHECK (rest_seconds >= 0),
    tempo            text,
    notes            text,
    video_url        text,
    order_index      integer      NOT NULL DEFAULT 0,
    CONSTRAINT exercises_reps_range_check CHECK (target_reps_max >= target_reps_min)
);

CREATE INDEX idx_exercises_day_id ON exercises (day_id);

-- day_id: which day of the plan the session trained (the seed's check #6 counts it);
-- v1 does not record it, so migrated sessions have it NULL.
CREATE TABLE workout_sessions (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL,
    plan_id       uuid        REFERENCES workout_plans (id) ON DELETE SET NULL,
    day_id        uuid        REFERENCES workout_days (id) ON DELETE SET NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    status        text        NOT NULL DEFAULT 'in_progress'
                              CHECK (status IN ('in_progress', 'completed', 'abandoned')),
    notes         text,
    CONSTRAINT workout_sessions_completed_after_start CHECK (completed_at >= started_at)
);

CREATE INDEX idx_workout_sessions_user_id ON workout_sessions (user_id);
CREATE INDEX idx_workout_sessions_plan_id ON workout_sessions (plan_id);
CREATE INDEX idx_workout_sessions_day_id ON workout_sessions (day_id);

CREATE TABLE exercise_logs (
    id            uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id    uuid         NOT NULL REFERENCES workout_sessions (id) ON DELETE CASCADE,
    exercise_id   uuid         REFERENCES exercises (id) ON DELETE SET NULL,
    set_number    integer      NOT NULL CHECK (set_number > 0),
    reps          integer      CHECK (reps >= 0),
    weight        numeric(6,2) CHECK (weight >= 0),
    rpe           numeric(3,1) CHECK (rpe BETWEEN 1 AND 10),         -- new in v2
    is_warmup     boolean      NOT NULL DEFAULT false,               -- new in v2
    completed_at  timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idx_exercise_logs_session_id ON exercise_logs (session_id);
CREATE INDEX idx_exercise_logs_exercise_id ON exercise_logs (exercise_id);
