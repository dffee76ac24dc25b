//! The bookkeeping log `_pgmig.log` (written by the generated scripts), shown as a table.

use std::io::Write;

use postgres::Client;

use super::conn::Connection;
use super::error::RunError;
use super::table::Table;
use crate::psql::vars::quote_ident;

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
        .query_one(
            "SELECT pg_catalog.to_regclass('_pgmig.log') IS NOT NULL",
            &[],
        )
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
        headers: [
            "id", "model", "script", "step", "started", "took", "in", "filtered", "rejected",
            "out", "status", "message",
        ]
        .map(String::from)
        .to_vec(),
        right: vec![
            true, false, false, false, false, true, true, true, true, true, false, false,
        ],
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

/// Ids of the log rows still `running` (a batched run resumes them: their row is updated,
/// not inserted).
pub(crate) fn running_ids(client: &mut Client) -> Result<Vec<i64>, RunError> {
    if last_id(client)?.is_none() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT id FROM _pgmig.log WHERE status = 'running' ORDER BY id",
            &[],
        )
        .map_err(|e| RunError::query("could not read _pgmig.log", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The log rows a run wrote: inserted after `after`, or among `resumed` (running before).
pub(crate) fn touched_rows(
    client: &mut Client,
    after: i64,
    resumed: &[i64],
) -> Result<Vec<LogRow>, RunError> {
    let mut rows = log_rows(client, 0)?;
    rows.retain(|r| r.id > after || resumed.contains(&r.id));
    Ok(rows)
}

fn rate(rows: Option<i64>, seconds: Option<f64>) -> Option<f64> {
    match (rows, seconds) {
        (Some(r), Some(s)) if s > 0.0 => Some(r as f64 / s),
        _ => None,
    }
}

fn fmt_rate(r: f64) -> String {
    format!("{:.0}", r)
}

/// Sums of a set of step rows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    pub rows_in: i64,
    pub rows_out: i64,
    pub rows_filtered: i64,
    pub rows_rejected: i64,
    pub seconds: f64,
}

impl Totals {
    fn of<'a>(rows: impl Iterator<Item = &'a LogRow>) -> Totals {
        let mut t = Totals::default();
        for r in rows {
            t.rows_in += r.rows_in.unwrap_or(0);
            t.rows_out += r.rows_out.unwrap_or(0);
            t.rows_filtered += r.rows_filtered.unwrap_or(0);
            t.rows_rejected += r.rows_rejected.unwrap_or(0);
            t.seconds += r.seconds.unwrap_or(0.0);
        }
        t
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_filtered": self.rows_filtered,
            "rows_rejected": self.rows_rejected,
            "seconds": self.seconds,
        })
    }
}

/// A step row: a log row whose step is not the `(all)` marker of a script.
fn is_step(r: &LogRow) -> bool {
    !r.step.starts_with('(')
}

/// The table printed after a script: per step rows in, out, filtered, rejected, duration
/// and rate, from `_pgmig.log`, then the totals. Empty when the run wrote no step row.
pub fn render_summary(rows: &[LogRow]) -> String {
    let steps: Vec<&LogRow> = rows.iter().filter(|r| is_step(r)).collect();
    if steps.is_empty() {
        return String::new();
    }
    let num = |v: Option<i64>| v.map(|n| n.to_string());
    let mut table = Table {
        headers: [
            "step", "script", "in", "out", "filtered", "rejected", "took", "rows/s", "status",
            "message",
        ]
        .map(String::from)
        .to_vec(),
        right: vec![
            false, false, true, true, true, true, true, true, false, false,
        ],
        rows: steps
            .iter()
            .map(|r| {
                vec![
                    Some(r.step.clone()),
                    Some(r.script.clone()),
                    num(r.rows_in),
                    num(r.rows_out),
                    num(r.rows_filtered),
                    num(r.rows_rejected),
                    r.seconds.map(duration),
                    rate(r.rows_out, r.seconds).map(fmt_rate),
                    Some(r.status.clone()),
                    r.message.clone(),
                ]
            })
            .collect(),
    };
    let t = Totals::of(steps.iter().copied());
    table.rows.push(vec![
        Some("total".into()),
        None,
        Some(t.rows_in.to_string()),
        Some(t.rows_out.to_string()),
        Some(t.rows_filtered.to_string()),
        Some(t.rows_rejected.to_string()),
        Some(duration(t.seconds)),
        rate(Some(t.rows_out), Some(t.seconds)).map(fmt_rate),
        None,
        None,
    ]);
    with_footer(
        table.render(),
        &format!(
            "({} step{})",
            steps.len(),
            if steps.len() == 1 { "" } else { "s" }
        ),
    )
}

/// The summary as one JSON object: `{"steps": [...], "totals": {...}}`.
pub fn summary_json(rows: &[LogRow]) -> serde_json::Value {
    let steps: Vec<&LogRow> = rows.iter().filter(|r| is_step(r)).collect();
    serde_json::json!({
        "steps": steps.iter().map(|r| log_json(r)).collect::<Vec<_>>(),
        "totals": Totals::of(steps.iter().copied()).json(),
    })
}

fn log_json(r: &LogRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "model": r.model,
        "script": r.script,
        "step": r.step,
        "started": r.started_at,
        "seconds": r.seconds,
        "rows_in": r.rows_in,
        "rows_out": r.rows_out,
        "rows_filtered": r.rows_filtered,
        "rows_rejected": r.rows_rejected,
        "rows_per_second": rate(r.rows_out, r.seconds),
        "status": r.status,
        "message": r.message,
    })
}

/// Replaces the `(N rows)` line of a rendered table.
fn with_footer(rendered: String, footer: &str) -> String {
    match rendered.rfind('\n') {
        Some(i) => format!("{}\n{footer}", &rendered[..i]),
        None => rendered,
    }
}

/// One row of `pgmig status`: a log row, its finish time, and for the latest migrate row of
/// a batched step the checkpoints: batches done (rows in `_pgmig.batches`) / total
/// (`max(batch) + 1` of the id map), rows committed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub log: LogRow,
    /// `YYYY-MM-DD HH:MM:SS`, `None` while running.
    pub finished_at: Option<String>,
    pub batches_done: Option<i64>,
    pub batches_total: Option<i64>,
    /// Rows committed by the batches so far (batched steps).
    pub batch_rows: Option<i64>,
    /// Seconds from the step's start to its last committed batch (batched steps).
    pub batch_seconds: Option<f64>,
}

impl StatusRow {
    /// Rows migrated: the log's count once done, the committed batches' rows before.
    pub fn rows(&self) -> Option<i64> {
        self.log.rows_out.or(self.batch_rows)
    }

    /// Rows per second: over the whole step once done, up to the last batch before.
    pub fn rate(&self) -> Option<f64> {
        if self.log.rows_out.is_some() {
            rate(self.log.rows_out, self.log.seconds)
        } else {
            rate(self.batch_rows, self.batch_seconds)
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut v = log_json(&self.log);
        v["finished"] = serde_json::json!(self.finished_at);
        v["batches_done"] = serde_json::json!(self.batches_done);
        v["batches_total"] = serde_json::json!(self.batches_total);
        v["rows"] = serde_json::json!(self.rows());
        v["rows_per_second"] = serde_json::json!(self.rate());
        v
    }
}

/// Every log row with its batch checkpoints.
pub fn status_rows(conn: &mut Connection) -> Result<Vec<StatusRow>, RunError> {
    let client = &mut conn.client;
    super::trust::check_bookkeeping(client, None)?;
    let logs = log_rows(client, 0)?;
    if logs.is_empty() {
        return Ok(Vec::new());
    }
    let q = |what: &str, e| RunError::query(what, e);
    let finished: std::collections::HashMap<i64, Option<String>> = client
        .query(
            "SELECT id, to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS') FROM _pgmig.log",
            &[],
        )
        .map_err(|e| q("could not read _pgmig.log", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let has_batches: bool = client
        .query_one(
            "SELECT pg_catalog.to_regclass('_pgmig.batches') IS NOT NULL",
            &[],
        )
        .map_err(|e| q("could not look for _pgmig.batches", e))?
        .get(0);
    let mut out = Vec::with_capacity(logs.len());
    for (i, log) in logs.iter().enumerate() {
        let latest = log.script == "migrate"
            && is_step(log)
            && !logs[i + 1..]
                .iter()
                .any(|l| l.model == log.model && l.script == "migrate" && l.step == log.step);
        let mut row = StatusRow {
            log: log.clone(),
            finished_at: finished.get(&log.id).cloned().flatten(),
            batches_done: None,
            batches_total: None,
            batch_rows: None,
            batch_seconds: None,
        };
        if latest && has_batches && log.status != "rolled back" {
            // The table numbering a batched step's keys has a batch column: the id map of a
            // copy step, the backup of an in-place one; a transaction-mode map has none.
            let candidates = [
                crate::check::names::derived("map_", &log.step),
                format!("backup_{}_{}", log.model, log.step),
            ];
            let mut map = String::new();
            let mut batched = false;
            let mut in_place = false;
            for (i, name) in candidates.into_iter().enumerate() {
                let qualified = format!("_pgmig.{}", quote_ident(&name));
                let has_batch: bool = client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attname = 'batch' AND NOT attisdropped)",
                        &[&qualified],
                    )
                    .map_err(|e| q("could not look for the id map", e))?
                    .get(0);
                if has_batch {
                    (map, batched, in_place) = (qualified, true, i == 1);
                    break;
                }
            }
            if batched {
                // A copy step's map numbers every key's batch before the first one runs; an
                // in-place backup gets a batch's rows as it commits: its total is the rows
                // counted at the fill's start over the first batch's size (the batch size),
                // at least the batches done.
                let total_sql = if in_place {
                    String::from(
                        "SELECT greatest(
                                  (SELECT count(*) FROM _pgmig.batches b WHERE b.model = l.model AND b.step = l.step),
                                  ceil(l.rows_in::numeric / nullif((SELECT b.rows FROM _pgmig.batches b
                                                                    WHERE b.model = l.model AND b.step = l.step AND b.batch = 0), 0)))::bigint
                           FROM _pgmig.log l WHERE l.id = $1"
                    )
                } else {
                    format!("SELECT coalesce(max(batch) + 1, 0)::bigint FROM {map} WHERE $1::bigint IS NOT NULL")
                };
                let total: i64 = client
                    .query_one(&total_sql, &[&log.id])
                    .map_err(|e| q("could not read the id map", e))?
                    .get(0);
                let r = client
                    .query_one(
                        "SELECT count(*)::bigint, sum(b.rows)::bigint,
                                extract(epoch FROM max(b.finished_at) - l.started_at)::float8
                           FROM _pgmig.batches b, _pgmig.log l
                          WHERE l.id = $1 AND b.model = l.model AND b.step = l.step
                          GROUP BY l.started_at",
                        &[&log.id],
                    )
                    .ok();
                row.batches_total = Some(total);
                row.batches_done = Some(r.as_ref().map_or(0, |r| r.get(0)));
                row.batch_rows = Some(r.as_ref().and_then(|r| r.get(1)).unwrap_or(0));
                row.batch_seconds = r.as_ref().and_then(|r| r.get(2));
            }
        }
        out.push(row);
    }
    Ok(out)
}

/// Totals of what is migrated now: migrate step rows that are done or running (not rolled
/// back).
fn status_totals(rows: &[StatusRow]) -> Totals {
    let mut t = Totals::of(rows.iter().map(|r| &r.log).filter(|l| {
        l.script == "migrate" && is_step(l) && (l.status == "done" || l.status == "running")
    }));
    // A running batched step has no rows_out yet: its committed batches count.
    t.rows_out += rows
        .iter()
        .filter(|r| {
            r.log.script == "migrate" && r.log.rows_out.is_none() && r.log.status == "running"
        })
        .filter_map(|r| r.batch_rows)
        .sum::<i64>();
    t
}

/// `pgmig status` as a table: per log row batches done/total, counts, rate, start, finish,
/// state; then the totals of what is migrated now.
pub fn render_status(rows: &[StatusRow]) -> String {
    let num = |v: Option<i64>| v.map(|n| n.to_string());
    let mut table = Table {
        headers: [
            "id", "model", "script", "step", "batches", "in", "out", "filtered", "rejected",
            "rows/s", "started", "finished", "took", "state", "message",
        ]
        .map(String::from)
        .to_vec(),
        right: vec![
            true, false, false, false, true, true, true, true, true, true, false, false, true,
            false, false,
        ],
        rows: rows
            .iter()
            .map(|r| {
                let l = &r.log;
                vec![
                    Some(l.id.to_string()),
                    Some(l.model.clone()),
                    Some(l.script.clone()),
                    Some(l.step.clone()),
                    r.batches_total
                        .map(|t| format!("{}/{t}", r.batches_done.unwrap_or(0))),
                    num(l.rows_in),
                    num(r.rows()),
                    num(l.rows_filtered),
                    num(l.rows_rejected),
                    r.rate().map(fmt_rate),
                    Some(l.started_at.clone()),
                    r.finished_at.clone(),
                    l.seconds.map(duration),
                    Some(l.status.clone()),
                    l.message.clone(),
                ]
            })
            .collect(),
    };
    let t = status_totals(rows);
    table.rows.push(vec![
        None,
        None,
        None,
        Some("total migrated".into()),
        None,
        Some(t.rows_in.to_string()),
        Some(t.rows_out.to_string()),
        Some(t.rows_filtered.to_string()),
        Some(t.rows_rejected.to_string()),
        None,
        None,
        None,
        Some(duration(t.seconds)),
        None,
        None,
    ]);
    let n = rows.len();
    with_footer(
        table.render(),
        &format!("({n} row{})", if n == 1 { "" } else { "s" }),
    )
}

/// Prints the whole log with batch checkpoints, or [`NO_RUN`] when there is none.
pub fn print_status(conn: &mut Connection, out: &mut impl Write) -> Result<(), RunError> {
    let rows = status_rows(conn)?;
    if rows.is_empty() {
        writeln!(out, "{NO_RUN}")?;
    } else {
        writeln!(out, "{}", render_status(&rows))?;
    }
    Ok(())
}

/// `pgmig status --json`: one JSON object, `{"steps": [...], "totals": {...}}` (steps empty
/// when nothing ran).
pub fn print_status_json(conn: &mut Connection, out: &mut impl Write) -> Result<(), RunError> {
    let rows = status_rows(conn)?;
    let v = serde_json::json!({
        "steps": rows.iter().map(StatusRow::json).collect::<Vec<_>>(),
        "totals": status_totals(&rows).json(),
    });
    writeln!(out, "{v}")?;
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
