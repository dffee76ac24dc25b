//! The draft: which V1 table fills each V2 table, and how each V2 column is filled.
//! Decisions only; `render` writes them as YAML.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{quote_ident, Catalog, Column, QualName, Table};
use crate::sql_text::quote_literal;

use super::convert::{convert, Conversion};
use super::matching::{closest, match_names, How};
use super::naming::{column_key, snake_case, table_key};
use super::order::parents_first;
use crate::check::zone::depends_on_zone;

/// Renames are proposed from this similarity up; below it, down to `HINT`, only hinted at.
pub const TABLE_THRESHOLD: f64 = 0.88;
pub const COLUMN_THRESHOLD: f64 = 0.85;
pub const HINT: f64 = 0.6;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// V1's server, when V1 is read through postgres_fdw (`source: {server: …}`).
    pub source_server: Option<String>,
    pub source_schema: String,
    pub target_schema: String,
    pub steps: Vec<Step>,
    /// V1 tables nothing reads, by name.
    pub dropped_tables: Vec<String>,
    /// V1 columns nothing reads, per V1 table read by a step.
    pub dropped_columns: Vec<(String, Vec<String>)>,
    /// Columns whose names look secret (the primary key aside), per V1 table read by a step:
    /// written as `redact:`, which compile would otherwise apply with a warning.
    pub secrets: Vec<(String, Vec<String>)>,
    /// What needs an answer, one line each (said on stderr).
    pub todos: Vec<String>,
    /// V2 columns (`table.column`) filled through a conversion that depends on the time zone:
    /// the model then states V1's zone (`timezone:`).
    pub zone_dependent: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The V2 table (unqualified, as written in the model).
    pub table: String,
    /// The V1 table and how it was matched; `None`: no V1 table matches (a TODO step).
    pub source: Option<(String, How)>,
    pub alias: String,
    pub key: Key,
    /// Columns the model must name: renamed, converted, defaulted, or TODO.
    pub columns: Vec<ColumnLine>,
    /// Copied implicitly by the compiler (same name, a type PostgreSQL assigns).
    pub copied: Vec<String>,
    /// Left to V2: its default, identity, or NULL.
    pub left_to_v2: Vec<String>,
    /// Notes about implicit copies (V1 NULLs into NOT NULL, narrowing types).
    pub notes: Vec<String>,
    /// Generated columns (PostgreSQL computes them) and partitions (it routes rows to them).
    pub skipped: Vec<String>,
    pub partitions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Keep,
    New {
        new: String,
        by: Vec<String>,
    },
    /// Why pgmig could not decide.
    Todo(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnLine {
    pub name: String,
    pub expr: String,
    pub comment: Option<String>,
    /// The V1 column it reads, if any.
    pub source: Option<String>,
    pub todo: bool,
}

/// A placeholder the compiler rejects as an unknown column (or table), whose error then
/// says what is missing: `column "TODO: …" is not in any table of from`.
pub fn todo_ident(what: &str) -> String {
    format!("\"TODO: {}\"", what.replace('"', ""))
}

/// One V2 column's source, decided before expressions are written.
struct Source<'a> {
    column: &'a Column,
    how: How,
    conversion: Conversion,
}

/// Per matched pair: the column sources and the key strategy.
struct Pairing<'a> {
    v1: &'a Table,
    alias: String,
    sources: BTreeMap<String, Source<'a>>,
    /// For V2 columns without a source: the closest unused V1 column of a plausible type.
    hints: BTreeMap<String, (String, f64)>,
    key: Key,
}

pub fn build(v1: &Catalog, v2: &Catalog, source_schema: &str, target_schema: &str) -> Draft {
    let v2_tables: Vec<&Table> = v2
        .tables_in(target_schema)
        .filter(|t| t.partition_of.is_none())
        .collect();
    let v1_tables: Vec<&Table> = v1
        .tables_in(source_schema)
        .filter(|t| t.partition_of.is_none())
        .collect();
    let v2_names: Vec<&str> = v2_tables.iter().map(|t| t.name.name.as_str()).collect();
    let v1_names: Vec<&str> = v1_tables.iter().map(|t| t.name.name.as_str()).collect();
    let pairs = match_names(
        &v2_names,
        &v1_names,
        table_key,
        |_, _, _| true,
        TABLE_THRESHOLD,
    );

    let mut pairing: BTreeMap<QualName, (Pairing, How)> = BTreeMap::new();
    for p in &pairs {
        let (t2, t1) = (v2_tables[p.target], v1_tables[p.source]);
        pairing.insert(t2.name.clone(), (pair_columns(t1, t2, v1, v2), p.how));
    }

    let mut todos = Vec::new();
    let mut steps = Vec::new();
    let mut read: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for t2 in parents_first(&v2_tables, v2) {
        let partitions: Vec<String> = v2
            .tables_in(target_schema)
            .filter(|p| {
                p.partition_of
                    .as_ref()
                    .is_some_and(|(parent, _)| parent == &t2.name)
            })
            .map(|p| p.name.name.clone())
            .collect();
        let step = match pairing.get(&t2.name) {
            Some((pr, how)) => {
                let step = write_step(t2, pr, *how, &pairing, &mut todos);
                let used = read.entry(pr.v1.name.name.as_str()).or_default();
                used.extend(step.columns.iter().filter_map(|c| c.source.clone()));
                used.extend(step_reads(&step, pr));
                Step { partitions, ..step }
            }
            None => {
                todos.push(format!(
                    "table {}: no V1 table matches; written as a TODO step",
                    t2.name
                ));
                todo_step(t2, partitions)
            }
        };
        steps.push(step);
    }

    let dropped_tables = v1_tables
        .iter()
        .filter(|t| !read.contains_key(t.name.name.as_str()))
        .map(|t| t.name.name.clone())
        .collect();
    let dropped_columns = v1_tables
        .iter()
        .filter_map(|t| {
            let used = read.get(t.name.name.as_str())?;
            let unread: Vec<String> = t
                .columns
                .iter()
                .filter(|c| !used.contains(&c.name))
                .map(|c| c.name.clone())
                .collect();
            (!unread.is_empty()).then(|| (t.name.name.clone(), unread))
        })
        .collect();
    let secrets = v1_tables
        .iter()
        .filter(|t| read.contains_key(t.name.name.as_str()))
        .filter_map(|t| {
            let key = t
                .primary_key
                .as_ref()
                .map_or(&[][..], |k| k.columns.as_slice());
            let secret: Vec<String> = t
                .columns
                .iter()
                .filter(|c| crate::check::redact::looks_secret(&c.name) && !key.contains(&c.name))
                .map(|c| c.name.clone())
                .collect();
            (!secret.is_empty()).then(|| (t.name.name.clone(), secret))
        })
        .collect();
    let zone_dependent = pairing
        .iter()
        .flat_map(|(t2, (pr, _))| {
            pr.sources.iter().filter_map(move |(name, s)| {
                let to = v2.table(t2)?.column(name)?;
                let converted = !matches!(s.conversion, Conversion::Impossible(_));
                (converted
                    && depends_on_zone(
                        v1.base_type(&s.column.data_type),
                        v2.base_type(&to.data_type),
                    ))
                .then(|| format!("{}.{name}", t2.name))
            })
        })
        .collect();
    Draft {
        source_server: None,
        source_schema: source_schema.into(),
        target_schema: target_schema.into(),
        steps,
        dropped_tables,
        dropped_columns,
        secrets,
        todos,
        zone_dependent,
    }
}

/// V1 columns a step reads besides its `columns` lines: implicit copies and the key's `by`.
fn step_reads(step: &Step, pr: &Pairing) -> Vec<String> {
    let mut out: Vec<String> = step.copied.clone();
    if let Key::New { .. } = &step.key {
        out.extend(pr.v1.primary_key.iter().flat_map(|k| k.columns.clone()));
    }
    out
}

/// A short alias: the initials of the V1 table's words (`workout_plans` → `wp`).
fn alias_for(v1_table: &str) -> String {
    let snake = snake_case(v1_table);
    let mut alias: String = snake
        .split('_')
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_ascii_lowercase())
        .collect();
    if alias.is_empty() {
        alias = "t".into();
    }
    let keyword = sqlparser::keywords::ALL_KEYWORDS.contains(&alias.to_uppercase().as_str());
    if keyword || quote_ident(&alias) != alias {
        alias.push('1');
    }
    alias
}

fn pair_columns<'a>(t1: &'a Table, t2: &'a Table, v1: &Catalog, v2: &Catalog) -> Pairing<'a> {
    let alias = alias_for(&t1.name.name);
    let targets: Vec<&Column> = t2
        .columns
        .iter()
        .filter(|c| c.generated.is_none())
        .collect();
    let tn: Vec<&str> = targets.iter().map(|c| c.name.as_str()).collect();
    let sn: Vec<&str> = t1.columns.iter().map(|c| c.name.as_str()).collect();
    let conv = |t: usize, s: usize| {
        let col = &t1.columns[s];
        convert(
            &format!("{alias}.{}", quote_ident(&col.name)),
            &col.data_type,
            &targets[t].data_type,
            v1,
            v2,
        )
    };
    // A single-column foreign key may be filled through id() whatever the V1 type.
    let fk = |t: usize| {
        t2.foreign_keys
            .iter()
            .any(|fk| fk.columns.len() == 1 && fk.columns[0] == targets[t].name)
    };
    let eligible = |t: usize, s: usize, renamed: bool| {
        let c = conv(t, s);
        if renamed {
            c.plausible()
        } else {
            fk(t) || !matches!(c, Conversion::Impossible(_))
        }
    };
    let mut sources = BTreeMap::new();
    for p in match_names(&tn, &sn, column_key, eligible, COLUMN_THRESHOLD) {
        sources.insert(
            targets[p.target].name.clone(),
            Source {
                column: &t1.columns[p.source],
                how: p.how,
                conversion: conv(p.target, p.source),
            },
        );
    }
    let used: BTreeSet<&str> = sources
        .values()
        .map(|s: &Source| s.column.name.as_str())
        .collect();
    let mut hints = BTreeMap::new();
    for (t, target) in targets
        .iter()
        .enumerate()
        .filter(|(_, c)| !sources.contains_key(&c.name))
    {
        let plausible: Vec<&str> = (0..sn.len())
            .filter(|&s| !used.contains(sn[s]) && conv(t, s).plausible())
            .map(|s| sn[s])
            .collect();
        if let Some((name, score)) = closest(&target.name, &plausible, column_key, HINT) {
            hints.insert(target.name.clone(), (name.to_string(), score));
        }
    }
    let key = decide_key(t1, t2, &alias, &sources, v2);
    Pairing {
        v1: t1,
        alias,
        sources,
        hints,
        key,
    }
}

/// `keep` when V1 fills the whole V2 key as it is (or by an assignment or a safe cast);
/// else one fresh key per V1 primary key, made by V2's own default; else a TODO.
fn decide_key(
    t1: &Table,
    t2: &Table,
    alias: &str,
    sources: &BTreeMap<String, Source>,
    v2: &Catalog,
) -> Key {
    let Some(pk) = &t2.primary_key else {
        return Key::Todo(format!(
            "V2 table {} has no primary key; pgmig needs one to record migrated rows",
            t2.name
        ));
    };
    let filled = pk.columns.iter().all(|c| {
        sources
            .get(c)
            .is_some_and(|s| !matches!(s.conversion, Conversion::Impossible(_)))
    });
    if filled {
        return Key::Keep;
    }
    if pk.columns.len() != 1 {
        return Key::Todo(format!(
            "V1 does not fill the key ({}) of {}",
            pk.columns.join(", "),
            t2.name
        ));
    }
    let column = t2.column(&pk.columns[0]);
    let new = column.and_then(|c| match (&c.default, c.identity) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(_)) => v2
            .sequence_of(&t2.name, &c.name)
            .map(|s| format!("nextval({})", quote_literal(&s.to_string()))),
        (None, None) if c.data_type == "uuid" => Some("gen_random_uuid()".into()),
        _ => None,
    });
    let by: Option<Vec<String>> = t1.primary_key.as_ref().map(|k| {
        k.columns
            .iter()
            .map(|c| format!("{alias}.{}", quote_ident(c)))
            .collect()
    });
    match (new, by) {
        (Some(new), Some(by)) => Key::New { new, by },
        (None, _) => Key::Todo(format!(
            "V1 does not fill {}.{} and V2 gives it no default",
            t2.name.name, pk.columns[0]
        )),
        (Some(_), None) => Key::Todo(format!(
            "V1 table {} has no primary key to make one V2 key per row",
            t1.name
        )),
    }
}

fn write_step(
    t2: &Table,
    pr: &Pairing,
    how: How,
    pairing: &BTreeMap<QualName, (Pairing, How)>,
    todos: &mut Vec<String>,
) -> Step {
    let mut step = Step {
        table: t2.name.name.clone(),
        source: Some((pr.v1.name.name.clone(), how)),
        alias: pr.alias.clone(),
        key: pr.key.clone(),
        columns: Vec::new(),
        copied: Vec::new(),
        left_to_v2: Vec::new(),
        notes: Vec::new(),
        skipped: Vec::new(),
        partitions: Vec::new(),
    };
    if let Key::Todo(why) = &step.key {
        todos.push(format!("table {}: key: {why}", t2.name));
    }
    let new_key = match (&step.key, &t2.primary_key) {
        (Key::New { .. }, Some(pk)) => pk.columns.first().cloned(),
        _ => None,
    };
    for c in &t2.columns {
        if c.generated.is_some() {
            step.skipped.push(c.name.clone());
            continue;
        }
        if new_key.as_deref() == Some(c.name.as_str()) {
            continue;
        }
        let Some(src) = pr.sources.get(&c.name) else {
            if c.not_null && c.default.is_none() && c.identity.is_none() {
                let hint = pr
                    .hints
                    .get(&c.name)
                    .map(|(s, score)| {
                        format!(
                            "; maybe {}.{} (similarity {score:.2})?",
                            pr.alias,
                            quote_ident(s)
                        )
                    })
                    .unwrap_or_default();
                let comment =
                    format!("TODO: NOT NULL in V2, no default, no V1 column matches{hint}");
                todos.push(format!(
                    "column {}.{}: NOT NULL, no default and no V1 column",
                    t2.name, c.name
                ));
                step.columns.push(ColumnLine {
                    name: c.name.clone(),
                    expr: todo_ident(&format!("value for {}", c.name)),
                    comment: Some(comment),
                    source: None,
                    todo: true,
                });
            } else {
                step.left_to_v2.push(c.name.clone());
            }
            continue;
        };
        let base = format!("{}.{}", pr.alias, quote_ident(&src.column.name));
        let renamed = match src.how {
            How::Same => None,
            How::Normalized => Some(format!(
                "from {} (same name, other spelling)",
                src.column.name
            )),
            How::Similar(score) => Some(format!(
                "renamed from {}? similarity {score:.2}",
                src.column.name
            )),
        };
        // A foreign key to a table whose keys are made fresh: the key made for the V1 value.
        if let Some(parent) = fresh_key_parent(t2, &c.name, pairing) {
            step.columns.push(ColumnLine {
                name: c.name.clone(),
                expr: format!("id({}, {base})", quote_ident(&parent)),
                comment: Some(join_comments(
                    renamed,
                    Some(format!("the key step {parent} made for this V1 value")),
                )),
                source: Some(src.column.name.clone()),
                todo: false,
            });
            continue;
        }
        let (mut expr, mut note, todo) = match &src.conversion {
            Conversion::Assign(note) => (base.clone(), note.clone(), false),
            Conversion::Cast { expr, note, .. } => {
                (expr.clone(), Some(note.clone()), note.starts_with("TODO"))
            }
            Conversion::Impossible(why) => {
                todos.push(format!("column {}.{}: {why}", t2.name, c.name));
                (
                    todo_ident(&format!("convert {base}")),
                    Some(format!("TODO: {why}")),
                    true,
                )
            }
        };
        let nulls_in_v1 = !src.column.not_null && c.not_null;
        if nulls_in_v1 && !todo {
            match &c.default {
                Some(d) if c.identity.is_none() => {
                    expr = format!("coalesce({expr}, {d})");
                    note = Some(join_comments(note, Some("NULL in V1: V2's default instead".into())));
                }
                _ => step.notes.push(format!("{}: NULL in V1, NOT NULL in V2: precheck counts them (add a reject rule or a coalesce)", c.name)),
            }
        }
        if expr == base && src.how == How::Same {
            if let Some(n) = note {
                step.notes.push(format!("{}: {n}", c.name));
            }
            step.copied.push(c.name.clone());
            continue;
        }
        let comment = Some(join_comments(renamed, note)).filter(|s| !s.is_empty());
        step.columns.push(ColumnLine {
            name: c.name.clone(),
            expr,
            comment,
            source: Some(src.column.name.clone()),
            todo,
        });
    }
    step
}

fn join_comments(a: Option<String>, b: Option<String>) -> String {
    [a, b].into_iter().flatten().collect::<Vec<_>>().join("; ")
}

/// The V2 table a single-column foreign key of `column` references, when that table's step
/// makes fresh keys (`key: new`): copying the V1 value would point nowhere.
fn fresh_key_parent(
    t2: &Table,
    column: &str,
    pairing: &BTreeMap<QualName, (Pairing, How)>,
) -> Option<String> {
    let fk = t2
        .foreign_keys
        .iter()
        .find(|fk| fk.columns.len() == 1 && fk.columns[0] == column)?;
    let (parent, _) = pairing.get(&fk.references)?;
    let one_key = parent
        .v1
        .primary_key
        .as_ref()
        .is_some_and(|k| k.columns.len() == 1);
    (matches!(parent.key, Key::New { .. }) && one_key).then(|| fk.references.name.clone())
}

fn todo_step(t2: &Table, partitions: Vec<String>) -> Step {
    let mut step = Step {
        table: t2.name.name.clone(),
        source: None,
        alias: "t".into(),
        key: Key::Todo("no V1 source".into()),
        columns: Vec::new(),
        copied: Vec::new(),
        left_to_v2: Vec::new(),
        notes: Vec::new(),
        skipped: Vec::new(),
        partitions,
    };
    for c in &t2.columns {
        if c.generated.is_some() {
            step.skipped.push(c.name.clone());
        } else if c.not_null && c.default.is_none() && c.identity.is_none() {
            step.notes
                .push(format!("{}: NOT NULL, no default: needs a value", c.name));
        }
    }
    step
}
