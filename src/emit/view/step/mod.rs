//! One step as the templates see it: its SQL pieces for migrate, precheck, verify, rollback
//! and PLAN.md. What belongs to one feature of a step (its key, rejects, repairs, replace,
//! relinks, precheck's findings, verify's checks) is that feature's view, in a file of its
//! own next to this one, as check/ checks the feature in a file of its own.

mod batch_stage;
mod findings;
mod jobs;
mod keys;
mod rejects;
mod relink;
mod repairs;
mod replace;
mod stage;
mod verify;

use super::hierarchy::HierarchyView;
use askama::Template;

use super::{human_bytes, TableRows};
use crate::catalog::{quote_ident, QualName};
use crate::check::{BOOKKEEPING_SCHEMA, PRECHECK_SCHEMA};
use crate::emit::filters;
use crate::plan::{KeptWhy, Key, Origin, Plan, Redacted, Step, REDACTED};
use crate::step_contract::{done_notice, marker_line, DoneNotice, StepMarker};
use batch_stage::BatchStageView;
use findings::FindingsView;
pub(super) use findings::{repaired, Finding};
use jobs::JobsView;
use keys::KeysView;
use rejects::RejectsView;
use relink::RelinkView;
use repairs::RepairsView;
use replace::ReplaceView;
pub use replace::SealedBackupView;
use stage::StageView;
use verify::VerifyView;

/// Between two conditions of a `WHERE` in a DO block body: one a line.
const AND_LINE: &str = "\n    AND ";

#[derive(Debug, Clone)]
pub struct StepView {
    pub number: usize,
    pub total: usize,
    pub name: String,
    /// The NOTICE that ends the step in transaction mode (with its repairs, if any) and in
    /// batched mode (the four counts): what the runner parses back.
    pub done_notice: DoneNotice,
    pub done_notice_counts: DoneNotice,
    pub target: TableRows,
    pub line: usize,
    pub after: Vec<String>,
    /// `FROM …` with joins on their own lines, indented for a DO block body (and for
    /// PLAN.md's list item, whose code block has the same depth).
    pub from: String,
    /// `from` without the joins of the step's own id map (`id(self, …)`), for the id map's
    /// creation: before the map exists, a join to it would fail.
    pub from_without_own_map: String,
    /// Per-entity mode: the entity of a source row (jsonb SQL), and whether the step is the root.
    pub entity: String,
    pub is_root: bool,
    /// A foreign key to the step's own table: the SQL putting its rows in hierarchy order.
    pub hierarchy: Option<HierarchyView>,
    /// Batched mode: the table staging the step's rows (`_pgmig.stage_<step>`), and how its
    /// one read of the source fills it and what reads it.
    pub stage_table: String,
    pub batch_stage: BatchStageView,
    /// Batched mode: the procedure running this step's first part (counts, rejects, id map,
    /// stage).
    pub procedure: QualName,
    /// Batched mode: the queue of its batches and the procedure copying them.
    pub jobs: JobsView,
    /// The V1 row's key as jsonb SQL (the whole row, redacted, when V1 has none).
    pub source_key: String,
    /// The V1 row as jsonb, its secret values replaced by the marker.
    pub source_row: String,
    /// For PLAN.md: the row's secret columns, each with what happens to it and why.
    pub secrets: Vec<String>,
    /// The V2 columns the insert fills (names as they are).
    pub insert_columns: Vec<String>,
    /// The values inserted, one a column (templates/step_stage.sql's `values`).
    pub select_list: Vec<String>,
    pub overriding: bool,
    pub sequences: Vec<SequenceView>,
    pub analyze_map: bool,
    pub columns: Vec<ColumnRow>,
    /// From a live V1: `~N rows, X MB in v1.t; about T s to migrate`; empty from DDL.
    pub size_line: String,
    pub keys: KeysView,
    pub rejects: RejectsView,
    pub repairs: RepairsView,
    /// Overwrite or create: the tables whose rows this step replaces, parents first.
    pub replace: Option<ReplaceView>,
    pub relinks: Vec<RelinkView>,
    /// Transaction mode's one read of the source.
    pub stage: StageView,
    /// The digest of each row rollback compares is taken from the insert's RETURNING, not by
    /// a second pass over the id map: transaction mode, a copied key, and no later step that
    /// writes this table or overwrites rows (the row as inserted is the row migrate leaves).
    pub digest_at_insert: bool,
    /// Precheck's tests of the rows.
    pub findings: FindingsView,
    pub verify: VerifyView,
}

impl StepView {
    /// The view of the step at `index` in `plan`.
    pub(super) fn new(plan: &Plan, index: usize) -> Result<StepView, askama::Error> {
        let step = &plan.steps[index];
        let (number, total, model) = (index + 1, plan.steps.len(), plan.model.as_str());
        let from = FromClause { text: &step.from }.render()?;
        let sep = AND_LINE;
        let keys = KeysView::new(step, &from)?;
        // A plan checked for precheck (its id maps in pg_temp) reads only the rows no wave
        // migrated yet.
        let precheck = step.map_table.schema == PRECHECK_SCHEMA;
        let rejects = RejectsView::new(step, sep, precheck.then_some(keys.not_migrated.as_str()));
        let repairs = RepairsView::new(step);
        let target = TableRows::of(plan, &step.target);
        let findings = FindingsView::new(plan, step, &target);
        // A source without a key is named by its whole row: redacted as the row is.
        let source_key = if step.source_key == step.source_row {
            redacted_row(&step.source_key, &step.redacted)?
        } else {
            step.source_key.clone()
        };
        let hierarchy = step
            .hierarchy
            .as_ref()
            .map(|h| {
                let entity = step.entity.as_deref().unwrap_or("NULL::jsonb");
                HierarchyView::new(
                    h,
                    &from,
                    &rejects.survivors,
                    &rejects.kept,
                    &source_key,
                    entity,
                    &findings.cast_guard,
                )
            })
            .transpose()?;
        let source_row = redacted_row(&step.source_row, &step.redacted)?;
        let stage = StageView::new(step, model, &keys, &source_key, &source_row)?;
        Ok(StepView {
            number,
            total,
            name: step.name.clone(),
            done_notice: done_notice(!step.repairs.is_empty()),
            done_notice_counts: done_notice(false),
            target: target.clone(),
            line: step.line,
            after: step
                .after
                .iter()
                .map(|d| format!("{} ({})", d.step, d.reason))
                .collect(),
            from_without_own_map: FromClause {
                text: &step.from_without_own_map,
            }
            .render()?,
            entity: step.entity.clone().unwrap_or_default(),
            is_root: step.entity.as_deref() == Some(step.source_key.as_str()),
            hierarchy,
            stage_table: step.stage_table.to_string(),
            batch_stage: BatchStageView::new(step, &source_key, &source_row)?,
            procedure: QualName::new(
                BOOKKEEPING_SCHEMA,
                crate::check::names::derived("migrate_", &step.name),
            ),
            jobs: JobsView::new(plan, index),
            source_key,
            source_row,
            stage,
            secrets: secret_lines(step),
            insert_columns: step.columns.iter().map(|c| c.name.clone()).collect(),
            select_list: step
                .columns
                .iter()
                .map(|c| repairs::value_of(step, c))
                .collect(),
            overriding: step.overriding_system_value,
            sequences: step
                .sequences
                .iter()
                .map(|q| SequenceView::new(q).with_copied_ids(step, &from))
                .collect(),
            analyze_map: step.map_read_later,
            columns: step.columns.iter().map(ColumnRow::new).collect(),
            size_line: match (&step.source_table, step.source_size, &step.estimate) {
                (Some(t), Some(size), Some(estimate)) => format!(
                    "~{} rows, {} in `{t}`; migrate: {} (window estimate above)",
                    size.rows,
                    human_bytes(size.bytes),
                    crate::estimate::approx(estimate.seconds.migrate),
                ),
                _ => String::new(),
            },
            replace: ReplaceView::new(plan, step),
            digest_at_insert: matches!(plan.mode, crate::plan::Mode::Transaction)
                && matches!(step.key, crate::plan::Key::Keep { .. })
                && plan.steps[index..].iter().enumerate().all(|(later, s)| {
                    s.replace.is_none() && (later == 0 || s.target != step.target)
                }),
            relinks: RelinkView::all(step),
            verify: VerifyView::new(plan, step, &target, model, &keys.migrated, &rejects, sep),
            from,
            keys,
            rejects,
            repairs,
            findings,
        })
    }
}

impl StepView {
    /// The step's marker line for the runner (`crate::step_contract`), in `model`'s migrate
    /// script, batched or in one transaction.
    pub fn marker(&self, model: &str, batched: bool) -> String {
        marker_line(&StepMarker {
            number: self.number,
            total: self.total,
            model: model.to_string(),
            name: self.name.clone(),
            batched,
            from: self.from.clone(),
            map_table: batched.then(|| self.keys.map_table.clone()),
            batches_procedure: batched.then(|| self.jobs.batches_procedure.clone()),
            prerequisites: self.jobs.prerequisites.clone(),
        })
    }
}

/// The step's `FROM`: the model's text, its joins laid out under its first line.
#[derive(Template)]
#[template(source = "FROM {{ text|sql_indent(7) }}", ext = "sql")]
struct FromClause<'a> {
    text: &'a str,
}

#[derive(Debug, Clone)]
pub struct SequenceView {
    pub name: String,
    /// The column's name, as it is.
    pub column: String,
    /// Every V2 column drawing from it: migrate moves it past all of them.
    pub drawn_by: Vec<DrawnByView>,
    /// The same as text for comments and notices: `public.a.id, public.b.id`.
    pub drawn_by_text: String,
    /// A step that copies V1's ids into the column (`key: keep`): the largest V1 id it reads
    /// (sequence_advance.sql's subquery over its FROM with no `where`, so that neither
    /// `--only` nor a wave narrows it). migrate moves the sequence past it at the first wave
    /// already: a row the application inserts between waves then never takes an id a later
    /// wave copies.
    pub copied_ids: Option<CopiedIds>,
}

impl SequenceView {
    pub fn new(s: &crate::plan::SequenceSync) -> SequenceView {
        let drawn_by: Vec<DrawnByView> = s
            .drawn_by
            .iter()
            .map(|(t, c)| DrawnByView {
                table: t.to_string(),
                column: c.clone(),
            })
            .collect();
        SequenceView {
            name: s.sequence.to_string(),
            column: s.column.clone(),
            drawn_by_text: drawn_by
                .iter()
                .map(|d| format!("{}.{}", d.table, quote_ident(&d.column)))
                .collect::<Vec<_>>()
                .join(", "),
            drawn_by,
            copied_ids: None,
        }
    }

    /// With the largest V1 id `step` copies into the sequence's column, if it keeps V1's
    /// key there (a volatile expression is left out: evaluating it could draw values).
    /// `from` is the step's FROM as a DO block body indents it.
    fn with_copied_ids(mut self, step: &Step, from: &str) -> SequenceView {
        let Key::Keep { columns } = &step.key else {
            return self;
        };
        self.copied_ids = step
            .columns
            .iter()
            .find(|c| c.name == self.column && columns.contains(&c.name) && !c.volatile)
            .map(|c| CopiedIds {
                expr: c.expr.clone(),
                data_type: c.target_type.clone(),
                from: from.to_string(),
            });
        self
    }
}

/// The V1 ids a step copies into a sequence's column: the column's expression and V2 type,
/// and the step's FROM as a DO block body indents it.
#[derive(Debug, Clone)]
pub struct CopiedIds {
    pub expr: String,
    pub data_type: String,
    pub from: String,
}

/// A V2 column a sequence fills: the table (quoted) and the column (as it is).
#[derive(Debug, Clone)]
pub struct DrawnByView {
    pub table: String,
    pub column: String,
}

/// The V1 row as jsonb (`to_jsonb(alias.*)`), the values of its redacted columns replaced by
/// the marker (step_source_row.sql): text for the views that splice it into theirs.
fn redacted_row(row: &str, redacted: &[Redacted]) -> Result<String, askama::Error> {
    RedactedRow {
        row,
        columns: redacted.iter().map(|r| r.column.as_str()).collect(),
        marker: format!("\"{REDACTED}\""),
    }
    .render()
}

#[derive(Template)]
#[template(
    ext = "sql",
    source = r#"{% import "step_source_row.sql" as source %}{% call source::redacted(row, columns, marker) %}{% endcall %}"#
)]
struct RedactedRow<'a> {
    row: &'a str,
    columns: Vec<&'a str>,
    marker: String,
}

/// PLAN.md's words on a step's secret columns: which are redacted and which kept, and why.
fn secret_lines(step: &Step) -> Vec<String> {
    let redacted = step.redacted.iter().map(|r| match r.line {
        0 => format!("`{}` redacted (its name looks secret)", r.column),
        line => format!("`{}` redacted (line {line})", r.column),
    });
    let kept = step.kept_secrets.iter().map(|k| match k.why {
        KeptWhy::Key => format!(
            "`{}` kept (the primary key: it names the rejected row)",
            k.column
        ),
        KeptWhy::Listed { line } => format!(
            "`{}` kept (`redact:` lists the table without it, line {line})",
            k.column
        ),
    });
    redacted.chain(kept).collect()
}

#[derive(Debug, Clone)]
pub struct ColumnRow {
    pub name: String,
    pub target_type: String,
    pub source: String,
    pub origin: String,
    /// `integer → bigint` when PostgreSQL casts on assignment; empty when the types match.
    pub cast: String,
    pub lossy: String,
    pub null_into_not_null: bool,
    pub note: String,
}

impl ColumnRow {
    fn new(c: &crate::plan::ColumnMap) -> ColumnRow {
        ColumnRow {
            name: c.name.clone(),
            target_type: c.target_type.clone(),
            source: c.expr.replace('|', "\\|"),
            origin: match c.origin {
                Origin::Model(l) => format!("line {l}"),
                Origin::Implicit => "same name".into(),
                Origin::NewKey => "key: new".into(),
            },
            cast: match &c.source_type {
                Some(st) if st != &c.target_type => format!("{st} → {}", c.target_type),
                _ => String::new(),
            },
            lossy: c.lossy.clone().unwrap_or_default(),
            null_into_not_null: c.null_into_not_null,
            note: if c.volatile {
                "not repeatable: verify checks presence only".into()
            } else {
                String::new()
            },
        }
    }
}
