//! Where the runner's output goes: notices and progress on stderr (a progress bar on a
//! terminal, plain lines otherwise), `\echo` and query results on stdout; or everything into
//! a buffer, for tests and embedders.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use postgres::error::DbError;

/// One captured line of output, tagged with the stream it would have gone to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLine {
    Stdout(String),
    Stderr(String),
}

#[derive(Debug)]
pub(crate) struct Ui {
    capture: Option<Mutex<Vec<OutputLine>>>,
    bar: Mutex<Option<(ProgressBar, Instant)>>,
    tty: bool,
}

impl Ui {
    pub(crate) fn terminal() -> Ui {
        Ui { capture: None, bar: Mutex::new(None), tty: std::io::stderr().is_terminal() }
    }

    pub(crate) fn capturing() -> Ui {
        Ui { capture: Some(Mutex::new(Vec::new())), bar: Mutex::new(None), tty: false }
    }

    pub(crate) fn take_captured(&self) -> Vec<OutputLine> {
        match &self.capture {
            Some(c) => std::mem::take(&mut *c.lock().unwrap_or_else(|p| p.into_inner())),
            None => Vec::new(),
        }
    }

    fn with_bar_hidden(&self, f: impl FnOnce()) {
        let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match bar.as_ref() {
            Some((b, _)) => b.suspend(f),
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

    /// Script output (`\echo`, query results): stdout.
    pub(crate) fn out(&self, text: &str, newline: bool) {
        if self.record(OutputLine::Stdout(text.to_string())) {
            return;
        }
        self.with_bar_hidden(|| {
            let mut o = std::io::stdout().lock();
            let _ = if newline { writeln!(o, "{text}") } else { write!(o, "{text}") };
            let _ = o.flush();
        });
    }

    /// A server notice, as a person wants to read it: the message alone for NOTICE/INFO/LOG,
    /// prefixed by its severity otherwise; DETAIL and HINT indented below.
    pub(crate) fn notice(&self, n: &DbError) {
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

    /// Starts the progress display for a script of `lines` lines.
    pub(crate) fn start(&self, script: &str, lines: usize) {
        if self.tty && self.capture.is_none() {
            let bar = ProgressBar::new(lines as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{bar:25}] line {pos}/{len} {elapsed} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(script.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some((bar, Instant::now()));
        } else {
            *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = None;
            self.err_line(&format!("pgmig: running {script} ({lines} lines)"));
        }
    }

    /// The statement starting at `line` is being sent.
    pub(crate) fn at(&self, line: usize, first_line: &str) {
        if let Some((b, _)) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.set_position(line as u64);
            b.set_message(first_line.chars().take(80).collect::<String>());
        }
    }

    /// Ends the progress display with one summary line.
    pub(crate) fn finish(&self, summary: &str) {
        if let Some((b, _)) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
        self.err_line(summary);
    }
}
