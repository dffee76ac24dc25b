//! The statements PostgreSQL is asked to prepare for a plan: each step's pieces as the
//! scripts use them, one model value per statement so an error names its model line.

use crate::catalog::QualName;
use crate::plan::{Key, Origin, Plan};

/// One statement and the model value behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The step the statement belongs to, or the assertion's name.
    pub step: String,
    /// What of the step it checks, for the message: `column expires_at`, `reject rule 1`…
    pub what: String,
    /// The model line of the value (the step's line for the whole insert).
    pub line: usize,
    pub sql: String,
    /// Executed, not prepared: the step's id map, which later steps' `from` joins. Made in
    /// the check's transaction only: a table of the key columns, or (`key: {new: …}`) a view,
    /// whose query is analyzed, never planned nor run. The map's name: one that already
    /// exists (a live V2 migrated before) is used as it is.
    pub defines: Option<QualName>,
    /// The step's whole INSERT: checked only when each of its values passed, since an error
    /// in a value would only be repeated here.
    pub whole: bool,
}

/// Every probe, in load order: per step its `where`, reject rules, key expressions, id map,
/// mapped columns and its whole INSERT; then the `verify` assertions.
pub fn of(plan: &Plan) -> Vec<Probe> {
    let mut probes = Vec::new();
    for s in &plan.steps {
        let probe = |what: String, line: usize, sql: String| Probe {
            step: s.name.clone(),
            what,
            line,
            sql,
            defines: None,
            whole: false,
        };
        let from = format!("FROM {}", s.from);
        if let Some(f) = &s.filter {
            probes.push(probe(
                "`where`".into(),
                f.line,
                format!("SELECT 1 {from} WHERE ({})", f.sql),
            ));
        }
        for (i, r) in s.rejects.iter().enumerate() {
            probes.push(probe(
                format!("reject rule {}", i + 1),
                r.when.line,
                format!("SELECT 1 {from} WHERE ({})", r.when.sql),
            ));
        }
        let survivors = survivors(s);
        let key_join = match &s.key {
            Key::New { column, new, by } => {
                for b in by {
                    probes.push(probe(
                        format!("key `by` {}", b.column),
                        b.expr.line,
                        format!("SELECT {} {from}", b.expr.sql),
                    ));
                }
                let select = by
                    .iter()
                    .map(|b| format!("{} AS {}", b.expr.sql, ident(&b.column)))
                    .collect::<Vec<_>>()
                    .join(", ");
                // A view: analyzed, never planned (planning folds constant calls, running them).
                let map = format!(
                    "CREATE VIEW {} AS SELECT keys.*, {} AS {} FROM (SELECT DISTINCT {select} {from} WHERE {survivors}) AS keys",
                    s.map_table,
                    new.sql,
                    ident(column)
                );
                probes.push(Probe {
                    defines: Some(s.map_table.clone()),
                    ..probe("key `new`".into(), new.line, map)
                });
                let on = by
                    .iter()
                    .map(|b| format!("key_map.{} = {}", ident(&b.column), b.expr.sql))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                format!(" JOIN {} AS key_map ON {on}", s.map_table)
            }
            Key::Keep { columns } => {
                let type_of = |c: &str| {
                    s.columns
                        .iter()
                        .find(|m| m.name == c)
                        .map_or(String::new(), |m| m.target_type.clone())
                };
                let defs = columns
                    .iter()
                    .map(|c| format!("{} {}", ident(c), type_of(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                probes.push(Probe {
                    defines: Some(s.map_table.clone()),
                    ..probe(
                        "id map".into(),
                        s.line,
                        format!("CREATE TABLE {} ({defs})", s.map_table),
                    )
                });
                String::new()
            }
        };
        for c in &s.columns {
            if let Origin::Model(line) = c.origin {
                probes.push(probe(
                    format!("column {}", c.name),
                    line,
                    format!("SELECT {} {from}{key_join}", c.expr),
                ));
            }
        }
        // The insert as a whole: every value assigned to its V2 column (repaired values
        // read pgmig's change log, which only migrate makes: their columns were probed above).
        if s.repairs.is_empty() {
            let columns = s
                .columns
                .iter()
                .map(|c| ident(&c.name))
                .collect::<Vec<_>>()
                .join(", ");
            let values = s
                .columns
                .iter()
                .map(|c| c.expr.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let overriding = if s.overriding_system_value {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            };
            let insert = format!("INSERT INTO {} ({columns}){overriding} SELECT {values} {from}{key_join} WHERE {survivors}", s.target);
            probes.push(Probe {
                whole: true,
                ..probe("insert".into(), s.line, insert)
            });
        }
    }
    for a in &plan.assertions {
        probes.push(Probe {
            step: a.name.clone(),
            what: "assertion".into(),
            line: a.line,
            sql: a.query.clone(),
            defines: None,
            whole: false,
        });
    }
    probes
}

/// The rows neither filtered nor rejected, as the scripts test them.
fn survivors(s: &crate::plan::Step) -> String {
    let kept = s
        .filter
        .iter()
        .map(|f| format!("coalesce(({}), false)", f.sql));
    let not_rejected = s
        .rejects
        .iter()
        .map(|r| format!("NOT coalesce(({}), false)", r.when.sql));
    let all: Vec<String> = kept.chain(not_rejected).collect();
    if all.is_empty() {
        "true".into()
    } else {
        all.join(" AND ")
    }
}

fn ident(name: &str) -> String {
    crate::catalog::quote_ident(name)
}

/// The V1 tables the plan reads, as the scripts name them (where they must exist for a
/// check in V2's database).
pub fn v1_tables(plan: &Plan) -> Vec<QualName> {
    plan.v1_tables
        .iter()
        .map(|(t, _)| QualName::new(&plan.read_schema, &t.name))
        .collect()
}
