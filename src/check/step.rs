//! The second pass over a step: every expression parsed, its `id()` calls joined, its
//! names resolved and typed, its columns filled (explicitly or by name): a `plan::Step`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart, TableWithJoins, Visit,
    Visitor,
};

use crate::catalog::{quote_ident, Catalog, Identity, QualName};
use crate::diagnostic::Diagnostic;
use crate::model::{pos_of, KeyDecl, Text};
use crate::plan::{self, ColumnMap, MapKey, Origin as ColumnOrigin, Reject, SequenceSync, Sql};
use crate::sql_text::quote_literal;

use super::head::{map_key_names, StepHead};
use super::ident::ident_name;
use super::lookup::{self, IdJoin};
use super::loss::OnLoss;
use super::scope::{self, Scope};
use super::sql::{self, Origin};
use super::suggest::did_you_mean;
use super::{constraints, types};

pub struct StepContext<'a> {
    /// The model file's lines, for positions.
    pub lines: &'a [&'a str],
    pub v1: &'a Catalog,
    pub v2: &'a Catalog,
    pub source_schema: &'a str,
    pub read_schema: &'a str,
    pub lookups: lookup::Lookups<'a>,
    pub map_of_table: &'a dyn Fn(&QualName) -> Vec<constraints::MapColumns>,
    /// V2's tables in the target schema, which expressions may read.
    pub v2_tables: std::rc::Rc<BTreeSet<QualName>>,
    /// Every zone-dependent conversion of the model's steps, for `timezone:`.
    pub zone_conversions: &'a std::cell::RefCell<Vec<super::zone::ZoneConversion>>,
    /// The types the model's expressions cast to ([`scope::cast_types`]).
    pub cast_types: &'a std::cell::RefCell<BTreeSet<String>>,
    /// The functions the model's expressions call ([`super::calls::called_functions`]).
    pub called_functions: &'a std::cell::RefCell<BTreeSet<String>>,
    /// Set when an expression of the step calls the transform library.
    pub uses_library: std::cell::Cell<bool>,
    /// V1's secret columns: rejects copy V1 rows without their values.
    pub redactions: &'a super::redact::Redactions,
    /// The schema of the step's id map, staging table and backups (`_pgmig`, or precheck's
    /// `pg_temp`).
    pub tables_in: &'a str,
}

pub type StepResult = Result<(plan::Step, Vec<IdJoin>, Vec<Diagnostic>), Vec<Diagnostic>>;

impl StepContext<'_> {
    fn origin<'a>(&'a self, value: &'a Text) -> Origin<'a> {
        Origin {
            value,
            lines: self.lines,
            lines_before: 0,
        }
    }

    /// Parses, rewrites `id()` calls of, and resolves one expression of a step.
    fn expr(
        &self,
        value: &Text,
        what: &str,
        scope: &mut Scope,
        joins: &mut Vec<IdJoin>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Expr> {
        let origin = self.origin(value);
        let mut expr = match sql::parse_expr(origin, what) {
            Ok(e) => e,
            Err(d) => {
                errors.push(d);
                return None;
            }
        };
        let before = joins.len();
        let mut found = lookup::rewrite(&mut expr, &self.lookups, joins, origin);
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
        found.extend(super::transforms::check(&expr, scope, origin));
        if found.is_empty() {
            for what in super::zone::casts(&expr, scope) {
                self.zone_conversion(pos_of(value), what);
            }
        }
        if super::library::uses_library(&expr) {
            self.uses_library.set(true);
        }
        scope.note_reads(&expr, self.v1, self.source_schema);
        scope::qualify_tables(&mut expr, self.v1, self.source_schema, self.read_schema);
        scope::qualify_types(&mut expr, self.v2, &scope.default_schema);
        self.cast_types
            .borrow_mut()
            .extend(scope::cast_types(&expr));
        if let Err(unprintable) = scope::printable_literals(&mut expr) {
            found.push(unprintable.diagnostic(origin));
        }
        self.called_functions
            .borrow_mut()
            .extend(super::calls::called_functions(&expr));
        found.extend(super::calls::refused_calls(&expr, origin));
        let ok = found.is_empty();
        errors.extend(found);
        ok.then_some(expr)
    }

    fn zone_conversion(&self, at: Option<crate::diagnostic::Pos>, what: String) {
        self.zone_conversions
            .borrow_mut()
            .push(super::zone::ZoneConversion { at, what });
    }

    /// Notes the assignment of a `from` value to `column` when it depends on the time zone.
    fn note_zone_assignment(
        &self,
        at: Option<crate::diagnostic::Pos>,
        from: &str,
        table: &QualName,
        column: &crate::catalog::Column,
    ) {
        let (f, t) = (
            self.v1.base_type(from),
            self.v2.base_type(&column.data_type),
        );
        if super::zone::depends_on_zone(f, t) {
            self.zone_conversion(
                at,
                format!(
                    "assigning {from} to `{}.{}` ({})",
                    table.name, column.name, column.data_type
                ),
            );
        }
    }

    pub fn step(&self, name: &Text, step: &crate::model::Step, head: &StepHead) -> StepResult {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let from_origin = Origin {
            lines_before: 1,
            ..self.origin(&step.from)
        };
        let mut from = sql::parse_from(from_origin).map_err(|d| vec![d])?;
        let mut scope = Scope::build(
            &mut from,
            self.v1,
            self.source_schema,
            self.read_schema,
            from_origin,
        )?;
        self.called_functions
            .borrow_mut()
            .extend(super::calls::called_functions(&from));
        errors.extend(super::calls::refused_calls(&from, from_origin));
        // An unqualified type in a cast (`x::plan`) is V2's: that is where the value goes, and
        // the scripts run with the default search_path, where the target schema is `public`.
        scope.default_schema = head.table.name.schema.clone();
        // Expressions may read V2 tables (qualified), to derive values from migrated rows.
        if head.table.name.schema != self.source_schema {
            scope.v2_visible = self.v2_tables.clone();
        }
        let mut joins: Vec<IdJoin> = Vec::new();
        let line_of = |t: &Text| pos_of(t).map_or(0, |p| p.line);
        let table = &head.table;

        let filter = step.filter.as_ref().and_then(|w| {
            let e = self.expr(w, "`where`", &mut scope, &mut joins, &mut errors)?;
            Some((
                Sql {
                    sql: e.to_string(),
                    line: line_of(w),
                },
                super::repeatable::non_repeatable_call(&e),
            ))
        });
        let (filter, filter_non_repeatable) = match filter {
            Some((f, call)) => (Some(f), call),
            None => (None, None),
        };
        let mut rejects = Vec::new();
        for r in &step.reject {
            if let Some(e) = self.expr(
                &r.when,
                "`reject.when`",
                &mut scope,
                &mut joins,
                &mut errors,
            ) {
                rejects.push(Reject {
                    when: Sql {
                        sql: e.to_string(),
                        line: line_of(&r.when),
                    },
                    reason: r.reason.to_string(),
                    reason_sql: None,
                });
            }
        }
        let mut warn_rules = Vec::new();
        for w in &step.warn {
            if let Some(e) = self.expr(&w.when, "`warn.when`", &mut scope, &mut joins, &mut errors)
            {
                warn_rules.push(Reject {
                    when: Sql {
                        sql: e.to_string(),
                        line: line_of(&w.when),
                    },
                    reason: w.reason.to_string(),
                    reason_sql: None,
                });
            }
        }

        let mut columns: Vec<ColumnMap> = Vec::new();
        let mut filled: BTreeMap<String, Expr> = BTreeMap::new();
        let mut by_exprs: Vec<Expr> = Vec::new();
        let mut read = Reads::default();
        let key = match step.key.as_deref() {
            Some(KeyDecl::New { new, by }) => {
                let new_expr = self.expr(new, "`key.new`", &mut scope, &mut joins, &mut errors);
                let names = map_key_names(by, head.key_columns.first().map_or("", String::as_str));
                let mut keys = Vec::new();
                for (b, column) in by.iter().zip(names) {
                    if let Some(e) = self.expr(b, "`key.by`", &mut scope, &mut joins, &mut errors) {
                        read.note(&e);
                        by_exprs.push(e.clone());
                        keys.push(MapKey {
                            column,
                            expr: Sql {
                                sql: e.to_string(),
                                line: line_of(b),
                            },
                        });
                    }
                }
                let column = head.key_columns.first().cloned().unwrap_or_default();
                plan::Key::New {
                    column,
                    new: Sql {
                        sql: new_expr.map(|e| e.to_string()).unwrap_or_default(),
                        line: line_of(new),
                    },
                    by: keys,
                }
            }
            _ => plan::Key::Keep {
                columns: head.key_columns.clone(),
            },
        };
        // `key: new` over a key of several columns is refused by the head; its columns are then
        // read as ordinary ones, so that error is not followed by one per key column.
        let new_key_column = match &key {
            plan::Key::New { column, .. } if head.key_columns.len() == 1 => Some(column.clone()),
            plan::Key::New { .. } | plan::Key::Keep { .. } => None,
        };

        let mapped: Vec<&str> = step.columns.keys().map(|k| k.as_str()).collect();
        let loss_choices = super::loss::check(&step.lossy, table, &mapped, &mut errors);
        let mut raw_columns: Vec<(String, Expr, usize)> = Vec::new();

        // Explicit columns, in model order.
        for (col, value) in &step.columns {
            let Some(target) = table.column(col.as_str()) else {
                let candidates: Vec<String> =
                    table.columns.iter().map(|c| c.name.clone()).collect();
                let mut d = Diagnostic::error(
                    format!(
                        "column `{}` does not exist in V2 table `{}`",
                        col.as_str(),
                        table.name
                    ),
                    pos_of(col),
                );
                if let Some(s) = did_you_mean(col.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                errors.push(d);
                continue;
            };
            if target.generated.is_some() {
                errors.push(Diagnostic::error(
                    format!(
                        "`{}` is a generated column; PostgreSQL computes it",
                        target.name
                    ),
                    pos_of(col),
                ));
                continue;
            }
            if new_key_column.as_deref() == Some(target.name.as_str()) {
                errors.push(
                    Diagnostic::error(
                        format!(
                            "`{}` is the key made by `key: new`; it can't also be mapped",
                            target.name
                        ),
                        pos_of(col),
                    )
                    .with_hint("remove it from `columns`, or use `key: keep`"),
                );
                continue;
            }
            let Some(e) = self.expr(
                value,
                "a column expression",
                &mut scope,
                &mut joins,
                &mut errors,
            ) else {
                continue;
            };
            read.note(&e);
            let source_type = types::infer(&e, &scope);
            if let Some(st) = &source_type {
                if !types::assignable(self.v1.base_type(st), self.v2.base_type(&target.data_type)) {
                    errors.push(
                        Diagnostic::error(
                            format!(
                                "a value of type {st} can't be assigned to `{}.{}` ({})",
                                table.name.name, target.name, target.data_type
                            ),
                            pos_of(value),
                        )
                        .with_hint(format!(
                            "convert it explicitly, e.g. `({})::{}`, and say how in the expression",
                            value.as_str(),
                            target.data_type
                        )),
                    );
                    continue;
                }
                self.note_zone_assignment(pos_of(value), st, &table.name, target);
            }
            let mut cm = column_map(target, &e, source_type, ColumnOrigin::Model(line_of(value)));
            cm.null_into_not_null = target.not_null && nullable_column(&e, &scope, self.v1);
            // A lossy library call: PLAN.md says what it loses, precheck lists the rows (as
            // rejects under `on_loss: reject`).
            let calls = super::library::lossy_calls(&e);
            let choice = loss_choices.iter().find(|c| c.column == col.as_str());
            if let Some(c) = choice.filter(|_| calls.is_empty()) {
                errors.push(c.nothing_to_lose());
            }
            for loss in &calls {
                let what = format!("`_pgmig.{}` gives {}", loss.function, loss.what);
                let rule = |line| Reject {
                    when: Sql {
                        sql: loss.test.clone(),
                        line,
                    },
                    reason: format!("{}: {what}", target.name),
                    reason_sql: None,
                };
                let what = match choice.map(|c| (&c.on_loss, c.line)) {
                    Some((OnLoss::Reject, line)) => {
                        rejects.push(rule(line));
                        format!("{what}; such rows are rejected (on_loss: reject, line {line})")
                    }
                    Some((OnLoss::KeepRaw { raw_column }, _)) => {
                        warn_rules.push(rule(line_of(value)));
                        format!("{what}; V1's text is kept in `{raw_column}`")
                    }
                    None => {
                        warn_rules.push(rule(line_of(value)));
                        what
                    }
                };
                cm.lossy.get_or_insert(what);
            }
            if let Some(c) = choice.filter(|_| !calls.is_empty()) {
                if let OnLoss::KeepRaw { raw_column } = &c.on_loss {
                    match c.raw_value(&calls) {
                        Ok(raw) => raw_columns.push((raw_column.clone(), raw, c.line)),
                        Err(d) => errors.push(d),
                    }
                }
            }
            columns.push(cm);
            filled.insert(target.name.clone(), e);
        }

        // The raw columns of `on_loss: keep_raw` rules: V1's text where the call lost some.
        for (raw_column, raw, line) in raw_columns {
            if let Some(target) = table.column(&raw_column) {
                read.note(&raw);
                columns.push(column_map(
                    target,
                    &raw,
                    Some("text".into()),
                    ColumnOrigin::Model(line),
                ));
                filled.insert(target.name.clone(), raw);
            }
        }

        // Implicit copies of same-named columns of the first `from` item, in V2 column order.
        let first = scope.relations.first().cloned();
        let mut implicit = Vec::new();
        for target in &table.columns {
            let mapped = columns.iter().any(|c| c.name == target.name)
                || step.columns.keys().any(|k| k.as_str() == target.name);
            if mapped
                || target.generated.is_some()
                || new_key_column.as_deref() == Some(target.name.as_str())
            {
                continue;
            }
            let source = first.as_ref().and_then(|r| {
                r.columns
                    .as_ref()?
                    .iter()
                    .find(|(c, _)| *c == target.name)
                    .map(|c| (r.alias.clone(), c.clone()))
            });
            match source {
                Some((alias, (col, ty))) => {
                    if let Some(st) = &ty {
                        if !types::assignable(
                            self.v1.base_type(st),
                            self.v2.base_type(&target.data_type),
                        ) {
                            errors.push(
                                Diagnostic::error(
                                    format!("`{alias}.{col}` ({st}) is copied by name into `{}.{}` ({}), which PostgreSQL won't assign", table.name.name, target.name, target.data_type),
                                    pos_of(name),
                                )
                                .with_hint(format!("map `{}` explicitly in `columns` with a conversion", target.name)),
                            );
                            continue;
                        }
                        self.note_zone_assignment(pos_of(name), st, &table.name, target);
                    }
                    let e = Expr::CompoundIdentifier(vec![
                        super::ident::sql_ident(&alias),
                        super::ident::sql_ident(&col),
                    ]);
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
                // A kept key column left unfilled gets the key's own error below, once.
                None if target.not_null
                    && target.default.is_none()
                    && target.identity.is_none()
                    && !is_kept_key(&key, &target.name) =>
                {
                    let unread: Vec<String> = first
                        .iter()
                        .flat_map(|r| r.columns.iter().flatten().map(|c| c.0.clone()))
                        .collect();
                    let mut d = Diagnostic::error(
                        format!(
                            "column `{}.{}` is NOT NULL in V2 and nothing fills it",
                            table.name.name, target.name
                        ),
                        pos_of(name),
                    );
                    d = match did_you_mean(&target.name, &unread) {
                        Some(s) => d.with_hint(format!(
                            "add `{}: {}.{s}` to `columns`?",
                            target.name,
                            first.as_ref().map_or("", |r| r.alias.as_str())
                        )),
                        None => d.with_hint(format!(
                            "add `{}: <expression>` to this step's `columns`, or a DEFAULT in V2",
                            target.name
                        )),
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
                let e = Expr::CompoundIdentifier(vec![
                    super::ident::sql_ident(alias),
                    super::ident::sql_ident(col),
                ]);
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
        for e in step
            .filter
            .iter()
            .chain(step.reject.iter().map(|r| &r.when))
            .chain(step.warn.iter().map(|w| &w.when))
        {
            if let Ok(parsed) = sql::parse_expr(self.origin(e), "") {
                read.note(&parsed);
            }
        }
        // Columns read in `from` (joins, LATERAL calls) and in id()/ref() arguments count as read.
        read.note(&from);
        for j in &joins {
            for (_, arg) in &j.on {
                read.note(arg);
            }
        }
        let (relink_rejects, relinks) = super::relink::apply(
            &step.relink_json,
            table,
            &mut columns,
            self.v2,
            &table.name.schema,
            &mut errors,
        );
        rejects.extend(relink_rejects);
        let replace = step.replace.as_ref().and_then(|cols| {
            super::replace::check(
                name.as_str(),
                cols,
                table,
                &columns,
                self.v2,
                self.tables_in,
                &mut errors,
            )
        });
        let mut repairs = super::repair::check(
            &step.repair,
            table,
            &columns,
            &step.columns.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            &mut errors,
        );
        super::redact::check_repairs(&mut repairs, self.redactions, &step.repair, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }

        // Every column of the target that draws from a sequence: the filled ones copy values
        // the sequence must move past, the others draw from it as they are inserted.
        let sequences = table
            .columns
            .iter()
            .filter_map(|c| SequenceSync::of(self.v2, &table.name, &c.name))
            .collect();
        let overriding = columns.iter().any(|c| {
            table
                .column(&c.name)
                .is_some_and(|t| t.identity == Some(Identity::Always))
        });
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
                        let pairs: Vec<String> = pk
                            .columns
                            .iter()
                            .map(|c| format!("{}, {alias}.{}", quote_literal(c), quote_ident(c)))
                            .collect();
                        format!("jsonb_build_object({})", pairs.join(", "))
                    })
                    .or_else(|| {
                        // A subquery: its `id` column, if it has one, names the row well enough.
                        let has_id = r.columns.as_ref()?.iter().any(|(c, _)| c == "id");
                        has_id.then(|| format!("jsonb_build_object('id', {alias}.id)"))
                    })
                    .unwrap_or_else(|| format!("to_jsonb({alias}.*)"));
                // `alias.*`, not `alias`: a column named like the alias would stand for the row.
                (format!("to_jsonb({alias}.*)"), key)
            }
            None => ("NULL::jsonb".into(), "NULL::jsonb".into()),
        };
        // The secrets of the row rejects copy: its V1 table's or, for a subquery's row, those
        // of the V1 tables the step reads (by name: a `SELECT *` has columns known only at run
        // time) and its own columns whose names look secret.
        let (redacted, kept_secrets) = match first
            .as_ref()
            .map(|r| (r, r.table.as_ref().and_then(|t| self.redactions.of(t))))
        {
            Some((_, Some(t))) => (t.redacted.clone(), t.kept.clone()),
            Some((r, None)) if r.table.is_none() => {
                let read: Vec<&plan::TableSecrets> = scope
                    .reads
                    .iter()
                    .filter_map(|t| self.redactions.of(t))
                    .collect();
                let mut redacted: Vec<plan::Redacted> = Vec::new();
                let mut kept: Vec<plan::KeptSecret> = Vec::new();
                for t in &read {
                    for x in &t.redacted {
                        if !redacted.iter().any(|y| y.column == x.column) {
                            redacted.push(x.clone());
                        }
                    }
                    for k in &t.kept {
                        if !kept.contains(k) {
                            kept.push(k.clone());
                        }
                    }
                }
                for (c, _) in r.columns.iter().flatten() {
                    if super::redact::looks_secret(c)
                        && !redacted.iter().any(|x| &x.column == c)
                        && !kept.iter().any(|k| &k.column == c)
                    {
                        redacted.push(plan::Redacted {
                            column: c.clone(),
                            line: 0,
                        });
                    }
                }
                (redacted, kept)
            }
            _ => (Vec::new(), Vec::new()),
        };
        let mut uniques = constraints::uniques(table, &filled, new_key_column.as_deref());
        if let plan::Key::New { by, .. } = &key {
            uniques.push(plan::UniqueTest {
                constraint: format!(
                    "key: new, one row per ({})",
                    by.iter()
                        .map(|b| b.column.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                // Not V2 columns: nothing to compare with rows already in V2.
                columns: Vec::new(),
                exprs: by_exprs.iter().map(|e| e.to_string()).collect(),
                secret: false,
            });
        }
        // A declared key is tested as V2 would test a UNIQUE one: precheck lists duplicates
        // among the migrated rows and values already in V2.
        if let (plan::RowKey::Declared { line }, plan::Key::Keep { columns: keys }) =
            (&head.row_key, &key)
        {
            if keys.iter().all(|k| filled.contains_key(k)) {
                uniques.push(plan::UniqueTest {
                    constraint: format!("key: [{}] (line {line})", keys.join(", ")),
                    columns: keys.iter().map(|k| quote_ident(k)).collect(),
                    exprs: keys.iter().map(|k| filled[k].to_string()).collect(),
                    secret: false,
                });
            }
        }
        for u in &mut uniques {
            u.secret = u.exprs.iter().any(|e| {
                self.redactions.mentioned_in(e)
                    || redacted
                        .iter()
                        .any(|r| crate::sql_text::mentions(e, &r.column))
            });
        }
        let defaulted = table
            .columns
            .iter()
            .filter(|c| c.generated.is_none() && !columns.iter().any(|m| m.name == c.name))
            .map(|c| plan::DefaultedColumn {
                name: c.name.clone(),
                target_type: c.data_type.clone(),
                default: c.default.clone(),
                // An identity column draws from its sequence; a default sqlparser can't read is
                // not recomputed either.
                volatile: c.identity.is_some()
                    || c.default.as_deref().is_some_and(|d| {
                        constraints::parse(d).is_none_or(|e| calls_non_repeatable(&e))
                    }),
            })
            .collect();
        let step = plan::Step {
            checks: constraints::checks(table, &filled),
            casts: constraints::casts(table, &filled, &|e| types::infer(e, &scope), &|t| {
                t.split_once('.')
                    .is_some_and(|(sch, n)| self.v2.enums.contains_key(&QualName::new(sch, n)))
            }),
            uniques,
            foreign_keys: constraints::foreign_keys(
                &self.v2.foreign_keys_of(&table.name),
                &filled,
                self.map_of_table,
            ),
            name: name.to_string(),
            target: table.name.clone(),
            line: line_of(name),
            from: from_sql(&from, &joins),
            from_without_own_map: from_sql(
                &from,
                &joins
                    .iter()
                    .filter(|j| !(j.kind == "id" && j.step == name.as_str()))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            source_row,
            redacted,
            kept_secrets,
            source_key,
            filter,
            filter_non_repeatable,
            rejects,
            warnings: warn_rules,
            key,
            row_key: head.row_key.clone(),
            columns,
            defaulted,
            repairs,
            replace,
            relinks,
            map_table: QualName::new(self.tables_in, super::names::derived("map_", name.as_str())),
            stage_table: QualName::new(
                self.tables_in,
                super::names::derived("stage_", name.as_str()),
            ),
            after: Vec::new(),
            map_read_later: false,
            sequences,
            overriding_system_value: overriding,
            mentioned: read.names_with_whole_rows(&scope, self.v1),
            // The first `from` table, or the one table a subquery there reads.
            source_table: first.as_ref().and_then(|r| r.table.clone()).or_else(|| {
                (scope.reads.len() == 1)
                    .then(|| scope.reads.iter().next().cloned())
                    .flatten()
            }),
            source_alias: first.as_ref().map(|r| r.alias.clone()),
            reads: scope.reads.iter().cloned().collect(),
            v2_reads: scope.v2_reads.iter().cloned().collect(),
            source_size: None,
            estimate: None,
            entity: None,
            hierarchy: None,
            // The suffix repair calls the library's with_counter().
            uses_library: self.uses_library.get()
                || step
                    .repair
                    .iter()
                    .any(|r| r.on_duplicate.as_str() == "suffix"),
        };
        Ok((step, joins, warnings))
    }
}

/// Whether `column` is one of the key columns `key: keep` copies.
fn is_kept_key(key: &plan::Key, column: &str) -> bool {
    matches!(key, plan::Key::Keep { columns } if columns.iter().any(|k| k == column))
}

fn column_map(
    target: &crate::catalog::Column,
    e: &Expr,
    source_type: Option<String>,
    origin: ColumnOrigin,
) -> ColumnMap {
    ColumnMap {
        name: target.name.clone(),
        target_type: target.data_type.clone(),
        expr: e.to_string(),
        literal: matches!(e, Expr::Value(_)),
        lossy: source_type
            .as_deref()
            .and_then(|st| types::lossy(st, &target.data_type)),
        source_type,
        origin,
        volatile: calls_non_repeatable(e),
        fresh: super::library::fresh_value(e),
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
    let table = scope
        .relation(&alias)
        .and_then(|r| r.table.as_ref())
        .and_then(|t| v1.table(t));
    table
        .and_then(|t| t.column(&column))
        .is_some_and(|c| !c.not_null)
}

fn calls_non_repeatable(e: &Expr) -> bool {
    super::repeatable::non_repeatable_call(e).is_some()
}

/// The `from` items as one join tree (commas become CROSS JOIN, which means the same
/// for these items) with the id-map joins appended, one item per line (emit indents them).
fn from_sql(from: &[TableWithJoins], joins: &[IdJoin]) -> String {
    let mut lines = Vec::new();
    for (i, twj) in from.iter().enumerate() {
        // `{:#}`: sqlparser's pretty printer puts subqueries on indented lines.
        let head = format!("{:#}", twj.relation);
        lines.push(if i == 0 {
            head
        } else {
            format!("CROSS JOIN {head}")
        });
        lines.extend(
            twj.joins
                .iter()
                .map(|j| format!("{j:#}").trim().to_string()),
        );
    }
    lines.extend(joins.iter().map(IdJoin::sql));
    lines.join("\n")
}

/// Which columns a step's expressions read, to account for the V1 data nothing reads.
#[derive(Default)]
struct Reads {
    qualified: BTreeSet<(String, String)>,
    bare: BTreeSet<String>,
    /// Aliases whose whole row an expression reads (`to_jsonb(u.*)`).
    whole_rows: BTreeSet<String>,
}

impl Reads {
    fn note<V: Visit>(&mut self, e: &V) {
        struct Collect<'a>(&'a mut Reads);
        impl Visitor for Collect<'_> {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
                match e {
                    Expr::Identifier(i) => {
                        self.0.bare.insert(ident_name(i));
                    }
                    Expr::CompoundIdentifier(p) if p.len() == 2 => {
                        self.0
                            .qualified
                            .insert((ident_name(&p[0]), ident_name(&p[1])));
                    }
                    Expr::Function(f) => {
                        if let FunctionArguments::List(list) = &f.args {
                            for arg in &list.args {
                                if let FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(
                                    name,
                                )) = arg
                                {
                                    if let Some(ObjectNamePart::Identifier(alias)) = name.0.last() {
                                        self.0.whole_rows.insert(ident_name(alias));
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
                ControlFlow::Continue(())
            }
        }
        let _ = e.visit(&mut Collect(self));
    }

    /// Every column name mentioned, bare or qualified, and every column of a V1 table whose
    /// whole row an expression reads.
    fn names_with_whole_rows(&self, scope: &Scope, v1: &Catalog) -> Vec<String> {
        let whole_rows = scope
            .relations
            .iter()
            .filter(|r| self.whole_rows.contains(&r.alias))
            .filter_map(|r| v1.table(r.table.as_ref()?))
            .flat_map(|t| t.columns.iter().map(|c| c.name.clone()));
        let all: BTreeSet<String> = self
            .bare
            .iter()
            .cloned()
            .chain(self.qualified.iter().map(|(_, c)| c.clone()))
            .chain(whole_rows)
            .collect();
        all.into_iter().collect()
    }
}
