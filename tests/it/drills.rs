//! The drills model (models/drills, seed 000) end to end on a real PostgreSQL: Apple users
//! from V1 (integer ids) into a live V2 that Android users already use (uuid ids), where some
//! Apple users have stale copies (same email) that the migration replaces.
//!
//! The checks after migrate are an oracle written here, in SQL against V1 and the V2 state
//! recorded before the run, independently of the generated scripts: users one-to-one by email
//! with fresh uuids, counts that reconcile, content through the id maps, the session JSON
//! rewritten element by element ("uuid" first, no "id", the rest untouched), the rejected
//! sessions exactly those naming a drill V2 lacks, progress metrics recomputed by hand, and
//! every Android user's rows untouched. Then rollback gives V2 back byte for byte (stale
//! copies included) while keeping what the application wrote since. `--only` migrates one
//! root user; the model's compile errors and a precheck finding close the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, repo_root, TestDb};

/// Sample data scale of the database tests (the sample's per-unit counts are multiplied by it).
const SCALE: i64 = 1;

fn models() -> PathBuf {
    repo_root().join("models/drills")
}

/// The drills model compiled from its DDL files into a fresh directory.
pub(crate) fn compiled() -> tempfile::TempDir {
    crate::support::compile_ddl(
        &models().join("model.yaml"),
        &models().join("v1.sql"),
        &models().join("v2.sql"),
    )
}

/// The drills model's scripts for the root rows `--only` selects.
pub(crate) fn compiled_only(condition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let selection = pgmig::compile::Selection {
        entities: vec![],
        only: Some(condition.to_string()),
    };
    let c = pgmig::compile::compile_selected(
        &models().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(models().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
        &selection,
    )
    .unwrap_or_else(|e| panic!("--only {condition:?} must compile: {e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

/// V1 (schema v1) and V2 (public) with the sample data at `scale`: the Apple users in V1; the
/// drill catalog, the Android users and the stale Apple copies in V2.
pub(crate) fn drills_db(name: &str, scale: i64) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&models().join("v1.sql"), "v1");
    db.load_in_schema(&models().join("v2.sql"), "public");
    for (file, schema) in [("sample_v1.sql", "v1"), ("sample_v2.sql", "public")] {
        let out = db
            .psql_cmd()
            .args([
                "-q",
                "-v",
                &format!("scale={scale}"),
                "-v",
                &format!("schema={schema}"),
                "-f",
            ])
            .arg(models().join(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", stderr(&out));
    }
    db
}

pub(crate) fn strings(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}\n{}", crate::support::pg_error_text(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Runs a query that returns one bigint, failing the test with the query on an error.
pub(crate) fn num(db: &TestDb, sql: &str) -> i64 {
    match db.client().query_one(sql, &[]) {
        Ok(r) => r.get(0),
        Err(e) => panic!("{sql}\n{}", crate::support::pg_error_text(&e)),
    }
}

/// The V2 tables a user owns rows in, with the condition tying a row `x` to user `u`: through
/// user_id, or through the group (drill_group_items, drill_group_item_notes).
const USER_TABLES: &[(&str, &str)] = &[
    ("users", "x.id = u.id"),
    ("completed_sessions", "x.user_id = u.id"),
    ("session_preferences", "x.user_id = u.id"),
    ("drill_groups", "x.user_id = u.id"),
    (
        "drill_group_items",
        "x.group_id IN (SELECT g.id FROM public.drill_groups g WHERE g.user_id = u.id)",
    ),
    (
        "drill_group_item_notes",
        "x.group_id IN (SELECT g.id FROM public.drill_groups g WHERE g.user_id = u.id)",
    ),
    ("ordered_session_drills", "x.user_id = u.id"),
    ("progress_history", "x.user_id = u.id"),
];

/// Per V2 user matching `filter` (on `u`, a public.users row), keyed by email: an md5 of all
/// the user's rows in every V2 table, each table's rows as text in order.
fn user_md5s(db: &TestDb, filter: &str) -> BTreeMap<String, String> {
    let parts: Vec<String> = USER_TABLES
        .iter()
        .map(|(t, on)| format!("'{t}:' || coalesce((SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM public.{t} x WHERE {on}), '-')"))
        .collect();
    let sql = format!(
        "SELECT u.email, md5({}) FROM public.users u WHERE {filter}",
        parts.join(" || E'\\n' || ")
    );
    db.client()
        .query(&sql, &[])
        .unwrap_or_else(|e| panic!("{sql}\n{}", crate::support::pg_error_text(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Per V2 table (`public.<t>`), the rows owned by the V2 users matching `filter`.
fn rows_under(db: &TestDb, filter: &str) -> BTreeMap<String, i64> {
    USER_TABLES
        .iter()
        .map(|(t, on)| (format!("public.{t}"), num(db, &format!("SELECT count(*) FROM public.users u JOIN public.{t} x ON {on} WHERE {filter}"))))
        .collect()
}

/// precheck's `REPLACE  users: N rows of public.T would be deleted …` lines, as T → N.
fn replace_counts(notices: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in notices.lines() {
        let Some(rest) = line.split("REPLACE  users: ").nth(1) else {
            continue;
        };
        let (n, rest) = rest
            .split_once(" rows of ")
            .unwrap_or_else(|| panic!("{line}"));
        let table = rest.split_whitespace().next().unwrap();
        assert!(
            rest.ends_with("would be deleted and restored by rollback"),
            "{line}"
        );
        out.insert(
            table.to_string(),
            n.parse().unwrap_or_else(|_| panic!("{line}")),
        );
    }
    out
}

/// The row count part (`N:` before the md5) of a `table_md5s` value.
fn rows_of(md5s: &BTreeMap<String, String>, table: &str) -> i64 {
    md5s[table].split(':').next().unwrap().parse().unwrap()
}

/// Runs every (what, query counting the rows that break it) check; fails listing the broken ones.
pub(crate) fn assert_oracle(db: &TestDb, checks: &[(&str, String)]) {
    let broken: Vec<String> = checks
        .iter()
        .filter_map(|(what, sql)| match num(db, sql) {
            0 => None,
            n => Some(format!("{n:>4}  {what}")),
        })
        .collect();
    assert!(
        broken.is_empty(),
        "oracle checks broken (rows that break them):\n{}",
        broken.join("\n")
    );
}

/// The V1 sessions naming a drill (by title) that V2's catalog does not have.
const V1_UNMATCHED: &str = "EXISTS (SELECT 1 FROM jsonb_array_elements(cs.drills) AS x (e)
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
const STREAK_RUNS: &str = "days AS (
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

#[test]
fn migrate_full_oracle_then_rollback_keeps_what_the_app_wrote() {
    let db = drills_db("drills_e2e", SCALE);
    let dir = compiled();

    // Before: Android users are the V2 users whose email V1 does not have; the others are the
    // stale Apple copies (the sample plants one for every Apple user u % 4 = 0).
    // Emails compare case-insensitively and trimmed: the sample types two stale copies' emails
    // by hand ('Apple8@Example.com', '  apple16@example.com ').
    let android = "lower(btrim(u.email)) NOT IN (SELECT lower(btrim(email)) FROM v1.users)";
    let apple = "lower(btrim(u.email)) IN (SELECT lower(btrim(email)) FROM v1.users)";
    let android_before = user_md5s(&db, android);
    let stale_before = user_md5s(&db, apple);
    assert_eq!(android_before.len() as i64, 15 * SCALE);
    assert!(
        android_before.keys().all(|e| e.starts_with("android")),
        "{android_before:?}"
    );
    let expected_stale: Vec<String> = (1..=20 * SCALE)
        .filter(|u| u % 4 == 0)
        .map(|u| match u % 20 {
            8 => format!("Apple{u}@Example.com"),
            16 => format!("  apple{u}@example.com "),
            _ => format!("apple{u}@example.com"),
        })
        .collect();
    assert_eq!(
        stale_before
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        expected_stale.iter().cloned().collect(),
        "the stale copies"
    );
    let stale_ids = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {apple} ORDER BY 1"),
    );
    let stale_notes = strings(&db, &format!("SELECT n::text FROM public.drill_group_item_notes n JOIN public.drill_groups g ON g.id = n.group_id JOIN public.users u ON u.id = g.user_id WHERE {apple} ORDER BY 1"));
    assert_eq!(stale_notes.len() as i64, 5 * SCALE);
    let under_stale = rows_under(&db, apple);
    let public_before = db.table_md5s(&["public"]);
    let v1_before = db.table_md5s(&["v1"]);

    // precheck: passes, writes nothing, and says what replace will delete.
    let t = std::time::Instant::now();
    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(pre.contains("precheck: no blocking finding"), "{pre}");
    assert_eq!(
        replace_counts(&pre),
        under_stale,
        "REPLACE lines = the rows under the stale copies; precheck said:\n{pre}"
    );
    assert_eq!(under_stale["public.users"], 5 * SCALE);
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "precheck changed V2"
    );
    eprintln!("drills: precheck {:?}", t.elapsed());

    let t = std::time::Instant::now();
    let migrated_notices = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    eprintln!("drills: migrate {:?}", t.elapsed());
    // migrate says how many users it overwrote (a stale copy, matched by email) and created.
    let overwritten = under_stale["public.users"];
    let created = num(&db, "SELECT count(*) FROM v1.users") - overwritten;
    let said = format!("REPLACE  users: {overwritten} migrated rows overwrote a V2 row with the same (email), {created} were created");
    assert!(
        migrated_notices.contains(&said),
        "{said}\n{migrated_notices}"
    );
    assert_eq!(
        strings(&db, "SELECT message FROM _pgmig.log WHERE model = 'drills' AND script = 'migrate' AND step = 'users'"),
        [format!("{overwritten} overwritten, {created} created")]
    );
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(
        verify.contains("verify: every check passed") && !verify.contains("FAIL"),
        "{verify}"
    );

    // The oracle.
    assert_oracle(&db, &full_migration_oracle(&stale_ids));
    // The planted cases (sample_v1.sql's header): 8 sessions (s % 20 = 7), 2 items and 2
    // ordered drills per unit of scale are rejected; the rejected sessions by id.
    let rejects = |step: &str| {
        num(
            &db,
            &format!(
                "SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills' AND step = '{step}'"
            ),
        )
    };
    assert_eq!(
        (
            rejects("completed_sessions"),
            rejects("drill_group_items"),
            rejects("ordered_session_drills")
        ),
        (8 * SCALE, 2 * SCALE, 2 * SCALE)
    );
    assert_eq!(
        strings(&db, "SELECT source_key ->> 'id' FROM _pgmig.rejects WHERE step = 'completed_sessions' ORDER BY (source_key ->> 'id')::int"),
        strings(&db, "SELECT cs.id::text FROM v1.completed_sessions cs WHERE cs.id % 20 = 7 ORDER BY cs.id"),
    );
    // V2 users = Android + V1; every table = before - the stale rows + the migrated rows.
    let after = db.table_md5s(&["public"]);
    assert_eq!(
        rows_of(&after, "public.users"),
        android_before.len() as i64 + num(&db, "SELECT count(*) FROM v1.users")
    );
    assert_eq!(
        strings(
            &db,
            &format!("SELECT email FROM public.users u WHERE {android} ORDER BY 1")
        ),
        android_before.keys().cloned().collect::<Vec<_>>(),
        "the Android users, no more"
    );
    let migrated = rows_under(&db, "u.id IN (SELECT id FROM _pgmig.map_users)");
    for (table, n) in &migrated {
        assert_eq!(
            rows_of(&after, table),
            rows_of(&public_before, table) - under_stale[table] + n,
            "{table}: before - replaced + migrated"
        );
    }
    assert_eq!(
        migrated["public.drill_group_item_notes"], 0,
        "V1 has no notes"
    );
    assert_eq!(
        rows_of(&after, "public.drills"),
        rows_of(&public_before, "public.drills"),
        "the catalog is V2's own"
    );
    assert_eq!(after["public.drills"], public_before["public.drills"]);
    assert_eq!(
        user_md5s(&db, android),
        android_before,
        "Android users' rows changed"
    );
    assert_eq!(db.table_md5s(&["v1"]), v1_before, "V1 is only read");
    assert_eq!(num(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND tablename LIKE 'replaced\\_%'"), 8, "the backups of replace");

    // The Android app writes a session after the migration.
    let new_session = "'00000000-0000-4000-8000-00000000beef'";
    let new_drills = r#"[{"drill": {"uuid": "6ab5c5b8-4bd1-1d35-b1a1-a5d3e5c9f5d0", "title": "x"}, "setsDone": 1}]"#;
    db.execute(&format!(
        "INSERT INTO public.completed_sessions (id, user_id, date, drills, total_minutes)
         SELECT {new_session}, u.id, date '2025-03-01', '{new_drills}', 12 FROM public.users u WHERE u.email = 'android1@example.com'"
    ));

    let t = std::time::Instant::now();
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    eprintln!("drills: rollback {:?}", t.elapsed());
    let kept = strings(&db, &format!("SELECT u.email || ' ' || c.date || ' ' || c.total_minutes || ' ' || c.drills::text FROM public.completed_sessions c JOIN public.users u ON u.id = c.user_id WHERE c.id = {new_session}"));
    assert_eq!(
        kept,
        [format!("android1@example.com 2025-03-01 12 {new_drills}")],
        "rollback keeps the session the app wrote"
    );
    // Stale copies back byte for byte: the same uuids, the same notes, the same rows.
    assert_eq!(
        strings(
            &db,
            &format!("SELECT u.id::text FROM public.users u WHERE {apple} ORDER BY 1")
        ),
        stale_ids
    );
    assert_eq!(strings(&db, &format!("SELECT n::text FROM public.drill_group_item_notes n JOIN public.drill_groups g ON g.id = n.group_id JOIN public.users u ON u.id = g.user_id WHERE {apple} ORDER BY 1")), stale_notes);
    assert_eq!(
        user_md5s(&db, apple),
        stale_before,
        "stale copies restored byte for byte"
    );
    assert_eq!(num(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = '_pgmig' AND (tablename LIKE 'replaced\\_%' OR tablename LIKE 'map\\_%')"), 0, "backups and maps dropped");
    assert_eq!(
        num(
            &db,
            "SELECT count(*) FROM _pgmig.rejects WHERE model = 'drills'"
        ),
        0
    );
    // Everything else as before, once the app's session is taken out again.
    db.execute(&format!(
        "DELETE FROM public.completed_sessions WHERE id = {new_session}"
    ));
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
    assert_eq!(user_md5s(&db, android), android_before);
    assert_eq!(db.table_md5s(&["v1"]), v1_before);

    // And it migrates again to the same content (fresh uuids aside).
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate again");
    assert_oracle(&db, &full_migration_oracle(&stale_ids));
}

/// `--only 'users.email = …'` on a user with a stale copy: that user alone is replaced and
/// created, with its dependents; nothing else in V2 moves; rollback puts it back.
#[test]
fn only_one_user_with_a_stale_copy() {
    let email = "apple4@example.com";
    let db = drills_db("drills_only", SCALE);
    let dir = compiled_only(&format!("users.email = '{email}'"));
    let this = format!("u.email = '{email}'");
    let others = format!("u.email <> '{email}'");
    let others_before = user_md5s(&db, &others);
    assert_eq!(
        others_before.len() as i64,
        15 * SCALE + 5 * SCALE - 1,
        "Android users and the other stale copies"
    );
    let old_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(old_id.len(), 1, "{email} has a stale copy");
    let under_this = rows_under(&db, &this);
    let public_before = db.table_md5s(&["public"]);

    let pre = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert_eq!(
        replace_counts(&pre),
        under_this,
        "REPLACE lines = the rows under {email}'s stale copy; precheck said:\n{pre}"
    );
    assert!(
        pre.contains("REPLACE  users: 1 rows of public.users"),
        "{pre}"
    );
    assert!(
        pre.contains("step users: 20 source rows, 19 filtered by `where`"),
        "{pre}"
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "precheck changed V2"
    );

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = stderr(&run(&db, dir.path(), "verify.sql", &[]));
    // Every check passes, the model's assertion too (it reads only the sessions migrated).
    assert!(!verify.contains("FAIL  "), "{verify}");
    for step in [
        "users",
        "completed_sessions",
        "session_preferences",
        "drill_groups",
        "drill_group_items",
        "ordered_session_drills",
        "progress_history",
    ] {
        assert!(
            verify.contains(&format!("PASS  {step}: row counts:")),
            "{step}: {verify}"
        );
        assert!(
            verify.contains(&format!("PASS  {step}: content equals V1 recomputed")),
            "{step}: {verify}"
        );
    }

    // One user migrated: V1 user 4, a fresh uuid in place of the stale copy's.
    assert_eq!(
        strings(&db, "SELECT source_id::text FROM _pgmig.map_users"),
        ["4"]
    );
    let new_id = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {this}"),
    );
    assert_eq!(
        new_id,
        strings(&db, "SELECT id::text FROM _pgmig.map_users")
    );
    assert_ne!(new_id, old_id, "a fresh uuid");
    assert_eq!(
        num(
            &db,
            &format!(
                "SELECT count(*) FROM public.users WHERE id = '{}'",
                old_id[0]
            )
        ),
        0,
        "the stale copy is gone"
    );
    // Its rows: V1's, less the rejected ones (session 27 names 'Retired Juggle').
    let expected = BTreeMap::from([
        ("public.users".to_string(), 1),
        ("public.completed_sessions".to_string(), num(&db, &format!("SELECT count(*) FROM v1.completed_sessions cs WHERE cs.user_id = 4 AND NOT {V1_UNMATCHED}"))),
        ("public.session_preferences".to_string(), num(&db, "SELECT count(*) FROM v1.session_preferences WHERE user_id = 4")),
        ("public.drill_groups".to_string(), num(&db, "SELECT count(*) FROM v1.drill_groups WHERE user_id = 4")),
        (
            "public.drill_group_items".to_string(),
            num(&db, "SELECT count(*) FROM v1.drill_group_items i JOIN v1.drill_groups g ON g.id = i.group_id JOIN v1.drills d ON d.id = i.drill_id WHERE g.user_id = 4 AND d.title IN (SELECT title FROM public.drills)"),
        ),
        ("public.drill_group_item_notes".to_string(), 0),
        (
            "public.ordered_session_drills".to_string(),
            num(&db, "SELECT count(*) FROM v1.ordered_session_drills o JOIN v1.drills d ON d.id = o.drill_id WHERE o.user_id = 4 AND d.title IN (SELECT title FROM public.drills)"),
        ),
        ("public.progress_history".to_string(), 1),
    ]);
    assert_eq!(rows_under(&db, &this), expected);
    assert_eq!(
        expected["public.completed_sessions"], 7,
        "8 slots, session 27 rejected"
    );
    assert_eq!(
        strings(&db, "SELECT step || ' ' || (source_row ->> 'user_id') FROM _pgmig.rejects WHERE model = 'drills' ORDER BY 1"),
        ["completed_sessions 4"],
        "the only reject is user 4's session"
    );
    // Nothing else: the other Apple users are not migrated, the other stale copies and the
    // Android users untouched, every table = before - the replaced rows + user 4's rows.
    assert_eq!(num(&db, "SELECT count(*) FROM public.users u JOIN v1.users v ON v.email = u.email WHERE v.id % 4 <> 0"), 0, "other Apple users are not migrated");
    assert_eq!(
        user_md5s(&db, &others),
        others_before,
        "other users' rows changed"
    );
    let after = db.table_md5s(&["public"]);
    for (table, n) in &expected {
        assert_eq!(
            rows_of(&after, table),
            rows_of(&public_before, table) - under_this[table] + n,
            "{table}"
        );
    }
    assert_eq!(
        rows_of(&after, "public.users"),
        rows_of(&public_before, "public.users"),
        "one user replaced, none added"
    );

    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert_eq!(
        db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
    assert_eq!(
        strings(
            &db,
            &format!("SELECT u.id::text FROM public.users u WHERE {this}")
        ),
        old_id
    );
}

/// verify.sql of an `--only` compile passes after its migrate: the model's assertion reads
/// only the sessions the migration wrote (its id map), not the stale copies `--only` leaves
/// alone (old drill uuids, by design of the sample).
#[test]
fn only_verify_passes() {
    let db = drills_db("drills_only_verify", SCALE);
    let dir = compiled_only("users.email = 'apple4@example.com'");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verify = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");
}

/// progress_history of a migrated user is computed like V2's own rows (the Android ones,
/// sample_v2.sql's header): drills_per_session averages the elements that hold a drill, and
/// <skill>_drills_completed counts the completed ones.
#[test]
fn progress_metrics_follow_v2s_own_definition() {
    let db = drills_db("drills_metrics", SCALE);
    let dir = compiled();
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let differ = |filter: &str| {
        strings(
            &db,
            &format!(
                "SELECT u.email || ': ' || row(p.drills_per_session, p.dribbling_drills_completed, p.passing_drills_completed, p.shooting_drills_completed)::text
                        || ' <> ' || row(o.dps, o.dr, o.pa, o.sh)::text
                   FROM public.users u JOIN public.progress_history p ON p.user_id = u.id
                  CROSS JOIN LATERAL (
                        SELECT (SELECT round(avg((SELECT count(*) FROM json_array_elements(c.drills) e WHERE json_typeof(e -> 'drill') = 'object')), 2)
                                  FROM public.completed_sessions c WHERE c.user_id = u.id) AS dps,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'dribbling')::int AS dr,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'passing')::int AS pa,
                               count(*) FILTER (WHERE e -> 'drill' ->> 'skill' = 'shooting')::int AS sh
                          FROM public.completed_sessions c CROSS JOIN LATERAL json_array_elements(c.drills) AS e
                         WHERE c.user_id = u.id AND (e ->> 'isCompleted')::boolean) o
                  WHERE {filter}
                    AND row(p.drills_per_session, p.dribbling_drills_completed, p.passing_drills_completed, p.shooting_drills_completed)
                        IS DISTINCT FROM row(o.dps, o.dr, o.pa, o.sh)
                  ORDER BY 1"
            ),
        )
    };
    assert_eq!(
        differ("u.email LIKE 'android%'"),
        Vec::<String>::new(),
        "the definition, checked on V2's own rows"
    );
    assert_eq!(
        differ("u.id IN (SELECT id FROM _pgmig.map_users)"),
        Vec::<String>::new(),
        "migrated users"
    );

    // Streaks: runs of consecutive session days (STREAK_RUNS), the definition checked on V2's
    // own users (sample_v2.sql: days 0 1 2 4 5 9, current 1, highest 3), then on the migrated.
    let streaks_differ = |filter: &str| {
        strings(
            &db,
            &(String::from("WITH ")
                + STREAK_RUNS
                + " SELECT u.email || ': ' || row(p.current_streak, p.highest_streak)::text
                          || ' <> ' || row(coalesce(st.current_streak, 0), coalesce(st.highest_streak, 0))::text
                     FROM public.users u JOIN public.progress_history p ON p.user_id = u.id
                     LEFT JOIN streaks st ON st.user_id = u.id
                    WHERE "
                + filter
                + " AND (p.current_streak, p.highest_streak)
                        IS DISTINCT FROM (coalesce(st.current_streak, 0), coalesce(st.highest_streak, 0))
                    ORDER BY 1"),
        )
    };
    assert_eq!(
        streaks_differ("u.email LIKE 'android%'"),
        Vec::<String>::new(),
        "the definition, checked on V2's own rows"
    );
    assert_eq!(
        streaks_differ("u.id IN (SELECT id FROM _pgmig.map_users)"),
        Vec::<String>::new(),
        "migrated users' streaks are their sessions' runs"
    );
    // The gap this closes: V1's stored streaks are stale for most users with sessions.
    let stale = num(
        &db,
        &(String::from("WITH ")
            + STREAK_RUNS
            + " SELECT count(*) FROM v1.progress_history ph
                 JOIN _pgmig.map_users mu ON mu.source_id = ph.user_id
                 JOIN streaks st ON st.user_id = mu.id
                WHERE (ph.current_streak, ph.highest_streak) <> (st.current_streak, st.highest_streak)"),
    );
    eprintln!("drills: {stale} users' V1 streaks differ from their sessions'");
    assert!(stale >= 10 * SCALE, "{stale}");
}

// ---- bad input ----------------------------------------------------------------------------

/// Compiles the drills model with `old` replaced by `new` (it must be there) through the CLI;
/// returns the exit code, stderr and the edited text. Nothing may be written on error.
fn compile_variant(old: &str, new: &str) -> (i32, String, String) {
    let text = std::fs::read_to_string(models().join("model.yaml")).unwrap();
    let edited = text.replacen(old, new, 1);
    assert_ne!(text, edited, "the model no longer contains {old:?}");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), &edited).unwrap();
    let out = src.path().join("out");
    let output = pgmig_compile(src.path(), &["compile", "model.yaml"], &out);
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing is written on error"
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        edited,
    )
}

/// `pgmig <args> --v1 … --v2 … --out <out>` (the drills DDL files) in `cwd`.
fn pgmig_compile(cwd: &Path, args: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(cwd)
        .args(args)
        .arg("--v1")
        .arg(models().join("v1.sql"))
        .arg("--v2")
        .arg(models().join("v2.sql"))
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `model.yaml:LINE:COL` of the first occurrence of `needle` in `text`, plus `at` characters.
fn location(text: &str, needle: &str, at: usize) -> String {
    let start = text.find(needle).unwrap_or_else(|| panic!("{needle:?}")) + at;
    let line = text[..start].matches('\n').count() + 1;
    let col = start - text[..start].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("model.yaml:{line}:{col}")
}

/// A failed compile (exit 2, no panic) whose first and only diagnostic is `message` at `loc`.
fn assert_compile_error(code: i32, stderr: &str, loc: &str, message: &str) {
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.lines().next().unwrap_or_default(),
        format!("{loc}: error: {message}"),
        "first diagnostic; all of stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("error: model.yaml has 1 error; nothing was written"),
        "{stderr}"
    );
}

#[test]
fn compile_error_replace_on_a_column_not_unique_in_v2() {
    let (code, err, text) = compile_variant("replace: [email]", "replace: [name]");
    let loc = location(&text, "replace: [name]", "replace: [".len());
    assert_compile_error(
        code,
        &err,
        &loc,
        "`replace` matches on (name), which is not UNIQUE in V2 table `public.users`",
    );
    assert!(
        err.contains("help: a migrated row must name at most one V2 row to replace"),
        "{err}"
    );
}

#[test]
fn compile_error_relink_json_to_a_column_not_unique_in_v2() {
    let (code, err, text) = compile_variant("to: drills.title", "to: drills.skill");
    let loc = location(&text, "drills.skill", 0);
    assert_compile_error(
        code,
        &err,
        &loc,
        "relink_json: `public.drills.skill` must be UNIQUE, and the table's primary key one column",
    );
}

#[test]
fn compile_error_relink_json_on_a_column_that_is_not_json() {
    let (code, err, text) = compile_variant(
        "{ column: drills, object: drill,",
        "{ column: date, object: drill,",
    );
    let loc = location(&text, "column: date, object", "column: ".len());
    assert_compile_error(
        code,
        &err,
        &loc,
        "relink_json: `completed_sessions.date` is date, not json or jsonb",
    );
}

#[test]
fn only_names_an_unknown_column_or_table() {
    let select = |cond: &str| {
        pgmig::compile::compile_selected(
            &models().join("model.yaml"),
            &pgmig::SchemaInput::Ddl(models().join("v1.sql")),
            &pgmig::SchemaInput::Ddl(models().join("v2.sql")),
            &pgmig::compile::Selection {
                entities: vec![],
                only: Some(cond.to_string()),
            },
        )
        .map(|_| ())
        .unwrap_err()
    };
    let err = select("users.emial = 1");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        "--only: V1 table `v1.users` has no column `emial` (did you mean `email`?)"
    );
    let err = select("nosuch.x = 1");
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .starts_with("--only: no step reads V1 table `nosuch` first"),
        "{err}"
    );
    assert!(
        err.to_string().contains("users"),
        "names the tables it could be: {err}"
    );

    // The same through the CLI: exit 2, the message, nothing written.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let model = models().join("model.yaml").display().to_string();
    for (cond, says) in [
        (
            "users.emial = 1",
            "has no column `emial` (did you mean `email`?)",
        ),
        ("nosuch.x = 1", "no step reads V1 table `nosuch` first"),
    ] {
        let o = pgmig_compile(tmp.path(), &["compile", &model, "--only", cond], &out);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(says) && !stderr(&o).contains("panicked"),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists(), "nothing is written on error");
    }
}

/// A relink_json whose `object` no element holds compiles (the key is data), but precheck
/// finds it and blocks: migrate would relink nothing.
#[test]
fn precheck_blocks_a_relink_json_object_no_element_has() {
    let text = std::fs::read_to_string(models().join("model.yaml")).unwrap();
    let edited = text.replacen("object: drill,", "object: drll,", 1);
    assert_ne!(text, edited);
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), &edited).unwrap();
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &models().join("v1.sql"),
        &models().join("v2.sql"),
    );
    let db = drills_db("drills_drll", SCALE);
    let before = db.table_md5s(&["v1", "public"]);
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(
        !out.status.success(),
        "precheck must fail: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    let blocking: Vec<&str> = err.lines().filter(|l| l.contains("BLOCKING")).collect();
    assert_eq!(blocking.len(), 1, "{err}");
    assert!(
        blocking[0].ends_with("BLOCKING  completed_sessions: relink_json drills: no element holds an object under drll; nothing would be relinked"),
        "{err}"
    );
    assert!(err.contains("precheck: 1 blocking finding(s)"), "{err}");
    assert_eq!(
        db.table_md5s(&["v1", "public"]),
        before,
        "precheck writes nothing"
    );
}
