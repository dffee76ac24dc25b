//! The transform library (sql/transforms.sql): loads as plain SQL, again and again, and
//! each function gives exactly the expected value on its edge cases.

use std::path::PathBuf;

use crate::support::{cluster, repo_root, TestDb};

fn file() -> PathBuf {
    repo_root().join("sql/transforms.sql")
}

fn load(db: &TestDb, extra: &[&str]) {
    let out = db
        .psql_cmd()
        .arg("-q")
        .args(extra)
        .arg("-f")
        .arg(file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loading transforms.sql {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn loaded(prefix: &str) -> TestDb {
    let db = cluster().create_db(prefix);
    load(&db, &[]);
    db
}

type Row<const N: usize> = [Option<String>; N];

fn row<const N: usize>(vals: [Option<&str>; N]) -> Row<N> {
    vals.map(|v| v.map(str::to_string))
}

#[test]
fn transforms_file_is_plain_idempotent_sql() {
    let text = std::fs::read_to_string(file()).unwrap();
    for bad in ["{{", "{%", "{#"] {
        assert!(
            !text.contains(bad),
            "askama syntax {bad:?} in transforms.sql"
        );
    }
    for (n, line) in text.lines().enumerate() {
        assert!(
            !line.trim_start().starts_with('\\'),
            "psql meta-command on line {}: {line}",
            n + 1
        );
        let upper = line.to_uppercase();
        assert!(
            !upper.contains("EXECUTE"),
            "dynamic SQL on line {}: {line}",
            n + 1
        );
    }

    let db = cluster().create_db("transforms_load");
    load(&db, &[]);
    load(&db, &[]);
    // Once more in one transaction, as when it is included in a migrate run.
    load(&db, &["--single-transaction"]);

    let mut c = db.client();
    let rows = c
        .query(
            "SELECT p.oid::regprocedure::text, p.provolatile::text, p.proparallel::text, l.lanname::text,
                    obj_description(p.oid, 'pg_proc') IS NOT NULL
               FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace = '_pgmig'::regnamespace
              ORDER BY 1",
            &[],
        )
        .unwrap();
    let got: Vec<(String, String, String, String, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let want: Vec<(String, String, String, String, bool)> = [
        ("_pgmig.address_parts(text)", "i", "s", "sql"),
        ("_pgmig.ascii_fold(text)", "i", "s", "sql"),
        (
            "_pgmig.email_from_template(text,text,text,text)",
            "i",
            "s",
            "sql",
        ),
        ("_pgmig.new_password_hash(integer)", "v", "s", "sql"),
        ("_pgmig.phone_e164(text,text)", "i", "s", "plpgsql"),
        ("_pgmig.split_name(text)", "i", "s", "sql"),
        ("_pgmig.with_counter(text,integer)", "i", "s", "sql"),
    ]
    .iter()
    .map(|(f, v, p, l)| {
        (
            f.to_string(),
            v.to_string(),
            p.to_string(),
            l.to_string(),
            true,
        )
    })
    .collect();
    assert_eq!(
        got, want,
        "one function each, volatility, parallel safety, language, comment"
    );
}

#[test]
fn split_name_edge_cases() {
    let db = loaded("transforms_names");
    let mut c = db.client();
    let cases: Vec<(Option<&str>, Row<3>)> = vec![
        (Some("Cher"), row([Some("Cher"), None, None])),
        (Some("Ann Lee"), row([Some("Ann"), None, Some("Lee")])),
        (
            Some("Juan Carlos de la Cruz"),
            row([Some("Juan"), Some("Carlos"), Some("de la Cruz")]),
        ),
        (
            Some("Anna van der Berg"),
            row([Some("Anna"), None, Some("van der Berg")]),
        ),
        (
            Some("Ludwig Van Beethoven"),
            row([Some("Ludwig"), None, Some("Van Beethoven")]),
        ),
        // The first word is the first name even when it looks like a particle; a particle
        // not right before the last word stays in the middle name.
        (Some("Da Vinci"), row([Some("Da"), None, Some("Vinci")])),
        (
            Some("Maria de Jesus Silva"),
            row([Some("Maria"), Some("de Jesus"), Some("Silva")]),
        ),
        (
            Some("John Ronald Reuel Tolkien"),
            row([Some("John"), Some("Ronald Reuel"), Some("Tolkien")]),
        ),
        (
            Some("  Mary   Jane\t Watson \n"),
            row([Some("Mary"), Some("Jane"), Some("Watson")]),
        ),
        (
            Some("Zoë\u{a0}O'Brien-Smith"),
            row([Some("Zoë"), None, Some("O'Brien-Smith")]),
        ),
        (Some("   "), row([None, None, None])),
        (Some(""), row([None, None, None])),
        (None, row([None, None, None])),
    ];
    for (input, want) in cases {
        let rows = c
            .query(
                "SELECT first_name, middle_name, last_name FROM _pgmig.split_name($1)",
                &[&input],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "exactly one row for {input:?}");
        let got: Row<3> = [rows[0].get(0), rows[0].get(1), rows[0].get(2)];
        assert_eq!(got, want, "split_name({input:?})");
    }
    // Usable as a scalar record too.
    let last: Option<String> = c
        .query_one(
            "SELECT (_pgmig.split_name('Ada King Lovelace')).last_name",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(last.as_deref(), Some("Lovelace"));
}

#[test]
fn phone_e164_edge_cases() {
    let db = loaded("transforms_phones");
    let mut c = db.client();
    // (raw, default country code or None for the default '1', expected)
    let cases: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
        (Some("(555) 123-4567"), None, Some("+15551234567")),
        (Some("555.123.4567"), None, Some("+15551234567")),
        (Some("555-123-4567"), Some("1"), Some("+15551234567")),
        (Some("1-555-123-4567"), None, Some("+15551234567")),
        (Some("+1 (555) 123-4567"), None, Some("+15551234567")),
        (Some("+44 20 7946 0958"), None, Some("+442079460958")),
        (Some("0044 20 7946 0958"), None, Some("+442079460958")),
        (Some("011 44 20 7946 0958"), None, Some("+442079460958")),
        (Some("020 7946 0958"), Some("44"), Some("+442079460958")),
        (Some("020 7946 0958"), Some("+44"), Some("+442079460958")),
        (Some("020 7946 0958"), Some("0044"), Some("+442079460958")),
        (
            Some("+44 (0)20 7946 0958"),
            Some("44"),
            Some("+442079460958"),
        ),
        (Some("+44 020 7946 0958"), Some("44"), Some("+442079460958")),
        (Some("+44 (0)20 7946 0958"), None, Some("+442079460958")),
        (Some("+44 020 7946 0958"), None, Some("+4402079460958")),
        (Some("030/1234567"), Some("49"), Some("+49301234567")),
        (Some("06 1234 5678"), Some("39"), Some("+390612345678")),
        // Extensions are dropped.
        (Some("555-123-4567 x12"), None, Some("+15551234567")),
        (Some("555-123-4567 ext. 12"), None, Some("+15551234567")),
        (
            Some("555-123-4567 Extension 123"),
            None,
            Some("+15551234567"),
        ),
        (Some("555 123 4567#9"), None, Some("+15551234567")),
        // 15 digits is the most E.164 allows, 8 the fewest accepted.
        (Some("+49 1234 5678901 23"), None, Some("+491234567890123")),
        (Some("+49 1234 5678901 234"), None, None),
        (Some("+49 1234 56"), None, Some("+49123456")),
        (Some("+49 1234 5"), None, None),
        // NANP numbers have exactly 10 digits after the 1, the area code not 0 or 1.
        (Some("555-1234"), None, None),
        (Some("+1 555 123 4567 0000"), None, None),
        (Some("(055) 123-4567"), None, None),
        (Some("12"), None, None),
        (Some("abc"), None, None),
        (Some("1-800-FLOWERS"), None, None),
        (Some("555-123-4567 x"), None, None),
        (Some("++44 20 7946 0958"), None, None),
        (Some("44+20 7946 0958"), None, None),
        (Some("+0 20 7946 0958"), None, None),
        (Some("*555 123 4567"), None, None),
        (Some(""), None, None),
        (Some("   "), None, None),
        (None, None, None),
        (None, Some("44"), None),
    ];
    for (raw, cc, want) in cases {
        let got: Option<String> = match cc {
            None => c
                .query_one("SELECT _pgmig.phone_e164($1)", &[raw])
                .unwrap()
                .get(0),
            Some(cc) => c
                .query_one("SELECT _pgmig.phone_e164($1, $2)", &[raw, cc])
                .unwrap()
                .get(0),
        };
        assert_eq!(got.as_deref(), *want, "phone_e164({raw:?}, {cc:?})");
    }
    for bad in ["UK", "", "0", "1234", "+"] {
        let err = db
            .try_execute(&format!(
                "SELECT _pgmig.phone_e164('555 123 4567', '{bad}')"
            ))
            .expect_err(&format!("default_country_code {bad:?} is refused"));
        assert!(
            err.contains("default_country_code must be 1 to 3 digits"),
            "{bad:?}: {err}"
        );
    }
    let err = db
        .try_execute("SELECT _pgmig.phone_e164('555 123 4567', NULL)")
        .expect_err("NULL default refused");
    assert!(
        err.contains("default_country_code must be 1 to 3 digits") && err.contains("not NULL"),
        "{err}"
    );
}

#[test]
fn address_parts_edge_cases() {
    let db = loaded("transforms_addresses");
    let mut c = db.client();
    let cases: Vec<(Option<&str>, Row<5>)> = vec![
        (
            Some("12 Main St, Springfield, IL 62704, USA"),
            row([
                Some("12 Main St"),
                Some("Springfield"),
                Some("IL"),
                Some("62704"),
                Some("USA"),
            ]),
        ),
        (
            Some("  12  Main St ,Springfield,   IL 62704-1234 "),
            row([
                Some("12 Main St"),
                Some("Springfield"),
                Some("IL"),
                Some("62704-1234"),
                None,
            ]),
        ),
        (
            Some("Apt 4, 12 Main St, Springfield, IL 62704, U.S.A."),
            row([
                Some("Apt 4, 12 Main St"),
                Some("Springfield"),
                Some("IL"),
                Some("62704"),
                Some("U.S.A."),
            ]),
        ),
        (
            Some("12 Main St, Springfield, Illinois"),
            row([
                Some("12 Main St"),
                Some("Springfield"),
                Some("Illinois"),
                None,
                None,
            ]),
        ),
        (
            Some("12 Main St, Springfield, united states"),
            row([
                Some("12 Main St"),
                Some("Springfield"),
                None,
                None,
                Some("united states"),
            ]),
        ),
        (
            Some("24 Sussex Dr, Ottawa, CANADA"),
            row([
                Some("24 Sussex Dr"),
                Some("Ottawa"),
                None,
                None,
                Some("CANADA"),
            ]),
        ),
        (
            Some("12 Main St, Springfield"),
            row([Some("12 Main St"), Some("Springfield"), None, None, None]),
        ),
        (
            Some("12 Main St"),
            row([Some("12 Main St"), None, None, None, None]),
        ),
        (
            Some("Springfield"),
            row([None, Some("Springfield"), None, None, None]),
        ),
        (
            Some("Flat 2, 10 Downing St, London SW1A 2AA, UK"),
            row([
                Some("Flat 2, 10 Downing St"),
                Some("London"),
                None,
                Some("SW1A 2AA"),
                Some("UK"),
            ]),
        ),
        (
            Some("Flat 2, 10 Downing St, London SW1A 2AA"),
            row([
                Some("Flat 2, 10 Downing St"),
                Some("London"),
                None,
                Some("SW1A 2AA"),
                None,
            ]),
        ),
        (
            Some("10 Downing St, London SW1A 2AA, UK"),
            row([
                Some("10 Downing St"),
                Some("London"),
                None,
                Some("SW1A 2AA"),
                Some("UK"),
            ]),
        ),
        (
            Some("5 Rue X, 75008 Paris, France"),
            row([
                Some("5 Rue X"),
                Some("Paris"),
                None,
                Some("75008"),
                Some("France"),
            ]),
        ),
        (
            Some("24 Sussex Dr, Ottawa, ON K1A 0B1, Canada"),
            row([
                Some("24 Sussex Dr"),
                Some("Ottawa"),
                Some("ON"),
                Some("K1A 0B1"),
                Some("Canada"),
            ]),
        ),
        (
            Some("12 Main St, Springfield, 62704"),
            row([
                Some("12 Main St"),
                Some("Springfield"),
                None,
                Some("62704"),
                None,
            ]),
        ),
        (
            Some("12 Main St,, Springfield,"),
            row([Some("12 Main St"), Some("Springfield"), None, None, None]),
        ),
        (Some(" , , "), row([None, None, None, None, None])),
        (Some(""), row([None, None, None, None, None])),
        (None, row([None, None, None, None, None])),
    ];
    for (input, want) in cases {
        let rows = c
            .query(
                "SELECT street, city, region, postal_code, country FROM _pgmig.address_parts($1)",
                &[&input],
            )
            .unwrap();
        assert_eq!(rows.len(), 1, "exactly one row for {input:?}");
        let r = &rows[0];
        let got: Row<5> = [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)];
        assert_eq!(got, want, "address_parts({input:?})");
    }
}

#[test]
fn email_from_template_edge_cases() {
    let db = loaded("transforms_emails");
    let mut c = db.client();
    let t = "{first}.{last}@school.example";
    // (template, first, last, id, expected)
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            Some(t),
            Some("Ann"),
            Some("Lee"),
            Some("7"),
            Some("ann.lee@school.example"),
        ),
        (
            Some(t),
            Some("Mary Ann"),
            Some("O'Brien"),
            Some("7"),
            Some("maryann.obrien@school.example"),
        ),
        (
            Some(t),
            Some("  Zoë "),
            Some("Ångström-Łukasz"),
            Some("7"),
            Some("zoe.angstrom-lukasz@school.example"),
        ),
        (
            Some(t),
            Some("François"),
            Some("Müller"),
            None,
            Some("francois.muller@school.example"),
        ),
        (
            Some(t),
            Some("Straße"),
            Some("Æsir"),
            None,
            Some("strasse.aesir@school.example"),
        ),
        (
            Some(t),
            Some("J.R.R."),
            Some("St. John"),
            None,
            Some("jrr.stjohn@school.example"),
        ),
        (Some(t), Some("Ann"), None, None, Some("ann@school.example")),
        (Some(t), None, Some("Lee"), None, Some("lee@school.example")),
        (Some(t), None, None, None, None),
        (
            Some("{first}.{last}.{id}@school.example"),
            Some("Ann"),
            None,
            Some("7"),
            Some("ann.7@school.example"),
        ),
        (
            Some("{first}..{last}@school.example"),
            Some("Ann"),
            Some("Lee"),
            None,
            Some("ann.lee@school.example"),
        ),
        (Some(t), Some("Иван"), Some("Петров"), Some("42"), None),
        (
            Some("{first}.{last}.{id}@School.Example"),
            Some("Иван"),
            Some("Петров"),
            Some("42"),
            Some("42@school.example"),
        ),
        (
            Some("{first}{last}+{id}@school.example"),
            Some("ANN"),
            Some("LEE"),
            Some("A-17"),
            Some("annlee+a-17@school.example"),
        ),
        (
            Some("student{id}@school.example"),
            Some("Ann"),
            Some("Lee"),
            Some("1 2/3"),
            Some("student123@school.example"),
        ),
        (Some("{first}"), Some("Ann"), Some("Lee"), Some("7"), None),
        (
            Some("{first}@localhost"),
            Some("Ann"),
            Some("Lee"),
            Some("7"),
            None,
        ),
        (
            Some("{first}@@school.example"),
            Some("Ann"),
            Some("Lee"),
            Some("7"),
            None,
        ),
        (None, Some("Ann"), Some("Lee"), Some("7"), None),
    ];
    for (tpl, first, last, id, want) in cases {
        let got: Option<String> = c
            .query_one(
                "SELECT _pgmig.email_from_template($1, $2, $3, $4)",
                &[tpl, first, last, id],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            got.as_deref(),
            *want,
            "email_from_template({tpl:?}, {first:?}, {last:?}, {id:?})"
        );
    }
    let folded: Option<String> = c
        .query_one(
            "SELECT _pgmig.ascii_fold('Ærøskøbing Þór Œuvre ĳ Șțefan Ñandú 東京')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        folded.as_deref(),
        Some("AEroskobing THor OEuvre ij Stefan Nandu 東京")
    );
    // Every letter of Latin-1 Supplement and Latin Extended-A comes out as ASCII letters.
    let all: String = c
        .query_one(
            "SELECT _pgmig.ascii_fold(string_agg(chr(cp), '' ORDER BY cp)) FROM generate_series(192, 383) cp WHERE cp NOT IN (215, 247)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        all.chars().all(|ch| ch.is_ascii_alphabetic()),
        "not folded: {:?}",
        all.chars()
            .filter(|ch| !ch.is_ascii_alphabetic())
            .collect::<String>()
    );
}

#[test]
fn with_counter_edge_cases() {
    let db = loaded("transforms_counter");
    let mut c = db.client();
    let cases: &[(Option<&str>, i32, Option<&str>)] = &[
        (Some("ana@school.org"), 2, Some("ana+2@school.org")),
        (Some("ana+2@school.org"), 3, Some("ana+2+3@school.org")),
        (
            Some("Ana.Lee@School.org"),
            10,
            Some("Ana.Lee+10@School.org"),
        ),
        (Some("ana"), 2, Some("ana-2")),
        (Some("a@b@c"), 2, Some("a@b@c-2")),
        (Some("@school.org"), 2, Some("@school.org-2")),
        (Some(""), 2, Some("-2")),
        (None, 2, None),
    ];
    for (value, n, want) in cases {
        let got: Option<String> = c
            .query_one("SELECT _pgmig.with_counter($1, $2)", &[value, n])
            .unwrap()
            .get(0);
        assert_eq!(got.as_deref(), *want, "with_counter({value:?}, {n})");
    }
}

#[test]
fn new_password_hash_is_random_bcrypt_and_never_shows_the_password() {
    let db = loaded("transforms_passwords");
    let mut c = db.client();
    let a: String = c
        .query_one("SELECT _pgmig.new_password_hash()", &[])
        .unwrap()
        .get(0);
    let b: String = c
        .query_one("SELECT _pgmig.new_password_hash()", &[])
        .unwrap()
        .get(0);
    assert_ne!(a, b, "two calls give two hashes");
    for h in [&a, &b] {
        assert_eq!(h.len(), 60, "{h}");
        assert!(h.starts_with("$2a$10$"), "bcrypt, cost 10: {h}");
        assert!(
            h[7..]
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '/'),
            "{h}"
        );
        let r = c
            .query_one(
                "SELECT crypt('wrong guess', $1) = $1, crypt('', $1) = $1, left(crypt('wrong guess', $1), 29) = left($1, 29)",
                &[h],
            )
            .unwrap();
        let (wrong, empty, same_salt): (bool, bool, bool) = (r.get(0), r.get(1), r.get(2));
        assert!(!wrong && !empty, "a guess does not verify against {h}");
        assert!(same_salt, "crypt() reads {h} as a bcrypt hash (its salt)");
    }
    // Distinct in one statement too (VOLATILE: evaluated per row).
    let n: i64 = c
        .query_one(
            "SELECT count(DISTINCT _pgmig.new_password_hash()) FROM generate_series(1, 3)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 3);

    // The password is never raised or logged: no RAISE in the file names it, and the function
    // body only returns the hash.
    let text = std::fs::read_to_string(file()).unwrap();
    for line in text.lines().filter(|l| l.to_uppercase().contains("RAISE ")) {
        assert!(
            !line.to_lowercase().contains("password"),
            "RAISE mentioning a password: {line}"
        );
    }
    let body: String =
        c.query_one("SELECT prosrc FROM pg_proc WHERE oid = '_pgmig.new_password_hash(integer)'::regprocedure", &[]).unwrap().get(0);
    assert_eq!(
        body.trim(),
        "SELECT crypt(encode(gen_random_bytes(18), 'base64'), gen_salt('bf', cost))"
    );
}

#[test]
fn new_password_hash_finds_pgcrypto_in_schema_extensions() {
    // As on Supabase: pgcrypto lives in schema `extensions`, off the default search_path.
    let db = cluster().create_db("transforms_supabase");
    db.execute("CREATE SCHEMA extensions; CREATE EXTENSION pgcrypto WITH SCHEMA extensions");
    load(&db, &[]);
    let mut c = db.client();
    let schema: String = c
        .query_one(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        schema, "extensions",
        "the existing pgcrypto is used, not moved"
    );
    let h: String = c
        .query_one("SELECT _pgmig.new_password_hash()", &[])
        .unwrap()
        .get(0);
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
}
