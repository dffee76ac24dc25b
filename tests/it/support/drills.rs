//! The drills model (models/drills): compiled (whole, per entity, `--only`), loaded at a
//! scale, and the oracle of a full migration.

use std::path::PathBuf;

use super::{cluster, repo_root, TestDb};

pub(crate) fn drills() -> PathBuf {
    repo_root().join("models/drills")
}

/// The drills model in per-entity mode (`size` users per commit), compiled into a fresh directory.
pub(crate) fn compiled_per_entity(size: u32) -> tempfile::TempDir {
    let text = std::fs::read_to_string(drills().join("model.yaml")).unwrap();
    let edited = text.replacen(
        "name: drills\n",
        &format!("name: drills\nmode: {{ per_entity: {{ root: users, size: {size} }} }}\n"),
        1,
    );
    assert_ne!(edited, text);
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("model.yaml"), edited).unwrap();
    crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &drills().join("v1.sql"),
        &drills().join("v2.sql"),
    )
}

/// The drills model compiled from its DDL files into a fresh directory.
pub(crate) fn compiled() -> tempfile::TempDir {
    crate::support::compile_ddl(
        &drills().join("model.yaml"),
        &drills().join("v1.sql"),
        &drills().join("v2.sql"),
    )
}

/// The drills model's scripts for the root rows `--only` selects.
pub(crate) fn compiled_only(condition: &str) -> tempfile::TempDir {
    crate::support::compile_only(&drills(), condition)
}

/// V1 (schema v1) and V2 (public) with the sample data at `scale`: the Apple users in V1; the
/// drill catalog, the Android users and the stale Apple copies in V2.
pub(crate) fn drills_db(name: &str, scale: i64) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&drills().join("v1.sql"), "v1");
    db.load_in_schema(&drills().join("v2.sql"), "public");
    db.load_sample(&drills().join("sample_v1.sql"), scale, "v1");
    db.load_sample(&drills().join("sample_v2.sql"), scale, "public");
    db
}

/// The V1 sessions naming a drill (by title) that V2's catalog does not have.
pub(crate) const V1_UNMATCHED: &str =
    "EXISTS (SELECT 1 FROM jsonb_array_elements(cs.drills) AS x (e)
                      WHERE jsonb_typeof(x.e -> 'drill') = 'object'
                        AND x.e -> 'drill' ->> 'title' NOT IN (SELECT title FROM public.drills))";

/// Migrated sessions: the V1 row and the V2 row the id map pairs it with.
const PAIRS: &str = "
WITH pairs AS (
  SELECT cs.id AS source_id, cs.drills AS v1_drills, c.drills AS v2_drills
    FROM _pgmig.map_completed_sessions m
    JOIN v1.completed_sessions cs ON cs.id = m.source_id
    JOIN public.completed_sessions c ON c.id = m.id
), elems AS (
  SELECT p.source_id, a.i, a.e AS v1e, b.e AS v2e
    FROM pairs p
   CROSS JOIN LATERAL jsonb_array_elements(p.v1_drills) WITH ORDINALITY AS a (e, i)
    LEFT JOIN LATERAL json_array_elements(p.v2_drills) WITH ORDINALITY AS b (e, i) ON b.i = a.i
), drill_elems AS (
  SELECT * FROM elems WHERE jsonb_typeof(v1e -> 'drill') = 'object'
)
";

/// `streaks (user_id, current_streak, highest_streak)` of every V2 user with sessions, as
/// CTEs: runs of consecutive session days, each found by its first day (no session the day
/// before) and its last (the first day from there with no session the day after); the
/// highest is the longest, the current the one ending last.
pub(crate) const STREAK_RUNS: &str = "days AS (
           SELECT DISTINCT user_id, date FROM public.completed_sessions
         ), runs AS (
           SELECT f.user_id, f.date AS first_day,
                  (SELECT min(l.date) FROM days l
                    WHERE l.user_id = f.user_id AND l.date >= f.date
                      AND NOT EXISTS (SELECT 1 FROM days n WHERE n.user_id = l.user_id AND n.date = l.date + 1)) AS last_day
             FROM days f
            WHERE NOT EXISTS (SELECT 1 FROM days p WHERE p.user_id = f.user_id AND p.date = f.date - 1)
         ), streaks AS (
           SELECT r.user_id, max(r.last_day - r.first_day + 1) AS highest_streak,
                  (SELECT r2.last_day - r2.first_day + 1 FROM runs r2 WHERE r2.user_id = r.user_id
                    ORDER BY r2.last_day DESC LIMIT 1) AS current_streak
             FROM runs r GROUP BY r.user_id
         )";

/// The oracle of a full migration, after migrate: (what must hold, a query counting the rows
/// that break it). `stale_ids`: the uuids V2's stale Apple copies had before.
pub(crate) fn full_migration_oracle(stale_ids: &[String]) -> Vec<(&'static str, String)> {
    let stale = format!(
        "ARRAY[{}]::uuid[]",
        stale_ids
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut checks: Vec<(&'static str, String)> = vec![
        // Users.
        (
            "every V1 user is the V2 user of its map row, with V1's email, name and created_at",
            "SELECT count(*) FROM v1.users v LEFT JOIN _pgmig.map_users m ON m.source_id = v.id LEFT JOIN public.users u ON u.id = m.id
              WHERE u.id IS NULL OR u.email <> v.email OR u.name IS DISTINCT FROM v.name OR u.created_at <> v.created_at".into(),
        ),
        (
            "exactly one V2 user per V1 email, compared case-insensitively and trimmed",
            "SELECT count(*) FROM v1.users v WHERE (SELECT count(*) FROM public.users u WHERE lower(btrim(u.email)) = lower(btrim(v.email))) <> 1".into(),
        ),
        ("no two V1 users share a V2 user", "SELECT count(*) FROM (SELECT id FROM _pgmig.map_users GROUP BY id HAVING count(*) > 1) d".into()),
        ("no map row without a V1 user", "SELECT count(*) FROM _pgmig.map_users m WHERE NOT EXISTS (SELECT 1 FROM v1.users v WHERE v.id = m.source_id)".into()),
        (
            "fresh uuids: no migrated user has a stale copy's uuid",
            format!("SELECT count(*) FROM _pgmig.map_users m WHERE m.id = ANY({stale})"),
        ),
        ("stale copies gone: no V2 row under a stale copy's uuid", format!("SELECT count(*) FROM public.users u WHERE u.id = ANY({stale})")),
        (
            "no V2 user with an Apple email other than the migrated one",
            "SELECT count(*) FROM public.users u JOIN v1.users v ON lower(btrim(v.email)) = lower(btrim(u.email))
              WHERE NOT EXISTS (SELECT 1 FROM _pgmig.map_users m WHERE m.source_id = v.id AND m.id = u.id)".into(),
        ),
        // Counts: V1 rows = migrated + rejected (every V1 row belongs to a migrated user).
        (
            "completed_sessions: V1 = migrated + rejected",
            "SELECT abs((SELECT count(*) FROM v1.completed_sessions)
                        - (SELECT count(*) FROM public.completed_sessions c JOIN _pgmig.map_completed_sessions m ON m.id = c.id)
                        - (SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = 'completed_sessions'))".into(),
        ),
        (
            "session_preferences: V1 = migrated",
            "SELECT abs((SELECT count(*) FROM v1.session_preferences)
                        - (SELECT count(*) FROM public.session_preferences p JOIN _pgmig.map_session_preferences m ON m.id = p.id))".into(),
        ),
        (
            "drill_groups: V1 = migrated",
            "SELECT abs((SELECT count(*) FROM v1.drill_groups) - (SELECT count(*) FROM public.drill_groups g JOIN _pgmig.map_drill_groups m ON m.id = g.id))".into(),
        ),
        (
            "drill_group_items: V1 = migrated (items of migrated groups) + rejected",
            "SELECT abs((SELECT count(*) FROM v1.drill_group_items)
                        - (SELECT count(*) FROM public.drill_group_items i JOIN _pgmig.map_drill_groups m ON m.id = i.group_id)
                        - (SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = 'drill_group_items'))".into(),
        ),
        (
            "ordered_session_drills: V1 = migrated + rejected",
            "SELECT abs((SELECT count(*) FROM v1.ordered_session_drills)
                        - (SELECT count(*) FROM public.ordered_session_drills o JOIN _pgmig.map_ordered_session_drills m ON m.id = o.id)
                        - (SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = 'ordered_session_drills'))".into(),
        ),
        (
            "progress_history: one row per migrated user",
            "SELECT count(*) FROM _pgmig.map_users m WHERE (SELECT count(*) FROM public.progress_history p WHERE p.user_id = m.id) <> 1".into(),
        ),
        // Content through the id maps.
        (
            "a session has V1's date, total_minutes, and the V2 user of its V1 user",
            "SELECT count(*) FROM _pgmig.map_completed_sessions m
               JOIN v1.completed_sessions cs ON cs.id = m.source_id
               LEFT JOIN public.completed_sessions c ON c.id = m.id
               LEFT JOIN _pgmig.map_users mu ON mu.source_id = cs.user_id
              WHERE c.id IS NULL OR c.user_id IS DISTINCT FROM mu.id OR c.date <> cs.date OR c.total_minutes <> cs.total_minutes".into(),
        ),
        (
            "preferences equal V1's, under the V2 user of their V1 user",
            "SELECT count(*) FROM _pgmig.map_session_preferences m
               JOIN v1.session_preferences sp ON sp.id = m.source_id
               LEFT JOIN public.session_preferences p ON p.id = m.id
               LEFT JOIN _pgmig.map_users mu ON mu.source_id = sp.user_id
              WHERE p.id IS NULL OR p.user_id IS DISTINCT FROM mu.id
                 OR (p.duration_minutes, p.training_style, p.difficulty, p.available_equipment)
                    IS DISTINCT FROM (sp.duration_minutes, sp.training_style, sp.difficulty, sp.available_equipment)".into(),
        ),
        (
            "groups equal V1's",
            "SELECT count(*) FROM _pgmig.map_drill_groups m
               JOIN v1.drill_groups g1 ON g1.id = m.source_id
               LEFT JOIN public.drill_groups g ON g.id = m.id
               LEFT JOIN _pgmig.map_users mu ON mu.source_id = g1.user_id
              WHERE g.id IS NULL OR g.user_id IS DISTINCT FROM mu.id OR g.name <> g1.name OR g.is_liked_group <> g1.is_liked_group".into(),
        ),
        (
            "an item of a V1 drill V2 has by title is in the migrated group, at V1's position",
            "SELECT count(*) FROM v1.drill_group_items i1 JOIN v1.drills d1 ON d1.id = i1.drill_id
               JOIN public.drills d ON d.title = d1.title
               JOIN _pgmig.map_drill_groups m ON m.source_id = i1.group_id
               LEFT JOIN public.drill_group_items i ON i.group_id = m.id AND i.drill_uuid = d.uuid
              WHERE i.group_id IS NULL OR i.position <> i1.position".into(),
        ),
        (
            "an ordered drill equals V1's, its drill the V2 drill of V1's title",
            "SELECT count(*) FROM _pgmig.map_ordered_session_drills m
               JOIN v1.ordered_session_drills o1 ON o1.id = m.source_id
               JOIN v1.drills d1 ON d1.id = o1.drill_id
               LEFT JOIN public.ordered_session_drills o ON o.id = m.id
               LEFT JOIN public.drills d ON d.uuid = o.drill_uuid
               LEFT JOIN _pgmig.map_users mu ON mu.source_id = o1.user_id
              WHERE o.id IS NULL OR o.user_id IS DISTINCT FROM mu.id OR d.title IS DISTINCT FROM d1.title
                 OR (o.position, o.sets, o.reps, o.duration) IS DISTINCT FROM (o1.position, o1.sets, o1.reps, o1.duration)".into(),
        ),
        // Rejects of items and ordered drills: exactly the rows of a V1 drill V2 lacks.
        (
            "items rejected = V1 items of a drill whose title V2 lacks",
            "SELECT abs((SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = 'drill_group_items')
                      - (SELECT count(*) FROM v1.drill_group_items i JOIN v1.drills d ON d.id = i.drill_id
                          WHERE d.title NOT IN (SELECT title FROM public.drills)))".into(),
        ),
        (
            "ordered drills rejected = V1 rows of a drill whose title V2 lacks, by id",
            "SELECT count(*) FROM v1.ordered_session_drills o JOIN v1.drills d ON d.id = o.drill_id
              WHERE (d.title NOT IN (SELECT title FROM public.drills))
                 <> EXISTS (SELECT 1 FROM _pgmig.rejects r WHERE r.step = 'ordered_session_drills' AND r.source_key = jsonb_build_object('id', o.id))".into(),
        ),
        // No orphans (the foreign keys hold them too; this reads the tables).
        (
            "no item points at a missing group",
            "SELECT count(*) FROM public.drill_group_items i WHERE NOT EXISTS (SELECT 1 FROM public.drill_groups g WHERE g.id = i.group_id)".into(),
        ),
        (
            "no note points at a missing item",
            "SELECT count(*) FROM public.drill_group_item_notes n
              WHERE NOT EXISTS (SELECT 1 FROM public.drill_group_items i WHERE i.group_id = n.group_id AND i.drill_uuid = n.drill_uuid)".into(),
        ),
        (
            "no user-owned row points at a missing user",
            "SELECT count(*) FROM (SELECT user_id FROM public.completed_sessions UNION ALL SELECT user_id FROM public.session_preferences
                                   UNION ALL SELECT user_id FROM public.drill_groups UNION ALL SELECT user_id FROM public.ordered_session_drills
                                   UNION ALL SELECT user_id FROM public.progress_history) r
              WHERE NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = r.user_id)".into(),
        ),
    ];
    // Session JSON, element by element.
    let json: &[(&'static str, &str)] = &[
        ("a migrated session has as many elements as in V1", "SELECT count(*) FROM pairs WHERE jsonb_array_length(v1_drills) <> json_array_length(v2_drills)"),
        (
            "the first key of every drill object is \"uuid\" (json_object_keys order)",
            "SELECT count(*) FROM drill_elems
              WHERE (SELECT k FROM json_object_keys(v2e -> 'drill') WITH ORDINALITY AS o (k, n) ORDER BY n LIMIT 1) IS DISTINCT FROM 'uuid'",
        ),
        ("the text of every drill object starts with \"uuid\"", "SELECT count(*) FROM drill_elems WHERE (v2e -> 'drill')::text NOT LIKE '{\"uuid\": %'"),
        ("no drill object keeps an \"id\"", "SELECT count(*) FROM drill_elems WHERE (v2e -> 'drill')::jsonb ? 'id'"),
        (
            "no key appears twice in an element or its drill object",
            "SELECT count(*) FROM drill_elems
              WHERE (SELECT count(*) FROM json_object_keys(v2e -> 'drill')) <> (SELECT count(DISTINCT k) FROM json_object_keys(v2e -> 'drill') k)
                 OR (SELECT count(*) FROM json_object_keys(v2e)) <> (SELECT count(DISTINCT k) FROM json_object_keys(v2e) k)",
        ),
        (
            "the uuid is the V2 drill whose title is the V1 drill's",
            "SELECT count(*) FROM drill_elems
              WHERE NOT EXISTS (SELECT 1 FROM public.drills d WHERE d.uuid::text = v2e -> 'drill' ->> 'uuid' AND d.title = v1e -> 'drill' ->> 'title')",
        ),
        ("the drill object's other keys and values are V1's", "SELECT count(*) FROM drill_elems WHERE (v2e -> 'drill')::jsonb - 'uuid' <> (v1e -> 'drill') - 'id'"),
        ("the element's other keys and values are V1's", "SELECT count(*) FROM drill_elems WHERE v2e::jsonb - 'drill' <> v1e - 'drill'"),
        ("an element without a drill object is unchanged", "SELECT count(*) FROM elems WHERE jsonb_typeof(v1e -> 'drill') IS DISTINCT FROM 'object' AND v2e::jsonb IS DISTINCT FROM v1e"),
    ];
    checks.extend(
        json.iter()
            .map(|(what, sql)| (*what, format!("{PAIRS}{sql}"))),
    );
    // Rejected sessions: exactly the V1 sessions naming a title V2 lacks, named in the reason.
    checks.extend([
        (
            "every V1 session naming a drill title V2 lacks is rejected, and not migrated",
            format!(
                "SELECT count(*) FROM v1.completed_sessions cs WHERE {V1_UNMATCHED}
                   AND (NOT EXISTS (SELECT 1 FROM _pgmig.rejects r WHERE r.model = 'drills' AND r.step = 'completed_sessions' AND r.source_key = jsonb_build_object('id', cs.id))
                        OR EXISTS (SELECT 1 FROM _pgmig.map_completed_sessions m WHERE m.source_id = cs.id))"
            ),
        ),
        (
            "every rejected session is a V1 session naming a drill title V2 lacks, once",
            format!(
                "SELECT count(*) FROM _pgmig.rejects r WHERE r.model = 'drills' AND r.step = 'completed_sessions'
                   AND (r.source_table <> 'v1.completed_sessions'
                        OR (SELECT count(*) FROM _pgmig.rejects r2 WHERE r2.step = r.step AND r2.source_key = r.source_key) <> 1
                        OR NOT EXISTS (SELECT 1 FROM v1.completed_sessions cs WHERE jsonb_build_object('id', cs.id) = r.source_key
                                          AND r.source_row = to_jsonb(cs) AND {V1_UNMATCHED}))"
            ),
        ),
        (
            "a reject's reason names each missing title (quoted) and no title V2 has",
            "SELECT count(*) FROM _pgmig.rejects r JOIN v1.completed_sessions cs ON jsonb_build_object('id', cs.id) = r.source_key
               CROSS JOIN LATERAL jsonb_array_elements(cs.drills) AS x (e)
              WHERE r.step = 'completed_sessions' AND jsonb_typeof(x.e -> 'drill') = 'object'
                AND (strpos(r.reason, quote_literal(x.e -> 'drill' ->> 'title')) > 0)
                    <> (x.e -> 'drill' ->> 'title' NOT IN (SELECT title FROM public.drills))".into(),
        ),
    ]);
    // Derived metrics, recomputed from the migrated V2 sessions (as jsonb, by other means than
    // the model's expressions: sums over counts, a window for the favorite, runs found by their
    // first and last days), as V2 defines them for its own users: drill elements per session,
    // completed drills per skill, runs of consecutive session days.
    checks.push((
        "progress_history equals the metrics of the migrated V2 sessions, streaks included",
        String::from("WITH ") + STREAK_RUNS + ", s AS (
           SELECT c.user_id, c.total_minutes, c.drills::jsonb AS d FROM public.completed_sessions c JOIN _pgmig.map_completed_sessions m ON m.id = c.id
         ), el AS (
           SELECT s.user_id, x.e #>> '{drill,skill}' AS skill, x.e #>> '{drill,title}' AS title,
                  jsonb_typeof(x.e -> 'drill') = 'object' AS holds_drill, coalesce((x.e ->> 'isCompleted')::boolean, false) AS completed
             FROM s CROSS JOIN LATERAL jsonb_array_elements(s.d) AS x (e)
         ), fav AS (
           SELECT user_id, title, row_number() OVER (PARTITION BY user_id ORDER BY count(*) DESC, title COLLATE \"C\") AS rn
             FROM el WHERE title IS NOT NULL GROUP BY user_id, title
         ), oracle AS (
           SELECT mu.id AS user_id,
                  coalesce(st.current_streak, 0) AS current_streak, coalesce(st.highest_streak, 0) AS highest_streak,
                  (SELECT count(*) FROM s WHERE s.user_id = mu.id)::int AS total_sessions,
                  (SELECT round((SELECT count(*) FROM el WHERE el.user_id = mu.id AND el.holds_drill)::numeric
                                / nullif((SELECT count(*) FROM s WHERE s.user_id = mu.id), 0), 2)) AS drills_per_session,
                  (SELECT round(sum(s.total_minutes)::numeric / nullif(count(*), 0), 2) FROM s WHERE s.user_id = mu.id) AS minutes_per_session,
                  (SELECT count(*) FROM el WHERE el.user_id = mu.id AND el.skill = 'dribbling' AND el.completed)::int AS dribbling,
                  (SELECT count(*) FROM el WHERE el.user_id = mu.id AND el.skill = 'passing' AND el.completed)::int AS passing,
                  (SELECT count(*) FROM el WHERE el.user_id = mu.id AND el.skill = 'shooting' AND el.completed)::int AS shooting,
                  (SELECT title FROM fav WHERE fav.user_id = mu.id AND rn = 1) AS favorite
             FROM _pgmig.map_users mu LEFT JOIN streaks st ON st.user_id = mu.id
         )
         SELECT count(*) FROM oracle o LEFT JOIN public.progress_history p ON p.user_id = o.user_id
          WHERE (p.current_streak, p.highest_streak, p.total_sessions, p.drills_per_session, p.minutes_per_session,
                 p.dribbling_drills_completed, p.passing_drills_completed, p.shooting_drills_completed, p.favorite_drill)
                IS DISTINCT FROM
                (o.current_streak, o.highest_streak, o.total_sessions, o.drills_per_session, o.minutes_per_session,
                 o.dribbling, o.passing, o.shooting, o.favorite)",
    ));
    checks
}
