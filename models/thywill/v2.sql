-- ThyWill v2 (PostgreSQL). Seed: 001_1b5878a1e86a430f, the INSERT of migrate_users and the
-- tables its archive and validation code read (users, prayers, prayer_marks), plus the
-- invites and admin roles v1 had. Ids stay uuid4().hex text, so links and archives keep working.

CREATE TABLE users (
    id                   text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    display_name         text        NOT NULL CHECK (btrim(display_name) <> ''),
    email                text,
    religious_preference text        NOT NULL DEFAULT 'unspecified',
    prayer_style         text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    is_active            boolean     NOT NULL DEFAULT true
);

CREATE TABLE prayers (
    id               text        PRIMARY KEY,
    author_id        text        NOT NULL REFERENCES users (id),
    text             text        NOT NULL,
    generated_prayer text,
    target_audience  text        NOT NULL DEFAULT 'all',
    is_flagged       boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL
);

CREATE INDEX prayers_author_id_idx ON prayers (author_id);

CREATE TABLE prayer_marks (
    id        text        PRIMARY KEY,
    prayer_id text        NOT NULL REFERENCES prayers (id),
    user_id   text        NOT NULL REFERENCES users (id),
    marked_at timestamptz NOT NULL
);

CREATE INDEX prayer_marks_prayer_id_idx ON prayer_marks (prayer_id);

CREATE TABLE invites (
    token              text        PRIMARY KEY,
    created_by_user_id text        NOT NULL REFERENCES users (id),
    used_by_user_id    text        REFERENCES users (id),
    used               boolean     NOT NULL,
    expires_at         timestamptz NOT NULL
);

CREATE TABLE roles (
    id   text PRIMARY KEY,
    name text NOT NULL UNIQUE
);

CREATE TABLE user_roles (
    user_id    text        NOT NULL REFERENCES users (id),
    role_id    text        NOT NULL REFERENCES roles (id),
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
