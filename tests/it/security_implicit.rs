//! Issue 15, the code a write runs implicitly, performed against a real PostgreSQL: the role
//! that owns the V2 tables (not superuser) attaches its own function to one of them (a
//! trigger, a DEFAULT, a CHECK, a domain's CHECK, an operator, an index expression, a rule,
//! a trigger a foreign key's cascade reaches) or has V1 read through its view; the function
//! tries `ALTER ROLE <itself> SUPERUSER` and writes a file. A superuser running precheck,
//! migrate or rollback (transaction, batched and in-place scripts) must refuse, name what it
//! found, and change nothing; a function a superuser took over passes; and nothing can be
//! attached to the written tables while migrate runs. Each attack on the transaction-mode
//! scripts worked before the guard (run against the scripts of commit cf417e5).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::scripts::{count, must_pass, run, stderr, USER_SCHEMAS};
use crate::support::workout::workout_db;
use crate::support::TestDb;

/// The workout model (transaction mode) compiled from its DDL files.
fn compiled() -> tempfile::TempDir {
    let models = crate::support::repo_root().join("models/workout");
    crate::support::compile_ddl(
        &models.join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// A role that is not superuser and owns schema public and every V2 table in it, as an
/// application's role does.
fn application_role(db: &TestDb) -> String {
    let role = format!("app_of_{}", db.name());
    db.execute(&format!("CREATE ROLE {role} NOSUPERUSER"));
    give_schema(db, "public", &role);
    role
}

/// `schema` and every table in it now belong to `role`.
fn give_schema(db: &TestDb, schema: &str, role: &str) {
    db.execute(&format!(
        "ALTER SCHEMA {schema} OWNER TO {role};
         DO $d$
         DECLARE t regclass;
         BEGIN
           FOR t IN SELECT c.oid::regclass FROM pg_class AS c
                    WHERE c.relnamespace = '{schema}'::regnamespace AND c.relkind IN ('r', 'p') LOOP
             EXECUTE format('ALTER TABLE %s OWNER TO {role}', t);
           END LOOP;
         END $d$;"
    ));
}

fn is_superuser(db: &TestDb, role: &str) -> bool {
    db.client()
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = $1", &[&role])
        .unwrap()
        .get(0)
}

/// Where the planted code writes (as the server's OS user) when it runs as a superuser: the
/// trace that outlives precheck's rollback.
pub(super) fn evidence(db: &TestDb) -> PathBuf {
    let path = PathBuf::from(format!("/tmp/pgmig-implicit-{}", db.name()));
    let _ = std::fs::remove_file(&path);
    path
}

/// PL/pgSQL that writes the evidence file and makes `role` superuser: both fail (quietly)
/// unless they run with a superuser's rights.
pub(super) fn escalate(role: &str, evidence: &Path) -> String {
    format!(
        "BEGIN EXECUTE format('COPY (SELECT current_user) TO %L', '{}'); EXCEPTION WHEN OTHERS THEN NULL; END;
         BEGIN EXECUTE 'ALTER ROLE {role} SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;",
        evidence.display()
    )
}

/// One way to have the table owner's function run by a write: its setup, run as the
/// owner (`{role}` and `{escalate}` filled in), and the finding the guard must report.
struct Trap {
    name: &'static str,
    plant: &'static str,
    finding: &'static str,
}

const INSERT_TRAPS: &[Trap] = &[
    Trap {
        name: "trigger",
        plant: "CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN NEW; END $f$;
                CREATE TRIGGER pwn BEFORE INSERT ON public.workout_plans FOR EACH ROW EXECUTE FUNCTION public.pwn();
                ALTER TABLE public.workout_plans ENABLE ALWAYS TRIGGER pwn;",
        finding: "public.workout_plans: trigger pwn runs public.pwn(), owned by {role}",
    },
    Trap {
        name: "default",
        plant: "CREATE FUNCTION public.pwn() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN 'x'; END $f$;
                ALTER TABLE public.workout_plans ADD COLUMN pwned text DEFAULT public.pwn();",
        finding: "public.workout_plans: DEFAULT of column pwned runs public.pwn(), owned by {role}",
    },
    Trap {
        name: "check",
        plant: "CREATE FUNCTION public.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
                ALTER TABLE public.workout_weeks ADD CONSTRAINT pwn CHECK (public.pwn(notes));",
        finding: "public.workout_weeks: constraint pwn runs public.pwn(text), owned by {role}",
    },
    Trap {
        name: "index expression",
        // An IMMUTABLE function may not run ALTER ROLE itself; the VOLATILE one it calls may.
        plant: "CREATE FUNCTION public.pwn_inner() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN {escalate} END $f$;
                CREATE FUNCTION public.pwn(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN PERFORM public.pwn_inner(); RETURN $1; END $f$;
                CREATE INDEX pwn ON public.exercises (public.pwn(name));",
        finding: "public.exercises: index pwn runs public.pwn(text), owned by {role}",
    },
    Trap {
        name: "domain CHECK",
        plant: "CREATE FUNCTION public.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
                CREATE DOMAIN public.note AS text CHECK (public.pwn(VALUE));
                ALTER TABLE public.workout_days ALTER COLUMN notes TYPE public.note;",
        finding: "public.workout_days: constraint note_check of domain public.note (column notes) runs public.pwn(text), owned by {role}",
    },
    // The function behind an operator the CHECK uses.
    Trap {
        name: "operator in a CHECK",
        plant: "CREATE FUNCTION public.pwn(text, text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
                CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pwn);
                ALTER TABLE public.workout_sessions ADD CONSTRAINT pwn CHECK (notes OPERATOR(public.===) 'x');",
        finding: "public.workout_sessions: constraint pwn runs public.pwn(text,text), owned by {role}",
    },
    // It would run as its owner, but the owner can drop SECURITY DEFINER at any moment.
    Trap {
        name: "SECURITY DEFINER trigger",
        plant: "CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $f$ BEGIN RETURN NEW; END $f$;
                CREATE TRIGGER pwn AFTER INSERT ON public.workout_sessions FOR EACH STATEMENT EXECUTE FUNCTION public.pwn();",
        finding: "public.workout_sessions: trigger pwn runs public.pwn() (SECURITY DEFINER), owned by {role}",
    },
    Trap {
        name: "rule",
        plant: "CREATE FUNCTION public.pwn() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN 'x'; END $f$;
                CREATE TABLE public.pwn_log (note text);
                CREATE RULE pwn AS ON INSERT TO public.workout_days DO ALSO INSERT INTO public.pwn_log VALUES (public.pwn());",
        finding: "public.workout_days: rule pwn runs public.pwn(), owned by {role}",
    },
    // Only a superuser creates operator classes, but the function it gives one may be the
    // owner's: a B-tree calls its comparison on every INSERT.
    Trap {
        name: "operator class of an index",
        plant: "CREATE FUNCTION public.pwn_inner() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN {escalate} END $f$;
                CREATE FUNCTION public.pwn(text, text) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN PERFORM public.pwn_inner(); RETURN pg_catalog.bttextcmp($1, $2); END $f$;
                RESET ROLE;
                CREATE OPERATOR CLASS public.pwn_ops FOR TYPE text USING btree AS
                  OPERATOR 1 pg_catalog.<, OPERATOR 2 pg_catalog.<=, OPERATOR 3 pg_catalog.=,
                  OPERATOR 4 pg_catalog.>=, OPERATOR 5 pg_catalog.>, FUNCTION 1 public.pwn(text, text);
                SET ROLE {role};
                CREATE INDEX pwn ON public.exercises (name public.pwn_ops);",
        finding: "public.exercises: index pwn (operator class pwn_ops) runs public.pwn(text,text), owned by {role}",
    },
    // A CHECK that casts to a domain runs the domain's CHECKs; no column has the domain's
    // type and the model does not cast to it (fifth review, f1: migrate made the owner
    // superuser).
    Trap {
        name: "domain a CHECK casts to",
        plant: "CREATE FUNCTION public.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
                CREATE DOMAIN public.checked AS text CHECK (public.pwn(VALUE));
                ALTER TABLE public.workout_weeks ADD CONSTRAINT pwn CHECK ((notes::public.checked)::text IS NOT DISTINCT FROM notes);",
        finding: "public.workout_weeks: constraint checked_check of domain public.checked (constraint pwn uses it) runs public.pwn(text), owned by {role}",
    },
    // The same through a DEFAULT the model does not fill (fifth review, f1d).
    Trap {
        name: "domain a DEFAULT casts to",
        plant: "CREATE FUNCTION public.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
                CREATE DOMAIN public.checked AS text CHECK (public.pwn(VALUE));
                ALTER TABLE public.workout_plans ADD COLUMN pwned text DEFAULT (('x'::text)::public.checked)::text;",
        finding: "public.workout_plans: constraint checked_check of domain public.checked (DEFAULT of column pwned uses it) runs public.pwn(text), owned by {role}",
    },
    // A range type's subtype_diff runs in GiST indexes and ANALYZE of its columns.
    Trap {
        name: "range type's subtype_diff",
        plant: "CREATE FUNCTION public.pwn(float8, float8) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN RETURN $1 - $2; END $f$;
                CREATE TYPE public.span AS RANGE (SUBTYPE = float8, SUBTYPE_DIFF = public.pwn);
                ALTER TABLE public.workout_plans ADD COLUMN pwned public.span;",
        finding: "public.workout_plans: type public.span runs public.pwn(double precision,double precision), owned by {role}",
    },
];

fn fill(text: &str, role: &str, evidence: &Path) -> String {
    text.replace("{escalate}", &escalate(role, evidence))
        .replace("{role}", role)
}

/// The planted code did not run as the superuser.
pub(super) fn assert_not_run(db: &TestDb, role: &str, evidence: &Path, what: &str) {
    assert!(
        !is_superuser(db, role),
        "{what} made the tables' owner superuser"
    );
    assert!(
        !evidence.exists(),
        "{what} ran the owner's code as superuser"
    );
}

/// precheck and migrate each stop at the guard with `finding`: the planted code did not run
/// and V1 and V2 are as they were.
fn precheck_and_migrate_refuse(db: &TestDb, dir: &Path, finding: &str, role: &str, trace: &Path) {
    let before = db.table_md5s(USER_SCHEMAS);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(db, dir, script, &[]);
        assert_refused(&out, script, finding);
        assert_not_run(db, role, trace, script);
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            before,
            "{script} changed V1 or V2"
        );
    }
}

fn assert_refused(out: &Output, what: &str, finding: &str) {
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what} must stop under ON_ERROR_STOP:\n{}",
        stderr(out)
    );
    for expected in ["pgmig will not run: the tables it writes or reads would run functions that another role owns", finding, "ALTER FUNCTION"] {
        assert!(stderr(out).contains(expected), "{what}: no {expected:?} in:\n{}", stderr(out));
    }
}

#[test]
fn functions_the_v2_tables_owner_attaches_do_not_run_as_the_superuser_running_precheck_or_migrate()
{
    let dir = compiled();
    for (i, trap) in INSERT_TRAPS.iter().enumerate() {
        let db = workout_db(&format!("si_insert_{i}"));
        let role = application_role(&db);
        let evidence = evidence(&db);
        db.execute(&format!(
            "SET ROLE {role}; {} RESET ROLE;",
            fill(trap.plant, &role, &evidence)
        ));
        let finding = fill(trap.finding, &role, &evidence);
        let before = db.table_md5s(USER_SCHEMAS);
        for script in ["precheck.sql", "migrate.sql"] {
            let out = run(&db, dir.path(), script, &[]);
            let what = format!("{script} with a {}", trap.name);
            assert_refused(&out, &what, &finding);
            assert_not_run(&db, &role, &evidence, &what);
            assert_eq!(
                db.table_md5s(USER_SCHEMAS),
                before,
                "{script} with a {} changed V1 or V2",
                trap.name
            );
        }
    }
}

#[test]
fn functions_attached_after_migrate_do_not_run_as_the_superuser_running_rollback() {
    let dir = compiled();
    let traps = [
        (
            "CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN OLD; END $f$;
             CREATE TRIGGER pwn BEFORE DELETE ON public.exercises FOR EACH ROW EXECUTE FUNCTION public.pwn();",
            "public.exercises: trigger pwn runs public.pwn(), owned by {role}",
        ),
        (
            "CREATE FUNCTION public.pwn() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN 'x'; END $f$;
             CREATE TABLE public.pwn_log (note text);
             CREATE RULE pwn AS ON DELETE TO public.workout_plans DO ALSO INSERT INTO public.pwn_log VALUES (public.pwn());",
            "public.workout_plans: rule pwn runs public.pwn(), owned by {role}",
        ),
        // A table outside the model whose rows go with the plans: the cascade's AFTER triggers
        // fire at the end of rollback's DELETE, as the role running it.
        (
            "CREATE TABLE public.plan_notes (plan_id uuid REFERENCES public.workout_plans ON DELETE CASCADE);
             INSERT INTO public.plan_notes SELECT id FROM public.workout_plans;
             CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN OLD; END $f$;
             CREATE TRIGGER pwn AFTER DELETE ON public.plan_notes FOR EACH ROW EXECUTE FUNCTION public.pwn();",
            "public.plan_notes: trigger pwn runs public.pwn(), owned by {role}",
        ),
    ];
    for (i, (plant, finding)) in traps.iter().enumerate() {
        let db = workout_db(&format!("si_rollback_{i}"));
        let role = application_role(&db);
        let evidence = evidence(&db);
        must_pass(
            run(&db, dir.path(), "migrate.sql", &[]),
            "migrate before the trap",
        );
        db.execute(&format!(
            "SET ROLE {role}; {} RESET ROLE;",
            fill(plant, &role, &evidence)
        ));
        let migrated = db.table_md5s(USER_SCHEMAS);
        let out = run(&db, dir.path(), "rollback.sql", &[]);
        assert_refused(&out, "rollback", &fill(finding, &role, &evidence));
        assert_not_run(&db, &role, &evidence, "rollback");
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            migrated,
            "rollback changed V1 or V2"
        );
    }
}

#[test]
fn batched_and_in_place_scripts_refuse_too() {
    let batched = crate::support::workout_batched("3");
    let db = workout_db("si_batched");
    let role = application_role(&db);
    let trace = evidence(&db);
    let trigger = "CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN NEW; END $f$;
                   CREATE TRIGGER pwn BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION public.pwn();";
    db.execute(&format!(
        "SET ROLE {role}; {} RESET ROLE;",
        fill(
            &trigger.replace("{table}", "public.exercises"),
            &role,
            &trace
        )
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(&db, batched.path(), script, &[]);
        assert_refused(
            &out,
            &format!("batched {script}"),
            &format!("public.exercises: trigger pwn runs public.pwn(), owned by {role}"),
        );
        assert_not_run(&db, &role, &trace, &format!("batched {script}"));
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            before,
            "batched {script} changed V1 or V2"
        );
    }

    // In place: V1's tables are changed where they are, by UPDATE and ALTER TABLE.
    let in_place = crate::support::uuid::compiled(1000);
    let db = crate::support::uuid::uuid_db("si_in_place", true);
    let role = application_role(&db);
    let trace = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role}; {} RESET ROLE;",
        fill(&trigger.replace("{table}", "public.tags"), &role, &trace)
    ));
    let before = db.table_md5s(&["public"]);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(&db, in_place.path(), script, &[]);
        assert_refused(
            &out,
            &format!("in-place {script}"),
            &format!("public.tags: trigger pwn runs public.pwn(), owned by {role}"),
        );
        assert_not_run(&db, &role, &trace, &format!("in-place {script}"));
        assert_eq!(
            db.table_md5s(&["public"]),
            before,
            "in-place {script} changed the tables"
        );
    }
}

#[test]
fn a_v1_view_calling_its_owners_function_is_not_read_by_a_superuser() {
    // Reading the view calls the function with the reader's rights (the view owner's rights
    // are for table access only).
    a_v1_view_is_not_read_by_a_superuser(
        "si_view",
        "CREATE FUNCTION v1.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
         CREATE VIEW v1.workout_plans_filtered AS SELECT * FROM v1.workout_plans_data WHERE v1.pwn();
         CREATE VIEW v1.workout_plans AS SELECT * FROM v1.workout_plans_filtered;",
        "v1.workout_plans_filtered: view runs v1.pwn(), owned by {role}",
    );
}

/// The same view casting to a domain of its owner's, whose CHECK calls the owner's function
/// (fifth review, f1b: precheck, migrate and verify ran it as the superuser; the guard looked
/// at a view's functions and operators, not at the types it casts to).
#[test]
fn a_v1_view_casting_to_its_owners_domain_is_not_read_by_a_superuser() {
    a_v1_view_is_not_read_by_a_superuser(
        "si_view_domain",
        "CREATE FUNCTION v1.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
         CREATE DOMAIN v1.checked AS text CHECK (v1.pwn(VALUE));
         CREATE VIEW v1.workout_plans AS SELECT * FROM v1.workout_plans_data WHERE (name::v1.checked) IS NOT NULL;",
        "v1.workout_plans: constraint checked_check of domain v1.checked (view uses it) runs v1.pwn(text), owned by {role}",
    );
}

/// V1's owner puts a view (`plant`, run as that role with `{escalate}` and `{role}` filled in)
/// where the model reads the table v1.workout_plans, renamed v1.workout_plans_data: precheck
/// and migrate refuse with `finding`.
fn a_v1_view_is_not_read_by_a_superuser(name: &str, plant: &str, finding: &str) {
    let dir = compiled();
    let db = workout_db(name);
    let role = application_role(&db);
    let evidence = evidence(&db);
    give_schema(&db, "v1", &role);
    db.execute(&format!(
        "SET ROLE {role};
         ALTER TABLE v1.workout_plans RENAME TO workout_plans_data;
         {}
         RESET ROLE;",
        fill(plant, &role, &evidence)
    ));
    precheck_and_migrate_refuse(
        &db,
        dir.path(),
        &fill(finding, &role, &evidence),
        &role,
        &evidence,
    );
}

/// verify and export read the V2 tables migrate wrote, and their guard looked at V1's
/// relations only (fifth review, f5 and f5b). After migrate, V2's owner puts a view calling
/// its function where a V2 table was, or gives a V2 column an enum of its own (it may then
/// make a cast from it to text, which verify's comparisons call): both scripts refuse, and
/// nothing ran as the superuser.
#[test]
fn verify_and_export_check_the_v2_tables_they_read() {
    let dir = compiled();
    let db = workout_db("si_v2_read_view");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let role = application_role(&db);
    let evidence = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE FUNCTION public.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         ALTER TABLE public.exercise_logs RENAME TO exercise_logs_data;
         CREATE VIEW public.exercise_logs AS SELECT * FROM public.exercise_logs_data WHERE public.pwn();
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    for script in ["verify.sql", "export.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_refused(
            &out,
            script,
            &format!("public.exercise_logs: view runs public.pwn(), owned by {role}"),
        );
        assert_not_run(&db, &role, &evidence, script);
    }

    let db = workout_db("si_v2_read_enum");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let role = application_role(&db);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE TYPE public.yes_no AS ENUM ('false', 'true');
         ALTER TABLE public.exercise_logs ALTER COLUMN is_warmup DROP DEFAULT,
           ALTER COLUMN is_warmup TYPE public.yes_no USING is_warmup::text::public.yes_no;
         RESET ROLE;"
    ));
    for script in ["verify.sql", "export.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_refused(
            &out,
            script,
            &format!("public.exercise_logs: type public.yes_no (column is_warmup) belongs to {role}, who may make a cast from or to it"),
        );
    }
}

#[test]
fn a_function_a_superuser_took_over_passes() {
    let dir = compiled();
    let db = workout_db("si_reviewed");
    let role = application_role(&db);
    // The owner's trigger, reviewed and taken by the superuser who runs the scripts.
    db.execute(&format!(
        "SET ROLE {role};
         CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.description := 'touched'; RETURN NEW; END $f$;
         CREATE TRIGGER touch BEFORE INSERT ON public.workout_plans FOR EACH ROW EXECUTE FUNCTION public.touch();
         RESET ROLE;"
    ));
    let out = run(&db, dir.path(), "precheck.sql", &[]);
    assert_refused(
        &out,
        "precheck",
        &format!("public.workout_plans: trigger touch runs public.touch(), owned by {role}"),
    );
    // A role the DBA names as trusted passes too (the bookkeeping guard's -v pgmig_owner).
    must_pass(
        run(&db, dir.path(), "precheck.sql", &[("pgmig_owner", &role)]),
        "precheck trusting the tables' owner",
    );
    db.execute("ALTER FUNCTION public.touch() OWNER TO postgres");
    must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let untouched: i64 = db.client().query_one("SELECT count(*) FROM public.workout_plans WHERE description IS DISTINCT FROM 'touched'", &[]).unwrap().get(0);
    assert_eq!(untouched, 0, "the reviewed trigger did not run");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
}

#[test]
fn nothing_can_be_attached_to_the_written_tables_while_migrate_runs() {
    let dir = compiled();
    let db = workout_db("si_race");
    let role = application_role(&db);
    // Migrate is held up at its first read of V1, after the guard passed.
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; LOCK TABLE v1.workout_plans IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let migrate = db
        .psql_cmd()
        .env("PGAPPNAME", "si_race_migrate")
        .args(["-v", "lock_timeout=60s", "-f"])
        .arg(dir.path().join("migrate.sql"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        db.waits_for_lock("si_race_migrate", || true),
        "migrate never waited for V1"
    );
    // The tables' owner tries to attach a trigger now: it waits for migrate's ROW EXCLUSIVE.
    let late = db.try_execute(&format!(
        "SET lock_timeout = '300ms'; SET ROLE {role};
         CREATE FUNCTION public.late() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
         CREATE TRIGGER late BEFORE INSERT ON public.exercises FOR EACH ROW EXECUTE FUNCTION public.late();"
    ));
    assert!(
        late.as_ref().is_err_and(|e| e.contains("lock timeout")),
        "a trigger was attached while migrate ran: {late:?}"
    );
    holder.batch_execute("COMMIT").unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A row written into a partitioned table is routed to its partitions, and `ATTACH PARTITION`
/// takes only SHARE UPDATE EXCLUSIVE on the table: under the guard's ROW EXCLUSIVE, the
/// table's owner attached a default partition with a trigger after the guard had passed, and
/// migrate's INSERT routed a row into it and ran the trigger as the superuser (found in the
/// project's own review; nokey fixture, whose V2 readings is partitioned by year).
#[test]
fn no_partition_can_be_attached_to_a_partitioned_target_while_migrate_runs() {
    let fixture = crate::support::repo_root().join("tests/it/fixtures/models/nokey");
    // Without its foreign key: attaching a partition clones it, which waits for the
    // referenced table's lock, and a partitioned table without one must be safe too.
    let v2_text = std::fs::read_to_string(fixture.join("v2.sql")).unwrap();
    let (before, readings) = v2_text.split_once("CREATE TABLE readings").unwrap();
    let v2_text = format!(
        "{before}CREATE TABLE readings{}",
        readings.replacen(" REFERENCES sensors (id)", "", 1)
    );
    let v2 = tempfile::tempdir().unwrap();
    std::fs::write(v2.path().join("v2.sql"), &v2_text).unwrap();
    let dir = crate::support::compile_ddl(
        &fixture.join("model.yaml"),
        &fixture.join("v1.sql"),
        &v2.path().join("v2.sql"),
    );
    let db = crate::support::cluster().create_db("si_attach");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture.join("v1.sql"), "v1");
    db.load_in_schema(&v2.path().join("v2.sql"), "public");
    db.load_in_schema(&fixture.join("data.sql"), "v1");
    // A reading of a year V2 has no partition for yet: a default partition would take it.
    db.execute("INSERT INTO v1.readings VALUES (7, 1, '2026-02-02', 1.00)");
    let role = application_role(&db);
    let trace = evidence(&db);
    db.execute(&fill(
        "SET ROLE {role};
         CREATE TABLE public.readings_other (LIKE public.readings);
         CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN NEW; END $f$;
         CREATE TRIGGER pwn BEFORE INSERT ON public.readings_other FOR EACH ROW EXECUTE FUNCTION public.pwn();",
        &role,
        &trace,
    ));
    // Migrate passes the guard and waits at its first insert: another session is inserting
    // the same sensor (and will roll back).
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; INSERT INTO public.sensors VALUES (1, 'in flight')")
        .unwrap();
    let migrate = spawn_script(&db, dir.path(), "migrate.sql", "si_attach_migrate", &[]);
    assert!(
        db.waits_for_lock("si_attach_migrate", || true),
        "migrate never waited for the sensor in flight"
    );
    let attached = db.try_execute(&format!(
        "SET lock_timeout = '300ms'; SET ROLE {role};
         ALTER TABLE public.readings ATTACH PARTITION public.readings_other DEFAULT;"
    ));
    assert!(
        attached.as_ref().is_err_and(|e| e.contains("lock timeout")),
        "a partition was attached to a table migrate writes while it ran: {attached:?}"
    );
    holder.batch_execute("ROLLBACK").unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert!(
        stderr(&out).contains("no partition of relation \"readings\" found for row"),
        "migrate should fail on the 2026 reading, which has no partition:\n{}",
        stderr(&out)
    );
    assert_not_run(&db, &role, &trace, "migrate");
}

/// A script that commits as it goes gives its locks back at every COMMIT: a trigger the tables'
/// owner attaches between two transactions of a batched migrate must be refused before the
/// next one writes (the check runs again at the start of each). Before, the check ran once at
/// the top, and the trigger ran as the superuser on the next batch (found by a hostile review).
#[test]
fn a_trigger_attached_between_two_batches_is_refused_before_the_next_batch_writes() {
    let batched = crate::support::workout_batched("50");
    let db = workout_db("si_between");
    let role = application_role(&db);
    let trace = evidence(&db);
    // Migrate is held up inside its first step's first transaction (its first read of V1).
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; LOCK TABLE v1.workout_plans IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let migrate = db
        .psql_cmd()
        .env("PGAPPNAME", "si_between_migrate")
        .args(["-v", "lock_timeout=60s", "-f"])
        .arg(batched.path().join("migrate.sql"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        db.waits_for_lock("si_between_migrate", || true),
        "migrate never waited for V1"
    );
    // The owner attaches its trigger as soon as that transaction commits: it queues behind it.
    let plant = fill(
        "SET application_name = 'si_between_owner'; SET lock_timeout = '60s'; SET ROLE {role};
         CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN NEW; END $f$;
         CREATE TRIGGER pwn BEFORE INSERT ON public.exercise_logs FOR EACH ROW EXECUTE FUNCTION public.pwn();",
        &role,
        &trace,
    );
    let mut owner = db.client();
    let planted =
        std::thread::spawn(move || owner.batch_execute(&plant).map_err(|e| e.to_string()));
    // It waits for the check's locks (or, with none in its way, is done at once).
    db.waits_for_lock("si_between_owner", || !planted.is_finished());
    holder.batch_execute("COMMIT").unwrap();
    planted.join().unwrap().unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_refused(
        &out,
        "batched migrate, trigger attached between two transactions",
        &format!("public.exercise_logs: trigger pwn runs public.pwn(), owned by {role}"),
    );
    assert_not_run(&db, &role, &trace, "batched migrate");
}

/// In place, each fill batch commits on its own. The table's owner attached a trigger after
/// the transaction that added the new columns (and ran the check), before the first batch:
/// the batch's UPDATE, run by the superuser, fired it (found by a hostile review). The check
/// now runs again in every batch's transaction.
#[test]
fn a_trigger_attached_during_an_in_place_fill_is_refused_before_the_next_batch_writes() {
    let in_place = crate::support::uuid::compiled(1000);
    let db = crate::support::uuid::uuid_db("si_fill_between", false);
    let role = application_role(&db);
    let trace = evidence(&db);
    // Migrate is held up at the first table's new columns (ADD COLUMN waits for this lock).
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; LOCK TABLE public.reminders IN ROW SHARE MODE")
        .unwrap();
    let migrate = spawn_script(&db, in_place.path(), "migrate.sql", "si_fill_migrate", &[]);
    assert!(
        db.waits_for_lock("si_fill_migrate", || true),
        "migrate never waited for the first table"
    );
    // The owner's trigger queues behind migrate's ACCESS EXCLUSIVE: it is attached as soon as
    // the new columns' transaction commits, before the first batch's UPDATE.
    let plant = fill(
        "SET application_name = 'si_fill_owner'; SET lock_timeout = '60s'; SET ROLE {role};
         CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN NEW; END $f$;
         CREATE TRIGGER pwn BEFORE UPDATE ON public.reminders FOR EACH ROW EXECUTE FUNCTION public.pwn();",
        &role,
        &trace,
    );
    let mut owner = db.client();
    let planted =
        std::thread::spawn(move || owner.batch_execute(&plant).map_err(|e| e.to_string()));
    assert!(
        db.waits_for_lock("si_fill_owner", || !planted.is_finished()),
        "the owner's trigger did not queue behind migrate"
    );
    holder.batch_execute("COMMIT").unwrap();
    planted.join().unwrap().unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_refused(
        &out,
        "in-place migrate, trigger attached during the fill",
        &format!("public.reminders: trigger pwn runs public.pwn(), owned by {role}"),
    );
    assert_not_run(&db, &role, &trace, "in-place migrate's fill");
}

/// The fill's UPDATE reaches the table's inheritance children, and `ALTER TABLE … INHERIT`
/// takes only SHARE UPDATE EXCLUSIVE on the parent, which ROW EXCLUSIVE lets through (tried on
/// a scratch cluster): a child its owner made between a batch's check and its UPDATE would
/// have been written by the superuser unchecked. Each batch now holds that mode on its table
/// from before the check to its COMMIT: seen here in `pg_locks` while the fill runs.
#[test]
fn every_in_place_fill_batch_holds_its_table_against_new_inheritance_children() {
    let in_place = crate::support::uuid::compiled(100);
    let db = crate::support::uuid::uuid_db("si_fill_inherit", false);
    let mut migrate = spawn_script(&db, in_place.path(), "migrate.sql", "si_fill_inherit", &[]);
    let mut watcher = db.client();
    // Other statements take that mode too (the concurrent index builds, the validations): only
    // the fill's CALL counts.
    let mut seen = false;
    while !seen && migrate.try_wait().unwrap().is_none() {
        seen = watcher
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
                                 WHERE a.application_name = 'si_fill_inherit' AND l.granted
                                   AND l.relation = 'public.reminders'::regclass
                                   AND l.mode = 'ShareUpdateExclusiveLock'
                                   AND a.query LIKE 'CALL _pgmig.inplace_uuid_reminders(%')",
                &[],
            )
            .unwrap()
            .get(0);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let out = migrate.wait_with_output().unwrap();
    assert!(out.status.success(), "migrate: {}", stderr(&out));
    assert!(
        seen,
        "no fill batch held SHARE UPDATE EXCLUSIVE on public.reminders"
    );
}

/// In place, the swap adds V2's CHECKs on the changed columns and a later phase validates
/// them: PostgreSQL evaluates a CHECK with the rights of whoever runs ALTER TABLE, and nothing
/// checked the functions the CHECK calls (fourth review: V2's CHECK called the application's
/// own function, and migrate made its owner superuser). The guard now checks the functions
/// of every CHECK the scripts add (V2's in migrate, V1's again in rollback) like the model's
/// calls: one another role owns is refused before anything runs.
#[test]
fn in_place_scripts_refuse_a_check_calling_another_roles_function() {
    in_place_scripts_refuse_a_check(
        "si_inplace_check",
        "public.uuid_ok(user_id)",
        "CREATE FUNCTION public.uuid_ok(u uuid) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN u IS NOT NULL; END $f$;",
        |out, script, role| {
            assert_call_refused(
                out,
                script,
                &format!("the model calls public.uuid_ok: public.uuid_ok(uuid) is owned by {role}, another role"),
            )
        },
    );
}

/// The same CHECK casting the column to the application's domain, whose CHECK calls its
/// function: phase 3's validation ran it as the superuser (fifth review, f1c). The types a
/// CHECK the scripts add casts to are checked like the model's casts, from precheck on.
#[test]
fn in_place_scripts_refuse_a_check_casting_to_another_roles_domain() {
    in_place_scripts_refuse_a_check(
        "si_inplace_check_domain",
        "(user_id::text)::public.uid_d IS NOT NULL",
        "CREATE FUNCTION public.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN true; END $f$;
         CREATE DOMAIN public.uid_d AS text CHECK (public.pwn(VALUE));",
        |out, script, role| {
            assert_refused(
                out,
                script,
                &format!("the model's casts: constraint uid_d_check of domain public.uid_d (the model casts to it) runs public.pwn(text), owned by {role}"),
            )
        },
    );
}

/// An in-place model whose V2 gives the converted column `CHECK (check)`; the application's
/// role (not superuser) owns the table and plants `plant` (`{escalate}` filled in): precheck
/// and migrate are refused (`refused` asserts how) and nothing ran or changed.
fn in_place_scripts_refuse_a_check(
    name: &str,
    check: &str,
    plant: &str,
    refused: impl Fn(&Output, &str, &str),
) {
    let v1 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id varchar(36) NOT NULL, note text);";
    let v2 = format!(
        "CREATE TABLE items (id bigint PRIMARY KEY,
                             user_id uuid NOT NULL CONSTRAINT items_user_id_ok CHECK ({check}),
                             note text);"
    );
    let model = "name: items\nin_place: true\ntarget: { schema: public }\nbatch_size: 1000\n";
    let (_src, dir) = crate::support::compile_texts(v1, &v2, model);
    let db = crate::support::cluster().create_db(name);
    let role = format!("app_of_{}", db.name());
    let trace = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         GRANT CREATE ON SCHEMA public TO {role};
         SET ROLE {role};
         {v1}
         INSERT INTO public.items SELECT g, pg_catalog.gen_random_uuid()::text, 'n' FROM pg_catalog.generate_series(1, 10) AS g;
         {}
         RESET ROLE;",
        fill(plant, &role, &trace)
    ));
    let before = db.table_md5s(&["public"]);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(&db, dir.as_path(), script, &[]);
        refused(&out, script, &role);
        assert_not_run(&db, &role, &trace, script);
        assert_eq!(
            db.table_md5s(&["public"]),
            before,
            "{script} changed the table"
        );
    }
}

/// `pgmig run` counts each step's source rows on a second connection for its progress bars.
/// It did so before the script started, so before the script's check of the code it reads:
/// V1's owner made the first step's table a view calling its own function, and the count ran
/// it as the superuser (found by a hostile review). The count now waits for the first step.
#[test]
fn pgmig_run_counts_no_source_row_before_the_scripts_check_of_v1s_views() {
    let dir = compiled();
    let db = workout_db("si_runner_view");
    let role = application_role(&db);
    let evidence = evidence(&db);
    give_schema(&db, "v1", &role);
    db.execute(&format!(
        "SET ROLE {role};
         ALTER TABLE v1.workout_plans RENAME TO workout_plans_data;
         CREATE FUNCTION v1.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         CREATE VIEW v1.workout_plans AS SELECT * FROM v1.workout_plans_data WHERE v1.pwn();
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    let dir_arg = dir.path().to_str().unwrap();
    let out = crate::support::pgmig_cli(&["run", "migrate", "--dir", dir_arg, "--db", &db.url()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "v1.workout_plans: view runs v1.pwn(), owned by {role}"
        )),
        "{}",
        stderr(&out)
    );
    assert_not_run(&db, &role, &evidence, "pgmig run migrate");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "migrate changed V1 or V2"
    );
}

/// pgmig's own queries (the advisory lock, status's lookups) run before any script pins
/// `search_path`. A database owner may set the database's path to put `public` first and
/// plant `public.pg_try_advisory_lock` and `public.to_regclass`: every session pgmig opens
/// pins the path itself, so they never run (found by a hostile review: they made the owner
/// superuser through `pgmig run` and even the read-only `pgmig status`).
#[test]
fn functions_a_database_owner_plants_on_the_search_path_do_not_run_in_pgmigs_sessions() {
    let dir = compiled();
    let db = workout_db("si_runner_path");
    let role = application_role(&db);
    let evidence = evidence(&db);
    let plant = |name: &str, args: &str, returns: &str, call: &str| {
        format!(
            "CREATE FUNCTION public.{name}({args}) RETURNS {returns} LANGUAGE plpgsql AS $f$
             BEGIN INSERT INTO public.pgmig_calls VALUES ('{name}'); {} RETURN pg_catalog.{call}; END $f$;",
            escalate(&role, &evidence)
        )
    };
    db.execute(&format!(
        "ALTER DATABASE {db_name} OWNER TO {role};
         SET ROLE {role};
         CREATE TABLE public.pgmig_calls (name text);
         {lock}
         {regclass}
         ALTER DATABASE {db_name} SET search_path = public, pg_catalog;
         RESET ROLE;",
        db_name = db.name(),
        lock = plant(
            "pg_try_advisory_lock",
            "bigint",
            "boolean",
            "pg_try_advisory_lock($1)"
        ),
        regclass = plant("to_regclass", "text", "regclass", "to_regclass($1)"),
    ));
    // The plant works: a session that takes the database's path calls it (here as the
    // owner, so that nothing escalates).
    let planted = "SELECT count(*) FROM public.pgmig_calls";
    db.execute(&format!(
        "SET ROLE {role}; SELECT pg_try_advisory_lock(7); SELECT pg_advisory_unlock(7); SELECT to_regclass('x')"
    ));
    assert_eq!(
        count(&db, planted),
        2,
        "the planted functions are on the database's path"
    );
    db.execute("TRUNCATE public.pgmig_calls");
    let dir_arg = dir.path().to_str().unwrap();
    for args in [
        vec!["run", "precheck", "--dir", dir_arg, "--db", &db.url()],
        vec!["run", "migrate", "--dir", dir_arg, "--db", &db.url()],
        vec!["status", "--db", &db.url()],
        vec!["run", "verify", "--dir", dir_arg, "--db", &db.url()],
    ] {
        let out = crate::support::pgmig_cli(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(count(&db, planted), 0, "{args:?} called a planted function");
        assert_not_run(&db, &role, &evidence, &args.join(" "));
    }
}

/// The casts fixture's scripts in `mode` (a `mode:` value; none: one transaction).
fn casts_compiled(mode: Option<&str>) -> tempfile::TempDir {
    let models = crate::support::repo_root().join("tests/it/fixtures/models/casts");
    let mode = mode.unwrap_or("transaction");
    let model = crate::support::model_variant(&models.join("model.yaml"), |m| {
        m.replacen(
            "\nname: casts\n",
            &format!("\nname: casts\nmode: {mode}\n"),
            1,
        )
    });
    crate::support::compile_ddl(
        &model.path().join("model.yaml"),
        &models.join("v1.sql"),
        &models.join("v2.sql"),
    )
}

/// A database with the casts fixture's V1 (schema v1, with its rows) and V2 (public).
fn casts_db(name: &str) -> TestDb {
    let models = crate::support::repo_root().join("tests/it/fixtures/models/casts");
    let db = crate::support::cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&models.join("v1.sql"), "v1");
    db.load_in_schema(&models.join("v2.sql"), "public");
    db.load_in_schema(&models.join("data.sql"), "public");
    db
}

/// Casts are found in pg_cast by their types, whatever the search_path. V2's owner makes its
/// function the cast from text to its enum, the one the model's `m.mood::mood` runs; V1's
/// owner makes its function the assignment cast from its enum to text, the one the INSERT
/// runs to copy `feeling` into V2's text column (no cast written in the model). Each made
/// its owner superuser when a superuser ran precheck, migrate (every mode), verify, export or
/// rollback (cast_escalation.sh and cast_escalation_v1.sh of the hostile review).
struct CastTrap {
    name: &'static str,
    /// The schema whose owner plants the cast, and the type it owns.
    schema: &'static str,
    owned_type: &'static str,
    plant: &'static str,
    finding: &'static str,
}

const CAST_TRAPS: &[CastTrap] = &[
    CastTrap {
        name: "V2 owner's cast to its enum",
        schema: "public",
        owned_type: "public.mood",
        plant: "CREATE FUNCTION public.to_mood(text) RETURNS public.mood LANGUAGE plpgsql AS $f$
                BEGIN {escalate} RETURN pg_catalog.enum_in(pg_catalog.textout($1), 'public.mood'::regtype); END $f$;
                CREATE CAST (text AS public.mood) WITH FUNCTION public.to_mood(text);",
        finding: "cast from text to public.mood runs public.to_mood(text), owned by {role}",
    },
    CastTrap {
        name: "V1 owner's assignment cast from its enum",
        schema: "v1",
        owned_type: "v1.feeling",
        plant: "CREATE FUNCTION v1.feeling_text(v1.feeling) RETURNS text LANGUAGE plpgsql AS $f$
                BEGIN {escalate} RETURN pg_catalog.textin(pg_catalog.enum_out($1)); END $f$;
                CREATE CAST (v1.feeling AS text) WITH FUNCTION v1.feeling_text(v1.feeling) AS ASSIGNMENT;",
        finding: "v1.moods: cast from v1.feeling to text runs v1.feeling_text(v1.feeling), owned by {role}",
    },
];

/// `trap`'s schema, its tables and its type now belong to a new role, which plants the cast.
fn plant_cast(db: &TestDb, trap: &CastTrap, evidence: &Path) -> String {
    let role = format!("caster_of_{}", db.name());
    db.execute(&format!("CREATE ROLE {role} NOSUPERUSER"));
    give_schema(db, trap.schema, &role);
    db.execute(&format!(
        "ALTER TYPE {} OWNER TO {role}; SET ROLE {role}; {} RESET ROLE;",
        trap.owned_type,
        fill(trap.plant, &role, evidence)
    ));
    role
}

#[test]
fn casts_another_role_owns_do_not_run_as_the_superuser_running_any_script() {
    let transaction = casts_compiled(None);
    let batched = casts_compiled(Some("{ batched: { size: 2 } }"));
    let per_entity = casts_compiled(Some("{ per_entity: { root: moods, size: 2 } }"));
    for (i, trap) in CAST_TRAPS.iter().enumerate() {
        // Before the migration: precheck and migrate, in all three modes.
        let db = casts_db(&format!("si_cast_{i}"));
        let trace = evidence(&db);
        let role = plant_cast(&db, trap, &trace);
        let finding = fill(trap.finding, &role, &trace);
        let before = db.table_md5s(USER_SCHEMAS);
        for (dir, script) in [
            (&transaction, "precheck.sql"),
            (&transaction, "migrate.sql"),
            (&batched, "precheck.sql"),
            (&batched, "migrate.sql"),
            (&per_entity, "migrate.sql"),
        ] {
            let out = run(&db, dir.path(), script, &[]);
            let what = format!("{script} ({}) with the {}", dir.path().display(), trap.name);
            assert_refused(&out, &what, &finding);
            assert_not_run(&db, &role, &trace, &what);
            assert_eq!(
                db.table_md5s(USER_SCHEMAS),
                before,
                "{what} changed V1 or V2"
            );
        }

        // After it: the scripts that read what migrate wrote, and rollback.
        let db = casts_db(&format!("si_cast_after_{i}"));
        must_pass(
            run(&db, transaction.path(), "migrate.sql", &[]),
            "migrate before the cast",
        );
        let trace = evidence(&db);
        let role = plant_cast(&db, trap, &trace);
        let finding = fill(trap.finding, &role, &trace);
        let migrated = db.table_md5s(USER_SCHEMAS);
        // psql writes export's files into its current directory.
        let exports = tempfile::tempdir().unwrap();
        for script in ["verify.sql", "export.sql", "rollback.sql"] {
            let out = db
                .psql_cmd()
                .current_dir(exports.path())
                .arg("-f")
                .arg(transaction.path().join(script))
                .output()
                .unwrap();
            let what = format!("{script} with the {}", trap.name);
            assert_refused(&out, &what, &finding);
            assert_not_run(&db, &role, &trace, &what);
            assert_eq!(
                db.table_md5s(USER_SCHEMAS),
                migrated,
                "{what} changed V1 or V2"
            );
        }
        assert_eq!(
            std::fs::read_dir(exports.path()).unwrap().count(),
            0,
            "export wrote files"
        );
    }
}

/// The same cast, its function and its type taken by a superuser after review (the type's
/// owner could make another cast at any moment): every script runs it.
#[test]
fn a_cast_whose_function_a_superuser_owns_passes() {
    let dir = casts_compiled(None);
    let db = casts_db("si_cast_reviewed");
    let evidence = evidence(&db);
    let role = plant_cast(&db, &CAST_TRAPS[0], &evidence);
    db.execute(
        "CREATE OR REPLACE FUNCTION public.to_mood(text) RETURNS public.mood LANGUAGE plpgsql AS $f$
           BEGIN RETURN pg_catalog.enum_in(pg_catalog.textout($1), 'public.mood'::regtype); END $f$;
         ALTER FUNCTION public.to_mood(text) OWNER TO postgres;
         ALTER TYPE public.mood OWNER TO postgres;",
    );
    must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verified = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verified.contains("PASS"), "verify: {verified}");
    must_pass(run(&db, dir.path(), "rollback.sql", &[]), "rollback");
    assert!(!is_superuser(&db, &role));
}

/// In place, a cast from or to a type of a changed table's columns another role owns.
#[test]
fn in_place_scripts_refuse_a_cast_another_role_owns() {
    let in_place = crate::support::uuid::compiled(1000);
    let db = crate::support::uuid::uuid_db("si_cast_in_place", true);
    let role = application_role(&db);
    let trace = evidence(&db);
    // Any role may create a type and a cast from text to it: text is tags.name's type.
    db.execute(&format!(
        "SET ROLE {role}; {} RESET ROLE;",
        fill(
            "CREATE TYPE public.label AS ENUM ('x');
             CREATE FUNCTION public.pwn(text) RETURNS public.label LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN 'x'; END $f$;
             CREATE CAST (text AS public.label) WITH FUNCTION public.pwn(text);",
            &role,
            &trace
        )
    ));
    let before = db.table_md5s(&["public"]);
    for script in ["precheck.sql", "migrate.sql", "rollback.sql"] {
        let out = run(&db, in_place.path(), script, &[]);
        let what = format!("in-place {script}");
        assert_refused(
            &out,
            &what,
            &format!("public.tags: cast from text to public.label runs public.pwn(text), owned by {role}"),
        );
        assert_not_run(&db, &role, &trace, &what);
        assert_eq!(
            db.table_md5s(&["public"]),
            before,
            "{what} changed the tables"
        );
    }
}

/// A small migration whose one column is computed by `expression`: V1 `v1.members` (schema
/// v1, created by the superuser), V2 `public.members`. Compiled from DDL, as a reviewer would.
fn calling_model(expression: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("model.yaml"),
        format!(
            "name: calls
source: {{ schema: v1 }}
target: {{ schema: public }}
tables:
  members:
    from: members m
    key: keep
    columns:
      email: {expression}
"
        ),
    )
    .unwrap();
    std::fs::write(
        src.path().join("v1.sql"),
        "CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);",
    )
    .unwrap();
    std::fs::write(
        src.path().join("v2.sql"),
        "CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);",
    )
    .unwrap();
    let dir = crate::support::compile_ddl(
        &src.path().join("model.yaml"),
        &src.path().join("v1.sql"),
        &src.path().join("v2.sql"),
    );
    (src, dir)
}

fn calling_db(name: &str) -> TestDb {
    let db = crate::support::cluster().create_db(name);
    db.execute(
        "CREATE SCHEMA v1;
         CREATE TABLE v1.members (id integer PRIMARY KEY, email text NOT NULL);
         INSERT INTO v1.members VALUES (1, ' Ana@Example.org ');
         CREATE TABLE public.members (id integer PRIMARY KEY, email text NOT NULL);",
    );
    db
}

fn assert_call_refused(out: &Output, what: &str, finding: &str) {
    assert_eq!(
        out.status.code(),
        Some(3),
        "{what} must stop under ON_ERROR_STOP:\n{}",
        stderr(out)
    );
    for expected in [
        "pgmig will not run: the model calls functions or casts to types that are not safe to run with the rights of postgres",
        finding,
    ] {
        assert!(
            stderr(out).contains(expected),
            "{what}: no {expected:?} in:\n{}",
            stderr(out)
        );
    }
}

/// Review r1: the model calls `v1.normalize_email(m.email)`, an innocent function when the
/// model was reviewed and compiled. A role that is not superuser owns it (and its schema) and
/// rewrites it afterwards to make itself superuser and write a file, or may create functions
/// in its schema (an overload matching the arguments better would be called instead):
/// precheck and migrate (transaction and batched), and verify and export after a migrate,
/// refuse before anything runs. Once a superuser owns the function and the schema, every
/// script runs it. Before the guard, precheck ran the rewritten function as the superuser (a
/// `COPY … TO PROGRAM` outlived its rolled-back transaction) and migrate made its owner
/// superuser.
#[test]
fn a_function_the_model_calls_that_another_role_can_rewrite_is_refused() {
    let (src, dir) = calling_model("v1.normalize_email(m.email)");
    let batched_model = crate::support::model_variant(&src.path().join("model.yaml"), |m| {
        m.replacen(
            "name: calls\n",
            "name: calls\nmode: { batched: { size: 1 } }\n",
            1,
        )
    });
    let batched = crate::support::compile_ddl(
        &batched_model.path().join("model.yaml"),
        &src.path().join("v1.sql"),
        &src.path().join("v2.sql"),
    );
    let innocent = "CREATE FUNCTION v1.normalize_email(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT lower(btrim(t)) $f$;";
    // Run as the role that was given the function.
    let rewrite = "CREATE OR REPLACE FUNCTION v1.normalize_email(t text) RETURNS text LANGUAGE plpgsql VOLATILE AS $f$
                   BEGIN {escalate} RETURN lower(btrim(t)); END $f$;";
    let give =
        "ALTER SCHEMA v1 OWNER TO {role}; ALTER FUNCTION v1.normalize_email(text) OWNER TO {role};";
    let owned = "the model calls v1.normalize_email: v1.normalize_email(text) is owned by {role}, another role";
    // (what the role holds, granted by the superuser; run as the role; the finding)
    let holds = [
        ("the function and its schema", give, rewrite, owned),
        (
            "CREATE on the function's schema",
            "GRANT USAGE, CREATE ON SCHEMA v1 TO {role};",
            "",
            "the model calls v1.normalize_email: {role} may create functions in schema v1",
        ),
    ];
    for (i, (hold, grant, as_role, finding)) in holds.iter().enumerate() {
        let db = calling_db(&format!("si_calls_{i}"));
        let role = format!("fn_owner_of_{}", db.name());
        let trace = evidence(&db);
        db.execute(&format!(
            "CREATE ROLE {role} NOSUPERUSER; {innocent} {} SET ROLE {role}; {} RESET ROLE;",
            fill(grant, &role, &trace),
            fill(as_role, &role, &trace)
        ));
        let finding = fill(finding, &role, &trace);
        let before = db.table_md5s(USER_SCHEMAS);
        for (dir, script) in [
            (&dir, "precheck.sql"),
            (&dir, "migrate.sql"),
            (&batched, "precheck.sql"),
            (&batched, "migrate.sql"),
        ] {
            let out = run(&db, dir.path(), script, &[]);
            let what = format!(
                "{script} ({}) when a role holds {hold}",
                dir.path().display()
            );
            assert_call_refused(&out, &what, &finding);
            assert_not_run(&db, &role, &trace, &what);
            assert_eq!(
                db.table_md5s(USER_SCHEMAS),
                before,
                "{what} changed V1 or V2"
            );
        }
    }

    // Migrated while a superuser owned it; then given away and rewritten.
    let db = calling_db("si_calls_after");
    let role = format!("fn_owner_of_{}", db.name());
    let trace = evidence(&db);
    db.execute(&format!("CREATE ROLE {role} NOSUPERUSER; {innocent}"));
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    db.execute(&format!(
        "{} SET ROLE {role}; {} RESET ROLE;",
        fill(give, &role, &trace),
        fill(rewrite, &role, &trace)
    ));
    let migrated = db.table_md5s(USER_SCHEMAS);
    for script in ["verify.sql", "export.sql"] {
        // psql writes export's files into its current directory.
        let exports = tempfile::tempdir().unwrap();
        let out = db
            .psql_cmd()
            .current_dir(exports.path())
            .arg("-f")
            .arg(dir.path().join(script))
            .output()
            .unwrap();
        let what = format!("{script} after the function was rewritten");
        assert_call_refused(&out, &what, &fill(owned, &role, &trace));
        assert_not_run(&db, &role, &trace, &what);
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            migrated,
            "{what} changed V1 or V2"
        );
    }

    // A superuser owns the function and its schema, and no other role may create there.
    let db = calling_db("si_calls_trusted");
    db.execute(innocent);
    must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let verified = must_pass(run(&db, dir.path(), "verify.sql", &[]), "verify");
    assert!(verified.contains("PASS"), "verify: {verified}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.members WHERE email = 'ana@example.org'"
        ),
        1
    );
}

/// Review r2: the model's author, who needs no right on the database, calls built-ins that
/// read what only a superuser may (`table_to_xml` of pg_authid: every password hash; a server
/// file) into a V2 column the application reads. Compile refuses, at the call.
#[test]
fn a_model_calling_built_ins_that_read_beyond_their_arguments_does_not_compile() {
    for (expression, name, column) in [
        (
            "pg_catalog.table_to_xml('pg_catalog.pg_authid'::regclass, true, false, '')::text",
            "pg_catalog.table_to_xml",
            25,
        ),
        (
            "m.email || pg_read_file('/etc/hostname')",
            "pg_read_file",
            25,
        ),
        ("(SELECT lo_import('/etc/passwd'))::text", "lo_import", 22),
    ] {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(
            src.path().join("model.yaml"),
            format!(
                "name: author
source: {{ schema: v1 }}
target: {{ schema: public }}
tables:
  members:
    from: members m
    key: keep
    columns:
      email: {expression}
"
            ),
        )
        .unwrap();
        let ddl = "CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);";
        std::fs::write(src.path().join("v1.sql"), ddl).unwrap();
        std::fs::write(src.path().join("v2.sql"), ddl).unwrap();
        let p = |f: &str| src.path().join(f).display().to_string();
        let out = crate::support::pgmig_cli(&[
            "compile",
            &p("model.yaml"),
            "--v1",
            &p("v1.sql"),
            "--v2",
            &p("v2.sql"),
            "--out",
            &p("out"),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{expression}: {err}");
        assert!(
            err.contains(&format!(
                "model.yaml:9:{column}: error: a model may not call `{name}`"
            )),
            "{expression}: {err}"
        );
        assert!(
            !src.path().join("out").exists(),
            "{expression}: scripts were written"
        );
    }
}

/// A denylist is never complete: a volatile built-in off the allowlist (`pg_sleep`, called
/// unqualified, so pg_catalog's) passes compile and is refused when the scripts run.
#[test]
fn a_volatile_built_in_the_model_calls_is_refused_at_run_time() {
    let (_src, dir) = calling_model("m.email || pg_sleep(0)::text");
    let db = calling_db("si_calls_volatile");
    let before = db.table_md5s(USER_SCHEMAS);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(&db, dir.path(), script, &[]);
        assert_call_refused(
            &out,
            script,
            "the model calls pg_sleep: pg_sleep(double precision) is volatile: it may act beyond computing a value",
        );
        assert_eq!(
            db.table_md5s(USER_SCHEMAS),
            before,
            "{script} changed V1 or V2"
        );
    }
}

/// `script` started under psql with `application_name` `app` (for [`TestDb::waits_for_lock`]),
/// waiting up to a minute for any lock.
fn spawn_script(
    db: &TestDb,
    dir: &Path,
    script: &str,
    app: &str,
    vars: &[(&str, &str)],
) -> std::process::Child {
    let mut psql = db.psql_cmd();
    psql.env("PGAPPNAME", app).args(["-v", "lock_timeout=60s"]);
    for (name, value) in vars {
        psql.arg("-v").arg(format!("{name}={value}"));
    }
    psql.arg("-f")
        .arg(dir.join(script))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The guard checked V1's relations once and locked none: V1's owner held the first table
/// migrate reads, waited until migrate queued behind it (past the guard), put a view calling
/// its function in the place of a table a later step reads, and let go; migrate read the
/// view as the superuser (found by a hostile review). The guard now locks what it checks
/// before it checks it, and computes again what a lock it waited for may have changed.
#[test]
fn a_v1_table_swapped_for_a_view_while_migrate_waits_is_checked_before_it_is_read() {
    let dir = compiled();
    let db = workout_db("si_swap");
    let role = application_role(&db);
    let evidence = evidence(&db);
    give_schema(&db, "v1", &role);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE FUNCTION v1.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    let v2_before = db.table_md5s(&["public"]);
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN; LOCK TABLE v1.workout_plans IN ACCESS EXCLUSIVE MODE"
        ))
        .unwrap();
    let migrate = spawn_script(&db, dir.path(), "migrate.sql", "si_swap_migrate", &[]);
    assert!(
        db.waits_for_lock("si_swap_migrate", || true),
        "migrate never waited for V1"
    );
    owner
        .batch_execute(
            "ALTER TABLE v1.exercise_logs RENAME TO exercise_logs_data;
             CREATE VIEW v1.exercise_logs AS SELECT * FROM v1.exercise_logs_data WHERE v1.pwn();
             COMMIT",
        )
        .unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_refused(
        &out,
        "migrate, V1 table swapped for a view while it waited",
        &format!("v1.exercise_logs: view runs v1.pwn(), owned by {role}"),
    );
    assert_not_run(&db, &role, &evidence, "migrate");
    assert_eq!(db.table_md5s(&["public"]), v2_before, "migrate changed V2");
}

/// verify (and export) read one REPEATABLE READ snapshot, taken by their first query, before
/// the guard: a change that commits while the guard waits for a lock stays invisible to its
/// checks, though the reads after them see it. V1's owner held the first table, swapped
/// another for a view calling its function while verify waited, and verify read the view as
/// the superuser (listed as not covered until now). Under that snapshot the guard now waits
/// for no lock: one that is not free at once stops the script, to be run again.
#[test]
fn verify_does_not_wait_for_a_lock_under_a_snapshot_taken_before_it() {
    let dir = compiled();
    let db = workout_db("si_verify_snapshot");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let role = application_role(&db);
    let evidence = evidence(&db);
    give_schema(&db, "v1", &role);
    db.execute(&format!(
        "SET ROLE {role};
         CREATE FUNCTION v1.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN; LOCK TABLE v1.workout_plans IN ACCESS EXCLUSIVE MODE"
        ))
        .unwrap();
    let mut verify = spawn_script(&db, dir.path(), "verify.sql", "si_verify_snapshot", &[]);
    db.waits_for_lock("si_verify_snapshot", || {
        verify.try_wait().unwrap().is_none()
    });
    owner
        .batch_execute(
            "ALTER TABLE v1.exercise_logs RENAME TO exercise_logs_data;
             CREATE VIEW v1.exercise_logs AS SELECT * FROM v1.exercise_logs_data WHERE v1.pwn();
             COMMIT",
        )
        .unwrap();
    let out = verify.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "verify: {}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "pgmig will not read v1.workout_plans: another session holds or waits for a lock on it"
        ),
        "verify: {}",
        stderr(&out)
    );
    assert_not_run(&db, &role, &evidence, "verify");
}

/// The same on the write side: a table an ON DELETE CASCADE from a migrated table reaches was
/// checked, not locked; its owner held it while `rollback -v cascade=on` queued, attached a
/// trigger and let go; the cascade fired the trigger as the superuser (found by a hostile
/// review). Every table the writes reach is now held in ROW EXCLUSIVE mode before the check.
#[test]
fn a_trigger_added_where_rollbacks_cascade_reaches_while_rollback_waits_is_refused() {
    let dir = compiled();
    let db = workout_db("si_cascade");
    let role = application_role(&db);
    let evidence = evidence(&db);
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    // An application table under the plans: its rows go with them.
    db.execute(&fill(
        "SET ROLE {role};
         CREATE TABLE public.plan_notes (plan_id uuid REFERENCES public.workout_plans ON DELETE CASCADE);
         INSERT INTO public.plan_notes SELECT id FROM public.workout_plans;
         CREATE FUNCTION public.pwn() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN OLD; END $f$;
         RESET ROLE;",
        &role,
        &evidence,
    ));
    let migrated = db.table_md5s(USER_SCHEMAS);
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN; LOCK TABLE public.plan_notes IN ACCESS EXCLUSIVE MODE"
        ))
        .unwrap();
    let rollback = spawn_script(
        &db,
        dir.path(),
        "rollback.sql",
        "si_cascade_rollback",
        &[("cascade", "on")],
    );
    assert!(
        db.waits_for_lock("si_cascade_rollback", || true),
        "rollback never waited for plan_notes"
    );
    owner
        .batch_execute(
            "CREATE TRIGGER pwn AFTER DELETE ON public.plan_notes FOR EACH ROW EXECUTE FUNCTION public.pwn();
             COMMIT",
        )
        .unwrap();
    let out = rollback.wait_with_output().unwrap();
    assert_refused(
        &out,
        "rollback -v cascade=on, trigger added while it waited",
        &format!("public.plan_notes: trigger pwn runs public.pwn(), owned by {role}"),
    );
    assert_not_run(&db, &role, &evidence, "rollback");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        migrated,
        "rollback changed V1 or V2"
    );
}

/// Locks on tables do not stop `ALTER SCHEMA … RENAME`: V1's schema owner (with CREATE on the
/// database) renamed the schema while migrate waited and made a new one of the same name, its
/// last table a view calling the owner's function; the scripts' qualified names then meant
/// the new objects, and migrate read the view as the superuser (run against main's scripts).
/// The guard now holds the pg_namespace rows of the schemas the scripts name FOR SHARE:
/// the rename waits for migrate, which waits for the owner's table, and PostgreSQL ends one
/// of the two as a deadlock. Either way nothing of the owner's runs.
#[test]
fn a_v1_schema_renamed_while_migrate_waits_puts_no_other_schema_in_its_place() {
    let dir = compiled();
    let db = workout_db("si_rename");
    let role = application_role(&db);
    let evidence = evidence(&db);
    give_schema(&db, "v1", &role);
    db.execute(&format!(
        "GRANT CREATE ON DATABASE {db_name} TO {role};
         SET ROLE {role};
         CREATE FUNCTION public.pwn() RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         RESET ROLE;",
        escalate(&role, &evidence),
        db_name = db.name()
    ));
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN; LOCK TABLE v1.workout_plans IN ACCESS EXCLUSIVE MODE"
        ))
        .unwrap();
    let migrate = spawn_script(&db, dir.path(), "migrate.sql", "si_rename_migrate", &[]);
    assert!(
        db.waits_for_lock("si_rename_migrate", || true),
        "migrate never waited for V1"
    );
    let swapped = owner.batch_execute(
        "ALTER SCHEMA v1 RENAME TO v1_old;
         CREATE SCHEMA v1;
         CREATE TABLE v1.workout_plans AS SELECT * FROM v1_old.workout_plans;
         CREATE TABLE v1.exercises AS SELECT * FROM v1_old.exercises;
         CREATE TABLE v1.workout_sessions AS SELECT * FROM v1_old.workout_sessions;
         CREATE VIEW v1.exercise_logs AS SELECT * FROM v1_old.exercise_logs WHERE public.pwn();
         COMMIT",
    );
    let out = migrate.wait_with_output().unwrap();
    let deadlock = |text: &str| text.contains("deadlock detected");
    match &swapped {
        Ok(()) => assert!(
            deadlock(&stderr(&out)),
            "the schema was renamed while migrate held it; migrate: {}",
            stderr(&out)
        ),
        Err(e) => assert!(
            deadlock(&crate::support::pg_error_text(e)),
            "the rename failed otherwise: {e:?}"
        ),
    }
    assert_not_run(&db, &role, &evidence, "migrate");
}

/// V1 through postgres_fdw: IMPORT FOREIGN SCHEMA declares each column with its V1 type's
/// name, which here resolves to a local domain another role made, its CHECK calling that
/// role's function; postgres_fdw converts every fetched value to it, running the CHECK as the
/// superuser (found by a hostile review: the guard ran before the import and checked the
/// domains of written and cast-to types only). The guard now runs again over the imported
/// tables and checks the domains of the columns read.
#[test]
fn a_local_domain_a_foreign_v1_columns_type_names_is_checked_before_v1_is_read() {
    let v1_ddl = "CREATE SCHEMA app;
                  CREATE DOMAIN app.email_t AS text;
                  CREATE TABLE members (id integer PRIMARY KEY, email app.email_t NOT NULL);";
    let v2_ddl = "CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);";
    let model = "name: fdwdomain
source: { server: legacy, schema: public }
target: { schema: public }
tables:
  members:
    from: members m
    key: keep
";
    let (_src, dir) = crate::support::compile_texts(v1_ddl, v2_ddl, model);
    let second = crate::support::second_cluster();
    let v1 = second.create_db("si_fdw_domain_v1");
    v1.execute(&format!(
        "{v1_ddl} INSERT INTO public.members VALUES (1, 'ana@example.org'), (2, 'bo@example.org');"
    ));
    let db = crate::support::cluster().create_db("si_fdw_domain");
    db.execute(v2_ddl);
    let role = format!("app_of_{}", db.name());
    let evidence = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA app AUTHORIZATION {role};
         SET ROLE {role};
         CREATE FUNCTION app.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         CREATE DOMAIN app.email_t AS text CHECK (app.pwn(VALUE));
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    let (host, port) = (
        second.socket_dir().display().to_string(),
        second.port().to_string(),
    );
    let vars = [
        ("v1_host", host.as_str()),
        ("v1_port", port.as_str()),
        ("v1_dbname", v1.name()),
        ("v1_user", "postgres"),
    ];
    let before = db.table_md5s(&["public"]);
    for script in ["precheck.sql", "migrate.sql"] {
        let out = run(&db, &dir, script, &vars);
        assert_refused(
            &out,
            script,
            &format!("_pgmig_legacy.members: constraint email_t_check of domain app.email_t (column email) runs app.pwn(text), owned by {role}"),
        );
        assert_not_run(&db, &role, &evidence, script);
        assert_eq!(db.table_md5s(&["public"]), before, "{script} changed V2");
    }
}

/// `ALTER DOMAIN … ADD CONSTRAINT … NOT VALID` takes no lock on the tables that use the domain
/// (tried on a scratch cluster: it went through while another session held the table ROW
/// EXCLUSIVE). The owner of a written column's domain added a CHECK calling its function after
/// the guard, while migrate waited at its first insert, and the insert ran it as the
/// superuser. No lock can hold a domain still, so the guard now refuses a written column's
/// domain (or one the model casts to) that an untrusted role owns, before anything runs.
#[test]
fn a_written_columns_domain_another_role_owns_is_refused() {
    let v1 = "CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);";
    let v2 = "CREATE DOMAIN email_t AS text;
              CREATE TABLE members (id integer PRIMARY KEY, email email_t NOT NULL);";
    let model = "name: domains
source: { schema: v1 }
target: { schema: public }
tables:
  members:
    from: members m
    key: keep
";
    let (_src, dir) = crate::support::compile_texts(v1, v2, model);
    let db = calling_db("si_domain_owner");
    let role = format!("domain_owner_of_{}", db.name());
    let trace = evidence(&db);
    db.execute(&format!(
        "DROP TABLE public.members;
         CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA app AUTHORIZATION {role};
         CREATE DOMAIN public.email_t AS text;
         ALTER DOMAIN public.email_t OWNER TO {role};
         CREATE TABLE public.members (id integer PRIMARY KEY, email public.email_t NOT NULL);
         SET ROLE {role};
         CREATE FUNCTION app.pwn(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         RESET ROLE;",
        escalate(&role, &trace)
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    let out = run(&db, dir.as_path(), "precheck.sql", &[]);
    let finding = format!("public.members: domain public.email_t (column email) belongs to {role}");
    assert_refused(&out, "precheck", &finding);

    // The attack: migrate held up at its insert (another session inserts the same key, and
    // will roll back), the CHECK added meanwhile.
    let mut holder = db.client();
    holder
        .batch_execute("BEGIN; INSERT INTO public.members VALUES (1, 'in flight')")
        .unwrap();
    let mut migrate = spawn_script(&db, dir.as_path(), "migrate.sql", "si_domain_migrate", &[]);
    db.waits_for_lock("si_domain_migrate", || {
        migrate.try_wait().unwrap().is_none()
    });
    db.execute(&format!(
        "SET ROLE {role};
         ALTER DOMAIN public.email_t ADD CONSTRAINT pwn CHECK (app.pwn(VALUE)) NOT VALID;"
    ));
    holder.batch_execute("ROLLBACK").unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_refused(&out, "migrate", &finding);
    assert_not_run(&db, &role, &trace, "migrate");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "migrate changed V1 or V2"
    );
}

/// A table's owner owns its row type and may make a cast from it to text (fourth review):
/// the scripts cast whole rows to text for their digests (`(t.*)::text`), PostgreSQL took that
/// cast, and precheck, migrate and rollback ran the owner's function as the superuser. The
/// guard cannot hold pg_cast still, so the scripts no longer cast rows: they call record_out,
/// which gives the same text and never looks in pg_cast. Every script runs, the owner's
/// function never does.
#[test]
fn a_cast_from_a_tables_row_type_is_never_called() {
    let ddl = "CREATE TABLE members (id integer PRIMARY KEY, points integer NOT NULL);";
    let model = "name: rowcast
source: { schema: v1 }
target: { schema: public }
tables:
  members:
    from: members m
    key: keep
";
    let (_src, dir) = crate::support::compile_texts(ddl, ddl, model);
    let db = crate::support::cluster().create_db("si_row_cast");
    let role = format!("app_of_{}", db.name());
    let trace = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA v1 AUTHORIZATION {role};
         GRANT CREATE ON SCHEMA public TO {role};
         SET ROLE {role};
         CREATE TABLE v1.members (id integer PRIMARY KEY, points integer NOT NULL);
         CREATE TABLE public.members (id integer PRIMARY KEY, points integer NOT NULL);
         INSERT INTO v1.members VALUES (1, 10), (2, 20);
         CREATE FUNCTION public.pwn_v1(r v1.members) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN pg_catalog.record_out(r); END $f$;
         CREATE FUNCTION public.pwn_v2(r public.members) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {escalate} RETURN pg_catalog.record_out(r); END $f$;
         CREATE CAST (v1.members AS text) WITH FUNCTION public.pwn_v1(v1.members);
         CREATE CAST (public.members AS text) WITH FUNCTION public.pwn_v2(public.members);
         RESET ROLE;",
        escalate = escalate(&role, &trace)
    ));
    let exports = tempfile::tempdir().unwrap();
    for script in [
        "precheck.sql",
        "migrate.sql",
        "verify.sql",
        "export.sql",
        "rollback.sql",
    ] {
        let out = db
            .psql_cmd()
            .current_dir(exports.path())
            .arg("-f")
            .arg(dir.join(script))
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {}", stderr(&out));
        assert_not_run(&db, &role, &trace, script);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM public.members"), 0);
}

/// CREATE CAST takes no lock either, and the owner of a type may make a cast from or to it
/// (fourth review: an enum the application owns, a cast from text to it made after the guard,
/// which the model's `::` called in the next step as the superuser). The guard refuses an
/// enum, range or composite type an untrusted role owns that the scripts read, write or cast
/// to, before anything runs.
#[test]
fn a_type_another_role_owns_that_the_model_casts_to_is_refused() {
    let (_src, dir) = calling_model("m.email::public.mood::text");
    let db = calling_db("si_enum_owner");
    let role = format!("type_owner_of_{}", db.name());
    let trace = evidence(&db);
    // A type that does not exist yet may be made, with a cast from text, after the check
    // (fifth review, f4): refused until it exists.
    for script in ["precheck.sql", "migrate.sql"] {
        assert_call_refused(
            &run(&db, dir.path(), script, &[]),
            script,
            "the model casts to public.mood: there is no such type",
        );
    }
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE TYPE public.mood AS ENUM (' Ana@Example.org ');
         ALTER TYPE public.mood OWNER TO {role};"
    ));
    precheck_and_migrate_refuse(&db, dir.path(), &format!("the model's casts: type public.mood (the model casts to it) belongs to {role}, who may make a cast from or to it"), &role, &trace);
    db.execute("ALTER TYPE public.mood OWNER TO postgres");
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        must_pass(run(&db, dir.path(), script, &[]), script);
    }
}

/// A model that casts to a domain with a CHECK (one of PostgreSQL's own:
/// information_schema.cardinal_number, `CHECK (VALUE >= 0)`): the guard checks the CHECK and
/// lets it run. (Before 2026-12-07 the guard's own finding text formatted the NULL column of a
/// cast-to type as an identifier, and every script stopped with `null values cannot be
/// formatted as an SQL identifier`: found by the second review.)
#[test]
fn a_model_casting_to_a_checked_domain_runs() {
    let (_src, dir) =
        calling_model("m.email || (length(m.email)::information_schema.cardinal_number)::text");
    let db = calling_db("si_cast_domain");
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        must_pass(run(&db, dir.path(), script, &[]), script);
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.members WHERE email = ' Ana@Example.org 17'"
        ),
        1
    );
}

/// Review h5: PostgreSQL reads `public.email_t(m.email)`, with no function of that name, as a
/// cast to the domain public.email_t, where compile saw a call (a function-style cast). A role
/// that is not superuser owns the domain, in the DBA's schema public, and gives it a CHECK
/// calling its own function: precheck and migrate refuse it as a domain the model casts to.
/// Once a superuser owns the domain, the same model runs and the value is written. (Before,
/// the guard looked for a function public.email_t, found none, and migrate ran the CHECK as
/// the superuser: the role made itself superuser.)
#[test]
fn a_function_style_cast_to_another_roles_domain_is_refused() {
    let (_src, dir) = calling_model("public.email_t(btrim(m.email))");
    let db = calling_db("si_fn_cast_domain");
    let role = format!("domain_owner_of_{}", db.name());
    let trace = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA app AUTHORIZATION {role};
         CREATE DOMAIN public.email_t AS text;
         ALTER DOMAIN public.email_t OWNER TO {role};
         SET ROLE {role};
         CREATE FUNCTION app.ok(text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN true; END $f$;
         ALTER DOMAIN public.email_t ADD CONSTRAINT ok CHECK (app.ok(VALUE));
         RESET ROLE;",
        escalate(&role, &trace)
    ));
    precheck_and_migrate_refuse(&db, dir.path(), &format!("the model's casts: constraint ok of domain public.email_t (the model casts to it) runs app.ok(text), owned by {role}"), &role, &trace);

    let db = calling_db("si_fn_cast_domain_trusted");
    db.execute("CREATE DOMAIN public.email_t AS text CHECK (VALUE LIKE '%@%');");
    for script in ["precheck.sql", "migrate.sql", "verify.sql"] {
        must_pass(run(&db, dir.path(), script, &[]), script);
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM public.members WHERE email = 'Ana@Example.org'"
        ),
        1
    );
}

/// V1 `v1.members` served as a materialized view its owner made, and that owner's function
/// (second review, h7): LOCK refuses a materialized view, so the guard checked it and held
/// nothing on it. Its owner began dropping it and putting a view calling the function in its
/// place before migrate started, and committed once migrate waited for it: the step read the
/// view as the superuser (run against main's scripts). The guard now holds a materialized
/// view (and a foreign table) in ACCESS SHARE mode too: it waits, then finds the view.
#[test]
fn a_v1_materialized_view_swapped_for_a_view_while_migrate_waits_is_checked_before_it_is_read() {
    let (_src, dir) = calling_model("m.email");
    let db = crate::support::cluster().create_db("si_matview");
    let role = format!("v1_owner_of_{}", db.name());
    let evidence = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA v1 AUTHORIZATION {role};
         CREATE TABLE public.members (id integer PRIMARY KEY, email text NOT NULL);
         SET ROLE {role};
         CREATE TABLE v1.members_data (id integer PRIMARY KEY, email text NOT NULL);
         INSERT INTO v1.members_data VALUES (1, 'ana@example.org');
         CREATE MATERIALIZED VIEW v1.members AS SELECT id, email FROM v1.members_data;
         CREATE FUNCTION v1.pwn(t text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {} RETURN t; END $f$;
         RESET ROLE;",
        escalate(&role, &evidence)
    ));
    let v2_before = db.table_md5s(&["public"]);
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN;
             DROP MATERIALIZED VIEW v1.members;
             CREATE VIEW v1.members AS SELECT id, v1.pwn(email) AS email FROM v1.members_data"
        ))
        .unwrap();
    let migrate = spawn_script(&db, dir.path(), "migrate.sql", "si_matview_migrate", &[]);
    assert!(
        db.waits_for_lock("si_matview_migrate", || true),
        "migrate never waited for the materialized view"
    );
    owner.batch_execute("COMMIT").unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_refused(
        &out,
        "migrate, V1 materialized view swapped for a view while it waited",
        &format!("v1.members: view runs v1.pwn(text), owned by {role}"),
    );
    assert_not_run(&db, &role, &evidence, "migrate");
    assert_eq!(db.table_md5s(&["public"]), v2_before, "migrate changed V2");
}

/// A function the model calls in a schema that did not exist when the guard ran (second
/// review, h2): the guard found no function and no schema to check, and locked nothing. The
/// database's owner (who may create schemas) made `helpers` and `helpers.norm` while migrate
/// waited for the first step's insert (a row it held with the same key), and the second step
/// called it as the superuser (run against main's scripts). The guard now refuses a called
/// name whose schema does not exist.
#[test]
fn a_called_functions_schema_made_while_migrate_runs_is_refused_before_it_exists() {
    let ddl = "CREATE TABLE big (id integer PRIMARY KEY, v text);
               CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL);";
    let model = "name: fnlate
source: { schema: v1 }
target: { schema: public }
tables:
  big:
    from: big b
    key: keep
    columns:
      v: b.v
  members:
    from: members m
    key: keep
    columns:
      email: helpers.norm(m.email)
";
    let (_src, dir) = crate::support::compile_texts(ddl, ddl, model);
    let db = crate::support::cluster().create_db("si_late_schema");
    let role = format!("db_owner_of_{}", db.name());
    let evidence = evidence(&db);
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         ALTER DATABASE {db_name} OWNER TO {role};
         CREATE SCHEMA v1;
         CREATE TABLE v1.big (id integer PRIMARY KEY, v text);
         INSERT INTO v1.big VALUES (1, 'one');
         CREATE TABLE v1.members (id integer PRIMARY KEY, email text NOT NULL);
         INSERT INTO v1.members VALUES (1, 'Ana@example.org');
         CREATE TABLE public.big (id integer PRIMARY KEY, v text);
         CREATE TABLE public.members (id integer PRIMARY KEY, email text NOT NULL);
         GRANT SELECT, INSERT, DELETE ON public.big TO {role};",
        db_name = db.name()
    ));
    let before = db.table_md5s(USER_SCHEMAS);
    let mut owner = db.client();
    owner
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN;
             INSERT INTO public.big VALUES (1, 'held');
             CREATE SCHEMA helpers;
             CREATE FUNCTION helpers.norm(t text) RETURNS text LANGUAGE plpgsql AS $f$ BEGIN {} RETURN lower(t); END $f$",
            escalate(&role, &evidence)
        ))
        .unwrap();
    let mut migrate = spawn_script(&db, &dir, "migrate.sql", "si_late_schema_migrate", &[]);
    // Refused at once, or waiting for the held row past the guard.
    db.waits_for_lock("si_late_schema_migrate", || {
        matches!(migrate.try_wait(), Ok(None))
    });
    owner
        .batch_execute("DELETE FROM public.big WHERE id = 1; COMMIT")
        .unwrap();
    let out = migrate.wait_with_output().unwrap();
    assert_call_refused(
        &out,
        "migrate, the called function's schema made while it ran",
        "the model calls helpers.norm: schema helpers does not exist",
    );
    assert_not_run(&db, &role, &evidence, "migrate");
    assert_eq!(
        db.table_md5s(USER_SCHEMAS),
        before,
        "migrate changed V1 or V2"
    );
}

/// What the guard checked stays as it was until the transaction ends, for the relations LOCK
/// refuses and the schemas of the model's calls too: with the guard's function called in an
/// open transaction, V1's owner cannot drop or rename its materialized view or drop its
/// foreign table (whose server is never contacted), and the called function's schema is
/// not renamed; once the transaction ends, each goes through. (Run against main's scripts,
/// each went through at once.)
#[test]
fn the_guard_holds_materialized_views_foreign_tables_and_called_schemas_until_its_transaction_ends()
{
    let (src, _dir) = calling_model("helpers.norm(m.email)");
    let batched_model = crate::support::model_variant(&src.path().join("model.yaml"), |m| {
        m.replacen(
            "name: calls\n",
            "name: calls\nmode: { batched: { size: 1 } }\n",
            1,
        )
    });
    let batched = crate::support::compile_ddl(
        &batched_model.path().join("model.yaml"),
        &src.path().join("v1.sql"),
        &src.path().join("v2.sql"),
    );
    let db = crate::support::cluster().create_db("si_guard_holds");
    let role = format!("v1_owner_of_{}", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER;
         CREATE SCHEMA helpers;
         CREATE FUNCTION helpers.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT lower(t) $f$;
         CREATE EXTENSION postgres_fdw;
         CREATE SERVER nowhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '/nonexistent', port '1');
         GRANT USAGE ON FOREIGN SERVER nowhere TO {role};
         CREATE SCHEMA v1 AUTHORIZATION {role};
         CREATE TABLE public.members (id integer PRIMARY KEY, email text NOT NULL);
         SET ROLE {role};
         CREATE TABLE v1.members_data (id integer PRIMARY KEY, email text NOT NULL);
         INSERT INTO v1.members_data VALUES (1, 'Ana@example.org');
         CREATE MATERIALIZED VIEW v1.members AS SELECT id, email FROM v1.members_data;
         CREATE FOREIGN TABLE v1.remote (id integer, email text) SERVER nowhere;
         RESET ROLE;"
    ));
    // Leaves the guard's function in _pgmig.
    must_pass(run(&db, batched.path(), "migrate.sql", &[]), "migrate");
    let mut guarded = db.client();
    guarded
        .batch_execute(
            "BEGIN;
             SELECT _pgmig.pgmig_implicit_code_guard(ARRAY['public.members'], ARRAY['v1.members', 'v1.remote'],
                                                     '{}', ARRAY['helpers.norm'])",
        )
        .unwrap();
    let as_owner = format!("SET ROLE {role}; ");
    let attempts = [
        (as_owner.as_str(), "DROP MATERIALIZED VIEW v1.members"),
        (
            as_owner.as_str(),
            "ALTER MATERIALIZED VIEW v1.members RENAME TO members_old",
        ),
        (as_owner.as_str(), "DROP FOREIGN TABLE v1.remote"),
        ("", "ALTER SCHEMA helpers RENAME TO helpers_old"),
    ];
    let attempt = |prefix: &str, statement: &str| {
        db.client().batch_execute(&format!(
            "SET lock_timeout = '200ms'; {prefix} BEGIN; {statement}; ROLLBACK"
        ))
    };
    for (prefix, statement) in attempts {
        match attempt(prefix, statement) {
            Ok(()) => panic!("{statement} went through while the guard held what it checked"),
            Err(e) => assert!(
                crate::support::pg_error_text(&e).contains("lock timeout"),
                "{statement}: {e:?}"
            ),
        }
    }
    guarded.batch_execute("COMMIT").unwrap();
    for (prefix, statement) in attempts {
        attempt(prefix, statement)
            .unwrap_or_else(|e| panic!("{statement} after the guard's transaction: {e:?}"));
    }
}
