//! Hostile model text (issue 15, attacks 1 and 2): strings made of quote enders, the scripts'
//! dollar tags, psql meta-commands and variables, line breaks and `%` go into every place a
//! model puts text into a script (a step's table name, a V1 and a V2 column name, a literal
//! in a column expression, a reject reason, an assertion name) and the scripts, run under
//! `psql -X -v ON_ERROR_STOP=1 -f`, do exactly what the model says: no shell command runs,
//! no file is written, every value arrives byte for byte, rollback takes it all back.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use crate::support::{cluster, compile_texts, try_compile_texts, TestDb};

/// Pieces of hostile text; `{marker}` is a file the attack would create.
const TOKENS: &[&str] = &[
    "$",
    "$$",
    "$step$",
    "$check$",
    "$guard$",
    "$undo$",
    "$need$",
    "$refuse$",
    "$step",
    "step$",
    "'",
    "''",
    "\"",
    "\\",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\\! touch {marker}",
    "\n\\! touch {marker}\n",
    "\\copy pg_catalog.pg_class TO '{marker}'",
    "\\o {marker}",
    "\\gexec",
    ":v",
    ":'v'",
    ":\"v\"",
    ":{?v}",
    "%",
    "%s",
    "%%",
    "--",
    "/*",
    "*/",
    ";",
    "; SELECT 1;",
    "\\set x",
    "é",
    "€",
    " ",
    "a",
    "Z",
    "0",
    "{{",
    "}}",
    "{%",
    "`",
];

/// Where an escaped attack would leave its trace.
fn marker() -> PathBuf {
    std::env::temp_dir().join(format!("pgmig-pwned-{}", std::process::id()))
}

/// A JSON string is a YAML double-quoted scalar: any text, spelled safely for the model file.
fn yaml(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn sql_lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn sql_ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The texts of one case: names stay within PostgreSQL's 63 bytes.
struct Case {
    table: String,
    v1_column: String,
    v2_column: String,
    literal: String,
    reason: String,
    assertion: String,
}

/// Carriage returns go into literals, reasons and assertion names; a name holding one is a
/// compile error (psql would drop it before a line feed), tested in
/// `a_carriage_return_in_a_name_is_a_compile_error`.
fn case(parts: &[Vec<usize>; 6]) -> Case {
    let text = |ix: &Vec<usize>, max: usize| text_of(ix, max, false);
    let with_cr = |ix: &Vec<usize>, max: usize| text_of(ix, max, true);
    Case {
        // Never the names of the fixed columns, and never empty.
        table: format!("t{}", text(&parts[0], 50)),
        v1_column: format!("c{}", text(&parts[1], 50)),
        v2_column: format!("d{}", text(&parts[2], 50)),
        literal: with_cr(&parts[3], 400),
        reason: format!("r{}", with_cr(&parts[4], 400)),
        assertion: format!("a{}", with_cr(&parts[5], 400)),
    }
}

fn text_of(ix: &[usize], max: usize, carriage_returns: bool) -> String {
    let mut s = String::new();
    for &i in ix {
        let piece = TOKENS[i % TOKENS.len()].replace("{marker}", &marker().display().to_string());
        let piece = if carriage_returns {
            piece
        } else {
            piece.replace('\r', "")
        };
        if s.len() + piece.len() > max {
            break;
        }
        s.push_str(&piece);
    }
    s
}

/// Compiles the case's model into a fresh directory; V1 has the hostile column copied by
/// name into V2's (`v2_column` gets the same name when the case wants it: a copy by name).
fn compile(c: &Case, dir: &Path) -> Result<(), String> {
    let v1 = format!(
        "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, {} text);\n",
        sql_ident(&c.v1_column)
    );
    let v2 = format!(
        "CREATE TABLE {} (id integer PRIMARY KEY, name text NOT NULL, note text NOT NULL, {} text);\n",
        sql_ident(&c.table),
        sql_ident(&c.v2_column)
    );
    let model = format!(
        "name: hostile\nsource: {{ schema: v1 }}\ntarget: {{ schema: public }}\ntables:\n  {table}:\n    from: people p\n    reject:\n      - when: p.id = 3\n        reason: {reason}\n    key: keep\n    columns:\n      note: {note}\n      {v2col}: {v1col}\nverify:\n  - name: {assertion}\n    zero_rows: {query}\n",
        table = yaml(&c.table),
        reason = yaml(&c.reason),
        note = yaml(&sql_lit(&c.literal)),
        v2col = yaml(&c.v2_column),
        v1col = yaml(&format!("p.{}", sql_ident(&c.v1_column))),
        assertion = yaml(&c.assertion),
        query = yaml(&format!("SELECT id FROM {} WHERE note <> {}", sql_ident(&c.table), sql_lit(&c.literal))),
    );
    for (name, text) in [("v1.sql", &v1), ("v2.sql", &v2), ("model.yaml", &model)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let compiled = pgmig::compile(
        &dir.join("model.yaml"),
        &pgmig::SchemaInput::Ddl(dir.join("v1.sql")),
        &pgmig::SchemaInput::Ddl(dir.join("v2.sql")),
    )
    .map_err(|e| format!("{e:?}\nmodel:\n{model}"))?;
    pgmig::compile::write(&compiled.scripts, &dir.join("out")).unwrap();
    Ok(())
}

fn database(c: &Case, dir: &Path) -> TestDb {
    let db = cluster().create_db("hostile");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&dir.join("v1.sql"), "v1");
    db.load_in_schema(&dir.join("v2.sql"), "public");
    let mut client = db.client();
    let insert = format!(
        "INSERT INTO v1.people (id, name, {}) VALUES ($1, $2, $3)",
        sql_ident(&c.v1_column)
    );
    for id in 1..=4 {
        client
            .execute(
                &insert,
                &[&id, &format!("person {id}"), &format!("{}{id}", c.literal)],
            )
            .unwrap();
    }
    db
}

/// Runs precheck, migrate, verify, export and rollback as a DBA would, and checks that each
/// did what the model says and nothing else.
fn run_case(c: &Case) -> Result<(), String> {
    let _ = std::fs::remove_file(marker());
    let dir = tempfile::tempdir().unwrap();
    compile(c, dir.path())?;
    let db = database(c, dir.path());
    let out = dir.path().join("out");
    let archive = tempfile::tempdir().unwrap();
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "export.sql"] {
        let o = db
            .psql_cmd()
            .current_dir(archive.path())
            .arg("-f")
            .arg(out.join(script))
            .output()
            .unwrap();
        if !o.status.success() {
            return Err(format!(
                "{script} failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    if marker().exists() {
        return Err("a shell command or a file write escaped the scripts".into());
    }
    let mut client = db.client();
    let rows = client
        .query(
            &format!(
                "SELECT id, note, {} FROM public.{} ORDER BY id",
                sql_ident(&c.v2_column),
                sql_ident(&c.table)
            ),
            &[],
        )
        .map_err(|e| e.to_string())?;
    let got: Vec<(i32, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want: Vec<(i32, String, String)> = [1, 2, 4]
        .iter()
        .map(|&id| (id, c.literal.clone(), format!("{}{id}", c.literal)))
        .collect();
    if got != want {
        return Err(format!("V2 rows {got:?}, expected {want:?}"));
    }
    let reason: String = client
        .query_one("SELECT reason FROM _pgmig.rejects", &[])
        .map_err(|e| e.to_string())?
        .get(0);
    if reason != c.reason {
        return Err(format!("reject reason {reason:?}, expected {:?}", c.reason));
    }
    let written: Vec<String> = std::fs::read_dir(archive.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    if written.len() != 3 {
        return Err(format!(
            "export wrote {written:?}: expected the V2 table, the V1 table and the rejects"
        ));
    }
    let o = db.psql_file(out.join("rollback.sql"), &[]);
    if !o.status.success() {
        return Err(format!(
            "rollback.sql failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let left: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM public.{}", sql_ident(&c.table)),
            &[],
        )
        .unwrap()
        .get(0);
    if left != 0 || marker().exists() {
        return Err(format!(
            "after rollback: {left} rows left, marker {}",
            marker().exists()
        ));
    }
    Ok(())
}

fn literal_case(text: &str) -> Case {
    Case {
        table: format!("t{}", &text[..text.len().min(50)]),
        v1_column: format!("c{}", &text[..text.len().min(50)]),
        v2_column: format!("d{}", &text[..text.len().min(50)]),
        literal: text.to_string(),
        reason: text.to_string(),
        assertion: text.to_string(),
    }
}

/// A name holding a carriage return: psql would drop it before a line feed and the script
/// would name another object, so compile stops and says where.
#[test]
fn a_carriage_return_in_a_name_is_a_compile_error() {
    let mut c = literal_case("plain");
    c.table = "t\r\nx".into();
    let dir = tempfile::tempdir().unwrap();
    let e = compile(&c, dir.path()).unwrap_err();
    assert!(
        e.contains("a name holds a carriage return") && e.contains("rename the object"),
        "{e}"
    );
    assert!(!dir.path().join("out").exists(), "nothing is written");
}

/// The attacks that worked before the fix, spelled out.
#[test]
fn known_attacks_do_nothing_but_the_model() {
    let m = marker().display().to_string();
    for attack in [
        format!("$step$ \\! touch {m} #"),
        format!("$check$ \\! touch {m} #"),
        format!("$guard$;\n\\! touch {m}\n"),
        format!("x'; \\copy pg_catalog.pg_class TO '{m}'; --"),
        format!("100% o'brien $undo$ \\o {m}"),
        format!("\n\\! touch {m}\n-- "),
        // sqlparser prints a quote after a backslash as it is: the literal would end there.
        format!("x\\'; \\! touch {m}; --"),
        "y\\\"\"\" ''\\ $step$".to_string(),
    ] {
        if let Err(e) = run_case(&literal_case(&attack)) {
            panic!("attack {attack:?}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_strings_have_exactly_the_models_effect(
        parts in proptest::array::uniform6(proptest::collection::vec(0usize..1000, 1..10))
    ) {
        let c = case(&parts);
        if let Err(e) = run_case(&c) {
            prop_assert!(false, "table {:?}, columns {:?}/{:?}, literal {:?}, reason {:?}, assertion {:?}: {}", c.table, c.v1_column, c.v2_column, c.literal, c.reason, c.assertion, e);
        }
    }
}

/// The CVE-2018-1058 pattern (attack 4): the owner of schema `public`, not a superuser,
/// plants functions that match the scripts' calls better than the built-ins do
/// (`to_jsonb` of its own row type, `jsonb_build_object(text, integer)` of an integer key),
/// each making its owner superuser when it runs. A superuser then runs every script: with
/// search_path pinned to pg_catalog, none of them runs.
#[test]
fn functions_planted_in_public_never_run() {
    let fixture = crate::support::repo_root().join("tests/it/fixtures/models/quoting");
    let dir = crate::support::compile_ddl(
        &fixture.join("model.yaml"),
        &fixture.join("v1.sql"),
        &fixture.join("v2.sql"),
    );
    let db = cluster().create_db("hostile_path");
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&fixture.join("v1.sql"), "v1");
    db.load_in_schema(&fixture.join("v2.sql"), "public");
    db.load_in_schema(&fixture.join("data.sql"), "v1");
    let attacker = format!("{}_owner", db.name());
    db.execute(&format!(
        "CREATE ROLE {attacker} NOLOGIN;
         ALTER SCHEMA public OWNER TO {attacker};
         GRANT USAGE ON SCHEMA v1 TO {attacker};
         SET ROLE {attacker};
         CREATE FUNCTION public.to_jsonb(v1.\"Customer\") RETURNS jsonb LANGUAGE plpgsql AS $f$
         BEGIN EXECUTE 'ALTER ROLE {attacker} SUPERUSER'; RETURN '{{}}'::jsonb; END $f$;
         CREATE FUNCTION public.jsonb_build_object(text, integer) RETURNS jsonb LANGUAGE plpgsql AS $f$
         BEGIN EXECUTE 'ALTER ROLE {attacker} SUPERUSER'; RETURN '{{}}'::jsonb; END $f$;
         RESET ROLE;"
    ));
    let superuser = |db: &TestDb| -> bool {
        db.client()
            .query_one(
                "SELECT rolsuper FROM pg_roles WHERE rolname = $1",
                &[&attacker],
            )
            .unwrap()
            .get(0)
    };
    // The trap works: without the pin, a call as the scripts write it runs the planted code
    // (inside a transaction rolled back, so the role stays as it was).
    let mut client = db.client();
    let mut tx = client.transaction().unwrap();
    tx.batch_execute("SELECT jsonb_build_object('id', 1)")
        .unwrap();
    let sprung: bool = tx
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1",
            &[&attacker],
        )
        .unwrap()
        .get(0);
    tx.rollback().unwrap();
    assert!(
        sprung && !superuser(&db),
        "the planted function is the one an unpinned call runs"
    );
    for script in ["precheck.sql", "migrate.sql", "verify.sql", "rollback.sql"] {
        let o = db.psql_file(dir.path().join(script), &[]);
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!superuser(&db), "{script} ran a function planted in public");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// The toolkit's quoting, read back by PostgreSQL: a literal, a dollar-quoted body, a name
    /// (quoted when needed, and always) and psql's `:'var'` form mean exactly the text they
    /// were made from.
    #[test]
    fn quoting_round_trips_through_postgresql(
        text in "[^\u{0}]{0,40}|([$'\"\\\\\n\r\t%:;]|\\$step\\$|\\$\\$|é){0,20}",
    ) {
        use pgmig::sql_text::{dollar_quote, quote_ident, quote_ident_always, quote_literal};
        let mut client = shared_client();
        // Names within PostgreSQL's 63 bytes (with the `2` of the second one).
        let mut name = String::from("x");
        for c in text.chars() {
            if name.len() + c.len_utf8() > 62 {
                break;
            }
            name.push(c);
        }
        let sql = format!(
            "SELECT {} AS {}, {} AS {}, {} AS {}, {} AS c",
            quote_literal(&text),
            quote_ident(&name),
            quote_literal(&text),
            quote_ident_always(&format!("{name}2")),
            dollar_quote(&text, "step"),
            quote_ident("c3"),
            pgmig::psql::vars::quote_literal(&text),
        );
        let row = client.query_one(&sql, &[]).map_err(|e| TestCaseError::fail(format!("{sql}: {e}")))?;
        let columns: Vec<String> = row.columns().iter().map(|c| c.name().to_string()).collect();
        prop_assert_eq!(columns, vec![name.clone(), format!("{name}2"), "c3".into(), "c".into()]);
        for i in 0..4 {
            prop_assert_eq!(row.get::<_, String>(i), text.clone(), "{}", sql);
        }
    }
}

/// One connection for the round-trip cases (a database of their own, made once).
fn shared_client() -> std::sync::MutexGuard<'static, postgres::Client> {
    static CLIENT: std::sync::OnceLock<std::sync::Mutex<postgres::Client>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| std::sync::Mutex::new(cluster().create_db("quoting_round_trip").client()))
        .lock()
        .unwrap()
}

const PEOPLE: &str = "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL);\n";

/// Found by a hostile review: sqlparser keeps a type's modifiers as written and prints them
/// without their quotes. A modifier in a V2 column's type reached psql as `\!` on a line
/// outside any quote (reference rows are plain statements); one in a model's cast carried SQL
/// past the checker. Both are compile errors now; an `N'…'` literal (printed as it is) reads
/// back unchanged.
#[test]
fn type_modifiers_and_national_literals_stay_data() {
    let m = marker().display().to_string();
    let v2 = format!("CREATE TABLE kinds (id integer PRIMARY KEY, code text NOT NULL UNIQUE, label foo('x \\! touch {m} #'));\n");
    let model = "name: kinds\ntarget: { schema: public }\nreference:\n  kinds:\n    key: [code]\n    rows:\n      - { id: 1, code: a, label: hello }\ntables: {}\ndrop:\n  people: only the reference rows are under test\n";
    let e = try_compile_texts(PEOPLE, &v2, model)
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.contains("would run psql's `\\!`") || e.contains("type"),
        "{e}"
    );

    let v2 = "CREATE TABLE t (id integer PRIMARY KEY, note text NOT NULL);\n";
    let cast = "name: cast\nsource: { schema: v1 }\ntables:\n  t:\n    from: people p\n    key: keep\n    columns:\n      note: \"CAST(p.name AS pg_catalog.varchar('1)) || (SELECT 1) || CAST(p.name AS pg_catalog.varchar(5'))\"\n";
    let e = try_compile_texts(PEOPLE, v2, cast).map(|_| ()).unwrap_err();
    assert!(e.contains("type modifiers"), "{e}");

    let national = "name: national\nsource: { schema: v1 }\ntables:\n  t:\n    from: people p\n    key: keep\n    columns:\n      note: \"N'x\\\\''' || ' || current_user --'\"\ndrop:\n  people:\n    name: only the literal is under test\n";
    let (_dir, out) = compile_texts(PEOPLE, v2, national);
    let db = cluster().create_db("hostile_national");
    db.execute("CREATE SCHEMA v1; CREATE TABLE v1.people (id integer PRIMARY KEY, name text NOT NULL); INSERT INTO v1.people VALUES (1, 'a');");
    db.execute(v2);
    let o = db.psql_file(out.join("migrate.sql"), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let note: String = db
        .client()
        .query_one("SELECT note FROM public.t", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        note, "x\\' || current_user --",
        "two literals joined, as PostgreSQL reads the model's text"
    );
}
