//! Rendering a plan into the scripts: `Plan` → `Scripts`.
//!
//! The SQL text of each piece is assembled in [`view`] from the plan's printed
//! fragments; the templates in `templates/` lay the pieces out.

pub mod export_files;
pub(crate) mod filters;
pub mod fingerprint;
pub(crate) mod guard;
pub mod locks;
pub(crate) mod view;

use askama::Template;

use crate::plan::Plan;
use crate::sql_text::QuoteState;
use view::{MigrateMode, PlanView, StepView};

/// The rendered files of one compiled model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripts {
    pub files: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "migrate.sql")]
struct Migrate<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    /// pin.sql's zone.
    time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "migrate_entities.sql")]
struct MigrateEntities<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    /// pin.sql's zone.
    time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "verify.sql")]
struct Verify<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    /// pin.sql's zone.
    time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "rollback.sql")]
struct Rollback<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    /// pin.sql's zone.
    time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "precheck.sql")]
struct Precheck<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    /// pin.sql's zone.
    time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "export.sql")]
struct Export<'a> {
    plan: &'a PlanView,
    steps: Vec<ExportedStep<'a>>,
    /// pin.sql's zone.
    time_zone: &'a str,
}

/// A step as export.sql writes its rows: to `file`.
struct ExportedStep<'a> {
    step: &'a StepView,
    file: String,
}

#[derive(Template)]
#[template(path = "PLAN.md")]
struct PlanPage<'a> {
    plan: &'a PlanView,
    steps: &'a [StepView],
    time_zone: &'a str,
    /// migrate.sql's locks ([`locks::LockSection`]); none in the scripts the fingerprint is
    /// taken over (the table is read back from migrate.sql and adds nothing to it).
    lock_table: Option<String>,
}

/// The fingerprint of a compile of `model` (the whole model's plan, before a selection):
/// the sha256 of its scripts rendered with an empty fingerprint ([`fingerprint`]).
pub fn fingerprint_of(model: &Plan) -> Result<String, askama::Error> {
    Ok(fingerprint::of_scripts(&render_scripts(model, "", false)?))
}

/// Renders every script of `plan`, each carrying `fingerprint` ([`fingerprint_of`] the
/// model's plan), PLAN.md ending with migrate.sql's locks. Same plan, same bytes.
pub fn render(plan: &Plan, fingerprint: &str) -> Result<Scripts, askama::Error> {
    render_scripts(plan, fingerprint, true)
}

fn render_scripts(
    plan: &Plan,
    fingerprint: &str,
    with_locks: bool,
) -> Result<Scripts, askama::Error> {
    let view = PlanView::new(plan, fingerprint)?;
    // Precheck reads the model as its own plan has it: id maps and backups in pg_temp.
    let precheck = PlanView::new(plan.precheck.as_deref().unwrap_or(plan), fingerprint)?;
    let steps = view.steps.as_slice();
    let time_zone = plan.time_zone.as_str();
    let reversed: Vec<StepView> = steps.iter().rev().cloned().collect();
    let migrate = if view.mode == MigrateMode::PerEntity {
        MigrateEntities {
            plan: &view,
            steps,
            time_zone,
        }
        .render()?
    } else {
        Migrate {
            plan: &view,
            steps,
            time_zone,
        }
        .render()?
    };
    // The linter reads the script as the DBA will run it: tidied.
    let lock_table = with_locks.then(|| locks::LockSection::of(&tidy(&migrate)).table);
    let files = vec![
        (
            "precheck.sql",
            Precheck {
                plan: &precheck,
                steps: &precheck.steps,
                time_zone,
            }
            .render()?,
        ),
        ("migrate.sql", migrate),
        (
            "verify.sql",
            Verify {
                plan: &view,
                steps,
                time_zone,
            }
            .render()?,
        ),
        (
            "rollback.sql",
            Rollback {
                plan: &view,
                steps: &reversed,
                time_zone,
            }
            .render()?,
        ),
        (
            "export.sql",
            Export {
                plan: &view,
                steps: steps
                    .iter()
                    .zip(view.step_export_files.clone())
                    .map(|(step, file)| ExportedStep { step, file })
                    .collect(),
                time_zone,
            }
            .render()?,
        ),
        (
            "PLAN.md",
            PlanPage {
                plan: &view,
                steps,
                time_zone,
                lock_table,
            }
            .render()?,
        ),
    ];
    Ok(Scripts {
        files: files
            .into_iter()
            .map(|(n, t)| {
                let t = if n.ends_with(".sql") {
                    tidy(&t)
                } else {
                    tidy_markdown(&t)
                };
                (n, t)
            })
            .collect(),
    })
}

/// One trailing newline, no trailing spaces, at most one blank line in a row: the layout the
/// templates leave. A line that ends inside a quoted name or literal (a name or a value holding
/// a line break) is text, kept byte for byte.
pub(crate) fn tidy(text: &str) -> String {
    tidy_lines(text, true)
}

/// [`tidy`] for PLAN.md: its prose has apostrophes (`the tables' owner`) that are no quotes.
fn tidy_markdown(text: &str) -> String {
    tidy_lines(text, false)
}

fn tidy_lines(text: &str, sql: bool) -> String {
    let mut out = String::new();
    let mut blank = 0;
    let mut quote = QuoteState::reading_dollar_bodies_as_code();
    for line in text.split('\n') {
        let inside = quote.inside();
        if sql {
            quote.scan(line);
        }
        let line = if quote.inside() {
            line
        } else {
            line.trim_end_matches([' ', '\t'])
        };
        blank = if line.is_empty() && !inside {
            blank + 1
        } else {
            0
        };
        if blank <= 1 {
            out.push_str(line);
            out.push('\n');
        }
        if sql {
            // The line break ends a `--` comment.
            quote.scan("\n");
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tidy_tests {
    use super::tidy;

    #[test]
    fn layout_is_tidied_but_quoted_text_is_kept() {
        let text = "SELECT 1;   \n\n\n\nINSERT INTO public.\"t \n\n\nx\" VALUES ('a \n\n\nb', E'it\\'s \n', 'c');  \n-- it's  \nSELECT 2; \n\n";
        assert_eq!(tidy(text), "SELECT 1;\n\nINSERT INTO public.\"t \n\n\nx\" VALUES ('a \n\n\nb', E'it\\'s \n', 'c');\n-- it's\nSELECT 2;\n");
    }

    #[test]
    fn an_apostrophe_in_prose_is_no_quote() {
        let text = "the tables' owner\n\n\n## Next\n\n\ntext\n";
        assert_eq!(
            super::tidy_markdown(text),
            "the tables' owner\n\n## Next\n\ntext\n"
        );
    }
}
