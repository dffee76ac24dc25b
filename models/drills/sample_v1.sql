-- Soccer drills v1 sample data (the Apple users), deterministic, at any scale.
--
--   psql -v ON_ERROR_STOP=1 -v scale=N [-v schema=v1] -f sample_v1.sql
--
-- scale defaults to 1, schema to v1 (the tables of v1.sql must exist there, empty). Run it
-- before sample_v2.sql (same scale), which fills V2 with the Android users and the stale
-- copies of some of these Apple users.
-- Per unit of scale (exact at every scale: the formula of every count below has a period
-- dividing 20 users, 160 session slots, 40 groups or 80 ordered drills):
--     20 users, 144 completed_sessions, 18 session_preferences, 40 drill_groups,
--     140 drill_group_items, 80 ordered_session_drills, 20 progress_history
-- plus exactly 30 drills at every scale (the catalog does not grow with scale).
-- Same scale -> identical rows: ids are the row numbers (the serial sequences are set past
-- them), every other value a function of the row number (no random(), no now()).
-- All timestamps and dates lie in 2023-2024.
--
-- Shape: user u has email 'apple' || u || '@example.com'. Session slot s (1 .. 160 * scale)
-- belongs to user u = (s - 1) / 8 + 1 as its k-th session, k = (s - 1) % 8; its date is
-- 2024-01-01 + (7 u) % 300 + offset[k], offsets by u % 3:
--     0: 0 1 2 3 7 8 14 15   1: 0 2 4 5 6 7 8 20   2: 0 1 3 4 5 10 11 12
-- (runs of consecutive days over all 8 slots: highest 4 / 5 / 3, last run 2 / 1 / 3; a
-- rejected session, s % 20 = 7 below, cuts a run if the migration drops it).
-- Group g (1 .. 40 * scale) belongs to user (g - 1) / 2 + 1: odd g is the user's liked group
-- ('Liked Drills', is_liked_group) with 4 items, even g a named group with 3 items; item p
-- (position 1..) is drill 1 + (5 g + 7 p) % 28. Ordered drill o (1 .. 80 * scale) belongs to
-- user (o - 1) / 4 + 1 at position (o - 1) % 4 + 1, drill 1 + (3 o) % 28.
--
-- Session JSON (completed_sessions.drills, a jsonb array; the element objects are written
-- with the keys drill, setsDone, totalSets, isCompleted and the drill with id, title, skill,
-- duration, but jsonb keeps no key order): session s has 1 + (3 s) % 4 drill elements;
-- drill element e (1..) is drill 1 + (7 s + 11 e) % 28 with its exact v1 title, skill and
-- duration_minutes as "duration"; totalSets 2 + (s + e) % 3, isCompleted (s + e) % 7 <> 0,
-- setsDone totalSets when completed, else (s + e) % totalSets. total_minutes is the sum of
-- the durations of the session's drill elements.
--
-- Planted cases, counts per unit of scale:
--   drills     29 'Old Cone Weave', 30 'Retired Juggle': no V2 drill has these titles  (2)
--              1..28: exactly the titles of the V2 catalog (sample_v2.sql), whose order
--              differs (V2 drill n = md5('drill' || n) is v1 drill 29 - n)
--   sessions   users u % 10 = 2 have no session slots filled: no completed_sessions
--              (u % 20 = 12 of them has stale sessions in V2)              (2 users, 16 slots)
--              s % 20 = 7: the last drill element (always the 2nd of 2) is drill
--              29 + (s / 20) % 2 (29 or 30), unmatched in V2: the session is rejected
--                                                                          (8 sessions, 5.6 %)
--              s % 20 = 3: a rest element {"note": "rest", "setsDone": 0} with no "drill"
--              key at position 2, between the session's 2 drill elements: to be copied
--              untouched                                                    (8 sessions)
--              s % 80 = 40: the session is only a rest element; total_minutes 0  (2 sessions)
--              s % 80 = 25: the first element is {"drill": null, "setsDone": 0, ...}: holds
--              no drill (not counted in drills_per_session), copied untouched    (2 sessions)
--              s % 80 = 51: an empty drills array []; total_minutes 0        (2 sessions)
--              elements without a drill object: 10 without a "drill" key, 2 with "drill":
--              null, of 364 (3.3 %)
--   groups     g % 20 = 6: item 2 is drill 29 (unmatched in V2)                (2 items)
--   ordered    o % 40 = 20: drill 30 (unmatched in V2)                         (2 rows)
--   prefs      users u % 10 = 8 have no session_preferences (u % 20 = 8 of them has a
--              stale one in V2)                                              (2 users)
--              u % 20 = 3 duration_minutes NULL                              (1)
--              u % 5 = 0 available_equipment '{}', u % 5 = 4 NULL            (4 and 4)
--   users      u % 20 = 15 name NULL                                          (1)
--   progress   stale: completed_sessions_count = 3 + u % 5, never the real number of
--              sessions (8, or 0 for u % 10 = 2); current_streak u % 4, highest_streak
--              u % 4 + u % 3 + 1, unrelated to the sessions' days (12 of the 18 users
--              with sessions differ from the runs above)                     (20)

\if :{?scale}
\else
\set scale 1
\endif
\if :{?schema}
\else
\set schema v1
\endif

SET search_path = :"schema";

SELECT 20  * :'scale'::integer AS n_users,
       160 * :'scale'::integer AS n_session_slots,
       40  * :'scale'::integer AS n_groups,
       80  * :'scale'::integer AS n_ordered
\gset

-- Users --------------------------------------------------------------------------------
INSERT INTO users (id, email, name, created_at)
SELECT u,
       'apple' || u || '@example.com',
       CASE WHEN u % 20 = 15 THEN NULL
            ELSE (ARRAY['Liam', 'Olivia', 'Noah', 'Emma', 'Mateo', 'Sofia', 'Lucas', 'Mia',
                        'Ethan', 'Amara', 'Kai', 'Zoe'])[1 + u % 12]
                 || ' ' ||
                 (ARRAY['Silva', 'Smith', 'Okafor', 'Müller', 'García', 'Kim', 'Rossi',
                        'Dubois', 'Nguyen', 'Johnson', 'Costa', 'Larsen', 'Mensah'])[1 + (u * 7) % 13]
       END,
       timestamptz '2023-01-05 09:00:00+00' + ((u::bigint * 7919) % 400000) * interval '1 minute'
  FROM generate_series(1, :n_users) AS u;

-- Drills: exactly 30 at every scale ------------------------------------------------------
-- 1..28 have the titles of the V2 catalog; 29 and 30 match no V2 title.
INSERT INTO drills (id, title, skill, duration_minutes)
VALUES ( 1, 'L-drags',                 'dribbling',    5),
       ( 2, 'Toe Taps',                'dribbling',    5),
       ( 3, 'Inside-Outside Touches',  'dribbling',   10),
       ( 4, 'Cone Slalom',             'dribbling',   10),
       ( 5, 'Sole Rolls',              'dribbling',    5),
       ( 6, 'Figure Eights',           'dribbling',   15),
       ( 7, 'Wall Passes',             'passing',     10),
       ( 8, 'One-Touch Passing',       'passing',     10),
       ( 9, 'Long Balls',              'passing',     15),
       (10, 'Triangle Passing',        'passing',     15),
       (11, 'Driven Passes',           'passing',     10),
       (12, 'Rondo 3v1',               'passing',     20),
       (13, 'Finishing from the Edge', 'shooting',    15),
       (14, 'Volleys',                 'shooting',    10),
       (15, 'Penalty Practice',        'shooting',    10),
       (16, 'Power Shots',             'shooting',    15),
       (17, 'Weak Foot Finishing',     'shooting',    20),
       (18, 'Chip Shots',              'shooting',    10),
       (19, 'Cushion Control',         'first_touch',  5),
       (20, 'Juggling',                'first_touch', 10),
       (21, 'Aerial Control',          'first_touch', 10),
       (22, 'Receive and Turn',        'first_touch', 15),
       (23, 'Thigh Control',           'first_touch',  5),
       (24, 'Chest Control',           'first_touch',  5),
       (25, 'Sprint Intervals',        'fitness',     20),
       (26, 'Shuttle Runs',            'fitness',     15),
       (27, 'Agility Ladder',          'fitness',     10),
       (28, 'Plyometric Jumps',        'fitness',     10),
       (29, 'Old Cone Weave',          'dribbling',   10),
       (30, 'Retired Juggle',          'first_touch',  5);

-- Completed sessions -------------------------------------------------------------------
INSERT INTO completed_sessions (id, user_id, date, drills, total_minutes)
SELECT s,
       x.u,
       date '2024-01-01' + (x.u * 7) % 300
       + (CASE x.u % 3 WHEN 0 THEN ARRAY[0, 1, 2, 3, 7, 8, 14, 15]
                       WHEN 1 THEN ARRAY[0, 2, 4, 5, 6, 7, 8, 20]
                       ELSE        ARRAY[0, 1, 3, 4, 5, 10, 11, 12]
          END)[1 + x.k],
       j.drills,
       j.total_minutes
  FROM generate_series(1, :n_session_slots) AS s
 CROSS JOIN LATERAL (SELECT (s - 1) / 8 + 1 AS u, (s - 1) % 8 AS k) AS x
 CROSS JOIN LATERAL (
       SELECT coalesce(jsonb_agg(el.elem ORDER BY el.p), '[]') AS drills,
              coalesce(sum(el.minutes), 0)::integer AS total_minutes
         FROM (SELECT p,
                      CASE WHEN r.is_rest THEN jsonb_build_object('note', 'rest', 'setsDone', 0)
                           WHEN s % 80 = 25 AND p = 1
                           THEN jsonb_build_object('drill', 'null'::jsonb, 'setsDone', 0,
                                                   'totalSets', 0, 'isCompleted', false)
                           ELSE jsonb_build_object(
                                  'drill', jsonb_build_object('id', d.id,
                                                              'title', d.title,
                                                              'skill', d.skill,
                                                              'duration', d.duration_minutes),
                                  'setsDone', CASE WHEN (s + r.e) % 7 <> 0 THEN 2 + (s + r.e) % 3
                                                   ELSE (s + r.e) % (2 + (s + r.e) % 3)
                                              END,
                                  'totalSets', 2 + (s + r.e) % 3,
                                  'isCompleted', (s + r.e) % 7 <> 0)
                      END AS elem,
                      CASE WHEN r.is_rest OR (s % 80 = 25 AND p = 1) THEN 0
                           ELSE d.duration_minutes
                      END AS minutes
                 FROM generate_series(1, CASE WHEN s % 80 = 40 THEN 1
                                              WHEN s % 80 = 51 THEN 0
                                              ELSE 1 + (3 * s) % 4 + (s % 20 = 3)::integer
                                         END) AS p
                CROSS JOIN LATERAL (
                      SELECT s % 80 = 40 OR (s % 20 = 3 AND p = 2)   AS is_rest,
                             p - (s % 20 = 3 AND p > 2)::integer     AS e
                      ) AS r
                 LEFT JOIN drills d
                        ON d.id = CASE WHEN s % 20 = 7 AND r.e = 1 + (3 * s) % 4
                                       THEN 29 + (s / 20) % 2
                                       ELSE 1 + (7 * s + 11 * r.e) % 28
                                  END
              ) AS el
       ) AS j
 WHERE x.u % 10 <> 2;

-- Session preferences ------------------------------------------------------------------
INSERT INTO session_preferences
       (id, user_id, duration_minutes, training_style, difficulty, available_equipment)
SELECT u,
       u,
       CASE WHEN u % 20 = 3 THEN NULL ELSE 15 + (u % 4) * 15 END,
       (ARRAY['low intensity', 'medium intensity', 'high intensity'])[1 + u % 3],
       (ARRAY['beginner', 'intermediate', 'advanced'])[1 + (u / 3) % 3],
       CASE u % 5 WHEN 0 THEN '{}'::text[]
                  WHEN 1 THEN ARRAY['ball']
                  WHEN 2 THEN ARRAY['ball', 'cones']
                  WHEN 3 THEN ARRAY['ball', 'cones', 'goal']
       END
  FROM generate_series(1, :n_users) AS u
 WHERE u % 10 <> 8;

-- Drill groups and their items ---------------------------------------------------------
INSERT INTO drill_groups (id, user_id, name, is_liked_group)
SELECT g,
       (g - 1) / 2 + 1,
       CASE WHEN g % 2 = 1 THEN 'Liked Drills'
            ELSE (ARRAY['Morning Routine', 'Weak Foot Work', 'Match Prep', 'Quick Session',
                        'Finishing'])[1 + (g / 2) % 5]
       END,
       g % 2 = 1
  FROM generate_series(1, :n_groups) AS g;

INSERT INTO drill_group_items (group_id, drill_id, position)
SELECT g,
       CASE WHEN g % 20 = 6 AND p = 2 THEN 29 ELSE 1 + (5 * g + 7 * p) % 28 END,
       p
  FROM generate_series(1, :n_groups) AS g
 CROSS JOIN LATERAL generate_series(1, 3 + g % 2) AS p;

-- Ordered session drills ---------------------------------------------------------------
INSERT INTO ordered_session_drills (id, user_id, drill_id, position, sets, reps, duration)
SELECT o,
       (o - 1) / 4 + 1,
       CASE WHEN o % 40 = 20 THEN 30 ELSE 1 + (3 * o) % 28 END,
       (o - 1) % 4 + 1,
       CASE WHEN o % 10 = 9 THEN NULL ELSE 2 + o % 3 END,
       CASE WHEN o % 5 = 0 THEN NULL ELSE 8 + o % 5 END,
       5 + (o % 4) * 5
  FROM generate_series(1, :n_ordered) AS o;

-- Progress history (stale numbers) -----------------------------------------------------
INSERT INTO progress_history (id, user_id, current_streak, highest_streak, completed_sessions_count)
SELECT u, u, u % 4, u % 4 + u % 3 + 1, 3 + u % 5
  FROM generate_series(1, :n_users) AS u;

-- Sequences past the explicit ids, so later inserts by default do not collide.
SELECT setval(pg_get_serial_sequence('users', 'id'), :n_users),
       setval(pg_get_serial_sequence('drills', 'id'), 30),
       setval(pg_get_serial_sequence('completed_sessions', 'id'), :n_session_slots),
       setval(pg_get_serial_sequence('session_preferences', 'id'), :n_users),
       setval(pg_get_serial_sequence('drill_groups', 'id'), :n_groups),
       setval(pg_get_serial_sequence('ordered_session_drills', 'id'), :n_ordered),
       setval(pg_get_serial_sequence('progress_history', 'id'), :n_users)
\g /dev/null

ANALYZE users, drills, completed_sessions, session_preferences, drill_groups,
        drill_group_items, ordered_session_drills, progress_history;
