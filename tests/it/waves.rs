//! Phased migrations (issue 20; the drills guide's "test one user, then migrate everyone", the
//! workout guide's "10 %, then 100 %"): an `--only` compile migrates the first wave, the whole
//! model's migrate.sql the V1 rows no wave migrated yet. verify.sql passes after each wave and
//! the guides' own checks hold after the last; rollback.sql -v wave=last gives back V2 and the
//! bookkeeping exactly as the first wave left them, and the default (every wave) V2 as it was
//! before the first. An `--only` that matches no V1 row is a precheck finding and a refusal.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::drills::{self, compiled_only, drills_db, full_migration_oracle};
use crate::support::scripts::{assert_oracle, count, must_pass, run, stderr, strings};
use crate::support::workout::{guide_checks, workout_db};
use crate::support::{compile_only, repo_root, TestDb};

/// Every table of _pgmig but the log (whose rows carry timestamps and statuses), by content.
fn bookkeeping(db: &TestDb) -> BTreeMap<String, String> {
    let mut all = db.table_md5s(&["_pgmig"]);
    all.remove("_pgmig.log");
    all
}

/// V2 and the bookkeeping as one wave left them.
#[derive(Debug, PartialEq)]
struct WaveState {
    public: BTreeMap<String, String>,
    bookkeeping: BTreeMap<String, String>,
}

impl WaveState {
    fn of(db: &TestDb) -> WaveState {
        WaveState {
            public: db.table_md5s(&["public"]),
            bookkeeping: bookkeeping(db),
        }
    }
}

/// rollback.sql -v wave=last with `scripts`: V2 and the bookkeeping as `first_wave` left them.
/// Returns rollback's output.
fn undo_last_wave(db: &TestDb, scripts: &Path, first_wave: &WaveState) -> String {
    let undo = must_pass(
        run(db, scripts, "rollback.sql", &[("wave", "last")]),
        "rollback wave=last",
    );
    assert_eq!(
        &WaveState::of(db),
        first_wave,
        "after undoing the last wave"
    );
    undo
}

/// rollback.sql with `scripts` (every wave, the default): V2 as before the first wave, the
/// bookkeeping empty.
fn undo_every_wave(db: &TestDb, scripts: &Path, public_before: &BTreeMap<String, String>) {
    must_pass(run(db, scripts, "rollback.sql", &[]), "rollback all");
    assert_eq!(
        &db.table_md5s(&["public"]),
        public_before,
        "V2 after rollback"
    );
    for (table, rows) in bookkeeping(db) {
        assert!(rows.starts_with("0:"), "{table} kept {rows}");
    }
}

/// `(wave, rows)` of an id map, in wave order.
fn waves_of(db: &TestDb, map: &str) -> Vec<String> {
    strings(
        db,
        &format!("SELECT pgmig_wave || ':' || count(*) FROM {map} GROUP BY pgmig_wave ORDER BY pgmig_wave"),
    )
}

#[test]
fn drills_one_user_then_everyone_then_back() {
    let db = drills_db("waves_drills", 1);
    let one = compiled_only("users.email = 'apple4@example.com'");
    let everyone = drills::compiled();
    let apple = "lower(btrim(u.email)) IN (SELECT lower(btrim(email)) FROM v1.users)";
    let stale_ids = strings(
        &db,
        &format!("SELECT u.id::text FROM public.users u WHERE {apple} ORDER BY 1"),
    );
    let public_before = db.table_md5s(&["public"]);

    // Wave 1: one user.
    must_pass(run(&db, one.path(), "migrate.sql", &[]), "wave 1");
    assert_eq!(waves_of(&db, "_pgmig.map_users"), ["1:1"]);
    let first_uuid = strings(&db, "SELECT id::text FROM _pgmig.map_users");
    let wave1 = WaveState::of(&db);
    let verify = must_pass(run(&db, one.path(), "verify.sql", &[]), "verify wave 1");
    assert!(verify.contains("verify: every check passed"), "{verify}");

    // Wave 2: everyone else, through the whole model's scripts.
    let second = must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    assert!(
        second.contains("wave 2: the V1 rows earlier waves migrated stay as they are"),
        "{second}"
    );
    assert_eq!(waves_of(&db, "_pgmig.map_users"), ["1:1", "2:19"]);
    assert_eq!(
        strings(
            &db,
            "SELECT id::text FROM _pgmig.map_users WHERE source_id = 4"
        ),
        first_uuid,
        "the first wave's user keeps its uuid"
    );
    assert_eq!(
        strings(
            &db,
            "SELECT DISTINCT wave::text FROM _pgmig.log WHERE script = 'migrate' ORDER BY 1"
        ),
        ["1", "2"],
        "each run is a wave in _pgmig.log"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM (SELECT 1 FROM _pgmig.rejects GROUP BY step, rule, source_key HAVING count(*) > 1) AS twice"),
        0,
        "a V1 row is rejected once"
    );
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify wave 2",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");
    // The guide's own checks, as after a migration in one go.
    assert_oracle(&db, &full_migration_oracle(&stale_ids));

    // Rollback of the last wave: V2 and the bookkeeping as the first wave left them.
    let undo = undo_last_wave(&db, everyone.path(), &wave1);
    assert!(undo.contains("undoing wave 2"), "{undo}");
    let verify = must_pass(
        run(&db, one.path(), "verify.sql", &[]),
        "verify after wave=last",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");

    // The rest again, then rollback of every wave (the default): V2 as before the first.
    must_pass(
        run(&db, everyone.path(), "migrate.sql", &[]),
        "wave 2 again",
    );
    assert_eq!(waves_of(&db, "_pgmig.map_users"), ["1:1", "2:19"]);
    undo_every_wave(&db, everyone.path(), &public_before);
}

#[test]
fn workout_ten_percent_then_everyone_then_back() {
    let db = workout_db("waves_workout");
    let models = repo_root().join("models/workout");
    // About a tenth of the users: uuids below 1a.
    let tenth = compile_only(&models, "workout_plans.user_id::text < '1a'");
    let everyone = crate::support::workout::compiled();
    let public_before = db.table_md5s(&["public"]);

    must_pass(run(&db, tenth.path(), "migrate.sql", &[]), "wave 1");
    let plans_wave1 = count(&db, "SELECT count(*) FROM _pgmig.map_workout_plans");
    assert!(plans_wave1 > 0, "the tenth has plans");
    // Wave 1 rejects the sessions and logs of plans it leaves for later (their plan is not
    // migrated yet); the next wave migrates them and they are rejects no more.
    let rejected_wave1 = count(
        &db,
        "SELECT count(*) FROM _pgmig.rejects WHERE step = 'workout_sessions'",
    );
    assert!(rejected_wave1 > 0);
    let wave1 = WaveState::of(&db);
    let verify = must_pass(run(&db, tenth.path(), "verify.sql", &[]), "verify wave 1");
    assert!(!verify.contains("FAIL"), "{verify}");

    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.map_workout_plans WHERE pgmig_wave = 1"
        ),
        plans_wave1
    );
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify wave 2",
    );
    assert!(!verify.contains("FAIL"), "{verify}");
    // The guide's validation queries, as after a migration in one go.
    assert_oracle(&db, &guide_checks());
    // The rejects are those of a migration in one go: the first wave's for rows of plans it
    // left out went when the second migrated them.
    let one_go = workout_db("waves_workout_one_go");
    must_pass(run(&one_go, everyone.path(), "migrate.sql", &[]), "one go");
    let rejects =
        "SELECT step || ' ' || rule || ' ' || source_key::text FROM _pgmig.rejects ORDER BY 1";
    assert_eq!(strings(&db, rejects), strings(&one_go, rejects));
    one_go.drop_db();

    undo_last_wave(&db, everyone.path(), &wave1);
    let verify = must_pass(
        run(&db, tenth.path(), "verify.sql", &[]),
        "verify after wave=last",
    );
    assert!(!verify.contains("FAIL"), "{verify}");

    undo_every_wave(&db, tenth.path(), &public_before);
}

/// `--only` on an email V1 does not have: precheck says so (BLOCKING), migrate refuses and
/// changes nothing, and a later migrate is not blocked.
#[test]
fn an_only_that_selects_nothing_is_refused() {
    let db = drills_db("waves_only_nothing", 1);
    let nobody = compiled_only("users.email = 'nobody@example.com'");
    let public_before = db.table_md5s(&["public"]);

    let pre = run(&db, nobody.path(), "precheck.sql", &[]);
    assert!(!pre.status.success());
    assert!(
        stderr(&pre).contains("BLOCKING  --only users.email = 'nobody@example.com': no row of v1.users matches; migrate would refuse"),
        "{}",
        stderr(&pre)
    );

    let migrate = run(&db, nobody.path(), "migrate.sql", &[]);
    assert!(!migrate.status.success());
    assert!(
        stderr(&migrate).contains("--only users.email = 'nobody@example.com': no row of v1.users matches; nothing was changed"),
        "{}",
        stderr(&migrate)
    );
    assert_eq!(db.table_md5s(&["public"]), public_before);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = '_pgmig'"
        ),
        0,
        "nothing was changed, not even the bookkeeping"
    );

    let one = compiled_only("users.email = 'apple4@example.com'");
    must_pass(run(&db, one.path(), "migrate.sql", &[]), "a later migrate");
    assert_eq!(
        strings(&db, "SELECT source_id::text FROM _pgmig.map_users"),
        ["4"]
    );
}

/// Waves and repairs (school: emails made unique by a counter suffix). The first wave migrates
/// the teachers up to 20 and everyone else; parent 7 then keeps the email it shares with
/// teacher 29, and the second wave, which migrates teacher 29, finds that email taken (a
/// repair, and a value recorded in `_pgmig.repairs_taken`). Rollback of the last wave gives
/// back V2 and every table of `_pgmig` as the first wave left them, the values the second
/// wave found taken too.
#[test]
fn school_repairs_in_two_waves_then_the_last_undone() {
    let db = crate::support::school::school_db("waves_school", 1);
    let first = crate::support::school::compiled_only("teachers.id <= 20");
    let everyone = crate::support::school::compiled();
    let taken = "SELECT count(*) FROM _pgmig.repairs_taken";
    let sequences = "SELECT sequencename || ':' || coalesce(last_value::text, 'unused') FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1";

    must_pass(run(&db, first.path(), "migrate.sql", &[]), "wave 1");
    assert_eq!(waves_of(&db, "_pgmig.map_teacher_users"), ["1:20"]);
    let public_wave1 = db.table_md5s(&["public"]);
    let bookkeeping_wave1 = bookkeeping(&db);
    let taken_wave1 = count(&db, taken);
    let verify = must_pass(run(&db, first.path(), "verify.sql", &[]), "verify wave 1");
    assert!(verify.contains("verify: every check passed"), "{verify}");

    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    assert_eq!(waves_of(&db, "_pgmig.map_teacher_users"), ["1:20", "2:20"]);
    let sequences_wave2 = strings(&db, sequences);
    assert!(
        count(&db, taken) > taken_wave1,
        "the second wave found values taken that the first did not"
    );
    // Teacher 29 comes second: its email, already a parent's, gets the counter.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.users u JOIN _pgmig.map_teacher_users m ON m.id = u.id
              WHERE m.source_id = 29 AND u.email LIKE '%+2@%'"
        ),
        1
    );
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify wave 2",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");

    let undo = must_pass(
        run(&db, everyone.path(), "rollback.sql", &[("wave", "last")]),
        "rollback wave=last",
    );
    assert!(undo.contains("undoing wave 2"), "{undo}");
    assert_eq!(
        db.table_md5s(&["public"]),
        public_wave1,
        "V2 after undoing wave 2"
    );
    assert_eq!(
        bookkeeping(&db),
        bookkeeping_wave1,
        "_pgmig after undoing wave 2"
    );
    // V2's sequences (the reference tables') stay where the second wave left them: values
    // drawn since the first may be in use, and setval() cannot be undone.
    assert_eq!(strings(&db, sequences), sequences_wave2);
    let verify = must_pass(
        run(&db, first.path(), "verify.sql", &[]),
        "verify after wave=last",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");
}

/// An items model whose V2 `serial` key is copied from V1 (`key: keep`), ids 1–10, compiled
/// for the whole model and for `only` (the first wave).
struct KeptIds {
    db: TestDb,
    first: tempfile::TempDir,
    everyone: tempfile::TempDir,
    /// The model's directory, for other selections ([`compile_items`]).
    model: tempfile::TempDir,
}

fn kept_ids(name: &str, only: &str) -> KeptIds {
    let db = crate::support::cluster().create_db(name);
    db.execute(
        "CREATE SCHEMA v1;
         CREATE TABLE v1.items (id integer PRIMARY KEY, name text NOT NULL);
         INSERT INTO v1.items SELECT i, 'item ' || i FROM generate_series(1, 10) AS i;
         CREATE TABLE public.items (id serial PRIMARY KEY, name text NOT NULL);",
    );
    let model = tempfile::tempdir().unwrap();
    std::fs::write(
        model.path().join("model.yaml"),
        "name: items\nsource: { schema: v1 }\ntarget: { schema: public }\ntables:\n  items:\n    from: items i\n    key: keep\n",
    )
    .unwrap();
    KeptIds {
        first: compile_items(&db, model.path(), Some(only)),
        everyone: compile_items(&db, model.path(), None),
        db,
        model,
    }
}

/// The items model in `model` compiled against `db` for the root rows `only` selects (all
/// without one).
fn compile_items(db: &TestDb, model: &Path, only: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let c = pgmig::compile::compile_selected(
        &model.join("model.yaml"),
        &pgmig::SchemaInput::Database(db.url()),
        &pgmig::SchemaInput::Database(db.url()),
        &pgmig::compile::Selection {
            entities: vec![],
            only: only.map(str::to_string),
        },
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

const ITEMS_SEQUENCE: &str = "SELECT last_value || ' ' || is_called FROM public.items_id_seq";

/// Waves and a kept serial key: the first wave already moves the sequence past every V1 id
/// of the step (10), not only past the ids it copied (4), so a row the application inserts
/// between the waves takes 11, and the second wave copies 5–10 without a collision. Rollback
/// of the last wave leaves the sequence where it is: values drawn since may be in use.
#[test]
fn a_row_the_application_inserts_between_waves_keeps_its_id() {
    let KeptIds {
        db,
        first,
        everyone,
        ..
    } = kept_ids("waves_sequence_app", "items.id = 4");
    let before = strings(&db, ITEMS_SEQUENCE);
    assert_eq!(before, ["1 false"]);

    must_pass(run(&db, first.path(), "migrate.sql", &[]), "wave 1");
    assert_eq!(
        strings(&db, ITEMS_SEQUENCE),
        ["10 true"],
        "past every V1 id of the step, at the first wave already"
    );
    let plan = std::fs::read_to_string(first.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains("every V1 id the step reads"),
        "PLAN.md says so:\n{plan}"
    );

    // The application, between the waves.
    db.execute("INSERT INTO public.items (name) VALUES ('written by the application')");
    let app_row =
        "SELECT id || ' ' || name FROM public.items WHERE name = 'written by the application'";
    assert_eq!(strings(&db, app_row), ["11 written by the application"]);

    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify wave 2",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");
    assert_eq!(strings(&db, app_row), ["11 written by the application"]);
    assert_eq!(
        strings(
            &db,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.items"
        ),
        ["1,2,3,4,5,6,7,8,9,10,11"]
    );
    let after_wave2 = strings(&db, ITEMS_SEQUENCE);
    assert_eq!(after_wave2, ["11 true"]);

    // Undoing the second wave does not move the sequence back.
    must_pass(
        run(&db, everyone.path(), "rollback.sql", &[("wave", "last")]),
        "rollback wave=last",
    );
    assert_eq!(strings(&db, ITEMS_SEQUENCE), after_wave2);
    db.execute("INSERT INTO public.items (name) VALUES ('written after the rollback')");
    must_pass(
        run(&db, everyone.path(), "migrate.sql", &[]),
        "wave 2 again",
    );
    assert_eq!(
        strings(
            &db,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.items"
        ),
        ["1,2,3,4,5,6,7,8,9,10,11,12"]
    );
}

/// Sequences and rollback: the first wave (ids 1–4) moves the sequence past every V1 id (10);
/// rollback of the last wave leaves it there, and rollback of every wave puts it back where it
/// was before the first (no row above remains).
#[test]
fn a_sequence_goes_back_only_when_every_wave_is_undone() {
    let KeptIds {
        db,
        first,
        everyone,
        ..
    } = kept_ids("waves_sequences", "items.id <= 4");
    let before = strings(&db, ITEMS_SEQUENCE);
    assert_eq!(before, ["1 false"]);

    must_pass(run(&db, first.path(), "migrate.sql", &[]), "wave 1");
    assert_eq!(strings(&db, ITEMS_SEQUENCE), ["10 true"]);
    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    assert_eq!(strings(&db, ITEMS_SEQUENCE), ["10 true"]);

    must_pass(
        run(&db, everyone.path(), "rollback.sql", &[("wave", "last")]),
        "rollback wave=last",
    );
    assert_eq!(
        strings(&db, ITEMS_SEQUENCE),
        ["10 true"],
        "not moved back: the second wave's ids may come again"
    );
    assert_eq!(
        strings(
            &db,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.items"
        ),
        ["1,2,3,4"]
    );
    must_pass(run(&db, first.path(), "rollback.sql", &[]), "rollback all");
    assert_eq!(
        strings(&db, ITEMS_SEQUENCE),
        before,
        "as before the first wave"
    );
}

/// Verify with repairs across waves (school): two V1 teachers share an email; the first wave
/// migrates teacher 2 alone (its email as it is), the second everyone else, teacher 3 finding
/// that email taken (`+2`). verify.sql recomputes the repairs over every wave's taken values:
/// it passes as the scripts left V2, and fails once the repaired value is tampered with.
#[test]
fn verify_recomputes_repairs_over_every_wave() {
    let db = crate::support::school::school_db("waves_school_verify", 1);
    db.execute(
        "UPDATE v1.teachers SET email = (SELECT email FROM v1.teachers WHERE id = 2) WHERE id = 3",
    );
    let first = crate::support::school::compiled_only("teachers.id = 2");
    let everyone = crate::support::school::compiled();

    must_pass(run(&db, first.path(), "migrate.sql", &[]), "wave 1");
    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    let email_of = |teacher: i64| {
        strings(
            &db,
            &format!(
                "SELECT u.email FROM public.users u JOIN _pgmig.map_teacher_users m ON m.id = u.id
                  WHERE m.source_id = {teacher}"
            ),
        )
    };
    let shared = strings(
        &db,
        "SELECT lower(btrim(email)) FROM v1.teachers WHERE id = 2",
    );
    assert_eq!(email_of(2), shared, "the first wave's teacher keeps it");
    let repaired = email_of(3);
    assert!(repaired[0].contains("+2@"), "{repaired:?}");
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify after two waves",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");

    db.execute(&format!(
        "UPDATE public.users SET email = 'tampered+9@school.example' WHERE email = '{}'",
        repaired[0]
    ));
    let tampered = run(&db, everyone.path(), "verify.sql", &[]);
    assert!(!tampered.status.success(), "verify must fail");
    let out = String::from_utf8_lossy(&tampered.stdout).to_string() + &stderr(&tampered);
    assert!(out.contains("FAIL  teacher_users"), "{out}");
}

/// Per step, the rows precheck says the next wave would migrate: its source rows less those
/// `where` filters and the reject rules catch (`step NAME: N source rows, M filtered by
/// `where`` and `REJECT  NAME rule K "…": R rows`).
fn rows_to_migrate(precheck: &str) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for line in precheck.lines() {
        let notice = line.split("NOTICE:  ").nth(1).unwrap_or("");
        if let Some(rest) = notice.strip_prefix("step ") {
            let (step, counts) = rest.split_once(": ").unwrap();
            let n: Vec<i64> = counts.split(' ').filter_map(|w| w.parse().ok()).collect();
            rows.insert(step.to_string(), n[0] - n[1]);
        } else if let Some(rest) = notice.strip_prefix("REJECT  ") {
            let step = rest.split(' ').next().unwrap();
            let caught: i64 = rest
                .split_once("\": ")
                .and_then(|(_, n)| n.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            *rows.get_mut(step).unwrap() -= caught;
        }
    }
    rows
}

/// Every table of V1, V2 and the bookkeeping, by content.
fn everything(db: &TestDb) -> BTreeMap<String, String> {
    db.table_md5s(&["v1", "public", "_pgmig"])
}

/// "Test one user, then migrate everyone", with precheck between the waves: it reads
/// migrate's id maps, leaves the first wave's rows out of its counts, which are what the
/// second wave then migrates, and changes nothing. After the last wave it says that nothing is
/// left to migrate, as migrate would refuse.
#[test]
fn precheck_between_waves_counts_what_the_next_wave_migrates() {
    let db = drills_db("waves_precheck", 1);
    let one = compiled_only("users.email = 'apple4@example.com'");
    let everyone = drills::compiled();
    let before_any = rows_to_migrate(&must_pass(
        run(&db, everyone.path(), "precheck.sql", &[]),
        "precheck before the first wave",
    ));

    must_pass(run(&db, one.path(), "migrate.sql", &[]), "wave 1");
    let after_wave1 = everything(&db);
    let between = must_pass(
        run(&db, everyone.path(), "precheck.sql", &[]),
        "precheck between the waves",
    );
    assert_eq!(everything(&db), after_wave1, "precheck changed nothing");
    assert!(
        between.contains("precheck: model drills: wave 2: the V1 rows earlier waves migrated are left out of every count below"),
        "{between}"
    );
    let left = rows_to_migrate(&between);
    assert_eq!(left["users"], before_any["users"] - 1, "{between}");

    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 2");
    let migrated: BTreeMap<String, i64> = strings(
        &db,
        "SELECT step || ' ' || rows_out FROM _pgmig.log
          WHERE script = 'migrate' AND wave = 2 AND step <> '(all)' ORDER BY step",
    )
    .iter()
    .map(|l| {
        let (step, n) = l.split_once(' ').unwrap();
        (step.to_string(), n.parse().unwrap())
    })
    .collect();
    assert_eq!(left, migrated, "precheck's counts are the second wave's");
    assert_ne!(left, before_any);

    let after = run(&db, everyone.path(), "precheck.sql", &[]);
    assert!(!after.status.success(), "{}", stderr(&after));
    assert!(
        stderr(&after).contains("BLOCKING  model drills: nothing left to migrate: every V1 row is migrated (2 waves so far), filtered or rejected; migrate would refuse"),
        "{}",
        stderr(&after)
    );
}

/// A V1 row made unmigratable before the second wave (two drills of a group left for it now
/// share a title, so the group's items would share their V2 key) is found by precheck between
/// the waves, and refused with the same finding as precheck refuses it before the first.
#[test]
fn precheck_between_waves_refuses_what_it_refuses_before_the_first() {
    let db = drills_db("waves_precheck_finding", 1);
    let one = compiled_only("users.email = 'apple4@example.com'");
    let everyone = drills::compiled();
    // Two drills together in a group of another user than the first wave's (4), in none of
    // its groups, both in V2's catalog.
    let pair = strings(
        &db,
        "SELECT a.drill_id || ' ' || b.drill_id
           FROM v1.drill_group_items a
           JOIN v1.drill_group_items b ON b.group_id = a.group_id AND b.drill_id > a.drill_id
           JOIN v1.drill_groups g ON g.id = a.group_id
           JOIN v1.drills da ON da.id = a.drill_id
           JOIN v1.drills db ON db.id = b.drill_id
          WHERE g.user_id <> 4
            AND da.title IN (SELECT title FROM public.drills) AND db.title IN (SELECT title FROM public.drills)
            AND NOT EXISTS (SELECT 1 FROM v1.drill_group_items x JOIN v1.drill_group_items y ON y.group_id = x.group_id
                              JOIN v1.drill_groups h ON h.id = x.group_id
                             WHERE h.user_id = 4 AND x.drill_id = a.drill_id AND y.drill_id = b.drill_id)
          ORDER BY a.drill_id, b.drill_id LIMIT 1",
    );
    let (first, second) = pair[0].split_once(' ').unwrap();
    db.execute(&format!(
        "UPDATE v1.drills SET title = (SELECT title FROM v1.drills WHERE id = {second}) WHERE id = {first}"
    ));
    let finding = |out: &std::process::Output| {
        assert!(!out.status.success(), "precheck must refuse");
        stderr(out)
            .lines()
            .find(|l| l.contains("BLOCKING  drill_group_items: UNIQUE drill_group_items_pkey"))
            // The samples name the groups by uuids each run draws anew.
            .map(|l| {
                l.split("NOTICE:  ")
                    .nth(1)
                    .unwrap()
                    .split(", e.g.")
                    .next()
                    .unwrap()
                    .to_string()
            })
            .unwrap_or_else(|| panic!("{}", stderr(out)))
    };
    let before = finding(&run(&db, everyone.path(), "precheck.sql", &[]));

    must_pass(run(&db, one.path(), "migrate.sql", &[]), "wave 1");
    let after_wave1 = everything(&db);
    let between = finding(&run(&db, everyone.path(), "precheck.sql", &[]));
    assert_eq!(between, before);
    assert_eq!(everything(&db), after_wave1, "precheck changed nothing");
}

/// The rows of others counted as a later wave begins (`_pgmig.wave_targets`) are sealed with
/// the bookkeeping: changed after the second of three waves, verify FAILs naming them, and
/// rollback and the third wave refuse before they change anything (the third wave would seal
/// the change as its own); put back, all three go through.
#[test]
fn the_rows_of_others_counted_between_waves_are_sealed() {
    let KeptIds {
        db,
        first,
        everyone,
        model,
    } = kept_ids("waves_targets_sealed", "items.id = 4");
    let second = compile_items(&db, model.path(), Some("items.id <= 6"));
    must_pass(run(&db, first.path(), "migrate.sql", &[]), "wave 1");
    db.execute("INSERT INTO public.items (name) VALUES ('written by the application')");
    must_pass(run(&db, second.path(), "migrate.sql", &[]), "wave 2");
    let counted = "SELECT wave || ' ' || rows_of_others FROM _pgmig.wave_targets";
    assert_eq!(strings(&db, counted), ["2 1"]);
    let verify = must_pass(run(&db, second.path(), "verify.sql", &[]), "verify");
    assert!(verify.contains("verify: every check passed"), "{verify}");

    // A row from nowhere, hidden as one more row of others.
    db.execute(
        "INSERT INTO public.items (id, name) VALUES (100, 'from nowhere');
         UPDATE _pgmig.wave_targets SET rows_of_others = 2",
    );
    let tampered = everything(&db);
    let verify = run(&db, second.path(), "verify.sql", &[]);
    assert!(
        !verify.status.success(),
        "verify must fail:\n{}",
        stderr(&verify)
    );
    assert!(
        stderr(&verify).contains(
            "FAIL  bookkeeping changed since migrate: _pgmig.wave_targets (1 rows now, 1 sealed)"
        ),
        "{}",
        stderr(&verify)
    );
    for (script, vars) in [
        ("rollback.sql", &[("wave", "last")][..]),
        ("migrate.sql", &[][..]),
    ] {
        let refused = run(&db, everyone.path(), script, vars);
        assert!(!refused.status.success(), "{script} must refuse");
        assert!(
            stderr(&refused).contains(&format!("{script}: refused, nothing was changed: the bookkeeping changed since it was sealed: _pgmig.wave_targets (1 rows now, 1 sealed)")),
            "{}",
            stderr(&refused)
        );
        assert_eq!(
            everything(&db),
            tampered,
            "the refused {script} changed nothing"
        );
    }

    db.execute(
        "UPDATE _pgmig.wave_targets SET rows_of_others = 1; DELETE FROM public.items WHERE id = 100",
    );
    must_pass(run(&db, everyone.path(), "migrate.sql", &[]), "wave 3");
    assert_eq!(
        strings(&db, &format!("{counted} ORDER BY wave")),
        ["2 1", "3 1"]
    );
    let verify = must_pass(
        run(&db, everyone.path(), "verify.sql", &[]),
        "verify wave 3",
    );
    assert!(verify.contains("verify: every check passed"), "{verify}");
    must_pass(
        run(&db, everyone.path(), "rollback.sql", &[("wave", "last")]),
        "rollback wave=last",
    );
    assert_eq!(strings(&db, counted), ["2 1"]);
}
