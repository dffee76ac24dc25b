//! Every transaction of every compiled script that touches the application runs the
//! implicit-code guard first ([`pgmig::lint::guard_cover`]), in every mode the project has:
//! the four models, the fixtures (and their in-place variants), batched workout, per-entity
//! drills and three `--entities` subsets. The compiler proves it on each compile's scripts
//! (emit::guard::unguarded_statement: a finding is a compile error), so those must compile;
//! the committed out/ is read here (thywill's is compiled from its SQLite file:
//! tests/it/golden.rs and thywill.rs keep it equal to what the compiler writes). No database.

use std::path::{Path, PathBuf};

use pgmig::compile::{compile_selected, Selection};
use pgmig::lint::guard_cover::unguarded;
use pgmig::SchemaInput;

use crate::support::repo_root;

/// A model's text with a `mode:` line after its `name:` line (as compile_all.sh's sed does).
fn with_mode(model: &Path, mode: &str) -> String {
    let text = std::fs::read_to_string(model).unwrap();
    let name_line = text
        .lines()
        .find(|l| l.starts_with("name: "))
        .expect("a model has a name: line")
        .to_string();
    text.replacen(&name_line, &format!("{name_line}\n{mode}"), 1)
}

/// Every case's scripts: (case, file name, and the text of those the compiler did not write
/// here: the committed out/).
fn compiled_scripts() -> Vec<(String, String, Option<String>)> {
    let root = repo_root();
    let scratch = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, PathBuf, PathBuf, PathBuf, Vec<String>)> = Vec::new();
    let model_dir = |m: &str| root.join("models").join(m);
    for m in ["drills", "school", "uuid", "workout"] {
        let d = model_dir(m);
        let case = if m == "uuid" {
            "model uuid (in place)".to_string()
        } else {
            format!("model {m}")
        };
        cases.push((
            case,
            d.join("model.yaml"),
            d.join("v1.sql"),
            d.join("v2.sql"),
            vec![],
        ));
    }
    let fixtures = root.join("tests/it/fixtures/models");
    let mut names: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let d = fixtures.join(&n);
        cases.push((
            format!("fixture {n}"),
            d.join("model.yaml"),
            d.join("v1.sql"),
            d.join("v2.sql"),
            vec![],
        ));
        if d.join("inplace_model.yaml").exists() {
            cases.push((
                format!("fixture {n} (in place)"),
                d.join("inplace_model.yaml"),
                d.join("inplace_v1.sql"),
                d.join("inplace_v2.sql"),
                vec![],
            ));
        }
    }
    for (case, m, mode) in [
        (
            "batched workout",
            "workout",
            "mode: { batched: { size: 50 } }",
        ),
        (
            "per-entity drills",
            "drills",
            "mode: { per_entity: { root: users } }",
        ),
    ] {
        let d = model_dir(m);
        let model = scratch
            .path()
            .join(format!("{m}-{}.yaml", case.replace(' ', "-")));
        std::fs::write(&model, with_mode(&d.join("model.yaml"), mode)).unwrap();
        cases.push((
            case.to_string(),
            model,
            d.join("v1.sql"),
            d.join("v2.sql"),
            vec![],
        ));
    }
    for (m, entities) in [
        ("workout", "workout_days"),
        ("workout", "exercise_logs,exercises"),
        ("drills", "users"),
    ] {
        let d = model_dir(m);
        cases.push((
            format!("{m} --entities {entities}"),
            d.join("model.yaml"),
            d.join("v1.sql"),
            d.join("v2.sql"),
            entities.split(',').map(str::to_string).collect(),
        ));
    }
    let mut scripts = Vec::new();
    for (case, model, v1, v2, entities) in cases {
        let compiled = compile_selected(
            &model,
            &SchemaInput::Ddl(v1),
            &SchemaInput::Ddl(v2),
            &Selection {
                entities,
                only: None,
            },
        )
        .unwrap_or_else(|e| panic!("{case} must compile: {e:?}"));
        // The compile proved its scripts (emit::guard::unguarded_statement): they are counted,
        // not read again.
        for (name, _) in compiled.scripts.files {
            if name.ends_with(".sql") {
                scripts.push((case.clone(), name.to_string(), None));
            }
        }
    }
    for m in ["drills", "school", "thywill", "uuid", "workout"] {
        let dir = root.join("out").join(m);
        let case = if m == "uuid" {
            "out/uuid (in place)".to_string()
        } else {
            format!("out/{m}")
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            scripts.push((
                case.clone(),
                name,
                Some(std::fs::read_to_string(&f).unwrap()),
            ));
        }
    }
    scripts
}

#[test]
fn every_transaction_that_touches_the_application_runs_the_guard_first() {
    let scripts = compiled_scripts();
    let modes: Vec<&str> = scripts.iter().map(|(c, _, _)| c.as_str()).collect();
    for needed in [
        "batched workout",
        "per-entity drills",
        "model uuid (in place)",
        "drills --entities users",
        "out/thywill",
    ] {
        assert!(modes.contains(&needed), "{needed} is not compiled");
    }
    let unexpected: Vec<String> = scripts
        .iter()
        .filter_map(|(case, file, text)| Some((case, file, text.as_ref()?)))
        .flat_map(|(case, file, text)| {
            unguarded(text)
                .into_iter()
                .map(move |u| format!("{case}: {}", u.render(file)))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} statements touch the application before the implicit-code guard in their transaction:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
