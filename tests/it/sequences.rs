//! Sequences on real schemas (tests/it/fixtures/models/pgdump_sequences): a pg_dump-style V2
//! whose keys come from sequences no column owns, one shared by several tables. Every
//! sequence V2 draws from ends past the copied keys, verify checks each, rollback restores
//! each, and a dry run (of migrate or rollback) leaves every one as it was, even while
//! another session draws from it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use pgmig::catalog::{from_database, from_ddl, QualName};

use crate::support::{cluster, repo_root, TestDb};

const USER_SCHEMAS: &[&str] = &["v1", "public"];

/// Every sequence a column of the fixture's V2 draws from, as SQL names them.
const SEQUENCES: &[&str] = &[
    "public.accounts_id_seq",
    "public.\"Invoice_Line_Seq\"",
    "public.party_seq",
];

/// The sequence no column draws from, but the model calls nextval() on.
const CALLED: &str = "public.batch_seq";

/// The tables the model fills.
const FILLED: &[&str] = &["accounts", "invoice_lines", "customers", "suppliers"];

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/pgdump_sequences")
}

fn compiled() -> tempfile::TempDir {
    let f = fixture();
    crate::support::compile_ddl(&f.join("model.yaml"), &f.join("v1.sql"), &f.join("v2.sql"))
}

/// V1 (DDL + data) in schema v1, V2's empty schema in public.
fn fixture_db(db_name: &str) -> TestDb {
    let db = cluster().create_db(db_name);
    db.execute("CREATE SCHEMA v1");
    let f = fixture();
    db.load_in_schema(&f.join("v1.sql"), "v1");
    db.load_in_schema(&f.join("v2.sql"), "public");
    db.load_in_schema(&f.join("data.sql"), "v1");
    db
}

fn must_pass(o: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{what} failed:\n{stderr}");
    stderr
}

fn run(db: &TestDb, dir: &Path, script: &str, vars: &[(&str, &str)]) -> String {
    must_pass(db.psql_file(dir.join(script), vars), script)
}

/// `(last_value, is_called)` of every V2 sequence columns draw from.
fn sequence_states(db: &TestDb) -> Vec<(String, i64, bool)> {
    states(db, SEQUENCES)
}

fn states(db: &TestDb, sequences: &[&str]) -> Vec<(String, i64, bool)> {
    let mut c = db.client();
    sequences
        .iter()
        .map(|s| {
            let r = c
                .query_one(&format!("SELECT last_value, is_called FROM {s}"), &[])
                .unwrap();
            (s.to_string(), r.get(0), r.get(1))
        })
        .collect()
}

fn max_id(db: &TestDb, table: &str) -> i64 {
    db.client()
        .query_one(&format!("SELECT max(id)::bigint FROM public.{table}"), &[])
        .unwrap()
        .get(0)
}

/// The key a row inserted the way the application does it (key omitted) gets; the
/// insert is rolled back, the sequence moves anyway.
fn app_insert(db: &TestDb, table: &str) -> Result<i64, String> {
    let values = if table == "invoice_lines" {
        "(account_id, amount) VALUES (1, 9.99)"
    } else {
        "(name) VALUES ('written by the application')"
    };
    let mut c = db.client();
    let mut tx = c.transaction().unwrap();
    let id = tx
        .query_one(
            &format!("INSERT INTO public.{table} {values} RETURNING id::bigint"),
            &[],
        )
        .map(|r| r.get(0))
        .map_err(|e| crate::support::pg_error_text(&e));
    tx.rollback().unwrap();
    id
}

#[test]
fn both_readers_see_the_sequence_a_default_draws_from() {
    let v2 = fixture().join("v2.sql");
    let db = cluster().create_db("seq_readers");
    db.load_in_schema(&v2, "public");
    let ddl = from_ddl(&std::fs::read_to_string(&v2).unwrap(), "public")
        .expect("from_ddl")
        .catalog;
    let live = from_database(&mut db.client(), &["public".to_string()]).expect("from_database");
    let q = |n: &str| QualName::new("public", n);
    for (name, catalog) in [("ddl", &ddl), ("live", &live)] {
        assert_eq!(
            catalog.sequence_of(&q("accounts"), "id"),
            Some(&q("accounts_id_seq")),
            "{name}: not owned, unqualified"
        );
        assert_eq!(
            catalog.sequence_of(&q("invoice_lines"), "id"),
            Some(&q("Invoice_Line_Seq")),
            "{name}: quoted ::regclass, set by ALTER TABLE"
        );
        for table in ["customers", "suppliers", "partners"] {
            assert_eq!(
                catalog.sequence_of(&q(table), "id"),
                Some(&q("party_seq")),
                "{name}: {table} shares party_seq"
            );
        }
        assert_eq!(catalog.sequence_of(&q("customers"), "name"), None, "{name}");
        assert_eq!(
            catalog.columns_drawing_from(&q("party_seq")),
            ["customers", "partners", "suppliers"].map(|t| (q(t), "id".to_string())),
            "{name}"
        );
    }
}

#[test]
fn every_sequence_v2_draws_from_moves_past_the_copied_keys_and_rollback_restores_it() {
    let db = fixture_db("seq_pgdump");
    let dir = compiled();
    let before_tables = db.table_md5s(USER_SCHEMAS);

    run(&db, dir.path(), "migrate.sql", &[]);
    let verify = run(&db, dir.path(), "verify.sql", &[]);
    for line in [
        "PASS  sequence public.accounts_id_seq is ahead of public.accounts.id",
        "PASS  sequence public.\"Invoice_Line_Seq\" is ahead of public.invoice_lines.id",
        "PASS  sequence public.party_seq is ahead of public.customers.id, public.partners.id, public.suppliers.id",
    ] {
        assert!(verify.contains(line), "missing `{line}`:\n{verify}");
    }
    assert!(!verify.contains("FAIL"), "{verify}");

    // The shared sequence is past the largest key of both tables it serves.
    let party_max = max_id(&db, "customers").max(max_id(&db, "suppliers"));
    assert_eq!(party_max, 135);
    for table in FILLED {
        let copied = if ["customers", "suppliers"].contains(table) {
            party_max
        } else {
            max_id(&db, table)
        };
        let id = app_insert(&db, table).unwrap_or_else(|e| {
            panic!("the application's insert into {table} fails after migrate: {e}")
        });
        assert!(
            id > copied,
            "{table}: the application got key {id}, not above the copied {copied}"
        );
    }

    // app_insert drew from every sequence after migrate (its rows are gone, rolled back):
    // a value drawn may be held where rollback cannot see it (a mail sent with the id, a
    // row deleted since), so rollback leaves those sequences where the application left
    // them rather than issue the values again, and says so.
    let drawn_since = sequence_states(&db);
    let notices = run(&db, dir.path(), "rollback.sql", &[]);
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before_tables,
        "rollback restores every table"
    );
    assert_eq!(sequence_states(&db), drawn_since, "no sequence goes back");
    for q in SEQUENCES {
        assert!(
            notices.contains(&format!("{q}: left at "))
                && notices.contains("values were drawn from it since migrate"),
            "{q}:\n{notices}"
        );
    }
}

/// Nobody drew from the sequences since migrate: rollback puts every one back exactly, the
/// one two steps share (party_seq: customers and suppliers) included.
#[test]
fn rollback_puts_back_each_sequence_nobody_drew_from_since_migrate() {
    let db = fixture_db("seq_put_back");
    let dir = compiled();
    let before = sequence_states(&db);
    run(&db, dir.path(), "migrate.sql", &[]);
    assert_ne!(sequence_states(&db), before, "migrate moves the sequences");
    let notices = run(&db, dir.path(), "rollback.sql", &[]);
    assert_eq!(
        sequence_states(&db),
        before,
        "rollback restores (last_value, is_called) of every sequence"
    );
    assert!(!notices.contains("values were drawn"), "{notices}");
}

/// The reviewer's case: the application takes ids after migrate, the rows are gone by the
/// time of rollback (cancelled, archived elsewhere), the ids are in customers' hands.
/// Rollback must not issue them again.
#[test]
fn rollback_never_issues_again_an_id_the_application_drew_after_migrate() {
    let db = fixture_db("seq_no_reissue");
    let dir = compiled();
    run(&db, dir.path(), "migrate.sql", &[]);
    let mut c = db.client();
    let taken: Vec<i64> = c
        .query(
            "INSERT INTO public.accounts (name) VALUES ('app a'), ('app b') RETURNING id::bigint",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.execute("DELETE FROM public.accounts WHERE name LIKE 'app %'", &[])
        .unwrap();
    run(&db, dir.path(), "rollback.sql", &[]);
    let next: Vec<i64> = c
        .query(
            "INSERT INTO public.accounts (name) SELECT 'after ' || g FROM generate_series(1, 200) AS g RETURNING id::bigint",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for id in &taken {
        assert!(
            !next.contains(id),
            "id {id}, drawn after migrate, issued again after rollback"
        );
    }
}

/// Rows another writer put in a table that shares the sequence, with keys of its own
/// choosing: the sequence ends past them too, though no step fills that table.
#[test]
fn a_shared_sequence_moves_past_rows_others_wrote_in_tables_no_step_fills() {
    let db = fixture_db("seq_shared_others");
    let dir = compiled();
    db.execute("INSERT INTO public.partners (id, name) VALUES (5000, 'imported by hand')");
    run(&db, dir.path(), "migrate.sql", &[]);
    assert!(run(&db, dir.path(), "verify.sql", &[])
        .contains("PASS  sequence public.party_seq is ahead of"));
    assert_eq!(app_insert(&db, "customers"), Ok(5001));
    assert_eq!(app_insert(&db, "partners"), Ok(5002));
}

#[test]
fn a_dry_run_of_migrate_or_rollback_leaves_every_sequence_as_it_was() {
    let db = fixture_db("seq_dry_run");
    let dir = compiled();
    // Not fresh: one sequence called (is_called true), the others never.
    db.execute("SELECT nextval('public.accounts_id_seq')");
    let before_tables = db.table_md5s(USER_SCHEMAS);
    let before = sequence_states(&db);
    assert_eq!(before[0], ("public.accounts_id_seq".to_string(), 1, true));
    let called_before = states(&db, &[CALLED]);

    let out = run(&db, dir.path(), "migrate.sql", &[("dry_run", "1")]);
    assert!(
        out.contains("step 4/4 suppliers: 16 source rows, 0 filtered, 0 rejected, 16 migrated"),
        "{out}"
    );
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before_tables,
        "a dry run changes no table"
    );
    assert_eq!(
        sequence_states(&db),
        before,
        "a dry run changes no sequence"
    );
    assert_eq!(
        states(&db, &[CALLED]),
        called_before,
        "nor one the model calls nextval() on"
    );

    run(&db, dir.path(), "migrate.sql", &[]);
    let migrated = sequence_states(&db);
    assert_ne!(migrated, before);
    let migrated_tables = db.table_md5s(USER_SCHEMAS);
    run(&db, dir.path(), "rollback.sql", &[("dry_run", "1")]);
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        migrated_tables,
        "a dry run of rollback changes no table"
    );
    assert_eq!(
        sequence_states(&db),
        migrated,
        "a dry run of rollback leaves the sequences past the migrated keys"
    );

    run(&db, dir.path(), "rollback.sql", &[]);
    assert_eq!(
        sequence_states(&db),
        before,
        "migrate → rollback restores every sequence"
    );
}

/// The application draws from a sequence while a dry run is under way: it waits for the
/// dry run's ROLLBACK, then gets the value it would have got without the dry run, and the
/// sequence stays past it (never rewound below a value someone drew).
#[test]
fn a_dry_run_holds_its_sequences_so_the_application_is_never_rewound() {
    let db = fixture_db("seq_dry_run_concurrent");
    let dir = compiled();
    db.execute("SELECT nextval('public.accounts_id_seq')");

    // Park the dry run after it has taken its sequences: suppliers, filled last, is locked.
    let mut blocker = db.client();
    blocker
        .batch_execute("BEGIN; LOCK TABLE public.suppliers IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let dry_run = db
        .psql_cmd()
        .env("PGAPPNAME", "pgmig_dry_run")
        .args(["-v", "dry_run=1", "-v", "lock_timeout=0", "-f"])
        .arg(dir.path().join("migrate.sql"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(&db, "the dry run waits for the suppliers lock", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgmig_dry_run' AND wait_event_type = 'Lock'");

    let url = db.url();
    let app = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute("SET application_name = 'the_application'")
            .unwrap();
        c.query_one("SELECT nextval('public.accounts_id_seq')", &[])
            .map(|r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())
    });
    wait_until(&db, "the application's nextval() waits for the dry run", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'the_application' AND wait_event_type = 'Lock'");

    blocker.batch_execute("ROLLBACK").unwrap();
    let out = dry_run.wait_with_output().unwrap();
    must_pass(out, "the dry run");
    assert_eq!(
        app.join().unwrap(),
        Ok(2),
        "the application draws on from where the sequence was before the dry run"
    );
    assert_eq!(
        sequence_states(&db)[0],
        ("public.accounts_id_seq".to_string(), 2, true),
        "the value drawn stays drawn"
    );
}

/// Polls `count_sql` until it is positive (30 s at most).
fn wait_until(db: &TestDb, what: &str, count_sql: &str) {
    let mut c = db.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.query_one(count_sql, &[]).unwrap().get::<_, i64>(0) == 0 {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sequence and table names are schema text, so attacks: quote enders, the dry run's dollar
/// tag, `%`, line breaks and psql meta-commands in them reach comments, literals, notices and
/// dollar-quoted bodies, and every script still does exactly its job.
#[test]
fn hostile_sequence_and_table_names_stay_names() {
    let marker = std::env::temp_dir().join(format!("pgmig-pwned-seq-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let sequence = format!("s'%$hold$\"\n\\! touch {}\n*/--", marker.display());
    let table = "t'%$check$\n\\gexec\n:'v' %s".to_string();
    assert!(sequence.len() < 64 && table.len() < 64);
    let regclass = lit(&format!("public.{}", ident(&sequence)));
    let v2 = format!(
        "CREATE SEQUENCE public.{seq} START WITH 7;\n\
         CREATE TABLE public.{t} (id bigint DEFAULT nextval({regclass}::regclass) NOT NULL PRIMARY KEY, name text NOT NULL);\n",
        seq = ident(&sequence),
        t = ident(&table),
    );
    let model = format!(
        "name: hostile_sequences\nsource: {{ schema: v1 }}\ntarget: {{ schema: public }}\ntables:\n  {}:\n    from: people p\n    key: keep\n",
        serde_json::to_string(&table).unwrap()
    );
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("v1.sql"),
        "CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(src.path().join("v2.sql"), &v2).unwrap();
    std::fs::write(src.path().join("model.yaml"), &model).unwrap();
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &src.path().join("v1.sql"),
        &src.path().join("v2.sql"),
    );

    let db = cluster().create_db("seq_hostile");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&src.path().join("v1.sql"), "v1");
    db.load_in_schema(&src.path().join("v2.sql"), "public");
    db.execute("INSERT INTO v1.people SELECT i, 'person ' || i FROM generate_series(1, 12) AS i");
    let state = |db: &TestDb| -> (i64, bool) {
        let r = db
            .client()
            .query_one(
                &format!(
                    "SELECT last_value, is_called FROM public.{}",
                    ident(&sequence)
                ),
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let before = state(&db);
    assert_eq!(before, (7, false));

    run(&db, dir.path(), "migrate.sql", &[("dry_run", "1")]);
    assert_eq!(
        state(&db),
        before,
        "the dry run holds and restores the sequence"
    );
    run(&db, dir.path(), "migrate.sql", &[]);
    assert_eq!(state(&db), (12, true), "moved past the copied 1..12");
    let verify = run(&db, dir.path(), "verify.sql", &[]);
    assert!(
        verify.contains("PASS  sequence public.\"s'%$hold$"),
        "{verify}"
    );
    assert!(!verify.contains("FAIL"), "{verify}");
    run(&db, dir.path(), "rollback.sql", &[("dry_run", "1")]);
    assert_eq!(state(&db), (12, true));
    run(&db, dir.path(), "rollback.sql", &[]);
    assert_eq!(state(&db), before, "rollback restores it");
    assert!(!marker.exists(), "a name ran a shell command");
}

/// A role that may run migrate (UPDATE on the sequences) but does not own them cannot hold
/// them for a dry run: the dry run stops before any step, says why, and changes nothing; the
/// real run works for that role.
#[test]
fn a_dry_run_by_a_role_not_owning_the_sequences_stops_with_the_reason() {
    let db = fixture_db("seq_dry_run_not_owner");
    let dir = compiled();
    let role = format!("{}_runner", db.name());
    db.execute(&format!(
        "CREATE ROLE {role};
         GRANT CREATE ON DATABASE {db} TO {role};
         GRANT USAGE ON SCHEMA v1, public TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA v1 TO {role};
         GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};",
        db = db.name()
    ));
    let before_tables = db.table_md5s(USER_SCHEMAS);
    let before = sequence_states(&db);
    let as_role = |vars: &[&str]| {
        let mut cmd = db.psql_cmd();
        for v in vars {
            cmd.args(["-v", v]);
        }
        cmd.args(["-c", &format!("SET ROLE {role}"), "-f"])
            .arg(dir.path().join("migrate.sql"))
            .output()
            .unwrap()
    };
    let out = as_role(&["dry_run=1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ERROR:  dry_run: must be owner of sequence accounts_id_seq"),
        "{stderr}"
    );
    assert!(stderr.contains("HINT:  a dry run holds each sequence it may move with ALTER SEQUENCE, which needs the sequence's owner"), "{stderr}");
    assert!(!stderr.contains("step 1/4"), "no step ran: {stderr}");
    assert_eq!(db.table_md5s(USER_SCHEMAS), before_tables);
    assert_eq!(sequence_states(&db), before);

    must_pass(as_role(&[]), "migrate as the role");
    assert!(app_insert(&db, "accounts").is_ok_and(|id| id > 20));
}
