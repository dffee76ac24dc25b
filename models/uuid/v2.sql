-- Journal app v2: user ids are native uuids.
-- Seed: 003_1a8b5884f9b12840. Same tables and names as v1.sql; what changes:
--   users.id                  varchar(36) -> uuid, DEFAULT gen_random_uuid(), CHECK dropped
--   journal_entries.user_id   varchar(36) -> uuid
--   tags.user_id              varchar(36) -> uuid, NOT NULL
--   reminders.user_id         varchar(36) -> uuid, FOREIGN KEY added (ON DELETE CASCADE)

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL UNIQUE,
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journal_entries (
    id          bigint      PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    body        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journal_entries_title_not_blank CHECK (title <> '')
);

CREATE INDEX idx_journal_entries_user_id ON journal_entries (user_id);
CREATE INDEX idx_journal_entries_user_created ON journal_entries (user_id, created_at DESC);

CREATE TABLE tags (
    id       bigint      PRIMARY KEY,
    user_id  uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
    name     text        NOT NULL,
    CONSTRAINT tags_user_id_name_key UNIQUE (user_id, name)
);

CREATE TABLE reminders (
    id        bigint      PRIMARY KEY,
    user_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
