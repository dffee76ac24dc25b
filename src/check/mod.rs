//! Resolution and checking of a model against the V1 and V2 catalogs: `Model` → `Plan`.
//!
//! Every problem found is collected (not just the first) with its position in the model.

mod accounting;
pub mod archives;
pub(crate) mod calls;
mod constraints;
mod head;
mod hierarchy;
mod ident;
pub(crate) mod lexical;
pub mod library;
mod lookup;
mod loss;
pub mod names;
pub mod only;
mod order;
pub mod redact;
mod reference;
mod referrers;
mod relink;
mod repair;
mod repeatable;
mod replace;
mod row_key;
pub(crate) mod scope;
mod self_read;
pub(crate) mod sql;
mod step;
pub mod subset;
pub(crate) mod suggest;
mod transforms;
pub mod types;
pub(crate) mod zone;

use std::collections::BTreeSet;

use crate::catalog::{quote_ident, Catalog, QualName};
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile};
use crate::model::{pos_at, pos_of, ModeDecl, Model, Text};
use crate::plan::{self, Dependency, Plan};
use head::StepHead;
use lookup::MapShape;
use sql::Origin;
use step::StepContext;
use suggest::did_you_mean;

/// Schema holding pgmig's bookkeeping (log, id maps, rejects).
pub const BOOKKEEPING_SCHEMA: &str = "_pgmig";

/// Where precheck keeps the id maps and backups it builds: its session's own schema, so that
/// between two waves it reads migrate's maps in [`BOOKKEEPING_SCHEMA`] and writes nothing there.
pub const PRECHECK_SCHEMA: &str = "pg_temp";

/// Checks `model` against the catalogs; on success returns the plan and any warnings.
/// The model's name is written into every script (the log's `model` column, messages,
/// procedure names) and is the default output folder: a plain word, so it reads the same
/// everywhere and can never be a path.
pub(crate) fn check_model_name(name: &Text, diags: &mut Diagnostics) {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 40;
    if !plain {
        diags.push(
            Diagnostic::error(format!("model name `{}` is not a plain word", name.escape_debug()), pos_of(name))
                .with_hint("use letters, digits, `_` and `-` (at most 40, starting with a letter or digit): it names the output folder and the model's rows in _pgmig"),
        );
    }
}

/// The plan carries precheck's own ([`Plan::precheck`]): the same model checked again with its
/// id maps and backups in [`PRECHECK_SCHEMA`].
pub fn check(
    model: &Model,
    file: &SourceFile,
    v1: &Catalog,
    v2: &Catalog,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let (mut plan, warnings) = check_with_tables_in(model, file, v1, v2, BOOKKEEPING_SCHEMA)?;
    // The same checks on the same input: what passed once passes again, with the same warnings.
    let (precheck, _) = check_with_tables_in(model, file, v1, v2, PRECHECK_SCHEMA)?;
    plan.precheck = Some(Box::new(precheck));
    Ok((plan, warnings))
}

/// [`check`], the id maps, staging tables and backups of the steps in schema `tables_in`.
fn check_with_tables_in(
    model: &Model,
    file: &SourceFile,
    v1: &Catalog,
    v2: &Catalog,
    tables_in: &str,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::default();
    check_model_name(&model.name, &mut diags);
    // Split once: positions inside values are found by line, for every error.
    let lines: Vec<&str> = file.text.lines().collect();
    let source_schema = model.source_schema().to_string();
    let target_schema = model.target_schema().to_string();
    check_schema(
        v1,
        &source_schema,
        model.source.as_ref().and_then(|s| s.schema.as_ref()),
        "V1",
        &mut diags,
    );
    check_schema(
        v2,
        &target_schema,
        model.target.as_ref().and_then(|s| s.schema.as_ref()),
        "V2",
        &mut diags,
    );
    if let Some(server) = model.target.as_ref().and_then(|t| t.server.as_ref()) {
        diags.push(Diagnostic::error(
            "the target is the database the scripts run in; it has no `server`",
            pos_of(server),
        ));
    }
    // V1 on another server is read through postgres_fdw from a staging schema of pgmig's.
    let source_server = model.source_server().map(|name| plan::SourceServer {
        name: name.to_string(),
        remote_schema: source_schema.clone(),
        staging_schema: format!("_pgmig_{}", name.as_str()),
    });
    let read_schema = source_server
        .as_ref()
        .map_or(source_schema.clone(), |s| s.staging_schema.clone());

    let references = reference::check(&model.reference, v2, &target_schema, &mut diags);
    let redactions = redact::Redactions::resolve(&model.redact, v1, &source_schema, &mut diags);
    // Every declared entry, even one with errors: ref() to it then says nothing more.
    let reference_names: Vec<String> = model.reference.keys().map(|k| k.to_string()).collect();
    let reference_shape = |table: &str| {
        references
            .iter()
            .find(|r| r.table.name == table)
            .map(reference::shape)
    };

    // First pass: which V2 table each step fills and what its id map offers to id().
    let mut heads = Vec::new();
    for (name, step) in &model.tables {
        let table_name = step.into.as_ref().unwrap_or(name);
        let qn = QualName::new(&target_schema, table_name.as_str());
        match v2.table(&qn) {
            Some(table) => heads.push(Some(StepHead::new(
                name, step, table, tables_in, &mut diags,
            ))),
            None => {
                let candidates: Vec<String> = v2
                    .tables_in(&target_schema)
                    .map(|t| t.name.name.clone())
                    .collect();
                let mut d = Diagnostic::error(
                    format!("table `{qn}` does not exist in V2"),
                    pos_of(table_name),
                );
                if let Some(s) = did_you_mean(table_name.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                heads.push(None);
            }
        }
    }
    let step_names: Vec<String> = model.tables.keys().map(|k| k.to_string()).collect();
    check_bookkeeping_names(model, &mut diags);
    let maps = |step: &str| -> Option<MapShape> {
        let i = step_names.iter().position(|n| n == step)?;
        heads[i].as_ref().map(|h| h.shape.clone())
    };

    // Every step filling `table` (several when V1 tables merge into one V2 table).
    let map_of_table = |table: &QualName| -> Vec<constraints::MapColumns> {
        heads
            .iter()
            .flatten()
            .filter(|h| &h.table.name == table)
            .map(|head| {
                let mut columns = head.key_columns.clone();
                columns.extend(
                    head.shape
                        .key_columns
                        .iter()
                        .filter(|c| !head.key_columns.contains(c))
                        .cloned(),
                );
                constraints::MapColumns {
                    map_table: head.shape.map_table.clone(),
                    columns,
                }
            })
            .collect()
    };

    let zone_conversions = std::cell::RefCell::new(Vec::new());
    let cast_types = std::cell::RefCell::new(BTreeSet::new());
    let called_functions = std::cell::RefCell::new(BTreeSet::new());
    let v2_tables: std::rc::Rc<BTreeSet<QualName>> = std::rc::Rc::new(
        v2.tables_in(&target_schema)
            .map(|t| t.name.clone())
            .collect(),
    );
    // Second pass: resolve every expression of every step.
    let mut steps = Vec::new();
    let mut joins_per_step = Vec::new();
    for ((name, step), head) in model.tables.iter().zip(&heads) {
        let Some(head) = head else { continue };
        let ctx = StepContext {
            lines: &lines,
            v1,
            v2,
            source_schema: &source_schema,
            read_schema: &read_schema,
            lookups: lookup::Lookups {
                maps: &maps,
                step_names: &step_names,
                references: &reference_shape,
                reference_names: &reference_names,
            },
            map_of_table: &map_of_table,
            uses_library: std::cell::Cell::new(false),
            v2_tables: v2_tables.clone(),
            redactions: &redactions,
            zone_conversions: &zone_conversions,
            cast_types: &cast_types,
            called_functions: &called_functions,
            tables_in,
        };
        match ctx.step(name, step, head) {
            Ok((s, joins, warnings)) => {
                warnings.into_iter().for_each(|w| diags.push(w));
                steps.push(s);
                joins_per_step.push(joins);
            }
            Err(errors) => errors.into_iter().for_each(|e| diags.push(e)),
        }
    }

    let time_zone = zone::time_zone(
        model.timezone.as_ref(),
        &zone_conversions.borrow(),
        &mut diags,
    );

    let mode = match model.mode.as_deref() {
        None => plan::Mode::Transaction,
        Some(ModeDecl::Word(w)) if w == "transaction" => plan::Mode::Transaction,
        Some(ModeDecl::Word(w)) => {
            diags.push(
                Diagnostic::error(format!("unknown mode `{w}`"), model.mode.as_ref().and_then(|m| pos_at(m, w.chars().count())))
                    .with_hint("write `mode: transaction`, `mode: {batched: {size: 5000}}` or `mode: {per_entity: {root: STEP, size: 100}}`"),
            );
            plan::Mode::Transaction
        }
        Some(ModeDecl::PerEntity { root, size }) => {
            let n = size.as_ref().map_or(Ok(100), |s| s.trim().parse::<u64>());
            match n {
                Ok(n) if n > 0 => {
                    if !model.tables.keys().any(|k| k.as_str() == root.as_str()) {
                        let names: Vec<String> =
                            model.tables.keys().map(|k| k.to_string()).collect();
                        let mut d = Diagnostic::error(
                            format!("per_entity: no step is named `{}`", root.as_str()),
                            pos_of(root),
                        );
                        if let Some(s) = did_you_mean(root.as_str(), &names) {
                            d = d.with_hint(format!("did you mean `{s}`?"));
                        }
                        diags.push(d);
                    }
                    plan::Mode::PerEntity {
                        root: root.to_string(),
                        size: n,
                    }
                }
                _ => {
                    let at = size.as_ref().and_then(pos_of);
                    diags.push(Diagnostic::error(
                        "per_entity: size must be a positive whole number (entities per commit)",
                        at,
                    ));
                    plan::Mode::Transaction
                }
            }
        }
        Some(ModeDecl::Batched { size }) => match size.trim().parse::<u64>() {
            Ok(n) if n > 0 => plan::Mode::Batched { size: n },
            _ => {
                diags.push(
                    Diagnostic::error(format!("batch size must be a positive whole number, not `{}`", size.as_str()), pos_of(size))
                        .with_hint("a batch is this many keys of a step, committed together: 1000 to 50000 is usual"),
                );
                plan::Mode::Transaction
            }
        },
    };

    if mode != plan::Mode::Transaction {
        for step in model.tables.values() {
            if let (Some(c), plan::Mode::Batched { .. }) =
                (step.replace.as_ref().and_then(|r| r.first()), &mode)
            {
                diags.push(
                    Diagnostic::error("`replace` needs `mode: transaction` or `per_entity`", pos_of(c))
                        .with_hint("the replaced rows are backed up, deleted and re-created in the transaction that migrates their entity"),
                );
            }
            for rule in &step.repair {
                diags.push(
                    Diagnostic::error("a repair rule needs `mode: transaction`", pos_of(&rule.column))
                        .with_hint("repairs compare each value with every row already migrated, which batches committed one by one can't keep consistent"),
                );
            }
        }
        for ((name, step), head) in model.tables.iter().zip(&heads) {
            let (Some(head), Some(crate::model::KeyDecl::Columns(columns))) =
                (head, step.key.as_deref())
            else {
                continue;
            };
            if head.row_key.is_declared() {
                diags.push(
                    Diagnostic::error(format!("the key declared for `{}` needs `mode: transaction`: V2 does not enforce it", name.as_str()), columns.first().and_then(pos_of))
                        .with_hint("migrate checks in one transaction that no other V2 row shares a migrated row's key, which batches committed one by one can't; add a UNIQUE key on these NOT NULL columns to V2, or use `mode: transaction`"),
                );
            }
        }
    }

    // Assertions may name the id maps: they tell the rows this migration wrote.
    let maps: BTreeSet<QualName> = model
        .tables
        .keys()
        .map(|k| QualName::new(BOOKKEEPING_SCHEMA, names::derived("map_", k.as_str())))
        .collect();
    let mut assertions = Vec::new();
    for a in &model.verify {
        let origin = Origin {
            value: &a.zero_rows,
            lines: &lines,
            lines_before: 0,
        };
        match sql::parse_query(origin, sql::ReadQuery::Assertion) {
            Ok(mut q) => {
                let errors = scope::check_relations(&q, v2, &target_schema, &maps, origin);
                if errors.is_empty() {
                    scope::qualify_tables(&mut q, v2, &target_schema, &target_schema);
                    scope::qualify_types(&mut q, v2, &target_schema);
                    cast_types.borrow_mut().extend(scope::cast_types(&q));
                    called_functions
                        .borrow_mut()
                        .extend(calls::called_functions(&q));
                    calls::refused_calls(&q, origin)
                        .into_iter()
                        .for_each(|e| diags.push(e));
                    match scope::printable_literals(&mut q) {
                        Ok(()) => assertions.push(plan::Assertion {
                            name: a.name.to_string(),
                            query: q.to_string(),
                            line: origin.line(),
                        }),
                        Err(unprintable) => diags.push(unprintable.diagnostic(origin)),
                    }
                }
                errors.into_iter().for_each(|e| diags.push(e));
            }
            Err(d) => diags.push(d),
        }
    }
    self_read::check(model, &steps, &read_schema, &target_schema, &mut diags);
    let mut archive_errors = Vec::new();
    let archives = model.archives.as_ref().and_then(|a| {
        archives::check(
            a,
            v2,
            &target_schema,
            &maps,
            &lines,
            archives::GuardedNames {
                cast_types: &mut cast_types.borrow_mut(),
                called_functions: &mut called_functions.borrow_mut(),
            },
            &mut archive_errors,
        )
    });
    archive_errors.into_iter().for_each(|e| diags.push(e));
    if diags.has_errors() {
        return Err(diags);
    }

    // Load order from V2's foreign keys and id() lookups.
    let names: Vec<String> = steps.iter().map(|s: &plan::Step| s.name.clone()).collect();
    let deps: Vec<Vec<(usize, Dependency)>> = steps
        .iter()
        .zip(&joins_per_step)
        .map(|(s, joins)| order::dependencies(s, joins, &steps, v2))
        .collect();
    // Errors found past this point name steps: they point at the step's name in the model.
    let step_pos = |name: &str| {
        model
            .tables
            .keys()
            .find(|k| k.as_str() == name)
            .and_then(pos_of)
    };
    let order = match order::sort(&deps, &names) {
        Ok(o) => o,
        Err((mut d, first)) => {
            d.at = step_pos(&names[first]);
            diags.push(d);
            return Err(diags);
        }
    };
    let read_later: BTreeSet<&str> = joins_per_step
        .iter()
        .flatten()
        .filter(|j| j.kind == "id")
        .map(|j| j.step.as_str())
        .collect();
    let mut ordered: Vec<plan::Step> = Vec::with_capacity(steps.len());
    // Precheck finds FK parents in the id maps of the steps before this one (or its own).
    let mut maps_so_far: BTreeSet<String> = BTreeSet::new();
    for i in order {
        let mut s = steps[i].clone();
        maps_so_far.insert(s.map_table.to_string());
        for fk in &mut s.foreign_keys {
            fk.parent_maps.retain(|m| maps_so_far.contains(m));
        }
        s.after = deps[i]
            .iter()
            .filter(|(d, _)| *d != i)
            .map(|(_, dep)| dep.clone())
            .collect();
        s.map_read_later = read_later.contains(s.name.as_str());
        match hierarchy::of(&s, &mode) {
            Ok(h) => s.hierarchy = h,
            Err(mut d) => {
                d.at = step_pos(&s.name);
                diags.push(d);
            }
        }
        ordered.push(s);
    }
    if let plan::Mode::PerEntity { root, .. } = &mode {
        let joins_of: std::collections::BTreeMap<String, Vec<lookup::IdJoin>> = steps
            .iter()
            .zip(&joins_per_step)
            .map(|(s, j)| (s.name.clone(), j.clone()))
            .collect();
        if let Err((mut d, step)) = assign_entities(&mut ordered, root, &joins_of) {
            d.at = step_pos(&step);
            diags.push(d);
            return Err(diags);
        }
    }
    let read_tables: BTreeSet<&QualName> = ordered.iter().flat_map(|s| s.reads.iter()).collect();
    let accounting = accounting::Accounting {
        model,
        lines: &lines,
        v1,
        v2,
        source_schema: &source_schema,
        steps: &ordered,
    };
    let dropped = accounting.check(&mut diags);
    // The note on secrets found by name points at the first step (in the model) reading the table.
    let read_at: Vec<(&QualName, Option<crate::diagnostic::Pos>)> = read_tables
        .iter()
        .map(|t| {
            (
                *t,
                model
                    .tables
                    .iter()
                    .find(|(name, _)| {
                        ordered
                            .iter()
                            .any(|s| s.name == name.as_str() && s.reads.contains(t))
                    })
                    .and_then(|(_, s)| pos_of(&s.from)),
            )
        })
        .collect();
    redactions.notes(&read_at, &mut diags);
    let secrets = redactions.of_read(&read_tables.iter().copied().collect::<Vec<_>>());
    if diags.has_errors() {
        return Err(diags);
    }
    let v1_tables = read_tables
        .iter()
        .map(|t| {
            (
                (*t).clone(),
                v1.table(t)
                    .and_then(|t| t.primary_key.as_ref())
                    .map_or(Vec::new(), |k| k.columns.clone()),
            )
        })
        .collect();
    let compiled_columns = compiled_columns(v1, v2, &read_tables, &ordered, &references);
    let referrers = referrers::of(v2, &ordered);
    let partitioned = v2
        .tables
        .values()
        .filter(|t| t.partition_by.is_some())
        .map(|t| t.name.clone())
        .collect();
    let plan = Plan {
        compiled_columns,
        referrers,
        partitioned,
        v1_tables,
        secrets,
        dropped,
        model: model.name.to_string(),
        model_file: file.name.clone(),
        source_schema,
        source_server,
        read_schema,
        target_schema,
        cast_types: cast_types.into_inner(),
        called_functions: called_functions.into_inner(),
        mode,
        time_zone,
        subset: None,
        only: None,
        // Entries without rows only name a key for ref(): nothing to insert, verify or undo.
        references: references
            .into_iter()
            .filter(|r| !r.rows.is_empty())
            .collect(),
        steps: ordered,
        assertions,
        archives,
        window: None,
        precheck: None,
    };
    Ok((plan, diags))
}

/// The columns of the tables the scripts use, V1's (the tables the steps read; on another
/// server they are checked once imported) then V2's: the targets, the reference tables and
/// the V2 tables the steps read.
fn compiled_columns(
    v1: &Catalog,
    v2: &Catalog,
    read_tables: &BTreeSet<&QualName>,
    steps: &[plan::Step],
    references: &[plan::Reference],
) -> Vec<plan::CompiledColumn> {
    let v2_tables: BTreeSet<&QualName> = steps
        .iter()
        .flat_map(|s| std::iter::once(&s.target).chain(&s.v2_reads))
        .chain(references.iter().map(|r| &r.table))
        .collect();
    let v1_tables = read_tables.iter().copied().map(|t| ("V1", v1, t));
    v1_tables
        .chain(v2_tables.into_iter().map(|t| ("V2", v2, t)))
        .filter_map(|(side, catalog, name)| catalog.table(name).map(|t| (side, catalog, t)))
        .flat_map(|(side, catalog, t)| {
            t.columns.iter().map(move |c| plan::CompiledColumn {
                side,
                table: t.name.clone(),
                column: c.name.clone(),
                data_type: c.data_type.clone(),
                base_type: catalog.base_type(&c.data_type).to_string(),
            })
        })
        .collect()
}

/// Per-entity mode: which entity each step's source rows belong to. The root's rows are
/// entities (by their source key); another step's row belongs to the entity of the first
/// id() lookup it makes into a step that has entities. A step with no such lookup can't be
/// split by entity: an error naming it (and the step, for its position).
fn assign_entities(
    ordered: &mut [plan::Step],
    root: &str,
    joins_of: &std::collections::BTreeMap<String, Vec<lookup::IdJoin>>,
) -> Result<(), (Diagnostic, String)> {
    let mut with_entity: BTreeSet<String> = BTreeSet::new();
    for s in ordered.iter_mut() {
        if s.name == root {
            s.entity = Some(s.source_key.clone());
        } else {
            let joins = joins_of.get(&s.name).map_or(&[][..], |j| j.as_slice());
            let Some(j) = joins
                .iter()
                .find(|j| j.kind == "id" && with_entity.contains(&j.step))
            else {
                return Err((
                    Diagnostic::error(
                        format!("per_entity: step {} makes no id() lookup into {root} or a step under it, so its rows belong to no entity", s.name),
                        None,
                    )
                    .with_hint(format!("look up the parent row with id(), e.g. `where: id({root}, …) IS NOT NULL`, or use `mode: transaction`")),
                    s.name.clone(),
                ));
            };
            s.entity = Some(format!("{}.entity", quote_ident(&j.alias)));
        }
        with_entity.insert(s.name.clone());
    }
    Ok(())
}

/// Derived names are distinct for distinct step names (see [`names`]) unless a step is
/// named like another's cut-and-hashed name: then both would share an id map.
fn check_bookkeeping_names(model: &Model, diags: &mut Diagnostics) {
    let mut seen: std::collections::BTreeMap<String, &Text> = std::collections::BTreeMap::new();
    for name in model.tables.keys() {
        for prefix in ["map_", "stage_", "queue_"] {
            let table = names::derived(prefix, name.as_str());
            if let Some(other) = seen.insert(table.clone(), name) {
                diags.push(
                    Diagnostic::error(format!("steps `{}` and `{}` would share the table {BOOKKEEPING_SCHEMA}.{table}", other.as_str(), name.as_str()), pos_of(name))
                        .with_hint("rename one of the steps (and use `into:` to name its V2 table)"),
                );
            }
        }
    }
}

fn check_schema(
    catalog: &Catalog,
    schema: &str,
    at: Option<&Text>,
    which: &str,
    diags: &mut Diagnostics,
) {
    if catalog.tables_in(schema).next().is_none() {
        let schemas: BTreeSet<&str> = catalog.tables.keys().map(|k| k.schema.as_str()).collect();
        let list: Vec<&str> = schemas.into_iter().collect();
        diags.push(
            Diagnostic::error(
                format!("{which} has no table in schema `{schema}`"),
                at.and_then(pos_of),
            )
            .with_hint(format!(
                "{which}'s tables are in: {}",
                if list.is_empty() {
                    "(none)".into()
                } else {
                    list.join(", ")
                }
            )),
        );
    }
}
