//! The plan as the templates see it: SQL fragments ready to print (expressions, conditions,
//! qualified names as [`crate::catalog::QualName`] prints them, quoted part by part), and
//! text as it is (a step's name, a reason, a label, a single column name) that the templates
//! write through the filters of [`super::filters`] (`lit`, `ident`, `notice`, `comment`).

mod hierarchy;
mod privileges;
mod reference;
mod referrer;
mod step;
mod subset;
mod table_rows;
mod target;
mod window;

use crate::catalog::quote_ident;
use crate::plan::Plan;
use privileges::PrivilegesView;
use reference::ReferenceView;
use referrer::{ReferrerView, RollbackIndexView};
use step::Finding;
use step::SealedBackupView;
use step::SequenceView;
pub use step::StepView;
use subset::SubsetView;
pub use table_rows::TableRows;

/// `--only`, as the scripts check that it selects a V1 row.
#[derive(Debug, Clone)]
pub struct OnlyView {
    pub table: String,
    pub condition: String,
    /// The condition as given.
    pub text: String,
}
use target::TargetView;
use window::WindowView;

#[derive(Debug, Clone)]
pub struct PlanView {
    pub model: String,
    pub model_file: String,
    pub source_schema: String,
    pub target_schema: String,
    pub steps: Vec<StepView>,
    /// Reference rows, parents first.
    pub references: Vec<ReferenceView>,
    /// `--entities`: the scripts cover these steps of the model only.
    pub subset: Option<SubsetView>,
    /// `--only`: the V1 table of the root rows and the condition on it (alias `t`).
    pub only: Option<OnlyView>,
    /// The transform library's SQL, when a step calls it; empty otherwise.
    pub library: String,
    /// The V2 tables the steps fill, each once, in load order.
    pub targets: Vec<String>,
    /// The same, as verify looks for rows no id map holds in them.
    pub target_checks: Vec<TargetView>,
    /// Every V2 foreign key into the filled tables: rollback counts the rows of others under
    /// migrated rows through each before deleting anything.
    pub referrers: Vec<ReferrerView>,
    /// Indexes rollback.sql builds for its deletes and drops before it commits.
    pub rollback_indexes: Vec<RollbackIndexView>,
    /// Every sequence a column the scripts write draws from (reference rows', then the
    /// steps'), each once: verify checks each.
    pub sequences: Vec<SequenceView>,
    /// What a dry run holds: those, and any the steps' expressions call
    /// `nextval()` on themselves (`key: {new: nextval('public.batch_seq')}`).
    pub held_sequences: Vec<String>,
    pub assertions: Vec<AssertionView>,
    pub version: &'static str,
    /// The V1 data no step reads, with the model's reasons, and the V2 columns filled
    /// through a lossy cast.
    pub dropped: Vec<DroppedView>,
    pub lossy: Vec<String>,
    /// From a live V1: each script's time, step by step; `None` from DDL.
    pub window: Option<WindowView>,
    /// V1 on another server: the fdw server, V1's schema there, the staging schema here, and
    /// the tables to import. `None` when V1 is in the target database.
    pub server: Option<ServerView>,
    /// Precheck's conversion helpers, one per type.
    pub castable: Vec<CastableView>,
    /// Every V1 table the steps read.
    pub v1_tables: Vec<V1TableView>,
    /// The file export.sql writes each step's rows to, in step order.
    pub step_export_files: Vec<String>,
    /// The model's text archives, if any.
    pub archives: Option<ArchivesView>,
    /// How migrate commits: what the templates branch on.
    pub mode: MigrateMode,
    /// Batched mode: the default batch size (`-v batch_size=` overrides it); 0 otherwise.
    pub batch_size: u64,
    /// Per-entity mode: entities per commit (`-v entity_batch=` overrides it); 0 otherwise.
    pub entity_size: u64,
    /// Per-entity mode: the procedure migrating a set of entities, and the one driving it.
    pub entity_procedure: String,
    pub entity_driver: String,
    /// The compile's fingerprint ([`crate::emit::fingerprint`]); empty while it is computed.
    pub fingerprint: String,
    /// The columns compiled against, for the catalog check's VALUES list
    /// (templates/catalog_check.sql numbers them and makes them literals).
    pub compiled_columns: Vec<crate::plan::CompiledColumn>,
    /// What each script needs of the role running it.
    pub privileges: PrivilegesView,
    /// The implicit-code guard's `text[]` of the relations the scripts write (targets,
    /// reference tables, replaced tables) and of the V1 relations they read.
    pub implicit_written: String,
    pub implicit_read: String,
    /// What verify and export read: V1's relations and the tables migrate wrote, whose
    /// owner may have put a view in a table's place or given a column a type of its own.
    pub implicit_read_by_readers: String,
    /// The backups of the rows replaced steps overwrite: sealed with the bookkeeping.
    pub replace_backups: Vec<SealedBackupView>,
    /// The guard's `text[]` of the types the model's expressions cast to.
    pub implicit_cast_types: String,
    /// The guard's `text[]` of the functions the model's expressions call.
    pub implicit_called_functions: String,
}

/// How migrate commits, as the templates tell the modes apart: one transaction (in waves),
/// batches of keys per step, or sets of entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateMode {
    Transaction,
    Batched,
    PerEntity,
}

/// One `drop:` entry as PLAN.md lists it.
#[derive(Debug, Clone)]
pub struct DroppedView {
    pub what: String,
    pub whole_table: bool,
    pub reason: String,
    pub line: usize,
}

/// Precheck's helper telling whether a text converts to a type.
#[derive(Debug, Clone)]
pub struct CastableView {
    /// [`castable_function`] of the type.
    pub function: String,
    pub type_name: String,
}

/// A V1 table the steps read, as export.sql, verify.sql and the seals read it whole.
#[derive(Debug, Clone)]
pub struct V1TableView {
    /// As the scripts name it.
    pub table: String,
    /// The CSV file export.sql writes its rows to.
    pub file: String,
    /// Its key (templates/v1_table.sql orders by it), as it is.
    pub key: Vec<String>,
    /// Its columns when some are secret (the export writes the marker instead); empty
    /// otherwise (the export selects `t.*`).
    pub columns: Vec<ExportedColumn>,
}

/// A column of a V1 table export.sql writes: `marker` instead of a secret one's values.
#[derive(Debug, Clone)]
pub struct ExportedColumn {
    pub name: String,
    pub marker: Option<&'static str>,
}

/// `archives:` as export.sql writes it.
#[derive(Debug, Clone)]
pub struct ArchivesView {
    pub dir: String,
    pub files: Vec<ArchiveFileView>,
}

/// One directory of `archives:`: its name (plain words), the CSV of its rows, the query and
/// its model line.
#[derive(Debug, Clone)]
pub struct ArchiveFileView {
    pub dir: String,
    pub csv: String,
    pub query: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct AssertionView {
    pub name: String,
    pub line: usize,
    pub query: String,
}

#[derive(Debug, Clone)]
pub struct ServerView {
    pub name: String,
    /// The fdw server pgmig makes, named as the staging schema.
    pub server: String,
    pub remote_schema: String,
    pub staging_schema: String,
    pub tables: String,
    /// V1's columns compiled against, for the check of the imported tables
    /// (templates/fdw_catalog_check.sql).
    pub compiled_columns: Vec<ImportedColumn>,
}

/// A V1 column compiled against: its table, the foreign table importing it into the staging
/// schema, its type, and a domain's base type (its own type for any other).
#[derive(Debug, Clone)]
pub struct ImportedColumn {
    pub table: crate::catalog::QualName,
    pub imported: crate::catalog::QualName,
    pub column: String,
    pub data_type: String,
    pub base_type: String,
}

impl PlanView {
    pub fn new(plan: &Plan, fingerprint: &str) -> Result<PlanView, askama::Error> {
        let uses_library = plan.steps.iter().any(|s| s.uses_library);
        let step_names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        let v1_names: Vec<(&str, &str)> = plan
            .v1_tables
            .iter()
            .map(|(t, _)| (t.schema.as_str(), t.name.as_str()))
            .collect();
        let archive_dirs: Vec<&str> = plan
            .archives
            .iter()
            .flat_map(|a| a.files.iter().map(|f| f.dir.as_str()))
            .collect();
        let (step_export_files, v1_export_files, archive_export_files) =
            super::export_files::export_files(&step_names, &v1_names, &archive_dirs);
        let mut view = PlanView {
            model: plan.model.clone(),
            model_file: plan.model_file.clone(),
            source_schema: plan.source_schema.clone(),
            target_schema: plan.target_schema.clone(),
            steps: {
                let mut steps: Vec<StepView> = plan
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, _)| StepView::new(plan, i))
                    .collect::<Result<_, _>>()?;
                add_sibling_duplicates(plan, &mut steps);
                steps
            },
            references: (plan.references.iter())
                .map(|r| ReferenceView::new(plan, r))
                .collect(),
            subset: plan.subset.as_ref().map(|u| SubsetView::new(u, plan)),
            only: plan.only.as_ref().map(|o| OnlyView {
                table: o.table.to_string(),
                condition: o.condition.clone(),
                text: o.text.clone(),
            }),
            library: if uses_library {
                crate::check::library::SQL.trim_end().to_string()
            } else {
                String::new()
            },
            targets: {
                let mut seen = std::collections::BTreeSet::new();
                plan.steps
                    .iter()
                    .map(|s| s.target.to_string())
                    .filter(|t| seen.insert(t.clone()))
                    .collect()
            },
            target_checks: TargetView::all(plan),
            referrers: plan
                .referrers
                .iter()
                .map(|r| ReferrerView::new(plan, r))
                .collect(),
            rollback_indexes: RollbackIndexView::all(&plan.referrers, &plan.steps),
            sequences: {
                let mut seen = std::collections::BTreeSet::new();
                let all = plan
                    .references
                    .iter()
                    .flat_map(|r| &r.sequences)
                    .chain(plan.steps.iter().flat_map(|s| &s.sequences));
                all.filter(|q| seen.insert(q.sequence.clone()))
                    .map(SequenceView::new)
                    .collect()
            },
            held_sequences: {
                let drawn = plan
                    .references
                    .iter()
                    .flat_map(|r| &r.sequences)
                    .chain(plan.steps.iter().flat_map(|s| &s.sequences))
                    .map(|q| q.sequence.clone());
                let exprs = plan.steps.iter().flat_map(|s| {
                    let key = match &s.key {
                        crate::plan::Key::New { new, .. } => Some(new.sql.as_str()),
                        crate::plan::Key::Keep { .. } => None,
                    };
                    s.columns.iter().map(|c| c.expr.as_str()).chain(key)
                });
                let called = exprs.flat_map(crate::catalog::sequences_called);
                let mut seen = std::collections::BTreeSet::new();
                drawn
                    .chain(called)
                    .filter(|q| seen.insert(q.clone()))
                    .map(|q| q.to_string())
                    .collect()
            },
            assertions: plan
                .assertions
                .iter()
                .map(|a| AssertionView {
                    name: a.name.clone(),
                    line: a.line,
                    query: a.query.clone(),
                })
                .collect(),
            version: env!("CARGO_PKG_VERSION"),
            dropped: plan
                .dropped
                .iter()
                .map(|d| DroppedView {
                    what: match &d.column {
                        Some(c) => format!("{}.{}", d.table, crate::catalog::quote_ident(c)),
                        None => d.table.to_string(),
                    },
                    whole_table: d.column.is_none(),
                    reason: d.reason.clone(),
                    line: d.line,
                })
                .collect(),
            lossy: plan
                .steps
                .iter()
                .flat_map(|s| {
                    s.columns.iter().filter_map(move |c| {
                        c.lossy
                            .as_ref()
                            .map(|l| format!("`{}.{}`: {l}", s.name, c.name))
                    })
                })
                .collect(),
            window: WindowView::of(plan),
            castable: {
                let mut types: Vec<String> = plan
                    .steps
                    .iter()
                    .flat_map(|s| s.casts.iter().map(|c| c.type_name.clone()))
                    .collect();
                types.sort();
                types.dedup();
                types
                    .into_iter()
                    .map(|type_name| CastableView {
                        function: castable_function(&type_name),
                        type_name,
                    })
                    .collect()
            },
            v1_tables: plan
                .v1_tables
                .iter()
                .zip(v1_export_files)
                .map(|((name, key), file)| {
                    let printed =
                        crate::catalog::QualName::new(&plan.read_schema, &name.name).to_string();
                    let columns = match plan
                        .secrets
                        .iter()
                        .find(|t| &t.table == name)
                        .filter(|t| !t.redacted.is_empty())
                    {
                        Some(t) => t
                            .columns
                            .iter()
                            .map(|c| ExportedColumn {
                                name: c.clone(),
                                marker: (t.redacted.iter().any(|r| &r.column == c))
                                    .then_some(crate::plan::REDACTED),
                            })
                            .collect(),
                        None => Vec::new(),
                    };
                    V1TableView {
                        table: printed,
                        file,
                        key: key.clone(),
                        columns,
                    }
                })
                .collect(),
            step_export_files,
            archives: plan.archives.as_ref().map(|a| ArchivesView {
                dir: a.dir.clone(),
                files: a
                    .files
                    .iter()
                    .zip(archive_export_files)
                    .map(|(f, csv)| ArchiveFileView {
                        dir: f.dir.clone(),
                        csv,
                        query: f.query.clone(),
                        line: f.line,
                    })
                    .collect(),
            }),
            server: plan.source_server.as_ref().map(|srv| {
                let mut tables: Vec<String> = plan
                    .steps
                    .iter()
                    .flat_map(|s| s.reads.iter().map(|t| quote_ident(&t.name)))
                    .collect();
                tables.sort();
                tables.dedup();
                let staged = |t: &crate::catalog::QualName| {
                    crate::catalog::QualName::new(&srv.staging_schema, &t.name)
                };
                ServerView {
                    compiled_columns: plan
                        .compiled_columns
                        .iter()
                        .filter(|c| c.side == "V1")
                        .map(|c| ImportedColumn {
                            table: c.table.clone(),
                            imported: staged(&c.table),
                            column: c.column.clone(),
                            data_type: c.data_type.clone(),
                            base_type: c.base_type.clone(),
                        })
                        .collect(),
                    name: srv.name.clone(),
                    server: srv.staging_schema.clone(),
                    remote_schema: srv.remote_schema.clone(),
                    staging_schema: srv.staging_schema.clone(),
                    tables: tables.join(", "),
                }
            }),
            mode: match plan.mode {
                crate::plan::Mode::Transaction => MigrateMode::Transaction,
                crate::plan::Mode::Batched { .. } => MigrateMode::Batched,
                crate::plan::Mode::PerEntity { .. } => MigrateMode::PerEntity,
            },
            batch_size: match plan.mode {
                crate::plan::Mode::Batched { size } => size,
                crate::plan::Mode::Transaction | crate::plan::Mode::PerEntity { .. } => 0,
            },
            entity_procedure: quote_ident(&format!("migrate_entities_{}", plan.model)),
            entity_driver: quote_ident(&format!("migrate_{}", plan.model)),
            entity_size: match plan.mode {
                crate::plan::Mode::PerEntity { size, .. } => size,
                _ => 0,
            },
            fingerprint: fingerprint.to_string(),
            // V1's columns are checked here when V1 is in this database; on another server,
            // once its tables are imported (fdw_setup.sql).
            compiled_columns: plan
                .compiled_columns
                .iter()
                .filter(|c| plan.source_server.is_none() || c.side != "V1")
                .cloned()
                .collect(),
            privileges: PrivilegesView::new(plan, uses_library),
            implicit_written: String::new(),
            implicit_read: String::new(),
            implicit_read_by_readers: String::new(),
            replace_backups: Vec::new(),
            implicit_cast_types: crate::sql_text::text_array(plan.cast_types.iter()),
            implicit_called_functions: crate::sql_text::text_array(plan.called_functions.iter()),
        };
        view.replace_backups = SealedBackupView::all(&view.steps);
        let replaced = view.steps.iter().flat_map(|s| {
            s.replace
                .iter()
                .flat_map(|x| x.tables.iter().map(|t| &t.table.name))
        });
        let written = view
            .targets
            .iter()
            .chain(view.references.iter().map(|r| &r.table.name))
            .chain(replaced);
        let written: Vec<&String> = written.collect();
        let read: Vec<&String> = view.v1_tables.iter().map(|t| &t.table).collect();
        view.implicit_written = crate::sql_text::text_array(written.iter().copied());
        view.implicit_read = crate::sql_text::text_array(read.iter().copied());
        view.implicit_read_by_readers =
            crate::sql_text::text_array(read.iter().chain(&written).copied());
        Ok(view)
    }
}

/// Precheck findings for a V2 unique key that several steps fill: a value this step makes
/// that an earlier step (same table) makes too.
fn add_sibling_duplicates(plan: &Plan, views: &mut [StepView]) {
    for i in 0..plan.steps.len() {
        let step = &plan.steps[i];
        let mut found = Vec::new();
        for (j, earlier) in plan.steps[..i]
            .iter()
            .enumerate()
            .filter(|(_, e)| e.target == step.target)
        {
            for u in step
                .uniques
                .iter()
                .filter(|u| !u.columns.is_empty() && !step::repaired(step, u))
            {
                let Some(other) = earlier
                    .uniques
                    .iter()
                    .find(|o| o.constraint == u.constraint)
                else {
                    continue;
                };
                found.push(Finding::made_by_earlier_step(
                    format!(
                        "UNIQUE {}: step {} makes the same value",
                        u.constraint, earlier.name
                    ),
                    &u.exprs,
                    &other.exprs,
                    &views[j].from,
                    &views[j].rejects.survivors,
                ));
            }
        }
        views[i].findings.tests.extend(found);
    }
}

/// The precheck helper telling whether a text converts to `type_name` (one per type, in
/// pg_temp: created inside precheck's transaction, gone with its rollback).
pub fn castable_function(type_name: &str) -> String {
    let slug: String = type_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("pg_temp.pgmig_castable_{slug}")
}

pub(crate) fn human_bytes(bytes: i64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.1} MB")
    }
}

pub(crate) fn human_seconds(secs: f64) -> String {
    if secs < 60.0 {
        format!("{:.0} s", secs.max(1.0))
    } else if secs < 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}
