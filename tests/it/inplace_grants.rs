//! In place, column privileges across the swap: `DROP COLUMN` takes a column's
//! `GRANT … (column)` privileges with it (they live in pg_attribute.attacl, not in pg_depend),
//! so the swap and rollback's reverse swap grant them again on the column that takes its place,
//! each by its grantor. A role read the column before migrate: it reads the migrated column
//! after migrate and the V1 column after rollback; verify fails when one is revoked.

use crate::support::roles::psql_as;
use crate::support::scripts::{must_pass, run, stderr, strings};
use crate::support::{cluster, compile_texts, TestDb};

const V1: &str = "CREATE TABLE public.items (
    id       bigint PRIMARY KEY,
    user_id  character varying(36) NOT NULL,
    note     text
);
";
const MODEL: &str = "name: grants\nin_place: true\ntarget: { schema: public }\nbatch_size: 4\n";

/// `name` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every column privilege of public.items, one line per column, grantee, grantor and privilege
/// (grant option included), by content.
fn column_privileges(db: &TestDb) -> Vec<String> {
    strings(
        db,
        "SELECT a.attname || ': ' || CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END
                || ' ' || g.privilege_type || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
                || ' granted by ' || g.grantor::regrole::text
         FROM pg_attribute AS a, aclexplode(a.attacl) AS g
         WHERE a.attrelid = 'public.items'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY 1",
    )
}

/// public.items' table-level privileges (relacl), as PostgreSQL prints them.
fn table_privileges(db: &TestDb) -> String {
    strings(
        db,
        "SELECT coalesce(relacl::text, '') FROM pg_class WHERE oid = 'public.items'::regclass",
    )
    .remove(0)
}

/// What `role` gets reading user_id: its count, or PostgreSQL's error.
fn reads_user_id(db: &TestDb, role: &str) -> String {
    let mut client = db.client();
    let sql = format!(
        "SET ROLE {}; SELECT count(user_id) FROM public.items",
        quoted(role)
    );
    match client.simple_query(&sql) {
        Ok(messages) => messages
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .unwrap_or_default(),
        Err(e) => crate::support::pg_error_text(&e),
    }
}

#[test]
fn column_privileges_survive_the_swap_and_the_reverse_swap_and_verify_checks_them() {
    let (_dir, out) = compile_texts(V1, &V1.replace("character varying(36)", "uuid"), MODEL);
    let db = cluster().create_db("ip_grants");
    // Roles are the cluster's: named after the database. The reader's and the grantor's
    // names are hostile.
    let reader = format!("x\"; DROP TABLE public.items; -- {}", db.name());
    let lead = format!("le'ad\" {}", db.name());
    db.execute(&format!(
        "{V1}
         INSERT INTO public.items SELECT n, md5(n::text)::uuid::text, 'n' FROM generate_series(1, 10) AS n;
         CREATE ROLE {reader_q} NOSUPERUSER;
         CREATE ROLE {lead_q} NOSUPERUSER;
         GRANT SELECT (id, user_id) ON public.items TO {lead_q} WITH GRANT OPTION;
         GRANT UPDATE (user_id) ON public.items TO {reader_q} WITH GRANT OPTION;
         GRANT INSERT ON public.items TO {reader_q};
         GRANT REFERENCES (user_id) ON public.items TO PUBLIC;
         SET ROLE {lead_q};
         GRANT SELECT (id, user_id) ON public.items TO {reader_q};
         RESET ROLE;",
        reader_q = quoted(&reader),
        lead_q = quoted(&lead)
    ));
    let v1_columns = column_privileges(&db);
    let reader_id = quoted(&reader);
    let lead_q = quoted(&lead);
    assert!(
        v1_columns.contains(&format!("user_id: {reader_id} SELECT granted by {lead_q}"))
            && v1_columns.contains(&format!(
                "user_id: {reader_id} UPDATE WITH GRANT OPTION granted by postgres"
            )),
        "{v1_columns:?}"
    );
    let v1_table = table_privileges(&db);
    assert_eq!(reads_user_id(&db, &reader), "10");

    let precheck = must_pass(run(&db, &out, "precheck.sql", &[]), "precheck");
    must_pass(run(&db, &out, "migrate.sql", &[]), "migrate");
    must_pass(run(&db, &out, "verify.sql", &[]), "verify");
    assert_eq!(
        strings(
            &db,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'public.items'::regclass AND attname = 'user_id'"
        ),
        ["uuid"]
    );
    assert_eq!(column_privileges(&db), v1_columns, "after migrate");
    assert_eq!(table_privileges(&db), v1_table, "after migrate");
    assert_eq!(reads_user_id(&db, &reader), "10");
    // precheck said what the swap would carry, grantor included.
    let carried = precheck
        .lines()
        .find(|l| l.contains("column privileges carried across the swap"))
        .unwrap_or_else(|| panic!("{precheck}"));
    assert!(
        carried.contains(&format!(
            "items.user_id: SELECT to {reader_id} (granted by {lead_q})"
        )),
        "{carried}"
    );

    // A privilege V1's column had, revoked after migrate: verify fails on it.
    db.execute(&format!(
        "REVOKE UPDATE (user_id) ON public.items FROM {reader_id} CASCADE"
    ));
    let tampered = run(&db, &out, "verify.sql", &[]);
    assert!(
        !tampered.status.success()
            && stderr(&tampered).contains("FAIL  column privileges V1's columns had"),
        "{}",
        stderr(&tampered)
    );
    db.execute(&format!(
        "GRANT UPDATE (user_id) ON public.items TO {reader_id} WITH GRANT OPTION"
    ));
    must_pass(run(&db, &out, "verify.sql", &[]), "verify again");

    must_pass(run(&db, &out, "rollback.sql", &[]), "rollback");
    assert_eq!(
        strings(
            &db,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'public.items'::regclass AND attname = 'user_id'"
        ),
        ["character varying(36)"]
    );
    assert_eq!(column_privileges(&db), v1_columns, "after rollback");
    assert_eq!(table_privileges(&db), v1_table, "after rollback");
    assert_eq!(reads_user_id(&db, &reader), "10");
    assert_eq!(
        strings(&db, "SELECT count(*)::text FROM public.items"),
        ["10"],
        "nothing the hostile name holds ran"
    );
}

/// The table's owner (no superuser) runs the scripts: a privilege granted by a role it cannot
/// become is a blocking finding in precheck, and migrate refuses before it writes; once the
/// owner is a member of the grantor, migrate carries the privilege, by that grantor.
#[test]
fn a_grantor_the_role_running_migrate_cannot_become_is_a_blocking_finding() {
    let (_dir, out) = compile_texts(V1, &V1.replace("character varying(36)", "uuid"), MODEL);
    let db = cluster().create_db("ip_grants_owner");
    let owner = format!("owner_{}", db.name());
    let lead = format!("lead_{}", db.name());
    let reader = format!("reader_{}", db.name());
    let dbname = db.name().to_string();
    db.execute(&format!(
        "{V1}
         INSERT INTO public.items SELECT n, md5(n::text)::uuid::text, 'n' FROM generate_series(1, 10) AS n;
         CREATE ROLE {owner} LOGIN;
         CREATE ROLE {lead};
         CREATE ROLE {reader};
         ALTER TABLE public.items OWNER TO {owner};
         GRANT CREATE ON SCHEMA public TO {owner};
         GRANT CREATE ON DATABASE {dbname} TO {owner};
         SET ROLE {owner};
         GRANT SELECT (user_id) ON public.items TO {lead} WITH GRANT OPTION;
         SET ROLE {lead};
         GRANT SELECT (user_id) ON public.items TO {reader};
         RESET ROLE;"
    ));
    let v1_columns = column_privileges(&db);
    let cwd = tempfile::tempdir().unwrap();
    let as_owner = |script: &str| psql_as(&db, &owner, &out.join(script), &[], cwd.path());

    let finding = format!(
        "items.user_id: SELECT to {reader} (granted by {lead}): {owner} cannot SET ROLE {lead}"
    );
    for script in ["precheck.sql", "migrate.sql"] {
        let refused = as_owner(script);
        assert!(
            !refused.status.success() && stderr(&refused).contains(&finding),
            "{script}:\n{}",
            stderr(&refused)
        );
    }
    assert_eq!(
        strings(
            &db,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'public.items'::regclass AND attname = 'pgmig_new_user_id'"
        ),
        Vec::<String>::new(),
        "migrate refused before its fill"
    );

    db.execute(&format!("GRANT {lead} TO {owner}"));
    must_pass(as_owner("migrate.sql"), "migrate as the owner");
    must_pass(as_owner("verify.sql"), "verify as the owner");
    assert_eq!(column_privileges(&db), v1_columns, "after migrate");
    assert_eq!(reads_user_id(&db, &reader), "10");
    must_pass(as_owner("rollback.sql"), "rollback as the owner");
    assert_eq!(column_privileges(&db), v1_columns, "after rollback");
}
