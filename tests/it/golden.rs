//! The committed `out/` is the one golden copy of the generated scripts (support/golden.rs):
//! each model compiled from its DDL files, twice (same input, same bytes), equals it.
//! The thywill model, compiled from its SQLite file, is checked in thywill.rs.

use crate::support::{compile_ddl, golden::assert_out_is, repo_root};

fn assert_model_compiles_to_out(model: &str) {
    let dir = repo_root().join("models").join(model);
    let compile = || {
        compile_ddl(
            &dir.join("model.yaml"),
            &dir.join("v1.sql"),
            &dir.join("v2.sql"),
        )
    };
    let (first, second) = (compile(), compile());
    assert_out_is(model, first.path());
    assert_out_is(model, second.path());
}

#[test]
fn drills() {
    assert_model_compiles_to_out("drills");
}

#[test]
fn school() {
    assert_model_compiles_to_out("school");
}

#[test]
fn uuid_in_place() {
    assert_model_compiles_to_out("uuid");
}

#[test]
fn workout() {
    assert_model_compiles_to_out("workout");
}
