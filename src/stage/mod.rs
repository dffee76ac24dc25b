//! `pgmig stage sqlite:FILE --db URL --schema NAME`: a SQLite database loaded into a
//! PostgreSQL schema with pgloader (Debian's `pgloader` package), so a model can read V1
//! from the target database like any other source.
//!
//! 1. The file is checked with the `sqlite3` shell (exists, is a SQLite database,
//!    `PRAGMA quick_check` is ok) and its tables, types, keys and row counts (full scans) are
//!    read ([`catalog`]). `PRAGMA integrity_check` finds rows missing from an index: refused
//!    unless `--full-scan`, any other damage refused ([`damage`]). Values whose storage class the mapped PostgreSQL type would not take as
//!    they are (SQLite's loose typing) are counted; any → refused, naming the column.
//! 2. The server is reached and `NAME` must not exist yet.
//! 3. pgloader loads into a fresh temporary schema `_pgmig_stage_<pid>`: one explicit
//!    `CAST column …` per column (the types of [`catalog::PgType`]), no defaults, no foreign
//!    keys (SQLite does not enforce them; orphans are data), index names as in SQLite. The
//!    connection is given only through the environment (`PGHOST`, `PGPORT`, `PGUSER`,
//!    `PGPASSWORD`); the command file holds no credential, lives in a 0700 directory with
//!    pgloader's log and reject files, and is deleted afterwards.
//! 4. Keys pgloader leaves as unique indexes become constraints (`<t>_pkey`,
//!    `<t>_<cols>_key`), so a live read equals [`catalog::from_sqlite`]; every table's row
//!    count is compared with SQLite's; the rows missing from an index are listed in
//!    `NAME.sqlite_missing_index_entries` (made empty for a sound file, so a model may always
//!    read it); then the schema is renamed to `NAME`, in one transaction. On any failure the temporary schema is dropped: nothing is left.

pub mod catalog;
pub mod damage;
pub mod sqlite;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::catalog::quote_ident;
use catalog::{read_tables, SqliteTable};
use sqlite::{ident, SqliteFile};

pub use catalog::{from_sqlite, sqlite_path};

/// A staging failure: one line, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StageError(pub String);

impl StageError {
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// What was staged: per table, its row count (equal on both sides).
#[derive(Debug)]
pub struct Staged {
    pub schema: String,
    pub tables: Vec<(String, i64)>,
    /// Rows staged by the full scan that their SQLite index misses (listed in [`damage::DAMAGE_TABLE`]).
    pub missing: Vec<damage::MissingEntry>,
}

/// Loads the SQLite file `sqlite` into schema `schema` of the database `db` (URL or conninfo).
/// A file whose indexes miss rows is refused unless `full_scan` (see [`damage`]).
pub fn stage(sqlite: &Path, db: &str, schema: &str, full_scan: bool) -> Result<Staged, StageError> {
    let err = StageError;
    let file = SqliteFile::open(sqlite).map_err(err)?;
    let tables = read_tables(&file).map_err(err)?;
    if tables.is_empty() {
        return Err(err(format!(
            "{}: the SQLite database has no table",
            sqlite.display()
        )));
    }
    let missing = damage::missing_entries(&file, &tables).map_err(err)?;
    if !missing.is_empty() && !full_scan {
        return Err(err(damage::refusal(&file, &missing, &tables, schema)));
    }
    check_storage_classes(&file, &tables).map_err(err)?;

    let config = crate::run::parse_conninfo(db)
        .map_err(|e| err(format!("invalid connection string: {e}")))?;
    let mut client = config.connect(postgres::NoTls).map_err(|e| {
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
        err(format!(
            "cannot reach the PostgreSQL server: {}",
            one_line(&cause)
        ))
    })?;
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .map_err(|e| err(format!("PostgreSQL: {}", one_line(&e.to_string()))))?
        .get(0);
    if exists {
        return Err(err(format!(
            "schema {} already exists in the target database; drop it or choose another --schema",
            quote_ident(schema)
        )));
    }

    let temp = format!("_pgmig_stage_{}", std::process::id());
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {t} CASCADE; CREATE SCHEMA {t}",
            t = quote_ident(&temp)
        ))
        .map_err(|e| err(format!("PostgreSQL: {}", one_line(&e.to_string()))))?;
    let result = load(&file, &tables, &config, &temp)
        .and_then(|()| finish(&mut client, &tables, &missing, &temp, schema))
        .map_err(err);
    if result.is_err() {
        let _ = client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            quote_ident(&temp)
        ));
    }
    result?;
    Ok(Staged {
        schema: schema.to_string(),
        tables: tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
        missing,
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Refuses values the mapped type would not take as they are (see [`catalog`]).
fn check_storage_classes(file: &SqliteFile, tables: &[SqliteTable]) -> Result<(), String> {
    for t in tables {
        let mut parts = Vec::new();
        for c in &t.columns {
            let ok: Vec<String> = c.pg.accepts().iter().map(|s| format!("'{s}'")).collect();
            parts.push(format!(
                "SELECT {} AS col, typeof({}) AS class, count(*) AS n FROM {} WHERE typeof({}) NOT IN ('null', {}) GROUP BY 2",
                sqlite::literal(&c.name),
                ident(&c.name),
                ident(&t.name),
                ident(&c.name),
                ok.join(", ")
            ));
        }
        if parts.is_empty() {
            continue;
        }
        let bad = file.query(&format!("{} ORDER BY 1, 2", parts.join(" UNION ALL ")))?;
        if let Some(r) = bad.first() {
            let col = sqlite::text(r, "col");
            let c = t
                .columns
                .iter()
                .find(|c| c.name == col)
                .expect("column of the query");
            return Err(format!(
                "{}.{} (declared {:?}, staged as {}) holds {} value(s) of SQLite type {}: not staged (convert them in SQLite first)",
                t.name,
                col,
                c.declared,
                c.pg.sql(),
                sqlite::int(r, "n"),
                sqlite::text(r, "class"),
            ));
        }
    }
    Ok(())
}

/// A pgloader identifier in a CAST rule: quoted as pgloader's grammar wants.
fn pgl_name(name: &str) -> Result<String, String> {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty() {
        Ok(name.to_string())
    } else if !name.contains('"') {
        Ok(format!("\"{name}\""))
    } else {
        Err(format!("cannot stage the name {name:?} with pgloader"))
    }
}

/// The pgloader command: no connection detail but the database name, no credential.
fn command(
    file: &SqliteFile,
    tables: &[SqliteTable],
    dbname: &str,
    temp: &str,
) -> Result<String, String> {
    let path =
        std::fs::canonicalize(&file.path).map_err(|e| format!("{}: {e}", file.path.display()))?;
    let path = path.to_str().ok_or("the SQLite path is not UTF-8")?;
    if path.contains('\'') {
        return Err(format!(
            "{path}: a path with a quote cannot be given to pgloader"
        ));
    }
    if dbname.is_empty()
        || !dbname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "database name {dbname:?} cannot be given to pgloader (letters, digits, _ and - only)"
        ));
    }
    let mut casts = Vec::new();
    for t in tables {
        for c in &t.columns {
            // pgloader 3.6.9 reads SQLite's NOT NULL as nullable: say it per column.
            let null = if c.not_null {
                "set not null"
            } else {
                "drop not null"
            };
            let mut rule = format!(
                "column {}.{} to \"{}\" drop typemod drop default {null}",
                pgl_name(&t.name)?,
                pgl_name(&c.name)?,
                c.pg.sql()
            );
            if let Some(f) = c.pg.pgloader_using() {
                let _ = write!(rule, " using {f}");
            }
            casts.push(rule);
        }
    }
    Ok(format!(
        "LOAD DATABASE\n  FROM '{path}'\n  INTO postgresql:///{dbname}\n\
         WITH create tables, create indexes, no foreign keys, reset no sequences,\n       \
         quote identifiers, preserve index names, on error stop\n\
         SET search_path TO '{temp}'\n\
         CAST {};\n",
        casts.join(",\n       ")
    ))
}

/// Runs pgloader into `temp`.
fn load(
    file: &SqliteFile,
    tables: &[SqliteTable],
    config: &postgres::Config,
    temp: &str,
) -> Result<(), String> {
    let dbname = config
        .get_dbname()
        .map(str::to_string)
        .or_else(|| config.get_user().map(str::to_string))
        .unwrap_or_default();
    let text = command(file, tables, &dbname, temp)?;
    let dir = WorkDir::new()?;
    let cmd_file = dir.0.join("stage.load");
    write_private(&cmd_file, &text)?;

    let mut pgl = Command::new("pgloader");
    pgl.arg("--root-dir")
        .arg(&dir.0)
        .arg("--logfile")
        .arg(dir.0.join("pgloader.log"))
        .arg(&cmd_file);
    for k in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSSLMODE",
    ] {
        pgl.env_remove(k);
    }
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => {
            pgl.env("PGHOST", h);
        }
        Some(postgres::config::Host::Unix(p)) => {
            pgl.env("PGHOST", p);
        }
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        pgl.env("PGPORT", port.to_string());
    }
    let user = config
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    pgl.env("PGUSER", &user);
    if let Some(pw) = config.get_password() {
        pgl.env("PGPASSWORD", String::from_utf8_lossy(pw).as_ref());
    }
    let out = pgl
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "the pgloader command is not installed (apt-get install -y pgloader)".to_string()
            }
            _ => format!("running pgloader: {e}"),
        })?;
    // pgloader may exit 0 after an ERROR line: both are failures here.
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let error = all.lines().find(|l| {
        l.contains(" ERROR ")
            || l.contains(" FATAL ")
            || l.starts_with("FATAL")
            || l.starts_with("ERROR")
    });
    if !out.status.success() || error.is_some() {
        let line = error
            .map(|l| {
                l.split_once(" ERROR ")
                    .or_else(|| l.split_once(" FATAL "))
                    .map_or(l, |(_, m)| m)
            })
            .unwrap_or("failed");
        return Err(format!("pgloader failed: {}", one_line(line)));
    }
    Ok(())
}

/// Constraints from unique indexes, counts compared, the rows missing from an index listed,
/// schema renamed: one transaction.
fn finish(
    client: &mut postgres::Client,
    tables: &[SqliteTable],
    missing: &[damage::MissingEntry],
    temp: &str,
    schema: &str,
) -> Result<(), String> {
    let pg = |e: postgres::Error| {
        let msg = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string());
        format!("PostgreSQL: {}", one_line(&msg))
    };
    let mut tx = client.transaction().map_err(pg)?;
    let ts = quote_ident(temp);
    for t in tables {
        let qt = format!("{ts}.{}", quote_ident(&t.name));
        let exists: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2)", &[&temp, &t.name])
            .map_err(pg)?
            .get(0);
        if !exists {
            return Err(format!("table {} was not staged by pgloader", t.name));
        }
        let n: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {qt}"), &[])
            .map_err(pg)?
            .get(0);
        if n != t.rows {
            return Err(format!(
                "table {}: {} rows in SQLite, {n} staged in PostgreSQL",
                t.name, t.rows
            ));
        }
        let has_pk: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::text::regclass AND contype = 'p')", &[&qt])
            .map_err(pg)?
            .get(0);
        for ix in &t.indexes {
            let constraint = match ix.origin.as_str() {
                "pk" if !has_pk => format!("{} PRIMARY KEY", quote_ident(&t.pkey_name())),
                "u" if !ix.partial => {
                    format!("{} UNIQUE", quote_ident(&t.unique_name(&ix.columns)))
                }
                _ => continue,
            };
            tx.batch_execute(&format!(
                "ALTER TABLE {qt} ADD CONSTRAINT {constraint} USING INDEX {}",
                quote_ident(&ix.name)
            ))
            .map_err(|e| format!("table {}: key {}: {}", t.name, ix.columns.join(", "), pg(e)))?;
        }
    }
    tx.batch_execute(&catalog::damage_table_ddl(temp))
        .map_err(pg)?;
    let insert = format!(
        "INSERT INTO {ts}.{} VALUES ($1, $2, $3, $4::text::jsonb)",
        quote_ident(damage::DAMAGE_TABLE)
    );
    for m in missing {
        tx.execute(&insert, &[&m.table, &m.index, &m.rowid, &m.key])
            .map_err(pg)?;
    }
    tx.batch_execute(&format!(
        "ALTER SCHEMA {ts} RENAME TO {}",
        quote_ident(schema)
    ))
    .map_err(pg)?;
    tx.commit().map_err(pg)
}

/// A private (0700) directory under the temp dir, removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Result<WorkDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("pgmig-stage-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Re-exported for callers that hold a `sqlite:` argument.
pub fn parse_source(arg: &str) -> Result<PathBuf, StageError> {
    sqlite_path(arg).ok_or_else(|| StageError(format!("{arg}: the source must be sqlite:FILE")))
}
