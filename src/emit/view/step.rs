//! One step as the templates see it: its SQL pieces for migrate, precheck, verify, rollback and PLAN.md.

use super::hierarchy::HierarchyView;
use super::{
    castable_function, comment_text, human_bytes, human_seconds, lit, notice_text, INDENT,
};
use crate::catalog::quote_ident;
use crate::plan::{KeptWhy, Key, Origin, Redacted, RepairStrategy, RowKey, Step, REDACTED};
use crate::step_notice::{done_notice, DoneNotice};

#[derive(Debug, Clone)]
pub struct StepView {
    pub number: usize,
    pub total: usize,
    pub name: String,
    pub name_lit: String,
    pub name_notice: String,
    /// The NOTICE that ends the step in transaction mode (with its repairs, if any) and in
    /// batched mode (the four counts): what the runner parses back.
    pub done_notice: DoneNotice,
    pub done_notice_counts: DoneNotice,
    pub target: String,
    pub target_lit: String,
    pub line: usize,
    pub after: Vec<String>,
    /// `FROM …` with joins on their own lines, indented for a DO block body.
    pub from: String,
    /// `FROM …` indented for a Markdown list item, for PLAN.md.
    pub from_block: String,
    /// `from` plus, for `key: new`, the join to this step's id map (`key_map`), plus the joins
    /// to the recorded repairs of its values.
    pub from_keyed: String,
    /// `from_keyed` without the repair joins: what the repairs read.
    pub from_unrepaired: String,
    /// `from_unrepaired` joined to verify's own recomputation of each repair (the CTEs
    /// [`RepairView::recomputed`]) instead of what `_pgmig.changes` records.
    pub from_recomputed: String,
    pub repairs: Vec<RepairView>,
    /// Overwrite or create: the tables whose rows this step replaces, parents first.
    pub replace: Option<ReplaceView>,
    /// Per-entity mode: the entity of a source row (jsonb SQL), and whether the step is the root.
    pub entity: String,
    pub is_root: bool,
    /// A foreign key to the step's own table: the SQL putting its rows in hierarchy order.
    pub hierarchy: Option<HierarchyView>,
    /// Rows `where` keeps (rejected ones included): the root's candidate entities.
    pub kept: String,
    /// relink_json rules: (line, column, object as a literal, source array as jsonb), for precheck.
    pub relinks: Vec<(usize, String, String, String)>,
    /// `from` joined to this step's id map whatever the key strategy (batched mode reads
    /// each batch's keys from the map).
    pub from_batched: String,
    /// Batched mode: the table staging the step's rows, and its columns (`batch` and the
    /// target's columns with their V2 types, so values are converted as the insert would).
    pub stage_table: String,
    pub stage_columns: String,
    /// Batched mode: the procedure running this step's first part (counts, rejects, id map,
    /// stage).
    pub procedure: String,
    /// Batched mode: the procedure copying the staged batches; several sessions may run it
    /// at once (`pgmig run --jobs N`), each claiming batches from `queue_table`.
    pub batches_procedure: String,
    /// Batched mode: `_pgmig.queue_<step>`, one row per batch not yet committed.
    pub queue_table: String,
    /// The `where` condition, or `true`.
    pub filter: String,
    /// SQL counting the rows `where` filters out (`0` without a `where`).
    pub filtered_count: String,
    pub filter_line: usize,
    /// Rows that are neither filtered nor rejected.
    pub survivors: String,
    pub rejects: Vec<RejectView>,
    /// `warn:` rules; `condition` is the rows that migrate and match the rule.
    pub warnings: Vec<RejectView>,
    pub source_key: String,
    /// The V1 row as jsonb, its secret values replaced by the marker.
    pub source_row: String,
    /// For PLAN.md: the row's secret columns, each with what happens to it and why.
    pub secrets: Vec<String>,
    /// The V1 table of the rejected rows, as a literal (`NULL` when not one table).
    pub source_table_lit: String,
    pub map_table: String,
    pub map_table_lit: String,
    pub is_new_key: bool,
    /// Model line of `key: [COLUMN, …]` when V2 does not enforce that key (0 when it does):
    /// migrate and rollback then check that no other V2 row shares a migrated row's key.
    pub declared_key_line: usize,
    /// For PLAN.md: what makes the key columns tell the rows apart, when not the primary key.
    pub row_key_note: String,
    /// keep: `id uuid PRIMARY KEY, …` column definitions of the map.
    pub map_columns: String,
    /// keep: the key column list, for RETURNING and the map insert.
    pub key_list: String,
    /// keep: the key columns' expressions, named as the key columns.
    pub key_select: String,
    /// new: `SELECT DISTINCT` list of the by-expressions with their map names.
    pub by_select: String,
    pub by_columns: String,
    pub new_expr: String,
    /// The key precheck makes instead: same type, no side effect (precheck must not move
    /// a sequence, which ROLLBACK does not undo).
    pub precheck_new_expr: String,
    pub new_line: usize,
    pub key_column: String,
    pub insert_columns: String,
    pub select_list: String,
    pub overriding: bool,
    pub sequences: Vec<SequenceView>,
    pub analyze_map: bool,
    /// `t.k = mapped.k AND …`: a target row that this step made.
    pub made_here: String,
    /// Transaction mode's waves: the source row (in the step's keyed FROM) is not one an
    /// earlier wave migrated. New keys: its id map row is this wave's (`this_wave`, the step's
    /// variable); copied keys: its key is not in the id map yet.
    pub unmigrated: String,
    /// `jsonb_build_object('id', t.id)`: a migrated row's key as rollback names it.
    pub target_key_json: String,
    /// `t.k, …`: the key order of this step's target rows.
    pub key_order: String,
    pub expected_list: String,
    pub actual_list: String,
    pub compared: String,
    pub not_compared: Vec<String>,
    /// Row-level tests of V2 constraints (true: the row would break it), for precheck.
    pub findings: Vec<Finding>,
    /// Keys that must be unique among the migrated rows, for precheck.
    pub duplicates: Vec<Finding>,
    /// Precheck: the row's conversions all succeed (so evaluating its other expressions can't
    /// fail on a bad value: each cast is found once, by its own finding). `true` without casts.
    pub cast_guard: String,
    /// Foreign keys of migrated rows whose parent is missing, for verify (over alias `t`).
    pub orphans: Vec<Finding>,
    /// Columns left to a default that is not repeatable, for verify (over alias `t`): what
    /// can be checked of them (set; a time inside migrate's window).
    pub unrepeatable: Vec<Finding>,
    /// verify: columns of which nothing can be checked (a nullable value of a volatile rule),
    /// each said in a notice, without a query.
    pub unchecked: Vec<String>,
    pub columns: Vec<ColumnRow>,
    /// From a live V1: `~N rows, X MB in v1.t; about T s to migrate`; empty from DDL.
    pub size_line: String,
}

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
    pub table_notice: String,
    pub backup: String,
    pub backup_lit: String,
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

/// A uniqueness repair of one column, as migrate runs it before the step's insert.
#[derive(Debug, Clone)]
pub struct RepairView {
    pub column: String,
    pub column_lit: String,
    pub line: usize,
    /// `suffix` or `clear`.
    pub strategy: &'static str,
    pub original: String,
    /// The column holds a secret: `_pgmig.changes` records its old value as `'[redacted]'`.
    pub secret: bool,
    /// The V2 key of the row, as jsonb: what `_pgmig.changes` records.
    pub key_json: String,
    /// The row's place in line: its source key (`by` values, or the copied key), as jsonb.
    pub order_json: String,
    /// The new value of a repaired row `r` in round `r.n + 1`.
    pub next_value: String,
    /// `t.email = CAST(r.value AS text)`: the candidate is taken in V2.
    pub taken: String,
    /// verify's names for its recomputation: the CTE of the rounds, and the one of the
    /// changed values (key, old_value, new_value) that the content check joins.
    pub rounds: String,
    pub recomputed: String,
}

#[derive(Debug, Clone)]
pub struct RejectView {
    pub number: usize,
    pub reason_lit: String,
    pub reason_notice: String,
    pub reason_comment: String,
    pub line: usize,
    pub when: String,
    /// Filtered in, not caught by an earlier rule, caught by this one.
    pub condition: String,
}

#[derive(Debug, Clone)]
pub struct SequenceView {
    pub name: String,
    pub name_lit: String,
    pub column: String,
    /// Every V2 (table, column) drawing from it, quoted: migrate moves it past all of them.
    pub drawn_by: Vec<(String, String)>,
    /// The same as text for comments and notices: `public.a.id, public.b.id`.
    pub drawn_by_text: String,
}

impl SequenceView {
    pub fn new(s: &crate::plan::SequenceSync) -> SequenceView {
        let drawn_by: Vec<(String, String)> = s
            .drawn_by
            .iter()
            .map(|(t, c)| (t.to_string(), quote_ident(c)))
            .collect();
        SequenceView {
            name: s.sequence.to_string(),
            name_lit: lit(&s.sequence.to_string()),
            column: quote_ident(&s.column),
            drawn_by_text: drawn_by
                .iter()
                .map(|(t, c)| format!("{t}.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            drawn_by,
        }
    }
}

/// One constraint test: what it checks (for the reader) and the SQL that finds offenders.
#[derive(Debug, Clone)]
pub struct Finding {
    pub label: String,
    pub label_notice: String,
    pub test: String,
    /// The offending values are secret: precheck counts them and prints none.
    pub secret: bool,
}

impl Finding {
    pub(super) fn new(label: String, test: String) -> Finding {
        Finding {
            label_notice: notice_text(&label),
            label,
            test,
            secret: false,
        }
    }
}

/// The V1 row as jsonb (`to_jsonb(alias)`), the values of its redacted columns replaced by
/// the marker where the row has them (a subquery's `SELECT *` may not: nothing is added).
fn redacted_row(row: &str, redacted: &[Redacted]) -> String {
    let marker = lit(&format!("\"{REDACTED}\""));
    redacted.iter().fold(row.to_string(), |row, r| {
        format!(
            "pg_catalog.jsonb_set({row}, ARRAY[{}], {marker}, false)",
            lit(&r.column)
        )
    })
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

/// `a = (x) AND b = (y)` over two aliases' columns.
fn equal_all(alias: &str, columns: &[String], exprs: &[String]) -> String {
    columns
        .iter()
        .zip(exprs)
        .map(|(c, e)| format!("{alias}.{c} = ({e})"))
        .collect::<Vec<_>>()
        .join(" AND ")
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

impl StepView {
    pub(super) fn new(step: &Step, number: usize, total: usize, model: &str) -> StepView {
        let filter = step
            .filter
            .as_ref()
            .map_or("true".to_string(), |f| f.sql.clone());
        let from = {
            let mut lines = step.from.lines();
            let mut out = format!("FROM {}", lines.next().unwrap_or_default());
            for l in lines {
                out.push_str(&format!("\n{INDENT}     {l}"));
            }
            out
        };
        let sep = format!("\n{INDENT}  AND ");
        let mut rejects = Vec::new();
        let mut earlier: Vec<String> = Vec::new();
        // Rows `where` keeps; nothing to say when there is no `where`.
        let kept: Vec<String> = step
            .filter
            .iter()
            .map(|f| format!("coalesce(({}), false)", f.sql))
            .collect();
        for (i, r) in step.rejects.iter().enumerate() {
            let mut parts = kept.clone();
            parts.extend(earlier.iter().map(|e| not_coalesce(e)));
            parts.push(format!("coalesce(({}), false)", r.when.sql));
            rejects.push(RejectView {
                number: i + 1,
                reason_lit: r.reason_sql.clone().unwrap_or_else(|| lit(&r.reason)),
                reason_notice: notice_text(&r.reason),
                reason_comment: comment_text(&r.reason),
                line: r.when.line,
                when: r.when.sql.clone(),
                condition: parts.join(&sep),
            });
            earlier.push(r.when.sql.clone());
        }
        let mut survivors = kept.clone();
        survivors.extend(step.rejects.iter().map(|r| not_coalesce(&r.when.sql)));
        if survivors.is_empty() {
            survivors.push("true".into());
        }
        let warnings: Vec<RejectView> = step
            .warnings
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut parts = survivors.clone();
                parts.push(format!("coalesce(({}), false)", w.when.sql));
                RejectView {
                    number: i + 1,
                    reason_lit: lit(&w.reason),
                    reason_notice: notice_text(&w.reason),
                    reason_comment: comment_text(&w.reason),
                    line: w.when.line,
                    when: w.when.sql.clone(),
                    condition: parts.join(&sep),
                }
            })
            .collect();

        let key_cols: Vec<String> = match &step.key {
            Key::Keep { columns } => columns.clone(),
            Key::New { column, .. } => vec![column.clone()],
        };
        let made_here = key_cols
            .iter()
            .map(|k| format!("t.{0} = mapped.{0}", quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let target_key_json = format!(
            "jsonb_build_object({})",
            key_cols
                .iter()
                .map(|k| format!("{}, t.{}", lit(k), quote_ident(k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let type_of = |c: &str| {
            step.columns
                .iter()
                .find(|m| m.name == c)
                .map_or(String::new(), |m| m.target_type.clone())
        };
        let (map_columns, key_list) = (
            key_cols
                .iter()
                .map(|k| format!("{} {}", quote_ident(k), type_of(k)))
                .collect::<Vec<_>>()
                .join(", "),
            key_cols
                .iter()
                .map(|k| quote_ident(k))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let (is_new_key, by_select, by_columns, new_expr, new_line, key_column, key_join) =
            match &step.key {
                Key::New { column, new, by } => {
                    let select = by
                        .iter()
                        .map(|b| format!("{} AS {}", b.expr.sql, quote_ident(&b.column)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let cols = by
                        .iter()
                        .map(|b| quote_ident(&b.column))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let on = by
                        .iter()
                        .map(|b| format!("key_map.{} = {}", quote_ident(&b.column), b.expr.sql))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    let join = format!("JOIN {} AS key_map ON {on}", step.map_table);
                    (
                        true,
                        select,
                        cols,
                        new.sql.clone(),
                        new.line,
                        quote_ident(column),
                        join,
                    )
                }
                Key::Keep { .. } => (
                    false,
                    String::new(),
                    String::new(),
                    String::new(),
                    0,
                    String::new(),
                    String::new(),
                ),
            };
        let keep_join = key_cols
            .iter()
            .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
            .map(|c| format!("key_map.{} = {}", quote_ident(&c.name), c.expr))
            .collect::<Vec<_>>()
            .join(" AND ");
        let from_batched = if is_new_key {
            format!("{from}\n{INDENT}     {key_join}")
        } else {
            format!(
                "{from}\n{INDENT}     JOIN {} AS key_map ON {keep_join}",
                step.map_table
            )
        };
        let unmigrated = if is_new_key {
            "key_map.pgmig_wave = this_wave".to_string()
        } else {
            format!(
                "NOT EXISTS (SELECT 1 FROM {} AS key_map WHERE {keep_join})",
                step.map_table
            )
        };
        let from_unrepaired = if is_new_key {
            format!("{from}\n{INDENT}     {key_join}")
        } else {
            from.clone()
        };
        let key_json = match &step.key {
            Key::New { column, .. } => format!(
                "jsonb_build_object({}, key_map.{})",
                lit(column),
                quote_ident(column)
            ),
            Key::Keep { .. } => format!(
                "jsonb_build_object({})",
                key_cols
                    .iter()
                    .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
                    .map(|c| format!("{}, {}", lit(&c.name), c.expr))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let order_json = match &step.key {
            Key::New { by, .. } => format!(
                "jsonb_build_object({})",
                by.iter()
                    .map(|b| format!("{}, key_map.{}", lit(&b.column), quote_ident(&b.column)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Key::Keep { .. } => key_json.clone(),
        };
        let repairs: Vec<RepairView> = step
            .repairs
            .iter()
            .map(|r| RepairView {
                column: quote_ident(&r.column),
                column_lit: lit(&r.column),
                line: r.line,
                strategy: match r.strategy {
                    RepairStrategy::Suffix => "suffix",
                    RepairStrategy::Clear => "clear",
                },
                original: r.original.clone(),
                secret: r.secret,
                key_json: key_json.clone(),
                order_json: order_json.clone(),
                next_value: match r.strategy {
                    RepairStrategy::Suffix => "_pgmig.with_counter(r.original, r.n + 1)".into(),
                    RepairStrategy::Clear => "NULL".into(),
                },
                taken: format!(
                    "t.{} = CAST(r.value AS {})",
                    quote_ident(&r.column),
                    r.column_type
                ),
                rounds: quote_ident(&format!("pgmig_rounds_{}", r.column)),
                recomputed: quote_ident(&format!("pgmig_repaired_{}", r.column)),
            })
            .collect();
        // A replace key's text column compares lower-cased and trimmed (see check/replace.rs).
        let fold = |value: &str, folded: bool| {
            if folded {
                format!("lower(btrim({value}))")
            } else {
                value.to_string()
            }
        };
        let replace = step.replace.as_ref().map(|r| {
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
                            from_unrepaired.replace('\n', &format!("\n{INDENT}          ")),
                            survivors.join(&sep).replace('\n', &format!("\n{INDENT}        ")),
                        )
                    };
                    let entity_filter = format!("\n{INDENT}                AND ({}) = ANY (entities)", step.entity.clone().unwrap_or_default());
                    let wave_filter = format!("\n{INDENT}                AND {unmigrated}");
                    let (condition, entity_condition, wave_condition) = if i == 0 {
                        (matched(""), matched(&entity_filter), matched(&wave_filter))
                    } else {
                        let under_backed_up = |extra: &str| {
                            t.parents
                                .iter()
                                .map(|(parent, pairs)| {
                                    let on = pairs.iter().map(|(c, p)| format!("t.{} = p.{}", quote_ident(c), quote_ident(p))).collect::<Vec<_>>().join(" AND ");
                                    format!("EXISTS (SELECT 1 FROM {parent} AS p WHERE {on}{extra})")
                                })
                                .collect::<Vec<_>>()
                                .join(&format!("\n{INDENT}     OR "))
                        };
                        (under_backed_up(""), under_backed_up(""), under_backed_up(" AND p.pgmig_wave = this_wave"))
                    };
                    ReplacedView {
                        entity_condition,
                        wave_condition,
                        table: t.table.to_string(),
                        table_notice: notice_text(&t.table.to_string()),
                        backup: t.backup.to_string(),
                        backup_lit: lit(&t.backup.to_string()),
                        condition,
                        backed_up: t.primary_key.iter().map(|k| format!("t.{0} = b.{0}", quote_ident(k))).collect::<Vec<_>>().join(" AND "),
                        overriding: t.overriding,
                    }
                })
                .collect();
            let overwriting = format!(
                "({}) IN (SELECT {} FROM {} AS b)",
                r.exprs.iter().zip(&r.folded).map(|(e, f)| fold(e, *f)).collect::<Vec<_>>().join(", "),
                r.columns.iter().zip(&r.folded).map(|(c, f)| fold(&format!("b.{}", quote_ident(c)), *f)).collect::<Vec<_>>().join(", "),
                tables[0].backup,
            );
            ReplaceView {
                line: r.line,
                overwriting,
                key_list: r.columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
                tables_reversed: tables.iter().rev().cloned().collect(),
                tables,
            }
        });
        let repair_alias = |column: &str| quote_ident(&format!("repair_{column}"));
        let mut from_with_key = from_unrepaired.clone();
        let mut from_recomputed = from_unrepaired.clone();
        for (r, view) in step.repairs.iter().zip(&repairs) {
            let alias = repair_alias(&r.column);
            from_with_key.push_str(&format!(
                "\n{INDENT}     LEFT JOIN _pgmig.changes AS {alias} ON {alias}.model = {} AND {alias}.step = {} AND {alias}.column_name = {} AND {alias}.key = {key_json}",
                lit(model),
                lit(&step.name),
                lit(&r.column)
            ));
            from_recomputed.push_str(&format!(
                "\n{INDENT}     LEFT JOIN {} AS {alias} ON {alias}.key = {key_json}",
                view.recomputed
            ));
        }
        // A repaired column's value: the recorded new value where there is one.
        let value_of =
            |c: &crate::plan::ColumnMap| match step.repairs.iter().find(|r| r.column == c.name) {
                Some(r) => format!(
                    "CASE WHEN {0}.key IS NULL THEN {1} ELSE CAST({0}.new_value AS {2}) END",
                    repair_alias(&r.column),
                    c.expr,
                    c.target_type
                ),
                None => c.expr.clone(),
            };

        let insert_columns = step
            .columns
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let select_list = step
            .columns
            .iter()
            .map(value_of)
            .collect::<Vec<_>>()
            .join(&format!(",\n{INDENT}       "));
        let compared: Vec<_> = step.columns.iter().filter(|c| !c.volatile).collect();
        let comparable = |ty: &str, e: String| {
            if matches!(ty, "json" | "xml" | "point") {
                format!("({e})::text")
            } else {
                e
            }
        };
        // Columns left to a repeatable default are part of the expected row: the default, or NULL.
        let defaults: Vec<_> = step.defaulted.iter().filter(|d| !d.volatile).collect();
        let expected_list = compared
            .iter()
            .map(|c| {
                comparable(
                    &c.target_type,
                    format!("CAST({} AS {})", value_of(c), c.target_type),
                )
            })
            .chain(defaults.iter().map(|d| {
                comparable(
                    &d.target_type,
                    format!(
                        "CAST({} AS {})",
                        d.default.as_deref().unwrap_or("NULL"),
                        d.target_type
                    ),
                )
            }))
            .collect::<Vec<_>>()
            .join(&format!(",\n{INDENT}         "));
        let actual_list = compared
            .iter()
            .map(|c| comparable(&c.target_type, format!("t.{}", quote_ident(&c.name))))
            .chain(
                defaults
                    .iter()
                    .map(|d| comparable(&d.target_type, format!("t.{}", quote_ident(&d.name)))),
            )
            .collect::<Vec<_>>()
            .join(", ");
        let (checkable, unchecked): (Vec<_>, Vec<_>) = step
            .columns
            .iter()
            .filter(|c| c.volatile)
            .map(|c| unrepeatable_value(c, &step.target.to_string(), model))
            .partition(Result::is_ok);
        let unchecked = unchecked.into_iter().filter_map(Result::err).collect();
        let unrepeatable = checkable
            .into_iter()
            .filter_map(Result::ok)
            .chain(
                step.defaulted
                    .iter()
                    .filter(|d| d.volatile)
                    .map(|d| unrepeatable_default(d, model)),
            )
            .collect();
        let mut findings: Vec<Finding> = Vec::new();
        for c in step
            .columns
            .iter()
            .filter(|c| c.not_null && c.origin != Origin::NewKey)
        {
            findings.push(Finding::new(
                format!("{} NOT NULL", c.name),
                format!("({}) IS NULL", c.expr),
            ));
        }
        for c in &step.columns {
            let Some(n) = c
                .target_type
                .strip_prefix("character varying(")
                .and_then(|t| t.strip_suffix(')'))
            else {
                continue;
            };
            findings.push(Finding::new(
                format!("{} longer than {n} characters", c.name),
                format!("length(({})::text) > {n}", c.expr),
            ));
        }
        for c in &step.checks {
            findings.push(Finding::new(
                format!("CHECK {}", c.constraint),
                c.test.clone(),
            ));
        }
        let repaired = |u: &&crate::plan::UniqueTest| {
            step.repairs
                .iter()
                .any(|r| u.columns == [quote_ident(&r.column)])
        };
        // The V2 rows with the replace key's values are the ones replaced: no collision.
        let replaced = |u: &&crate::plan::UniqueTest| {
            step.replace.as_ref().is_some_and(|r| {
                let mut a: Vec<String> = r.columns.iter().map(|c| quote_ident(c)).collect();
                let mut b = u.columns.clone();
                a.sort();
                b.sort();
                a == b
            })
        };
        for u in step
            .uniques
            .iter()
            .filter(|u| !u.columns.is_empty() && !repaired(u) && !replaced(u))
        {
            let test = format!(
                "EXISTS (SELECT 1 FROM {} AS _existing WHERE {})",
                step.target,
                equal_all("_existing", &u.columns, &u.exprs)
            );
            findings.push(Finding::new(
                format!("UNIQUE {}: the value is already in V2", u.constraint),
                test,
            ));
        }
        for fk in &step.foreign_keys {
            let mut parts: Vec<String> = fk
                .exprs
                .iter()
                .map(|e| format!("({e}) IS NOT NULL"))
                .collect();
            parts.push(format!(
                "NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})",
                fk.parent,
                equal_all("_parent", &fk.parent_columns, &fk.exprs)
            ));
            for map in &fk.parent_maps {
                parts.push(format!(
                    "NOT EXISTS (SELECT 1 FROM {map} AS _parent_map WHERE {})",
                    equal_all("_parent_map", &fk.parent_columns, &fk.exprs)
                ));
            }
            findings.push(Finding::new(
                format!("FOREIGN KEY {}: no parent row", fk.constraint),
                parts.join(&format!("\n{INDENT}      AND ")),
            ));
        }
        let cast_guard = if step.casts.is_empty() {
            "true".to_string()
        } else {
            step.casts
                .iter()
                .map(|c| {
                    format!(
                        "(({}) IS NULL OR {}(({})::text))",
                        c.value,
                        castable_function(&c.type_name),
                        c.value
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        // Other tests run only on rows whose conversions succeed: CASE fixes the order.
        if !step.casts.is_empty() {
            for f in &mut findings {
                f.test = format!("CASE WHEN {cast_guard} THEN {} ELSE false END", f.test);
            }
        }
        for c in &step.casts {
            findings.push(Finding::new(
                format!("{}: {}", c.column, c.what),
                format!(
                    "({}) IS NOT NULL AND NOT {}(({})::text)",
                    c.value,
                    castable_function(&c.type_name),
                    c.value
                ),
            ));
        }
        let duplicates = step
            .uniques
            .iter()
            .filter(|u| !repaired(u))
            .map(|u| Finding {
                secret: u.secret,
                ..Finding::new(
                    format!(
                        "UNIQUE {}: duplicates among the migrated rows",
                        u.constraint
                    ),
                    u.exprs.join(", "),
                )
            })
            .collect();
        let orphans = step
            .foreign_keys
            .iter()
            .map(|fk| {
                let t_cols: Vec<String> = fk.columns.iter().map(|c| format!("t.{c}")).collect();
                let mut parts: Vec<String> =
                    t_cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
                parts.push(format!(
                    "NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})",
                    fk.parent,
                    equal_all("_parent", &fk.parent_columns, &t_cols)
                ));
                Finding::new(
                    format!("no orphans through {}", fk.constraint),
                    parts.join(" AND "),
                )
            })
            .collect();
        let columns = step
            .columns
            .iter()
            .map(|c| ColumnRow {
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
            })
            .collect();
        let key_select = key_cols
            .iter()
            .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
            .map(|c| format!("{} AS {}", c.expr, quote_ident(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        // A source without a key is named by its whole row: redacted as the row is.
        let source_key = if step.source_key == step.source_row {
            redacted_row(&step.source_key, &step.redacted)
        } else {
            step.source_key.clone()
        };
        let kept = if kept.is_empty() {
            "true".into()
        } else {
            kept.join(&sep)
        };
        let hierarchy = step.hierarchy.as_ref().map(|h| {
            let entity = step.entity.as_deref().unwrap_or("NULL::jsonb");
            HierarchyView::new(
                h,
                &from,
                &survivors.join(&sep),
                &kept,
                &key_select,
                &source_key,
                entity,
                &cast_guard,
            )
        });
        StepView {
            number,
            total,
            name: step.name.clone(),
            name_lit: lit(&step.name),
            name_notice: notice_text(&step.name),
            done_notice: done_notice(!step.repairs.is_empty()),
            done_notice_counts: done_notice(false),
            target: step.target.to_string(),
            target_lit: lit(&step.target.to_string()),
            line: step.line,
            after: step.after.iter().map(|d| format!("{} ({})", d.step, d.reason)).collect(),
            from_block: format!("FROM {}", step.from.lines().collect::<Vec<_>>().join("\n       ")),
            from,
            from_keyed: from_with_key,
            from_unrepaired,
            from_recomputed,
            repairs,
            replace,
            entity: step.entity.clone().unwrap_or_default(),
            is_root: step.entity.as_deref() == Some(step.source_key.as_str()),
            hierarchy,
            kept,
            relinks: step.relinks.iter().map(|r| (r.line, notice_text(&r.column), lit(&r.object), r.source.clone())).collect(),
            from_batched,
            stage_table: step.stage_table.to_string(),
            stage_columns: std::iter::once("batch bigint NOT NULL".to_string())
                .chain(step.columns.iter().map(|c| format!("{} {}", quote_ident(&c.name), c.target_type)))
                .collect::<Vec<_>>()
                .join(", "),
            procedure: format!("_pgmig.{}", quote_ident(&crate::check::names::derived("migrate_", &step.name))),
            batches_procedure: format!("_pgmig.{}", quote_ident(&crate::check::names::derived("batches_", &step.name))),
            queue_table: format!("_pgmig.{}", quote_ident(&crate::check::names::derived("queue_", &step.name))),
            filtered_count: step
                .filter
                .as_ref()
                .map_or("0".into(), |f| format!("count(*) FILTER (WHERE NOT coalesce(({}), false))", f.sql)),
            filter: filter.clone(),
            filter_line: step.filter.as_ref().map_or(0, |f| f.line),
            survivors: survivors.join(&sep),
            rejects,
            warnings,
            source_key,
            source_row: redacted_row(&step.source_row, &step.redacted),
            secrets: secret_lines(step),
            source_table_lit: step.source_table.as_ref().map_or("NULL".into(), |t| lit(&t.to_string())),
            map_table: step.map_table.to_string(),
            map_table_lit: lit(&step.map_table.to_string()),
            is_new_key,
            declared_key_line: match step.row_key {
                RowKey::Declared { line } => line,
                RowKey::Enforced { .. } => 0,
            },
            row_key_note: match &step.row_key {
                RowKey::Enforced { primary: true, .. } => String::new(),
                RowKey::Enforced { constraint, .. } => format!("UNIQUE `{constraint}` on NOT NULL columns (V2 has no primary key)"),
                RowKey::Declared { line } => format!(
                    "declared by `key:` (line {line}); V2 does not enforce it, so migrate refuses when another V2 row shares a migrated row's key, and rollback when one was written since"
                ),
            },
            map_columns,
            key_select,
            key_list,
            by_select,
            by_columns,
            precheck_new_expr: match &step.key {
                Key::New { column, .. } => {
                    let ty = type_of(column);
                    match ty.as_str() {
                        "smallint" | "integer" | "bigint" | "numeric" => format!("(row_number() OVER ())::{ty}"),
                        "uuid" => "gen_random_uuid()".to_string(),
                        _ => new_expr.clone(),
                    }
                }
                Key::Keep { .. } => String::new(),
            },
            new_expr,
            new_line,
            key_column,
            insert_columns,
            select_list,
            overriding: step.overriding_system_value,
            sequences: step.sequences.iter().map(SequenceView::new).collect(),
            analyze_map: step.map_read_later,
            key_order: key_cols.iter().map(|k| format!("t.{}", quote_ident(k))).collect::<Vec<_>>().join(", "),
            made_here,
            unmigrated,
            target_key_json,
            expected_list,
            actual_list,
            compared: compared.iter().map(|c| c.name.clone()).chain(defaults.iter().map(|d| format!("{} (default)", d.name))).collect::<Vec<_>>().join(", "),
            not_compared: step
                .columns
                .iter()
                .filter(|c| c.volatile)
                .map(|c| c.name.clone())
                .chain(step.defaulted.iter().filter(|d| d.volatile).map(|d| format!("{} (default)", d.name)))
                .collect(),
            unrepeatable,
            unchecked,
            findings,
            duplicates,
            cast_guard,
            orphans,
            columns,
            size_line: match (&step.source_table, step.source_size) {
                (Some(t), Some(size)) => format!(
                    "~{} rows, {} in `{t}`; about {} to migrate at {} rows/s",
                    size.rows,
                    human_bytes(size.bytes),
                    human_seconds(size.rows as f64 / crate::stats::MIGRATE_ROWS_PER_SECOND as f64),
                    crate::stats::MIGRATE_ROWS_PER_SECOND
                ),
                _ => String::new(),
            },
        }
    }
}

/// What verify checks of a column the model fills with a value no one can recompute: for a
/// fresh value of a known function (a random uuid, the bcrypt hash of a random password),
/// that it is set, that no other row of `table` has it, and its form; for another volatile
/// rule, that it is set when V2 says NOT NULL, and a time made by a bare `now()` (or one of
/// its kin) inside migrate's window. `Err`: nothing can be checked; the notice's text.
fn unrepeatable_value(
    c: &crate::plan::ColumnMap,
    table: &str,
    model: &str,
) -> Result<Finding, String> {
    let name = &c.name;
    let column = quote_ident(name);
    let Some(fresh) = &c.fresh else {
        const NOT_REPEATABLE: &str =
            "not comparable (not repeatable: a function gives another value on each call)";
        let mut test = Vec::new();
        let mut checked = Vec::new();
        if c.not_null {
            test.push(format!("t.{column} IS NULL"));
            checked.push("set");
        }
        if c.target_type.starts_with("timestamp") && is_current_time(&c.expr) {
            test.push(inside_migrate_window(&format!("t.{column}"), model));
            checked.push("inside migrate's time window");
        }
        if test.is_empty() {
            return Err(format!("{name} {NOT_REPEATABLE}; nothing else to check"));
        }
        return Ok(Finding::new(
            format!("{name} {NOT_REPEATABLE}; checked: {}", checked.join(", ")),
            test.join(&format!("\n{INDENT}     OR ")),
        ));
    };
    let mut test = format!(
        "t.{column} IS NULL\n{INDENT}     OR EXISTS (SELECT 1 FROM {table} AS other WHERE other.{column} = t.{column} AND other.ctid <> t.ctid)"
    );
    let mut checked = "set, no other row has it".to_string();
    if let Some(pattern) = &fresh.pattern {
        test.push_str(&format!(
            "\n{INDENT}     OR CAST(t.{column} AS text) !~ {}",
            lit(pattern)
        ));
        checked.push_str(&format!(", {}", fresh.form));
    }
    Ok(Finding::new(
        format!("{name} ({}) not comparable; checked: {checked}", fresh.call),
        test,
    ))
}

/// The expression (as the step inserts it, maybe cast) is the current time and nothing else:
/// its value lies inside migrate's window.
fn is_current_time(expr: &str) -> bool {
    let mut e = expr.trim().to_ascii_lowercase();
    if let Some(inner) = e.strip_prefix("cast(").and_then(|x| x.rsplit_once(" as ")) {
        e = inner.0.trim().to_string();
    }
    let e = e.strip_prefix("pg_catalog.").unwrap_or(&e);
    [
        "now()",
        "current_timestamp",
        "localtimestamp",
        "clock_timestamp()",
        "statement_timestamp()",
        "transaction_timestamp()",
    ]
    .contains(&e)
}

/// The test (over a time `column`) that it lies outside migrate's window: after the start of
/// migrate (`_pgmig.targets.counted_at`), before its end.
fn inside_migrate_window(column: &str, model: &str) -> String {
    let model = lit(model);
    format!(
        "CAST({column} AS timestamptz) < (SELECT min(b.counted_at) FROM _pgmig.targets AS b WHERE b.model = {model})\n{INDENT}     OR CAST({column} AS timestamptz) > (SELECT max(l.finished_at) FROM _pgmig.log AS l WHERE l.model = {model} AND l.script = 'migrate' AND l.status = 'done')"
    )
}

/// What verify checks of a column left to a non-repeatable default: it is set (a default
/// always sets it), and a time lies between the start of migrate (`_pgmig.targets.counted_at`)
/// and its end.
fn unrepeatable_default(d: &crate::plan::DefaultedColumn, model: &str) -> Finding {
    let (name, target_type) = (&d.name, &d.target_type);
    let what = d
        .default
        .as_deref()
        .map_or("identity".to_string(), |x| format!("default {x}"));
    let column = format!("t.{}", quote_ident(name));
    let mut test = format!("{column} IS NULL");
    let mut checked = "set";
    if target_type.starts_with("timestamp") {
        test.push_str(&format!(
            "\n{INDENT}     OR {}",
            inside_migrate_window(&column, model)
        ));
        checked = "set, inside migrate's time window";
    }
    Finding::new(
        format!("{name} ({what}) not comparable; checked: {checked}"),
        test,
    )
}

fn not_coalesce(cond: &str) -> String {
    format!("NOT coalesce(({cond}), false)")
}
