//! Secret V1 columns (`redact:`, or names that look secret) stay out of pgmig's copies of V1
//! rows: `_pgmig.rejects`, `_pgmig.changes`, export.sql's archives and precheck's output.
//! The fixture (tests/it/fixtures/models/vault) writes "SECRET" in every secret value.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, compile_ddl, model_variant, repo_root, TestDb};

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/models/vault")
}

/// V1 with its data in `v1`, an empty V2 in `public`.
fn vault_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture().join("v1.sql"), "v1");
    db.load_in_schema(&fixture().join("data.sql"), "v1");
    db.load_in_schema(&fixture().join("v2.sql"), "public");
    db
}

fn compile_cli(model: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .arg("compile")
        .arg(model)
        .arg("--v1")
        .arg(fixture().join("v1.sql"))
        .arg("--v2")
        .arg(fixture().join("v2.sql"))
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(db: &TestDb, sql: &str) -> String {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

fn output_text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o))
}

/// export.sql run by psql in a fresh directory: (file name, content) of what it wrote.
fn exported(db: &TestDb, dir: &Path) -> Vec<(String, String)> {
    let to = tempfile::tempdir().unwrap();
    let out = db
        .psql_cmd()
        .current_dir(to.path())
        .arg("-f")
        .arg(dir.join("export.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "export: {}", stderr(&out));
    let mut files: Vec<(String, String)> = std::fs::read_dir(to.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    // `pgmig run export` writes the same bytes.
    let by_runner = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .current_dir(by_runner.path())
        .args([
            "run",
            "export",
            "--dir",
            &dir.display().to_string(),
            "--db",
            &db.url(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "pgmig run export: {}", stderr(&out));
    for (name, content) in &files {
        assert_eq!(
            &std::fs::read_to_string(by_runner.path().join(name)).unwrap(),
            content,
            "{name}: psql and pgmig run differ"
        );
    }
    files
}

/// The attack: a DBA (or anyone who can read `_pgmig` or the archives) collects V1's
/// passwords, tokens and recovery codes from pgmig's copies of the rows. Each copy holds
/// the marker instead, and precheck's samples show no secret.
#[test]
fn secrets_reach_no_reject_change_archive_or_precheck_output() {
    let db = vault_db("redact_vault");
    let f = fixture();
    let dir = compile_ddl(&f.join("model.yaml"), &f.join("v1.sql"), &f.join("v2.sql"));

    // Two accounts share a recovery code: precheck blocks on it and prints no sample of it.
    let pre = run(&db, dir.path(), "precheck.sql", &[]);
    assert!(!pre.status.success(), "{}", output_text(&pre));
    let said = output_text(&pre);
    assert!(said.contains("UNIQUE accounts_recovery_key: duplicates among the migrated rows: 1 key values (secret: not shown)"), "{said}");
    assert!(
        !said.contains("SECRET"),
        "precheck printed a secret:\n{said}"
    );
    db.execute("UPDATE v1.accounts SET recovery_code = 'SECRET-rc-4' WHERE id = 4");
    let said = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    assert!(
        said.contains("REJECT  accounts rule 1 \"no email\": 1 rows"),
        "{said}"
    );
    assert!(
        !said.contains("SECRET"),
        "precheck printed a secret:\n{said}"
    );

    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let row = |field: &str| {
        text(
            &db,
            &format!("SELECT source_row ->> '{field}' FROM _pgmig.rejects WHERE model = 'vault'"),
        )
    };
    assert_eq!(row("nickname"), "bob", "the rest of the row is kept");
    assert_eq!(row("id"), "2");
    for secret in ["password", "api_token", "recovery_code"] {
        assert_eq!(
            row(secret),
            "[redacted]",
            "{secret}: the key stays, the value goes"
        );
    }
    assert_eq!(
        text(
            &db,
            "SELECT source_key::text FROM _pgmig.rejects WHERE model = 'vault'"
        ),
        r#"{"id": 2}"#
    );
    // Row 3's token was row 1's: cleared, and the change recorded without the token.
    assert_eq!(
        text(&db, "SELECT old_value || ' -> ' || coalesce(new_value, 'NULL') FROM _pgmig.changes WHERE model = 'vault' AND column_name = 'api_token'"),
        "[redacted] -> NULL"
    );
    let kept = text(
        &db,
        "SELECT (SELECT coalesce(string_agg(r::text, ' '), '') FROM _pgmig.rejects AS r) || (SELECT coalesce(string_agg(c::text, ' '), '') FROM _pgmig.changes AS c)",
    );
    assert!(!kept.contains("SECRET"), "_pgmig holds a secret: {kept}");

    let files = exported(&db, dir.path());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["accounts.v2.csv", "rejects.csv", "v1.accounts.csv"]);
    for (name, content) in &files {
        // V2's own rows hold the token and code the model migrates, but never a password.
        let leaked = if name.ends_with(".v2.csv") {
            content.contains("SECRET-pw")
        } else {
            content.contains("SECRET")
        };
        assert!(!leaked, "{name} holds a secret:\n{content}");
    }
    let v1 = &files[2].1;
    assert!(v1.starts_with("id,email,nickname,password,api_token,recovery_code\n1,ana@example.org,ana,[redacted],[redacted],[redacted]\n"), "{v1}");
    assert_eq!(v1.lines().count(), 1 + 4, "every V1 row is archived");

    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(plan.contains("`password` redacted (line 8); `api_token` redacted (line 8); `recovery_code` redacted (line 8)"), "{plan}");
}

/// Without `redact:`, the columns whose names look secret are redacted all the same, and
/// compile says so; the one whose name does not look secret is the model's to name.
#[test]
fn secret_looking_columns_are_redacted_by_default_with_a_compile_note() {
    let src = model_variant(&fixture().join("model.yaml"), |m| {
        m.replace(
            "redact:\n  accounts: [password, api_token, recovery_code]\n",
            "",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = compile_cli(&src.path().join("model.yaml"), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let db = vault_db("redact_default");
    db.execute("UPDATE v1.accounts SET recovery_code = 'SECRET-rc-4' WHERE id = 4");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let row = text(
        &db,
        "SELECT source_row::text FROM _pgmig.rejects WHERE model = 'vault'",
    );
    assert!(
        !row.contains("SECRET-pw") && !row.contains("SECRET-tok"),
        "{row}"
    );
    assert!(
        row.contains(r#""recovery_code": "SECRET-rc-2""#),
        "not secret by its name: kept\n{row}"
    );
    for (name, content) in exported(&db, dir.path()) {
        let v1_copy = name != "accounts.v2.csv";
        assert!(
            !(v1_copy && (content.contains("SECRET-pw") || content.contains("SECRET-tok"))),
            "{name} holds a secret:\n{content}"
        );
    }
    // Compile said so.
    let notes = stderr(&out);
    assert!(
        notes.contains("model.yaml:10:11: warning: V1 columns `password`, `api_token` of `v1.accounts` look secret: rejects, archives and precheck show their values as \"[redacted]\""),
        "{notes}"
    );
    assert!(
        notes.contains("`redact: {accounts: [password, api_token]}`"),
        "{notes}"
    );

    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(plan.contains("`password` redacted (its name looks secret); `api_token` redacted (its name looks secret)"), "{plan}");

    // `accounts: []` keeps every value, and PLAN.md says which secret-looking ones it keeps.
    let src = model_variant(&fixture().join("model.yaml"), |m| {
        m.replace(
            "accounts: [password, api_token, recovery_code]",
            "accounts: []",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = compile_cli(&src.path().join("model.yaml"), dir.path());
    assert!(
        out.status.success() && !stderr(&out).contains("warning"),
        "{}",
        stderr(&out)
    );
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains("`password` kept (`redact:` lists the table without it, line 8)"),
        "{plan}"
    );
}

/// `redact:` names V1's tables and columns: a typo, a primary key column, or a secret that a
/// repair would copy into `_pgmig.changes` is an error at its line and column.
#[test]
fn redact_errors_point_at_the_model() {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("accounts: [password", "acounts: [password", &["model.yaml:8:3: error: redact: V1 has no table `acounts` in schema `v1`", "did you mean `accounts`?"]),
        ("[password, api_token", "[pasword, api_token", &["model.yaml:8:14: error: redact: column `pasword` does not exist in V1 table `v1.accounts`", "did you mean `password`?"]),
        ("[password, api_token", "[id, password, api_token", &["model.yaml:8:14: error: redact: `accounts.id` is part of the primary key"]),
        ("on_duplicate: clear", "on_duplicate: suffix", &["error: `api_token` holds a secret: `on_duplicate: suffix` would record its values in _pgmig.changes"]),
    ];
    for (from, to, needles) in cases {
        let src = model_variant(&fixture().join("model.yaml"), |m| m.replace(from, to));
        let out = tempfile::tempdir().unwrap();
        let o = compile_cli(&src.path().join("model.yaml"), out.path());
        assert_eq!(o.status.code(), Some(2), "{to}: {}", stderr(&o));
        for n in needles {
            assert!(
                stderr(&o).contains(n),
                "{to}: expected {n:?} in\n{}",
                stderr(&o)
            );
        }
        assert!(!stderr(&o).contains("panicked"));
    }
}

/// Whether `text` holds one of the school sample's V1 passwords (`password` and digits).
fn holds_a_school_password(text: &str) -> bool {
    text.match_indices("password")
        .any(|(i, m)| text[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The school model, whose V1 keeps plaintext passwords (its `redact:` names them): after
/// precheck, migrate and export, none of V1's actual passwords is in precheck's output,
/// `_pgmig` or the archives.
#[test]
fn school_archives_and_output_hold_no_v1_password() {
    let db = crate::support::school::school_db("redact_school", 1);
    let root = repo_root().join("models/school");
    let dir = compile_ddl(
        &root.join("model.yaml"),
        &root.join("v1.sql"),
        &root.join("v2.sql"),
    );
    let teachers = text(&db, "SELECT string_agg(password, ' ') FROM v1.teachers");
    assert!(
        holds_a_school_password(&teachers),
        "the sample's passwords look as expected: {teachers}"
    );

    let said = must_pass(run(&db, dir.path(), "precheck.sql", &[]), "precheck");
    let migrated = must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    for (what, out) in [("precheck", &said), ("migrate", &migrated)] {
        assert!(
            !holds_a_school_password(out),
            "{what} printed a V1 password"
        );
    }
    let kept = text(
        &db,
        "SELECT (SELECT coalesce(string_agg(r::text, ' '), '') FROM _pgmig.rejects AS r) || (SELECT coalesce(string_agg(c::text, ' '), '') FROM _pgmig.changes AS c)",
    );
    assert!(
        !holds_a_school_password(&kept),
        "_pgmig holds a V1 password"
    );
    let files = exported(&db, dir.path());
    for (name, content) in &files {
        assert!(
            !holds_a_school_password(content),
            "{name} holds a V1 password"
        );
    }
    let teachers_csv = &files
        .iter()
        .find(|(n, _)| n == "v1.teachers.csv")
        .expect("the teachers are archived")
        .1;
    assert!(
        teachers_csv
            .lines()
            .skip(1)
            .all(|l| l.contains(",[redacted],")),
        "{teachers_csv}"
    );
}

/// `pgmig init` writes the secret-looking columns it finds as `redact:`, so the draft says
/// what compile would otherwise decide with a warning; the draft compiles without one.
#[test]
fn init_drafts_redact_for_secret_looking_columns() {
    let f = fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_pgmig"))
        .args(["init", "--source-schema", "v1", "--v1"])
        .arg(f.join("v1.sql"))
        .arg("--v2")
        .arg(f.join("v2.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let draft = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        draft.contains("\nredact:\n  accounts: [password, api_token]\n"),
        "{draft}"
    );
    // V2 has no password column: the draft drops it, its reason a TODO to answer.
    let todo = "    password: 'TODO: why V2 does not need accounts.password'\n";
    assert!(draft.contains(todo), "{draft}");
    let answered = draft.replace(todo, "    password: V2 keeps no passwords\n");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), &answered).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let compiled = compile_cli(&src.path().join("model.yaml"), dir.path());
    assert!(
        compiled.status.success() && !stderr(&compiled).contains("warning"),
        "{}",
        stderr(&compiled)
    );
}

/// A subquery's row (`SELECT *`: its columns are known only at run time) is redacted by the
/// names the tables it reads redact; a key it lacks is not added.
#[test]
fn a_subquery_source_is_redacted_by_name() {
    let src = model_variant(&fixture().join("model.yaml"), |m| {
        m.replace(
            "from: accounts a",
            "from: (SELECT * FROM accounts WHERE id > 0) AS a",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = compile_cli(&src.path().join("model.yaml"), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let db = vault_db("redact_subquery");
    db.execute("UPDATE v1.accounts SET recovery_code = 'SECRET-rc-4' WHERE id = 4");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let kept = text(
        &db,
        "SELECT string_agg(r::text, ' ') FROM _pgmig.rejects AS r",
    );
    assert!(!kept.contains("SECRET"), "{kept}");
    assert!(kept.contains("bob"), "{kept}");
    let row = text(
        &db,
        "SELECT source_row::text FROM _pgmig.rejects WHERE model = 'vault'",
    );
    assert_eq!(row.matches("[redacted]").count(), 3, "{row}");
}

/// An archive names every column of a table with a redacted one: a V1 column name holding a
/// line break and a meta-command after it stays inside its quotes (export.sql writes with
/// `COPY … TO STDOUT \g`, a statement psql reads across lines), and nothing runs.
#[test]
fn a_column_name_with_a_line_break_stays_a_name_in_the_archive() {
    let f = fixture();
    let pwned = std::env::temp_dir().join(format!("pgmig-redact-pwned-{}", std::process::id()));
    let v1_ddl = std::fs::read_to_string(f.join("v1.sql")).unwrap();
    let column = format!("note\n\\! touch {} #", pwned.display());
    let hostile = v1_ddl.replace(
        "recovery_code  text\n);",
        &format!("recovery_code  text,\n    \"{column}\" text\n);"),
    );
    assert_ne!(v1_ddl, hostile);
    let ddl = tempfile::tempdir().unwrap();
    std::fs::write(ddl.path().join("v1.sql"), &hostile).unwrap();
    // Nothing reads the column: the model drops it by its name, escaped for YAML.
    let model = std::fs::read_to_string(f.join("model.yaml")).unwrap();
    let yaml_name = column.replace('\\', "\\\\").replace('\n', "\\n");
    std::fs::write(
        ddl.path().join("model.yaml"),
        format!("{model}    \"{yaml_name}\": an attacker's column; nothing reads it\n"),
    )
    .unwrap();
    let dir = compile_ddl(
        &ddl.path().join("model.yaml"),
        &ddl.path().join("v1.sql"),
        &f.join("v2.sql"),
    );
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains(&format!(
            "- `v1.accounts.\"{}\"`, line 29: an attacker's column; nothing reads it",
            column.replace('\n', " ")
        )),
        "{plan}"
    );
    let db = cluster().create_db("redact_line_break");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&ddl.path().join("v1.sql"), "v1");
    db.load_in_schema(&f.join("data.sql"), "v1");
    db.load_in_schema(&f.join("v2.sql"), "public");
    // The fixture's two accounts sharing a recovery code (precheck's finding) made distinct.
    db.execute("UPDATE v1.accounts SET recovery_code = 'SECRET-rc-4' WHERE id = 4");
    must_pass(run(&db, dir.path(), "migrate.sql", &[]), "migrate");
    let files = exported(&db, dir.path());
    assert!(!pwned.exists(), "a meta-command in a column name ran");
    let accounts = files
        .iter()
        .find(|(name, _)| name == "v1.accounts.csv")
        .expect("the V1 accounts archive");
    assert!(
        accounts.1.starts_with("id,") && accounts.1.contains(&format!("\"{column}\"")),
        "{}",
        accounts.1
    );
}
