//! The schema model shared by both readers (DDL files and live databases).
//!
//! Both readers must produce *equal* catalogs for the same schema, so every
//! field here holds PostgreSQL's canonical spelling: types as `format_type()`
//! prints them with `search_path = ''` (so user types are schema-qualified),
//! expressions as normalized by [`normalize_expr`], names unquoted.

mod ddl;
pub mod fk_index;
mod live;
mod normalize;

use std::collections::BTreeMap;

use serde::Serialize;

pub use ddl::{from_ddl, DdlLoad};
pub use live::from_database;
pub use normalize::{normalize_expr, normalize_type};

/// A schema-qualified name, e.g. `public.workout_plans`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QualName {
    pub schema: String,
    pub name: String,
}

impl QualName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for QualName {
    /// Quoted where PostgreSQL needs quotes: `public."Order"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.name)
        )
    }
}

pub use crate::sql_text::quote_ident;

/// Everything pgmig knows about one database's schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalog {
    pub schemas: Vec<String>,
    pub tables: BTreeMap<QualName, Table>,
    pub enums: BTreeMap<QualName, Vec<String>>,
    pub domains: BTreeMap<QualName, Domain>,
    pub sequences: BTreeMap<QualName, Sequence>,
}

/// What a reader passed over, by kind of statement (`CREATE FUNCTION`: 12, …).
/// Kept apart from [`Catalog`] because it describes the input, not the schema.
pub type Skipped = BTreeMap<String, usize>;

/// A statement about tables that a reader could not take in: the catalog may lack what it
/// says. Kept apart from [`Catalog`] for the same reason as [`Skipped`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadWarning {
    /// The line of the statement's first word in its DDL file; `None` for a live database.
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: QualName,
    pub columns: Vec<Column>,
    pub primary_key: Option<Key>,
    pub uniques: Vec<Key>,
    pub foreign_keys: Vec<ForeignKey>,
    pub checks: Vec<Check>,
    pub indexes: Vec<Index>,
    pub row_level_security: bool,
    /// `PARTITION BY …` clause of a partitioned table, normalized.
    pub partition_by: Option<String>,
    /// The parent of a partition, with its bound (`FOR VALUES …`).
    pub partition_of: Option<(QualName, String)>,
    /// The parents of an `INHERITS (…)` child, in order (partitions name theirs in
    /// `partition_of`). A child has its parents' columns and CHECKs besides its own.
    pub inherits: Vec<QualName>,
    /// `CREATE UNLOGGED TABLE`: not WAL-logged, emptied by a crash.
    pub unlogged: bool,
    /// `WITH (…)` storage parameters as `pg_class.reloptions` holds them: `fillfactor=50`.
    pub storage_parameters: Vec<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    /// As `format_type()` prints it: `character varying(255)`, `timestamp with time zone`,
    /// `integer[]`, `public.mpaa_rating`.
    pub data_type: String,
    pub not_null: bool,
    /// Normalized default expression; `None` for identity and generated columns.
    pub default: Option<String>,
    pub identity: Option<Identity>,
    /// Normalized expression of a `GENERATED ALWAYS AS (…) STORED` column.
    pub generated: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Identity {
    Always,
    ByDefault,
}

/// A PRIMARY KEY or UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Key {
    pub name: String,
    pub columns: Vec<String>,
    /// `INCLUDE (…)` columns: stored in the index, not part of the key.
    pub include: Vec<String>,
    pub deferrable: Deferrable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Deferrable {
    No,
    InitiallyImmediate,
    InitiallyDeferred,
}

impl Deferrable {
    /// The clause after a constraint's definition, with its leading space (empty for `No`).
    pub fn clause(self) -> &'static str {
        match self {
            Deferrable::No => "",
            Deferrable::InitiallyImmediate => " DEFERRABLE",
            Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub references: QualName,
    pub referenced_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    pub deferrable: Deferrable,
    /// Added `NOT VALID`: rows older than the constraint were never checked.
    pub not_valid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FkAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl FkAction {
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    /// Normalized boolean expression, without the `CHECK` keyword.
    pub expression: String,
    /// Added `NOT VALID`: rows older than the constraint were never checked.
    pub not_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// Access method: `btree`, `gin`, `gist`, …
    pub method: String,
    /// Key columns or normalized expressions, with `DESC`/opclass if any.
    pub keys: Vec<String>,
    /// `INCLUDE (…)` columns: stored in the index, not part of the key.
    pub include: Vec<String>,
    /// Normalized partial-index predicate.
    pub predicate: Option<String>,
    /// `WITH (…)` storage parameters, as for tables: `fillfactor=70`.
    pub storage_parameters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Domain {
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequence {
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    /// The column whose default or identity draws from this sequence.
    pub owned_by: Option<(QualName, String)>,
}

impl Catalog {
    /// One order for everything a schema doesn't order: constraints and indexes by name.
    /// Both readers end with this, so equal schemas give equal catalogs and equal scripts.
    pub fn canonicalize(&mut self) {
        for t in self.tables.values_mut() {
            t.uniques.sort_by(|a, b| a.name.cmp(&b.name));
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.checks.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }

    pub fn table(&self, name: &QualName) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Tables of one schema, by unqualified name.
    pub fn tables_in<'a>(&'a self, schema: &'a str) -> impl Iterator<Item = &'a Table> + 'a {
        self.tables
            .values()
            .filter(move |t| t.name.schema == schema)
    }

    /// Foreign keys that rows inserted into `table` must satisfy: its own, and those
    /// declared only on its partitions (pg_dump writes pagila's that way).
    pub fn foreign_keys_of(&self, table: &QualName) -> Vec<&ForeignKey> {
        let mut fks: Vec<&ForeignKey> = Vec::new();
        let partitions = self
            .tables
            .values()
            .filter(|t| t.partition_of.as_ref().is_some_and(|(p, _)| p == table));
        for t in self.tables.get(table).into_iter().chain(partitions) {
            for fk in &t.foreign_keys {
                if !fks
                    .iter()
                    .any(|f| f.columns == fk.columns && f.references == fk.references)
                {
                    fks.push(fk);
                }
            }
        }
        fks
    }

    /// A domain's base type; any other type as it is.
    pub fn base_type<'a>(&'a self, data_type: &'a str) -> &'a str {
        let (name, array) = match data_type.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (data_type, false),
        };
        let domain = name
            .split_once('.')
            .and_then(|(s, n)| self.domains.get(&QualName::new(s, n)));
        match domain {
            Some(d) if !array => &d.data_type,
            _ => data_type,
        }
    }

    /// The sequence a column draws its values from: its identity's, the one its default
    /// calls `nextval()` on (pg_dump writes `CREATE SEQUENCE` with no `OWNED BY`, and one
    /// sequence may serve several tables), or, for a column with no default, the one
    /// `OWNED BY` it.
    pub fn sequence_of(&self, table: &QualName, column: &str) -> Option<&QualName> {
        let owned = || {
            self.sequences
                .iter()
                .find_map(|(name, seq)| match &seq.owned_by {
                    Some((t, c)) if t == table && c == column => Some(name),
                    _ => None,
                })
        };
        let Some(col) = self.tables.get(table).and_then(|t| t.column(column)) else {
            return owned();
        };
        if col.identity.is_some() {
            return owned();
        }
        match col.default.as_deref() {
            // A number: a text column may draw too, but its values don't compare with the sequence's.
            Some(default) if is_integral(self.base_type(&col.data_type)) => {
                nextval_sequence(default)
                    .and_then(|q| self.sequences.get_key_value(&q))
                    .map(|(name, _)| name)
            }
            Some(_) => None,
            None => owned(),
        }
    }

    /// Every (table, column) of this schema that draws from `sequence`, partitions left out
    /// when their parent draws too (the parent's rows include theirs). A sequence must stay
    /// ahead of all of them.
    pub fn columns_drawing_from(&self, sequence: &QualName) -> Vec<(QualName, String)> {
        let mut users: Vec<(QualName, String)> = self
            .tables
            .values()
            .flat_map(|t| t.columns.iter().map(move |c| (&t.name, &c.name)))
            .filter(|(t, c)| self.sequence_of(t, c) == Some(sequence))
            .map(|(t, c)| (t.clone(), c.clone()))
            .collect();
        let parents: Vec<(QualName, String)> = users.clone();
        users.retain(|(t, c)| {
            let parent = self
                .tables
                .get(t)
                .and_then(|t| t.partition_of.as_ref())
                .map(|(p, _)| p);
            !parent.is_some_and(|p| parents.iter().any(|(pt, pc)| pt == p && pc == c))
        });
        users
    }
}

/// The sequences an expression calls `nextval()` or `setval()` on by a qualified name
/// (`nextval('public.batch_seq')`), each once, in order.
pub fn sequences_called(expr: &str) -> Vec<QualName> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(parsed) = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(expr)
        .and_then(|mut p| p.parse_expr())
    else {
        return Vec::new();
    };
    let mut found: Vec<QualName> = Vec::new();
    let _ = sqlparser::ast::visit_expressions(&parsed, |e| {
        if let sqlparser::ast::Expr::Function(f) = e {
            let name = f.name.to_string().to_lowercase();
            if matches!(name.trim_start_matches("pg_catalog."), "nextval" | "setval") {
                if let Some(q) = sequence_argument(f).filter(|q| !found.contains(q)) {
                    found.push(q);
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// The types whose values a sequence's compare with.
fn is_integral(data_type: &str) -> bool {
    matches!(data_type, "smallint" | "integer" | "bigint" | "numeric")
        || data_type.starts_with("numeric(")
}

/// `nextval('public.x_seq'::regclass)` (a normalized default) → `public.x_seq`. Only a
/// default that is the call itself: a value built around it is not the sequence's number.
fn nextval_sequence(default: &str) -> Option<QualName> {
    if !default.starts_with("nextval(") {
        return None;
    }
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let expr = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(default)
        .ok()?
        .parse_expr()
        .ok()?;
    let sqlparser::ast::Expr::Function(f) = expr else {
        return None;
    };
    if f.name.to_string() != "nextval" {
        return None;
    }
    sequence_argument(&f)
}

/// The sequence a call's first argument names: `'public.x_seq'`, maybe `::regclass`.
fn sequence_argument(f: &sqlparser::ast::Function) -> Option<QualName> {
    use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Value};
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first() else {
        return None;
    };
    let literal = match arg {
        Expr::Cast { expr, .. } => expr.as_ref(),
        other => other,
    };
    let Expr::Value(v) = literal else { return None };
    let Value::SingleQuotedString(name) = &v.value else {
        return None;
    };
    match normalize::split_qualified(name).as_slice() {
        [schema, name] => Some(QualName::new(schema.clone(), name.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextval_defaults_name_their_sequence() {
        let q = |s: &str, n: &str| Some(QualName::new(s, n));
        assert_eq!(
            nextval_sequence("nextval('public.x_seq'::regclass)"),
            q("public", "x_seq")
        );
        assert_eq!(
            nextval_sequence(r#"nextval('public."Odd ""Seq"""'::regclass)"#),
            q("public", "Odd \"Seq\"")
        );
        assert_eq!(
            nextval_sequence("nextval('App.X_Seq')"),
            q("app", "x_seq"),
            "unquoted names fold to lower case"
        );
        // Not the sequence's own number, or not a name this reader qualified.
        assert_eq!(
            nextval_sequence("'INV-' || nextval('public.x_seq'::regclass)"),
            None
        );
        assert_eq!(
            nextval_sequence("nextval('public.x_seq'::regclass) * 10"),
            None
        );
        assert_eq!(nextval_sequence("nextval('x_seq'::regclass)"), None);
        assert_eq!(nextval_sequence("0"), None);
    }

    #[test]
    fn expressions_name_the_sequences_they_call() {
        let q = |s: &str, n: &str| QualName::new(s, n);
        assert_eq!(
            sequences_called("nextval('public.batch_seq')"),
            [q("public", "batch_seq")]
        );
        assert_eq!(
            sequences_called("'B-' || pg_catalog.nextval('app.\"B\"'::regclass) + setval('public.s', 1) + nextval('public.s')"),
            [q("app", "B"), q("public", "s")]
        );
        assert!(sequences_called("currval('public.s') + nextval('unqualified')").is_empty());
    }
}
