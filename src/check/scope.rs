//! The relations a step's `from` makes visible, and name resolution against them.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    ArrayElemTypeDef, DataType, Expr, Ident, ObjectName, ObjectNamePart, Query, SelectItem,
    SetExpr, TableFactor, TableWithJoins, Visit, VisitMut, Visitor, VisitorMut,
};

use super::ident::{ident_name, sql_ident};
use super::sql::Origin;
use super::suggest::did_you_mean_ident;
use super::types::ColumnTypes;
use crate::catalog::{Catalog, QualName};
use crate::diagnostic::Diagnostic;

/// A relation visible in a step: a V1 table, a subquery, a table function, or an id map.
#[derive(Debug, Clone)]
pub struct Relation {
    pub alias: String,
    /// Column names and, where known, types. `None`: columns can't be known (e.g. `SELECT *`).
    pub columns: Option<Vec<(String, Option<String>)>>,
    /// The V1 table behind the alias, if it is one.
    pub table: Option<QualName>,
}

impl Relation {
    fn column(&self, name: &str) -> Option<&(String, Option<String>)> {
        self.columns.as_ref()?.iter().find(|(c, _)| c == name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub relations: Vec<Relation>,
    /// Where unqualified type names live (for casts).
    pub default_schema: String,
    /// Every V1 table the step's SQL names, in `from` and in its expressions.
    pub reads: BTreeSet<QualName>,
    /// V2 tables an expression may read (written qualified with V2's schema), to derive values
    /// from rows earlier steps migrated; and the ones it does read.
    /// Shared by every step's scope: built once per compile.
    pub v2_visible: std::rc::Rc<BTreeSet<QualName>>,
    pub v2_reads: BTreeSet<QualName>,
}

/// SQL's value keywords that sqlparser may read as bare identifiers.
const VALUE_KEYWORDS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "user",
    "current_schema",
    "current_catalog",
    "current_role",
];

fn object_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => ident_name(i),
            other => other.to_string(),
        })
        .collect()
}

impl Scope {
    pub fn relation(&self, alias: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.alias == alias)
    }

    /// Builds the scope of a `from` clause and qualifies its V1 tables with the source schema.
    /// `read_schema` is where the scripts read V1's tables (the staging schema of a V1 on
    /// another server; else `schema` itself).
    pub fn build(
        from: &mut Vec<TableWithJoins>,
        v1: &Catalog,
        schema: &str,
        read_schema: &str,
        origin: Origin,
    ) -> Result<Scope, Vec<Diagnostic>> {
        let mut errors = check_relations(from, v1, schema, &BTreeSet::new(), origin);
        let mut scope = Scope {
            relations: Vec::new(),
            default_schema: schema.to_string(),
            reads: BTreeSet::new(),
            v2_visible: Default::default(),
            v2_reads: BTreeSet::new(),
        };
        scope.note_reads(&*from, v1, schema);
        for twj in from.iter() {
            let factors =
                std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation));
            for factor in factors {
                match relation_of(factor, v1, schema, &scope) {
                    Ok(Some(r)) => scope.relations.push(r),
                    Ok(None) => {}
                    Err(d) => errors.push(origin.error(d.0, d.1, d.2)),
                }
            }
        }
        // Names resolve against V1's catalog first; then they are printed where the scripts read them.
        qualify_tables(from, v1, schema, read_schema);
        if let Err(unprintable) = printable_literals(from) {
            errors.push(unprintable.diagnostic(origin));
        }
        if errors.is_empty() {
            Ok(scope)
        } else {
            Err(errors)
        }
    }

    /// Adds the V1 tables `node` names to [`Scope::reads`].
    pub fn note_reads<V: Visit>(&mut self, node: &V, v1: &Catalog, schema: &str) {
        let _ = sqlparser::ast::visit_relations(node, |name| {
            if let Some(t) = resolve_table(name, v1, schema) {
                self.reads.insert(t);
            } else if let Some(t) = v2_table(name, &self.v2_visible) {
                self.v2_reads.insert(t);
            }
            ControlFlow::<()>::Continue(())
        });
    }

    /// Checks every column reference of `expr` against the scope.
    pub fn resolve(
        &self,
        expr: &Expr,
        v1: &Catalog,
        schema: &str,
        origin: Origin,
    ) -> Vec<Diagnostic> {
        let mut errors = check_relations(expr, v1, schema, &self.v2_visible, origin);
        let mut inner = InnerAliases::default();
        let _ = expr.visit(&mut inner);
        let mut resolver = Resolver {
            scope: self,
            inner: &inner.aliases,
            depth: 0,
            origin,
            errors: &mut errors,
        };
        let _ = expr.visit(&mut resolver);
        errors
    }

    /// The type of a column reference, where known.
    pub fn column_type(&self, qualifier: Option<&str>, name: &str) -> Option<String> {
        match qualifier {
            Some(q) => self.relation(q)?.column(name)?.1.clone(),
            None => self
                .relations
                .iter()
                .find_map(|r| r.column(name))
                .and_then(|c| c.1.clone()),
        }
    }
}

type PosError = (String, sqlparser::tokenizer::Location, usize);

/// No position inside the value: diagnostics point at the whole value.
const NOWHERE: sqlparser::tokenizer::Location =
    sqlparser::tokenizer::Location { line: 0, column: 0 };

fn relation_of(
    factor: &TableFactor,
    v1: &Catalog,
    schema: &str,
    scope: &Scope,
) -> Result<Option<Relation>, PosError> {
    match factor {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => {
            let Some(table) = resolve_table(name, v1, schema) else {
                return Ok(None);
            };
            let t = &v1.tables[&table];
            let columns = t
                .columns
                .iter()
                .map(|c| (c.name.clone(), Some(c.data_type.clone())))
                .collect();
            let alias_name = alias
                .as_ref()
                .map_or(table.name.clone(), |a| ident_name(&a.name));
            Ok(Some(Relation {
                alias: alias_name,
                columns: Some(renamed(columns, alias)),
                table: Some(table),
            }))
        }
        TableFactor::Table {
            name,
            alias,
            args: Some(_),
            ..
        }
        | TableFactor::Function { name, alias, .. } => {
            let fname = object_parts(name).last().cloned().unwrap_or_default();
            let alias_name = alias
                .as_ref()
                .map_or(fname.clone(), |a| ident_name(&a.name));
            let library_fields = match object_parts(name).as_slice() {
                [sch, f] if sch == super::BOOKKEEPING_SCHEMA => super::library::record_fields(f),
                _ => None,
            };
            let columns = match (alias, library_fields) {
                (Some(a), _) if !a.columns.is_empty() => a
                    .columns
                    .iter()
                    .map(|c| (ident_name(&c.name), None))
                    .collect(),
                // A record of the transform library: its fields, all text.
                (_, Some(fields)) => fields
                    .iter()
                    .map(|f| (f.to_string(), Some("text".to_string())))
                    .collect(),
                _ => vec![(alias_name.clone(), None)],
            };
            Ok(Some(Relation {
                alias: alias_name,
                columns: Some(columns),
                table: None,
            }))
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let Some(alias) = alias else {
                return Err(("a subquery in `from` needs an alias".into(), NOWHERE, 1));
            };
            let columns = projection(subquery, v1, schema, scope)
                .map(|cols| renamed(cols, &Some(alias.clone())));
            Ok(Some(Relation {
                alias: ident_name(&alias.name),
                columns,
                table: None,
            }))
        }
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            // Nested joins are flattened: their relations join the scope one by one.
            let _ = table_with_joins;
            Err((
                "parenthesized joins are not supported in `from`; write the joins flat".into(),
                NOWHERE,
                1,
            ))
        }
        other => Err((format!("unsupported item in `from`: {other}"), NOWHERE, 1)),
    }
}

/// Column aliases `AS x(a, b)` rename the columns in order.
fn renamed(
    mut columns: Vec<(String, Option<String>)>,
    alias: &Option<sqlparser::ast::TableAlias>,
) -> Vec<(String, Option<String>)> {
    if let Some(a) = alias {
        for (col, new) in columns.iter_mut().zip(&a.columns) {
            col.0 = ident_name(&new.name);
        }
    }
    columns
}

/// Output columns of a subquery, when they can be named.
fn projection(
    query: &Query,
    v1: &Catalog,
    schema: &str,
    outer: &Scope,
) -> Option<Vec<(String, Option<String>)>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let mut inner = Scope {
        relations: Vec::new(),
        default_schema: outer.default_schema.clone(),
        reads: BTreeSet::new(),
        v2_visible: Default::default(),
        v2_reads: BTreeSet::new(),
    };
    for twj in &select.from {
        for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            if let Ok(Some(r)) = relation_of(factor, v1, schema, outer) {
                inner.relations.push(r);
            }
        }
    }
    let mut columns = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::ExprWithAlias { expr, alias } => {
                columns.push((ident_name(alias), super::types::infer(expr, &inner)));
            }
            SelectItem::UnnamedExpr(expr) => {
                let name = match expr {
                    Expr::Identifier(i) => ident_name(i),
                    Expr::CompoundIdentifier(parts) => ident_name(parts.last()?),
                    Expr::Function(f) => object_parts(&f.name).last()?.clone(),
                    _ => "?column?".to_string(),
                };
                columns.push((name, super::types::infer(expr, &inner)));
            }
            SelectItem::QualifiedWildcard(kind, _) => {
                let q = kind.to_string().to_lowercase();
                columns.extend(inner.relation(&q)?.columns.clone()?);
            }
            SelectItem::ExprWithAliases { .. } => return None,
            SelectItem::Wildcard(_) => {
                for r in &inner.relations {
                    columns.extend(r.columns.clone()?);
                }
            }
        }
    }
    Some(columns)
}

/// A table name as written, resolved against V1: unqualified names live in the source schema.
pub fn resolve_table(name: &ObjectName, v1: &Catalog, schema: &str) -> Option<QualName> {
    let parts = object_parts(name);
    let qn = match parts.as_slice() {
        [t] => QualName::new(schema, t),
        [s, t] => QualName::new(s, t),
        _ => return None,
    };
    v1.tables.contains_key(&qn).then_some(qn)
}

/// A table written `v2schema.table` that is one of `visible`.
fn v2_table(name: &ObjectName, visible: &BTreeSet<QualName>) -> Option<QualName> {
    match object_parts(name).as_slice() {
        [s, t] => Some(QualName::new(s, t)).filter(|q| visible.contains(q)),
        _ => None,
    }
}

/// Every plain table named anywhere in `node` (joins, subqueries) must be a V1 table, a CTE,
/// or one of the V2 tables `v2_visible` (written qualified).
pub fn check_relations<V: Visit>(
    node: &V,
    v1: &Catalog,
    schema: &str,
    v2_visible: &BTreeSet<QualName>,
    origin: Origin,
) -> Vec<Diagnostic> {
    struct Check<'a> {
        v1: &'a Catalog,
        v2_visible: &'a BTreeSet<QualName>,
        schema: &'a str,
        ctes: BTreeSet<String>,
        origin: Origin<'a>,
        errors: Vec<Diagnostic>,
    }
    impl Visitor for Check<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                self.ctes
                    .extend(with.cte_tables.iter().map(|c| ident_name(&c.alias.name)));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name, args: None, ..
            } = f
            {
                let parts = object_parts(name);
                let known = resolve_table(name, self.v1, self.schema).is_some()
                    || v2_table(name, self.v2_visible).is_some()
                    || (parts.len() == 1 && self.ctes.contains(&parts[0]));
                if !known {
                    let written = name.to_string();
                    let candidates: Vec<String> = self
                        .v1
                        .tables_in(self.schema)
                        .map(|t| t.name.name.clone())
                        .collect();
                    let loc = match name.0.first() {
                        Some(ObjectNamePart::Identifier(i)) => i.span.start,
                        _ => NOWHERE,
                    };
                    let mut d = self.origin.error(
                        format!(
                            "table `{written}` does not exist in V1 (schema `{}`)",
                            self.schema
                        ),
                        loc,
                        written.chars().count(),
                    );
                    if let Some(s) =
                        did_you_mean_ident(parts.last().map_or("", String::as_str), &candidates)
                    {
                        d = d.with_hint(format!("did you mean `{s}`?"));
                    }
                    self.errors.push(d);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut check = Check {
        v1,
        v2_visible,
        schema,
        ctes: BTreeSet::new(),
        origin,
        errors: Vec::new(),
    };
    let _ = node.visit(&mut check);
    check.errors
}

/// Qualifies every table name of `catalog` with its schema, so scripts don't depend on
/// search_path; tables of `schema` are printed in `read_schema` (where the scripts see them).
pub fn qualify_tables<V: VisitMut>(node: &mut V, v1: &Catalog, schema: &str, read_schema: &str) {
    struct Qualify<'a> {
        v1: &'a Catalog,
        schema: &'a str,
        read_schema: &'a str,
    }
    impl VisitorMut for Qualify<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<()> {
            if let Some(qn) = resolve_table(name, self.v1, self.schema) {
                {
                    let printed = if qn.schema == self.schema {
                        self.read_schema
                    } else {
                        qn.schema.as_str()
                    };
                    *name = ObjectName(vec![
                        ObjectNamePart::Identifier(sql_ident(printed)),
                        ObjectNamePart::Identifier(sql_ident(&qn.name)),
                    ]);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = node.visit(&mut Qualify {
        v1,
        schema,
        read_schema,
    });
}

/// Qualifies every unqualified type name in a cast that V2 defines outside pg_catalog (an enum,
/// a domain, a table's row type in `schema`, or an extension's type a V2 column uses, such as
/// `public.citext`): the scripts run with `search_path = pg_catalog, pg_temp`, where only
/// PostgreSQL's own types resolve unqualified, so no user schema can stand in for them.
pub fn qualify_types<V: VisitMut>(node: &mut V, v2: &Catalog, schema: &str) {
    let mut user_types: BTreeSet<QualName> =
        v2.enums.keys().chain(v2.domains.keys()).cloned().collect();
    user_types.extend(v2.tables.keys().filter(|t| t.schema == schema).cloned());
    for column in v2.tables.values().flat_map(|t| &t.columns) {
        let base = column.data_type.trim_end_matches("[]");
        let base = base.split_once('(').map_or(base, |(b, _)| b);
        if let Some((s, n)) = base.split_once('.') {
            user_types.insert(QualName::new(s.trim_matches('"'), n.trim_matches('"')));
        }
    }
    struct Qualify<'a> {
        user_types: &'a BTreeSet<QualName>,
        schema: &'a str,
    }
    impl Qualify<'_> {
        fn data_type(&self, ty: &mut DataType) {
            match ty {
                DataType::Custom(name, _) if name.0.len() == 1 => {
                    let Some(ObjectNamePart::Identifier(id)) = name.0.first() else {
                        return;
                    };
                    let type_name = ident_name(id);
                    let in_schema = QualName::new(self.schema, type_name.as_str());
                    let found = if self.user_types.contains(&in_schema) {
                        Some(in_schema)
                    } else {
                        self.user_types
                            .iter()
                            .find(|q| q.name == type_name)
                            .cloned()
                    };
                    if let Some(qn) = found {
                        *name = ObjectName(vec![
                            ObjectNamePart::Identifier(sql_ident(&qn.schema)),
                            ObjectNamePart::Identifier(sql_ident(&qn.name)),
                        ]);
                    }
                }
                DataType::Array(
                    ArrayElemTypeDef::AngleBracket(inner)
                    | ArrayElemTypeDef::SquareBracket(inner, _),
                ) => self.data_type(inner),
                _ => {}
            }
        }
    }
    impl VisitorMut for Qualify<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::Cast { data_type, .. }
            | Expr::TypedString(sqlparser::ast::TypedString { data_type, .. }) = expr
            {
                self.data_type(data_type);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = node.visit(&mut Qualify {
        user_types: &user_types,
        schema,
    });
}

/// The types an expression or query casts to (`x::t`, `CAST(x AS t)`, `t 'literal'`), as the
/// scripts print them once [`qualify_types`] ran: the implicit-code guard checks the casts
/// PostgreSQL finds in pg_cast for them, which no search_path keeps out.
pub fn cast_types<V: sqlparser::ast::Visit>(node: &V) -> BTreeSet<String> {
    struct CastTypes(BTreeSet<String>);
    impl Visitor for CastTypes {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Cast { data_type, .. }
            | Expr::TypedString(sqlparser::ast::TypedString { data_type, .. }) = expr
            {
                self.0.insert(data_type.to_string());
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = CastTypes(BTreeSet::new());
    let _ = node.visit(&mut found);
    found.0
}

/// Rewrites the string literals sqlparser would print wrongly as `E'…'`: it prints a value
/// holding two quotes in a row as they are (`'a''x'`, read back as `a'x`), a quote after a
/// backslash as it is (`'x\''` for `x\'`: the literal ends there and what follows is SQL),
/// and a carriage return raw (which psql drops before a line feed); `$$…$$` literals too. Its
/// `E'…'` printer escapes quotes, backslashes and control characters, so the value reads back
/// unchanged. Names are handled alike. The last rewrite
/// before printing: names read by the checker are the parsed ones.
pub fn printable_literals<V: VisitMut>(node: &mut V) -> Result<(), Unprintable> {
    use sqlparser::ast::{DataType, Value};
    struct Printable;
    impl VisitorMut for Printable {
        type Break = Unprintable;
        fn pre_visit_value(
            &mut self,
            v: &mut sqlparser::ast::ValueWithSpan,
        ) -> ControlFlow<Unprintable> {
            let bits =
                |s: &str, digits: &str| s.chars().all(|c| digits.contains(c.to_ascii_lowercase()));
            match &v.value {
                Value::SingleQuotedString(s)
                    if s.contains("''")
                        || s.contains("\\'")
                        || s.chars()
                            .any(|c| c.is_ascii_control() && c != '\n' && c != '\t') =>
                {
                    v.value = Value::EscapedStringLiteral(s.clone());
                }
                // `$$…$$` and `N'…'` as ordinary literals: the printer keeps N'…' text as it is.
                Value::DollarQuotedString(d) => {
                    v.value = Value::EscapedStringLiteral(d.value.clone())
                }
                Value::NationalStringLiteral(s) => v.value = Value::EscapedStringLiteral(s.clone()),
                Value::SingleQuotedString(_)
                | Value::EscapedStringLiteral(_)
                | Value::UnicodeStringLiteral(_)
                | Value::Number(..)
                | Value::Boolean(_)
                | Value::Null => {}
                Value::HexStringLiteral(s) if bits(s, "0123456789abcdef") => {}
                Value::SingleQuotedByteStringLiteral(s) if bits(s, "01") => {}
                other => {
                    // PostgreSQL would refuse these when the script runs; said here, at the literal.
                    let message = match other {
                        Value::HexStringLiteral(_) => format!("{other} is not a hexadecimal string: X'…' holds the digits 0-9 and a-f only"),
                        Value::SingleQuotedByteStringLiteral(_) => format!("{other} is not a bit string: B'…' holds 0 and 1 only"),
                        Value::Placeholder(_) => format!("{other} is a parameter, and psql runs the scripts without parameters: write the value"),
                        _ => format!("the literal {other} can't be written into a script as it is"),
                    };
                    let at = (v.span.start.line > 0)
                        .then(|| (v.span.start, other.to_string().chars().count()));
                    return ControlFlow::Break(Unprintable { message, at });
                }
            }
            ControlFlow::Continue(())
        }
        // Every name of the tree: columns, tables, aliases, functions, types.
        fn pre_visit_ident(&mut self, id: &mut Ident) -> ControlFlow<Unprintable> {
            printable_name(id);
            ControlFlow::Continue(())
        }
        // A type's modifiers are printed as the parser kept them: only numbers and words.
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<Unprintable> {
            let data_type = match e {
                Expr::Cast { data_type, .. } => Some(&*data_type),
                Expr::TypedString(ts) => Some(&ts.data_type),
                _ => None,
            };
            if let Some(DataType::Custom(name, modifiers)) = data_type {
                let plain = |m: &String| {
                    !m.is_empty()
                        && m.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
                };
                if !modifiers.iter().all(plain) {
                    return ControlFlow::Break(Unprintable {
                        message: format!("the type modifiers of {name} must be numbers or words"),
                        at: None,
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    match node.visit(&mut Printable) {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// What [`printable_literals`] can't print, and where the parser saw it (the literal and its
/// length), when it kept a place.
#[derive(Debug)]
pub struct Unprintable {
    pub message: String,
    pub at: Option<(sqlparser::tokenizer::Location, usize)>,
}

impl Unprintable {
    /// The error at the literal in the model, or at the whole value.
    pub fn diagnostic(&self, origin: Origin) -> Diagnostic {
        match self.at {
            Some((loc, len)) => origin.error(self.message.clone(), loc, len),
            None => Diagnostic::error(self.message.clone(), origin.whole()),
        }
    }
}

/// The same printer keeps two double quotes in a row in a name as they are (`"c"""` for
/// `c""`), and a double quote after a backslash (`"t\""` for `t\"`, which ends the name):
/// such a name is written out by the toolkit and printed as it is.
fn printable_name(id: &mut Ident) {
    if id.quote_style == Some('"') && (id.value.contains("\"\"") || id.value.contains("\\\"")) {
        *id = Ident::new(crate::sql_text::quote_ident_always(&id.value));
    }
}

/// Aliases introduced inside subqueries of an expression (their columns aren't checked).
#[derive(Default)]
struct InnerAliases {
    aliases: BTreeSet<String>,
}

impl Visitor for InnerAliases {
    type Break = ();
    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
        let name = match f {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. }
            | TableFactor::Function { alias: Some(a), .. } => Some(ident_name(&a.name)),
            TableFactor::Table { name, .. } => object_parts(name).last().cloned(),
            _ => None,
        };
        self.aliases.extend(name);
        ControlFlow::Continue(())
    }
}

struct Resolver<'a> {
    scope: &'a Scope,
    inner: &'a BTreeSet<String>,
    depth: usize,
    origin: Origin<'a>,
    errors: &'a mut Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn unknown_column(&mut self, ident: &Ident, candidates: Vec<String>, what: String) {
        let mut d = self
            .origin
            .error(what, ident.span.start, ident.value.chars().count());
        if let Some(s) = did_you_mean_ident(&ident_name(ident), &candidates) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        }
        self.errors.push(d);
    }

    fn bare(&mut self, ident: &Ident) {
        let name = ident_name(ident);
        if VALUE_KEYWORDS.contains(&name.as_str()) {
            return;
        }
        let owners: Vec<&Relation> = self
            .scope
            .relations
            .iter()
            .filter(|r| r.column(&name).is_some())
            .collect();
        match owners.len() {
            1 => {}
            0 if self.scope.relations.iter().any(|r| r.columns.is_none()) => {}
            0 => {
                let all = self
                    .scope
                    .relations
                    .iter()
                    .flat_map(|r| r.columns.iter().flatten().map(|c| c.0.clone()))
                    .collect();
                let what = format!("column `{name}` is not in any table of `from`");
                self.unknown_column(ident, all, what);
            }
            _ => {
                let names: Vec<&str> = owners.iter().map(|r| r.alias.as_str()).collect();
                self.errors.push(
                    self.origin
                        .error(
                            format!(
                                "column `{name}` is ambiguous: it is in {}",
                                names.join(", ")
                            ),
                            ident.span.start,
                            name.len(),
                        )
                        .with_hint(format!("qualify it: `{}.{name}`", names[0])),
                );
            }
        }
    }

    fn qualified(&mut self, qualifier: &Ident, column: &Ident) {
        let q = ident_name(qualifier);
        let c = ident_name(column);
        match self.scope.relation(&q) {
            Some(r) => {
                if let Some(cols) = &r.columns {
                    if r.column(&c).is_none() {
                        let candidates = cols.iter().map(|c| c.0.clone()).collect();
                        let table = r.table.as_ref().map_or(q.clone(), |t| t.to_string());
                        self.unknown_column(
                            column,
                            candidates,
                            format!("column `{c}` does not exist in `{table}` (alias `{q}`)"),
                        );
                    }
                }
            }
            None if self.depth > 0 && self.inner.contains(&q) => {}
            None => {
                let candidates: Vec<String> = self
                    .scope
                    .relations
                    .iter()
                    .map(|r| r.alias.clone())
                    .collect();
                let mut d = self.origin.error(
                    format!("`{q}` is not a table or alias of this step's `from`"),
                    qualifier.span.start,
                    qualifier.value.chars().count(),
                );
                if let Some(s) = did_you_mean_ident(&q, &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                self.errors.push(d);
            }
        }
    }
}

impl Visitor for Resolver<'_> {
    type Break = ();
    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) if self.depth == 0 => self.bare(ident),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let q = ident_name(&parts[0]);
                if self.depth == 0
                    || (self.scope.relation(&q).is_some() && !self.inner.contains(&q))
                {
                    self.qualified(&parts[0], &parts[1]);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

impl ColumnTypes for Scope {
    fn column_type(&self, qualifier: Option<&str>, name: &str) -> Option<String> {
        Scope::column_type(self, qualifier, name)
    }

    fn default_schema(&self) -> &str {
        &self.default_schema
    }
}

#[cfg(test)]
mod printable_tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    /// Every name and literal value of an expression, in tree order.
    fn texts(e: &Expr) -> Vec<String> {
        struct Collect(Vec<String>);
        impl Visitor for Collect {
            type Break = ();
            fn pre_visit_ident(&mut self, id: &Ident) -> ControlFlow<()> {
                self.0.push(format!("name {}", id.value));
                ControlFlow::Continue(())
            }
            fn pre_visit_value(&mut self, v: &sqlparser::ast::ValueWithSpan) -> ControlFlow<()> {
                if let Some(s) = v.value.clone().into_string() {
                    self.0.push(format!("text {s}"));
                }
                ControlFlow::Continue(())
            }
        }
        let mut c = Collect(Vec::new());
        let _ = e.visit(&mut c);
        c.0
    }

    fn parse(sql: &str) -> Expr {
        Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .unwrap()
            .parse_expr()
            .unwrap()
    }

    #[test]
    fn printed_names_and_literals_read_back_unchanged() {
        for sql in [
            r#"'x\'' || 'a''''b' || $$it's$$ || 'c' || 'new
line'"#,
            r#"(SELECT "x\""".v FROM public."t""""" AS "x\""" WHERE "x\""".v <> 'q\''')"#,
            r#""f\"""('a') || "c""""""#,
        ] {
            let parsed = parse(sql);
            let mut printable = parsed.clone();
            printable_literals(&mut printable).unwrap();
            let read_back = parse(&printable.to_string());
            assert_eq!(texts(&read_back), texts(&parsed), "{printable}");
        }
    }
}
