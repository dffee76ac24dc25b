//! Compile diagnostics: what went wrong, where in the model, and a hint.
//!
//! Stages collect [`Diagnostic`]s instead of stopping at the first one; they are
//! rendered once, at the CLI boundary, with the model's source line and a caret.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity};

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
        Diagnostic { severity: Level::Error, message: message.into(), at, hint: None }
    }

    pub fn warning(message: impl Into<String>, at: Option<Pos>) -> Self {
        Diagnostic { severity: Level::Warning, message: message.into(), at, hint: None }
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
        let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        let mut ordered: Vec<&Diagnostic> = self.0.iter().collect();
        ordered.sort_by_key(|d| d.at.map(|p| (p.line, p.column)));
        for d in ordered {
            let level = match d.severity {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            match d.at {
                Some(p) => {
                    let _ = writeln!(out, "{}:{}:{}: {level}: {}", file.name, p.line, p.column, d.message);
                    let report = Snippet::new(file, d, p);
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
            let _ = writeln!(out, "error: {} has {errors} error{plural}; nothing was written", file.name);
        }
        out
    }
}

/// Byte offset of a 1-based line and column (in characters) in `text`.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let rest = &text[line_start.min(text.len())..];
    line_start + rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i)
}

/// The miette view of one diagnostic: the model's source with one labeled span.
#[derive(Debug)]
struct Snippet {
    source: NamedSource<String>,
    span: LabeledSpan,
    severity: Severity,
    hint: Option<String>,
}

impl Snippet {
    fn new(file: &SourceFile, d: &Diagnostic, p: Pos) -> Self {
        let start = byte_offset(&file.text, p.line, p.column);
        let end = byte_offset(&file.text, p.line, p.column + p.len.max(1));
        Snippet {
            source: NamedSource::new(file.name.clone(), file.text.clone()),
            span: LabeledSpan::new_with_span(Some("here".into()), (start, end.saturating_sub(start))),
            severity: match d.severity {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
            },
            hint: d.hint.clone(),
        }
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
        self.hint.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.span.clone())))
    }
}
