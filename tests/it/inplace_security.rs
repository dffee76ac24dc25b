//! In-place mode against an application role that owns its tables and turns the DBA's
//! rights against them where no check runs (the fifth hostile review's f2 and f3, each
//! reproduced end to end; both made the role superuser with the scripts of main at c4ad100):
//! rollback re-creating V1's CHECK by text, and the backup trigger's SECURITY DEFINER
//! function firing in the application's own sessions.

use crate::security_implicit::{assert_not_run, escalate, evidence};
use crate::support::scripts::{must_pass, run, stderr};
use crate::support::TestDb;

const MODEL: &str = "name: items\nin_place: true\ntarget: { schema: public }\nbatch_size: 1000\n";

/// A role that is not superuser and may create objects in public, as an application's.
fn application_role(db: &TestDb) -> String {
    let role = format!("app_of_{}", db.name());
    db.execute(&format!(
        "CREATE ROLE {role} NOSUPERUSER; GRANT CREATE ON SCHEMA public TO {role};"
    ));
    role
}

/// public.items' rows: count and md5 of the rows as jsonb, ordered (column order, which the
/// swaps change, does not count; types and values do).
fn items_md5(db: &TestDb) -> String {
    db.client()
        .query_one(
            "SELECT count(*)::text || ':' || md5(string_agg(to_jsonb(t)::text, E'\\n' ORDER BY to_jsonb(t)::text)) FROM public.items AS t",
            &[],
        )
        .unwrap()
        .get(0)
}

/// f2. V1's CHECK uses the application's operator, backed by the built-in textne: every
/// check passes. The swap drops the CHECK; nothing holds the operator then, and its owner
/// makes another of the same name over its own function. rollback re-creates the CHECK from
/// its text, so the operator resolves to the new one: it must refuse before validating, and
/// with the operator back as it was, roll back to V1's content.
#[test]
fn rollback_refuses_a_v1_checks_operator_its_owner_remade_after_the_swap() {
    let v1 = "CREATE TABLE items (id bigint PRIMARY KEY,
                                  user_id varchar(36) NOT NULL CONSTRAINT items_user_id_v1 CHECK (user_id OPERATOR(public.<~>) ''),
                                  note text);";
    let v2 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id uuid NOT NULL, note text);";
    let (_src, dir) = crate::support::compile_texts(v1, v2, MODEL);
    let db = crate::support::cluster().create_db("ips_rollback_operator");
    let role = application_role(&db);
    let trace = evidence(&db);
    let harmless = "CREATE OPERATOR public.<~> (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.textne);";
    db.execute(&format!(
        "SET ROLE {role};
         {harmless}
         {v1}
         INSERT INTO public.items SELECT g, pg_catalog.upper(pg_catalog.gen_random_uuid()::text), 'n' FROM pg_catalog.generate_series(1, 10) AS g;
         RESET ROLE;"
    ));
    let v1_content = items_md5(&db);
    must_pass(run(&db, &dir, "precheck.sql", &[]), "precheck");
    must_pass(run(&db, &dir, "migrate.sql", &[]), "migrate");
    let migrated = items_md5(&db);
    // uuid prints the upper-case V1 values in lower case: only the backup has them as they were.
    assert_ne!(migrated, v1_content, "migrate changed no value");

    db.execute(&format!(
        "SET ROLE {role};
         DROP OPERATOR public.<~> (text, text);
         CREATE FUNCTION public.pwn_ne(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN {} RETURN a <> b; END $f$;
         CREATE OPERATOR public.<~> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pwn_ne);
         RESET ROLE;",
        escalate(&role, &trace)
    ));
    let out = run(&db, &dir, "rollback.sql", &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "rollback must stop:\n{}",
        stderr(&out)
    );
    let finding = format!(
        "public.items: constraint items_user_id_v1 runs public.pwn_ne(text,text), owned by {role}"
    );
    assert!(
        stderr(&out).contains(&finding),
        "rollback: no {finding:?} in:\n{}",
        stderr(&out)
    );
    assert_not_run(&db, &role, &trace, "rollback");
    assert_eq!(
        items_md5(&db),
        migrated,
        "the refused rollback changed the table"
    );

    db.execute(&format!(
        "SET ROLE {role}; DROP OPERATOR public.<~> (text, text); {harmless} RESET ROLE;"
    ));
    must_pass(run(&db, &dir, "rollback.sql", &[]), "rollback");
    assert_eq!(
        items_md5(&db),
        v1_content,
        "rollback did not restore V1's content"
    );
    let (user_id_type, validated): (String, bool) = db
        .client()
        .query_one(
            "SELECT format_type(a.atttypid, a.atttypmod),
                    (SELECT c.convalidated FROM pg_constraint AS c WHERE c.conrelid = a.attrelid AND c.conname = 'items_user_id_v1')
               FROM pg_attribute AS a WHERE a.attrelid = 'public.items'::regclass AND a.attname = 'user_id'",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(user_id_type, "character varying(36)");
    assert!(validated, "rollback left V1's CHECK NOT VALID");
}

/// f3. migrate stops after phase 1 of items (the application holds notes past
/// lock_timeout), leaving the backup trigger on items. The table's owner, in its own session,
/// drops the two UPDATE triggers (their WHEN names the column), changes the column to an enum
/// of its own with an ASSIGNMENT cast to the backup's character varying over its own
/// function, and inserts: the trigger's function must refuse the row, naming the column,
/// before any cast. Before that, the application's inserts and deletes reach the backup.
#[test]
fn the_backup_trigger_refuses_a_column_whose_type_its_owner_changed() {
    let v1 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id varchar(36) NOT NULL, note text);
              CREATE TABLE notes (id bigint PRIMARY KEY, user_id varchar(36) NOT NULL);";
    let v2 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id uuid NOT NULL, note text);
              CREATE TABLE notes (id bigint PRIMARY KEY, user_id uuid NOT NULL);";
    let (_src, dir) = crate::support::compile_texts(v1, v2, MODEL);
    let db = crate::support::cluster().create_db("ips_keep_trigger");
    let role = application_role(&db);
    let trace = evidence(&db);
    db.execute(&format!(
        "SET ROLE {role};
         {v1}
         INSERT INTO public.items SELECT g, pg_catalog.gen_random_uuid()::text, 'n' FROM pg_catalog.generate_series(1, 10) AS g;
         INSERT INTO public.notes SELECT g, pg_catalog.gen_random_uuid()::text FROM pg_catalog.generate_series(1, 10) AS g;
         RESET ROLE;"
    ));
    must_pass(run(&db, &dir, "precheck.sql", &[]), "precheck");
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SET ROLE {role}; BEGIN; SELECT FROM public.notes LIMIT 0;"
        ))
        .unwrap();
    let out = run(
        &db,
        &dir,
        "migrate.sql",
        &[("lock_timeout", "300ms"), ("lock_retries", "1")],
    );
    holder.batch_execute("COMMIT").unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("fill notes: the new columns: no lock"),
        "migrate should stop at notes' phase 1:\n{}",
        stderr(&out)
    );

    let backed_up = |id: i64| -> i64 {
        db.client()
            .query_one(
                "SELECT count(*) FROM _pgmig.backup_items_items WHERE id = $1",
                &[&id],
            )
            .unwrap()
            .get(0)
    };
    db.execute(&format!(
        "SET ROLE {role};
         INSERT INTO public.items VALUES (11, '00000000-0000-0000-0000-000000000011', 'kept');
         INSERT INTO public.items VALUES (12, '00000000-0000-0000-0000-000000000012', 'gone');
         DELETE FROM public.items WHERE id = 12;
         RESET ROLE;"
    ));
    assert_eq!(
        (backed_up(11), backed_up(12)),
        (1, 0),
        "the application's insert and delete did not reach the backup"
    );

    let attack = db.try_execute(&format!(
        "SET ROLE {role};
         DO $d$ BEGIN
           EXECUTE (SELECT 'CREATE TYPE public.uid_e AS ENUM (' || string_agg(quote_literal(user_id), ', ') || ', ''00000000-0000-0000-0000-000000000000'')' FROM public.items);
         END $d$;
         DROP TRIGGER pgmig_convert_update_items_items ON public.items;
         DROP TRIGGER pgmig_keep_update_items_items ON public.items;
         ALTER TABLE public.items ALTER COLUMN user_id TYPE public.uid_e USING user_id::text::public.uid_e;
         CREATE FUNCTION public.uid_to_uuid(u public.uid_e) RETURNS uuid LANGUAGE sql IMMUTABLE AS $f$ SELECT u::text::uuid $f$;
         CREATE CAST (public.uid_e AS uuid) WITH FUNCTION public.uid_to_uuid(public.uid_e);
         CREATE FUNCTION public.uid_to_varchar(u public.uid_e) RETURNS character varying LANGUAGE plpgsql AS $f$ BEGIN {} RETURN u::text; END $f$;
         CREATE CAST (public.uid_e AS character varying) WITH FUNCTION public.uid_to_varchar(public.uid_e) AS ASSIGNMENT;
         INSERT INTO public.items VALUES (13, '00000000-0000-0000-0000-000000000000', 'x');",
        escalate(&role, &trace)
    ));
    let error = attack.expect_err("the application's insert after the type change went through");
    assert!(
        error.contains("public.items.user_id is of type public.uid_e now, not character varying(36): pgmig is converting public.items in place"),
        "the insert failed for another reason: {error}"
    );
    assert_not_run(&db, &role, &trace, "the backup trigger");
}

/// The backup trigger's check makes a table whose column is not of the compiled type
/// refuse every write of the application until the swap: migrate stops before it adds the
/// trigger instead, and the application writes on.
#[test]
fn migrate_stops_before_the_triggers_when_a_column_is_not_of_the_compiled_type() {
    let v1 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id varchar(36) NOT NULL, note text);";
    let v2 = "CREATE TABLE items (id bigint PRIMARY KEY, user_id uuid NOT NULL, note text);";
    let (_src, dir) = crate::support::compile_texts(v1, v2, MODEL);
    let db = crate::support::cluster().create_db("ips_compiled_type");
    db.execute(
        "CREATE TABLE public.items (id bigint PRIMARY KEY, user_id text NOT NULL, note text);
         INSERT INTO public.items SELECT g, pg_catalog.gen_random_uuid()::text, 'n' FROM pg_catalog.generate_series(1, 10) AS g;",
    );
    let out = run(&db, &dir, "migrate.sql", &[]);
    assert!(
        !out.status.success()
            && stderr(&out).contains("fill items: column user_id is not of type character varying(36), as this migration was compiled for"),
        "migrate should stop at items' phase 1:\n{}",
        stderr(&out)
    );
    let triggers: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.items'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(triggers, 0, "migrate left triggers on items");
    db.execute(
        "INSERT INTO public.items VALUES (11, pg_catalog.gen_random_uuid()::text, 'written')",
    );
}
