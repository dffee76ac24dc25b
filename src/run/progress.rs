//! Per-step progress of a migrate script: which statements belong to which step (read from
//! the script's own step headers), rows done / total, rate and ETA, and the events `--json`
//! prints.
//!
//! Where the numbers come from, by mode:
//!
//! - **batched**: a second connection (the *monitor*) reads the committed checkpoints every
//!   second: `_pgmig.batches` (one row per committed batch: rows done, batches done) and the
//!   step's id map (`count(*)` = rows total, `max(batch) + 1` = batches total). Rate and ETA
//!   are computed from the batches committed during this run only (batches of an earlier,
//!   interrupted run count as done but not towards the rate). The per-batch NOTICEs are not
//!   parsed: the monitor does not depend on their wording.
//! - **transaction**: nothing a step does is visible to another session before the commit,
//!   and PostgreSQL has no `pg_stat_progress_*` view for `INSERT … SELECT`, so there is no
//!   honest "rows done" inside a step. Before the run, each step's source rows are counted
//!   (`count(*)` of its FROM clause without the id-map lookups, which never change the count:
//!   exactly the step's own `N source rows`) within a short time budget; a step that could
//!   not be counted in time (or reads what does not exist yet) shows the planner's estimate
//!   (`EXPLAIN`), marked `~` and labelled an estimate: planner estimates of a LATERAL
//!   `generate_series` are off by hundreds of times. The bar shows elapsed time, and the
//!   step's own NOTICE (`… N source rows, … migrated`) closes it with the real counts.
//!
//! The final numbers (summary table, `run_done`) always come from `_pgmig.log`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls};
use serde_json::{json, Value};

use super::ui::{Listener, StepRows, Ui};
use crate::step_contract;

/// One step of a migrate script, as its text shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    pub number: usize,
    pub total: usize,
    /// The step's name in `_pgmig.log` (and in its NOTICEs).
    pub name: String,
    pub model: String,
    /// Script lines `first_line..end_line` (1-based, end exclusive) belong to the step.
    pub first_line: usize,
    pub end_line: usize,
    pub batched: bool,
    /// The step's FROM clause (the one its source rows are counted over).
    pub from: String,
    /// The id map table (batched mode: the batch numbers live there).
    pub map_table: Option<String>,
    /// Batched mode: the procedure other sessions may run to copy the step's batches.
    pub batches_procedure: Option<String>,
    /// The earlier steps this one needs committed.
    pub prerequisites: Vec<String>,
}

/// The steps of a script, from the marker lines emit writes ([`crate::step_contract`]):
/// empty for anything that is not a compiled migrate script.
pub fn scan(text: &str) -> Vec<StepInfo> {
    let mut steps: Vec<StepInfo> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let end = line == step_contract::STEPS_END;
        let marker = step_contract::parse_marker(line);
        if end || marker.is_some() {
            if let Some(last) = steps.last_mut() {
                last.end_line = i + 1;
            }
        }
        if end {
            break;
        }
        if let Some(m) = marker {
            steps.push(StepInfo {
                number: m.number,
                total: m.total,
                name: m.name,
                model: m.model,
                first_line: i + 1,
                end_line: i + 1,
                batched: m.batched,
                from: m.from,
                map_table: m.map_table,
                batches_procedure: m.batches_procedure,
                prerequisites: m.prerequisites,
            });
        }
    }
    steps
}

/// What a step's closing NOTICE says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepNotice {
    /// `step N/T name: A source rows, B filtered, C rejected, D migrated` (and, for a step
    /// with repairs, `, E values repaired (_pgmig.changes)`): [`crate::step_contract`].
    Done {
        number: usize,
        name: String,
        counts: [i64; 4],
    },
    /// `step N/T name: already done`
    AlreadyDone { number: usize, name: String },
    /// `step N/T name: batch B of K, R rows`, or `step N/T name: K batches staged`
    Batch { number: usize, name: String },
}

pub(crate) fn parse_notice(text: &str) -> Option<StepNotice> {
    let rest = text.strip_prefix("step ")?;
    let (nt, rest) = rest.split_once(' ')?;
    let (n, _t) = nt.split_once('/')?;
    let number: usize = n.parse().ok()?;
    let (name, what) = rest.split_once(": ")?;
    let name = name.to_string();
    if what == "already done" {
        return Some(StepNotice::AlreadyDone { number, name });
    }
    if (what.starts_with("batch ") && what.ends_with(" rows")) || what.ends_with(" batches staged")
    {
        return Some(StepNotice::Batch { number, name });
    }
    let counts = crate::step_contract::parse_done(what)?;
    Some(StepNotice::Done {
        number,
        name,
        counts,
    })
}

/// Counts of a finished step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Counts {
    pub rows_in: Option<i64>,
    pub rows_filtered: Option<i64>,
    pub rows_rejected: Option<i64>,
    pub rows_out: Option<i64>,
}

#[derive(Debug, Default)]
struct StepState {
    started: Option<Instant>,
    done: bool,
    /// The source rows before the run, counted or estimated (transaction mode).
    source_rows: Option<SourceRows>,
    rows_total: Option<i64>,
    batches_total: Option<i64>,
    batches_done: i64,
    rows_done: i64,
    /// Rows of batches committed during this run (the rate's numerator).
    rows_this_run: i64,
    /// Every batch up to this one is counted; with several workers (`--jobs`) batches
    /// commit out of order, and those counted beyond it are in `counted_beyond`.
    counted_through: i64,
    counted_beyond: std::collections::BTreeSet<i64>,
}

/// A committed batch, as the monitor read it.
#[derive(Debug, Clone)]
pub(crate) struct BatchRow {
    pub batch: i64,
    pub rows: i64,
    pub this_run: bool,
}

/// The progress of one script run: step states, the display, the events.
pub(crate) struct Tracker {
    steps: Vec<StepInfo>,
    states: Vec<StepState>,
    current: Option<usize>,
    /// A batched step whose closing NOTICE came: (step, counts, already done).
    pending: Option<(usize, Option<Counts>, bool)>,
    pub(crate) monitor: Option<Arc<Mutex<Monitor>>>,
    /// A transaction-mode run's second connection, until it counts the source rows.
    counter: Option<Client>,
}

/// The second connection, reading committed checkpoints.
pub(crate) struct Monitor {
    client: Client,
    /// `clock_timestamp()` (epoch seconds) when the run started: batches before it are from
    /// an earlier run.
    run_start: f64,
}

fn fmt_rate(rate: f64) -> String {
    format!(
        "{} rows/s",
        indicatif::HumanCount(rate.round().max(0.0) as u64)
    )
}

impl Tracker {
    pub(crate) fn new(steps: Vec<StepInfo>) -> Tracker {
        let states = steps
            .iter()
            .map(|_| StepState {
                counted_through: -1,
                ..StepState::default()
            })
            .collect();
        Tracker {
            steps,
            states,
            current: None,
            pending: None,
            monitor: None,
            counter: None,
        }
    }

    pub(crate) fn has_batched(&self) -> bool {
        self.steps.iter().any(|s| s.batched)
    }

    /// Opens the second connection: the monitor of a batched run, or the counter of a
    /// transaction-mode run's source rows.
    pub(crate) fn prepare(&mut self, config: &Config) {
        let Ok(mut client) = config.connect(NoTls) else {
            return;
        };
        // The monitor's queries, the counts of the steps' FROM clauses among them, run with the
        // path the scripts pin, whatever the database's default.
        if client.batch_execute("SET search_path = pg_catalog, pg_temp; SET application_name = 'pgmig monitor'; SET statement_timeout = '5s'; SET lock_timeout = '200ms'").is_err() {
            return;
        }
        if self.has_batched() {
            let run_start = client
                .query_one(
                    "SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())::float8",
                    &[],
                )
                .map(|r| r.get::<_, f64>(0))
                .unwrap_or(0.0);
            self.monitor = Some(Arc::new(Mutex::new(Monitor { client, run_start })));
        } else {
            self.counter = Some(client);
        }
    }

    /// Counts (or estimates) each step's source rows. Called when the first step begins:
    /// counting reads the steps' FROM clauses, views and the functions they call included,
    /// so it waits until the script's check of that code has passed (before it, a V1 view
    /// calling its owner's function would run that function as the runner's role).
    fn count_sources(&mut self, mut client: Client) {
        let counting_ends = Instant::now() + COUNTING_BUDGET;
        for (s, st) in self.steps.iter().zip(self.states.iter_mut()) {
            st.source_rows = source_rows(&mut client, &s.from, counting_ends);
        }
    }

    /// The step's closing NOTICE. This runs inside the notice callback of the script's
    /// connection, where no other query may block: a batched step (whose close reads the
    /// monitor) is closed at the next statement or at the end of the script instead.
    fn end_from_notice(&mut self, ui: &Ui, k: usize, counts: Option<Counts>, already: bool) {
        if self.steps[k].batched && self.monitor.is_some() {
            self.pending = Some((k, counts, already));
        } else {
            self.close(ui, k, counts, already);
        }
    }

    fn close_pending(&mut self, ui: &Ui) {
        if let Some((k, counts, already)) = self.pending.take() {
            self.close(ui, k, counts, already);
        }
    }

    /// Applies what the monitor read for step `k`.
    fn apply(&mut self, ui: &Ui, k: usize, totals: Option<(i64, i64)>, batches: Vec<BatchRow>) {
        let st = &mut self.states[k];
        if let Some((rows, batches_total)) = totals {
            st.rows_total = Some(rows);
            st.batches_total = Some(batches_total);
            ui.bar_length(rows.max(0) as u64);
        }
        let s = &self.steps[k];
        for b in batches {
            if b.batch <= st.counted_through || !st.counted_beyond.insert(b.batch) {
                continue;
            }
            while st.counted_beyond.remove(&(st.counted_through + 1)) {
                st.counted_through += 1;
            }
            st.batches_done += 1;
            st.rows_done += b.rows;
            if b.this_run {
                st.rows_this_run += b.rows;
            }
            let secs = st.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
            let rate = (secs > 0.0 && st.rows_this_run > 0).then(|| st.rows_this_run as f64 / secs);
            let eta = match (rate, st.rows_total) {
                (Some(r), Some(t)) if r > 0.0 => {
                    Some(((t - st.rows_done).max(0) as f64 / r * 10.0).round() / 10.0)
                }
                _ => None,
            };
            if b.this_run {
                ui.event(json!({
                    "event": "batch_done",
                    "step": s.name,
                    "number": s.number,
                    "batch": b.batch + 1,
                    "batches_done": st.batches_done,
                    "batches_total": st.batches_total,
                    "rows": b.rows,
                    "rows_done": st.rows_done,
                    "rows_total": st.rows_total,
                    "rows_per_second": rate.map(|r| (r * 10.0).round() / 10.0),
                    "eta_seconds": eta,
                }));
            }
            let mut msg = format!(
                "batch {}/{}",
                st.batches_done,
                st.batches_total.map_or("?".to_string(), |t| t.to_string())
            );
            if let Some(r) = rate {
                msg.push_str(&format!(" · {}", fmt_rate(r)));
            }
            if let Some(e) = eta {
                msg.push_str(&format!(
                    " · ETA {}",
                    indicatif::HumanDuration(Duration::from_secs_f64(e))
                ));
            }
            ui.bar_update(st.rows_done.max(0) as u64, &msg);
        }
    }

    /// Ends step `k`: the final monitor read (batched), the step's line and event.
    fn close(&mut self, ui: &Ui, k: usize, counts: Option<Counts>, already: bool) {
        if self.states[k].done {
            return;
        }
        let s = self.steps[k].clone();
        let mut counts = counts;
        if s.batched {
            if let Some(m) = self.monitor.clone() {
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let (totals, batches) = m.read(
                    &s,
                    self.states[k].rows_total.is_none(),
                    self.states[k].counted_through,
                );
                self.apply(ui, k, totals, batches);
                if counts.is_none() {
                    counts = m.log_counts(&s);
                }
            }
        }
        let st = &mut self.states[k];
        st.done = true;
        if self.current == Some(k) {
            self.current = None;
        }
        let secs = st.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let c = counts.unwrap_or_default();
        let rate_rows = if s.batched {
            Some(st.rows_this_run)
        } else {
            c.rows_out
        };
        let rate = rate_rows
            .filter(|_| secs > 0.0 && !already)
            .map(|r| r as f64 / secs);
        ui.event(json!({
            "event": "step_done",
            "step": s.name,
            "number": s.number,
            "total": s.total,
            "already_done": already,
            "rows_in": c.rows_in,
            "rows_filtered": c.rows_filtered,
            "rows_rejected": c.rows_rejected,
            "rows_out": c.rows_out,
            "batches_done": s.batched.then_some(st.batches_done),
            "batches_total": st.batches_total,
            "seconds": (secs * 1000.0).round() / 1000.0,
            "rows_per_second": rate.map(|r| (r * 10.0).round() / 10.0),
        }));
        let n = |v: Option<i64>| v.map_or("?".to_string(), |v| v.to_string());
        let mut line = if already {
            format!("step {}/{} {}: already done", s.number, s.total, s.name)
        } else {
            format!(
                "step {}/{} {}: {} source rows, {} filtered, {} rejected, {} migrated",
                s.number,
                s.total,
                s.name,
                n(c.rows_in),
                n(c.rows_filtered),
                n(c.rows_rejected),
                n(c.rows_out)
            )
        };
        if !already {
            line.push_str(&format!(" ({:.2}s", secs));
            if let Some(r) = rate {
                line.push_str(&format!(", {}", fmt_rate(r)));
            }
            line.push(')');
        }
        ui.step_done(&line);
    }

    /// The end of the script: closes an open step (without counts if nothing said them).
    pub(crate) fn finish(&mut self, ui: &Ui, ok: bool) {
        self.close_pending(ui);
        if let Some(c) = self.current {
            if ok {
                self.close(ui, c, None, false);
            } else {
                ui.step_done("");
            }
        }
    }

    /// The batched step being run, for the monitor thread.
    fn polling_target(&self) -> Option<(usize, StepInfo, bool, i64)> {
        let k = self.current?;
        let s = &self.steps[k];
        let st = &self.states[k];
        (s.batched && !st.done && self.pending.is_none())
            .then(|| (k, s.clone(), st.rows_total.is_none(), st.counted_through))
    }
}

impl Listener for Tracker {
    fn on_statement(&mut self, ui: &Ui, line: usize) {
        self.close_pending(ui);
        if self
            .steps
            .first()
            .is_some_and(|first| line >= first.first_line)
        {
            if let Some(client) = self.counter.take() {
                self.count_sources(client);
            }
        }
        let Some(k) = self
            .steps
            .iter()
            .position(|s| s.first_line <= line && line < s.end_line)
        else {
            // Past the last step (or before the first): close what is open.
            if let Some(c) = self.current {
                if line >= self.steps[c].end_line {
                    self.close(ui, c, None, false);
                }
            }
            return;
        };
        if self.current == Some(k) {
            return;
        }
        if let Some(c) = self.current {
            self.close(ui, c, None, false);
        }
        self.current = Some(k);
        if self.states[k].done {
            return;
        }
        self.states[k].started = Some(Instant::now());
        let s = &self.steps[k];
        let st = &self.states[k];
        ui.event(json!({
            "event": "step_started",
            "step": s.name,
            "number": s.number,
            "total": s.total,
            "mode": if s.batched { "batched" } else { "transaction" },
            "estimated_rows": st.source_rows.map(|r| r.rows()),
            "estimate_source": match st.source_rows {
                _ if s.batched => Value::Null,
                Some(SourceRows::Counted(_)) => json!("count (the step's source rows, counted as the first step began)"),
                Some(SourceRows::Planner(_)) => json!("planner (EXPLAIN of the step's FROM clause)"),
                None => Value::Null,
            },
        }));
        let prefix = format!("step {}/{} {}", s.number, s.total, s.name);
        let rows = match st.source_rows {
            _ if s.batched => StepRows::Batched,
            Some(SourceRows::Counted(n)) => StepRows::Counted(n.max(0) as u64),
            Some(SourceRows::Planner(n)) => StepRows::Estimated(n.max(0) as u64),
            None => StepRows::Unknown,
        };
        ui.step_bar(&prefix, rows);
    }

    fn on_notice(&mut self, ui: &Ui, text: &str) -> bool {
        let Some(n) = parse_notice(text) else {
            return false;
        };
        let (number, name) = match &n {
            StepNotice::Done { number, name, .. }
            | StepNotice::AlreadyDone { number, name }
            | StepNotice::Batch { number, name } => (*number, name),
        };
        let Some(k) = self
            .steps
            .iter()
            .position(|s| s.number == number && &s.name == name)
        else {
            return false;
        };
        match n {
            StepNotice::Batch { .. } => self.monitor.is_some(),
            StepNotice::Done { counts, .. } => {
                let c = Counts {
                    rows_in: Some(counts[0]),
                    rows_filtered: Some(counts[1]),
                    rows_rejected: Some(counts[2]),
                    rows_out: Some(counts[3]),
                };
                self.end_from_notice(ui, k, Some(c), false);
                true
            }
            StepNotice::AlreadyDone { .. } => {
                self.end_from_notice(ui, k, None, true);
                true
            }
        }
    }
}

impl Monitor {
    /// Totals (when `totals` is asked and the id map exists) and the batches after `after`.
    fn read(
        &mut self,
        s: &StepInfo,
        totals: bool,
        after: i64,
    ) -> (Option<(i64, i64)>, Vec<BatchRow>) {
        let mut t = None;
        if totals {
            if let Some(map) = &s.map_table {
                let exists = self
                    .client
                    .query_one("SELECT pg_catalog.to_regclass($1) IS NOT NULL", &[map])
                    .map(|r| r.get::<_, bool>(0))
                    .unwrap_or(false);
                if exists {
                    let q = format!(
                        "SELECT count(*)::bigint, coalesce(max(batch) + 1, 0)::bigint FROM {map}"
                    );
                    t = self
                        .client
                        .query_one(&q, &[])
                        .ok()
                        .map(|r| (r.get(0), r.get(1)));
                }
            }
        }
        let rows = self
            .client
            .query(
                "SELECT batch, rows, extract(epoch FROM finished_at)::float8 >= $4
                   FROM _pgmig.batches WHERE model = $1 AND step = $2 AND batch > $3 ORDER BY batch",
                &[&s.model, &s.name, &after, &self.run_start],
            )
            .map(|rows| rows.iter().map(|r| BatchRow { batch: r.get(0), rows: r.get(1), this_run: r.get(2) }).collect())
            .unwrap_or_default();
        (t, rows)
    }

    fn log_counts(&mut self, s: &StepInfo) -> Option<Counts> {
        let r = self
            .client
            .query_opt(
                "SELECT rows_in, rows_filtered, rows_rejected, rows_out FROM _pgmig.log
                  WHERE model = $1 AND script = 'migrate' AND step = $2 ORDER BY id DESC LIMIT 1",
                &[&s.model, &s.name],
            )
            .ok()??;
        Some(Counts {
            rows_in: r.get(0),
            rows_filtered: r.get(1),
            rows_rejected: r.get(2),
            rows_out: r.get(3),
        })
    }
}

/// How long counting the steps' source rows may delay a run's start, in all.
const COUNTING_BUDGET: Duration = Duration::from_secs(2);

/// A step's source rows as known before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceRows {
    Counted(i64),
    Planner(i64),
}

impl SourceRows {
    fn rows(self) -> i64 {
        match self {
            SourceRows::Counted(n) | SourceRows::Planner(n) => n,
        }
    }
}

/// The rows of a FROM clause: counted while `counting_ends` is ahead (a count cut short by
/// its timeout falls back), else the planner's estimate.
fn source_rows(client: &mut Client, from: &str, counting_ends: Instant) -> Option<SourceRows> {
    let left = counting_ends.saturating_duration_since(Instant::now());
    if left >= Duration::from_millis(10) {
        if let Some(n) = count(client, &without_id_maps(from), left) {
            return Some(SourceRows::Counted(n));
        }
    }
    estimate(client, from).map(SourceRows::Planner)
}

/// An id() lookup is a LEFT JOIN of an id map on its primary key: it never changes the row
/// count, so the clause without it has the same count and estimate (and can be read before
/// the maps exist).
fn without_id_maps(from: &str) -> String {
    from.lines()
        .filter(|l| !l.trim_start().starts_with("LEFT JOIN _pgmig.map_"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `count(*)` of a FROM clause, given up after `limit`. The clause is the script's own, read
/// in a read-only transaction (a `nextval` or a write in it fails the count, changing
/// nothing), rolled back.
fn count(client: &mut Client, from: &str, limit: Duration) -> Option<i64> {
    let mut tx = client.transaction().ok()?;
    tx.batch_execute(&format!(
        "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}",
        limit.as_millis().max(1)
    ))
    .ok()?;
    let n = tx
        .query_one(&format!("SELECT count(*) {from}"), &[])
        .ok()?
        .get(0);
    tx.rollback().ok()?;
    Some(n)
}

/// The planner's estimate of the rows of a FROM clause; of its first table when the clause
/// cannot be planned yet (it reads id maps that later steps create).
fn estimate(client: &mut Client, from: &str) -> Option<i64> {
    let plan_rows = |client: &mut Client, q: &str| -> Option<i64> {
        let msgs = client
            .simple_query(&format!("EXPLAIN (FORMAT JSON) SELECT 1 {q}"))
            .ok()?;
        let text = msgs.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
            _ => None,
        })?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v.get(0)?
            .get("Plan")?
            .get("Plan Rows")?
            .as_f64()
            .map(|f| f.round() as i64)
    };
    if let Some(n) = plan_rows(client, from) {
        return Some(n);
    }
    let without_maps = without_id_maps(from);
    if without_maps != from {
        if let Some(n) = plan_rows(client, &without_maps) {
            return Some(n);
        }
    }
    // `FROM schema.table alias …`: the first table alone.
    let first = from.strip_prefix("FROM")?.split_whitespace().next()?;
    if first.starts_with('(')
        || !first
            .chars()
            .all(|c| c.is_alphanumeric() || "._\"$".contains(c))
    {
        return None;
    }
    plan_rows(client, &format!("FROM {first}"))
}

/// Polls the monitor every second while the script runs.
pub(crate) struct Poller {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    pub(crate) fn start(ui: Arc<Ui>, tracker: Arc<Mutex<Tracker>>) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || loop {
            for _ in 0..20 {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let (target, monitor) = {
                let t = tracker.lock().unwrap_or_else(|p| p.into_inner());
                (t.polling_target(), t.monitor.clone())
            };
            let (Some((k, s, totals, after)), Some(m)) = (target, monitor) else {
                continue;
            };
            let (t, b) = m
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .read(&s, totals, after);
            let mut tr = tracker.lock().unwrap_or_else(|p| p.into_inner());
            if tr.current == Some(k) && !tr.states[k].done {
                tr.apply(&ui, k, t, b);
            }
        });
        Poller {
            stop,
            handle: Some(handle),
        }
    }

    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices() {
        assert_eq!(
            parse_notice(
                "step 2/6 workout_weeks: 120 source rows, 3 filtered, 0 rejected, 480 migrated"
            ),
            Some(StepNotice::Done {
                number: 2,
                name: "workout_weeks".into(),
                counts: [120, 3, 0, 480]
            })
        );
        assert_eq!(
            parse_notice("step 6/6 exercise_logs: batch 3 of 92, 50 rows"),
            Some(StepNotice::Batch {
                number: 6,
                name: "exercise_logs".into()
            })
        );
        assert_eq!(
            parse_notice("step 1/6 p: already done"),
            Some(StepNotice::AlreadyDone {
                number: 1,
                name: "p".into()
            })
        );
        assert_eq!(
            parse_notice("step 1/6 p: 1 source rows, x filtered, 0 rejected, 1 migrated"),
            None
        );
        assert_eq!(parse_notice("something else"), None);
    }

    #[test]
    fn scans_the_compiled_workout_script() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/out/workout/migrate.sql"
        ))
        .unwrap();
        let steps = scan(&text);
        assert_eq!(steps.len(), 6, "{steps:#?}");
        assert_eq!(steps[0].name, "workout_plans");
        assert_eq!(steps[0].model, "workout");
        assert_eq!((steps[5].number, steps[5].total), (6, 6));
        assert!(steps
            .iter()
            .all(|s| !s.batched && s.from.starts_with("FROM")));
        assert!(steps.windows(2).all(|w| w[0].end_line == w[1].first_line));
        // exercises and workout_sessions both need plans and days, not each other.
        assert_eq!(steps[3].prerequisites, ["workout_plans", "workout_days"]);
        assert_eq!(steps[4].prerequisites, ["workout_plans", "workout_days"]);
        assert!(steps.iter().all(|s| s.batches_procedure.is_none()));
        for other in ["precheck.sql", "verify.sql", "rollback.sql"] {
            let t = std::fs::read_to_string(format!(
                "{}/out/workout/{other}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert!(scan(&t).is_empty(), "{other}");
        }
    }
}
