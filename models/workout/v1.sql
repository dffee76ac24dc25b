-- Workout v1: flat plans -> exercises, plus session tracking.
-- Seed: 004_187fa8d5413e3cad ("Workout v1 -> v2 Migration Guide").
-- Loaded with `SET search_path = v1`; names are unqualified on purpose
-- (the seed's `_v1` suffixes are carried by the schema name).

CREATE TABLE workout_plans (
    id              uuid        PRIMARY KEY,
    user_id         uuid,                       -- NULL-able in v1: the seed's check #1
    name            text        NOT NULL,       -- (user_id, name) not unique in v1: check #3
    description     text,
    goal            text,                       -- NULL -> 'general_fitness' in v2
    duration_weeks  integer,                    -- NULL -> 4 weeks in v2
    start_date      date        NOT NULL,
    is_active       boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_workout_plans_user_id ON workout_plans (user_id);

-- plan_id deliberately has NO foreign key: orphaned exercises exist (check #2).
CREATE TABLE exercises (
    id            uuid         PRIMARY KEY,
    plan_id       uuid         NOT NULL,
    name          text         NOT NULL,
    muscle_group  text         NOT NULL,
    day_label     text,                         -- NULL -> grouped by muscle group in v2
    sets          integer      NOT NULL,
    reps_min      integer,
    reps_max      integer,
    weight        numeric(6,2),                 -- NULL = bodyweight
    rest_seconds  integer,                      -- NULL -> 90 in v2
    notes         text,
    order_index   integer      NOT NULL DEFAULT 0
);

CREATE INDEX idx_exercises_plan_id ON exercises (plan_id);

CREATE TABLE workout_sessions (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL,
    plan_id       uuid        NOT NULL REFERENCES workout_plans (id),
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,                  -- NULL long after start: check #5
    notes         text
);

CREATE INDEX idx_workout_sessions_plan_id ON workout_sessions (plan_id);

CREATE TABLE exercise_logs (
    id            uuid         PRIMARY KEY,
    session_id    uuid         NOT NULL REFERENCES workout_sessions (id),
    exercise_id   uuid         NOT NULL REFERENCES exercises (id),
    set_number    integer      NOT NULL,
    reps          integer,
    weight        numeric(6,2),
    completed_at  timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idx_exercise_logs_session_id ON exercise_logs (session_id);
CREATE INDEX idx_exercise_logs_exercise_id ON exercise_logs (exercise_id);
