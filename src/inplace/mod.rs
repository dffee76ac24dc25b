//! In-place migrations: the same tables in V1 and V2, some column types (NOT NULL, defaults)
//! changed. The compiler derives the changes and their dependent objects from the two
//! catalogs; the scripts add a new column per type change, fill it in resumable batches,
//! then swap it in one short transaction and re-create what depended on the old column.
//!
//! A model says `in_place: true` at its top level (see [`model`]); the driver then loads it
//! with [`load`], reads both catalogs and hands them to [`compile`] instead of check → emit.

mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use askama::Template;

use crate::catalog::{quote_ident, Catalog, Deferrable, FkAction, QualName, Table};
use crate::check::zone::ZoneConversion;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile};
use crate::emit::Scripts;
use crate::error::CompileError;
use crate::plan::TableSize;
use crate::sql_text::mentions;

pub use model::{is_in_place, load, InPlaceModel};

/// One column whose type changes: filled into `temp` in batches, then swapped in.
#[derive(Debug, Clone)]
pub struct TypeChange {
    pub column: String,
    pub old_type: String,
    pub new_type: String,
    /// The `using` expression (over the column's bare name), when the model gives one.
    pub using: Option<String>,
    /// The model line of the `using`, 0 without one.
    pub using_line: usize,
}

impl TypeChange {
    /// The types its conversions cast to: the new type, those its `using` casts to, and the
    /// old type rollback restores (the implicit-code guard checks pg_cast's casts for them).
    pub fn cast_types(&self) -> BTreeSet<String> {
        let mut types = BTreeSet::from([self.old_type.clone(), self.new_type.clone()]);
        if let Some(e) = self.using.as_deref().and_then(parsed) {
            types.extend(crate::check::scope::cast_types(&e));
        }
        types
    }

    /// The functions its `using` calls (the implicit-code guard checks them).
    pub fn called_functions(&self) -> BTreeSet<String> {
        self.using
            .as_deref()
            .and_then(parsed)
            .map(|e| crate::check::calls::called_functions(&e))
            .unwrap_or_default()
    }

    /// `prefix.column` converted to the new type (the `using`, or a cast).
    pub fn conversion(&self, prefix: &str) -> String {
        match &self.using {
            Some(u) => format!("({})", qualify(u, &self.column, prefix)),
            None => format!(
                "({prefix}.{})::{}",
                quote_ident(&self.column),
                self.new_type
            ),
        }
    }
}

/// NOT NULL and DEFAULT of a column, as one schema has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Attrs {
    pub not_null: bool,
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TableChange {
    pub name: QualName,
    /// V1's primary key columns: the backup's key.
    pub key: Vec<String>,
    /// Their types in V1, in the same order (the backup's key columns have them).
    pub key_types: Vec<String>,
    pub types: Vec<TypeChange>,
    /// Columns whose NOT NULL or DEFAULT differ (type-changed ones included): (column, V1, V2).
    pub attrs: Vec<(String, Attrs, Attrs)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjKind {
    PrimaryKey,
    Unique,
    Check,
    Index,
    ForeignKey,
}

/// A constraint or index dropped (V1's) or created (V2's) around the swap;
/// templates/inplace/ddl.sql prints its statements.
#[derive(Debug, Clone)]
pub struct Obj {
    pub kind: ObjKind,
    pub table: QualName,
    pub name: String,
    pub definition: Definition,
    /// A constraint the schema has `NOT VALID`: its create says so, and nothing validates it.
    pub not_valid: bool,
}

/// A constraint's or an index's definition as the catalog has it (column names as they are;
/// keys, expressions and predicates as the catalog prints them).
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Key {
        primary: bool,
        columns: Vec<String>,
        include: Vec<String>,
        deferrable: Deferrable,
    },
    Check {
        expression: String,
    },
    ForeignKey {
        columns: Vec<String>,
        references: QualName,
        referenced_columns: Vec<String>,
        on_update: FkAction,
        on_delete: FkAction,
        deferrable: Deferrable,
    },
    Index {
        unique: bool,
        method: String,
        keys: Vec<String>,
        include: Vec<String>,
        storage_parameters: Vec<StorageParameter>,
        predicate: Option<String>,
    },
}

impl Definition {
    /// The functions a CHECK calls. The scripts add a CHECK (V2's in the swap, V1's back in
    /// rollback) and validate it as whoever runs them, so PostgreSQL evaluates it with that
    /// role's rights: the implicit-code guard checks these functions like the model's calls
    /// (a CHECK calling the application's own function made its owner superuser: fourth
    /// review). Index expressions are left out: an index is built with its table owner's rights.
    pub fn called_functions(&self) -> BTreeSet<String> {
        self.check_expression()
            .map(|e| crate::check::calls::called_functions(&e))
            .unwrap_or_default()
    }

    /// The types a CHECK casts to, for the same reason: a cast to a domain runs the domain's
    /// CHECKs (a V2 CHECK casting to the application's domain ran its CHECK's function as the
    /// superuser when phase 3 validated it: fifth review). The guard checks them as types the
    /// model casts to, from precheck on, before the CHECK exists.
    pub fn cast_types(&self) -> BTreeSet<String> {
        self.check_expression()
            .map(|e| crate::check::scope::cast_types(&e))
            .unwrap_or_default()
    }

    fn check_expression(&self) -> Option<sqlparser::ast::Expr> {
        match self {
            Definition::Check { expression } => parsed(expression),
            _ => None,
        }
    }
}

/// An expression as the catalog prints it (or a model's `using`), parsed; none when it does
/// not parse (the catalog's own text always does; a `using` is checked when it is loaded).
fn parsed(expression: &str) -> Option<sqlparser::ast::Expr> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(expression)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// An index's storage parameter, `fillfactor=70` as the catalog prints it: the name (an
/// identifier) and the value (a literal).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageParameter {
    pub name: String,
    pub value: Option<String>,
}

impl StorageParameter {
    pub(super) fn parse(parameter: &str) -> StorageParameter {
        match parameter.split_once('=') {
            Some((name, value)) => StorageParameter {
                name: name.to_string(),
                value: Some(value.to_string()),
            },
            None => StorageParameter {
                name: parameter.to_string(),
                value: None,
            },
        }
    }
}

/// The whole in-place migration, derived from the two catalogs.
#[derive(Debug, Clone)]
pub struct InPlace {
    pub model: String,
    pub model_file: String,
    pub schema: String,
    pub batch_size: u64,
    /// The TimeZone every script sets (the model's `timezone:`, UTC without one).
    pub time_zone: String,
    pub tables: Vec<TableChange>,
    /// V1 objects dropped before the swap, in drop order.
    pub drops: Vec<Obj>,
    /// V2 objects created after the swap, in create order.
    pub creates: Vec<Obj>,
    /// Every table the swap locks.
    pub locked: Vec<QualName>,
    /// V2's tables as the catalog knows them, for verify's shape checks.
    pub v2_tables: Vec<Table>,
    pub v1_tables: Vec<Table>,
    /// The locked tables' sizes by V1's statistics, when V1 is a live database (PLAN.md).
    pub sizes: Option<BTreeMap<QualName, TableSize>>,
}

/// What the in-place branch hands back to the driver: the scripts and the warnings.
#[derive(Debug)]
pub struct InPlaceOutput {
    pub scripts: Scripts,
    pub warnings: Diagnostics,
}

/// The in-place branch, a peer of check → select → emit: from the model and the two catalogs
/// (the driver's load pass) to the scripts. With `check_db` (a scratch database's URL),
/// PostgreSQL prepares every column's conversion there first, V1's DDL file (`v1_ddl`) loaded
/// (see [`crate::dbcheck::check_in_place`]); `sizes` are the locked tables' sizes by V1's
/// statistics, for PLAN.md, when V1 is a live database.
pub fn compile(
    model: &InPlaceModel,
    source: &SourceFile,
    v1: &Catalog,
    v2: &Catalog,
    check_db: Option<(&str, Option<&Path>)>,
    sizes: Option<BTreeMap<QualName, TableSize>>,
) -> Result<InPlaceOutput, CompileError> {
    let (mut migration, warnings) =
        derive(model, source, v1, v2).map_err(|diagnostics| CompileError::Model {
            diagnostics,
            file: source.clone(),
        })?;
    if let Some((url, v1_ddl)) = check_db {
        let Some(v1_ddl) = v1_ddl else {
            return Err(CompileError::CheckDb(
                "--check-db loads V1 from its DDL file into the scratch database: give --v1 as a .sql file (for V1 in a database: pg_dump --schema-only --no-owner --no-privileges)".into(),
            ));
        };
        crate::dbcheck::check_in_place(&migration, model, source, url, v1_ddl)?;
    }
    migration.sizes = sizes;
    let scripts = render(&migration).map_err(|e| CompileError::Render(e.to_string()))?;
    Ok(InPlaceOutput { scripts, warnings })
}

/// Whether PostgreSQL converts `from` to `to` safely enough to go without a `using`: a value
/// PostgreSQL assigns (the checker's answer, modifiers included), or a string holding a UUID
/// (precheck lists the values that are not one).
pub fn known_cast(from: &str, to: &str) -> bool {
    use crate::check::types::{assignable, base_type, is_string};
    // An array into a plain string column: its text form would be kept, not converted.
    let array_to_scalar = from.ends_with("[]") && !to.ends_with("[]");
    (assignable(from, to) && !array_to_scalar) || (is_string(from) && base_type(to) == "uuid")
}

/// An object, the columns of its table it reads, and the columns it references elsewhere.
struct Dependent {
    obj: Obj,
    reads: Vec<String>,
    references: Option<(QualName, Vec<String>)>,
}

/// Every constraint and index of a table, as objects pgmig can drop and create.
fn objects(t: &Table) -> Vec<Dependent> {
    let mut out = Vec::new();
    let name = &t.name;
    let obj = |kind, cname: &str, definition: Definition| Obj {
        kind,
        table: name.clone(),
        name: cname.to_string(),
        definition,
        not_valid: false,
    };
    let keys = t
        .primary_key
        .iter()
        .map(|k| (true, k))
        .chain(t.uniques.iter().map(|k| (false, k)));
    for (primary, k) in keys {
        let definition = Definition::Key {
            primary,
            columns: k.columns.clone(),
            include: k.include.clone(),
            deferrable: k.deferrable,
        };
        let kind = if primary {
            ObjKind::PrimaryKey
        } else {
            ObjKind::Unique
        };
        out.push(Dependent {
            obj: obj(kind, &k.name, definition),
            reads: k.columns.iter().chain(&k.include).cloned().collect(),
            references: None,
        });
    }
    for c in &t.checks {
        let definition = Definition::Check {
            expression: c.expression.clone(),
        };
        out.push(Dependent {
            obj: Obj {
                not_valid: c.not_valid,
                ..obj(ObjKind::Check, &c.name, definition)
            },
            reads: t
                .columns
                .iter()
                .filter(|col| mentions(&c.expression, &col.name))
                .map(|col| col.name.clone())
                .collect(),
            references: None,
        });
    }
    for fk in &t.foreign_keys {
        let definition = Definition::ForeignKey {
            columns: fk.columns.clone(),
            references: fk.references.clone(),
            referenced_columns: fk.referenced_columns.clone(),
            on_update: fk.on_update,
            on_delete: fk.on_delete,
            deferrable: fk.deferrable,
        };
        out.push(Dependent {
            obj: Obj {
                not_valid: fk.not_valid,
                ..obj(ObjKind::ForeignKey, &fk.name, definition)
            },
            reads: fk.columns.clone(),
            references: Some((fk.references.clone(), fk.referenced_columns.clone())),
        });
    }
    for ix in &t.indexes {
        let definition = Definition::Index {
            unique: ix.unique,
            method: ix.method.clone(),
            keys: ix.keys.clone(),
            include: ix.include.clone(),
            storage_parameters: ix
                .storage_parameters
                .iter()
                .map(|p| StorageParameter::parse(p))
                .collect(),
            predicate: ix.predicate.clone(),
        };
        let reads = t
            .columns
            .iter()
            .filter(|col| {
                ix.keys
                    .iter()
                    .chain(ix.predicate.iter())
                    .any(|k| mentions(k, &col.name))
                    || ix.include.contains(&col.name)
            })
            .map(|col| col.name.clone())
            .collect();
        out.push(Dependent {
            obj: obj(ObjKind::Index, &ix.name, definition),
            reads,
            references: None,
        });
    }
    out
}

fn derive(
    m: &InPlaceModel,
    source: &SourceFile,
    c1: &Catalog,
    c2: &Catalog,
) -> Result<(InPlace, Diagnostics), Diagnostics> {
    let schema = m.schema().to_string();
    let mut errors = Diagnostics::default();
    let mut warnings = Diagnostics::default();
    let at_in_place = m.in_place_pos(&source.text);
    crate::check::check_model_name(&m.name, &mut errors);
    let batch_size = m.batch_size.as_ref().map_or(1000, |b| **b);
    if let Some(zero) = m.batch_size.as_ref().filter(|b| ***b == 0) {
        errors.push(
            Diagnostic::error(
                "batch_size must be a positive whole number",
                crate::model::pos_at(zero, 1),
            )
            .with_hint("the rows each batch updates and commits; without `batch_size`, 1000"),
        );
    }
    let v1: Vec<&Table> = c1.tables_in(&schema).collect();
    let v2: Vec<&Table> = c2.tables_in(&schema).collect();
    for t in &v1 {
        if c2.table(&t.name).is_none() {
            warnings.push(Diagnostic::warning(
                format!(
                    "table {} is only in V1: in-place mode leaves it as it is",
                    t.name
                ),
                None,
            ));
        }
    }
    for t in &v2 {
        if c1.table(&t.name).is_none() {
            warnings.push(Diagnostic::warning(
                format!(
                    "table {} is only in V2: in-place mode does not create it",
                    t.name
                ),
                None,
            ));
        }
    }

    // Column changes of the tables present in both.
    let mut tables: Vec<TableChange> = Vec::new();
    let mut used_using: BTreeSet<String> = BTreeSet::new();
    let mut zone_conversions: Vec<ZoneConversion> = Vec::new();
    for t1 in &v1 {
        let Some(t2) = c2.table(&t1.name) else {
            continue;
        };
        let mut change = TableChange {
            name: t1.name.clone(),
            key: Vec::new(),
            key_types: Vec::new(),
            types: Vec::new(),
            attrs: Vec::new(),
        };
        for col in &t1.columns {
            if t2.column(&col.name).is_none() {
                errors.push(
                    Diagnostic::error(format!("column {}.{} is only in V1", t1.name, col.name), at_in_place)
                        .with_hint("in-place mode changes columns' types, NOT NULL and defaults; it does not drop columns"),
                );
            }
        }
        for col2 in &t2.columns {
            let Some(col1) = t1.column(&col2.name) else {
                errors.push(
                    Diagnostic::error(format!("column {}.{} is only in V2", t1.name, col2.name), at_in_place)
                        .with_hint("in-place mode changes columns' types, NOT NULL and defaults; it does not add columns"),
                );
                continue;
            };
            let key = format!("{}.{}", t1.name.name, col2.name);
            let using = m.using.iter().find(|(k, _)| k.as_str() == key);
            if col1.data_type != col2.data_type {
                if let Some((k, _)) = using {
                    used_using.insert(k.as_str().to_string());
                }
                let using_sql = match using {
                    Some((_, expr)) => match parse_using(expr.as_str()) {
                        Ok(sql) => Some(sql),
                        Err(e) => {
                            errors.push(Diagnostic::error(
                                format!("the `using` of {key} is not an SQL expression: {e}"),
                                model::text_pos(expr),
                            ));
                            None
                        }
                    },
                    None => None,
                };
                if using.is_none() && !known_cast(&col1.data_type, &col2.data_type) {
                    errors.push(
                        Diagnostic::error(
                            format!(
                                "{key}: {} → {} has no safe cast; give the conversion in `using`",
                                col1.data_type, col2.data_type
                            ),
                            at_in_place,
                        )
                        .with_hint(format!(
                            "add `using: {{ {key}: \"<expression over {col}>\" }}` to the model",
                            col = col2.name
                        )),
                    );
                }
                if crate::check::zone::depends_on_zone(&col1.data_type, &col2.data_type) {
                    let at = using.and_then(|(_, e)| model::text_pos(e)).or(at_in_place);
                    zone_conversions.push(ZoneConversion {
                        at,
                        what: format!("{key}: {} → {}", col1.data_type, col2.data_type),
                    });
                }
                change.types.push(TypeChange {
                    column: col2.name.clone(),
                    old_type: col1.data_type.clone(),
                    new_type: col2.data_type.clone(),
                    using: using_sql,
                    using_line: using
                        .and_then(|(_, e)| model::text_pos(e))
                        .map_or(0, |p| p.line),
                });
            }
            let a1 = Attrs {
                not_null: col1.not_null,
                default: col1.default.clone(),
            };
            let a2 = Attrs {
                not_null: col2.not_null,
                default: col2.default.clone(),
            };
            if a1 != a2 || col1.data_type != col2.data_type {
                change.attrs.push((col2.name.clone(), a1, a2));
            }
        }
        if !change.types.is_empty() {
            match &t1.primary_key {
                Some(pk) => {
                    change.key = pk.columns.clone();
                    change.key_types = pk
                        .columns
                        .iter()
                        .filter_map(|c| t1.column(c))
                        .map(|c| c.data_type.clone())
                        .collect();
                }
                None => errors.push(Diagnostic::error(
                    format!("table {} has no primary key in V1: in-place mode batches and backs up rows by it", t1.name),
                    at_in_place,
                )),
            }
        }
        if !change.attrs.is_empty() {
            tables.push(change);
        }
    }
    let tables = parents_first(tables, &v1);
    for (k, _) in &m.using {
        if !used_using.contains(k.as_str()) {
            errors.push(
                Diagnostic::error(
                    format!(
                        "`using` for {}, a column whose type does not change (or no such column)",
                        k.as_str()
                    ),
                    model::text_pos(k),
                )
                .with_hint("`using` keys are table.column of a column whose type V2 changes"),
            );
        }
    }

    // Dependent objects: what reads a type-changed column, or differs between V1 and V2.
    let changed: BTreeSet<(QualName, String)> = tables
        .iter()
        .flat_map(|t| {
            t.types
                .iter()
                .map(move |c| (t.name.clone(), c.column.clone()))
        })
        .collect();
    let touches = |table: &QualName, cols: &[String], refs: &Option<(QualName, Vec<String>)>| {
        cols.iter()
            .any(|c| changed.contains(&(table.clone(), c.clone())))
            || refs
                .as_ref()
                .is_some_and(|(p, pc)| pc.iter().any(|c| changed.contains(&(p.clone(), c.clone()))))
    };
    let mut drops = Vec::new();
    let mut creates = Vec::new();
    for t1 in &v1 {
        let Some(t2) = c2.table(&t1.name) else {
            continue;
        };
        let (o1, o2) = (objects(t1), objects(t2));
        let same = |a: &Obj, others: &[Dependent]| {
            others.iter().any(|b| {
                b.obj.kind == a.kind
                    && b.obj.name == a.name
                    && b.obj.definition == a.definition
                    && b.obj.not_valid == a.not_valid
            })
        };
        for d in &o1 {
            if touches(&t1.name, &d.reads, &d.references) || !same(&d.obj, &o2) {
                drops.push(d.obj.clone());
            }
        }
        for d in &o2 {
            if touches(&t2.name, &d.reads, &d.references) || !same(&d.obj, &o1) {
                creates.push(d.obj.clone());
            }
        }
    }
    // FKs first when dropping (they hang on the keys); keys first when creating.
    drops.sort_by_key(|o: &Obj| (std::cmp::Reverse(o.kind), o.table.clone(), o.name.clone()));
    creates.sort_by_key(|o: &Obj| (o.kind, o.table.clone(), o.name.clone()));
    let mut locked: Vec<QualName> = tables
        .iter()
        .map(|t| t.name.clone())
        .chain(drops.iter().chain(&creates).map(|o| o.table.clone()))
        .collect();
    locked.sort();
    locked.dedup();
    for (t, c) in &changed {
        if c.starts_with("pgmig_") {
            errors.push(Diagnostic::error(
                format!("{t}.{c}: column names starting with pgmig_ are pgmig's own"),
                at_in_place,
            ));
        }
    }
    let time_zone =
        crate::check::zone::time_zone(m.timezone.as_ref(), &zone_conversions, &mut errors);
    if errors.has_errors() {
        errors.0.extend(warnings.0);
        return Err(errors);
    }
    let v2_tables = locked.iter().filter_map(|n| c2.table(n).cloned()).collect();
    let v1_tables = locked.iter().filter_map(|n| c1.table(n).cloned()).collect();
    let migration = InPlace {
        model: m.name.as_str().to_string(),
        model_file: source.name.clone(),
        schema,
        batch_size,
        time_zone,
        tables,
        drops,
        creates,
        locked,
        v2_tables,
        v1_tables,
        sizes: None,
    };
    Ok((migration, warnings))
}

/// The changed tables with parents before their children (by V1's foreign keys between
/// them), in catalog order otherwise: rollback restores a parent's old values first, so a
/// child's row written since migrate can take its parent's V1 spelling. A cycle is broken at
/// its first table.
fn parents_first(tables: Vec<TableChange>, v1: &[&Table]) -> Vec<TableChange> {
    let parents = |name: &QualName| -> Vec<QualName> {
        v1.iter()
            .find(|t| &t.name == name)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .map(|fk| fk.references.clone())
                    .filter(|p| p != name)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rest = tables;
    let mut ordered = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let ready = rest
            .iter()
            .position(|t| {
                parents(&t.name)
                    .iter()
                    .all(|p| rest.iter().all(|r| &r.name != p))
            })
            .unwrap_or(0);
        ordered.push(rest.remove(ready));
    }
    ordered
}

/// Parses a `using` expression and prints it back (one statement's worth of SQL, no `;`).
fn parse_using(expr: &str) -> Result<String, String> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    // What psql would read differently (see check::lexical), and a size the printer can walk.
    if let Some(p) = crate::check::lexical::check(expr) {
        return Err(format!(
            "{} (line {}, column {} of the expression; {})",
            p.message, p.line, p.column, p.hint
        ));
    }
    if let Some(n) = crate::check::sql::oversized(expr) {
        return Err(format!(
            "it has {n} tokens, at most {}",
            crate::check::sql::MAX_TOKENS
        ));
    }
    let mut p = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(expr)
        .map_err(|e| e.to_string())?;
    let e = p.parse_expr().map_err(|e| e.to_string())?;
    if p.peek_token().token != sqlparser::tokenizer::Token::EOF {
        return Err("text after the expression".into());
    }
    if let Some((name, _, _, why)) = crate::check::calls::refusals(&e).into_iter().next() {
        return Err(crate::check::calls::refusal_message(&name, why));
    }
    Ok(e.to_string())
}

/// The `using` expression with every bare mention of `column` read from `prefix.column`.
fn qualify(expr: &str, column: &str, prefix: &str) -> String {
    use sqlparser::ast::{Expr, Ident};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    let mut e = match Parser::new(&PostgreSqlDialect {})
        .try_with_sql(expr)
        .and_then(|mut p| p.parse_expr())
    {
        Ok(e) => e,
        Err(_) => return expr.to_string(),
    };
    let _ = sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let Expr::Identifier(i) = x {
            let name = if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            };
            if name == column {
                *x = Expr::CompoundIdentifier(vec![Ident::new(prefix), i.clone()]);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e.to_string()
}

mod prebuild;
mod query;
mod view;

/// Renders the scripts twice: first with an empty fingerprint, whose hash is the
/// fingerprint every script then carries (as the copy compile does).
fn render(m: &InPlace) -> Result<Scripts, askama::Error> {
    let mut scripts = render_with(m, "")?;
    // PLAN.md's sizes are V1's statistics at compile time, not what the scripts do: a compile
    // from the live database and one from DDL files verify and roll back each other's runs.
    scripts.files.retain(|(name, _)| *name != "PLAN.md");
    let fingerprint = crate::emit::fingerprint::of_scripts(&scripts);
    render_with(m, &fingerprint)
}

fn render_with(m: &InPlace, fingerprint: &str) -> Result<Scripts, askama::Error> {
    let v = view::View::new(m, fingerprint);
    let migrate = crate::emit::tidy(
        &view::Migrate {
            v: &v,
            time_zone: &m.time_zone,
        }
        .render()?,
    );
    // The linter reads migrate.sql as the DBA will run it: tidied.
    let lock_table = crate::emit::locks::LockSection::of(&migrate).table;
    let files = vec![
        (
            "precheck.sql",
            view::Precheck {
                v: &v,
                time_zone: &m.time_zone,
            }
            .render()?,
        ),
        ("migrate.sql", migrate),
        (
            "verify.sql",
            view::Verify {
                v: &v,
                time_zone: &m.time_zone,
            }
            .render()?,
        ),
        (
            "rollback.sql",
            view::Rollback {
                v: &v,
                time_zone: &m.time_zone,
            }
            .render()?,
        ),
        (
            "cleanup.sql",
            view::Cleanup {
                v: &v,
                time_zone: &m.time_zone,
            }
            .render()?,
        ),
        (
            "PLAN.md",
            view::PlanPage {
                v: &v,
                table: &lock_table,
            }
            .render()?,
        ),
    ];
    Ok(Scripts {
        files: files
            .into_iter()
            .map(|(n, t)| (n, crate::emit::tidy(&t)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_casts() {
        assert!(known_cast("character varying(36)", "uuid"));
        assert!(known_cast("integer", "bigint"));
        assert!(known_cast("uuid", "text"));
        assert!(!known_cast("text", "integer"));
        assert!(!known_cast("text", "boolean"));
        assert!(known_cast(
            "timestamp without time zone",
            "timestamp(6) without time zone"
        ));
        assert!(known_cast("numeric", "numeric(12,2)"));
        assert!(!known_cast("integer[]", "text"));
    }

    #[test]
    fn using_refuses_what_psql_would_read_differently() {
        assert_eq!(
            parse_using("NULLIF(user_id, '')::uuid").unwrap(),
            "NULLIF(user_id, '')::UUID"
        );
        insta::assert_snapshot!(parse_using("user_id::uuid = :'x'").unwrap_err(), @"`:'x'` is a psql variable: psql would replace it before PostgreSQL reads the script (line 1, column 17 of the expression; a model's SQL can't take psql variables; write the value itself (for an array slice, put spaces around the colon: `a[lo : hi]`))");
        insta::assert_snapshot!(parse_using("$a$ x").unwrap_err(), @"unterminated dollar-quoted string: `$a$` is never closed (line 1, column 1 of the expression; close it with the same tag, or write the text as a quoted string ('…'))");
        assert!(parse_using(&vec!["1"; 6000].join("+"))
            .unwrap_err()
            .contains("tokens, at most 10000"));
    }

    #[test]
    fn qualifies_the_column() {
        assert_eq!(
            qualify("CASE WHEN id = '' THEN NULL ELSE id::uuid END", "id", "b"),
            "CASE WHEN b.id = '' THEN NULL ELSE b.id::UUID END"
        );
    }
}
