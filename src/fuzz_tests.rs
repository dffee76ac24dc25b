//! A fuzz target over the model loader and checker, run by `cargo test` for a bounded number
//! of cases: the real models (models/*/model.yaml) mutated with a hostile alphabet (dollar
//! quotes, quotes, backslashes, newlines, NUL, a byte-order mark, invalid UTF-8, psql
//! variables, YAML document markers, deep nesting) must never panic, and every error must
//! have a position in the file.
//!
//! The seed is fixed so that CI judges every commit on the same mutants and a failure
//! reproduces; explore with `PGMIG_FUZZ_SEED=random` (or another number) and
//! `PGMIG_FUZZ_CASES=N`, and fix what it finds with a test in tests/diagnostics.rs.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestRunner};

use crate::catalog::{self, Catalog};
use crate::diagnostic::{Diagnostic, Level, SourceFile};
use crate::{check, emit, model};

/// Cases per run: about 10 s in a debug build (a few times that on a busy machine).
const CASES: u32 = 4000;

/// The seed CI uses.
const SEED: u64 = 20261206;

/// `PGMIG_FUZZ_SEED` and `PGMIG_FUZZ_CASES`, or the defaults.
fn seed_and_cases() -> (RngSeed, u32) {
    let seed = match std::env::var("PGMIG_FUZZ_SEED").as_deref() {
        Ok("random") => RngSeed::Random,
        Ok(n) => RngSeed::Fixed(n.parse().expect("PGMIG_FUZZ_SEED: a number or `random`")),
        Err(_) => RngSeed::Fixed(SEED),
    };
    let cases = std::env::var("PGMIG_FUZZ_CASES")
        .map_or(CASES, |n| n.parse().expect("PGMIG_FUZZ_CASES: a number"));
    (seed, cases)
}

/// The models the mutants start from, with their DDL.
const MODELS: &[&str] = &["workout", "school", "thywill", "drills"];

/// Pieces inserted into a model: what breaks quoting, YAML or psql.
const HOSTILE: &[&[u8]] = &[
    b"$",
    b"$$",
    b"$step$",
    b"$check$",
    b"'",
    b"''",
    b"\"",
    b"\\",
    b"\\! touch pwned",
    b"\\copy",
    b"\n",
    b"\r\n",
    b"\0",
    "\u{feff}".as_bytes(),
    b"\xff",
    b"\xc3",
    b":lock_timeout",
    b":'x'",
    b":\"x\"",
    b"\n---\n",
    b"\n...\n",
    b"#",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"&a",
    b"*a",
    b"!!str ",
    b"|\n",
    b"\t",
    b"%",
    b"id(",
    b"ref(",
    b")",
    b"/*",
    b"--",
    b";",
    b"((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a:",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(Vec<u8>),
    Delete(usize),
    DuplicateLine,
}

/// Catalogs read once per (V1, V2) DDL pair of a model.
type CatalogCache = HashMap<(String, String), (Catalog, Catalog)>;

fn edit() -> impl Strategy<Value = (f64, Edit)> {
    let piece = prop::sample::select(HOSTILE.to_vec()).prop_map(|p| p.to_vec());
    let op = prop_oneof![
        4 => piece.prop_map(Edit::Insert),
        2 => (1usize..40).prop_map(Edit::Delete),
        1 => Just(Edit::DuplicateLine),
    ];
    (0.0..1.0f64, op)
}

fn apply(mut bytes: Vec<u8>, edits: &[(f64, Edit)]) -> Vec<u8> {
    for (at, e) in edits {
        let i = ((bytes.len() as f64) * at) as usize;
        match e {
            Edit::Insert(p) => {
                bytes.splice(i..i, p.iter().copied());
            }
            Edit::Delete(n) => {
                bytes.drain(i..(i + n).min(bytes.len()));
            }
            Edit::DuplicateLine => {
                let start = bytes[..i]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
        }
    }
    bytes
}

/// Every error has a position; the message names the first one that doesn't.
fn positioned(stage: &str, diagnostics: &[Diagnostic]) -> Result<(), TestCaseError> {
    match diagnostics
        .iter()
        .find(|d| d.severity == Level::Error && d.at.is_none())
    {
        Some(d) => Err(TestCaseError::fail(format!(
            "{stage} error without a position: {}",
            d.message
        ))),
        None => Ok(()),
    }
}

/// Loads, checks and renders a mutant, as `pgmig compile` does.
fn compile(
    bytes: &[u8],
    ddl: &(String, String),
    catalogs: &mut HashMap<(String, String), (Catalog, Catalog)>,
    outcomes: &mut [u32; 4],
) -> Result<(), TestCaseError> {
    let text = match model::model_text(bytes) {
        Ok(text) => text,
        Err((d, _)) => {
            outcomes[0] += 1;
            return positioned("input", &[d]);
        }
    };
    if crate::inplace::is_in_place(&text) {
        return Ok(()); // another model kind: its loader is the same `read_yaml`
    }
    let model = match model::load(&text) {
        Ok(m) => m,
        Err(ds) => {
            outcomes[1] += 1;
            return positioned("load", &ds);
        }
    };
    let schemas = (
        model.source_schema().to_string(),
        model.target_schema().to_string(),
    );
    let (v1, v2) = catalogs.entry(schemas.clone()).or_insert_with(|| {
        let v1 = catalog::from_ddl(&ddl.0, &schemas.0)
            .map(|l| l.catalog)
            .unwrap_or_default();
        let v2 = catalog::from_ddl(&ddl.1, &schemas.1)
            .map(|l| l.catalog)
            .unwrap_or_default();
        (v1, v2)
    });
    let file = SourceFile {
        name: "model.yaml".into(),
        text,
    };
    match check::check(&model, &file, v1, v2) {
        Ok((plan, _)) => {
            outcomes[3] += 1;
            emit::render(&plan, "").map_err(|e| TestCaseError::fail(format!("render: {e}")))?;
            Ok(())
        }
        Err(ds) => {
            outcomes[2] += 1;
            positioned("check", &ds.0)
        }
    }
}

#[test]
#[ignore = "slow tier: run with --include-ignored (.ci/run does)"]
fn mutated_models_never_panic_and_every_error_has_a_position() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let read = |m: &str, f: &str| std::fs::read(root.join(m).join(f)).unwrap();
    let originals: Vec<(Vec<u8>, (String, String))> = MODELS
        .iter()
        .map(|m| {
            let mut v1 = String::from_utf8(read(m, "v1.sql")).unwrap();
            if *m == "thywill" {
                // thywill's V1 is a SQLite file, staged: the stage's damage list is a V1 table too.
                v1.push_str(&format!(
                    ";\n{};\n",
                    crate::stage::catalog::damage_table_ddl("v1")
                ));
            }
            (
                read(m, "model.yaml"),
                (v1, String::from_utf8(read(m, "v2.sql")).unwrap()),
            )
        })
        .collect();
    let catalogs: Vec<std::cell::RefCell<CatalogCache>> =
        MODELS.iter().map(|_| Default::default()).collect();
    let (rng_seed, cases) = seed_and_cases();
    let config = Config {
        cases,
        rng_seed,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    // Rejected by the input checks, by the YAML loader, by the checker; compiled.
    let outcomes = std::cell::RefCell::new([0u32; 4]);
    let started = std::time::Instant::now();
    let strategy = (0..MODELS.len(), prop::collection::vec(edit(), 1..5));
    let result = runner.run(&strategy, |(m, edits)| {
        let bytes = apply(originals[m].0.clone(), &edits);
        compile(
            &bytes,
            &originals[m].1,
            &mut catalogs[m].borrow_mut(),
            &mut outcomes.borrow_mut(),
        )
    });
    let [input, load, checked, compiled] = *outcomes.borrow();
    eprintln!(
        "fuzz: {cases} mutants of {} models (seed {rng_seed:?}) in {:.1} s: {input} refused as input, {load} by the loader, {checked} by the checker, {compiled} compiled",
        MODELS.len(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
