-- Journal app v1: user ids are strings (varchar(36)) holding UUIDs.
-- Seed: 003_1a8b5884f9b12840 ("Migration Procedures for UUID Schema Conversion").
-- Names are unqualified; the model's target schema (public) holds them.

CREATE TABLE users (
    id            varchar(36) PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Meaningless once id is a uuid: V2 drops it.
    CONSTRAINT users_id_not_blank CHECK (id <> '')
);

CREATE TABLE journal_entries (
    id          bigint      PRIMARY KEY,
    user_id     varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    body        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journal_entries_title_not_blank CHECK (title <> '')
);

CREATE INDEX idx_journal_entries_user_id ON journal_entries (user_id);
CREATE INDEX idx_journal_entries_user_created ON journal_entries (user_id, created_at DESC);

-- user_id may be NULL in v1 (V2 makes it NOT NULL); UNIQUE per user.
CREATE TABLE tags (
    id       bigint      PRIMARY KEY,
    user_id  varchar(36) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
    name     text        NOT NULL,
    CONSTRAINT tags_user_id_name_key UNIQUE (user_id, name)
);

-- No foreign key in v1: reminders of deleted users stayed behind (orphans). V2 adds it.
CREATE TABLE reminders (
    id        bigint      PRIMARY KEY,
    user_id   varchar(36) NOT NULL,
    remind_at timestamptz NOT NULL,
    message   text        NOT NULL,
    done      boolean     NOT NULL DEFAULT false
);

CREATE INDEX idx_reminders_user_id ON reminders (user_id);
CREATE INDEX idx_reminders_pending ON reminders (user_id, remind_at) WHERE NOT done;
-- A covering index with storage parameters (user_id INCLUDEd), and a constraint added NOT
-- VALID: in-place mode re-creates both as they are.
CREATE INDEX idx_reminders_due ON reminders (remind_at) INCLUDE (user_id) WITH (fillfactor = 80) WHERE NOT done;
ALTER TABLE reminders ADD CONSTRAINT reminders_user_id_set CHECK (user_id IS NOT NULL) NOT VALID;
