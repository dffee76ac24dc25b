-- Soccer drills v2: one database for the Apple and the Android app (uuid ids).
-- Seed: 000_feb6f8ea2bc23ebf ("V2 Production Migration Guide").
-- Loaded into `public`; names are unqualified.
--
-- Android users exist only here; Apple users come from v1, and some of them already have
-- stale rows here (same email) that the migration replaces. The drill catalog (drills) is
-- V2's own and is not migrated: v1 drill ids map to V2 drill uuids by title.
-- completed_sessions.drills is json, not jsonb, so the key order is kept: in every element
-- that has a drill, the drill object starts with "uuid":
--   {"drill": {"uuid": "0a0ad37e-...", "title": "L-drags", "skill": "dribbling",
--              "duration": 5}, "setsDone": 2, "totalSets": 4, "isCompleted": true}
-- Every foreign key column is the leading column of an index (a PRIMARY KEY or UNIQUE
-- constraint whose first column is the FK column counts as that index). All foreign keys
-- are plain: deleting a user's rows has to go child first.

CREATE TABLE users (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email       text        NOT NULL UNIQUE,
    name        text,
    created_at  timestamptz NOT NULL
);

CREATE TABLE drills (
    uuid              uuid    PRIMARY KEY,
    title             text    NOT NULL UNIQUE,
    skill             text    NOT NULL,
    duration_minutes  integer NOT NULL
);

CREATE TABLE completed_sessions (
    id             uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid    NOT NULL REFERENCES users (id),
    date           date    NOT NULL,
    drills         json    NOT NULL,            -- json: key order kept ("uuid" first)
    total_minutes  integer NOT NULL
);

CREATE INDEX idx_completed_sessions_user_id ON completed_sessions (user_id);

-- Index on user_id: the UNIQUE constraint.
CREATE TABLE session_preferences (
    id                   uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid    NOT NULL UNIQUE REFERENCES users (id),
    duration_minutes     integer,
    training_style       text,
    difficulty           text,
    available_equipment  text[]
);

CREATE TABLE drill_groups (
    id              uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid    NOT NULL REFERENCES users (id),
    name            text    NOT NULL,
    is_liked_group  boolean NOT NULL DEFAULT false
);

CREATE INDEX idx_drill_groups_user_id ON drill_groups (user_id);

-- Index on group_id: the primary key.
CREATE TABLE drill_group_items (
    group_id    uuid    NOT NULL REFERENCES drill_groups (id),
    drill_uuid  uuid    NOT NULL REFERENCES drills (uuid),
    position    integer NOT NULL,
    PRIMARY KEY (group_id, drill_uuid)
);

CREATE INDEX idx_drill_group_items_drill_uuid ON drill_group_items (drill_uuid);

-- New in v2 (v1 has no notes): a note on one item of a group, by a composite foreign key.
CREATE TABLE drill_group_item_notes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    group_id    uuid NOT NULL,
    drill_uuid  uuid NOT NULL,
    note        text NOT NULL,
    FOREIGN KEY (group_id, drill_uuid) REFERENCES drill_group_items (group_id, drill_uuid)
);

CREATE INDEX idx_drill_group_item_notes_item ON drill_group_item_notes (group_id, drill_uuid);

CREATE TABLE ordered_session_drills (
    id          uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid    NOT NULL REFERENCES users (id),
    drill_uuid  uuid    NOT NULL REFERENCES drills (uuid),
    position    integer NOT NULL,
    sets        integer,
    reps        integer,
    duration    integer
);

CREATE INDEX idx_ordered_session_drills_user_id ON ordered_session_drills (user_id);
CREATE INDEX idx_ordered_session_drills_drill_uuid ON ordered_session_drills (drill_uuid);

-- Index on user_id: the UNIQUE constraint. total_sessions replaces v1's
-- completed_sessions_count; the per-session averages, per-skill counts and favorite drill
-- are the seed's "enhanced metrics", computed from the completed sessions.
CREATE TABLE progress_history (
    id                          uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                     uuid         NOT NULL UNIQUE REFERENCES users (id),
    current_streak              integer      NOT NULL,
    highest_streak              integer      NOT NULL,
    total_sessions              integer      NOT NULL,
    drills_per_session          numeric(6,2),
    minutes_per_session         numeric(6,2),
    dribbling_drills_completed  integer      NOT NULL DEFAULT 0,
    passing_drills_completed    integer      NOT NULL DEFAULT 0,
    shooting_drills_completed   integer      NOT NULL DEFAULT 0,
    favorite_drill              text
);
