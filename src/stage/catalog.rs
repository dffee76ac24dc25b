//! The V1 catalog read from a SQLite file, in the PostgreSQL types `pgmig stage` loads it as.
//!
//! Read with the `sqlite3` shell (see [`super::sqlite`]) through SQLite's own pragmas
//! (`pragma_table_info`, `pragma_index_list`, `pragma_index_info`, `pragma_foreign_key_list`),
//! never by parsing `CREATE TABLE` text. The result is what a live read (`--v1 URL`) of the
//! staged schema gives, so `--v1 sqlite:FILE` and `--v1 URL` compile to the same scripts:
//! same tables, columns, types, NOT NULL, primary keys and UNIQUE constraints. Two
//! differences, both about things compile does not read from V1: foreign keys are listed here
//! (declared in SQLite) but not created by staging (SQLite does not enforce them, and the
//! orphans they would reject are data the migration must see), and defaults are dropped.
//!
//! ## Types (one table, used by both the loader and this reader)
//!
//! SQLite stores a value per row in one of five storage classes whatever the column says;
//! the declared type only gives the column an *affinity*. pgmig maps the declared type by
//! SQLite's own affinity rules (<https://sqlite.org/datatype3.html#determination_of_column_affinity>),
//! with dates and booleans recognized first, to a PostgreSQL type that holds every value the
//! affinity lets through:
//!
//! | declared type contains            | PostgreSQL type               | storage classes accepted |
//! | --------------------------------- | ----------------------------- | ------------------------ |
//! | `DATETIME`, `TIMESTAMP`           | `timestamp without time zone` | text                     |
//! | exactly `DATE`                    | `date`                        | text                     |
//! | `BOOL`                            | `boolean`                     | integer (0/1), text      |
//! | `INT`                             | `bigint` (SQLite ints are 64-bit) | integer              |
//! | `CHAR`, `CLOB`, `TEXT`            | `text` (lengths are not enforced by SQLite) | text, integer |
//! | `BLOB`                            | `bytea`                       | blob                     |
//! | `REAL`, `FLOA`, `DOUB`            | `double precision`            | real, integer            |
//! | `NUMERIC`, `DECIMAL`              | `numeric`                     | integer, real            |
//! | nothing, or anything else         | `text`                        | text, integer            |
//!
//! NULL goes everywhere. SQLite stores no time zone: timestamps stay naive (`'2024-01-02
//! 03:04:05.123456'` as written). A value of another storage class (a unix-time integer in a
//! DATETIME column, text in an INTEGER column, a blob in a TEXT column) is not converted by
//! guesswork: `pgmig stage` counts them first and refuses to stage, naming the column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::sqlite::{int, literal, text, SqliteFile};
use crate::catalog::{
    Catalog, Column, Deferrable, FkAction, ForeignKey, Index, Key, QualName, Table,
};

/// The table of the staged schema that lists the rows missing from an index. A V1 table
/// cannot have this name: SQLite reserves names starting with `sqlite_`.
pub const DAMAGE_TABLE: &str = "sqlite_missing_index_entries";

/// The PostgreSQL type a SQLite column is staged as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgType {
    Timestamp,
    Date,
    Boolean,
    Bigint,
    Text,
    Bytea,
    Double,
    Numeric,
}

impl PgType {
    /// By SQLite's affinity rules on the declared type (dates and booleans first).
    pub fn of_declared(declared: &str) -> PgType {
        let t = declared.to_ascii_uppercase();
        let t = t.trim();
        if t.contains("DATETIME") || t.contains("TIMESTAMP") {
            PgType::Timestamp
        } else if t == "DATE" {
            PgType::Date
        } else if t.contains("BOOL") {
            PgType::Boolean
        } else if t.contains("INT") {
            PgType::Bigint
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            PgType::Text
        } else if t.contains("BLOB") {
            PgType::Bytea
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            PgType::Double
        } else if t.contains("NUMERIC") || t.contains("DECIMAL") {
            PgType::Numeric
        } else {
            PgType::Text
        }
    }

    /// As `format_type()` prints it.
    pub fn sql(self) -> &'static str {
        match self {
            PgType::Timestamp => "timestamp without time zone",
            PgType::Date => "date",
            PgType::Boolean => "boolean",
            PgType::Bigint => "bigint",
            PgType::Text => "text",
            PgType::Bytea => "bytea",
            PgType::Double => "double precision",
            PgType::Numeric => "numeric",
        }
    }

    /// SQLite storage classes (`typeof()`) this type takes as they are, besides `null`.
    pub fn accepts(self) -> &'static [&'static str] {
        match self {
            PgType::Timestamp | PgType::Date => &["text"],
            PgType::Boolean => &["integer", "text"],
            PgType::Bigint => &["integer"],
            PgType::Text => &["text", "integer"],
            PgType::Bytea => &["blob"],
            PgType::Double => &["real", "integer"],
            PgType::Numeric => &["integer", "real"],
        }
    }

    /// pgloader's transform for the value SQLite hands over (its default prints with `~a`).
    pub fn pgloader_using(self) -> Option<&'static str> {
        match self {
            PgType::Bytea => Some("byte-vector-to-bytea"),
            PgType::Double | PgType::Numeric => Some("float-to-string"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqliteColumn {
    pub name: String,
    pub declared: String,
    pub pg: PgType,
    pub not_null: bool,
}

#[derive(Debug, Clone)]
pub struct SqliteIndex {
    pub name: String,
    pub unique: bool,
    /// `pk` (PRIMARY KEY), `u` (UNIQUE constraint), `c` (CREATE INDEX).
    pub origin: String,
    pub partial: bool,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SqliteTable {
    pub name: String,
    pub columns: Vec<SqliteColumn>,
    /// Primary key columns in key order (from `pragma_table_info.pk`).
    pub primary_key: Vec<String>,
    pub indexes: Vec<SqliteIndex>,
    pub foreign_keys: Vec<ForeignKey>,
    /// `WITHOUT ROWID` tables, views and virtual tables are not in this list.
    pub rows: i64,
}

impl SqliteTable {
    pub fn pkey_name(&self) -> String {
        format!("{}_pkey", self.name)
    }

    pub fn unique_name(&self, columns: &[String]) -> String {
        format!("{}_{}_key", self.name, columns.join("_"))
    }
}

/// The tables of a SQLite file, by name (`sqlite_*` internal tables left out).
pub fn read_tables(db: &SqliteFile) -> Result<Vec<SqliteTable>, String> {
    let names: Vec<String> = db
        .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")?
        .iter()
        .map(|r| text(r, "name"))
        .collect();
    let mut tables = Vec::new();
    for name in names {
        let lit = literal(&name);
        let cols = db.query(&format!(
            "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info({lit}) ORDER BY cid"
        ))?;
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut columns = Vec::new();
        for c in &cols {
            let declared = text(c, "type");
            let col = text(c, "name");
            if int(c, "pk") > 0 {
                pk.push((int(c, "pk"), col.clone()));
            }
            columns.push(SqliteColumn {
                pg: PgType::of_declared(&declared),
                name: col,
                declared,
                not_null: int(c, "nn") != 0,
            });
        }
        pk.sort();
        let primary_key: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
        for c in columns.iter_mut() {
            if primary_key.contains(&c.name) {
                c.not_null = true; // a PostgreSQL primary key implies NOT NULL
            }
        }
        let mut indexes = Vec::new();
        for ix in db.query(&format!("SELECT name, \"unique\" AS u, origin, partial FROM pragma_index_list({lit}) ORDER BY name"))? {
            let ix_name = text(&ix, "name");
            let cols: Vec<String> = db
                .query(&format!("SELECT name FROM pragma_index_info({}) ORDER BY seqno", literal(&ix_name)))?
                .iter()
                .map(|r| text(r, "name"))
                .collect();
            indexes.push(SqliteIndex { name: ix_name, unique: int(&ix, "u") != 0, origin: text(&ix, "origin"), partial: int(&ix, "partial") != 0, columns: cols });
        }
        let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for f in db.query(&format!("SELECT id, seq, \"table\" AS t, \"from\" AS f, \"to\" AS r, on_update, on_delete FROM pragma_foreign_key_list({lit}) ORDER BY id, seq"))? {
            let fk = fks.entry(int(&f, "id")).or_insert_with(|| ForeignKey {
                name: String::new(),
                columns: Vec::new(),
                references: QualName::new("", text(&f, "t")),
                referenced_columns: Vec::new(),
                on_delete: action(&text(&f, "on_delete")),
                on_update: action(&text(&f, "on_update")),
                deferrable: Deferrable::No,
                not_valid: false,
            });
            fk.columns.push(text(&f, "f"));
            fk.referenced_columns.push(text(&f, "r"));
        }
        let foreign_keys = fks
            .into_values()
            .map(|mut fk| {
                fk.name = format!("{name}_{}_fkey", fk.columns.join("_"));
                fk
            })
            .collect();
        // A full scan, as pgloader reads the table: count(*) alone reads an index, which may
        // miss rows (see super::damage).
        let rows = db
            .query(&format!(
                "SELECT count(*) AS n FROM {} NOT INDEXED",
                super::sqlite::ident(&name)
            ))?
            .first()
            .map_or(0, |r| int(r, "n"));
        tables.push(SqliteTable {
            name,
            columns,
            primary_key,
            indexes,
            foreign_keys,
            rows,
        });
    }
    Ok(tables)
}

fn action(s: &str) -> FkAction {
    match s.to_ascii_uppercase().as_str() {
        "RESTRICT" => FkAction::Restrict,
        "CASCADE" => FkAction::Cascade,
        "SET NULL" => FkAction::SetNull,
        "SET DEFAULT" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// The catalog of the tables as `pgmig stage` loads them into `schema`, with the list of rows
/// missing from an index ([`DAMAGE_TABLE`], empty for a sound file) that staging always makes.
pub fn to_catalog(tables: &[SqliteTable], schema: &str) -> Catalog {
    let mut catalog = Catalog {
        schemas: vec![schema.to_string()],
        ..Catalog::default()
    };
    for t in tables {
        let name = QualName::new(schema, &t.name);
        let columns = t
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                data_type: c.pg.sql().into(),
                not_null: c.not_null,
                default: None,
                identity: None,
                generated: None,
            })
            .collect();
        let primary_key = (!t.primary_key.is_empty()).then(|| Key {
            name: t.pkey_name(),
            columns: t.primary_key.clone(),
            include: Vec::new(),
            deferrable: Deferrable::No,
        });
        let uniques = t
            .indexes
            .iter()
            .filter(|i| i.origin == "u" && !i.partial)
            .map(|i| Key {
                name: t.unique_name(&i.columns),
                columns: i.columns.clone(),
                include: Vec::new(),
                deferrable: Deferrable::No,
            })
            .collect();
        let indexes = t
            .indexes
            .iter()
            .filter(|i| i.origin == "c" && !i.partial && !i.columns.iter().any(String::is_empty))
            .map(|i| Index {
                name: i.name.clone(),
                unique: i.unique,
                method: "btree".into(),
                keys: i.columns.clone(),
                include: Vec::new(),
                predicate: None,
                storage_parameters: Vec::new(),
            })
            .collect();
        let foreign_keys = t
            .foreign_keys
            .iter()
            .map(|fk| ForeignKey {
                references: QualName::new(schema, &fk.references.name),
                ..fk.clone()
            })
            .collect();
        catalog.tables.insert(
            name.clone(),
            Table {
                name,
                columns,
                primary_key,
                uniques,
                foreign_keys,
                checks: Vec::new(),
                indexes,
                row_level_security: false,
                partition_by: None,
                partition_of: None,
                inherits: Vec::new(),
                unlogged: false,
                storage_parameters: Vec::new(),
            },
        );
    }
    let damage = QualName::new(schema, DAMAGE_TABLE);
    let column = |name: &str, data_type: &str| Column {
        name: name.into(),
        data_type: data_type.into(),
        not_null: true,
        default: None,
        identity: None,
        generated: None,
    };
    catalog.tables.insert(
        damage.clone(),
        Table {
            name: damage,
            columns: vec![
                column("table_name", "text"),
                column("index_name", "text"),
                column("sqlite_rowid", "bigint"),
                column("key", "jsonb"),
            ],
            primary_key: Some(Key {
                name: format!("{DAMAGE_TABLE}_pkey"),
                columns: vec!["index_name".into(), "sqlite_rowid".into()],
                include: Vec::new(),
                deferrable: Deferrable::No,
            }),
            uniques: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            indexes: Vec::new(),
            row_level_security: false,
            partition_by: None,
            partition_of: None,
            inherits: Vec::new(),
            unlogged: false,
            storage_parameters: Vec::new(),
        },
    );
    catalog.canonicalize();
    catalog
}

/// The DDL of [`DAMAGE_TABLE`] in `schema` (quoted), as [`to_catalog`] describes it.
pub fn damage_table_ddl(schema: &str) -> String {
    format!(
        "CREATE TABLE {s}.{t} (table_name text NOT NULL, index_name text NOT NULL, sqlite_rowid bigint NOT NULL, key jsonb NOT NULL, CONSTRAINT {k} PRIMARY KEY (index_name, sqlite_rowid))",
        s = crate::catalog::quote_ident(schema),
        t = crate::catalog::quote_ident(DAMAGE_TABLE),
        k = crate::catalog::quote_ident(&format!("{DAMAGE_TABLE}_pkey")),
    )
}

/// The catalog of a SQLite file as staged into `schema` (see the module's type table).
pub fn from_sqlite(path: &Path, schema: &str) -> Result<Catalog, String> {
    let db = SqliteFile::open(path)?;
    Ok(to_catalog(&read_tables(&db)?, schema))
}

/// `sqlite:FILE` → FILE.
pub fn sqlite_path(arg: &str) -> Option<PathBuf> {
    arg.strip_prefix("sqlite:")
        .map(|p| PathBuf::from(p.strip_prefix("//").unwrap_or(p)))
}
