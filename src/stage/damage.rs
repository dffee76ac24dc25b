//! Damaged indexes in a SQLite file: rows a lookup by key cannot find.
//!
//! The corruption the ThyWill guide met (seed 001, `is_user_corrupted`): a row is in its table
//! but its entry in an index is gone. `PRAGMA quick_check` does not compare indexes with their
//! tables and answers `ok`; a lookup by the indexed key misses the row, and `count(*)` (which
//! SQLite answers from the smallest index) misses it too, while a full scan (pgloader's
//! `SELECT *`) reads it. `PRAGMA integrity_check` names each such row and its index.
//!
//! `pgmig stage` refuses such a file unless told `--full-scan`: then every row is staged (a
//! full scan, the rows counted `NOT INDEXED`) and the missed rows are listed in
//! [`DAMAGE_TABLE`] of the staged schema: table, index, rowid and the index's columns as JSON,
//! so a model's reject rule can quarantine them as V1 saw them (not findable by their key).
//! Any other damage integrity_check reports is refused: the rows could not all be read.

use super::catalog::SqliteTable;
pub use super::catalog::DAMAGE_TABLE;
use super::sqlite::{ident, literal, text, SqliteFile};

/// One row present in its table but missing from one of its indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEntry {
    pub table: String,
    pub index: String,
    pub rowid: i64,
    /// The index's columns of the row, as a JSON object.
    pub key: String,
}

/// Runs `PRAGMA integrity_check`: the rows missing from an index, or an error naming any
/// other damage.
pub fn missing_entries(
    file: &SqliteFile,
    tables: &[SqliteTable],
) -> Result<Vec<MissingEntry>, String> {
    // integrity_check stops after N findings (100 by default): enough to list every row.
    let rows = file.query("PRAGMA integrity_check(1000000)")?;
    let findings: Vec<String> = rows
        .iter()
        .map(|r| text(r, "integrity_check"))
        .filter(|l| l != "ok")
        .collect();
    let mut missing: Vec<(String, i64)> = Vec::new();
    let mut other = Vec::new();
    for line in &findings {
        if let Some((rowid, index)) = line
            .strip_prefix("row ")
            .and_then(|l| l.split_once(" missing from index "))
        {
            if let Ok(rowid) = rowid.parse::<i64>() {
                missing.push((index.to_string(), rowid));
                continue;
            }
        }
        // The count mismatch that goes with the missing rows is not damage of its own.
        if let Some(index) = line.strip_prefix("wrong # of entries in index ") {
            if findings
                .iter()
                .any(|l| l.ends_with(&format!(" missing from index {index}")))
            {
                continue;
            }
        }
        other.push(line.clone());
    }
    if !other.is_empty() {
        return Err(format!(
            "{}: the SQLite database is damaged (PRAGMA integrity_check: {})",
            file.path.display(),
            other.join("; ")
        ));
    }
    let mut entries = Vec::new();
    for (index, rowid) in missing {
        let (table, columns) = index_of(tables, &index).ok_or_else(|| {
            format!(
                "{}: PRAGMA integrity_check names index {index:?} of no table pgmig reads",
                file.path.display()
            )
        })?;
        let pairs: Vec<String> = columns
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| format!("{}, {}", literal(c), ident(c)))
            .collect();
        let key = file.query(&format!(
            "SELECT json_object({}) AS key FROM {} NOT INDEXED WHERE rowid = {rowid}",
            pairs.join(", "),
            ident(&table.name)
        ))?;
        let key = key.first().map(|r| text(r, "key")).ok_or_else(|| {
            format!(
                "{}: table {}: rowid {rowid} named by PRAGMA integrity_check is not there",
                file.path.display(),
                table.name
            )
        })?;
        entries.push(MissingEntry {
            table: table.name.clone(),
            index,
            rowid,
            key,
        });
    }
    entries.sort_by(|a, b| (&a.table, &a.index, a.rowid).cmp(&(&b.table, &b.index, b.rowid)));
    Ok(entries)
}

fn index_of<'a>(tables: &'a [SqliteTable], index: &str) -> Option<(&'a SqliteTable, &'a [String])> {
    tables.iter().find_map(|t| {
        t.indexes
            .iter()
            .find(|i| i.name == index)
            .map(|i| (t, i.columns.as_slice()))
    })
}

/// The refusal without `--full-scan`: per damaged index, what it hides and what to do.
pub fn refusal(
    file: &SqliteFile,
    entries: &[MissingEntry],
    tables: &[SqliteTable],
    schema: &str,
) -> String {
    let mut parts = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for e in entries {
        if seen.contains(&(e.table.as_str(), e.index.as_str())) {
            continue;
        }
        seen.push((&e.table, &e.index));
        let of_index: Vec<&MissingEntry> = entries
            .iter()
            .filter(|x| x.table == e.table && x.index == e.index)
            .collect();
        let rows = tables
            .iter()
            .find(|t| t.name == e.table)
            .map_or(0, |t| t.rows);
        let keys: Vec<&str> = of_index.iter().take(3).map(|x| x.key.as_str()).collect();
        parts.push(format!(
            "table {}: {} row(s) missing from index {} ({}{}): a lookup by key misses them and count(*) says {} where a full scan reads {rows}",
            e.table,
            of_index.len(),
            e.index,
            keys.join(", "),
            if of_index.len() > 3 { ", …" } else { "" },
            rows - of_index.len() as i64,
        ));
    }
    format!(
        "{}: the SQLite database has damaged indexes (PRAGMA integrity_check; quick_check does not compare indexes with tables): {}; stage with --full-scan to load every row and list the missed ones in {}.{DAMAGE_TABLE} for the model to reject, or REINDEX a copy of the file",
        file.path.display(),
        parts.join("; "),
        crate::catalog::quote_ident(schema),
    )
}
