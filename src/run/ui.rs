//! Where the runner's output goes: notices and progress on stderr (a progress bar on a
//! terminal, plain lines otherwise), `\echo` and query results on stdout; or everything into
//! a buffer, for tests and embedders.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use postgres::error::DbError;

/// One captured line of output, tagged with the stream it would have gone to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLine {
    Stdout(String),
    Stderr(String),
}

/// How progress is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For people: progress bars on a terminal, one plain line per step otherwise.
    #[default]
    Human,
    /// For machines: one JSON object per event on stdout (`\echo` and query results become
    /// `{"event":"output"}` objects); stderr gets the plain lines.
    Json,
}

struct Bars {
    multi: MultiProgress,
    script: ProgressBar,
    step: Option<ProgressBar>,
}

/// What a step's bar knows of its rows when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepRows {
    /// Batched: the id map, once committed, gives rows and batches.
    Batched,
    /// Transaction: the source rows, counted as the first step began.
    Counted(u64),
    /// Transaction: the planner's estimate (counting was too slow).
    Estimated(u64),
    Unknown,
}

pub(crate) struct Ui {
    capture: Option<Mutex<Vec<OutputLine>>>,
    bars: Mutex<Option<(Bars, Instant)>>,
    tty: bool,
    color: bool,
    format: Format,
    /// What follows the script's progress (the step tracker), told of each statement sent
    /// and each notice.
    listener: Mutex<Option<SharedListener>>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("tty", &self.tty)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Follows a script's progress as it runs: the UI tells it what happens, and it draws
/// through the UI (so the UI knows nothing of steps).
pub(crate) trait Listener: Send {
    /// The statement at `line` is about to be sent.
    fn on_statement(&mut self, ui: &Ui, line: usize);
    /// A server notice; true when the listener showed it (not to be printed as is).
    fn on_notice(&mut self, ui: &Ui, text: &str) -> bool;
}

pub(crate) type SharedListener = Arc<Mutex<dyn Listener>>;

impl Ui {
    /// Tells `listener` of every statement and notice from now on; `None` stops.
    pub(crate) fn listen(&self, listener: Option<SharedListener>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// The listener, out of its slot's lock so that it may call back into the UI.
    fn listener(&self) -> Option<SharedListener> {
        self.listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn terminal(format: Format) -> Ui {
        Ui {
            capture: None,
            bars: Mutex::new(None),
            tty: std::io::stderr().is_terminal() && format == Format::Human,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            format,
            listener: Mutex::new(None),
        }
    }

    pub(crate) fn capturing(format: Format) -> Ui {
        Ui {
            capture: Some(Mutex::new(Vec::new())),
            bars: Mutex::new(None),
            tty: false,
            color: false,
            format,
            listener: Mutex::new(None),
        }
    }

    pub(crate) fn take_captured(&self) -> Vec<OutputLine> {
        match &self.capture {
            Some(c) => std::mem::take(&mut *c.lock().unwrap_or_else(|p| p.into_inner())),
            None => Vec::new(),
        }
    }

    fn with_bar_hidden(&self, f: impl FnOnce()) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        match bars.as_ref() {
            Some((b, _)) => b.multi.suspend(f),
            None => f(),
        }
    }

    fn record(&self, line: OutputLine) -> bool {
        match &self.capture {
            Some(c) => {
                c.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                true
            }
            None => false,
        }
    }

    /// A line for the person running: stderr.
    pub(crate) fn err_line(&self, text: &str) {
        if self.record(OutputLine::Stderr(text.to_string())) {
            return;
        }
        self.with_bar_hidden(|| {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "{text}");
        });
    }

    /// Script output (`\echo`, query results): stdout (an `output` event with `--json`).
    pub(crate) fn out(&self, text: &str, newline: bool) {
        if self.format == Format::Json {
            self.event(serde_json::json!({"event": "output", "text": text}));
            return;
        }
        if self.record(OutputLine::Stdout(text.to_string())) {
            return;
        }
        self.with_bar_hidden(|| {
            let mut o = std::io::stdout().lock();
            let _ = if newline {
                writeln!(o, "{text}")
            } else {
                write!(o, "{text}")
            };
            let _ = o.flush();
        });
    }

    /// A progress event: one JSON line on stdout with `--json`, nothing otherwise.
    pub(crate) fn event(&self, value: serde_json::Value) {
        if self.format != Format::Json {
            return;
        }
        let line = value.to_string();
        if self.record(OutputLine::Stdout(line.clone())) {
            return;
        }
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    }

    /// A server notice, as a person wants to read it: the message alone for NOTICE/INFO/LOG,
    /// prefixed by its severity otherwise; DETAIL and HINT indented below. A step's progress
    /// notices go to the step's bar or line instead.
    pub(crate) fn notice(&self, n: &DbError) {
        if n.severity() == "NOTICE" && n.detail().is_none() {
            if let Some(listener) = self.listener() {
                if listener
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .on_notice(self, n.message())
                {
                    return;
                }
            }
        }
        let mut s = match n.severity() {
            "NOTICE" | "INFO" | "LOG" => n.message().to_string(),
            sev => format!("{sev}: {}", n.message()),
        };
        if let Some(d) = n.detail() {
            s.push_str("\n  DETAIL: ");
            s.push_str(d);
        }
        if let Some(h) = n.hint() {
            s.push_str("\n  HINT: ");
            s.push_str(h);
        }
        self.err_line(&s);
    }

    fn style(&self, template: &str, plain: &str) -> ProgressStyle {
        ProgressStyle::with_template(if self.color { template } else { plain })
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    /// Starts the progress display for a script of `lines` lines.
    pub(crate) fn start(&self, script: &str, lines: usize) {
        if self.tty && self.capture.is_none() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let bar = multi.add(ProgressBar::new(lines as u64));
            bar.set_style(self.style(
                "{spinner:.green} {prefix:.bold} [{bar:25}] line {pos}/{len} {elapsed} {wide_msg:.dim}",
                "{spinner} {prefix} [{bar:25}] line {pos}/{len} {elapsed} {wide_msg}",
            ));
            bar.set_prefix(script.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            *self.bars.lock().unwrap_or_else(|p| p.into_inner()) = Some((
                Bars {
                    multi,
                    script: bar,
                    step: None,
                },
                Instant::now(),
            ));
        } else {
            *self.bars.lock().unwrap_or_else(|p| p.into_inner()) = None;
            if self.format == Format::Human {
                self.err_line(&format!("pgmig: running {script} ({lines} lines)"));
            }
        }
    }

    /// The statement starting at `line` is being sent.
    pub(crate) fn at(&self, line: usize, first_line: &str) {
        if let Some((b, _)) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.script.set_position(line as u64);
            b.script
                .set_message(first_line.chars().take(80).collect::<String>());
        }
        if let Some(listener) = self.listener() {
            listener
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .on_statement(self, line);
        }
    }

    /// A step's bar: rows done / total with rate and ETA (batched, once the id map is
    /// committed), or an elapsed-time spinner beside the step's source rows (transaction),
    /// counted or estimated, and labelled so.
    pub(crate) fn step_bar(&self, prefix: &str, rows: StepRows) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        let Some((b, _)) = bars.as_mut() else { return };
        if let Some(old) = b.step.take() {
            old.finish_and_clear();
            b.multi.remove(&old);
        }
        let total = match rows {
            StepRows::Counted(n) | StepRows::Estimated(n) => n,
            StepRows::Batched | StepRows::Unknown => 0,
        };
        let bar = b.multi.add(ProgressBar::new(total));
        let style = if rows == StepRows::Batched {
            // Until the id map is committed the number of rows is not known.
            self.style(
                "  {spinner:.cyan} {prefix:.bold.cyan} counting source rows, numbering the batches {elapsed}",
                "  {spinner} {prefix} counting source rows, numbering the batches {elapsed}",
            )
        } else if let StepRows::Counted(_) = rows {
            self.style(
                "  {spinner:.cyan} {prefix:.bold.cyan} {human_len} source rows (counted; one transaction, no rows-done count) {elapsed}",
                "  {spinner} {prefix} {human_len} source rows (counted; one transaction, no rows-done count) {elapsed}",
            )
        } else if let StepRows::Estimated(_) = rows {
            self.style(
                "  {spinner:.cyan} {prefix:.bold.cyan} ~{human_len} source rows (planner estimate; one transaction, no rows-done count) {elapsed}",
                "  {spinner} {prefix} ~{human_len} source rows (planner estimate; one transaction, no rows-done count) {elapsed}",
            )
        } else {
            self.style(
                "  {spinner:.cyan} {prefix:.bold.cyan} {elapsed}",
                "  {spinner} {prefix} {elapsed}",
            )
        };
        bar.set_style(style);
        bar.set_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        b.step = Some(bar);
    }

    pub(crate) fn bar_length(&self, len: u64) {
        if let Some((b, _)) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if let Some(s) = &b.step {
                s.set_style(self.style(
                    "  {prefix:.bold.cyan} [{bar:20.cyan}] {human_pos}/{human_len} rows · {wide_msg}",
                    "  {prefix} [{bar:20}] {human_pos}/{human_len} rows · {wide_msg}",
                ));
                s.set_length(len);
            }
        }
    }

    pub(crate) fn bar_update(&self, pos: u64, msg: &str) {
        if let Some((b, _)) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if let Some(s) = &b.step {
                s.set_position(pos);
                s.set_message(msg.to_string());
            }
        }
    }

    /// Ends the step's bar and prints its line (nothing when `line` is empty).
    pub(crate) fn step_done(&self, line: &str) {
        {
            let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((b, _)) = bars.as_mut() {
                if let Some(old) = b.step.take() {
                    old.finish_and_clear();
                    b.multi.remove(&old);
                }
            }
        }
        if !line.is_empty() {
            self.err_line(line);
        }
    }

    /// Ends the progress display with one summary line.
    pub(crate) fn finish(&self, summary: &str) {
        if let Some((b, _)) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if let Some(s) = b.step {
                s.finish_and_clear();
            }
            b.script.finish_and_clear();
            let _ = b.multi.clear();
        }
        self.err_line(summary);
    }
}
