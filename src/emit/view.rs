//! The plan as the templates see it: every piece of SQL ready to print.

use crate::catalog::quote_ident;
use crate::plan::{Key, Origin, Plan, RepairStrategy, Step};

/// Text inside a `RAISE` format string literal: quotes doubled, `%` escaped.
pub fn notice_text(s: &str) -> String {
    s.replace('\'', "''").replace('%', "%%")
}

/// Text on one line, for a `--` comment or a Markdown line.
pub fn comment_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[derive(Debug, Clone)]
pub struct PlanView {
    pub model: String,
    pub model_lit: String,
    pub model_file: String,
    pub source_schema: String,
    pub target_schema: String,
    pub steps: Vec<StepView>,
    /// Reference rows, parents first.
    pub references: Vec<ReferenceView>,
    /// `--entities`: the scripts cover these steps of the model only.
    pub subset: Option<SubsetView>,
    /// The transform library's SQL, when a step calls it; empty otherwise.
    pub library: String,
    /// The V2 tables the steps fill, each once, in load order.
    pub targets: Vec<String>,
    pub assertions: Vec<AssertionView>,
    pub version: &'static str,
    /// V1 tables no step reads, and the V2 columns filled through a lossy cast.
    pub unread_tables: Vec<String>,
    pub unread_columns: Vec<String>,
    pub lossy: Vec<String>,
    /// From a live V1: the estimated window for all steps; empty from DDL.
    pub window: String,
    /// V1 on another server: the fdw server, V1's schema there, the staging schema here, and
    /// the tables to import. `None` when V1 is in the target database.
    pub server: Option<ServerView>,
    /// Precheck's conversion helpers: (function, type).
    pub castable: Vec<(String, String)>,
    /// Every V1 table the steps read, as the scripts name it, with its key (for a stable order).
    pub v1_tables: Vec<(String, String, String)>,
    /// Batched mode: the default batch size (`-v batch_size=` overrides it); 0 in transaction mode.
    pub batch_size: u64,
    /// Per-entity mode: entities per commit (`-v entity_batch=` overrides it); 0 otherwise.
    pub entity_size: u64,
    /// Per-entity mode: the procedure migrating a set of entities, and the one driving it.
    pub entity_procedure: String,
    pub entity_driver: String,
}

/// A subset of the model's steps, as the scripts' guards and bookkeeping name them.
#[derive(Debug, Clone)]
pub struct SubsetView {
    pub label: String,
    pub label_notice: String,
    /// The log row of a migrate of this subset: `'(entities: schools,teachers)'`.
    pub marker_lit: String,
    /// `('a'), ('b')` rows of: the subset's steps, the steps it needs, the steps that need it,
    /// the model's other steps, and all of them.
    pub steps_values: String,
    pub prerequisites_values: String,
    pub dependents_values: String,
    pub others_values: String,
    pub all_values: String,
    /// `'a', 'b'`: the subset's steps, and the sequences they move.
    pub steps_list: String,
    pub sequences_list: String,
    pub prerequisite_lines: Vec<String>,
    pub prerequisites_notice: String,
}

impl SubsetView {
    fn new(u: &crate::plan::Subset, plan: &Plan) -> SubsetView {
        let values = |names: &mut dyn Iterator<Item = &String>| names.map(|n| format!("({})", lit(n))).collect::<Vec<_>>().join(", ");
        let included: Vec<&String> = plan.steps.iter().map(|s| &s.name).collect();
        let label = u.entities.join(",");
        SubsetView {
            label_notice: notice_text(&label),
            marker_lit: lit(&format!("(entities: {label})")),
            steps_values: values(&mut included.iter().copied()),
            prerequisites_values: values(&mut u.prerequisites.iter().map(|d| &d.step)),
            dependents_values: values(&mut u.dependents.iter()),
            others_values: values(&mut u.all_steps.iter().filter(|s| !included.contains(s))),
            all_values: values(&mut u.all_steps.iter()),
            steps_list: included.iter().map(|n| lit(n)).collect::<Vec<_>>().join(", "),
            sequences_list: plan.steps.iter().flat_map(|s| s.sequences.iter().map(|q| lit(&q.sequence.to_string()))).collect::<Vec<_>>().join(", "),
            prerequisite_lines: u.prerequisites.iter().map(|d| comment_text(&format!("{} ({})", d.step, d.reason))).collect(),
            prerequisites_notice: notice_text(&u.prerequisites.iter().map(|d| d.step.as_str()).collect::<Vec<_>>().join(", ")),
            label,
        }
    }
}

/// One reference table's rows, as migrate inserts them, verify finds them and rollback removes them.
#[derive(Debug, Clone)]
pub struct ReferenceView {
    pub table: String,
    pub table_lit: String,
    pub table_notice: String,
    pub line: usize,
    /// `(code)`: the natural key, for comments and ON CONFLICT.
    pub key_list: String,
    /// `code, name, user_type_id`: the columns the rows give.
    pub column_list: String,
    /// `VALUES` rows, one per line.
    pub values: String,
    /// The insert's select list and parent joins (a parent named by its natural key).
    pub select_list: String,
    pub parent_joins: Vec<String>,
    pub primary_key_list: String,
    /// `jsonb_build_object('id', id)` over the inserted rows.
    pub primary_key_json: String,
    /// `t.id = (r.key ->> 'id')::integer AND …`: a row migrate inserted.
    pub inserted_here: String,
    /// `t.code = w.code AND …`: a wanted row is there (parents named by natural key resolved).
    pub present: String,
    /// One `NOT EXISTS (…)` per V2 foreign key pointing here: nothing uses the row.
    pub unused: Vec<String>,
    pub rows: usize,
    pub sequences: Vec<SequenceView>,
}

impl ReferenceView {
    fn new(r: &crate::plan::Reference) -> ReferenceView {
        let q = |c: &String| quote_ident(c);
        let list = |cols: &[String]| cols.iter().map(q).collect::<Vec<_>>().join(", ");
        let names: Vec<String> = r.columns.iter().map(|c| c.name.clone()).collect();
        let mut parent_joins = Vec::new();
        let select: Vec<String> = r
            .columns
            .iter()
            .map(|c| match &c.parent {
                Some((table, key_col, referenced)) => {
                    let alias = quote_ident(&format!("parent_{}", c.name));
                    parent_joins.push(format!("LEFT JOIN {table} AS {alias} ON {alias}.{} = w.{}", q(key_col), q(&c.name)));
                    format!("{alias}.{}", q(referenced))
                }
                None => format!("w.{}", q(&c.name)),
            })
            .collect();
        let pk_names: Vec<String> = r.primary_key.iter().map(|(k, _)| k.clone()).collect();
        ReferenceView {
            table: r.table.to_string(),
            table_lit: lit(&r.table.to_string()),
            table_notice: notice_text(&r.table.to_string()),
            line: r.line,
            key_list: list(&r.key),
            column_list: list(&names),
            values: r.rows.iter().map(|row| format!("({})", row.join(", "))).collect::<Vec<_>>().join(&format!(",\n{INDENT}       ")),
            select_list: select.join(", "),
            parent_joins,
            primary_key_list: list(&pk_names),
            primary_key_json: format!("jsonb_build_object({})", pk_names.iter().map(|k| format!("{}, {}", lit(k), q(k))).collect::<Vec<_>>().join(", ")),
            inserted_here: r
                .primary_key
                .iter()
                .map(|(k, ty)| format!("t.{} = CAST(r.key ->> {} AS {ty})", q(k), lit(k)))
                .collect::<Vec<_>>()
                .join(" AND "),
            present: r
                .key
                .iter()
                .map(|k| format!("t.{} = {}", q(k), names.iter().position(|n| n == k).map_or(String::new(), |i| select[i].clone())))
                .collect::<Vec<_>>()
                .join(" AND "),
            unused: r
                .referenced_by
                .iter()
                .map(|(child, cols, refd)| {
                    let on = cols.iter().zip(refd).map(|(c, p)| format!("c.{} = t.{}", q(c), q(p))).collect::<Vec<_>>().join(" AND ");
                    format!("NOT EXISTS (SELECT 1 FROM {child} AS c WHERE {on})")
                })
                .collect(),
            rows: r.rows.len(),
            sequences: r
                .sequences
                .iter()
                .map(|s| SequenceView { name: s.sequence.to_string(), name_lit: lit(&s.sequence.to_string()), column: quote_ident(&s.column) })
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AssertionView {
    pub name_notice: String,
    pub name_comment: String,
    pub line: usize,
    pub query: String,
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub number: usize,
    pub total: usize,
    pub name: String,
    pub name_lit: String,
    pub name_notice: String,
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
    pub repairs: Vec<RepairView>,
    /// Overwrite or create: the tables whose rows this step replaces, parents first.
    pub replace: Option<ReplaceView>,
    /// Per-entity mode: the entity of a source row (jsonb SQL), and whether the step is the root.
    pub entity: String,
    pub is_root: bool,
    /// Rows `where` keeps (rejected ones included): the root's candidate entities.
    pub kept: String,
    /// relink_json rules: (line, column, object as a literal, source array as jsonb), for precheck.
    pub relinks: Vec<(usize, String, String, String)>,
    /// `from` joined to this step's id map whatever the key strategy (batched mode reads
    /// each batch's keys from the map).
    pub from_batched: String,
    /// Batched mode: the procedure running this step.
    pub procedure: String,
    /// The `where` condition, or `true`.
    pub filter: String,
    /// SQL counting the rows `where` filters out (`0` without a `where`).
    pub filtered_count: String,
    pub filter_line: usize,
    /// Rows that are neither filtered nor rejected.
    pub survivors: String,
    pub rejects: Vec<RejectView>,
    pub source_key: String,
    pub source_row: String,
    /// The V1 table of the rejected rows, as a literal (`NULL` when not one table).
    pub source_table_lit: String,
    pub map_table: String,
    pub map_table_lit: String,
    pub is_new_key: bool,
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
    pub columns: Vec<ColumnRow>,
    /// From a live V1: `~N rows, X MB in v1.t; about T s to migrate`; empty from DDL.
    pub size_line: String,
}

/// Overwrite or create, as migrate backs up and deletes the replaced rows and rollback restores them.
#[derive(Debug, Clone)]
pub struct ReplaceView {
    pub line: usize,
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
    /// The V2 key of the row, as jsonb: what `_pgmig.changes` records.
    pub key_json: String,
    /// The row's place in line: its source key (`by` values, or the copied key), as jsonb.
    pub order_json: String,
    /// The new value of a repaired row `r` in round `r.n + 1`.
    pub next_value: String,
    /// `t.email = CAST(r.value AS text)`: the candidate is taken in V2.
    pub taken: String,
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
}

#[derive(Debug, Clone)]
pub struct ServerView {
    pub name: String,
    pub server: String,
    pub remote_schema: String,
    pub staging_schema: String,
    pub tables: String,
}

/// One constraint test: what it checks (for the reader) and the SQL that finds offenders.
#[derive(Debug, Clone)]
pub struct Finding {
    pub label: String,
    pub label_notice: String,
    pub test: String,
}

impl Finding {
    fn new(label: String, test: String) -> Finding {
        Finding { label_notice: notice_text(&label), label, test }
    }
}

/// `a = (x) AND b = (y)` over two aliases' columns.
fn equal_all(alias: &str, columns: &[String], exprs: &[String]) -> String {
    columns.iter().zip(exprs).map(|(c, e)| format!("{alias}.{c} = ({e})")).collect::<Vec<_>>().join(" AND ")
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

const INDENT: &str = "  ";

impl PlanView {
    pub fn new(plan: &Plan) -> PlanView {
        let total = plan.steps.len();
        PlanView {
            model: plan.model.clone(),
            model_lit: lit(&plan.model),
            model_file: plan.model_file.clone(),
            source_schema: plan.source_schema.clone(),
            target_schema: plan.target_schema.clone(),
            steps: {
                let mut steps: Vec<StepView> = plan.steps.iter().enumerate().map(|(i, s)| StepView::new(s, i + 1, total, &plan.model)).collect();
                add_sibling_duplicates(plan, &mut steps);
                steps
            },
            references: plan.references.iter().map(ReferenceView::new).collect(),
            subset: plan.subset.as_ref().map(|u| SubsetView::new(u, plan)),
            library: if plan.steps.iter().any(|s| s.uses_library) { crate::check::transforms::SQL.trim_end().to_string() } else { String::new() },
            targets: {
                let mut seen = std::collections::BTreeSet::new();
                plan.steps.iter().map(|s| s.target.to_string()).filter(|t| seen.insert(t.clone())).collect()
            },
            assertions: plan
                .assertions
                .iter()
                .map(|a| AssertionView { name_notice: notice_text(&a.name), name_comment: comment_text(&a.name), line: a.line, query: a.query.clone() })
                .collect(),
            version: env!("CARGO_PKG_VERSION"),
            unread_tables: plan.unread_tables.clone(),
            unread_columns: plan.unread_columns.clone(),
            lossy: plan
                .steps
                .iter()
                .flat_map(|s| s.columns.iter().filter_map(move |c| c.lossy.as_ref().map(|l| format!("`{}.{}`: {l}", s.name, c.name))))
                .collect(),
            window: {
                let rows: Vec<i64> = plan.steps.iter().filter_map(|s| s.source_size.map(|z| z.rows)).collect();
                if rows.is_empty() {
                    String::new()
                } else {
                    let total: i64 = rows.iter().sum();
                    format!(
                        "~{total} source rows in all; migrate takes about {} at {} rows/s (the benchmark's rate; verify about as long again)",
                        human_seconds(total as f64 / crate::stats::MIGRATE_ROWS_PER_SECOND as f64),
                        crate::stats::MIGRATE_ROWS_PER_SECOND
                    )
                }
            },
            castable: {
                let mut types: Vec<String> = plan.steps.iter().flat_map(|s| s.casts.iter().map(|c| c.type_name.clone())).collect();
                types.sort();
                types.dedup();
                types.into_iter().map(|t| (castable_function(&t), t)).collect()
            },
            v1_tables: plan
                .v1_tables
                .iter()
                .map(|(name, key)| {
                    let printed = crate::catalog::QualName::new(&plan.read_schema, &name.name).to_string();
                    let order = if key.is_empty() { "t::text".to_string() } else { key.iter().map(|k| format!("t.{}", quote_ident(k))).collect::<Vec<_>>().join(", ") };
                    (printed, format!("{}.{}.csv", name.schema, name.name).replace('\'', "''"), order)
                })
                .collect(),
            server: plan.source_server.as_ref().map(|srv| {
                let mut tables: Vec<String> = plan.steps.iter().flat_map(|s| s.reads.iter().map(|t| quote_ident(&t.name))).collect();
                tables.sort();
                tables.dedup();
                ServerView {
                    name: srv.name.clone(),
                    server: quote_ident(&srv.staging_schema),
                    remote_schema: quote_ident(&srv.remote_schema),
                    staging_schema: quote_ident(&srv.staging_schema),
                    tables: tables.join(", "),
                }
            }),
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
        }
    }
}

/// Precheck findings for a V2 unique key that several steps fill: a value this step makes
/// that an earlier step (same table) makes too. Compared with `IN`, so the other step's
/// aliases can't capture this step's expressions; NULLs never collide, as in V2.
fn add_sibling_duplicates(plan: &Plan, views: &mut [StepView]) {
    for i in 0..plan.steps.len() {
        let step = &plan.steps[i];
        let mut found = Vec::new();
        for (j, earlier) in plan.steps[..i].iter().enumerate().filter(|(_, e)| e.target == step.target) {
            let repaired = |u: &&crate::plan::UniqueTest| step.repairs.iter().any(|r| u.columns == [quote_ident(&r.column)]);
            for u in step.uniques.iter().filter(|u| !u.columns.is_empty() && !repaired(u)) {
                let Some(other) = earlier.uniques.iter().find(|o| o.constraint == u.constraint) else { continue };
                let test = format!(
                    "coalesce(({}) IN (SELECT {}\n{INDENT}        {}\n{INDENT}        WHERE {}), false)",
                    u.exprs.join(", "),
                    other.exprs.join(", "),
                    views[j].from.replace('\n', &format!("\n{INDENT}      ")),
                    views[j].survivors.replace('\n', &format!("\n{INDENT}      ")),
                );
                found.push(Finding::new(format!("UNIQUE {}: step {} makes the same value", u.constraint, earlier.name), test));
            }
        }
        views[i].findings.extend(found);
    }
}

fn not_coalesce(cond: &str) -> String {
    format!("NOT coalesce(({cond}), false)")
}

impl StepView {
    fn new(step: &Step, number: usize, total: usize, model: &str) -> StepView {
        let filter = step.filter.as_ref().map_or("true".to_string(), |f| f.sql.clone());
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
        let kept: Vec<String> = step.filter.iter().map(|f| format!("coalesce(({}), false)", f.sql)).collect();
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

        let key_cols: Vec<String> = match &step.key {
            Key::Keep { columns } => columns.clone(),
            Key::New { column, .. } => vec![column.clone()],
        };
        let made_here = key_cols.iter().map(|k| format!("t.{0} = mapped.{0}", quote_ident(k))).collect::<Vec<_>>().join(" AND ");
        let type_of = |c: &str| step.columns.iter().find(|m| m.name == c).map_or(String::new(), |m| m.target_type.clone());
        let (map_columns, key_list) = (
            key_cols.iter().map(|k| format!("{} {}", quote_ident(k), type_of(k))).collect::<Vec<_>>().join(", "),
            key_cols.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", "),
        );
        let (is_new_key, by_select, by_columns, new_expr, new_line, key_column, key_join) = match &step.key {
            Key::New { column, new, by } => {
                let select = by.iter().map(|b| format!("{} AS {}", b.expr.sql, quote_ident(&b.column))).collect::<Vec<_>>().join(", ");
                let cols = by.iter().map(|b| quote_ident(&b.column)).collect::<Vec<_>>().join(", ");
                let on = by.iter().map(|b| format!("key_map.{} = {}", quote_ident(&b.column), b.expr.sql)).collect::<Vec<_>>().join(" AND ");
                let join = format!("JOIN {} AS key_map ON {on}", step.map_table);
                (true, select, cols, new.sql.clone(), new.line, quote_ident(column), join)
            }
            Key::Keep { .. } => (false, String::new(), String::new(), String::new(), 0, String::new(), String::new()),
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
            format!("{from}\n{INDENT}     JOIN {} AS key_map ON {keep_join}", step.map_table)
        };
        let from_unrepaired = if is_new_key { format!("{from}\n{INDENT}     {key_join}") } else { from.clone() };
        let key_json = match &step.key {
            Key::New { column, .. } => format!("jsonb_build_object({}, key_map.{})", lit(column), quote_ident(column)),
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
                by.iter().map(|b| format!("{}, key_map.{}", lit(&b.column), quote_ident(&b.column))).collect::<Vec<_>>().join(", ")
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
                key_json: key_json.clone(),
                order_json: order_json.clone(),
                next_value: match r.strategy {
                    RepairStrategy::Suffix => "_pgmig.with_counter(r.original, r.n + 1)".into(),
                    RepairStrategy::Clear => "NULL".into(),
                },
                taken: format!("t.{} = CAST(r.value AS {})", quote_ident(&r.column), r.column_type),
            })
            .collect();
        let replace = step.replace.as_ref().map(|r| {
            let tables: Vec<ReplacedView> = r
                .tables
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let matched = |extra: &str| {
                        format!(
                            "({}) IN (SELECT {}\n{INDENT}                {}\n{INDENT}              WHERE {}{extra})",
                            r.columns.iter().map(|c| format!("t.{}", quote_ident(c))).collect::<Vec<_>>().join(", "),
                            r.exprs.join(", "),
                            from_unrepaired.replace('\n', &format!("\n{INDENT}          ")),
                            survivors.join(&sep).replace('\n', &format!("\n{INDENT}        ")),
                        )
                    };
                    let entity_filter = format!("\n{INDENT}                AND ({}) = ANY (entities)", step.entity.clone().unwrap_or_default());
                    let (condition, entity_condition) = if i == 0 {
                        (matched(""), matched(&entity_filter))
                    } else {
                        let c = 
                        t.parents
                            .iter()
                            .map(|(parent, pairs)| {
                                let on = pairs.iter().map(|(c, p)| format!("t.{} = p.{}", quote_ident(c), quote_ident(p))).collect::<Vec<_>>().join(" AND ");
                                format!("EXISTS (SELECT 1 FROM {parent} AS p WHERE {on})")
                            })
                            .collect::<Vec<_>>()
                            .join(&format!("\n{INDENT}     OR "));
                        (c.clone(), c)
                    };
                    ReplacedView {
                        entity_condition,
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
            ReplaceView {
                line: r.line,
                key_list: r.columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
                tables_reversed: tables.iter().rev().cloned().collect(),
                tables,
            }
        });
        let repair_alias = |column: &str| quote_ident(&format!("repair_{column}"));
        let mut from_with_key = from_unrepaired.clone();
        for r in &step.repairs {
            let alias = repair_alias(&r.column);
            from_with_key.push_str(&format!(
                "\n{INDENT}     LEFT JOIN _pgmig.changes AS {alias} ON {alias}.model = {} AND {alias}.step = {} AND {alias}.column_name = {} AND {alias}.key = {key_json}",
                lit(model),
                lit(&step.name),
                lit(&r.column)
            ));
        }
        // A repaired column's value: the recorded new value where there is one.
        let value_of = |c: &crate::plan::ColumnMap| match step.repairs.iter().find(|r| r.column == c.name) {
            Some(r) => format!(
                "CASE WHEN {0}.key IS NULL THEN {1} ELSE CAST({0}.new_value AS {2}) END",
                repair_alias(&r.column),
                c.expr,
                c.target_type
            ),
            None => c.expr.clone(),
        };

        let insert_columns = step.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let select_list = step.columns.iter().map(value_of).collect::<Vec<_>>().join(&format!(",\n{INDENT}       "));
        let compared: Vec<_> = step.columns.iter().filter(|c| !c.volatile).collect();
        let comparable = |ty: &str, e: String| if matches!(ty, "json" | "xml" | "point") { format!("({e})::text") } else { e };
        let expected_list = compared
            .iter()
            .map(|c| comparable(&c.target_type, format!("CAST({} AS {})", value_of(c), c.target_type)))
            .collect::<Vec<_>>()
            .join(&format!(",\n{INDENT}         "));
        let actual_list = compared
            .iter()
            .map(|c| comparable(&c.target_type, format!("t.{}", quote_ident(&c.name))))
            .collect::<Vec<_>>()
            .join(", ");
        let mut findings: Vec<Finding> = Vec::new();
        for c in step.columns.iter().filter(|c| c.not_null && c.origin != Origin::NewKey) {
            findings.push(Finding::new(format!("{} NOT NULL", c.name), format!("({}) IS NULL", c.expr)));
        }
        for c in &step.columns {
            let Some(n) = c.target_type.strip_prefix("character varying(").and_then(|t| t.strip_suffix(')')) else { continue };
            findings.push(Finding::new(format!("{} longer than {n} characters", c.name), format!("length(({})::text) > {n}", c.expr)));
        }
        for c in &step.checks {
            findings.push(Finding::new(format!("CHECK {}", c.constraint), c.test.clone()));
        }
        let repaired = |u: &&crate::plan::UniqueTest| step.repairs.iter().any(|r| u.columns == [quote_ident(&r.column)]);
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
        for u in step.uniques.iter().filter(|u| !u.columns.is_empty() && !repaired(u) && !replaced(u)) {
            let test = format!("EXISTS (SELECT 1 FROM {} AS _existing WHERE {})", step.target, equal_all("_existing", &u.columns, &u.exprs));
            findings.push(Finding::new(format!("UNIQUE {}: the value is already in V2", u.constraint), test));
        }
        for fk in &step.foreign_keys {
            let mut parts: Vec<String> = fk.exprs.iter().map(|e| format!("({e}) IS NOT NULL")).collect();
            parts.push(format!("NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})", fk.parent, equal_all("_parent", &fk.parent_columns, &fk.exprs)));
            for map in &fk.parent_maps {
                parts.push(format!("NOT EXISTS (SELECT 1 FROM {map} AS _parent_map WHERE {})", equal_all("_parent_map", &fk.parent_columns, &fk.exprs)));
            }
            findings.push(Finding::new(format!("FOREIGN KEY {}: no parent row", fk.constraint), parts.join(&format!("\n{INDENT}      AND "))));
        }
        let cast_guard = if step.casts.is_empty() {
            "true".to_string()
        } else {
            step.casts
                .iter()
                .map(|c| format!("(({}) IS NULL OR {}(({})::text))", c.value, castable_function(&c.type_name), c.value))
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
                format!("({}) IS NOT NULL AND NOT {}(({})::text)", c.value, castable_function(&c.type_name), c.value),
            ));
        }
        let duplicates = step
            .uniques
            .iter()
            .filter(|u| !repaired(u))
            .map(|u| Finding::new(format!("UNIQUE {}: duplicates among the migrated rows", u.constraint), u.exprs.join(", ")))
            .collect();
        let orphans = step
            .foreign_keys
            .iter()
            .map(|fk| {
                let t_cols: Vec<String> = fk.columns.iter().map(|c| format!("t.{c}")).collect();
                let mut parts: Vec<String> = t_cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
                parts.push(format!("NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})", fk.parent, equal_all("_parent", &fk.parent_columns, &t_cols)));
                Finding::new(format!("no orphans through {}", fk.constraint), parts.join(" AND "))
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
                note: if c.volatile { "not repeatable: verify checks presence only".into() } else { String::new() },
            })
            .collect();
        StepView {
            number,
            total,
            name: step.name.clone(),
            name_lit: lit(&step.name),
            name_notice: notice_text(&step.name),
            target: step.target.to_string(),
            target_lit: lit(&step.target.to_string()),
            line: step.line,
            after: step.after.iter().map(|d| format!("{} ({})", d.step, d.reason)).collect(),
            from_block: format!("FROM {}", step.from.lines().collect::<Vec<_>>().join("\n       ")),
            from,
            from_keyed: from_with_key,
            from_unrepaired,
            repairs,
            replace,
            entity: step.entity.clone().unwrap_or_default(),
            is_root: step.entity.as_deref() == Some(step.source_key.as_str()),
            kept: if kept.is_empty() { "true".into() } else { kept.join(&sep) },
            relinks: step.relinks.iter().map(|r| (r.line, notice_text(&r.column), lit(&r.object), r.source.clone())).collect(),
            from_batched,
            procedure: format!("_pgmig.{}", quote_ident(&format!("migrate_{}", step.name))),
            filtered_count: step
                .filter
                .as_ref()
                .map_or("0".into(), |f| format!("count(*) FILTER (WHERE NOT coalesce(({}), false))", f.sql)),
            filter: filter.clone(),
            filter_line: step.filter.as_ref().map_or(0, |f| f.line),
            survivors: survivors.join(&sep),
            rejects,
            source_key: step.source_key.clone(),
            source_row: step.source_row.clone(),
            source_table_lit: step.source_table.as_ref().map_or("NULL".into(), |t| lit(&t.to_string())),
            map_table: step.map_table.to_string(),
            map_table_lit: lit(&step.map_table.to_string()),
            is_new_key,
            map_columns,
            key_select: key_cols
                .iter()
                .filter_map(|k| step.columns.iter().find(|c| &c.name == k))
                .map(|c| format!("{} AS {}", c.expr, quote_ident(&c.name)))
                .collect::<Vec<_>>()
                .join(", "),
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
            sequences: step
                .sequences
                .iter()
                .map(|s| SequenceView { name: s.sequence.to_string(), name_lit: lit(&s.sequence.to_string()), column: quote_ident(&s.column) })
                .collect(),
            analyze_map: step.map_read_later,
            key_order: key_cols.iter().map(|k| format!("t.{}", quote_ident(k))).collect::<Vec<_>>().join(", "),
            made_here,
            expected_list,
            actual_list,
            compared: compared.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(", "),
            not_compared: step.columns.iter().filter(|c| c.volatile).map(|c| c.name.clone()).collect(),
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

/// The precheck helper telling whether a text converts to `type_name` (one per type, in
/// pg_temp: created inside precheck's transaction, gone with its rollback).
pub fn castable_function(type_name: &str) -> String {
    let slug: String = type_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    format!("pg_temp.pgmig_castable_{slug}")
}

fn human_bytes(bytes: i64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 1024.0 { format!("{:.1} GB", mb / 1024.0) } else { format!("{mb:.1} MB") }
}

fn human_seconds(secs: f64) -> String {
    if secs < 60.0 { format!("{:.0} s", secs.max(1.0)) } else if secs < 3600.0 { format!("{:.0} min", secs / 60.0) } else { format!("{:.1} h", secs / 3600.0) }
}
