//! Resolution and checking of a model against the V1 and V2 catalogs: `Model` → `Plan`.
//!
//! Every problem found is collected (not just the first) with its position in the model.

mod constraints;
mod lookup;
mod order;
mod scope;
mod sql;
mod suggest;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, TableWithJoins, Visit, Visitor};

use crate::catalog::{quote_ident, Catalog, Identity, QualName, Table};
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile};
use crate::model::{pos_of, KeyDecl, Model, ModeDecl, Text};
use crate::plan::{self, ColumnMap, Dependency, MapKey, Origin as ColumnOrigin, Plan, Reject, SequenceSync, Sql};
use lookup::{IdJoin, MapShape};
use scope::{ident_name, Scope};
use sql::Origin;
use suggest::did_you_mean;

/// Schema holding pgmig's bookkeeping (log, id maps, rejects).
pub const BOOKKEEPING_SCHEMA: &str = "_pgmig";

/// Functions whose result differs between migrate and a later verify.
const NON_REPEATABLE: &[&str] = &[
    "random", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "clock_timestamp", "now",
    "statement_timestamp", "transaction_timestamp", "timeofday", "nextval", "gen_salt", "crypt", "current_timestamp",
    "current_date", "current_time", "localtimestamp", "localtime",
];

/// Checks `model` against the catalogs; on success returns the plan and any warnings.
pub fn check(model: &Model, file: &SourceFile, v1: &Catalog, v2: &Catalog) -> Result<(Plan, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::default();
    let source_schema = model.source_schema().to_string();
    let target_schema = model.target_schema().to_string();
    check_schema(v1, &source_schema, model.source.as_ref().and_then(|s| s.schema.as_ref()), "V1", &mut diags);
    check_schema(v2, &target_schema, model.target.as_ref().and_then(|s| s.schema.as_ref()), "V2", &mut diags);
    if let Some(server) = model.target.as_ref().and_then(|t| t.server.as_ref()) {
        diags.push(Diagnostic::error("the target is the database the scripts run in; it has no `server`", pos_of(server)));
    }
    // V1 on another server is read through postgres_fdw from a staging schema of pgmig's.
    let source_server = model.source_server().map(|name| plan::SourceServer {
        name: name.to_string(),
        remote_schema: source_schema.clone(),
        staging_schema: format!("_pgmig_{}", name.as_str()),
    });
    let read_schema = source_server.as_ref().map_or(source_schema.clone(), |s| s.staging_schema.clone());

    // First pass: which V2 table each step fills and what its id map offers to id().
    let mut heads = Vec::new();
    for (name, step) in &model.tables {
        let qn = QualName::new(&target_schema, name.as_str());
        match v2.table(&qn) {
            Some(table) => heads.push(Some(StepHead::new(name, step, table, &mut diags))),
            None => {
                let candidates: Vec<String> = v2.tables_in(&target_schema).map(|t| t.name.name.clone()).collect();
                let mut d = Diagnostic::error(format!("table `{qn}` does not exist in V2"), pos_of(name));
                if let Some(s) = did_you_mean(name.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                heads.push(None);
            }
        }
    }
    let step_names: Vec<String> = model.tables.keys().map(|k| k.to_string()).collect();
    let maps = |step: &str| -> Option<MapShape> {
        let i = step_names.iter().position(|n| n == step)?;
        heads[i].as_ref().map(|h| h.shape.clone())
    };

    let map_of_table = |table: &QualName| -> Option<constraints::MapColumns> {
        let head = heads.iter().flatten().find(|h| &h.table.name == table)?;
        let mut columns = head.key_columns.clone();
        columns.extend(head.shape.key_columns.iter().filter(|c| !head.key_columns.contains(c)).cloned());
        Some(constraints::MapColumns { map_table: head.shape.map_table.clone(), columns })
    };

    // Second pass: resolve every expression of every step.
    let mut steps = Vec::new();
    let mut joins_per_step = Vec::new();
    for ((name, step), head) in model.tables.iter().zip(&heads) {
        let Some(head) = head else { continue };
        let ctx = StepContext {
            file,
            v1,
            v2,
            source_schema: &source_schema,
            read_schema: &read_schema,
            maps: &maps,
            map_of_table: &map_of_table,
            step_names: &step_names,
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

    let mode = match &model.mode {
        None => plan::Mode::Transaction,
        Some(ModeDecl::Word(w)) if w == "transaction" => plan::Mode::Transaction,
        Some(ModeDecl::Word(w)) => {
            diags.push(
                Diagnostic::error(format!("unknown mode `{w}`"), pos_of(&model.name))
                    .with_hint("write `mode: transaction` or `mode: {batched: {size: 5000}}`"),
            );
            plan::Mode::Transaction
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

    let mut assertions = Vec::new();
    for a in &model.verify {
        let origin = Origin { value: &a.zero_rows, source: &file.text, lines_before: 0 };
        match sql::parse_query(origin) {
            Ok(mut q) => {
                let errors = scope::check_relations(&q, v2, &target_schema, origin);
                if errors.is_empty() {
                    scope::qualify_tables(&mut q, v2, &target_schema, &target_schema);
                    assertions.push(plan::Assertion { name: a.name.to_string(), query: q.to_string(), line: origin.line() });
                }
                errors.into_iter().for_each(|e| diags.push(e));
            }
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }

    // Load order from V2's foreign keys and id() lookups.
    let names: Vec<String> = steps.iter().map(|s: &plan::Step| s.name.clone()).collect();
    let deps: Vec<Vec<(usize, Dependency)>> = steps
        .iter()
        .zip(&joins_per_step)
        .map(|(s, joins)| dependencies(s, joins, &steps, v2))
        .collect();
    let order = match order::sort(&deps, &names) {
        Ok(o) => o,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let read_later: BTreeSet<&str> = joins_per_step.iter().flatten().map(|j| j.step.as_str()).collect();
    let mut ordered = Vec::with_capacity(steps.len());
    for i in order {
        let mut s = steps[i].clone();
        s.after = deps[i].iter().filter(|(d, _)| *d != i).map(|(_, dep)| dep.clone()).collect();
        s.map_read_later = read_later.contains(s.name.as_str());
        ordered.push(s);
    }
    let read_tables: BTreeSet<&QualName> = ordered.iter().flat_map(|s| s.reads.iter()).collect();
    let unread_tables = v1
        .tables_in(&source_schema)
        .filter(|t| t.partition_of.is_none() && !read_tables.contains(&t.name))
        .map(|t| t.name.to_string())
        .collect();
    // A column counts as read when a step reading its table mentions its name anywhere
    // (or copies it through `SELECT *`): generous, so the list below errs toward silence.
    let unread_columns = v1
        .tables_in(&source_schema)
        .filter(|t| t.partition_of.is_none() && read_tables.contains(&t.name))
        .flat_map(|t| {
            let readers: Vec<&plan::Step> = ordered.iter().filter(|s| s.reads.contains(&t.name)).collect();
            t.columns
                .iter()
                .filter(move |c| !readers.iter().any(|s| s.mentioned.contains(&c.name)))
                .map(move |c| format!("{}.{}", t.name, quote_ident(&c.name)))
        })
        .collect();
    let v1_tables = read_tables
        .iter()
        .map(|t| ((*t).clone(), v1.table(t).and_then(|t| t.primary_key.as_ref()).map_or(Vec::new(), |k| k.columns.clone())))
        .collect();
    let plan = Plan {
        v1_tables,
        unread_tables,
        unread_columns,
        model: model.name.to_string(),
        model_file: file.name.clone(),
        source_schema,
        source_server,
        read_schema,
        target_schema,
        mode,
        steps: ordered,
        assertions,
    };
    Ok((plan, diags))
}

fn check_schema(catalog: &Catalog, schema: &str, at: Option<&Text>, which: &str, diags: &mut Diagnostics) {
    if catalog.tables_in(schema).next().is_none() {
        let schemas: BTreeSet<&str> = catalog.tables.keys().map(|k| k.schema.as_str()).collect();
        let list: Vec<&str> = schemas.into_iter().collect();
        diags.push(
            Diagnostic::error(format!("{which} has no table in schema `{schema}`"), at.and_then(pos_of))
                .with_hint(format!("{which}'s tables are in: {}", if list.is_empty() { "(none)".into() } else { list.join(", ") })),
        );
    }
}

/// What the first pass learns of a step.
struct StepHead {
    table: Table,
    key_columns: Vec<String>,
    shape: MapShape,
}

impl StepHead {
    fn new(name: &Text, step: &crate::model::Step, table: &Table, diags: &mut Diagnostics) -> StepHead {
        let pk: Vec<String> = table.primary_key.as_ref().map(|k| k.columns.clone()).unwrap_or_default();
        let map_table = format!("{}.{}", BOOKKEEPING_SCHEMA, quote_ident(&format!("map_{}", name.as_str())));
        let type_of = |c: &str| table.column(c).map_or(String::new(), |c| c.data_type.clone());
        if pk.is_empty() {
            diags.push(
                Diagnostic::error(format!("V2 table `{}` has no primary key", table.name), pos_of(name))
                    .with_hint("pgmig records migrated rows by primary key, for verify and rollback; add one to V2"),
            );
        }
        let shape = match &step.key {
            Some(KeyDecl::New { by, .. }) => MapShape {
                map_table,
                key_columns: map_key_names(by, pk.first().map_or("", String::as_str)),
                result_column: pk.first().cloned().unwrap_or_default(),
                result_type: pk.first().map(|c| type_of(c)).unwrap_or_default(),
            },
            _ => MapShape {
                map_table,
                key_columns: pk.clone(),
                result_column: pk.first().cloned().unwrap_or_default(),
                result_type: pk.first().map(|c| type_of(c)).unwrap_or_default(),
            },
        };
        if let Some(KeyDecl::New { new, .. }) = &step.key {
            if pk.len() > 1 {
                diags.push(
                    Diagnostic::error(format!("`key: new` needs a one-column primary key; `{}` has ({})", table.name, pk.join(", ")), pos_of(new))
                        .with_hint("use `key: keep` and fill each key column in `columns`"),
                );
            }
        }
        if let Some(KeyDecl::Word(w)) = &step.key {
            if w != "keep" {
                diags.push(
                    Diagnostic::error(format!("unknown key strategy `{w}`"), pos_of(name))
                        .with_hint("write `key: keep` or `key: {new: gen_random_uuid(), by: [p.id]}`"),
                );
            }
        }
        StepHead { table: table.clone(), key_columns: pk, shape }
    }
}

/// Id map column names for `by` expressions: the column name each one reads, made unique
/// and kept apart from the key column the map also holds (`source_id` next to `id`).
fn map_key_names(by: &[Text], key_column: &str) -> Vec<String> {
    let mut names: Vec<String> = vec![key_column.to_string()];
    for (i, b) in by.iter().enumerate() {
        let last = b.as_str().rsplit('.').next().unwrap_or("").trim().trim_matches('"').to_lowercase();
        let plain = !last.is_empty() && last.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut name = if plain { last } else { format!("key{}", i + 1) };
        if name == key_column {
            name = format!("source_{name}");
        }
        if names.contains(&name) {
            name = format!("{name}_{}", i + 1);
        }
        names.push(name);
    }
    names.split_off(1)
}

struct StepContext<'a> {
    file: &'a SourceFile,
    v1: &'a Catalog,
    v2: &'a Catalog,
    source_schema: &'a str,
    read_schema: &'a str,
    maps: &'a dyn Fn(&str) -> Option<MapShape>,
    map_of_table: &'a dyn Fn(&QualName) -> Option<constraints::MapColumns>,
    step_names: &'a [String],
}

type StepResult = Result<(plan::Step, Vec<IdJoin>, Vec<Diagnostic>), Vec<Diagnostic>>;

impl StepContext<'_> {
    fn origin<'a>(&'a self, value: &'a Text) -> Origin<'a> {
        Origin { value, source: &self.file.text, lines_before: 0 }
    }

    /// Parses, rewrites `id()` calls of, and resolves one expression of a step.
    fn expr(&self, value: &Text, what: &str, scope: &mut Scope, joins: &mut Vec<IdJoin>, errors: &mut Vec<Diagnostic>) -> Option<Expr> {
        let origin = self.origin(value);
        let mut expr = match sql::parse_expr(origin, what) {
            Ok(e) => e,
            Err(d) => {
                errors.push(d);
                return None;
            }
        };
        let before = joins.len();
        let mut found = lookup::rewrite(&mut expr, self.maps, self.step_names, joins, origin);
        for j in &joins[before..] {
            for (_, arg) in &j.on {
                found.extend(scope.resolve(arg, self.v1, self.source_schema, origin));
            }
            scope.relations.push(scope::Relation {
                alias: j.alias.clone(),
                columns: Some(vec![(j.result_column.clone(), Some(j.result_type.clone()))]),
                table: None,
            });
        }
        found.extend(scope.resolve(&expr, self.v1, self.source_schema, origin));
        scope.note_reads(&expr, self.v1, self.source_schema);
        scope::qualify_tables(&mut expr, self.v1, self.source_schema, self.read_schema);
        let ok = found.is_empty();
        errors.extend(found);
        ok.then_some(expr)
    }

    fn step(&self, name: &Text, step: &crate::model::Step, head: &StepHead) -> StepResult {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let from_origin = Origin { lines_before: 1, ..self.origin(&step.from) };
        let mut from = sql::parse_from(from_origin).map_err(|d| vec![d])?;
        let mut scope = Scope::build(&mut from, self.v1, self.source_schema, self.read_schema, from_origin)?;
        // An unqualified type in a cast (`x::plan`) is V2's: that is where the value goes, and
        // the scripts run with the default search_path, where the target schema is `public`.
        scope.default_schema = head.table.name.schema.clone();
        let mut joins: Vec<IdJoin> = Vec::new();
        let line_of = |t: &Text| pos_of(t).map_or(0, |p| p.line);
        let table = &head.table;

        let filter = step.filter.as_ref().and_then(|w| {
            let e = self.expr(w, "`where`", &mut scope, &mut joins, &mut errors)?;
            Some(Sql { sql: e.to_string(), line: line_of(w) })
        });
        let mut rejects = Vec::new();
        for r in &step.reject {
            if let Some(e) = self.expr(&r.when, "`reject.when`", &mut scope, &mut joins, &mut errors) {
                rejects.push(Reject { when: Sql { sql: e.to_string(), line: line_of(&r.when) }, reason: r.reason.to_string() });
            }
        }

        let mut columns: Vec<ColumnMap> = Vec::new();
        let mut filled: BTreeMap<String, Expr> = BTreeMap::new();
        let mut by_exprs: Vec<Expr> = Vec::new();
        let mut read = Reads::default();
        let key = match &step.key {
            Some(KeyDecl::New { new, by }) => {
                let new_expr = self.expr(new, "`key.new`", &mut scope, &mut joins, &mut errors);
                let names = map_key_names(by, head.key_columns.first().map_or("", String::as_str));
                let mut keys = Vec::new();
                for (b, column) in by.iter().zip(names) {
                    if let Some(e) = self.expr(b, "`key.by`", &mut scope, &mut joins, &mut errors) {
                        read.note(&e);
                        by_exprs.push(e.clone());
                        keys.push(MapKey { column, expr: Sql { sql: e.to_string(), line: line_of(b) } });
                    }
                }
                let column = head.key_columns.first().cloned().unwrap_or_default();
                plan::Key::New { column, new: Sql { sql: new_expr.map(|e| e.to_string()).unwrap_or_default(), line: line_of(new) }, by: keys }
            }
            _ => plan::Key::Keep { columns: head.key_columns.clone() },
        };
        let new_key_column = match &key {
            plan::Key::New { column, .. } => Some(column.clone()),
            plan::Key::Keep { .. } => None,
        };

        // Explicit columns, in model order.
        for (col, value) in &step.columns {
            let Some(target) = table.column(col.as_str()) else {
                let candidates: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
                let mut d = Diagnostic::error(format!("column `{}` does not exist in V2 table `{}`", col.as_str(), table.name), pos_of(col));
                if let Some(s) = did_you_mean(col.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                errors.push(d);
                continue;
            };
            if target.generated.is_some() {
                errors.push(Diagnostic::error(format!("`{}` is a generated column; PostgreSQL computes it", target.name), pos_of(col)));
                continue;
            }
            if new_key_column.as_deref() == Some(target.name.as_str()) {
                errors.push(
                    Diagnostic::error(format!("`{}` is the key made by `key: new`; it can't also be mapped", target.name), pos_of(col))
                        .with_hint("remove it from `columns`, or use `key: keep`"),
                );
                continue;
            }
            let Some(e) = self.expr(value, "a column expression", &mut scope, &mut joins, &mut errors) else { continue };
            read.note(&e);
            let source_type = types::infer(&e, &scope);
            if let Some(st) = &source_type {
                if !types::assignable(self.v1.base_type(st), self.v2.base_type(&target.data_type)) {
                    errors.push(
                        Diagnostic::error(
                            format!("a value of type {st} can't be assigned to `{}.{}` ({})", table.name.name, target.name, target.data_type),
                            pos_of(value),
                        )
                        .with_hint(format!("convert it explicitly, e.g. `({})::{}`, and say how in the expression", value.as_str(), target.data_type)),
                    );
                    continue;
                }
            }
            let mut cm = column_map(target, &e, source_type, ColumnOrigin::Model(line_of(value)));
            cm.null_into_not_null = target.not_null && nullable_column(&e, &scope, self.v1);
            columns.push(cm);
            filled.insert(target.name.clone(), e);
        }

        // Implicit copies of same-named columns of the first `from` item, in V2 column order.
        let first = scope.relations.first().cloned();
        let mut implicit = Vec::new();
        for target in &table.columns {
            let mapped = columns.iter().any(|c| c.name == target.name) || step.columns.keys().any(|k| k.as_str() == target.name);
            if mapped || target.generated.is_some() || new_key_column.as_deref() == Some(target.name.as_str()) {
                continue;
            }
            let source = first.as_ref().and_then(|r| r.columns.as_ref()?.iter().find(|(c, _)| *c == target.name).map(|c| (r.alias.clone(), c.clone())));
            match source {
                Some((alias, (col, ty))) => {
                    if let Some(st) = &ty {
                        if !types::assignable(self.v1.base_type(st), self.v2.base_type(&target.data_type)) {
                            errors.push(
                                Diagnostic::error(
                                    format!("`{alias}.{col}` ({st}) is copied by name into `{}.{}` ({}), which PostgreSQL won't assign", table.name.name, target.name, target.data_type),
                                    pos_of(name),
                                )
                                .with_hint(format!("map `{}` explicitly in `columns` with a conversion", target.name)),
                            );
                            continue;
                        }
                    }
                    let e = Expr::CompoundIdentifier(vec![scope::sql_ident(&alias), scope::sql_ident(&col)]);
                    read.note(&e);
                    let mut cm = column_map(target, &e, ty, ColumnOrigin::Implicit);
                    cm.null_into_not_null = target.not_null && nullable_column(&e, &scope, self.v1);
                    if let Some(why) = &cm.lossy {
                        warnings.push(
                            Diagnostic::warning(format!("`{alias}.{col}` is copied by name into a narrower column: {why}"), pos_of(name))
                                .with_hint(format!("map `{}` explicitly to say how, or check precheck's findings", target.name)),
                        );
                    }
                    implicit.push(cm);
                    filled.insert(target.name.clone(), e);
                }
                None if target.not_null && target.default.is_none() && target.identity.is_none() => {
                    let unread: Vec<String> = first.iter().flat_map(|r| r.columns.iter().flatten().map(|c| c.0.clone())).collect();
                    let mut d = Diagnostic::error(
                        format!("column `{}.{}` is NOT NULL in V2 and nothing fills it", table.name.name, target.name),
                        pos_of(name),
                    );
                    d = match did_you_mean(&target.name, &unread) {
                        Some(s) => d.with_hint(format!("add `{}: {}.{s}` to `columns`?", target.name, first.as_ref().map_or("", |r| r.alias.as_str()))),
                        None => d.with_hint(format!("add `{}: <expression>` to this step's `columns`, or a DEFAULT in V2", target.name)),
                    };
                    errors.push(d);
                }
                None => {}
            }
        }
        // The insert lists columns in V2's order: explicit and implicit alike.
        columns.extend(implicit);
        columns.sort_by_key(|c| table.columns.iter().position(|t| t.name == c.name));
        if let Some(col) = &new_key_column {
            if let Some(t) = table.column(col) {
                let alias = "key_map";
                let e = Expr::CompoundIdentifier(vec![scope::sql_ident(alias), scope::sql_ident(col)]);
                let mut cm = column_map(t, &e, Some(t.data_type.clone()), ColumnOrigin::NewKey);
                cm.volatile = false;
                columns.insert(0, cm);
                filled.insert(col.clone(), e);
            }
        }
        if let plan::Key::Keep { columns: keys } = &key {
            for k in keys {
                if !columns.iter().any(|c| &c.name == k) {
                    errors.push(
                        Diagnostic::error(format!("key column `{k}` of `{}` is not filled", table.name), pos_of(name))
                            .with_hint(format!("`key: keep` copies the key: map `{k}` in `columns`, or use `key: {{new: …, by: […]}}`")),
                    );
                }
            }
        }
        for e in step.filter.iter().chain(step.reject.iter().map(|r| &r.when)) {
            if let Ok(parsed) = sql::parse_expr(self.origin(e), "") {
                read.note(&parsed);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let sequences = columns
            .iter()
            .filter_map(|c| self.v2.sequence_of(&table.name, &c.name).map(|s| SequenceSync { sequence: s.clone(), column: c.name.clone() }))
            .collect();
        let overriding = columns.iter().any(|c| table.column(&c.name).is_some_and(|t| t.identity == Some(Identity::Always)));
        if overriding {
            warnings.push(Diagnostic::warning(
                format!("`{}` has GENERATED ALWAYS identity columns that this step fills: the insert uses OVERRIDING SYSTEM VALUE", table.name),
                pos_of(name),
            ));
        }
        let (source_row, source_key) = match &first {
            Some(r) => {
                let alias = quote_ident(&r.alias);
                let key = r
                    .table
                    .as_ref()
                    .and_then(|t| self.v1.table(t)?.primary_key.clone())
                    .map(|pk| {
                        let pairs: Vec<String> = pk.columns.iter().map(|c| format!("'{}', {alias}.{}", c.replace('\'', "''"), quote_ident(c))).collect();
                        format!("jsonb_build_object({})", pairs.join(", "))
                    })
                    .or_else(|| {
                        // A subquery: its `id` column, if it has one, names the row well enough.
                        let has_id = r.columns.as_ref()?.iter().any(|(c, _)| c == "id");
                        has_id.then(|| format!("jsonb_build_object('id', {alias}.id)"))
                    })
                    .unwrap_or_else(|| format!("to_jsonb({alias})"));
                (format!("to_jsonb({alias})"), key)
            }
            None => ("NULL::jsonb".into(), "NULL::jsonb".into()),
        };
        let mut uniques = constraints::uniques(table, &filled, new_key_column.as_deref());
        if let plan::Key::New { by, .. } = &key {
            uniques.push(plan::UniqueTest {
                constraint: format!("key: new, one row per ({})", by.iter().map(|b| b.column.as_str()).collect::<Vec<_>>().join(", ")),
                // Not V2 columns: nothing to compare with rows already in V2.
                columns: Vec::new(),
                exprs: by_exprs.iter().map(|e| e.to_string()).collect(),
            });
        }
        let step = plan::Step {
            checks: constraints::checks(table, &filled),
            casts: constraints::casts(table, &filled, &|e| types::infer(e, &scope), &|t| {
                t.split_once('.').is_some_and(|(sch, n)| self.v2.enums.contains_key(&QualName::new(sch, n)))
            }),
            uniques,
            foreign_keys: constraints::foreign_keys(&self.v2.foreign_keys_of(&table.name), &filled, self.map_of_table),
            name: name.to_string(),
            target: table.name.clone(),
            line: line_of(name),
            from: from_sql(&from, &joins),
            source_row,
            source_key,
            filter,
            rejects,
            key,
            columns,
            map_table: QualName::new(BOOKKEEPING_SCHEMA, format!("map_{}", name.as_str())),
            after: Vec::new(),
            map_read_later: false,
            sequences,
            overriding_system_value: overriding,
            mentioned: read.names(),
            // The first `from` table, or the one table a subquery there reads.
            source_table: first
                .as_ref()
                .and_then(|r| r.table.clone())
                .or_else(|| (scope.reads.len() == 1).then(|| scope.reads.iter().next().cloned()).flatten()),
            reads: scope.reads.iter().cloned().collect(),
            source_size: None,
        };
        Ok((step, joins, warnings))
    }
}

fn column_map(target: &crate::catalog::Column, e: &Expr, source_type: Option<String>, origin: ColumnOrigin) -> ColumnMap {
    ColumnMap {
        name: target.name.clone(),
        target_type: target.data_type.clone(),
        expr: e.to_string(),
        lossy: source_type.as_deref().and_then(|st| types::lossy(st, &target.data_type)),
        source_type,
        origin,
        volatile: calls_non_repeatable(e),
        not_null: target.not_null,
        null_into_not_null: false,
    }
}

/// Whether `e` is a plain reference to a V1 column that allows NULL.
fn nullable_column(e: &Expr, scope: &Scope, v1: &Catalog) -> bool {
    let (alias, column) = match e {
        Expr::CompoundIdentifier(p) if p.len() == 2 => (ident_name(&p[0]), ident_name(&p[1])),
        _ => return false,
    };
    let table = scope.relation(&alias).and_then(|r| r.table.as_ref()).and_then(|t| v1.table(t));
    table.and_then(|t| t.column(&column)).is_some_and(|c| !c.not_null)
}

fn calls_non_repeatable(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::Function(f) = x {
            let name = f.name.0.last().map(|p| p.to_string().to_lowercase()).unwrap_or_default();
            found |= NON_REPEATABLE.contains(&name.as_str());
        }
        if let Expr::Identifier(i) = x {
            found |= NON_REPEATABLE.contains(&ident_name(i).as_str());
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// The `from` items as one join tree (commas become CROSS JOIN, which means the same
/// for these items) with the id-map joins appended, one item per line (emit indents them).
fn from_sql(from: &[TableWithJoins], joins: &[IdJoin]) -> String {
    let mut lines = Vec::new();
    for (i, twj) in from.iter().enumerate() {
        // `{:#}`: sqlparser's pretty printer puts subqueries on indented lines.
        let head = format!("{:#}", twj.relation);
        lines.push(if i == 0 { head } else { format!("CROSS JOIN {head}") });
        lines.extend(twj.joins.iter().map(|j| format!("{j:#}").trim().to_string()));
    }
    lines.extend(joins.iter().map(IdJoin::sql));
    lines.join("\n")
}

/// Which columns a step's expressions read, to list the V1 data nothing reads.
#[derive(Default)]
struct Reads {
    qualified: BTreeSet<(String, String)>,
    bare: BTreeSet<String>,
}

impl Reads {
    fn note(&mut self, e: &Expr) {
        struct Collect<'a>(&'a mut Reads);
        impl Visitor for Collect<'_> {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                match e {
                    Expr::Identifier(i) => {
                        self.0.bare.insert(ident_name(i));
                    }
                    Expr::CompoundIdentifier(p) if p.len() == 2 => {
                        self.0.qualified.insert((ident_name(&p[0]), ident_name(&p[1])));
                    }
                    _ => {}
                }
                ControlFlow::Continue(())
            }
        }
        let _ = e.visit(&mut Collect(self));
    }

    /// Every column name mentioned, bare or qualified.
    fn names(&self) -> Vec<String> {
        let all: BTreeSet<String> = self.bare.iter().cloned().chain(self.qualified.iter().map(|(_, c)| c.clone())).collect();
        all.into_iter().collect()
    }
}

/// Dependencies of one step: V2 foreign keys to other steps' tables, and id() lookups.
fn dependencies(step: &plan::Step, joins: &[IdJoin], steps: &[plan::Step], v2: &Catalog) -> Vec<(usize, Dependency)> {
    let mut deps = Vec::new();
    for fk in v2.foreign_keys_of(&step.target) {
        if let Some(i) = steps.iter().position(|s| s.target == fk.references) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((i, Dependency { step: steps[i].name.clone(), reason: format!("foreign key {} ({})", fk.name, fk.columns.join(", ")) }));
            }
        }
    }
    for j in joins {
        if let Some(i) = steps.iter().position(|s| s.name == j.step) {
            if !deps.iter().any(|(d, _)| *d == i) {
                deps.push((i, Dependency { step: j.step.clone(), reason: format!("id({}, …) at line {}", j.step, j.line) }));
            }
        }
    }
    deps
}
