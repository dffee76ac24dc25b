-- Soccer drills v2 sample data (the drill catalog, the Android users and stale copies of
-- some Apple users), deterministic, at any scale.
--
--   psql -v ON_ERROR_STOP=1 -v scale=N [-v schema=public] -f sample_v2.sql
--
-- scale defaults to 1, schema to public (the tables of v2.sql must exist there, empty).
-- Meant to run after sample_v1.sql at the same scale, but reads nothing from v1: the Apple
-- emails and names are recomputed from the same formulas.
-- Per unit of scale (exact at every scale):
--     20 users (15 Android + 5 stale Apple), 97 completed_sessions (90 + 7),
--     17 session_preferences (12 + 5), 35 drill_groups (30 + 5), 105 drill_group_items
--     (90 + 15), 15 drill_group_item_notes (10 + 5), 50 ordered_session_drills (45 + 5),
--     20 progress_history (15 + 5)
-- plus exactly 30 drills at every scale (the catalog does not grow with scale).
-- Same scale -> identical rows, uuids included: every uuid is md5(<kind> || <number>)::uuid
-- and every value is a function of the row number (no random(), no now()).
-- All timestamps and dates lie in 2023-2024.
--
-- Drill catalog (not migrated; v1 drills map to it by exact title):
--   V2 drill n = 1..28 has uuid md5('drill' || n)::uuid and the title, skill and duration
--   of v1 drill 29 - n (the catalog order is reversed, so V2 drill n is NOT v1 drill n:
--   a mapping by id or position is wrong, only the title matches)              (28)
--   V2-only drills, no v1 drill has their title: n = 29 'Rondo 4v2', n = 30 'Box-to-Box
--   Runs' (md5('drill' || 29) and md5('drill' || 30): v1 drills 29 and 30 have other
--   titles and match no V2 drill)                                              (2)
--
-- Android users (exist only in V2; the migration must leave every row below unchanged):
--   user a (1 .. 15 * scale): id md5('android-user' || a), email
--   'android' || a || '@example.com'; a % 15 = 7 name NULL                       (15, 1)
--   sessions c (1 .. 90 * scale) of user (c - 1) / 6 + 1, id md5('android-session' || c),
--   date 2024-02-01 + (11 a) % 250 + (0 1 2 4 5 9)[k], k = (c - 1) % 6; 1 + c % 4 drill
--   elements {"drill": {"uuid", "title", "skill", "duration"}, "setsDone", "totalSets",
--   "isCompleted"} (json, keys in that order); element 1 is the user's favorite, V2 drill
--   1 + (7 a) % 30, element e > 1 is V2 drill 1 + (5 c + 7 e) % 30 (V2-only drills
--   included; a few sessions list the favorite twice: 4 at scale 1, 9 at scale 2)  (90)
--   The json text is json_build_object's ("key" : value); compare sessions as jsonb, or
--   key by key, not as text.
--   c % 15 = 4: a rest element {"note": "rest", "setsDone": 0} at the end          (6)
--   preferences: a % 5 <> 0, id md5('android-pref' || a)                          (12)
--   groups gg (1 .. 30 * scale) of user (gg - 1) / 2 + 1, id md5('android-group' || gg),
--   odd gg liked; 3 items each, item p is V2 drill 1 + (3 gg + 9 p) % 30          (30, 90)
--   notes: gg % 3 = 0, on item 1, id md5('android-note' || gg)                    (10)
--   ordered drills o (1 .. 45 * scale) of user (o - 1) / 3 + 1, id md5('android-osd' || o),
--   V2 drill 1 + (7 o) % 30                                                     (45)
--   progress_history: id md5('android-progress' || a), computed from the user's sessions:
--   total_sessions = sessions, drills_per_session / minutes_per_session = averages of
--   drill elements / total_minutes per session (2 decimals), <skill>_drills_completed =
--   drill elements of that skill with isCompleted true, favorite_drill = most frequent
--   title (ties: smallest title); current_streak 1, highest_streak 3 (the date pattern)
--                                                                                (15)
--
-- Stale copies of Apple users (the migration deletes these rows and writes fresh ones;
-- the user row itself is matched by email):
--   every Apple user u with u % 4 = 0 (u = 4 j, j = 1 .. 5 * scale): id md5('apple-user' || u),
--   same email 'apple' || u || '@example.com' and created_at as in v1, except (as typed
--   by hand, the same address read case-insensitively and trimmed) u % 20 = 8:
--   'Apple' || u || '@Example.com', u % 20 = 16: '  apple' || u || '@example.com ';
--   name as in v1 except u % 20 = 16: 'Old Name ' || u                       (5, 1, 1, 1)
--   sessions: 1 + (u % 20) / 10 of them (u % 20 IN (12, 16): 2, else 1), id
--   md5('stale-session' || (2 u + i)), dates in 2023, 2 drill elements each whose "uuid" is
--   md5('old-drill' || m), in no V2 drill (the seed's "incorrect drill UUIDs")   (7)
--   u % 20 = 12: stale sessions although v1 has no session for u (u % 10 = 2)     (1 user, 2)
--   preferences, id md5('stale-pref' || u)                                      (5)
--   u % 20 = 8: stale preferences although v1 has none for u (u % 10 = 8)         (1)
--   one group 'Liked Drills' (is_liked_group, same name as the user's v1 liked group),
--   id md5('stale-group' || u), 3 items (V2 drill 1 + (u + 7 p) % 28) and one note on
--   item 1, id md5('stale-note' || u): the composite foreign key of
--   drill_group_item_notes means notes go before items, items before groups  (5, 15, 5)
--   one ordered drill, id md5('stale-osd' || u), V2 drill 1 + u % 28             (5)
--   progress_history, id md5('stale-progress' || u): current_streak 1, highest_streak
--   2 + u % 3, total_sessions = the stale session count, no averages (NULL), per-skill
--   counts 0, favorite_drill NULL except u % 20 = 0 'Juggling'                    (5)

\if :{?scale}
\else
\set scale 1
\endif
\if :{?schema}
\else
\set schema public
\endif

SET search_path = :"schema";

SELECT 20 * :'scale'::integer AS n_apple,
       15 * :'scale'::integer AS n_android,
       90 * :'scale'::integer AS n_android_sessions,
       30 * :'scale'::integer AS n_android_groups,
       45 * :'scale'::integer AS n_android_ordered
\gset

-- Drill catalog: exactly 30 at every scale ---------------------------------------------
-- v (the v1 id with the same title) is not stored: V2 drill n = 29 - v.
INSERT INTO drills (uuid, title, skill, duration_minutes)
SELECT md5('drill' || (29 - v))::uuid, title, skill, duration_minutes
  FROM (VALUES ( 1, 'L-drags',                 'dribbling',    5),
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
               -- V2-only: n = 29 - v = 29 and 30
               ( 0, 'Rondo 4v2',               'passing',     15),
               (-1, 'Box-to-Box Runs',         'fitness',     20))
       AS c (v, title, skill, duration_minutes);

-- Users --------------------------------------------------------------------------------
INSERT INTO users (id, email, name, created_at)
SELECT md5('android-user' || a)::uuid,
       'android' || a || '@example.com',
       CASE WHEN a % 15 = 7 THEN NULL
            ELSE (ARRAY['Aisha', 'Diego', 'Hana', 'Jonas', 'Leila', 'Marco', 'Nia', 'Omar',
                        'Priya', 'Rafael', 'Sven', 'Yuki'])[1 + a % 12]
                 || ' ' ||
                 (ARRAY['Ahmed', 'Berg', 'Chen', 'Diallo', 'Evans', 'Fischer', 'Gomez',
                        'Haddad', 'Ito', 'Jensen', 'Kowalski'])[1 + (a * 5) % 11]
       END,
       timestamptz '2023-02-01 12:00:00+00' + ((a::bigint * 6007) % 300000) * interval '1 minute'
  FROM generate_series(1, :n_android) AS a
UNION ALL
-- stale Apple copies: email, created_at and name as in sample_v1.sql (u % 20 = 16 excepted)
SELECT md5('apple-user' || u)::uuid,
       CASE WHEN u % 20 = 8 THEN 'Apple' || u || '@Example.com'
            WHEN u % 20 = 16 THEN '  apple' || u || '@example.com '
            ELSE 'apple' || u || '@example.com'
       END,
       CASE WHEN u % 20 = 16 THEN 'Old Name ' || u
            WHEN u % 20 = 15 THEN NULL
            ELSE (ARRAY['Liam', 'Olivia', 'Noah', 'Emma', 'Mateo', 'Sofia', 'Lucas', 'Mia',
                        'Ethan', 'Amara', 'Kai', 'Zoe'])[1 + u % 12]
                 || ' ' ||
                 (ARRAY['Silva', 'Smith', 'Okafor', 'Müller', 'García', 'Kim', 'Rossi',
                        'Dubois', 'Nguyen', 'Johnson', 'Costa', 'Larsen', 'Mensah'])[1 + (u * 7) % 13]
       END,
       timestamptz '2023-01-05 09:00:00+00' + ((u::bigint * 7919) % 400000) * interval '1 minute'
  FROM generate_series(4, :n_apple, 4) AS u;

-- Completed sessions -------------------------------------------------------------------
-- Android: drill elements with correct V2 uuids, "uuid" first (json keeps key order).
INSERT INTO completed_sessions (id, user_id, date, drills, total_minutes)
SELECT md5('android-session' || c)::uuid,
       md5('android-user' || x.a)::uuid,
       date '2024-02-01' + (11 * x.a) % 250 + (ARRAY[0, 1, 2, 4, 5, 9])[1 + x.k],
       j.drills,
       j.total_minutes
  FROM generate_series(1, :n_android_sessions) AS c
 CROSS JOIN LATERAL (SELECT (c - 1) / 6 + 1 AS a, (c - 1) % 6 AS k) AS x
 CROSS JOIN LATERAL (
       SELECT json_agg(el.elem ORDER BY el.e) AS drills,
              sum(el.minutes)::integer AS total_minutes
         FROM (SELECT e,
                      CASE WHEN d.uuid IS NULL THEN json_build_object('note', 'rest', 'setsDone', 0)
                           ELSE json_build_object(
                                  'drill', json_build_object('uuid', d.uuid,
                                                             'title', d.title,
                                                             'skill', d.skill,
                                                             'duration', d.duration_minutes),
                                  'setsDone', CASE WHEN (c + e) % 5 <> 0 THEN 2 + (c + e) % 3
                                                   ELSE (c + e) % (2 + (c + e) % 3)
                                              END,
                                  'totalSets', 2 + (c + e) % 3,
                                  'isCompleted', (c + e) % 5 <> 0)
                      END AS elem,
                      coalesce(d.duration_minutes, 0) AS minutes
                 FROM generate_series(1, 1 + c % 4 + (c % 15 = 4)::integer) AS e
                 LEFT JOIN drills d
                        ON e <= 1 + c % 4                       -- the last one is the rest
                       AND d.uuid = md5('drill' || CASE WHEN e = 1 THEN 1 + (7 * x.a) % 30
                                                        ELSE 1 + (5 * c + 7 * e) % 30
                                                   END)::uuid
              ) AS el
       ) AS j
UNION ALL
-- Stale Apple sessions: 2 drill elements with uuids that are in no V2 drill.
SELECT md5('stale-session' || (2 * u + i))::uuid,
       md5('apple-user' || u)::uuid,
       date '2023-06-01' + (3 * u) % 150 + 3 * i,
       j.drills,
       j.total_minutes
  FROM generate_series(4, :n_apple, 4) AS u
 CROSS JOIN LATERAL generate_series(1, 1 + (u % 20) / 10) AS i
 CROSS JOIN LATERAL (
       SELECT json_agg(json_build_object(
                         'drill', json_build_object('uuid', md5('old-drill' || m.n)::uuid,
                                                    'title', d.title,
                                                    'skill', d.skill,
                                                    'duration', d.duration_minutes),
                         'setsDone', 1,
                         'totalSets', 3,
                         'isCompleted', false) ORDER BY e) AS drills,
              sum(d.duration_minutes)::integer AS total_minutes
         FROM generate_series(1, 2) AS e
        CROSS JOIN LATERAL (SELECT 1 + (u + 5 * i + 3 * e) % 28 AS n) AS m
         JOIN drills d ON d.uuid = md5('drill' || m.n)::uuid
       ) AS j;

-- Session preferences ------------------------------------------------------------------
INSERT INTO session_preferences
       (id, user_id, duration_minutes, training_style, difficulty, available_equipment)
SELECT md5('android-pref' || a)::uuid,
       md5('android-user' || a)::uuid,
       20 + (a % 3) * 10,
       (ARRAY['low intensity', 'medium intensity', 'high intensity'])[1 + a % 3],
       (ARRAY['beginner', 'intermediate', 'advanced'])[1 + (a / 2) % 3],
       CASE a % 3 WHEN 0 THEN ARRAY['ball', 'cones']
                  WHEN 1 THEN ARRAY['ball', 'wall']
                  ELSE ARRAY['ball']
       END
  FROM generate_series(1, :n_android) AS a
 WHERE a % 5 <> 0
UNION ALL
SELECT md5('stale-pref' || u)::uuid,
       md5('apple-user' || u)::uuid,
       10,
       'low intensity',
       'beginner',
       ARRAY['ball']
  FROM generate_series(4, :n_apple, 4) AS u;

-- Drill groups, items and notes --------------------------------------------------------
INSERT INTO drill_groups (id, user_id, name, is_liked_group)
SELECT md5('android-group' || gg)::uuid,
       md5('android-user' || ((gg - 1) / 2 + 1))::uuid,
       CASE WHEN gg % 2 = 1 THEN 'Liked Drills'
            ELSE (ARRAY['Warm-up', 'Technique', 'Game Day'])[1 + (gg / 2) % 3]
       END,
       gg % 2 = 1
  FROM generate_series(1, :n_android_groups) AS gg
UNION ALL
SELECT md5('stale-group' || u)::uuid,
       md5('apple-user' || u)::uuid,
       'Liked Drills',
       true
  FROM generate_series(4, :n_apple, 4) AS u;

INSERT INTO drill_group_items (group_id, drill_uuid, position)
SELECT md5('android-group' || gg)::uuid,
       md5('drill' || (1 + (3 * gg + 9 * p) % 30))::uuid,
       p
  FROM generate_series(1, :n_android_groups) AS gg
 CROSS JOIN generate_series(1, 3) AS p
UNION ALL
SELECT md5('stale-group' || u)::uuid,
       md5('drill' || (1 + (u + 7 * p) % 28))::uuid,
       p
  FROM generate_series(4, :n_apple, 4) AS u
 CROSS JOIN generate_series(1, 3) AS p;

INSERT INTO drill_group_item_notes (id, group_id, drill_uuid, note)
SELECT md5('android-note' || gg)::uuid,
       md5('android-group' || gg)::uuid,
       md5('drill' || (1 + (3 * gg + 9) % 30))::uuid,
       (ARRAY['Keep the ball close', 'Use both feet', 'Head up before the pass'])[1 + (gg / 3) % 3]
  FROM generate_series(3, :n_android_groups, 3) AS gg
UNION ALL
SELECT md5('stale-note' || u)::uuid,
       md5('stale-group' || u)::uuid,
       md5('drill' || (1 + (u + 7) % 28))::uuid,
       'Old note from the first V2 sync'
  FROM generate_series(4, :n_apple, 4) AS u;

-- Ordered session drills ---------------------------------------------------------------
INSERT INTO ordered_session_drills (id, user_id, drill_uuid, position, sets, reps, duration)
SELECT md5('android-osd' || o)::uuid,
       md5('android-user' || ((o - 1) / 3 + 1))::uuid,
       md5('drill' || (1 + (7 * o) % 30))::uuid,
       (o - 1) % 3 + 1,
       2 + o % 3,
       CASE WHEN o % 4 = 0 THEN NULL ELSE 6 + o % 6 END,
       10 + (o % 3) * 5
  FROM generate_series(1, :n_android_ordered) AS o
UNION ALL
SELECT md5('stale-osd' || u)::uuid,
       md5('apple-user' || u)::uuid,
       md5('drill' || (1 + u % 28))::uuid,
       1,
       3,
       10,
       10
  FROM generate_series(4, :n_apple, 4) AS u;

-- Progress history ---------------------------------------------------------------------
-- Android: computed from the sessions inserted above.
INSERT INTO progress_history
       (id, user_id, current_streak, highest_streak, total_sessions, drills_per_session,
        minutes_per_session, dribbling_drills_completed, passing_drills_completed,
        shooting_drills_completed, favorite_drill)
SELECT md5('android-progress' || a)::uuid,
       md5('android-user' || a)::uuid,
       1,
       3,
       s.n,
       s.drills_per_session,
       s.minutes_per_session,
       k.dribbling,
       k.passing,
       k.shooting,
       f.title
  FROM generate_series(1, :n_android) AS a
 CROSS JOIN LATERAL (
       SELECT count(*)::integer AS n,
              round(avg((SELECT count(*) FROM json_array_elements(cs.drills) e
                          WHERE e -> 'drill' IS NOT NULL)), 2) AS drills_per_session,
              round(avg(cs.total_minutes), 2) AS minutes_per_session
         FROM completed_sessions cs
        WHERE cs.user_id = md5('android-user' || a)::uuid
       ) AS s
 CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'dribbling')::integer AS dribbling,
              count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'passing')::integer   AS passing,
              count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'shooting')::integer  AS shooting
         FROM completed_sessions cs
        CROSS JOIN LATERAL json_array_elements(cs.drills) AS e
        WHERE cs.user_id = md5('android-user' || a)::uuid
          AND (e ->> 'isCompleted')::boolean
       ) AS k
 CROSS JOIN LATERAL (
       SELECT e -> 'drill' ->> 'title' AS title
         FROM completed_sessions cs
        CROSS JOIN LATERAL json_array_elements(cs.drills) AS e
        WHERE cs.user_id = md5('android-user' || a)::uuid
          AND e -> 'drill' IS NOT NULL
        GROUP BY 1
        ORDER BY count(*) DESC, 1
        LIMIT 1
       ) AS f
UNION ALL
SELECT md5('stale-progress' || u)::uuid,
       md5('apple-user' || u)::uuid,
       1,
       2 + u % 3,
       1 + (u % 20) / 10,
       NULL,
       NULL,
       0,
       0,
       0,
       CASE WHEN u % 20 = 0 THEN 'Juggling' END
  FROM generate_series(4, :n_apple, 4) AS u;

ANALYZE users, drills, completed_sessions, session_preferences, drill_groups,
        drill_group_items, drill_group_item_notes, ordered_session_drills, progress_history;
