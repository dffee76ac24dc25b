//! `pgmig rejects`: the rows a migration quarantined, as a table or as CSV.

use std::io::{Read, Write};

use super::conn::Connection;
use super::error::RunError;
use super::table::Table;

/// The rejects, newest model filter first; `csv` writes PostgreSQL's own RFC 4180 CSV.
pub fn print_rejects(
    conn: &mut Connection,
    model: Option<&str>,
    csv: bool,
    out: &mut impl Write,
) -> Result<(), RunError> {
    super::trust::check_bookkeeping(&mut conn.client, None)?;
    let exists: bool = conn
        .client
        .query_one(
            "SELECT pg_catalog.to_regclass('_pgmig.rejects') IS NOT NULL",
            &[],
        )
        .map_err(|e| RunError::query("looking for _pgmig.rejects", e))?
        .get(0);
    if !exists {
        writeln!(out, "no pgmig rejects in this database")?;
        return Ok(());
    }
    if csv {
        // COPY can't take parameters: the model filter is bound through a session setting.
        conn.client
            .execute(
                "SELECT pg_catalog.set_config('pgmig.rejects_model', $1, false)",
                &[&model.unwrap_or("")],
            )
            .map_err(|e| RunError::query("setting the model filter", e))?;
        let mut reader = conn
            .client
            .copy_out(
                "COPY (SELECT model, step, rule, reason, source_table, source_key, source_row
                         FROM _pgmig.rejects
                        WHERE current_setting('pgmig.rejects_model') IN ('', model)
                        ORDER BY model, step, rule, source_key::text)
                 TO STDOUT WITH (FORMAT csv, HEADER)",
            )
            .map_err(|e| RunError::query("exporting the rejects", e))?;
        let mut buffer = Vec::new();
        reader.read_to_end(&mut buffer)?;
        out.write_all(&buffer)?;
        return Ok(());
    }
    let rows = conn
        .client
        .query(
            "SELECT model, step, rule::text, reason, coalesce(source_table, ''), coalesce(source_key::text, '')
               FROM _pgmig.rejects
              WHERE $1::text IS NULL OR model = $1
              ORDER BY model, step, rule, source_key::text",
            &[&model],
        )
        .map_err(|e| RunError::query("reading the rejects", e))?;
    if rows.is_empty() {
        writeln!(out, "no rejected rows")?;
        return Ok(());
    }
    let mut table = Table {
        headers: [
            "model",
            "step",
            "rule",
            "reason",
            "source table",
            "source key",
        ]
        .map(String::from)
        .to_vec(),
        right: Vec::new(),
        rows: rows
            .iter()
            .map(|r| (0..6).map(|i| Some(r.get::<_, String>(i))).collect())
            .collect(),
    };
    table.align_numbers();
    writeln!(out, "{}", table.render())?;
    Ok(())
}
