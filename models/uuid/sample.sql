-- Journal v1 sample data (models/uuid/v1.sql), deterministic, at any scale.
--
--   psql -v ON_ERROR_STOP=1 [-v scale=N] [-v traps=0] [-v schema=public] -f sample.sql
--
-- scale defaults to 1, traps to 1, schema to public (the tables of v1.sql must exist there,
-- empty). Per unit of scale: 500 users, 3,000 journal_entries, 1,000 tags, 1,500 reminders.
-- Same scale -> identical rows: ids are md5(<kind> || <row number>)::uuid spelled as text,
-- every other value a function of the row number (no random(), no now()).
--
-- Shape: entry e belongs to user (e - 1) % n_users + 1; tag t to user (t - 1) % n_users + 1;
-- reminder r to user (r - 1) % n_users + 1.
-- Spelling: users with i % 17 = 0 have their id in UPPER case (a valid UUID; the uuid column
-- prints it in lower case, which is what verify compares with).
--
-- Traps (with traps=1, the default), the seed's "Invalid UUID Format" and "Orphaned Records":
--   users      i % 125 = 0   id is not a UUID: i % 375 = 0 'user-<i>', i % 375 = 125 the UUID
--                            cut to 35 characters, i % 375 = 250 one 'g' in place of the last
--                            digit; their entries and tags carry the same string (the FKs of
--                            journal_entries and tags make that the only way), and so do
--                            their reminders
--   reminders  r % 150 = 0   user_id is a valid UUID of no user (orphan): reminders is the only
--                            table without a FOREIGN KEY in v1, so the only one with orphans
--   tags       t % 200 = 0   user_id NULL (V2 makes it NOT NULL)

\if :{?scale}
\else
\set scale 1
\endif
\if :{?traps}
\else
\set traps 1
\endif
\if :{?schema}
\else
\set schema public
\endif

SET search_path = :"schema";

SELECT 500  * :'scale'::integer AS n_users,
       3000 * :'scale'::integer AS n_entries,
       1000 * :'scale'::integer AS n_tags,
       1500 * :'scale'::integer AS n_reminders,
       :'traps'::boolean AS traps
\gset

-- The id of user i, as v1 stores it (a UUID, or with traps a broken one).
CREATE FUNCTION pg_temp.user_id(i integer, traps boolean) RETURNS varchar(36)
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
           WHEN traps AND i % 375 = 0 THEN 'user-' || i
           WHEN traps AND i % 375 = 125 THEN left(md5('user' || i)::uuid::text, 35)
           WHEN traps AND i % 375 = 250 THEN left(md5('user' || i)::uuid::text, 35) || 'g'
           WHEN i % 17 = 0 THEN upper(md5('user' || i)::uuid::text)
           ELSE md5('user' || i)::uuid::text
         END
$$;

INSERT INTO users (id, email, display_name, created_at)
SELECT pg_temp.user_id(i, :'traps'),
       'user' || i || '@example.com',
       CASE WHEN i % 9 = 0 THEN NULL ELSE 'User ' || i END,
       timestamptz '2023-01-01 00:00:00+00' + i * interval '37 minutes'
FROM generate_series(1, :n_users) AS i;

INSERT INTO journal_entries (id, user_id, title, body, created_at)
SELECT e,
       pg_temp.user_id((e - 1) % :n_users + 1, :'traps'),
       'Entry ' || e,
       CASE WHEN e % 6 = 0 THEN NULL ELSE repeat('Dear diary, day ' || e || '. ', 1 + e % 4) END,
       timestamptz '2023-02-01 00:00:00+00' + e * interval '11 minutes'
FROM generate_series(1, :n_entries) AS e;

INSERT INTO tags (id, user_id, name)
SELECT t,
       CASE WHEN :'traps' AND t % 200 = 0 THEN NULL ELSE pg_temp.user_id((t - 1) % :n_users + 1, :'traps') END,
       'tag-' || ((t - 1) / :n_users + 1)
FROM generate_series(1, :n_tags) AS t;

INSERT INTO reminders (id, user_id, remind_at, message, done)
SELECT r,
       CASE WHEN :'traps' AND r % 150 = 0 THEN md5('gone' || r)::uuid::text
            ELSE pg_temp.user_id((r - 1) % :n_users + 1, :'traps') END,
       timestamptz '2024-01-01 09:00:00+00' + r * interval '3 hours',
       'Remember ' || r,
       r % 3 = 0
FROM generate_series(1, :n_reminders) AS r;
