//! Both catalog readers must agree: DDL applied to a real database and read back
//! through pg_catalog gives the same `Catalog` as the DDL text read by `from_ddl`.
use std::path::PathBuf;

use pgmig::catalog::{from_database, from_ddl, Catalog};

use crate::support::{cluster, repo_root};

fn realworld(name: &str) -> PathBuf {
    repo_root().join("../shared/realworld").join(name)
}

/// A readable description of the differences between two catalogs.
fn diff(ddl: &Catalog, live: &Catalog) -> String {
    let mut out = String::new();
    if ddl.schemas != live.schemas {
        out += &format!("schemas: ddl {:?} live {:?}\n", ddl.schemas, live.schemas);
    }
    macro_rules! cmp_map {
        ($field:ident) => {
            let keys: std::collections::BTreeSet<_> =
                ddl.$field.keys().chain(live.$field.keys()).collect();
            for k in keys {
                let (a, b) = (ddl.$field.get(k), live.$field.get(k));
                if a != b {
                    out += &format!(
                        "{} {k}:\n  ddl:  {a:?}\n  live: {b:?}\n",
                        stringify!($field)
                    );
                }
            }
        };
    }
    cmp_map!(enums);
    cmp_map!(domains);
    cmp_map!(sequences);
    let keys: std::collections::BTreeSet<_> = ddl.tables.keys().chain(live.tables.keys()).collect();
    for k in keys {
        match (ddl.tables.get(k), live.tables.get(k)) {
            (Some(a), Some(b)) if a != b => {
                out += &format!("table {k}:\n");
                for (x, y) in a.columns.iter().zip(&b.columns) {
                    if x != y {
                        out += &format!("  column ddl:  {x:?}\n  column live: {y:?}\n");
                    }
                }
                if a.columns.len() != b.columns.len() {
                    out += &format!(
                        "  columns: ddl {} live {}\n",
                        a.columns.len(),
                        b.columns.len()
                    );
                }
                macro_rules! f {
                    ($field:ident) => {
                        if a.$field != b.$field {
                            out += &format!(
                                "  {}:\n    ddl:  {:?}\n    live: {:?}\n",
                                stringify!($field),
                                a.$field,
                                b.$field
                            );
                        }
                    };
                }
                f!(primary_key);
                f!(uniques);
                f!(foreign_keys);
                f!(checks);
                f!(indexes);
                f!(row_level_security);
                f!(partition_by);
                f!(partition_of);
                f!(inherits);
                f!(unlogged);
                f!(storage_parameters);
            }
            (Some(_), None) => out += &format!("table {k}: only in ddl\n"),
            (None, Some(_)) => out += &format!("table {k}: only in live\n"),
            _ => {}
        }
    }
    out
}

/// Sorts what the two readers may list in different orders (constraints, indexes).
fn canonical(mut c: Catalog) -> Catalog {
    for t in c.tables.values_mut() {
        t.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        t.checks.sort_by(|a, b| a.name.cmp(&b.name));
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    }
    for d in c.domains.values_mut() {
        d.checks.sort_by(|a, b| a.name.cmp(&b.name));
    }
    c
}

struct Loaded {
    ddl: Catalog,
    live: Catalog,
    skipped: pgmig::catalog::Skipped,
    warnings: Vec<pgmig::catalog::ReadWarning>,
}

/// Applies `path` to a fresh database with psql, reads it back both ways, and asserts
/// the catalogs are equal.
fn load_both(path: &std::path::Path, schemas: &[&str]) -> Loaded {
    let db = cluster().create_db(path.file_stem().unwrap().to_str().unwrap());
    let out = db.psql_file(path, &[]);
    assert!(
        out.status.success(),
        "psql -f {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = std::fs::read_to_string(path).unwrap();
    let load = from_ddl(&sql, "public").expect("from_ddl");
    let schemas: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    let live = from_database(&mut db.client(), &schemas).expect("from_database");
    let ddl = canonical(load.catalog);
    let live = canonical(live);
    if ddl != live {
        panic!(
            "catalogs differ for {}:\n{}\nwarnings: {:#?}\nskipped: {:#?}",
            path.display(),
            diff(&ddl, &live),
            load.warnings,
            load.skipped
        );
    }
    Loaded {
        ddl,
        live,
        skipped: load.skipped,
        warnings: load.warnings,
    }
}

/// Counts `CREATE [UNLOGGED] TABLE`, `ADD CONSTRAINT`, `CREATE [UNIQUE] INDEX` at line
/// starts, independently of the reader.
fn count_lines(sql: &str, prefixes: &[&str]) -> usize {
    sql.lines()
        .filter(|l| prefixes.iter().any(|p| l.trim_start().starts_with(p)))
        .count()
}

fn constraints_and_indexes(c: &Catalog) -> (usize, usize) {
    let cons = c
        .tables
        .values()
        .map(|t| {
            t.primary_key.iter().count() + t.uniques.len() + t.foreign_keys.len() + t.checks.len()
        })
        .sum();
    let idx = c.tables.values().map(|t| t.indexes.len()).sum();
    (cons, idx)
}

fn check_realworld_counts(file: &str, loaded: &Loaded) {
    let sql = std::fs::read_to_string(realworld(file)).unwrap();
    let tables = count_lines(&sql, &["CREATE TABLE ", "CREATE UNLOGGED TABLE "]);
    assert_eq!(loaded.ddl.tables.len(), tables, "tables in {file}");
    // pg_dump puts every PK/UNIQUE/FK (and CHECK not written inline) on its own line.
    let added = sql.matches("ADD CONSTRAINT ").count();
    let inline_checks = sql
        .lines()
        .filter(|l| l.trim_start().starts_with("CONSTRAINT ") && l.contains(" CHECK "))
        .count();
    let (cons, idx) = constraints_and_indexes(&loaded.ddl);
    let exclusions = loaded
        .skipped
        .get("EXCLUDE constraint")
        .copied()
        .unwrap_or(0);
    let matview_indexes = loaded
        .skipped
        .get("CREATE INDEX (on a materialized view)")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        cons + exclusions,
        added + inline_checks,
        "constraints in {file}"
    );
    let indexes = count_lines(&sql, &["CREATE INDEX ", "CREATE UNIQUE INDEX "]);
    assert_eq!(idx + matview_indexes, indexes, "indexes in {file}");
    assert!(
        loaded.warnings.is_empty(),
        "warnings: {:#?}",
        loaded.warnings
    );
    eprintln!(
        "{file}: {} tables, {cons} constraints, {idx} indexes, {} sequences; skipped {:?}",
        loaded.ddl.tables.len(),
        loaded.ddl.sequences.len(),
        loaded.skipped
    );
}

#[test]
fn pagila_ddl_equals_live() {
    let loaded = load_both(&realworld("pagila-schema.sql"), &["public"]);
    check_realworld_counts("pagila-schema.sql", &loaded);
    assert_eq!(loaded.live.enums.len(), 1);
    assert_eq!(loaded.live.domains.len(), 2);
}

#[test]
fn danbooru_ddl_equals_live() {
    let loaded = load_both(&realworld("danbooru-structure.sql"), &["public"]);
    check_realworld_counts("danbooru-structure.sql", &loaded);
}

#[test]
fn fixture_ddl_equals_live() {
    let path = repo_root().join("tests/it/fixtures/catalog_features.sql");
    let loaded = load_both(&path, &["app", "public"]);
    let c = &loaded.ddl;
    assert_eq!(c.tables.len(), 10);
    let q = |s: &str, n: &str| pgmig::catalog::QualName::new(s, n);
    let orders = &c.tables[&q("app", "orders")];
    assert_eq!(
        orders.column("total").unwrap().generated.as_deref(),
        Some("qty * unit_price")
    );
    assert_eq!(
        orders.column("id").unwrap().identity,
        Some(pgmig::catalog::Identity::Always)
    );
    assert_eq!(
        orders
            .uniques
            .iter()
            .find(|u| u.name == "orders_ticket_key")
            .unwrap()
            .deferrable,
        pgmig::catalog::Deferrable::InitiallyDeferred
    );
    let lines = &c.tables[&q("app", "order_lines")];
    assert!(lines.row_level_security);
    assert_eq!(lines.foreign_keys[0].columns, ["region", "number"]);
    assert_eq!(
        c.tables[&q("app", "measurements_us")]
            .partition_of
            .as_ref()
            .unwrap()
            .0,
        q("app", "measurements")
    );
    assert_eq!(
        c.sequence_of(&q("public", "Straße"), "Id"),
        Some(&q("public", "Straße_Id_seq"))
    );
    assert_eq!(
        c.sequence_of(&q("app", "orders"), "ticket"),
        Some(&q("app", "ticket_seq"))
    );
    let customers = &c.tables[&q("app", "customers")];
    assert_eq!(
        customers.column("email").unwrap().data_type,
        "character varying(255)"
    );
    assert_eq!(customers.column("tags").unwrap().data_type, "text[]");
    assert_eq!(
        customers.column("born").unwrap().data_type,
        "public.\"Année\""
    );
    assert_eq!(
        customers.column("created_at").unwrap().data_type,
        "timestamp with time zone"
    );
    for kind in [
        "CREATE FUNCTION",
        "CREATE VIEW",
        "CREATE TRIGGER",
        "COMMENT ON",
        "GRANT",
        "SET",
        "ALTER TABLE … OWNER TO",
        "ALTER TABLE … SET STATISTICS",
    ] {
        assert_eq!(
            loaded.skipped.get(kind),
            Some(&1),
            "skipped {kind}: {:?}",
            loaded.skipped
        );
    }
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
}

/// What real dumps hold beyond the first fixture: each feature read alike by both readers,
/// and as PostgreSQL made it.
#[test]
fn dump_features_ddl_equals_live() {
    use pgmig::catalog::QualName;
    let path = repo_root().join("tests/it/fixtures/catalog_dump_features.sql");
    let loaded = load_both(&path, &["inh"]);
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    let c = &loaded.ddl;
    let q = |n: &str| QualName::new("inh", n);
    let table = |n: &str| &c.tables[&q(n)];
    let names =
        |t: &pgmig::catalog::Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let check_names =
        |t: &pgmig::catalog::Table| t.checks.iter().map(|c| c.name.clone()).collect::<Vec<_>>();

    // INHERITS: the parents' columns first, their NOT NULL and CHECKs (not NO INHERIT ones).
    let y2025 = table("events_2025");
    assert_eq!(names(y2025), ["id", "at", "kind", "seq", "doubled", "note"]);
    assert_eq!(y2025.inherits, [q("events")]);
    assert!(
        y2025.column("kind").unwrap().not_null,
        "the merged column keeps the parent's NOT NULL"
    );
    assert_eq!(
        y2025.column("seq").unwrap().identity,
        None,
        "identity is not inherited"
    );
    assert_eq!(
        y2025.column("doubled").unwrap().generated.as_deref(),
        Some("id * 2")
    );
    assert_eq!(
        check_names(y2025),
        ["events_kind_check", "events_kind_short"]
    );
    assert_eq!(
        check_names(table("events_2024")),
        [
            "events_2024_at_check",
            "events_kind_check",
            "events_kind_short"
        ]
    );
    let tagged = table("tagged_events");
    assert_eq!(tagged.inherits, [q("events"), q("tagged")]);
    assert_eq!(
        names(tagged),
        ["id", "at", "kind", "seq", "doubled", "tags", "extra"]
    );
    assert_eq!(
        tagged.column("kind").unwrap().default.as_deref(),
        Some("'event'"),
        "created after the parent's SET DEFAULT"
    );
    assert_eq!(
        y2025.column("kind").unwrap().default.as_deref(),
        Some("'none'")
    );
    assert_eq!(
        table("events_2024").column("kind").unwrap().default,
        None,
        "ALTER TABLE ONLY reached the parent alone"
    );

    // SERIAL whose sequence name is taken.
    assert_eq!(
        c.sequence_of(&q("widgets"), "id"),
        Some(&q("widgets_id_seq1"))
    );
    assert_eq!(
        c.sequence_of(&q("gadgets"), "code"),
        Some(&q("gadgets_code_seq1"))
    );
    assert_eq!(c.sequences[&q("widgets_id_seq")].owned_by, None);

    // INCLUDE, NOT VALID.
    let widgets = table("widgets");
    assert_eq!(widgets.uniques[0].include, ["parent"]);
    assert_eq!(widgets.indexes[0].include, ["id", "parent"]);
    assert!(widgets.foreign_keys[0].not_valid);
    assert!(
        widgets
            .checks
            .iter()
            .find(|c| c.name == "widgets_parent_check")
            .unwrap()
            .not_valid
    );

    // Indexes on a partitioned table: one per partition, named by PostgreSQL.
    let index_names = |n: &str| {
        table(n)
            .indexes
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        index_names("readings_low"),
        ["readings_low_lower_idx", "readings_low_v_note_idx"]
    );
    assert_eq!(
        index_names("readings_high"),
        [
            "readings_high_k_idx",
            "readings_high_lower_idx",
            "readings_high_v_note_idx"
        ]
    );
    assert_eq!(
        index_names("readings_mid"),
        [
            "readings_mid_k_idx",
            "readings_mid_lower_idx",
            "readings_mid_v"
        ]
    );

    // UNLOGGED and storage parameters.
    let rate_limits = table("rate_limits");
    assert!(rate_limits.unlogged);
    assert_eq!(
        rate_limits.storage_parameters,
        ["fillfactor=50", "autovacuum_enabled=false"]
    );
    assert_eq!(rate_limits.indexes[0].storage_parameters, ["fillfactor=70"]);
}

#[test]
fn workout_models_ddl_equals_live() {
    for v in ["v1.sql", "v2.sql"] {
        load_both(&repo_root().join("models/workout").join(v), &[]);
    }
}
