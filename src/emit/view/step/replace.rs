//! Overwrite or create (check/replace.rs): the V2 rows a step replaces, as migrate backs
//! them up and deletes them and rollback restores them.

use super::super::INDENT;
use super::keys::KeysView;
use super::rejects::RejectsView;
use crate::catalog::quote_ident;
use crate::plan::Step;
use crate::sql_text::indent;

/// Overwrite or create, as migrate backs up and deletes the replaced rows and rollback restores them.
#[derive(Debug, Clone)]
pub struct ReplaceView {
    pub line: usize,
    /// A migrated row (in the step's FROM) whose key matched a backed-up row: it overwrites one.
    pub overwriting: String,
    pub key_list: String,
    /// Parents first.
    pub tables: Vec<ReplacedView>,
    /// Children first (the delete order).
    pub tables_reversed: Vec<ReplacedView>,
}

#[derive(Debug, Clone)]
pub struct ReplacedView {
    pub table: String,
    pub backup: String,
    /// `WHERE …` of the rows to back up: matched by key (the step's table) or under a backed-up row.
    pub condition: String,
    /// The same, for per-entity mode: matched by the key of the entities being migrated.
    pub entity_condition: String,
    /// The same, for transaction mode's waves: matched by the rows this wave migrates, or
    /// under a row this wave backed up.
    pub wave_condition: String,
    /// `t.id = b.id`: a row of the table that is in the backup.
    pub backed_up: String,
    pub overriding: bool,
}

/// A backup of replaced rows as the seals see it (templates/seal.sql): migrate seals it, verify
/// checks it, rollback refuses to restore from it once changed.
#[derive(Debug, Clone)]
pub struct SealedBackupView {
    pub backup: String,
    /// Its subject in `_pgmig.seals`.
    pub subject: String,
    /// The digest of its rows (alias `b`), the same expression wherever it is taken.
    pub digest: &'static str,
}

impl SealedBackupView {
    /// Every backup of `steps`' replaced rows, in step order, parents first.
    pub fn all(steps: &[super::StepView]) -> Vec<SealedBackupView> {
        steps
            .iter()
            .flat_map(|s| s.replace.iter().flat_map(|x| &x.tables))
            .map(|t| SealedBackupView {
                backup: t.backup.clone(),
                subject: format!("backup {}", t.backup),
                digest: "md5(coalesce(string_agg(b::text, E'\\n' ORDER BY b::text), ''))",
            })
            .collect()
    }
}

impl ReplaceView {
    pub(super) fn new(step: &Step, keys: &KeysView, rejects: &RejectsView) -> Option<ReplaceView> {
        let r = step.replace.as_ref()?;
        // A replace key's text column compares lower-cased and trimmed (see check/replace.rs).
        let fold = |value: &str, folded: bool| {
            if folded {
                format!("lower(btrim({value}))")
            } else {
                value.to_string()
            }
        };
        let tables: Vec<ReplacedView> = r
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let matched = |extra: &str| {
                    format!(
                        "({}) IN (SELECT {}\n{INDENT}                {}\n{INDENT}              WHERE {}{extra})",
                        r.columns.iter().zip(&r.folded).map(|(c, f)| fold(&format!("t.{}", quote_ident(c)), *f)).collect::<Vec<_>>().join(", "),
                        r.exprs.iter().zip(&r.folded).map(|(e, f)| fold(e, *f)).collect::<Vec<_>>().join(", "),
                        indent(&keys.from_unrepaired, &format!("{INDENT}          ")),
                        indent(&rejects.survivors, &format!("{INDENT}        ")),
                    )
                };
                let entity_filter = format!(
                    "\n{INDENT}                AND ({}) = ANY (entities)",
                    step.entity.clone().unwrap_or_default()
                );
                let wave_filter = format!("\n{INDENT}                AND {}", keys.unmigrated);
                let (condition, entity_condition, wave_condition) = if i == 0 {
                    (matched(""), matched(&entity_filter), matched(&wave_filter))
                } else {
                    let under_backed_up = |extra: &str| {
                        t.parents
                            .iter()
                            .map(|(parent, pairs)| {
                                let on = pairs
                                    .iter()
                                    .map(|(c, p)| {
                                        format!("t.{} = p.{}", quote_ident(c), quote_ident(p))
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" AND ");
                                format!("EXISTS (SELECT 1 FROM {parent} AS p WHERE {on}{extra})")
                            })
                            .collect::<Vec<_>>()
                            .join(&format!("\n{INDENT}     OR "))
                    };
                    (
                        under_backed_up(""),
                        under_backed_up(""),
                        under_backed_up(" AND p.pgmig_wave = this_wave"),
                    )
                };
                ReplacedView {
                    entity_condition,
                    wave_condition,
                    table: t.table.to_string(),
                    backup: t.backup.to_string(),
                    condition,
                    backed_up: t
                        .primary_key
                        .iter()
                        .map(|k| format!("t.{0} = b.{0}", quote_ident(k)))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                    overriding: t.overriding,
                }
            })
            .collect();
        let overwriting = format!(
            "({}) IN (SELECT {} FROM {} AS b)",
            r.exprs
                .iter()
                .zip(&r.folded)
                .map(|(e, f)| fold(e, *f))
                .collect::<Vec<_>>()
                .join(", "),
            r.columns
                .iter()
                .zip(&r.folded)
                .map(|(c, f)| fold(&format!("b.{}", quote_ident(c)), *f))
                .collect::<Vec<_>>()
                .join(", "),
            tables[0].backup,
        );
        Some(ReplaceView {
            line: r.line,
            overwriting,
            key_list: r
                .columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            tables_reversed: tables.iter().rev().cloned().collect(),
            tables,
        })
    }
}
