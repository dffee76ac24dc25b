//! The fast tier: every compile error and warning a model can get, rendered as the DBA sees it,
//! through the library with DDL files (no database, no subprocess). One case per diagnostic
//! (every `Diagnostic::error` and `Diagnostic::warning` of src/ a model reaches without a live
//! database; a case may show a few); each case is a small edit of one valid model, so the
//! snapshot shows exactly what that edit breaks. The diagnostics without a case are listed at
//! the end, with why and where they are tested instead.
//! Read a snapshot you accept as a DBA would: does it say what is wrong, where, and what to do?

use pgmig::compile::{compile, Compiled};
use pgmig::{CompileError, SchemaInput};

/// V1: members (one with a quoted, capitalised column), their posts, a settings table.
const V1_DDL: &str = r#"
CREATE TABLE members (
  id integer PRIMARY KEY,
  email text NOT NULL,
  "Name" text,
  joined_at timestamp NOT NULL,
  password_hash text,
  manager_id integer REFERENCES members (id)
);
CREATE TABLE posts (
  id integer PRIMARY KEY,
  member_id integer NOT NULL REFERENCES members (id),
  title text,
  body text
);
CREATE TABLE settings (key text PRIMARY KEY, value text);
"#;

/// V2: people (a self-reference twice, a generated column), articles, reference roles,
/// a log without any key.
const V2_DDL: &str = r#"
CREATE TABLE people (
  id integer PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  joined_at timestamptz NOT NULL,
  manager_id integer REFERENCES people (id),
  mentor_id integer REFERENCES people (id),
  age integer,
  nick text UNIQUE,
  shown_name text GENERATED ALWAYS AS (coalesce(name, email)) STORED
);
CREATE TABLE articles (
  id integer PRIMARY KEY,
  person_id integer NOT NULL REFERENCES people (id),
  title text NOT NULL,
  body text
);
CREATE TABLE roles (id serial PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL, level integer);
CREATE TABLE events (happened_at timestamptz NOT NULL, person_id integer, note text);
"#;

/// A model that compiles: each case below changes one thing in it.
const VALID: &str = r#"name: fast
source: { schema: v1 }
timezone: UTC
tables:
  people:
    from: members m
    key: keep
    columns:
      name: m."Name"
  articles:
    from: posts p
    key: keep
    columns:
      person_id: p.member_id
      title: coalesce(p.title, 'untitled')
drop:
  members: { password_hash: V2 signs in through the identity provider }
  settings: V2 keeps its settings in the application's config
redact:
  members: [password_hash]
"#;

/// Compiles `model` against two DDL files, as `pgmig compile` does.
fn compiled(model: &[u8], v1_ddl: &str, v2_ddl: &str) -> Result<Compiled, CompileError> {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let model_path = write("model.yaml", model);
    let v1 = SchemaInput::Ddl(write("v1.sql", v1_ddl.as_bytes()));
    let v2 = SchemaInput::Ddl(write("v2.sql", v2_ddl.as_bytes()));
    compile(&model_path, &v1, &v2)
}

/// What the DBA reads when `model` is refused: the rendered errors, or the refusal's message
/// when it is not about a place in the model.
fn refused_against(model: &[u8], v1_ddl: &str, v2_ddl: &str) -> String {
    match compiled(model, v1_ddl, v2_ddl) {
        Ok(_) => panic!("the model compiled:\n{}", String::from_utf8_lossy(model)),
        Err(CompileError::Model { diagnostics, file }) => diagnostics.render(&file, false),
        Err(other) => other.to_string(),
    }
}

fn refused(model: &str) -> String {
    refused_bytes(model.as_bytes())
}

fn refused_bytes(model: &[u8]) -> String {
    refused_against(model, V1_DDL, V2_DDL)
}

/// What the DBA reads when `model` compiles with warnings: the rendered warnings.
fn warned_against(model: &[u8], v1_ddl: &str, v2_ddl: &str) -> String {
    let compiled = compiled(model, v1_ddl, v2_ddl).unwrap_or_else(|e| panic!("{e}"));
    compiled.warnings.render(&compiled.source, false)
}

/// `VALID` with `from` replaced by `to` (which must be there exactly once).
fn edited(from: &str, to: &str) -> String {
    assert_eq!(
        VALID.matches(from).count(),
        1,
        "{from:?} is not in the model once"
    );
    VALID.replacen(from, to, 1)
}

/// `VALID` with `text` added under the `people` step.
fn people_with(text: &str) -> String {
    edited(
        "    key: keep\n    columns:\n      name:",
        &format!("{text}    key: keep\n    columns:\n      name:"),
    )
}

#[test]
fn the_valid_model_compiles() {
    let compiled = compiled(VALID.as_bytes(), V1_DDL, V2_DDL).unwrap_or_else(|e| panic!("{e}"));
    assert!(compiled
        .scripts
        .files
        .iter()
        .any(|(name, _)| *name == "migrate.sql"));
    assert!(!compiled.warnings.has_errors());
}

// --- reading the file ---------------------------------------------------------------------------

#[test]
fn invalid_utf8() {
    let mut bytes = VALID.as_bytes().to_vec();
    bytes.splice(6..6, [0xff]);
    insta::assert_snapshot!(refused_bytes(&bytes), @"
    model.yaml:1:7: error: the model is not valid UTF-8 (byte 0xff here)
       ╭─[model.yaml:1:7]
     1 │ name: �fast
       ·       ┬
       ·       ╰── here
     2 │ source: { schema: v1 }
       ╰────
      help: save the file as UTF-8
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn nul_byte() {
    insta::assert_snapshot!(refused(&edited("name: fast", "name: fa\0st")), @"
    model.yaml:1:9: error: the model contains a NUL byte
       ╭─[model.yaml:1:9]
     1 │ name: fa␀st
       ·         ┬
       ·         ╰── here
     2 │ source: { schema: v1 }
       ╰────
      help: a YAML reader stops at a NUL, dropping the rest of the file silently: remove it
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn second_yaml_document() {
    insta::assert_snapshot!(refused(&format!("{VALID}---\nname: other\n")), @"
    model.yaml:21:1: error: a model is one YAML document; a second one starts here
        ╭─[model.yaml:21:1]
     20 │   members: [password_hash]
     21 │ ---
        · ─┬─
        ·  ╰── here
     22 │ name: other
        ╰────
      help: documents after the first would be ignored: merge them into one, or split them into several model files
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn malformed_yaml() {
    insta::assert_snapshot!(refused(&edited("    key: keep\n    columns:\n      person_id", "    key: [keep\n    columns:\n      person_id")), @"
    model.yaml:14:16: error: invalid model: while parsing a flow sequence, expected ',' or ']'
        ╭─[model.yaml:14:16]
     13 │     columns:
     14 │       person_id: p.member_id
        ·                ┬
        ·                ╰── here
     15 │       title: coalesce(p.title, 'untitled')
        ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn missing_field() {
    insta::assert_snapshot!(refused(&edited("name: fast\n", "")), @"
    model.yaml:1:1: error: missing field `name`
       ╭─[model.yaml:1:1]
     1 │ source: { schema: v1 }
       · ┬
       · ╰── here
     2 │ timezone: UTC
       ╰────
      help: this mapping needs `name`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn unknown_field() {
    insta::assert_snapshot!(refused(&people_with("    wehre: m.id > 0\n")), @"
    model.yaml:7:5: error: unknown field `wehre`
       ╭─[model.yaml:7:5]
     6 │     from: members m
     7 │     wehre: m.id > 0
       ·     ──┬──
       ·       ╰── here
     8 │     key: keep
       ╰────
      help: did you mean `where`? The fields here are: into, from, where, reject, warn, key, columns, repair, lossy, replace, relink_json
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn model_name_not_a_plain_word() {
    insta::assert_snapshot!(refused(&edited("name: fast", "name: ../fast")), @"
    model.yaml:1:7: error: model name `../fast` is not a plain word
       ╭─[model.yaml:1:7]
     1 │ name: ../fast
       ·       ───┬───
       ·          ╰── here
     2 │ source: { schema: v1 }
       ╰────
      help: use letters, digits, `_` and `-` (at most 40, starting with a letter or digit): it names the output folder and the model's rows in _pgmig
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn target_with_a_server() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "target: { server: v2db }\ntimezone: UTC")), @"
    model.yaml:3:19: error: the target is the database the scripts run in; it has no `server`
       ╭─[model.yaml:3:19]
     2 │ source: { schema: v1 }
     3 │ target: { server: v2db }
       ·                   ──┬─
       ·                     ╰── here
     4 │ timezone: UTC
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn value_that_does_not_parse_as_its_kind() {
    insta::assert_snapshot!(refused(&edited("name: fast\n", "name: fast\nin_place: maybe\n")), @"
    model.yaml:2:11: error: expected true or false
       ╭─[model.yaml:2:11]
     1 │ name: fast
     2 │ in_place: maybe
       ·           ──┬──
       ·             ╰── here
     3 │ source: { schema: v1 }
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

// --- names ----------------------------------------------------------------------------------------

#[test]
fn unknown_v2_table() {
    insta::assert_snapshot!(refused(&edited("  articles:\n", "  article:\n")), @r#"
    model.yaml:10:3: error: table `public.article` does not exist in V2
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   article:
        ·   ───┬───
        ·      ╰── here
     11 │     from: posts p
        ╰────
      help: did you mean `articles`?
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn unknown_v1_table() {
    insta::assert_snapshot!(refused(&edited("from: posts p", "from: post p")), @"
    model.yaml:11:11: error: table `post` does not exist in V1 (schema `v1`)
        ╭─[model.yaml:11:11]
     10 │   articles:
     11 │     from: post p
        ·           ──┬─
        ·             ╰── here
     12 │     key: keep
        ╰────
      help: did you mean `posts`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn unknown_v1_column() {
    insta::assert_snapshot!(refused(&edited("p.member_id", "p.memberid")), @"
    model.yaml:14:20: error: column `memberid` does not exist in `v1.posts` (alias `p`)
        ╭─[model.yaml:14:20]
     13 │     columns:
     14 │       person_id: p.memberid
        ·                    ────┬───
        ·                        ╰── here
     15 │       title: coalesce(p.title, 'untitled')
        ╰────
      help: did you mean `member_id`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn unknown_v1_column_needing_quotes() {
    insta::assert_snapshot!(refused(&edited(r#"m."Name""#, "m.name")), @r#"
    model.yaml:9:15: error: column `name` does not exist in `v1.members` (alias `m`)
        ╭─[model.yaml:9:15]
      8 │     columns:
      9 │       name: m.name
        ·               ──┬─
        ·                 ╰── here
     10 │   articles:
        ╰────
      help: did you mean `"Name"`?
    error: model.yaml has 1 error; nothing was written
    "#);
}

/// The name a hint suggests, between "did you mean `" and "`?".
fn suggestion(refusal: &str) -> &str {
    let start = refusal
        .find("did you mean `")
        .unwrap_or_else(|| panic!("no suggestion in:\n{refusal}"))
        + "did you mean `".len();
    let len = refusal[start..]
        .find("`?")
        .expect("a suggestion ends with `?");
    &refusal[start..start + len]
}

/// A suggested name, pasted where the misspelled one was, compiles: quoted when the name
/// needs quotes, bare otherwise.
#[test]
fn a_suggested_name_compiles_when_pasted() {
    for (from, misspelled, written) in [
        (r#"m."Name""#, "m.name", "name"),
        (r#"m."Name""#, r#"mm."Name""#, "mm"),
        ("p.member_id", "p.memberid", "memberid"),
        ("from: posts p", "from: post p", "post"),
    ] {
        let model = edited(from, misspelled);
        let refusal = refused(&model);
        let pasted = model.replacen(
            misspelled,
            &misspelled.replacen(written, suggestion(&refusal), 1),
            1,
        );
        if let Err(e) = compiled(pasted.as_bytes(), V1_DDL, V2_DDL) {
            panic!("`{misspelled}` with its suggestion pasted does not compile: {e}\n{refusal}");
        }
    }
}

/// `from: "Account" a` is YAML's quoted string followed by more text: the hint quotes the
/// whole value, and that value, pasted, compiles.
#[test]
fn sql_quotes_at_the_start_of_a_yaml_value() {
    let model = edited("from: members m", r#"from: "members" m"#);
    let refusal = refused(&model);
    insta::assert_snapshot!(refusal, @r#"
    model.yaml:6:21: error: invalid model: invalid trailing content after double-quoted scalar
       ╭─[model.yaml:6:21]
     5 │   people:
     6 │     from: "members" m
       ·                     ┬
       ·                     ╰── here
     7 │     key: keep
       ╰────
      help: YAML reads a value that starts with a quote as a quoted string, ending at its closing quote; to keep SQL's quotes, quote the whole value: `from: '"members" m'`
    error: model.yaml has 1 error; nothing was written
    "#);
    let start = refusal.find("`from: ").expect("the hint shows the line") + 1;
    let len = refusal[start..].find('`').unwrap();
    let pasted = model.replacen(r#"from: "members" m"#, &refusal[start..start + len], 1);
    if let Err(e) = compiled(pasted.as_bytes(), V1_DDL, V2_DDL) {
        panic!("the hint's value does not compile: {e}\n{pasted}");
    }
}

#[test]
fn unknown_v2_column() {
    insta::assert_snapshot!(refused(&edited("      title:", "      titel:")), @"
    model.yaml:15:7: error: column `titel` does not exist in V2 table `public.articles`
        ╭─[model.yaml:15:7]
     14 │       person_id: p.member_id
     15 │       titel: coalesce(p.title, 'untitled')
        ·       ──┬──
        ·         ╰── here
     16 │ drop:
        ╰────
      help: did you mean `title`?
    error: model.yaml has 1 error; nothing was written
    ");
}

// --- expressions ----------------------------------------------------------------------------------

#[test]
fn statement_where_an_expression_belongs() {
    insta::assert_snapshot!(refused(&edited("'untitled')", "'untitled'); DROP TABLE people; --")), @"
    model.yaml:15:43: error: unexpected `;` after a column expression
        ╭─[model.yaml:15:43]
     14 │       person_id: p.member_id
     15 │       title: coalesce(p.title, 'untitled'); DROP TABLE people; --
        ·                                           ┬
        ·                                           ╰── here
     16 │ drop:
        ╰────
      help: write a column expression only: statements and `;` are not allowed here
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn from_is_not_a_from_clause() {
    insta::assert_snapshot!(refused(&edited("from: posts p", "from: SELECT * FROM posts")), @"
    model.yaml:11:18: error: unexpected `*` after a FROM clause
        ╭─[model.yaml:11:18]
     10 │   articles:
     11 │     from: SELECT * FROM posts
        ·                  ┬
        ·                  ╰── here
     12 │     key: keep
        ╰────
      help: write a FROM clause only: statements and `;` are not allowed here
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn where_too_long() {
    let terms = vec!["m.id = 1"; 40_000].join(" OR ");
    let out = refused(&people_with(&format!("    where: {terms}\n")));
    let first_line = out.lines().next().unwrap_or_default();
    insta::assert_snapshot!(first_line, @"model.yaml:7:12: error: `where` is too long: 239999 tokens, at most 10000");
}

#[test]
fn value_not_assignable() {
    insta::assert_snapshot!(refused(&edited(r#"      name: m."Name""#, "      name: m.\"Name\"\n      age: m.email")), @r#"
    model.yaml:10:12: error: a value of type text can't be assigned to `people.age` (integer)
        ╭─[model.yaml:10:12]
      9 │       name: m."Name"
     10 │       age: m.email
        ·            ───┬───
        ·               ╰── here
     11 │   articles:
        ╰────
      help: convert it explicitly, e.g. `(m.email)::integer`, and say how in the expression
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn copied_by_name_not_assignable() {
    insta::assert_snapshot!(refused(&edited("from: members m", "from: (SELECT id, email, \"Name\", joined_at, password_hash, manager_id, email AS age FROM members) m")), @r#"
    model.yaml:5:3: error: `m.age` (text) is copied by name into `people.age` (integer), which PostgreSQL won't assign
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   people:
       ·   ───┬──
       ·      ╰── here
     6 │     from: (SELECT id, email, "Name", joined_at, password_hash, manager_id, email AS age FROM members) m
       ╰────
      help: map `age` explicitly in `columns` with a conversion
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn not_null_column_nothing_fills() {
    insta::assert_snapshot!(refused(&edited("from: posts p", "from: (SELECT id, member_id, body, title AS heading FROM posts) p").replace("      title: coalesce(p.title, 'untitled')\n", "")), @r#"
    model.yaml:10:3: error: column `articles.title` is NOT NULL in V2 and nothing fills it
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   articles:
        ·   ────┬───
        ·       ╰── here
     11 │     from: (SELECT id, member_id, body, title AS heading FROM posts) p
        ╰────
      help: add `title: <expression>` to this step's `columns`, or a DEFAULT in V2
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn generated_column_mapped() {
    insta::assert_snapshot!(refused(&edited(r#"      name: m."Name""#, "      name: m.\"Name\"\n      shown_name: m.email")), @r#"
    model.yaml:10:7: error: `shown_name` is a generated column; PostgreSQL computes it
        ╭─[model.yaml:10:7]
      9 │       name: m."Name"
     10 │       shown_name: m.email
        ·       ─────┬────
        ·            ╰── here
     11 │   articles:
        ╰────
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn id_of_a_table_no_step_fills() {
    insta::assert_snapshot!(refused(&edited("person_id: p.member_id", "person_id: id(roles, p.member_id)")), @"
    model.yaml:14:21: error: `id(roles, …)`: no step is named `roles`
        ╭─[model.yaml:14:21]
     13 │     columns:
     14 │       person_id: id(roles, p.member_id)
        ·                     ──┬──
        ·                       ╰── here
     15 │       title: coalesce(p.title, 'untitled')
        ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn id_with_too_many_values() {
    insta::assert_snapshot!(refused(&edited("person_id: p.member_id", "person_id: id(people, p.member_id, 2)")), @"
    model.yaml:14:21: error: `id(people, …)` takes 1 key value(s) (id), got 2
        ╭─[model.yaml:14:21]
     13 │     columns:
     14 │       person_id: id(people, p.member_id, 2)
        ·                     ───┬──
        ·                        ╰── here
     15 │       title: coalesce(p.title, 'untitled')
        ╰────
      help: the values match that step's `by` list (or its primary key for `key: keep`), in order
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn time_zone_not_named() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC\n", "")), @"
    model.yaml:4:3: error: assigning timestamp without time zone to `people.joined_at` (timestamp with time zone) depends on the time zone, and the model names none
       ╭─[model.yaml:4:3]
     3 │ tables:
     4 │   people:
       ·   ───┬──
       ·      ╰── here
     5 │     from: members m
       ╰────
      help: add `timezone: UTC` (or the zone V1's timestamps without time zone are in, e.g. `timezone: Europe/Paris`) at the model's top level: every script runs in that zone, whatever the server's
            TimeZone
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn time_zone_not_a_zone() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC+3")), @"
    model.yaml:3:11: error: `UTC+3` is not a time zone name
       ╭─[model.yaml:3:11]
     2 │ source: { schema: v1 }
     3 │ timezone: UTC+3
       ·           ──┬──
       ·             ╰── here
     4 │ tables:
       ╰────
      help: write an IANA zone name such as `UTC`, `Europe/Paris` or `America/New_York`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn literal_no_script_can_print() {
    let model = edited("from: members m", "from: members m JOIN posts p ON p.member_id = m.id AND X'zz' IS NOT NULL")
        .replace("      person_id: p.member_id\n", "      person_id: p.member_id\n      body: CASE WHEN B'012' IS NULL THEN p.body END\n")
        .replace("drop:\n", "verify:\n  - name: one person\n    zero_rows: SELECT id FROM people WHERE id = $1\ndrop:\n");
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:6:60: error: X'zz' is not a hexadecimal string: X'…' holds the digits 0-9 and a-f only
       ╭─[model.yaml:6:60]
     5 │   people:
     6 │     from: members m JOIN posts p ON p.member_id = m.id AND X'zz' IS NOT NULL
       ·                                                            ──┬──
       ·                                                              ╰── here
     7 │     key: keep
       ╰────
    model.yaml:15:23: error: B'012' is not a bit string: B'…' holds 0 and 1 only
        ╭─[model.yaml:15:23]
     14 │       person_id: p.member_id
     15 │       body: CASE WHEN B'012' IS NULL THEN p.body END
        ·                       ───┬──
        ·                          ╰── here
     16 │       title: coalesce(p.title, 'untitled')
        ╰────
    model.yaml:19:49: error: $1 is a parameter, and psql runs the scripts without parameters: write the value
        ╭─[model.yaml:19:49]
     18 │   - name: one person
     19 │     zero_rows: SELECT id FROM people WHERE id = $1
        ·                                                 ─┬
        ·                                                  ╰── here
     20 │ drop:
        ╰────
    error: model.yaml has 3 errors; nothing was written
    ");
}

#[test]
fn type_modifiers_no_script_can_print() {
    insta::assert_snapshot!(refused(&edited(r#"      name: m."Name""#, r#"      name: CAST(m."Name" AS shortname('a b'))"#)), @r#"
    model.yaml:9:13: error: the type modifiers of shortname must be numbers or words
        ╭─[model.yaml:9:13]
      8 │     columns:
      9 │       name: CAST(m."Name" AS shortname('a b'))
        ·             ─────────────────┬────────────────
        ·                              ╰── here
     10 │   articles:
        ╰────
    error: model.yaml has 1 error; nothing was written
    "#);
}

// --- keys -----------------------------------------------------------------------------------------

#[test]
fn unknown_key_strategy() {
    insta::assert_snapshot!(refused(&edited("    from: posts p\n    key: keep", "    from: posts p\n    key: maybe")), @"
    model.yaml:12:10: error: unknown key strategy `maybe`
        ╭─[model.yaml:12:10]
     11 │     from: posts p
     12 │     key: maybe
        ·          ──┬──
        ·            ╰── here
     13 │     columns:
        ╰────
      help: write `key: keep`, `key: [column, …]` or `key: {new: gen_random_uuid(), by: [p.id]}`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn keep_without_the_key_column() {
    insta::assert_snapshot!(refused(&edited("from: posts p", "from: (SELECT member_id, title, body FROM posts) p")), @r#"
    model.yaml:10:3: error: key column `id` of `public.articles` is not filled
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   articles:
        ·   ────┬───
        ·       ╰── here
     11 │     from: (SELECT member_id, title, body FROM posts) p
        ╰────
      help: `key: keep` copies the key: map `id` in `columns`, or use `key: {new: …, by: […]}`
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn new_key_mapped_too() {
    insta::assert_snapshot!(refused(&edited("    from: posts p\n    key: keep\n    columns:\n", "    from: posts p\n    key: { new: nextval('articles_seq'), by: [p.id] }\n    columns:\n      id: p.id\n")), @"
    model.yaml:14:7: error: `id` is the key made by `key: new`; it can't also be mapped
        ╭─[model.yaml:14:7]
     13 │     columns:
     14 │       id: p.id
        ·       ─┬
        ·        ╰── here
     15 │       person_id: p.member_id
        ╰────
      help: remove it from `columns`, or use `key: keep`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn table_without_any_key() {
    insta::assert_snapshot!(refused(&VALID.replace("tables:\n", "tables:\n  events:\n    from: posts p\n    columns:\n      happened_at: now()\n      person_id: p.member_id\n")), @"
    model.yaml:5:3: error: V2 table `public.events` has no primary key and no UNIQUE key on NOT NULL columns
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   events:
       ·   ───┬──
       ·      ╰── here
     6 │     from: posts p
       ╰────
      help: pgmig records the rows it writes by a key, for id(), verify and rollback: add a primary key or a UNIQUE key on NOT NULL columns, or declare `key: [column, …]` in the model (V2 columns that
            tell the migrated rows apart)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn declared_key_column_can_be_null() {
    insta::assert_snapshot!(refused(&VALID.replace("tables:\n", "tables:\n  events:\n    from: posts p\n    key: [person_id]\n    columns:\n      happened_at: now()\n      person_id: p.member_id\n")), @"
    model.yaml:7:11: error: key column `person_id` of `public.events` can be NULL
       ╭─[model.yaml:7:11]
     6 │     from: posts p
     7 │     key: [person_id]
       ·           ────┬────
       ·               ╰── here
     8 │     columns:
       ╰────
      help: the id map records each migrated row's key, and NULL equals nothing: choose NOT NULL columns, or make this one NOT NULL in V2
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn declared_key_empty() {
    insta::assert_snapshot!(refused(&VALID.replace("tables:\n", "tables:\n  events:\n    from: posts p\n    key: []\n    columns:\n      happened_at: now()\n")), @"
    model.yaml:5:3: error: `key: []` of step `events` names no column
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   events:
       ·   ───┬──
       ·      ╰── here
     6 │     from: posts p
       ╰────
      help: list the V2 columns that tell the migrated rows apart, e.g. `key: [sensor_id, happened_at]`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn declared_key_twice_and_unknown() {
    insta::assert_snapshot!(refused(&VALID.replace("tables:\n", "tables:\n  events:\n    from: posts p\n    key: [happened_at, happened_at, when]\n    columns:\n      happened_at: now()\n")), @"
    model.yaml:7:24: error: key column `happened_at` is listed twice
       ╭─[model.yaml:7:24]
     6 │     from: posts p
     7 │     key: [happened_at, happened_at, when]
       ·                        ─────┬─────
       ·                             ╰── here
     8 │     columns:
       ╰────
    model.yaml:7:37: error: key column `when` does not exist in V2 table `public.events`
       ╭─[model.yaml:7:37]
     6 │     from: posts p
     7 │     key: [happened_at, happened_at, when]
       ·                                     ──┬─
       ·                                       ╰── here
     8 │     columns:
       ╰────
    error: model.yaml has 2 errors; nothing was written
    ");
}

#[test]
fn declared_key_in_batched_mode() {
    insta::assert_snapshot!(refused(&VALID.replace("tables:\n", "mode: { batched: { size: 100 } }\ntables:\n  events:\n    from: posts p\n    key: [happened_at]\n    columns:\n      happened_at: now()\n")), @"
    model.yaml:8:11: error: the key declared for `events` needs `mode: transaction`: V2 does not enforce it
       ╭─[model.yaml:8:11]
     7 │     from: posts p
     8 │     key: [happened_at]
       ·           ─────┬─────
       ·                ╰── here
     9 │     columns:
       ╰────
      help: migrate checks in one transaction that no other V2 row shares a migrated row's key, which batches committed one by one can't; add a UNIQUE key on these NOT NULL columns to V2, or use `mode:
            transaction`
    error: model.yaml has 1 error; nothing was written
    ");
}

// --- modes ----------------------------------------------------------------------------------------

#[test]
fn unknown_mode() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: fast")), @"
    model.yaml:4:7: error: unknown mode `fast`
       ╭─[model.yaml:4:7]
     3 │ timezone: UTC
     4 │ mode: fast
       ·       ──┬─
       ·         ╰── here
     5 │ tables:
       ╰────
      help: write `mode: transaction`, `mode: {batched: {size: 5000}}` or `mode: {per_entity: {root: STEP, size: 100}}`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn batch_size_zero() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { batched: { size: 0 } }")), @"
    model.yaml:4:26: error: batch size must be a positive whole number, not `0`
       ╭─[model.yaml:4:26]
     3 │ timezone: UTC
     4 │ mode: { batched: { size: 0 } }
       ·                          ┬
       ·                          ╰── here
     5 │ tables:
       ╰────
      help: a batch is this many keys of a step, committed together: 1000 to 50000 is usual
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn per_entity_root_unknown() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { per_entity: { root: persons, size: 10 } }")), @"
    model.yaml:4:29: error: per_entity: no step is named `persons`
       ╭─[model.yaml:4:29]
     3 │ timezone: UTC
     4 │ mode: { per_entity: { root: persons, size: 10 } }
       ·                             ───┬───
       ·                                ╰── here
     5 │ tables:
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn per_entity_size_zero() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { per_entity: { root: people, size: 0 } }")), @"
    model.yaml:4:43: error: per_entity: size must be a positive whole number (entities per commit)
       ╭─[model.yaml:4:43]
     3 │ timezone: UTC
     4 │ mode: { per_entity: { root: people, size: 0 } }
       ·                                           ┬
       ·                                           ╰── here
     5 │ tables:
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn per_entity_step_belongs_to_no_entity() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { per_entity: { root: people, size: 10 } }")), @r#"
    model.yaml:11:3: error: per_entity: step articles makes no id() lookup into people or a step under it, so its rows belong to no entity
        ╭─[model.yaml:11:3]
     10 │       name: m."Name"
     11 │   articles:
        ·   ────┬───
        ·       ╰── here
     12 │     from: posts p
        ╰────
      help: look up the parent row with id(), e.g. `where: id(people, …) IS NOT NULL`, or use `mode: transaction`
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn two_self_references_in_batched_mode() {
    let model = edited(
        r#"      name: m."Name""#,
        "      name: m.\"Name\"\n      mentor_id: m.manager_id",
    );
    insta::assert_snapshot!(refused(&model.replace("timezone: UTC", "timezone: UTC\nmode: { batched: { size: 100 } }")), @"
    model.yaml:6:3: error: step people: public.people has 2 foreign keys to itself (people_manager_id_fkey, people_mentor_id_fkey); batched and per-entity mode order rows by one hierarchy
       ╭─[model.yaml:6:3]
     5 │ tables:
     6 │   people:
       ·   ───┬──
       ·      ╰── here
     7 │     from: members m
       ╰────
      help: use `mode: transaction`: one statement inserts every row and its parents together
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn steps_in_a_cycle() {
    insta::assert_snapshot!(refused(&edited(r#"      name: m."Name""#, "      name: m.\"Name\"\n      age: (SELECT 1 FROM public.articles a WHERE a.person_id = m.id LIMIT 1)")), @"
    model.yaml:5:3: error: the steps depend on each other in a cycle: people needs articles (reads the migrated rows of public.articles); articles needs people (foreign key articles_person_id_fkey (person_id))
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   people:
       ·   ───┬──
       ·      ╰── here
     6 │     from: members m
       ╰────
      help: a cycle of foreign keys needs one of them filled by a later UPDATE, which pgmig does not do yet
    error: model.yaml has 1 error; nothing was written
    ");
}

// --- repairs, replace, reference data ---------------------------------------------------------

#[test]
fn unknown_repair() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: email, on_duplicate: merge }\n")), @"
    model.yaml:8:40: error: unknown repair `merge`
       ╭─[model.yaml:8:40]
     7 │     repair:
     8 │       - { column: email, on_duplicate: merge }
       ·                                        ──┬──
       ·                                          ╰── here
     9 │     key: keep
       ╰────
      help: write `on_duplicate: suffix` (ana@x.org -> ana+2@x.org) or `on_duplicate: clear` (the later duplicate becomes NULL)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_without_unique_constraint() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: name, on_duplicate: suffix }\n")), @"
    model.yaml:8:19: error: `people.name` has no UNIQUE constraint in V2: there is nothing to repair
       ╭─[model.yaml:8:19]
     7 │     repair:
     8 │       - { column: name, on_duplicate: suffix }
       ·                   ──┬─
       ·                     ╰── here
     9 │     key: keep
       ╰────
      help: a repair rule resolves collisions on a one-column UNIQUE constraint; remove the rule or add the constraint to V2
    error: model.yaml has 1 error; nothing was written
    ");
}

/// `VALID` with `people.name` mapped through a lossy library call and `rule` under `lossy:`.
fn lossy_people(rule: &str) -> String {
    people_with(&format!("    lossy:\n      - {rule}\n")).replacen(
        "name: m.\"Name\"",
        "name: _pgmig.phone_e164(m.\"Name\")",
        1,
    )
}

#[test]
fn lossy_keep_raw_in_an_unknown_column() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: keep_raw, raw_column: nicks }")), @"
    model.yaml:8:56: error: column `nicks` does not exist in V2 table `public.people`
       ╭─[model.yaml:8:56]
     7 │     lossy:
     8 │       - { column: name, on_loss: keep_raw, raw_column: nicks }
       ·                                                        ──┬──
       ·                                                          ╰── here
     9 │     key: keep
       ╰────
      help: did you mean `nick`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_keep_raw_in_a_column_that_is_not_text() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: keep_raw, raw_column: age }")), @"
    model.yaml:8:56: error: `people.age` is integer; `raw_column` keeps V1's text, so it must be text
       ╭─[model.yaml:8:56]
     7 │     lossy:
     8 │       - { column: name, on_loss: keep_raw, raw_column: age }
       ·                                                        ─┬─
       ·                                                         ╰── here
     9 │     key: keep
       ╰────
      help: use a text (or varchar) column of `public.people`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_rule_on_a_transform_that_loses_nothing() {
    insta::assert_snapshot!(refused(&people_with("    lossy:\n      - { column: name, on_loss: reject }\n")), @"
    model.yaml:8:19: error: `name` calls no lossy library function: there is no loss to act on
       ╭─[model.yaml:8:19]
     7 │     lossy:
     8 │       - { column: name, on_loss: reject }
       ·                   ──┬─
       ·                     ╰── here
     9 │     key: keep
       ╰────
      help: a `lossy` rule goes with a lossy call such as `_pgmig.phone_e164(…)`; remove the rule
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_unknown_action() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: rejct }")), @"
    model.yaml:8:34: error: unknown `on_loss: rejct`
       ╭─[model.yaml:8:34]
     7 │     lossy:
     8 │       - { column: name, on_loss: rejct }
       ·                                  ──┬──
       ·                                    ╰── here
     9 │     key: keep
       ╰────
      help: did you mean `reject`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_rule_on_a_column_not_mapped() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: nick, on_loss: reject }")), @"
    model.yaml:8:19: error: `lossy` names `nick`, which this step's `columns` does not map
       ╭─[model.yaml:8:19]
     7 │     lossy:
     8 │       - { column: nick, on_loss: reject }
       ·                   ──┬─
       ·                     ╰── here
     9 │     key: keep
       ╰────
      help: a `lossy` rule is about a column mapped with a lossy library call (`_pgmig.phone_e164`)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_keep_raw_without_raw_column() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: keep_raw }")), @"
    model.yaml:8:34: error: `on_loss: keep_raw` needs `raw_column`: the V2 text column that keeps V1's value
       ╭─[model.yaml:8:34]
     7 │     lossy:
     8 │       - { column: name, on_loss: keep_raw }
       ·                                  ────┬───
       ·                                      ╰── here
     9 │     key: keep
       ╰────
      help: e.g. `{ column: name, on_loss: keep_raw, raw_column: name_raw }`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_reject_with_a_raw_column() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: reject, raw_column: nick }")), @"
    model.yaml:8:54: error: `raw_column` goes with `on_loss: keep_raw`; a rejected row keeps its V1 text in _pgmig.rejects
       ╭─[model.yaml:8:54]
     7 │     lossy:
     8 │       - { column: name, on_loss: reject, raw_column: nick }
       ·                                                      ──┬─
       ·                                                        ╰── here
     9 │     key: keep
       ╰────
      help: remove `raw_column`, or write `on_loss: keep_raw`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_rule_twice() {
    insta::assert_snapshot!(refused(&lossy_people("{ column: name, on_loss: reject }\n      - { column: name, on_loss: reject }")), @"
    model.yaml:9:19: error: two `lossy` rules for `name`
        ╭─[model.yaml:9:19]
      8 │       - { column: name, on_loss: reject }
      9 │       - { column: name, on_loss: reject }
        ·                   ──┬─
        ·                     ╰── here
     10 │     key: keep
        ╰────
      help: one rule per column: keep the one you mean
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_keep_raw_in_a_column_the_step_maps() {
    let model = lossy_people("{ column: name, on_loss: keep_raw, raw_column: nick }").replacen(
        "name: _pgmig.phone_e164(m.\"Name\")",
        "name: _pgmig.phone_e164(m.\"Name\")\n      nick: m.email",
        1,
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:8:56: error: `nick` is filled otherwise; `raw_column` must be a column only this rule fills
       ╭─[model.yaml:8:56]
     7 │     lossy:
     8 │       - { column: name, on_loss: keep_raw, raw_column: nick }
       ·                                                        ──┬─
       ·                                                          ╰── here
     9 │     key: keep
       ╰────
      help: name another column of `public.people`, or remove `nick` from `columns`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn lossy_keep_raw_of_two_lossy_calls() {
    let model = lossy_people("{ column: name, on_loss: keep_raw, raw_column: nick }").replacen(
        "_pgmig.phone_e164(m.\"Name\")",
        "coalesce(_pgmig.phone_e164(m.\"Name\"), _pgmig.phone_e164(m.email))",
        1,
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:8:19: error: `name` calls 2 lossy library functions; `keep_raw` keeps the input of one
       ╭─[model.yaml:8:19]
     7 │     lossy:
     8 │       - { column: name, on_loss: keep_raw, raw_column: nick }
       ·                   ──┬─
       ·                     ╰── here
     9 │     key: keep
       ╰────
      help: map the column with one lossy call, or write `on_loss: reject`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_of_the_primary_key() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: id, on_duplicate: suffix }\n")), @"
    model.yaml:8:19: error: `people.id` is part of the primary key: pgmig records migrated rows by it, so it is not repaired
       ╭─[model.yaml:8:19]
     7 │     repair:
     8 │       - { column: id, on_duplicate: suffix }
       ·                   ─┬
       ·                    ╰── here
     9 │     key: keep
       ╰────
      help: reject the duplicates instead (`reject:`), or key the step with `key: new`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_clear_on_not_null() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: email, on_duplicate: clear }\n")), @"
    model.yaml:8:40: error: `people.email` is NOT NULL: `on_duplicate: clear` can't empty it
       ╭─[model.yaml:8:40]
     7 │     repair:
     8 │       - { column: email, on_duplicate: clear }
       ·                                        ──┬──
       ·                                          ╰── here
     9 │     key: keep
       ╰────
      help: use `on_duplicate: suffix`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_twice_and_unknown_column() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: email, on_duplicate: suffix }\n      - { column: email, on_duplicate: suffix }\n      - { column: nik, on_duplicate: clear }\n")), @"
    model.yaml:9:19: error: two repair rules claim `people.email`
        ╭─[model.yaml:9:19]
      8 │       - { column: email, on_duplicate: suffix }
      9 │       - { column: email, on_duplicate: suffix }
        ·                   ──┬──
        ·                     ╰── here
     10 │       - { column: nik, on_duplicate: clear }
        ╰────
      help: one rule per column: keep the one you mean
    model.yaml:10:19: error: column `nik` does not exist in V2 table `public.people`
        ╭─[model.yaml:10:19]
      9 │       - { column: email, on_duplicate: suffix }
     10 │       - { column: nik, on_duplicate: clear }
        ·                   ─┬─
        ·                    ╰── here
     11 │     key: keep
        ╰────
    error: model.yaml has 2 errors; nothing was written
    ");
}

#[test]
fn repair_of_a_column_the_step_does_not_fill() {
    insta::assert_snapshot!(refused(&people_with("    repair:\n      - { column: nick, on_duplicate: clear }\n")), @"
    model.yaml:8:19: error: this step does not fill `people.nick`: there is nothing to repair
       ╭─[model.yaml:8:19]
     7 │     repair:
     8 │       - { column: nick, on_duplicate: clear }
       ·                   ──┬─
       ·                     ╰── here
     9 │     key: keep
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_in_batched_mode() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { batched: { size: 100 } }").replace("    key: keep\n    columns:\n      name:", "    repair:\n      - { column: email, on_duplicate: suffix }\n    key: keep\n    columns:\n      name:")), @"
    model.yaml:9:19: error: a repair rule needs `mode: transaction`
        ╭─[model.yaml:9:19]
      8 │     repair:
      9 │       - { column: email, on_duplicate: suffix }
        ·                   ──┬──
        ·                     ╰── here
     10 │     key: keep
        ╰────
      help: repairs compare each value with every row already migrated, which batches committed one by one can't keep consistent
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn replace_on_a_column_not_unique() {
    insta::assert_snapshot!(refused(&people_with("    replace: [name]\n")), @"
    model.yaml:7:15: error: `replace` matches on (name), which is not UNIQUE in V2 table `public.people`
       ╭─[model.yaml:7:15]
     6 │     from: members m
     7 │     replace: [name]
       ·               ──┬─
       ·                 ╰── here
     8 │     key: keep
       ╰────
      help: a migrated row must name at most one V2 row to replace: use a natural key with a UNIQUE constraint (e.g. email)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn replace_in_batched_mode() {
    insta::assert_snapshot!(refused(&edited("timezone: UTC", "timezone: UTC\nmode: { batched: { size: 100 } }").replace("    key: keep\n    columns:\n      name:", "    replace: [email]\n    key: keep\n    columns:\n      name:")), @"
    model.yaml:8:15: error: `replace` needs `mode: transaction` or `per_entity`
       ╭─[model.yaml:8:15]
     7 │     from: members m
     8 │     replace: [email]
       ·               ──┬──
       ·                 ╰── here
     9 │     key: keep
       ╰────
      help: the replaced rows are backed up, deleted and re-created in the transaction that migrates their entity
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn replace_on_an_unknown_column() {
    insta::assert_snapshot!(refused(&people_with("    replace: [nickname]\n")), @"
    model.yaml:7:15: error: column `nickname` does not exist in V2 table `public.people`
       ╭─[model.yaml:7:15]
     6 │     from: members m
     7 │     replace: [nickname]
       ·               ────┬───
       ·                   ╰── here
     8 │     key: keep
       ╰────
      help: did you mean `nick`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_table_unknown() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  role:\n    key: [code]\n    rows:\n      - { code: admin, name: Admin }\ntables:\n")), @"
    model.yaml:5:3: error: reference table `public.role` does not exist in V2
       ╭─[model.yaml:5:3]
     4 │ reference:
     5 │   role:
       ·   ──┬─
       ·     ╰── here
     6 │     key: [code]
       ╰────
      help: did you mean `roles`?
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_without_key() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  roles:\n    rows:\n      - { code: admin, name: Admin }\ntables:\n")), @"
    model.yaml:6:5: error: missing field `key`
       ╭─[model.yaml:6:5]
     5 │   roles:
     6 │     rows:
       ·     ┬
       ·     ╰── here
     7 │       - { code: admin, name: Admin }
       ╰────
      help: this mapping needs `key`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_key_not_unique() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  roles:\n    key: [level]\n    rows:\n      - { code: admin, name: Admin, level: 1 }\ntables:\n")), @"
    model.yaml:6:11: error: the reference key (level) is not UNIQUE in V2 table `public.roles`
       ╭─[model.yaml:6:11]
     5 │   roles:
     6 │     key: [level]
       ·           ──┬──
       ·             ╰── here
     7 │     rows:
       ╰────
      help: rows are matched by this key, so a second run inserts nothing: it must name one row; add a UNIQUE constraint to V2 or choose a unique key
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_table_without_primary_key_by_a_misspelt_column() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  events:\n    key: [notes]\n    rows:\n      - { note: started }\ntables:\n")), @"
    model.yaml:5:3: error: V2 table `public.events` has no primary key
       ╭─[model.yaml:5:3]
     4 │ reference:
     5 │   events:
       ·   ───┬──
       ·      ╰── here
     6 │     key: [notes]
       ╰────
      help: pgmig records the reference rows it inserts by primary key, so rollback removes only those
    model.yaml:6:11: error: column `notes` does not exist in V2 table `public.events`
       ╭─[model.yaml:6:11]
     5 │   events:
     6 │     key: [notes]
       ·           ──┬──
       ·             ╰── here
     7 │     rows:
       ╰────
      help: did you mean `note`?
    error: model.yaml has 2 errors; nothing was written
    ");
}

#[test]
fn reference_row_empty_points_at_the_key() {
    // Found by the fuzz test: an empty row has no key of its own, and the error had no position.
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  roles:\n    key: [code]\n    rows:\n      - {}\ntables:\n")), @"
    model.yaml:6:11: error: a reference row of `public.roles` has no value for its key (code)
       ╭─[model.yaml:6:11]
     5 │   roles:
     6 │     key: [code]
       ·           ──┬─
       ·             ╰── here
     7 │     rows:
       ╰────
    model.yaml:6:11: error: column `roles.code` is NOT NULL and this reference row gives no value
       ╭─[model.yaml:6:11]
     5 │   roles:
     6 │     key: [code]
       ·           ──┬─
       ·             ╰── here
     7 │     rows:
       ╰────
    model.yaml:6:11: error: column `roles.name` is NOT NULL and this reference row gives no value
       ╭─[model.yaml:6:11]
     5 │   roles:
     6 │     key: [code]
       ·           ──┬─
       ·             ╰── here
     7 │     rows:
       ╰────
    error: model.yaml has 3 errors; nothing was written
    ");
}

#[test]
fn reference_rows_broken() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  roles:\n    key: [code]\n    rows:\n      - { code: admin, name: Admin }\n      - { code: admin, name: Again }\n      - { name: Keyless }\n      - { code: guest }\n      - { code: owner, name: Owner, colour: red }\ntables:\n")), @"
    model.yaml:9:11: error: two reference rows of `public.roles` have the key (admin)
        ╭─[model.yaml:9:11]
      8 │       - { code: admin, name: Admin }
      9 │       - { code: admin, name: Again }
        ·           ──┬─
        ·             ╰── here
     10 │       - { name: Keyless }
        ╰────
    model.yaml:10:11: error: a reference row of `public.roles` has no value for its key (code)
        ╭─[model.yaml:10:11]
      9 │       - { code: admin, name: Again }
     10 │       - { name: Keyless }
        ·           ──┬─
        ·             ╰── here
     11 │       - { code: guest }
        ╰────
    model.yaml:10:11: error: column `roles.code` is NOT NULL and this reference row gives no value
        ╭─[model.yaml:10:11]
      9 │       - { code: admin, name: Again }
     10 │       - { name: Keyless }
        ·           ──┬─
        ·             ╰── here
     11 │       - { code: guest }
        ╰────
    model.yaml:11:11: error: column `roles.name` is NOT NULL and this reference row gives no value
        ╭─[model.yaml:11:11]
     10 │       - { name: Keyless }
     11 │       - { code: guest }
        ·           ──┬─
        ·             ╰── here
     12 │       - { code: owner, name: Owner, colour: red }
        ╰────
    model.yaml:12:37: error: column `colour` does not exist in V2 table `public.roles`
        ╭─[model.yaml:12:37]
     11 │       - { code: guest }
     12 │       - { code: owner, name: Owner, colour: red }
        ·                                     ───┬──
        ·                                        ╰── here
     13 │ tables:
        ╰────
    error: model.yaml has 5 errors; nothing was written
    ");
}

// --- accounting, drop, redact ---------------------------------------------------------------------

#[test]
fn v1_column_read_by_no_step_with_a_v2_match() {
    insta::assert_snapshot!(refused(&edited("    columns:\n      name: m.\"Name\"\n", "")), @r#"
    model.yaml:5:3: error: `v1.members."Name"` is read by no step; V2's `people.name` is left to its default; map it or list it under drop:
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   people:
       ·   ───┬──
       ·      ╰── here
     6 │     from: members m
       ╰────
      help: add `name: 'm."Name"'` to the columns of step people, or say why it is dropped: `drop: {members: {Name: REASON}}`
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn v1_table_read_by_no_step() {
    insta::assert_snapshot!(refused(&edited("  settings: V2 keeps its settings in the application's config\n", "")), @"
    model.yaml:16:1: error: V1 table `v1.settings` is read by no step; read it in a step or list it under drop:
        ╭─[model.yaml:16:1]
     15 │       title: coalesce(p.title, 'untitled')
     16 │ drop:
        · ──┬─
        ·   ╰── here
     17 │   members: { password_hash: V2 signs in through the identity provider }
        ╰────
      help: to drop its rows, say why: `drop: {settings: REASON}` (PLAN.md shows the reason)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn drop_names_what_v1_lacks() {
    insta::assert_snapshot!(refused(&edited("  settings: V2", "  setting: V2").replace("password_hash: V2", "pasword_hash: V2")), @"
    model.yaml:5:3: error: `v1.members.password_hash` is read by no step; map it or list it under drop:
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   people:
       ·   ───┬──
       ·      ╰── here
     6 │     from: members m
       ╰────
      help: say why V2 doesn't need it: `drop: {members: {password_hash: REASON}}` (PLAN.md shows the reason)
    model.yaml:16:1: error: V1 table `v1.settings` is read by no step; read it in a step or list it under drop:
        ╭─[model.yaml:16:1]
     15 │       title: coalesce(p.title, 'untitled')
     16 │ drop:
        · ──┬─
        ·   ╰── here
     17 │   members: { pasword_hash: V2 signs in through the identity provider }
        ╰────
      help: to drop its rows, say why: `drop: {settings: REASON}` (PLAN.md shows the reason)
    model.yaml:17:14: error: drop: column `pasword_hash` does not exist in V1 table `v1.members`
        ╭─[model.yaml:17:14]
     16 │ drop:
     17 │   members: { pasword_hash: V2 signs in through the identity provider }
        ·              ──────┬─────
        ·                    ╰── here
     18 │   setting: V2 keeps its settings in the application's config
        ╰────
      help: did you mean `password_hash`?
    model.yaml:18:3: error: drop: V1 has no table `setting` in schema `v1`
        ╭─[model.yaml:18:3]
     17 │   members: { pasword_hash: V2 signs in through the identity provider }
     18 │   setting: V2 keeps its settings in the application's config
        ·   ───┬───
        ·      ╰── here
     19 │ redact:
        ╰────
      help: did you mean `settings`?
    error: model.yaml has 4 errors; nothing was written
    ");
}

#[test]
fn drop_of_what_a_step_reads() {
    insta::assert_snapshot!(refused(&edited("password_hash: V2 signs in through the identity provider", "password_hash: V2 signs in through the identity provider, email: V2 asks again")), @"
    model.yaml:17:72: error: drop: `v1.members.email` is listed as dropped, but step people reads it
        ╭─[model.yaml:17:72]
     16 │ drop:
     17 │   members: { password_hash: V2 signs in through the identity provider, email: V2 asks again }
        ·                                                                        ──┬──
        ·                                                                          ╰── here
     18 │   settings: V2 keeps its settings in the application's config
        ╰────
      help: remove it from drop:, or stop reading it: the model can't say both
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn drop_without_reason_or_with_todo() {
    insta::assert_snapshot!(refused(&edited("password_hash: V2 signs in through the identity provider", "password_hash: TODO").replace("settings: V2 keeps its settings in the application's config", "settings: ''")), @"
    model.yaml:17:29: error: drop: the reason for dropping `v1.members.password_hash` is still a TODO
        ╭─[model.yaml:17:29]
     16 │ drop:
     17 │   members: { password_hash: TODO }
        ·                             ──┬─
        ·                               ╰── here
     18 │   settings: ''
        ╰────
      help: say why V2 doesn't need this data (PLAN.md shows the reason), or map it in a step
    model.yaml:18:3: error: drop: `v1.settings` has no reason
        ╭─[model.yaml:18:3]
     17 │   members: { password_hash: TODO }
     18 │   settings: ''
        ·   ────┬───
        ·       ╰── here
     19 │ redact:
        ╰────
      help: say why V2 doesn't need this data: PLAN.md shows the reason
    error: model.yaml has 2 errors; nothing was written
    ");
}

#[test]
fn redact_names_what_v1_lacks() {
    insta::assert_snapshot!(refused(&edited("  members: [password_hash]\n", "  member: [password_hash]\n  members: [pasword_hash, id]\n")), @"
    model.yaml:20:3: error: redact: V1 has no table `member` in schema `v1`
        ╭─[model.yaml:20:3]
     19 │ redact:
     20 │   member: [password_hash]
        ·   ───┬──
        ·      ╰── here
     21 │   members: [pasword_hash, id]
        ╰────
      help: did you mean `members`?
    model.yaml:21:13: error: redact: column `pasword_hash` does not exist in V1 table `v1.members`
        ╭─[model.yaml:21:13]
     20 │   member: [password_hash]
     21 │   members: [pasword_hash, id]
        ·             ──────┬─────
        ·                   ╰── here
        ╰────
      help: did you mean `password_hash`?
    model.yaml:21:27: error: redact: `members.id` is part of the primary key, which rejects name their V1 row by
        ╭─[model.yaml:21:27]
     20 │   member: [password_hash]
     21 │   members: [pasword_hash, id]
        ·                           ─┬
        ·                            ╰── here
        ╰────
      help: the key is copied into `_pgmig.rejects.source_key` and the archives: leave it out of `redact:`
    error: model.yaml has 3 errors; nothing was written
    ");
}

#[test]
fn secret_looking_column_not_in_redact() {
    insta::assert_snapshot!(warned_against(edited("redact:\n  members: [password_hash]\n", "").as_bytes(), V1_DDL, V2_DDL), @r#"
    model.yaml:6:11: warning: V1 column `password_hash` of `v1.members` looks secret: rejects, archives and precheck show its values as "[redacted]"
       ╭─[model.yaml:6:11]
     5 │   people:
     6 │     from: members m
       ·           ────┬────
       ·               ╰── here
     7 │     key: keep
       ╰────
      help: say so in the model: `redact: {members: [password_hash]}` (`members: []` keeps every value)
    "#);
}

// --- in place ---------------------------------------------------------------------------------

const IN_PLACE_V1: &str = "CREATE TABLE tags (id text PRIMARY KEY, label text, user_id text);\nCREATE TABLE notes (body text, tag_id text);\n";
const IN_PLACE_V2: &str = "CREATE TABLE tags (id uuid PRIMARY KEY, label text, user_id uuid);\nCREATE TABLE notes (body text, tag_id uuid);\n";

fn refused_in_place(model: &str, v2_ddl: &str) -> String {
    refused_against(model.as_bytes(), IN_PLACE_V1, v2_ddl)
}

#[test]
fn in_place_false_is_read_as_a_copy_model() {
    insta::assert_snapshot!(refused_in_place("name: tags\nin_place: false\n", IN_PLACE_V2), @"
    model.yaml:1:1: error: missing field `tables`
       ╭─[model.yaml:1:1]
     1 │ name: tags
       · ┬
       · ╰── here
     2 │ in_place: false
       ╰────
      help: this mapping needs `tables`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn in_place_batch_size_not_a_number() {
    insta::assert_snapshot!(refused_in_place("name: tags\nin_place: true\nbatch_size: 1e3\n", IN_PLACE_V2), @"
    model.yaml:3:13: error: expected a whole number (invalid digit found in string)
       ╭─[model.yaml:3:13]
     2 │ in_place: true
     3 │ batch_size: 1e3
       ·             ─┬─
       ·              ╰── here
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn in_place_without_a_primary_key() {
    insta::assert_snapshot!(refused_in_place("name: tags\nin_place: true\n", IN_PLACE_V2), @"
    model.yaml:2:1: error: table public.notes has no primary key in V1: in-place mode batches and backs up rows by it
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn in_place_columns_added_and_dropped() {
    insta::assert_snapshot!(refused_in_place("name: tags\nin_place: true\n", "CREATE TABLE tags (id uuid PRIMARY KEY, title text, user_id uuid);\nCREATE TABLE notes (body text, tag_id uuid);\n"), @"
    model.yaml:2:1: error: table public.notes has no primary key in V1: in-place mode batches and backs up rows by it
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
       ╰────
    model.yaml:2:1: error: column public.tags.label is only in V1
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
       ╰────
      help: in-place mode changes columns' types, NOT NULL and defaults; it does not drop columns
    model.yaml:2:1: error: column public.tags.title is only in V2
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
       ╰────
      help: in-place mode changes columns' types, NOT NULL and defaults; it does not add columns
    error: model.yaml has 3 errors; nothing was written
    ");
}

#[test]
fn in_place_using_broken_and_for_an_unchanged_column() {
    insta::assert_snapshot!(refused_in_place("name: tags\nin_place: true\nusing:\n  tags.user_id: \"CASE WHEN user_id = '' THEN\"\n  tags.label: upper(label)\n", IN_PLACE_V2), @r#"
    model.yaml:2:1: error: table public.notes has no primary key in V1: in-place mode batches and backs up rows by it
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
     3 │ using:
       ╰────
    model.yaml:4:17: error: the `using` of tags.user_id is not an SQL expression: text after the expression
       ╭─[model.yaml:4:17]
     3 │ using:
     4 │   tags.user_id: "CASE WHEN user_id = '' THEN"
       ·                 ─────────────┬─────────────
       ·                              ╰── here
     5 │   tags.label: upper(label)
       ╰────
    model.yaml:5:3: error: `using` for tags.label, a column whose type does not change (or no such column)
       ╭─[model.yaml:5:3]
     4 │   tags.user_id: "CASE WHEN user_id = '' THEN"
     5 │   tags.label: upper(label)
       ·   ─────┬────
       ·        ╰── here
       ╰────
      help: `using` keys are table.column of a column whose type V2 changes
    error: model.yaml has 3 errors; nothing was written
    "#);
}

#[test]
fn in_place_tables_only_in_v1_or_v2() {
    let v1 = "CREATE TABLE tags (id integer PRIMARY KEY, n integer);\nCREATE TABLE old_tags (id integer PRIMARY KEY);\n";
    let v2 = "CREATE TABLE tags (id integer PRIMARY KEY, n bigint);\nCREATE TABLE labels (id integer PRIMARY KEY);\n";
    insta::assert_snapshot!(warned_against(b"name: tags\nin_place: true\n", v1, v2), @"
    model.yaml: warning: table public.old_tags is only in V1: in-place mode leaves it as it is
    model.yaml: warning: table public.labels is only in V2: in-place mode does not create it
    ");
}

// --- the rest: one case per diagnostic ---------------------------------------------------------

/// `V2_DDL` with `from` replaced by `to` (which must be there exactly once).
fn v2_edited(from: &str, to: &str) -> String {
    assert_eq!(
        V2_DDL.matches(from).count(),
        1,
        "{from:?} is not in V2 once"
    );
    V2_DDL.replacen(from, to, 1)
}

#[test]
fn replace_on_a_column_the_step_does_not_fill() {
    insta::assert_snapshot!(refused(&people_with("    replace: [nick]\n")), @"
    model.yaml:7:15: error: `replace` matches on `nick`, which this step does not fill
       ╭─[model.yaml:7:15]
     6 │     from: members m
     7 │     replace: [nick]
       ·               ──┬─
       ·                 ╰── here
     8 │     key: keep
       ╰────
      help: the step's rows are matched to V2's by the values they would insert: map the column
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn replace_under_a_foreign_key_cycle() {
    let v2 = v2_edited(
        "  age integer,\n",
        "  age integer,\n  featured_id integer,\n",
    ) + "ALTER TABLE people ADD FOREIGN KEY (featured_id) REFERENCES articles (id);\n";
    insta::assert_snapshot!(refused_against(people_with("    replace: [email]\n").as_bytes(), V1_DDL, &v2), @"
    model.yaml:7:15: error: the V2 tables under `public.people` reference each other in a cycle
       ╭─[model.yaml:7:15]
     6 │     from: members m
     7 │     replace: [email]
       ·               ──┬──
       ·                 ╰── here
     8 │     key: keep
       ╰────
      help: pgmig can't order the deletes of a foreign key cycle; replace is not possible here
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn replace_over_a_table_without_primary_key() {
    let v2 = v2_edited(
        "person_id integer, note text",
        "person_id integer REFERENCES people (id), note text",
    );
    insta::assert_snapshot!(refused_against(people_with("    replace: [email]\n").as_bytes(), V1_DDL, &v2), @"
    model.yaml:7:15: error: V2 table `public.events` (under `public.people`) has no primary key
       ╭─[model.yaml:7:15]
     6 │     from: members m
     7 │     replace: [email]
       ·               ──┬──
       ·                 ╰── here
     8 │     key: keep
       ╰────
      help: replaced rows are deleted and restored by primary key
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_with_an_empty_key() {
    insta::assert_snapshot!(refused(&edited("tables:\n", "reference:\n  roles:\n    key: []\n    rows:\n      - { code: admin, name: Admin }\ntables:\n")), @"
    model.yaml:5:3: error: reference table `public.roles` needs a `key`: the columns rows are matched by
       ╭─[model.yaml:5:3]
     4 │ reference:
     5 │   roles:
       ·   ──┬──
       ·     ╰── here
     6 │     key: []
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn reference_row_naming_no_parent_row() {
    let v2 = V2_DDL.to_string()
        + "CREATE TABLE grants (id serial PRIMARY KEY, role_id integer NOT NULL REFERENCES roles (id), perm text NOT NULL, UNIQUE (role_id, perm));\n";
    let model = edited("tables:\n", "reference:\n  roles:\n    key: [code]\n    rows:\n      - { code: admin, name: Admin }\n  grants:\n    key: [role_id, perm]\n    rows:\n      - { role_id: amdin, perm: read }\ntables:\n");
    insta::assert_snapshot!(refused_against(model.as_bytes(), V1_DDL, &v2), @"
    model.yaml:12:20: error: `amdin` names no reference row of `public.roles` by code
        ╭─[model.yaml:12:20]
     11 │     rows:
     12 │       - { role_id: amdin, perm: read }
        ·                    ──┬──
        ·                      ╰── here
     13 │ tables:
        ╰────
      help: role_id: one of admin
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn from_with_a_where_clause() {
    insta::assert_snapshot!(refused(&edited("from: posts p", "from: posts p WHERE p.id > 0")), @"
    model.yaml:11:11: error: `from` must be a FROM clause: tables, joins, subqueries
        ╭─[model.yaml:11:11]
     10 │   articles:
     11 │     from: posts p WHERE p.id > 0
        ·           ───────────┬──────────
        ·                      ╰── here
     12 │     key: keep
        ╰────
      help: put row filters in `where:` and ordering nowhere: a migration step is a set
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn assertion_of_two_statements() {
    insta::assert_snapshot!(refused(&edited("drop:\n", "verify:\n  - name: no untitled articles\n    zero_rows: SELECT 1 FROM articles WHERE title = ''; SELECT 2\ndrop:\n")), @"
    model.yaml:18:16: error: expected exactly one SELECT query
        ╭─[model.yaml:18:16]
     17 │   - name: no untitled articles
     18 │     zero_rows: SELECT 1 FROM articles WHERE title = ''; SELECT 2
        ·                ────────────────────────┬────────────────────────
        ·                                        ╰── here
     19 │ drop:
        ╰────
      help: an assertion only reads: it returns the offending rows (functions it calls are not checked; verify.sql runs them READ ONLY)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn relink_json_rules_broken() {
    let v2 = v2_edited(
        "  body text\n",
        "  body text,\n  tags jsonb,\n  label text\n",
    ) + "CREATE TABLE topics (id integer PRIMARY KEY, code text UNIQUE, title text);\n";
    let model = edited(
        "      title: coalesce(p.title, 'untitled')\n",
        "      title: coalesce(p.title, 'untitled')\n      tags: \"'[]'::jsonb\"\n      label: p.body\n    relink_json:\n      - { column: colour, object: topic, match: code, to: topics.code, write: id }\n      - { column: label, object: topic, match: code, to: topics.code, write: id }\n      - { column: tags, object: topic, match: code, to: topics, write: id }\n      - { column: tags, object: topic, match: code, to: topic.code, write: id }\n      - { column: tags, object: topic, match: code, to: topics.kode, write: id }\n      - { column: tags, object: topic, match: title, to: topics.title, write: id }\n",
    );
    insta::assert_snapshot!(refused_against(model.as_bytes(), V1_DDL, &v2), @"
    model.yaml:19:19: error: relink_json: `articles.colour`: V2 has no such column
        ╭─[model.yaml:19:19]
     18 │     relink_json:
     19 │       - { column: colour, object: topic, match: code, to: topics.code, write: id }
        ·                   ───┬──
        ·                      ╰── here
     20 │       - { column: label, object: topic, match: code, to: topics.code, write: id }
        ╰────
    model.yaml:20:19: error: relink_json: `articles.label` is text, not json or jsonb
        ╭─[model.yaml:20:19]
     19 │       - { column: colour, object: topic, match: code, to: topics.code, write: id }
     20 │       - { column: label, object: topic, match: code, to: topics.code, write: id }
        ·                   ──┬──
        ·                     ╰── here
     21 │       - { column: tags, object: topic, match: code, to: topics, write: id }
        ╰────
    model.yaml:21:57: error: relink_json: `to` is `table.column` of V2
        ╭─[model.yaml:21:57]
     20 │       - { column: label, object: topic, match: code, to: topics.code, write: id }
     21 │       - { column: tags, object: topic, match: code, to: topics, write: id }
        ·                                                         ───┬──
        ·                                                            ╰── here
     22 │       - { column: tags, object: topic, match: code, to: topic.code, write: id }
        ╰────
    model.yaml:22:57: error: relink_json: table `public.topic` does not exist in V2
        ╭─[model.yaml:22:57]
     21 │       - { column: tags, object: topic, match: code, to: topics, write: id }
     22 │       - { column: tags, object: topic, match: code, to: topic.code, write: id }
        ·                                                         ─────┬────
        ·                                                              ╰── here
     23 │       - { column: tags, object: topic, match: code, to: topics.kode, write: id }
        ╰────
    model.yaml:23:57: error: relink_json: column `kode` does not exist in V2 table `public.topics`
        ╭─[model.yaml:23:57]
     22 │       - { column: tags, object: topic, match: code, to: topic.code, write: id }
     23 │       - { column: tags, object: topic, match: code, to: topics.kode, write: id }
        ·                                                         ─────┬─────
        ·                                                              ╰── here
     24 │       - { column: tags, object: topic, match: title, to: topics.title, write: id }
        ╰────
    model.yaml:24:58: error: relink_json: `public.topics.title` must be UNIQUE, and the table's primary key one column
        ╭─[model.yaml:24:58]
     23 │       - { column: tags, object: topic, match: code, to: topics.kode, write: id }
     24 │       - { column: tags, object: topic, match: title, to: topics.title, write: id }
        ·                                                          ──────┬─────
        ·                                                                ╰── here
     25 │ drop:
        ╰────
      help: an object must name exactly one V2 row, whose key is written
    error: model.yaml has 6 errors; nothing was written
    ");
}

#[test]
fn self_reference_through_a_column_not_copied_in_batched_mode() {
    let model = edited(
        r#"      name: m."Name""#,
        "      name: m.\"Name\"\n      manager_id: m.manager_id",
    )
    .replace(
        "    from: members m\n    key: keep\n",
        "    from: members m\n    key: { new: nextval('people_id_seq'), by: [m.id] }\n",
    )
    .replace(
        "timezone: UTC",
        "timezone: UTC\nmode: { batched: { size: 100 } }",
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:6:3: error: step people: foreign key people_manager_id_fkey references public.people itself through keys the step makes (`key: new`) (id); batched and per-entity mode can't put its rows in hierarchy order
       ╭─[model.yaml:6:3]
     5 │ tables:
     6 │   people:
       ·   ───┬──
       ·      ╰── here
     7 │     from: members m
       ╰────
      help: copy the referenced key (`key: keep`), or use `mode: transaction`: one statement inserts every row and its parents together
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn v1_and_v2_in_one_schema() {
    let v1 = V1_DDL.replace("CREATE TABLE posts", "CREATE TABLE articles");
    let model = edited("source: { schema: v1 }", "source: { schema: public }")
        .replace("from: posts p", "from: articles p");
    insta::assert_snapshot!(refused_against(model.as_bytes(), &v1, V2_DDL), @"
    model.yaml:11:11: error: step articles reads `public.articles`, which this model fills: V1 and V2 are one schema (`public`) of one database here, so the step would read V2's rows as V1's
        ╭─[model.yaml:11:11]
     10 │   articles:
     11 │     from: articles p
        ·           ─────┬────
        ·                ╰── here
     12 │     key: keep
        ╰────
      help: give V1 its own schema (`source: {schema: v1}`), or rename V1's tables aside (`users_v1`) and read those, or write an in-place model (`in_place: true`)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn steps_sharing_an_id_map() {
    // A step named like another step's cut-and-hashed id map name (without `map_`).
    let long = "a".repeat(70);
    let twin = pgmig::check::names::derived("map_", &long)["map_".len()..].to_string();
    let step = |name: &str| {
        format!("  {name}:\n    into: articles\n    from: posts p\n    key: keep\n    columns:\n      person_id: p.member_id\n      title: p.title\n")
    };
    let model = edited(
        "tables:\n",
        &format!("tables:\n{}{}", step(&long), step(&twin)),
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:12:3: error: steps `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` and `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_a6a5a72c` would share the table _pgmig.map_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_a6a5a72c
        ╭─[model.yaml:12:3]
     11 │       title: p.title
     12 │   aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_a6a5a72c:
        ·   ─────────────────────────────┬─────────────────────────────
        ·                                ╰── here
     13 │     into: articles
        ╰────
      help: rename one of the steps (and use `into:` to name its V2 table)
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn repair_suffixing_a_secret() {
    let model = people_with("    repair:\n      - { column: nick, on_duplicate: suffix }\n")
        .replace(
            r#"      name: m."Name""#,
            "      name: m.\"Name\"\n      nick: m.password_hash",
        )
        .replace(
            "  members: { password_hash: V2 signs in through the identity provider }\n",
            "",
        );
    insta::assert_snapshot!(refused(&model), @r#"
    model.yaml:8:39: error: `nick` holds a secret: `on_duplicate: suffix` would record its values in _pgmig.changes
       ╭─[model.yaml:8:39]
     7 │     repair:
     8 │       - { column: nick, on_duplicate: suffix }
       ·                                       ───┬──
       ·                                          ╰── here
     9 │     key: keep
       ╰────
      help: use `on_duplicate: clear` (the old value is recorded as "[redacted]"), or reject the duplicates
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn new_key_on_a_two_column_key() {
    let v2 = V2_DDL.to_string()
        + "CREATE TABLE revisions (article_id integer REFERENCES articles (id), n integer, body text, PRIMARY KEY (article_id, n));\n";
    let model = edited("drop:\n", "  revisions:\n    from: posts r\n    key: { new: gen_random_uuid(), by: [r.id] }\n    columns:\n      article_id: id(articles, r.id)\n      n: 1\n      body: r.body\ndrop:\n");
    insta::assert_snapshot!(refused_against(model.as_bytes(), V1_DDL, &v2), @"
    model.yaml:18:17: error: `key: new` needs a one-column key; `public.revisions` is keyed by (article_id, n)
        ╭─[model.yaml:18:17]
     17 │     from: posts r
     18 │     key: { new: gen_random_uuid(), by: [r.id] }
        ·                 ────────┬────────
        ·                         ╰── here
     19 │     columns:
        ╰────
      help: use `key: keep` and fill each key column in `columns`
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn in_place_batch_size_zero_and_a_cast_without_using() {
    let v2 = IN_PLACE_V2.replace("label text", "label integer");
    let v1 = "CREATE TABLE tags (id text PRIMARY KEY, label text, user_id text);\nCREATE TABLE notes (id integer PRIMARY KEY, body text, tag_id text);\n";
    let v2 = v2.replace(
        "CREATE TABLE notes (body text",
        "CREATE TABLE notes (id integer PRIMARY KEY, body text",
    );
    insta::assert_snapshot!(refused_against(b"name: tags\nin_place: true\nbatch_size: 0\n", v1, &v2), @r#"
    model.yaml:2:1: error: tags.label: text → integer has no safe cast; give the conversion in `using`
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
     3 │ batch_size: 0
       ╰────
      help: add `using: { tags.label: "<expression over label>" }` to the model
    model.yaml:3:13: error: batch_size must be a positive whole number
       ╭─[model.yaml:3:13]
     2 │ in_place: true
     3 │ batch_size: 0
       ·             ┬
       ·             ╰── here
       ╰────
      help: the rows each batch updates and commits; without `batch_size`, 1000
    error: model.yaml has 2 errors; nothing was written
    "#);
}

#[test]
fn in_place_column_named_like_pgmig() {
    let v1 = "CREATE TABLE tags (id integer PRIMARY KEY, pgmig_ref text);\n";
    let v2 = "CREATE TABLE tags (id integer PRIMARY KEY, pgmig_ref uuid);\n";
    insta::assert_snapshot!(refused_against(b"name: tags\nin_place: true\n", v1, v2), @"
    model.yaml:2:1: error: public.tags.pgmig_ref: column names starting with pgmig_ are pgmig's own
       ╭─[model.yaml:2:1]
     1 │ name: tags
     2 │ in_place: true
       · ────┬───
       ·     ╰── here
       ╰────
    error: model.yaml has 1 error; nothing was written
    ");
}

#[test]
fn name_with_a_carriage_return() {
    let v2 = v2_edited("  body text\n", "  body text,\n  \"no\rte\" text\n");
    // The line moves whenever verify.sql's templates change length: the snapshot keeps its place.
    let message = refused_against(VALID.as_bytes(), V1_DDL, &v2);
    let (before, after) = message
        .split_once("verify.sql:")
        .expect("names a script line");
    let line_end = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    assert!(line_end > 0, "{message}");
    let message = format!("{before}verify.sql:LINE{}", &after[line_end..]);
    insta::assert_snapshot!(message, @r#"
    model.yaml: error: a name holds a carriage return or another control character: verify.sql:LINE would be `SELECT CAST((t.id) AS text) COLLATE pg_catalog."C", CAST((t.person_id) AS text) COLLATE pg_catalog."C", CAST((t.title) AS text) COLLATE pg_catalog."C", CAST((t.body) AS text) COLLATE pg_catalog."C", CAST((t."no␍te") AS text) COLLATE pg_catalog."C"`
      help: rename the object: psql drops a carriage return before a line feed, so the script would name another one; line feeds and tabs in names are fine
    error: model.yaml has 1 error; nothing was written
    "#);
}

#[test]
fn archives_broken() {
    let model = edited(
        "drop:\n",
        "archives:\n  dir: Text Archives\n  files:\n    By User: SELECT 'u' AS file, title AS text FROM articles ORDER BY 1\n    one_column: SELECT title AS file FROM articles ORDER BY 1\n    unordered: SELECT 'a' AS file, title AS text FROM articles\n    hex: SELECT 'a' AS file, X'zz' AS text FROM articles ORDER BY 1\ndrop:\n",
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:17:8: error: archive directory `Text Archives` is not a plain word
        ╭─[model.yaml:17:8]
     16 │ archives:
     17 │   dir: Text Archives
        ·        ──────┬──────
        ·              ╰── here
     18 │   files:
        ╰────
      help: it becomes a directory: lowercase ASCII letters, digits, `_` and `-` only
    model.yaml:19:5: error: archive directory `By User` is not a plain word
        ╭─[model.yaml:19:5]
     18 │   files:
     19 │     By User: SELECT 'u' AS file, title AS text FROM articles ORDER BY 1
        ·     ───┬───
        ·        ╰── here
     20 │     one_column: SELECT title AS file FROM articles ORDER BY 1
        ╰────
      help: it becomes a directory: lowercase ASCII letters, digits, `_` and `-` only
    model.yaml:20:17: error: an archive query returns two columns, `file` and `text`
        ╭─[model.yaml:20:17]
     19 │     By User: SELECT 'u' AS file, title AS text FROM articles ORDER BY 1
     20 │     one_column: SELECT title AS file FROM articles ORDER BY 1
        ·                 ──────────────────────┬──────────────────────
        ·                                       ╰── here
     21 │     unordered: SELECT 'a' AS file, title AS text FROM articles
        ╰────
      help: SELECT <file name> AS file, <its text> AS text FROM … ORDER BY …: rows with the same file are written into it in order
    model.yaml:21:16: error: an archive query needs an ORDER BY
        ╭─[model.yaml:21:16]
     20 │     one_column: SELECT title AS file FROM articles ORDER BY 1
     21 │     unordered: SELECT 'a' AS file, title AS text FROM articles
        ·                ───────────────────────┬───────────────────────
        ·                                       ╰── here
     22 │     hex: SELECT 'a' AS file, X'zz' AS text FROM articles ORDER BY 1
        ╰────
      help: the files' bytes must not depend on the plan PostgreSQL picks: order by the file, then by what orders its lines
    model.yaml:22:30: error: X'zz' is not a hexadecimal string: X'…' holds the digits 0-9 and a-f only
        ╭─[model.yaml:22:30]
     21 │     unordered: SELECT 'a' AS file, title AS text FROM articles
     22 │     hex: SELECT 'a' AS file, X'zz' AS text FROM articles ORDER BY 1
        ·                              ──┬──
        ·                                ╰── here
     23 │ drop:
        ╰────
    error: model.yaml has 5 errors; nothing was written
    ");
}

#[test]
fn copied_by_name_into_a_narrower_column() {
    let v2 = v2_edited("  body text\n", "  body varchar(100)\n");
    insta::assert_snapshot!(warned_against(VALID.as_bytes(), V1_DDL, &v2), @r#"
    model.yaml:10:3: warning: `p.body` is copied by name into a narrower column: text → character varying(100): values longer than 100 characters fail (the cast truncates only when explicit)
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   articles:
        ·   ────┬───
        ·       ╰── here
     11 │     from: posts p
        ╰────
      help: map `body` explicitly to say how, or check precheck's findings
    "#);
}

#[test]
fn filling_a_generated_always_identity() {
    let v2 = v2_edited(
        "CREATE TABLE articles (\n  id integer PRIMARY KEY",
        "CREATE TABLE articles (\n  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    );
    insta::assert_snapshot!(warned_against(VALID.as_bytes(), V1_DDL, &v2), @r#"
    model.yaml:10:3: warning: `public.articles` has GENERATED ALWAYS identity columns that this step fills: the insert uses OVERRIDING SYSTEM VALUE
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   articles:
        ·   ────┬───
        ·       ╰── here
     11 │     from: posts p
        ╰────
    "#);
}

#[test]
fn v2_ddl_without_tables() {
    insta::assert_snapshot!(refused_against(VALID.as_bytes(), V1_DDL, "-- V2 is not written yet\n"), @r#"
    model.yaml: error: V2 has no table in schema `public`
      help: V2's tables are in: (none)
    model.yaml:5:3: error: table `public.people` does not exist in V2
       ╭─[model.yaml:5:3]
     4 │ tables:
     5 │   people:
       ·   ───┬──
       ·      ╰── here
     6 │     from: members m
       ╰────
    model.yaml:10:3: error: table `public.articles` does not exist in V2
        ╭─[model.yaml:10:3]
      9 │       name: m."Name"
     10 │   articles:
        ·   ────┬───
        ·       ╰── here
     11 │     from: posts p
        ╰────
    error: model.yaml has 3 errors; nothing was written
    "#);
}

/// The model's expressions run with the DBA's rights: a built-in that reads files, runs SQL
/// or reads whole tables (every password hash of `pg_authid`) is refused at the call.
#[test]
fn calls_a_built_in_that_reads_beyond_its_arguments() {
    let model = edited(
        "title: coalesce(p.title, 'untitled')",
        "title: coalesce(p.title, pg_catalog.pg_read_file('/etc/hostname'))\n      body: query_to_xml('SELECT * FROM pg_authid', true, false, '')::text",
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:15:43: error: a model may not call `pg_catalog.pg_read_file`: it reads or writes files or large objects on the database server
        ╭─[model.yaml:15:43]
     14 │       person_id: p.member_id
     15 │       title: coalesce(p.title, pg_catalog.pg_read_file('/etc/hostname'))
        ·                                           ──────┬─────
        ·                                                 ╰── here
     16 │       body: query_to_xml('SELECT * FROM pg_authid', true, false, '')::text
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    model.yaml:16:13: error: a model may not call `query_to_xml`: it runs SQL or reads whole tables with the rights of the role running the scripts
        ╭─[model.yaml:16:13]
     15 │       title: coalesce(p.title, pg_catalog.pg_read_file('/etc/hostname'))
     16 │       body: query_to_xml('SELECT * FROM pg_authid', true, false, '')::text
        ·             ──────┬─────
        ·                   ╰── here
     17 │ drop:
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    error: model.yaml has 2 errors; nothing was written
    ");
}

/// An operator named in another schema runs its owner's function, which the guard does not
/// look for by name; a call qualified with pg_temp could reach the scripts' own helpers.
/// (Found by the second review of 2026-12-07: `m.email OPERATOR(v1.||) ''` ran V1's owner's
/// function as the superuser.)
#[test]
fn names_an_operator_outside_pg_catalog_or_a_function_in_pg_temp() {
    let model = edited(
        "title: coalesce(p.title, 'untitled')",
        "title: p.title OPERATOR(public.||) 'x'\n      body: pg_temp.pgmig_helper(p.title)",
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:15:14: error: a model may not call `OPERATOR(public.||)`: it runs a function of that schema's operator, which the scripts cannot check by name
        ╭─[model.yaml:15:14]
     14 │       person_id: p.member_id
     15 │       title: p.title OPERATOR(public.||) 'x'
        ·              ┬
        ·              ╰── here
     16 │       body: pg_temp.pgmig_helper(p.title)
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    model.yaml:16:21: error: a model may not call `pg_temp.pgmig_helper`: it is in pg_temp, where only the scripts' own helpers live
        ╭─[model.yaml:16:21]
     15 │       title: p.title OPERATOR(public.||) 'x'
     16 │       body: pg_temp.pgmig_helper(p.title)
        ·                     ──────┬─────
        ·                           ╰── here
     17 │ drop:
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    error: model.yaml has 2 errors; nothing was written
    ");
}

/// What only a superuser sees is no value for the model's readers: a setting PostgreSQL hides
/// from other roles (primary_conninfo holds a replication password), other sessions' query
/// texts, the server's address. `current_setting` of a literal naming a setting every role
/// sees (the time zone) passes. (Found by the second review of 2026-12-07: they passed
/// compile and the guard, being stable built-ins PUBLIC may run.)
#[test]
fn calls_a_built_in_that_reads_what_only_a_superuser_sees() {
    let model = edited(
        "title: coalesce(p.title, 'untitled')",
        "title: coalesce(p.title, current_setting('primary_conninfo'))\n      body: (SELECT a.query FROM pg_stat_get_activity(NULL) AS a LIMIT 1) || inet_server_addr()::text || current_setting('TimeZone')",
    );
    insta::assert_snapshot!(refused(&model), @"
    model.yaml:15:32: error: a model may not call `current_setting`: it reads a setting that is not among those a model may read (the time zone, date and number formats, locales, encodings, server version), and a superuser reads them all (primary_conninfo holds a replication password)
        ╭─[model.yaml:15:32]
     14 │       person_id: p.member_id
     15 │       title: coalesce(p.title, current_setting('primary_conninfo'))
        ·                                ───────┬───────
        ·                                       ╰── here
     16 │       body: (SELECT a.query FROM pg_stat_get_activity(NULL) AS a LIMIT 1) || inet_server_addr()::text || current_setting('TimeZone')
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    model.yaml:16:34: error: a model may not call `pg_stat_get_activity`: it reads other sessions' queries and addresses or the server's statistics, all of them for a superuser
        ╭─[model.yaml:16:34]
     15 │       title: coalesce(p.title, current_setting('primary_conninfo'))
     16 │       body: (SELECT a.query FROM pg_stat_get_activity(NULL) AS a LIMIT 1) || inet_server_addr()::text || current_setting('TimeZone')
        ·                                  ──────────┬─────────
        ·                                            ╰── here
     17 │ drop:
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    model.yaml:16:78: error: a model may not call `inet_server_addr`: it reads the server's network addresses or file layout
        ╭─[model.yaml:16:78]
     15 │       title: coalesce(p.title, current_setting('primary_conninfo'))
     16 │       body: (SELECT a.query FROM pg_stat_get_activity(NULL) AS a LIMIT 1) || inet_server_addr()::text || current_setting('TimeZone')
        ·                                                                              ────────┬───────
        ·                                                                                      ╰── here
     17 │ drop:
        ╰────
      help: the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration
    error: model.yaml has 3 errors; nothing was written
    ");
}

// Diagnostics without a case here, and where they are tested instead:
// - `{script}:{line} would run psql's \{command}` (src/emit/guard.rs) is the last line of
//   defence behind the quoting toolkit: no model reaches it while quoting is right (its unit
//   test feeds it rendered text; tests/it/hostile.rs attacks the quoting).
// - The fallback `missing field` of src/model/shape.rs's top level (a model's missing field is
//   reported at its mapping, above) and `internal: the raw value of … does not parse`
//   (src/check/loss.rs): no model reaches them; a comment at each says what guards it.
// - Live only: `PostgreSQL rejects … of …` and `PostgreSQL did not check the statements of step
//   …` (src/dbcheck/: `--check-db` prepares the steps' statements in a scratch database):
//   tests/it/dbcheck.rs; `PostgreSQL did not check the model's SQL` (a live V2 whose database
//   lacks V1's tables, or where the id maps can't be made): no test yet; `the where of step …
//   keeps no row` (src/compile.rs, from a live V1's planner statistics): tests/it/workout.rs.
