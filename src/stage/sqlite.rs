//! The `sqlite3` command-line shell, read-only: the one way pgmig reads a SQLite file.
//!
//! Queries go through `sqlite3 -readonly -bail -json FILE SQL` and come back as JSON rows
//! (`-json` since SQLite 3.33; Debian 12 ships 3.40). The shell is used instead of a crate
//! (`rusqlite` with `bundled`) so pgmig's build needs no C compiler and the staging
//! loader (pgloader) and the catalog reader see the file through the same SQLite library
//! family the operator can also run by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

/// One JSON row of `sqlite3 -json`.
pub type Row = Map<String, Value>;

/// An opened (checked) SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteFile {
    pub path: PathBuf,
}

impl SqliteFile {
    /// Checks that `path` exists and is a SQLite database: `PRAGMA quick_check` must answer
    /// `ok` (a damaged file is refused too: its rows could not all be read).
    pub fn open(path: &Path) -> Result<SqliteFile, String> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("SQLite file not found: {}", path.display()))
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
            Ok(m) if !m.is_file() => {
                return Err(format!(
                    "{} is not a SQLite database (not a regular file)",
                    path.display()
                ))
            }
            Ok(_) => {}
        }
        let file = SqliteFile {
            path: path.to_path_buf(),
        };
        let rows = file.query("PRAGMA quick_check").map_err(|e| {
            if e.contains("not a database") || e.contains("file is encrypted") {
                format!("{} is not a SQLite database", path.display())
            } else {
                e
            }
        })?;
        let verdict: Vec<String> = rows
            .iter()
            .filter_map(|r| r.values().next()?.as_str().map(str::to_string))
            .collect();
        if verdict != ["ok"] {
            return Err(format!(
                "{}: the SQLite database is damaged (PRAGMA quick_check: {})",
                path.display(),
                verdict.join("; ")
            ));
        }
        Ok(file)
    }

    /// Runs one read-only query; its rows as JSON objects.
    pub fn query(&self, sql: &str) -> Result<Vec<Row>, String> {
        let out = Command::new("sqlite3")
            .arg("-readonly")
            .arg("-bail")
            .arg("-json")
            .arg("-cmd")
            .arg(".timeout 5000")
            .arg(&self.path)
            .arg(sql)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "the sqlite3 command is not installed (apt-get install -y sqlite3)".to_string()
                }
                _ => format!("running sqlite3: {e}"),
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stderr.contains("Error") {
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("failed")
                .trim();
            return Err(format!(
                "{}: sqlite3: {}",
                self.path.display(),
                first.trim_start_matches("Error: ")
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: sqlite3 -json output: {e}", self.path.display()))?;
        match value {
            Value::Array(rows) => Ok(rows
                .into_iter()
                .filter_map(|r| {
                    if let Value::Object(m) = r {
                        Some(m)
                    } else {
                        None
                    }
                })
                .collect()),
            _ => Err(format!(
                "{}: sqlite3 -json: not an array",
                self.path.display()
            )),
        }
    }
}

/// A SQLite string literal (SQLite has no backslash escapes: only quotes are doubled).
pub use crate::sql_text::quote_literal as literal;

/// A SQLite (and PostgreSQL) quoted identifier.
pub use crate::sql_text::quote_ident_always as ident;

pub fn text(row: &Row, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

pub fn int(row: &Row, key: &str) -> i64 {
    match row.get(key) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}
