//! The bookkeeping log `_pgmig.log` (written by the generated scripts), shown as a table.

use std::io::Write;

use postgres::Client;

use super::conn::Connection;
use super::error::RunError;
use super::table::Table;

/// One row of `_pgmig.log`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub id: i64,
    pub model: String,
    pub script: String,
    pub step: String,
    /// `YYYY-MM-DD HH:MM:SS` in the session's time zone.
    pub started_at: String,
    /// Seconds from start to finish; `None` while running (or never finished).
    pub seconds: Option<f64>,
    pub rows_in: Option<i64>,
    pub rows_filtered: Option<i64>,
    pub rows_rejected: Option<i64>,
    pub rows_out: Option<i64>,
    pub status: String,
    pub message: Option<String>,
}

/// The message `status` prints when there is nothing to show.
pub const NO_RUN: &str = "no pgmig run recorded in this database";

/// The highest log id, or `None` when `_pgmig.log` does not exist.
pub(crate) fn last_id(client: &mut Client) -> Result<Option<i64>, RunError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('_pgmig.log') IS NOT NULL", &[])
        .map_err(|e| RunError::query("could not look for _pgmig.log", e))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let max: i64 = client
        .query_one("SELECT coalesce(max(id), 0)::bigint FROM _pgmig.log", &[])
        .map_err(|e| RunError::query("could not read _pgmig.log", e))?
        .get(0);
    Ok(Some(max))
}

/// Log rows with an id above `after`, oldest first (empty when the table does not exist).
pub fn log_rows(client: &mut Client, after: i64) -> Result<Vec<LogRow>, RunError> {
    if last_id(client)?.is_none() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT id, model, script, step,
                    to_char(started_at, 'YYYY-MM-DD HH24:MI:SS'),
                    extract(epoch FROM finished_at - started_at)::float8,
                    rows_in, rows_filtered, rows_rejected, rows_out, status, message
               FROM _pgmig.log
              WHERE id > $1
              ORDER BY id",
            &[&after],
        )
        .map_err(|e| RunError::query("could not read _pgmig.log", e))?;
    Ok(rows
        .iter()
        .map(|r| LogRow {
            id: r.get(0),
            model: r.get(1),
            script: r.get(2),
            step: r.get(3),
            started_at: r.get(4),
            seconds: r.get(5),
            rows_in: r.get(6),
            rows_filtered: r.get(7),
            rows_rejected: r.get(8),
            rows_out: r.get(9),
            status: r.get(10),
            message: r.get(11),
        })
        .collect())
}

fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.3}s")
    } else {
        let s = seconds.round() as u64;
        if s < 3600 {
            format!("{}m{:02}s", s / 60, s % 60)
        } else {
            format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
        }
    }
}

/// Renders log rows as an aligned table ending with `(N rows)`.
pub fn render_log(rows: &[LogRow]) -> String {
    let num = |v: Option<i64>| v.map(|n| n.to_string());
    let table = Table {
        headers: ["id", "model", "script", "step", "started", "took", "in", "filtered", "rejected", "out", "status", "message"]
            .map(String::from)
            .to_vec(),
        right: vec![true, false, false, false, false, true, true, true, true, true, false, false],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Some(r.id.to_string()),
                    Some(r.model.clone()),
                    Some(r.script.clone()),
                    Some(r.step.clone()),
                    Some(r.started_at.clone()),
                    r.seconds.map(duration),
                    num(r.rows_in),
                    num(r.rows_filtered),
                    num(r.rows_rejected),
                    num(r.rows_out),
                    Some(r.status.clone()),
                    r.message.clone(),
                ]
            })
            .collect(),
    };
    table.render()
}

/// Prints the whole log, or [`NO_RUN`] when there is none.
pub fn print_status(conn: &mut Connection, out: &mut impl Write) -> Result<(), RunError> {
    let rows = log_rows(&mut conn.client, 0)?;
    if rows.is_empty() {
        writeln!(out, "{NO_RUN}")?;
    } else {
        writeln!(out, "{}", render_log(&rows))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0.0123), "0.012s");
        assert_eq!(duration(75.4), "1m15s");
        assert_eq!(duration(3725.0), "1h02m05s");
    }

    #[test]
    fn log_table() {
        let row = LogRow {
            id: 3,
            model: "workout".into(),
            script: "migrate".into(),
            step: "workout_weeks".into(),
            started_at: "2024-01-02 03:04:05".into(),
            seconds: Some(1.5),
            rows_in: Some(120),
            rows_filtered: Some(0),
            rows_rejected: None,
            rows_out: Some(480),
            status: "done".into(),
            message: None,
        };
        let s = render_log(&[row]);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with(" id |  model  | script  |     step      |       started       |  took  | in  | filtered | rejected | out | status | message"), "{s}");
        assert_eq!(lines[2], "  3 | workout | migrate | workout_weeks | 2024-01-02 03:04:05 | 1.500s | 120 |        0 |          | 480 | done   |");
        assert_eq!(lines[3], "(1 row)");
    }
}
