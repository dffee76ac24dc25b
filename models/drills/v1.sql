-- Soccer drills v1: the database of the Apple app (integer ids).
-- Seed: 000_feb6f8ea2bc23ebf ("V2 Production Migration Guide").
-- Loaded with `SET search_path = v1`; names are unqualified on purpose.
--
-- Every Apple user lives here. V2 (v2.sql) holds the Android users, the V2 drill catalog
-- (matched to v1 drills by title, not by id) and stale copies of some Apple users.
-- completed_sessions.drills is a jsonb array; each element normally looks like
--   {"drill": {"id": 12, "title": "L-drags", "skill": "dribbling", "duration": 5},
--    "setsDone": 2, "totalSets": 4, "isCompleted": true}
-- (jsonb keeps no key order), and a few elements have no "drill" key at all
-- ({"note": "rest", "setsDone": 0}).
-- Every foreign key column is the leading column of an index (a PRIMARY KEY or UNIQUE
-- constraint whose first column is the FK column counts as that index).

CREATE TABLE users (
    id          serial      PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    name        text,
    created_at  timestamptz NOT NULL
);

CREATE TABLE drills (
    id                serial  PRIMARY KEY,
    title             text    NOT NULL,
    skill             text    NOT NULL
                              CHECK (skill IN ('dribbling', 'passing', 'shooting',
                                               'first_touch', 'fitness')),
    duration_minutes  integer NOT NULL
);

CREATE TABLE completed_sessions (
    id             serial  PRIMARY KEY,
    user_id        integer NOT NULL REFERENCES users (id),
    date           date    NOT NULL,
    drills         jsonb   NOT NULL,            -- array of drill elements, see above
    total_minutes  integer NOT NULL
);

CREATE INDEX idx_completed_sessions_user_id ON completed_sessions (user_id);

-- Index on user_id: the UNIQUE constraint.
CREATE TABLE session_preferences (
    id                   serial  PRIMARY KEY,
    user_id              integer NOT NULL UNIQUE REFERENCES users (id),
    duration_minutes     integer,
    training_style       text,
    difficulty           text,
    available_equipment  text[]
);

CREATE TABLE drill_groups (
    id              serial  PRIMARY KEY,
    user_id         integer NOT NULL REFERENCES users (id),
    name            text    NOT NULL,
    is_liked_group  boolean NOT NULL DEFAULT false
);

CREATE INDEX idx_drill_groups_user_id ON drill_groups (user_id);

-- Index on group_id: the primary key.
CREATE TABLE drill_group_items (
    group_id  integer NOT NULL REFERENCES drill_groups (id),
    drill_id  integer NOT NULL REFERENCES drills (id),
    position  integer NOT NULL,
    PRIMARY KEY (group_id, drill_id)
);

CREATE INDEX idx_drill_group_items_drill_id ON drill_group_items (drill_id);

CREATE TABLE ordered_session_drills (
    id        serial  PRIMARY KEY,
    user_id   integer NOT NULL REFERENCES users (id),
    drill_id  integer NOT NULL REFERENCES drills (id),
    position  integer NOT NULL,
    sets      integer,
    reps      integer,
    duration  integer
);

CREATE INDEX idx_ordered_session_drills_user_id ON ordered_session_drills (user_id);
CREATE INDEX idx_ordered_session_drills_drill_id ON ordered_session_drills (drill_id);

-- Index on user_id: the UNIQUE constraint. The numbers are whatever the app last wrote
-- (stale); V2 recomputes its metrics from the completed sessions.
CREATE TABLE progress_history (
    id                        serial  PRIMARY KEY,
    user_id                   integer NOT NULL UNIQUE REFERENCES users (id),
    current_streak            integer NOT NULL,
    highest_streak            integer NOT NULL,
    completed_sessions_count  integer NOT NULL
);
