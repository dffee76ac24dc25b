//! A psql variable is data, whoever sets it: `-v batch_size=…` and `-v entity_batch=…` reach
//! the `CALL` of each batched procedure as a quoted literal cast to bigint, never as SQL text.
//! Before, `:batch_size` was pasted into the statement as it was, and a value that closed the
//! call's parenthesis ran its own statements as the role running migrate.

use crate::support::scripts::{count, stderr};
use crate::support::TestDb;

/// Closes the CALL's parenthesis, runs its own statement, and opens another CALL.
const HOSTILE: &str =
    "1000); CREATE TABLE public.pwned AS SELECT current_user AS who; CALL pg_catalog.pg_sleep(0";

fn refused_and_nothing_ran(db: &TestDb, out: std::process::Output, what: &str) {
    assert!(!out.status.success(), "{what} must fail: {}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid input syntax for type bigint"),
        "{what}: {}",
        stderr(&out)
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'pwned'"
        ),
        0,
        "{what}: the variable's text ran as SQL"
    );
}

#[test]
fn batch_size_is_data_in_batched_mode() {
    let db = crate::support::workout::workout_db("vars_batched");
    let dir = crate::support::workout_batched("50");
    let out = db.psql_file(dir.path().join("migrate.sql"), &[("batch_size", HOSTILE)]);
    refused_and_nothing_ran(&db, out, "batched migrate");
}

#[test]
fn entity_batch_is_data_in_per_entity_mode() {
    let db = crate::support::drills::drills_db("vars_entities", 1);
    let dir = crate::support::drills::compiled_per_entity(4);
    let out = db.psql_file(dir.path().join("migrate.sql"), &[("entity_batch", HOSTILE)]);
    refused_and_nothing_ran(&db, out, "per-entity migrate");
}

#[test]
fn batch_size_is_data_in_place() {
    let db = crate::support::uuid::uuid_db("vars_inplace", false);
    let dir = crate::support::uuid::compiled(20);
    let before = crate::support::uuid::md5s(&db);
    let out = db.psql_file(dir.path().join("migrate.sql"), &[("batch_size", HOSTILE)]);
    refused_and_nothing_ran(&db, out, "in-place migrate");
    // The fill had not begun: the application's tables are as they were.
    assert_eq!(crate::support::uuid::md5s(&db), before);
}
