//! Compile diagnostics: what went wrong, where in the model, and a hint.
//!
//! Stages collect [`Diagnostic`]s instead of stopping at the first one; they are
//! rendered once, at the CLI boundary, with the model's source line and a caret.

use std::fmt::Write as _;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, Severity,
    SourceCode, SourceSpan, SpanContents,
};

/// A model file as read from disk, kept for rendering diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// A position in the model file: 1-based line and column, length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Level,
    pub message: String,
    pub at: Option<Pos>,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, at: Option<Pos>) -> Self {
        Diagnostic {
            severity: Level::Error,
            message: message.into(),
            at,
            hint: None,
        }
    }

    pub fn warning(message: impl Into<String>, at: Option<Pos>) -> Self {
        Diagnostic {
            severity: Level::Warning,
            message: message.into(),
            at,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Several diagnostics from one compile; an error if any of them is one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Level::Error)
    }

    /// Renders every diagnostic: a `file:line:col: error: message` headline,
    /// then the source line with a caret under the span and the hint.
    pub fn render(&self, file: &SourceFile, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        let mut ordered: Vec<&Diagnostic> = self.0.iter().collect();
        ordered.sort_by_key(|d| d.at.map(|p| (p.line, p.column)));
        // Where each line starts, found once: a file with thousands of errors renders in linear time.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(file.text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for d in ordered {
            let level = match d.severity {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            match d.at {
                Some(p) => {
                    let _ = writeln!(
                        out,
                        "{}:{}:{}: {level}: {}",
                        file.name, p.line, p.column, d.message
                    );
                    let report = Snippet::new(file, &line_starts, d, p);
                    let mut snippet = String::new();
                    let _ = handler.render_report(&mut snippet, &report);
                    // miette opens with the message, which the headline already gave.
                    for line in snippet.lines().filter(|l| !matches!(l.trim(), "×" | "⚠")) {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                None => {
                    let _ = writeln!(out, "{}: {level}: {}", file.name, d.message);
                    if let Some(h) = &d.hint {
                        let _ = writeln!(out, "  help: {h}");
                    }
                }
            }
        }
        let errors = self.0.iter().filter(|d| d.severity == Level::Error).count();
        if errors > 0 {
            let plural = if errors == 1 { "" } else { "s" };
            let _ = writeln!(
                out,
                "error: {} has {errors} error{plural}; nothing was written",
                file.name
            );
        }
        out
    }
}

/// Byte offset of a 1-based line and column (in characters) in `text`.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The miette view of one diagnostic: the lines around it, with one labeled span.
#[derive(Debug)]
struct Snippet {
    source: Window,
    span: LabeledSpan,
    severity: Severity,
    hint: Option<String>,
}

impl Snippet {
    fn new(file: &SourceFile, line_starts: &[usize], d: &Diagnostic, p: Pos) -> Self {
        let source = Window::around(file, line_starts, p.line);
        let start = byte_offset(&source.text, p.line - source.first_line, p.column);
        let end = byte_offset(
            &source.text,
            p.line - source.first_line,
            p.column + p.len.max(1),
        );
        Snippet {
            source,
            span: LabeledSpan::new_with_span(
                Some("here".into()),
                (start, end.saturating_sub(start)),
            ),
            severity: match d.severity {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
            },
            hint: d.hint.clone(),
        }
    }
}

/// A few lines of the model around a diagnostic. miette finds line numbers by scanning its
/// source from the start: given the whole file for each of thousands of diagnostics, that
/// scan made rendering quadratic. The window is scanned instead, and its lines renumbered.
#[derive(Debug)]
struct Window {
    name: String,
    text: String,
    /// Lines of the file before the window's first.
    first_line: usize,
}

impl Window {
    /// Two lines either side of 1-based `line` (miette shows one of context).
    fn around(file: &SourceFile, line_starts: &[usize], line: usize) -> Window {
        let first_line = line.saturating_sub(3);
        let start = line_starts
            .get(first_line)
            .copied()
            .unwrap_or(file.text.len());
        let end = line_starts
            .get(line + 2)
            .copied()
            .unwrap_or(file.text.len());
        Window {
            name: file.name.clone(),
            text: file.text[start..end].to_string(),
            first_line,
        }
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_bytes().read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

impl std::fmt::Display for Snippet {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(()) // the headline is written by `render`
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.span.clone())))
    }
}
