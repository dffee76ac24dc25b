//! `run_script`: lock, interpret, send each statement with the simple protocol, roll back
//! and explain on error, show the log rows the run wrote, unlock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use postgres::error::{ErrorPosition, SqlState};
use postgres::{Client, SimpleQueryMessage};

use super::conn::Connection;
use super::error::{describe_pg_error, RunError};
use super::lock;
use super::progress;
use super::script::{self, Outcome, Sink};
use super::status;
use super::table::Table;
use super::ui::Ui;
use super::workers::Workers;
use crate::emit::fingerprint::sha256_hex;
use crate::psql::scanner::Statement;

/// What a successful run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Statements sent to the server.
    pub statements: usize,
    /// True when `\q` ended the script early.
    pub quit: bool,
    /// The `_pgmig.log` rows this run wrote (and that survived: a rolled back transaction
    /// takes its rows with it).
    pub log: Vec<status::LogRow>,
}

/// Where the session stands after an error or at the end of a script.
#[derive(Debug, PartialEq, Eq)]
enum TxState {
    Idle,
    Open,
    Failed,
    Unknown,
}

/// `now()` is the transaction's start, `statement_timestamp()` this statement's: they are
/// equal exactly when this probe is the first statement of its transaction, i.e. when no
/// transaction block is open. In a failed block the probe itself fails with 25P02.
fn tx_state(client: &mut Client) -> TxState {
    match client.simple_query(
        "SELECT pg_catalog.now() OPERATOR(pg_catalog.<>) pg_catalog.statement_timestamp()",
    ) {
        Ok(msgs) => {
            let open = msgs
                .iter()
                .any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("t")));
            if open {
                TxState::Open
            } else {
                TxState::Idle
            }
        }
        Err(e) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => TxState::Failed,
        Err(_) => TxState::Unknown,
    }
}

/// Rolls back an open or failed transaction; true when there was one to roll back.
fn rollback_if_open(client: &mut Client) -> bool {
    match tx_state(client) {
        TxState::Open | TxState::Failed => client.batch_execute("ROLLBACK").is_ok(),
        TxState::Idle | TxState::Unknown => false,
    }
}

struct DbSink<'a> {
    client: &'a mut Client,
    ui: &'a Ui,
    script: &'a str,
    sent: usize,
    /// The helper sessions that copy a batched step's batches beside `client` (`--jobs`).
    workers: &'a Workers,
}

impl DbSink<'_> {
    fn print_results(&self, msgs: &[SimpleQueryMessage]) {
        let mut table: Option<Table> = None;
        for m in msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    table = Some(Table {
                        headers: cols.iter().map(|c| c.name().to_string()).collect(),
                        ..Table::default()
                    });
                }
                SimpleQueryMessage::Row(r) => {
                    if let Some(t) = table.as_mut() {
                        t.rows
                            .push((0..r.len()).map(|i| r.get(i).map(String::from)).collect());
                    }
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    if let Some(mut t) = table.take() {
                        t.align_numbers();
                        self.ui.out(&t.render(), true);
                        self.ui.out("", true);
                    }
                }
                _ => {}
            }
        }
    }

    fn failure(&mut self, st: &Statement, e: postgres::Error) -> RunError {
        let (message, details, line) = match e.as_db_error() {
            Some(db) => {
                let mut details = Vec::new();
                if let Some(d) = db.detail() {
                    details.push(format!("DETAIL:  {d}"));
                }
                // A lock timeout's hint is the step's generic one ("run precheck.sql"): the
                // runner explains the timeout itself below.
                if let Some(h) = db
                    .hint()
                    .filter(|_| *db.code() != SqlState::LOCK_NOT_AVAILABLE)
                {
                    details.push(format!("HINT:  {h}"));
                }
                if let Some(w) = db.where_() {
                    details.push(format!("CONTEXT:  {w}"));
                }
                let line = match db.position() {
                    Some(ErrorPosition::Original(p)) => st.line_of_position(*p as usize),
                    _ => st.line,
                };
                (
                    format!("{}:  {}", db.severity(), db.message()),
                    details,
                    line,
                )
            }
            None => (describe_pg_error(&e), Vec::new(), st.line),
        };
        let rolled_back = rollback_if_open(self.client);
        let mut details = details;
        if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            details.extend(super::lock_wait::explain(self.client));
        }
        RunError::Database {
            script: self.script.to_string(),
            line,
            statement: st.first_line().to_string(),
            message,
            details,
            rolled_back,
        }
    }
}

impl Sink for DbSink<'_> {
    fn execute(&mut self, st: &Statement) -> Result<(), RunError> {
        self.ui.at(st.line, st.first_line());
        self.sent += 1;
        let (result, helper_problems) = self.workers.run(self.client, &st.text);
        for problem in helper_problems {
            self.ui.err_line(&format!("{}: {problem}", self.script));
        }
        match result {
            Ok(msgs) => {
                self.print_results(&msgs);
                Ok(())
            }
            Err(e) => Err(self.failure(st, e)),
        }
    }

    fn rows(&mut self, st: &Statement) -> Result<Vec<script::Row>, RunError> {
        self.ui.at(st.line, st.first_line());
        self.sent += 1;
        let msgs = match self.client.simple_query(&st.text) {
            Ok(msgs) => msgs,
            Err(e) => return Err(self.failure(st, e)),
        };
        let mut columns: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        for m in &msgs {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    columns = cols.iter().map(|c| c.name().to_string()).collect();
                }
                SimpleQueryMessage::Row(r) => rows.push(
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.clone(), r.get(i).map(String::from)))
                        .collect(),
                ),
                _ => {}
            }
        }
        Ok(rows)
    }

    fn echo(&mut self, text: &str, newline: bool) {
        self.ui.out(text, newline);
    }

    fn warn(&mut self, text: &str) {
        self.ui.err_line(&format!("{}: {text}", self.script));
    }

    fn copy_to(&mut self, copy: &str, file: &str) -> Result<(), RunError> {
        let st = Statement {
            text: copy.to_string(),
            line: 0,
        };
        let io = |e: std::io::Error| RunError::Query {
            what: format!("\\copy to {file}"),
            message: e.to_string(),
        };
        let mut out = std::fs::File::create(file).map_err(io)?;
        let started = self
            .client
            .copy_out(copy)
            .map(|mut reader| std::io::copy(&mut reader, &mut out));
        match started {
            Ok(written) => written.map_err(io)?,
            Err(e) => return Err(self.failure(&st, e)),
        };
        self.ui.err_line(&format!("{}: wrote {file}", self.script));
        Ok(())
    }
}

/// Runs one script as `psql -X -v ON_ERROR_STOP=1 -f SCRIPT` would, under the pgmig
/// advisory lock.
///
/// `script_name` names the script in messages; `vars` are the `-v name=value` variables.
/// The script is checked first (a malformed one never starts). Each statement is sent
/// alone with the simple protocol; on the first error an open transaction is rolled back
/// and the error names the line. A transaction still open at the end is rolled back (as
/// psql's exit would). The `_pgmig.log` rows written by the run are printed at the end.
pub fn run_script(
    conn: &mut Connection,
    script_name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<RunSummary, RunError> {
    run_script_with_jobs(conn, script_name, text, vars, 1)
}

/// [`run_script`] with `jobs` sessions copying each batched step's batches (the runner's
/// own and `jobs - 1` helpers, see [`super::workers`]); other statements run in the
/// runner's session alone.
pub fn run_script_with_jobs(
    conn: &mut Connection,
    script_name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    jobs: usize,
) -> Result<RunSummary, RunError> {
    script::check(script_name, text)?;
    lock::acquire(&mut conn.client)?;
    let result = run_locked(conn, script_name, text, vars, jobs);
    let released = lock::release(&mut conn.client);
    let summary = result?;
    released?;
    Ok(summary)
}

fn run_locked(
    conn: &mut Connection,
    script_name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    jobs: usize,
) -> Result<RunSummary, RunError> {
    let ui = conn.ui.clone();
    super::trust::check_bookkeeping(
        &mut conn.client,
        vars.get("pgmig_owner").map(String::as_str),
    )?;
    let log_before = status::last_id(&mut conn.client)?.unwrap_or(0);
    let resumed = status::running_ids(&mut conn.client)?;
    // The script file's sha256: _pgmig.log's script_sha256 column defaults to it
    // (templates/log_columns.sql), next to the compile's fingerprint the script sets itself.
    conn.client
        .execute(
            "SELECT pg_catalog.set_config('pgmig.script_sha256', $1, false)",
            &[&sha256_hex(text.as_bytes())],
        )
        .map_err(|e| RunError::query("could not set pgmig.script_sha256", e))?;
    let started = Instant::now();
    let steps = progress::scan(text);
    let workers = Workers::new(&steps, jobs, &conn.config);
    ui.event(serde_json::json!({
        "event": "run_started",
        "script": script_name,
        "steps": steps.iter().map(|s| serde_json::json!({
            "step": s.name, "number": s.number, "mode": if s.batched { "batched" } else { "transaction" },
        })).collect::<Vec<_>>(),
    }));
    let mut poller = None;
    let mut tracker = None;
    if !steps.is_empty() {
        let mut new = progress::Tracker::new(steps);
        new.prepare(&conn.config);
        let poll = new.monitor.is_some();
        let shared = Arc::new(Mutex::new(new));
        ui.listen(Some(shared.clone()));
        if poll {
            poller = Some(progress::Poller::start(ui.clone(), shared.clone()));
        }
        tracker = Some(shared);
    }
    ui.start(script_name, text.lines().count());
    let mut vars = vars.clone();
    let mut sink = DbSink {
        client: &mut conn.client,
        ui: &ui,
        script: script_name,
        sent: 0,
        workers: &workers,
    };
    // The script sees the path psql would give it; pgmig's queries after it, the pinned one.
    let outcome = sink
        .client
        .execute(
            "SELECT pg_catalog.set_config('search_path', $1, false)",
            &[&conn.script_search_path],
        )
        .map_err(|e| RunError::query("could not set the script's search_path", e))
        .and_then(|_| script::interpret(script_name, text, &mut vars, &mut sink));
    let sent = sink.sent;
    if let Some(p) = poller {
        p.stop();
    }
    ui.listen(None);
    if let Some(tracker) = tracker {
        tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish(&ui, outcome.is_ok());
    }
    // Whatever ended the script (its end, a statement, a file \copy writes to), no
    // transaction stays open: nothing half done, and no transaction-level hold of the lock.
    if rollback_if_open(&mut conn.client) && outcome.is_ok() {
        ui.err_line(&format!(
            "{script_name}: the script ended inside a transaction; it was rolled back (as psql does when it exits)"
        ));
    }
    super::conn::pin_search_path(&mut conn.client)?;
    let secs = started.elapsed().as_secs_f64();
    ui.finish(&match &outcome {
        Ok(_) => format!("pgmig: {script_name} done: {sent} statements in {secs:.2}s"),
        Err(_) => format!("pgmig: {script_name} failed after {sent} statements in {secs:.2}s"),
    });
    // The log rows this run left (after a failure too: batched runs commit as they go), with
    // the rows of the steps it resumed.
    let log = status::touched_rows(&mut conn.client, log_before, &resumed).unwrap_or_default();
    let table = status::render_summary(&log);
    if !table.is_empty() {
        ui.err_line(&table);
    }
    let mut event = serde_json::json!({
        "event": if outcome.is_ok() { "run_done" } else { "run_failed" },
        "script": script_name,
        "statements": sent,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "summary": status::summary_json(&log),
    });
    if let Err(e) = &outcome {
        event["error"] = serde_json::json!(e.to_string());
    }
    ui.event(event);
    let outcome = outcome?;
    Ok(RunSummary {
        statements: sent,
        quit: outcome == Outcome::Quit,
        log,
    })
}
