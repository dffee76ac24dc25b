//! The plan as the templates see it: every piece of SQL ready to print.

use crate::catalog::quote_ident;
use crate::plan::{Key, Origin, Plan, Step};

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
    pub line: usize,
    pub after: Vec<String>,
    /// `FROM …` with joins on their own lines, indented for a DO block body.
    pub from: String,
    /// `FROM …` indented for a Markdown list item, for PLAN.md.
    pub from_block: String,
    /// `from` plus, for `key: new`, the join to this step's id map (`key_map`).
    pub from_keyed: String,
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
            steps: plan.steps.iter().enumerate().map(|(i, s)| StepView::new(s, i + 1, total)).collect(),
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
                crate::plan::Mode::Transaction => 0,
            },
        }
    }
}

fn not_coalesce(cond: &str) -> String {
    format!("NOT coalesce(({cond}), false)")
}

impl StepView {
    fn new(step: &Step, number: usize, total: usize) -> StepView {
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
                reason_lit: lit(&r.reason),
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
        let from_with_key = if is_new_key { format!("{from}\n{INDENT}     {key_join}") } else { from.clone() };

        let insert_columns = step.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let select_list = step.columns.iter().map(|c| c.expr.clone()).collect::<Vec<_>>().join(&format!(",\n{INDENT}       "));
        let compared: Vec<_> = step.columns.iter().filter(|c| !c.volatile).collect();
        let comparable = |ty: &str, e: String| if matches!(ty, "json" | "xml" | "point") { format!("({e})::text") } else { e };
        let expected_list = compared
            .iter()
            .map(|c| comparable(&c.target_type, format!("CAST({} AS {})", c.expr, c.target_type)))
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
        for u in step.uniques.iter().filter(|u| !u.columns.is_empty()) {
            let test = format!("EXISTS (SELECT 1 FROM {} AS _existing WHERE {})", step.target, equal_all("_existing", &u.columns, &u.exprs));
            findings.push(Finding::new(format!("UNIQUE {}: the value is already in V2", u.constraint), test));
        }
        for fk in &step.foreign_keys {
            let mut parts: Vec<String> = fk.exprs.iter().map(|e| format!("({e}) IS NOT NULL")).collect();
            parts.push(format!("NOT EXISTS (SELECT 1 FROM {} AS _parent WHERE {})", fk.parent, equal_all("_parent", &fk.parent_columns, &fk.exprs)));
            if let Some(map) = &fk.parent_map {
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
            line: step.line,
            after: step.after.iter().map(|d| format!("{} ({})", d.step, d.reason)).collect(),
            from_block: format!("FROM {}", step.from.lines().collect::<Vec<_>>().join("\n       ")),
            from,
            from_keyed: from_with_key,
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
