//! Catalog from DDL files in `pg_dump --schema-only` style.
//!
//! The text is split into statements by psql's scanner ([`crate::psql::scanner`]: quoting,
//! dollar quoting, comments and meta-commands as psql reads them), and each statement is
//! parsed on its own.
//! Statements that are not about tables (functions, triggers, grants, views, COMMENT,
//! SET, ownership, statistics …) are counted in [`DdlLoad::skipped`] by kind. Statements
//! that matter but sqlparser cannot parse are handled token by token where possible
//! (`ATTACH PARTITION`, `ADD GENERATED … AS IDENTITY`, `ALTER SEQUENCE … OWNED BY`,
//! `CREATE INDEX … ON ONLY`); anything left is listed in [`DdlLoad::warnings`].

use sqlparser::ast::{
    ColumnOption, CreateIndex, CreateTable, DataType, DeferrableInitial, Expr, GeneratedAs, Ident,
    ObjectName, ObjectNamePart, ReferentialAction, SequenceOptions, Statement, TableConstraint,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

use super::normalize::{canon_bound, canon_expr, canon_tokens, split_qualified, type_name};
use super::{
    Catalog, Check, Column, Deferrable, Domain, FkAction, ForeignKey, Identity, Index, Key,
    QualName, ReadWarning, Sequence, Skipped, Table,
};
use crate::psql::scanner::SqlScanner;
use crate::sql_text::quote_literal;

/// A catalog read from DDL, with what the reader passed over.
#[derive(Debug, Clone)]
pub struct DdlLoad {
    pub catalog: Catalog,
    /// Statements passed over on purpose, by kind (`CREATE FUNCTION`: 12).
    pub skipped: Skipped,
    /// Statements that may matter (tables, constraints, indexes) but could not be read.
    pub warnings: Vec<ReadWarning>,
}

/// Reads DDL text; unqualified names land in `default_schema`.
pub fn from_ddl(sql: &str, default_schema: &str) -> Result<DdlLoad, String> {
    let mut loader = Loader::new(default_schema);
    for (line, stmt) in split_statements(sql)? {
        loader.line = Some(line);
        loader.statement(&stmt);
    }
    Ok(loader.finish())
}

/// Splits DDL text into statements as psql reads the file (a meta-command such as pg_dump's
/// `\connect` or `\restrict` is skipped), each without its `;` and with the line it starts
/// on. A quote, dollar quote or comment still open at the end is an error: the rest of the
/// file would be lost inside it.
fn split_statements(sql: &str) -> Result<Vec<(usize, String)>, String> {
    let mut scanner = SqlScanner::new();
    let mut statements = Vec::new();
    // Lines end at `\n` only, as the runner reads them: a carriage return stays in the text,
    // so a name holding one reaches compile's check and is refused, never silently changed.
    for (n, line) in sql.split('\n').enumerate() {
        statements.extend(scanner.feed_line(line, n + 1, None).statements);
    }
    if let Some(opened) = scanner.open_quote_or_comment() {
        return Err(format!("{opened} is still open at the end of the file"));
    }
    statements.extend(scanner.finish());
    Ok(statements
        .into_iter()
        .map(|s| {
            let text = s.text.trim_end();
            let text = text.strip_suffix(';').unwrap_or(text).trim();
            (s.line, text.to_string())
        })
        .filter(|(_, text)| !text.is_empty())
        .collect())
}

/// Significant tokens of a statement (no whitespace or comments).
fn tokens(sql: &str) -> Vec<Token> {
    let dialect = PostgreSqlDialect {};
    Tokenizer::new(&dialect, sql)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect()
}

fn word_upper(t: &Token) -> Option<String> {
    match t {
        Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) => Some(value.to_uppercase()),
        _ => None,
    }
}

fn ident_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(Word {
            value,
            quote_style: Some(_),
            ..
        }) => Some(value.clone()),
        Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) => Some(value.to_lowercase()),
        _ => None,
    }
}

/// Reads `a.b` (or `a`) at `*i`, advancing past it.
fn qualified_at(toks: &[Token], i: &mut usize) -> Option<Vec<String>> {
    let mut parts = vec![ident_of(toks.get(*i)?)?];
    *i += 1;
    while toks.get(*i) == Some(&Token::Period) {
        parts.push(ident_of(toks.get(*i + 1)?)?);
        *i += 2;
    }
    Some(parts)
}

pub(crate) struct Loader {
    schema: String,
    cat: Catalog,
    skipped: Skipped,
    warnings: Vec<ReadWarning>,
    /// Materialized views seen (skipped), so that their indexes are skipped too.
    matviews: Vec<QualName>,
    /// CHECKs declared `NO INHERIT`: children of their table do not get them.
    no_inherit: Vec<(QualName, String)>,
    /// The line the current statement starts on, for warnings.
    pub(crate) line: Option<usize>,
}

impl Loader {
    pub(crate) fn new(default_schema: &str) -> Self {
        Loader {
            schema: default_schema.to_string(),
            cat: Catalog::default(),
            skipped: Skipped::new(),
            warnings: vec![],
            matviews: vec![],
            no_inherit: vec![],
            line: None,
        }
    }

    pub(crate) fn finish(mut self) -> DdlLoad {
        // `CREATE TABLE … PARTITION OF parent` without a column list: the parent's columns.
        let children: Vec<(QualName, QualName)> = self
            .cat
            .tables
            .values()
            .filter(|t| t.columns.is_empty())
            .filter_map(|t| {
                t.partition_of
                    .as_ref()
                    .map(|(p, _)| (t.name.clone(), p.clone()))
            })
            .collect();
        for (child, parent) in children {
            if let Some(cols) = self.cat.tables.get(&parent).map(|p| p.columns.clone()) {
                let cols = cols.into_iter().map(|mut c| {
                    c.identity = None;
                    c
                });
                self.cat.tables.get_mut(&child).unwrap().columns = cols.collect();
            }
        }
        let mut schemas: Vec<String> = self.cat.schemas.clone();
        schemas.extend(self.cat.tables.keys().map(|q| q.schema.clone()));
        schemas.extend(self.cat.enums.keys().map(|q| q.schema.clone()));
        schemas.extend(self.cat.domains.keys().map(|q| q.schema.clone()));
        schemas.extend(self.cat.sequences.keys().map(|q| q.schema.clone()));
        schemas.sort();
        schemas.dedup();
        self.cat.schemas = schemas;
        self.cat.canonicalize();
        DdlLoad {
            catalog: self.cat,
            skipped: self.skipped,
            warnings: self.warnings,
        }
    }

    pub(crate) fn into_parts(self) -> (Catalog, Vec<ReadWarning>) {
        (self.cat, self.warnings)
    }

    pub(crate) fn catalog_mut(&mut self) -> &mut Catalog {
        &mut self.cat
    }

    fn skip(&mut self, kind: impl Into<String>) {
        *self.skipped.entry(kind.into()).or_insert(0) += 1;
    }

    fn warn(&mut self, what: &str, sql: &str, err: impl std::fmt::Display) {
        let head: String = sql
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(160)
            .collect();
        self.warnings.push(ReadWarning {
            line: self.line,
            message: format!("{what}: {err}: {head}"),
        });
    }

    fn qual(&self, name: &ObjectName) -> QualName {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(id) => ident_value(id),
                other => other.to_string(),
            })
            .collect();
        self.qual_parts(parts)
    }

    fn qual_parts(&self, mut parts: Vec<String>) -> QualName {
        let name = parts.pop().unwrap_or_default();
        let schema = parts.pop().unwrap_or_else(|| self.schema.clone());
        QualName::new(schema, name)
    }

    fn expr(&self, e: &Expr) -> String {
        let mut e = e.clone();
        canon_expr(&mut e, Some(self.schema.as_str()).filter(|s| !s.is_empty()));
        e.to_string()
    }

    fn ty(&self, dt: &DataType) -> String {
        type_name(dt, &self.schema)
    }

    /// One statement of DDL text.
    pub(crate) fn statement(&mut self, sql: &str) {
        let toks = tokens(sql);
        if toks.is_empty() {
            return;
        }
        let words: Vec<String> = toks
            .iter()
            .take(8)
            .map(|t| word_upper(t).unwrap_or_default())
            .collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        // Kinds handled token by token (sqlparser 0.63 cannot parse them).
        match (w(0), w(1)) {
            ("ALTER", "SEQUENCE") => return self.alter_sequence(sql, &toks),
            ("ALTER", "TABLE") => {
                let upper: Vec<String> = toks
                    .iter()
                    .map(|t| word_upper(t).unwrap_or_default())
                    .collect();
                let has = |a: &str, b: &str| upper.windows(2).any(|p| p[0] == a && p[1] == b);
                if has("ATTACH", "PARTITION") {
                    return self.attach_partition(sql, &toks);
                }
                if has("ADD", "GENERATED") {
                    return self.add_identity(sql, &toks);
                }
                if has("OWNER", "TO") {
                    return self.skip("ALTER TABLE … OWNER TO");
                }
                if has("SET", "STATISTICS") {
                    return self.skip("ALTER TABLE … SET STATISTICS");
                }
                if has("CLUSTER", "ON") {
                    return self.skip("ALTER TABLE … CLUSTER ON");
                }
                if has("REPLICA", "IDENTITY") {
                    return self.skip("ALTER TABLE … REPLICA IDENTITY");
                }
            }
            _ => {}
        }
        let kind = statement_kind(&words);
        let interesting = matches!(
            kind.as_str(),
            "CREATE SCHEMA"
                | "CREATE TABLE"
                | "CREATE INDEX"
                | "CREATE TYPE"
                | "CREATE DOMAIN"
                | "CREATE SEQUENCE"
                | "ALTER TABLE"
        );
        if !interesting {
            if w(0) == "CREATE" && w(1) == "MATERIALIZED" && w(2) == "VIEW" {
                let mut i = 3;
                if let Some(parts) = qualified_at(&toks, &mut i) {
                    let q = self.qual_parts(parts);
                    self.matviews.push(q);
                }
                return self.skip("CREATE MATERIALIZED VIEW");
            }
            return self.skip(kind);
        }
        let dialect = PostgreSqlDialect {};
        let parsed = Parser::new(&dialect)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statement());
        let stmt = match parsed {
            Ok(s) => s,
            Err(e) => {
                if kind == "CREATE INDEX" {
                    // pg_dump / pg_get_indexdef write `ON ONLY` for partitioned parents.
                    let fixed = strip_on_only(sql);
                    if let Some(fixed) = fixed {
                        if let Ok(s) = Parser::new(&dialect)
                            .try_with_sql(&fixed)
                            .and_then(|mut p| p.parse_statement())
                        {
                            return self.dispatch(s, &kind, sql);
                        }
                    }
                }
                if kind == "CREATE TABLE" {
                    if let Some((fixed, groups)) = strip_identity_options(sql) {
                        if let Ok(Statement::CreateTable(ct)) = Parser::new(&dialect)
                            .try_with_sql(&fixed)
                            .and_then(|mut p| p.parse_statement())
                        {
                            let q = self.qual(&ct.name);
                            let ident_cols: Vec<String> = ct
                                .columns
                                .iter()
                                .filter(|c| {
                                    c.options.iter().any(|o| {
                                        matches!(
                                            &o.option,
                                            ColumnOption::Generated {
                                                generation_expr: None,
                                                ..
                                            }
                                        )
                                    })
                                })
                                .map(|c| ident_value(&c.name))
                                .collect();
                            self.create_table(ct);
                            for (col, g) in ident_cols.iter().zip(groups) {
                                let owner = Some((q.clone(), col.clone()));
                                if let Some(s) = self
                                    .cat
                                    .sequences
                                    .values_mut()
                                    .find(|s| s.owned_by == owner)
                                {
                                    s.start = num_after(&g, "START", "WITH").unwrap_or(s.start);
                                    s.increment =
                                        num_after(&g, "INCREMENT", "BY").unwrap_or(s.increment);
                                }
                            }
                            return;
                        }
                    }
                }
                if kind == "CREATE TYPE" || kind == "CREATE SEQUENCE" || kind == "CREATE SCHEMA" {
                    self.warn("unparsed", sql, &e);
                    return self.skip(format!("{kind} (unparsed)"));
                }
                self.warn("could not parse a statement about tables", sql, &e);
                return self.skip(format!("{kind} (unparsed)"));
            }
        };
        self.dispatch(stmt, &kind, sql)
    }

    fn dispatch(&mut self, stmt: Statement, kind: &str, sql: &str) {
        match stmt {
            Statement::CreateSchema { schema_name, .. } => {
                let name = match schema_name {
                    sqlparser::ast::SchemaName::Simple(n)
                    | sqlparser::ast::SchemaName::NamedAuthorization(n, _) => self.qual(&n).name,
                    sqlparser::ast::SchemaName::UnnamedAuthorization(id) => ident_value(&id),
                };
                if !self.cat.schemas.contains(&name) {
                    self.cat.schemas.push(name);
                }
            }
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateIndex(ci) => self.create_index(ci, on_only(&tokens(sql)).is_some()),
            Statement::CreateType {
                name,
                representation,
            } => match representation {
                Some(sqlparser::ast::UserDefinedTypeRepresentation::Enum { labels }) => {
                    let q = self.qual(&name);
                    self.cat
                        .enums
                        .insert(q, labels.iter().map(|l| l.value.clone()).collect());
                }
                _ => self.skip("CREATE TYPE (not an enum)"),
            },
            Statement::CreateDomain(d) => {
                let q = self.qual(&d.name);
                let mut checks: Vec<Check> = vec![];
                let mut not_null = false;
                for c in &d.constraints {
                    if let TableConstraint::Check(ch) = c {
                        let name = ch
                            .name
                            .as_ref()
                            .map(ident_value)
                            .unwrap_or_else(|| format!("{}_check", q.name));
                        checks.push(Check {
                            name,
                            expression: self.expr(&ch.expr),
                            not_valid: false,
                        });
                    }
                }
                if checks.is_empty() {
                    // sqlparser 0.63 drops constraints after `NOT NULL`: read CHECKs from the tokens.
                    checks = self.domain_checks_from_tokens(sql, &q);
                }
                // sqlparser keeps NOT NULL of a domain nowhere; look at the tokens.
                let up: Vec<String> = tokens(sql)
                    .iter()
                    .map(|t| word_upper(t).unwrap_or_default())
                    .collect();
                if up.windows(2).any(|p| p[0] == "NOT" && p[1] == "NULL")
                    && !sql.to_uppercase().contains("CHECK")
                {
                    not_null = true;
                } else if up.windows(2).any(|p| p[0] == "NOT" && p[1] == "NULL") {
                    // NOT NULL outside CHECK (…): compare counts with the checks' own.
                    let in_checks: usize = checks
                        .iter()
                        .map(|c| c.expression.matches("NOT NULL").count())
                        .sum();
                    let total = up
                        .windows(2)
                        .filter(|p| p[0] == "NOT" && p[1] == "NULL")
                        .count();
                    not_null = total > in_checks;
                }
                let domain = Domain {
                    data_type: self.ty(&d.data_type),
                    not_null,
                    default: d.default.as_ref().map(|e| self.expr(e)),
                    checks,
                };
                self.cat.domains.insert(q, domain);
            }
            Statement::CreateSequence {
                name,
                data_type,
                sequence_options,
                owned_by,
                ..
            } => {
                let q = self.qual(&name);
                let (start, increment) = seq_options(&sequence_options);
                // sqlparser 0.63 keeps only some options: read START/INCREMENT from the tokens too.
                let toks = tokens(sql);
                let start = num_after(&toks, "START", "WITH").or(start);
                let increment = num_after(&toks, "INCREMENT", "BY").or(increment);
                let owned = owned_by.map(|o| {
                    let mut parts: Vec<String> = o.0.iter().map(|p| p.to_string()).collect();
                    let col = parts.pop().unwrap_or_default();
                    (
                        self.qual_parts(
                            parts.iter().map(|p| split_qualified(p).remove(0)).collect(),
                        ),
                        col,
                    )
                });
                let seq = Sequence {
                    data_type: data_type
                        .as_ref()
                        .map(|t| self.ty(t))
                        .unwrap_or_else(|| "bigint".into()),
                    start: start.unwrap_or(1),
                    increment: increment.unwrap_or(1),
                    owned_by: owned,
                };
                // Keep an OWNED BY that came first (ALTER SEQUENCE before CREATE is odd, but cheap to honour).
                let prev_owner = self.cat.sequences.get(&q).and_then(|s| s.owned_by.clone());
                let mut seq = seq;
                if seq.owned_by.is_none() {
                    seq.owned_by = prev_owner;
                }
                self.cat.sequences.insert(q, seq);
            }
            Statement::AlterTable(at) => self.alter_table(at, sql),
            _ => self.skip(kind.to_string()),
        }
    }

    fn domain_checks_from_tokens(&self, sql: &str, q: &QualName) -> Vec<Check> {
        let toks = tokens(sql);
        let mut out = vec![];
        for (i, t) in toks.iter().enumerate() {
            if word_upper(t).as_deref() != Some("CHECK") || toks.get(i + 1) != Some(&Token::LParen)
            {
                continue;
            }
            let name = if i >= 2 && word_upper(&toks[i - 2]).as_deref() == Some("CONSTRAINT") {
                ident_of(&toks[i - 1]).unwrap_or_default()
            } else {
                format!("{}_check", q.name)
            };
            let mut depth = 0;
            let mut body = vec![];
            for t in &toks[i + 1..] {
                match t {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                body.push(match t {
                    Token::SingleQuotedString(s) => quote_literal(s),
                    t => t.to_string(),
                });
                if depth == 0 {
                    break;
                }
            }
            let text = body.join(" ");
            let schema = Some(self.schema.as_str()).filter(|s| !s.is_empty());
            out.push(Check {
                name,
                expression: super::normalize::normalize_expr_in(&text, schema),
                not_valid: false,
            });
        }
        out
    }

    fn table_mut(&mut self, q: &QualName, sql: &str) -> Option<&mut Table> {
        if !self.cat.tables.contains_key(q) {
            self.warn("statement about an unknown table", sql, q);
            return None;
        }
        self.cat.tables.get_mut(q)
    }

    fn create_table(&mut self, ct: CreateTable) {
        let q = self.qual(&ct.name);
        let parents: Vec<QualName> = ct.inherits.iter().flatten().map(|p| self.qual(p)).collect();
        let mut table = Table {
            name: q.clone(),
            columns: vec![],
            primary_key: None,
            uniques: vec![],
            foreign_keys: vec![],
            checks: vec![],
            indexes: vec![],
            row_level_security: false,
            partition_by: ct
                .partition_by
                .as_ref()
                .map(|e| canon_tokens(&e.to_string())),
            partition_of: None,
            inherits: parents.clone(),
            unlogged: ct.unlogged,
            storage_parameters: match &ct.table_options {
                sqlparser::ast::CreateTableOptions::With(options) => {
                    options.iter().map(storage_parameter).collect()
                }
                _ => vec![],
            },
        };
        if let Some(parent) = &ct.partition_of {
            let bound = ct
                .for_values
                .as_ref()
                .map(|f| canon_bound(&format!("FOR VALUES {f}")))
                .unwrap_or_default();
            let bound = bound.replace("FOR VALUES FOR VALUES", "FOR VALUES");
            table.partition_of = Some((self.qual(parent), bound));
        }
        for parent in &parents {
            self.inherit_from(&mut table, parent);
        }
        let mut constraints: Vec<(TableConstraint, Option<String>)> = vec![];
        for col in &ct.columns {
            let cname = ident_value(&col.name);
            let raw_type = col.data_type.to_string().to_lowercase();
            let serial = matches!(
                raw_type.as_str(),
                "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
            );
            // A column the parents have already: merged with theirs (PostgreSQL checks the types agree).
            let inherited = table.columns.iter().position(|c| c.name == cname);
            let mut c = match inherited {
                Some(i) => Column {
                    default: None,
                    ..table.columns[i].clone()
                },
                None => Column {
                    name: cname.clone(),
                    data_type: self.ty(&col.data_type),
                    not_null: false,
                    default: None,
                    identity: None,
                    generated: None,
                },
            };
            for opt in &col.options {
                match &opt.option {
                    ColumnOption::NotNull => c.not_null = true,
                    ColumnOption::Null => c.not_null = c.not_null && inherited.is_some(),
                    ColumnOption::Default(e) => c.default = Some(self.expr(e)),
                    ColumnOption::Generated {
                        generated_as,
                        sequence_options,
                        generation_expr,
                        ..
                    } => match (generated_as, generation_expr) {
                        (_, Some(e)) => c.generated = Some(self.expr(e)),
                        (GeneratedAs::Always, None) | (GeneratedAs::ByDefault, None) => {
                            c.identity = Some(if matches!(generated_as, GeneratedAs::Always) {
                                Identity::Always
                            } else {
                                Identity::ByDefault
                            });
                            c.not_null = true;
                            let (start, inc) =
                                seq_options(sequence_options.as_deref().unwrap_or(&[]));
                            let seq = self.choose_relation_name(&q.schema, &q.name, &cname, "seq");
                            self.cat.sequences.insert(
                                seq,
                                Sequence {
                                    data_type: c.data_type.clone(),
                                    start: start.unwrap_or(1),
                                    increment: inc.unwrap_or(1),
                                    owned_by: Some((q.clone(), cname.clone())),
                                },
                            );
                        }
                        _ => {}
                    },
                    ColumnOption::PrimaryKey(pk) => {
                        let mut pk = pk.clone();
                        if pk.columns.is_empty() {
                            pk.columns = vec![index_col(&col.name)];
                        }
                        let name = opt.name.as_ref().map(ident_value);
                        constraints.push((TableConstraint::PrimaryKey(pk), name));
                    }
                    ColumnOption::Unique(u) => {
                        let mut u = u.clone();
                        if u.columns.is_empty() {
                            u.columns = vec![index_col(&col.name)];
                        }
                        let name = opt.name.as_ref().map(ident_value);
                        constraints.push((TableConstraint::Unique(u), name));
                    }
                    ColumnOption::ForeignKey(fk) => {
                        let mut fk = fk.clone();
                        if fk.columns.is_empty() {
                            fk.columns = vec![col.name.clone()];
                        }
                        let name = opt.name.as_ref().map(ident_value);
                        constraints.push((TableConstraint::ForeignKey(fk), name));
                    }
                    ColumnOption::Check(ch) => {
                        let name = opt
                            .name
                            .as_ref()
                            .or(ch.name.as_ref())
                            .map(ident_value)
                            .unwrap_or_else(|| match sole_column(&ch.expr) {
                                Some(c) => format!("{}_{}_check", q.name, c),
                                None => format!("{}_check", q.name),
                            });
                        if ch.no_inherit {
                            self.no_inherit.push((q.clone(), name.clone()));
                        }
                        table.checks.retain(|inherited| inherited.name != name);
                        table.checks.push(Check {
                            name,
                            expression: self.expr(&ch.expr),
                            not_valid: false,
                        });
                    }
                    _ => {}
                }
            }
            if let (Some(i), None) = (inherited, &c.default) {
                c.default = table.columns[i].default.clone();
            }
            if serial {
                let seq = self.choose_relation_name(&q.schema, &q.name, &cname, "seq");
                c.default = Some(format!("nextval('{seq}'::regclass)"));
                c.not_null = true;
                self.cat.sequences.insert(
                    seq,
                    Sequence {
                        data_type: c.data_type.clone(),
                        start: 1,
                        increment: 1,
                        owned_by: Some((q.clone(), cname.clone())),
                    },
                );
            }
            match inherited {
                Some(i) => table.columns[i] = c,
                None => table.columns.push(c),
            }
        }
        for c in &ct.constraints {
            constraints.push((c.clone(), None));
        }
        self.cat.tables.insert(q.clone(), table);
        for (c, name) in constraints {
            self.add_constraint(&q, c, name, false, "CREATE TABLE");
        }
        if let Some((parent, _)) = self.cat.tables[&q].partition_of.clone() {
            self.clone_indexes(&parent, &q);
        }
    }

    /// What a child of `INHERITS (parent)` gets from it when created: its columns (not their
    /// identity) and its CHECKs but `NO INHERIT` ones. Its keys and indexes stay its own.
    fn inherit_from(&mut self, child: &mut Table, parent: &QualName) {
        let Some(p) = self.cat.tables.get(parent) else {
            let sql = format!("CREATE TABLE {} (…) INHERITS ({parent})", child.name);
            return self.warn("statement about an unknown table", &sql, parent);
        };
        for col in &p.columns {
            match child.columns.iter_mut().find(|c| c.name == col.name) {
                // A column two parents have: one column, NOT NULL if either says so.
                Some(merged) => merged.not_null |= col.not_null,
                None => child.columns.push(Column {
                    identity: None,
                    ..col.clone()
                }),
            }
        }
        for check in &p.checks {
            let inheritable = !self
                .no_inherit
                .iter()
                .any(|(t, n)| t == parent && *n == check.name);
            if inheritable && !child.checks.iter().any(|c| c.name == check.name) {
                child.checks.push(check.clone());
            }
        }
    }

    /// The tables that `ALTER TABLE parent …` without `ONLY` reaches besides `parent`:
    /// its inheritance children and partitions, at any depth.
    fn descendants(&self, parent: &QualName, partitions_too: bool) -> Vec<QualName> {
        let mut found: Vec<QualName> = vec![];
        let mut queue = vec![parent.clone()];
        while let Some(p) = queue.pop() {
            for t in self.cat.tables.values() {
                let child = t.inherits.contains(&p)
                    || (partitions_too && t.partition_of.as_ref().is_some_and(|(pp, _)| *pp == p));
                if child && !found.contains(&t.name) {
                    found.push(t.name.clone());
                    queue.push(t.name.clone());
                }
            }
        }
        found
    }

    /// Whether a table, sequence or index of that name exists in `schema` (they share
    /// one namespace, `pg_class`).
    fn relation_exists(&self, schema: &str, name: &str) -> bool {
        let q = QualName::new(schema, name);
        self.cat.tables.contains_key(&q)
            || self.cat.sequences.contains_key(&q)
            || self.matviews.contains(&q)
            || self.cat.tables_in(schema).any(|t| {
                t.indexes.iter().any(|i| i.name == name)
                    || t.primary_key
                        .iter()
                        .chain(&t.uniques)
                        .any(|k| k.name == name)
            })
    }

    /// The name PostgreSQL gives a relation it makes for `name1` and `name2` (a SERIAL's
    /// sequence, an index without a name): `name1_name2_label`, shortened to fit 63 bytes,
    /// then `label1`, `label2`, … while the name is taken (`ChooseRelationName`).
    fn choose_relation_name(
        &self,
        schema: &str,
        name1: &str,
        name2: &str,
        label: &str,
    ) -> QualName {
        let name = (0..)
            .map(|pass| {
                make_object_name(
                    name1,
                    name2,
                    &if pass == 0 {
                        label.to_string()
                    } else {
                        format!("{label}{pass}")
                    },
                )
            })
            .find(|candidate| !self.relation_exists(schema, candidate))
            .unwrap_or_default();
        QualName::new(schema, name)
    }

    /// A partition gets an index like each of its parent's, unless it has a matching one
    /// (created with the partition, when attached, or when the parent's is created).
    fn clone_indexes(&mut self, parent: &QualName, partition: &QualName) {
        let indexes = self
            .cat
            .tables
            .get(parent)
            .map(|t| t.indexes.clone())
            .unwrap_or_default();
        for index in indexes {
            self.clone_index(&index, partition);
        }
    }

    fn clone_index(&mut self, index: &Index, partition: &QualName) {
        let Some(t) = self.cat.tables.get(partition) else {
            return;
        };
        let matches = |i: &Index| {
            i.unique == index.unique
                && i.method == index.method
                && i.keys == index.keys
                && i.include == index.include
                && i.predicate == index.predicate
        };
        if t.indexes.iter().any(matches) {
            return;
        }
        let name = self
            .choose_relation_name(
                &partition.schema,
                &partition.name,
                &index_name_addition(index),
                "idx",
            )
            .name;
        let clone = Index {
            name,
            ..index.clone()
        };
        let grandchildren: Vec<QualName> = self
            .cat
            .tables
            .values()
            .filter(|c| c.partition_of.as_ref().is_some_and(|(p, _)| p == partition))
            .map(|c| c.name.clone())
            .collect();
        if let Some(t) = self.cat.tables.get_mut(partition) {
            t.indexes.push(clone.clone());
        }
        for grandchild in grandchildren {
            self.clone_index(&clone, &grandchild);
        }
    }

    fn add_constraint(
        &mut self,
        q: &QualName,
        c: TableConstraint,
        name_override: Option<String>,
        not_valid: bool,
        sql: &str,
    ) {
        let schema = self.schema.clone();
        let referenced_q = match &c {
            TableConstraint::ForeignKey(fk) => Some(self.qual(&fk.foreign_table)),
            _ => None,
        };
        let check_expr = match &c {
            TableConstraint::Check(ch) => Some(self.expr(&ch.expr)),
            _ => None,
        };
        let Some(t) = self.table_mut(q, sql) else {
            return;
        };
        let _ = schema;
        let used: Vec<String> = t
            .primary_key
            .iter()
            .map(|k| k.name.clone())
            .chain(t.uniques.iter().map(|k| k.name.clone()))
            .chain(t.foreign_keys.iter().map(|k| k.name.clone()))
            .chain(t.checks.iter().map(|k| k.name.clone()))
            .collect();
        let fresh = |base: String| -> String {
            if !used.contains(&base) {
                return base;
            }
            (1..)
                .map(|i| format!("{base}{i}"))
                .find(|n| !used.contains(n))
                .unwrap()
        };
        match c {
            TableConstraint::PrimaryKey(pk) => {
                let cols: Vec<String> = pk
                    .columns
                    .iter()
                    .map(|c| index_col_name(&c.column.expr))
                    .collect();
                let name = name_override
                    .or(pk.name.as_ref().map(ident_value))
                    .unwrap_or_else(|| fresh(format!("{}_pkey", q.name)));
                for col in &mut t.columns {
                    if cols.contains(&col.name) {
                        col.not_null = true;
                    }
                }
                let include = pk.include.iter().map(ident_value).collect();
                t.primary_key = Some(Key {
                    name,
                    columns: cols,
                    include,
                    deferrable: deferrable(pk.characteristics.as_ref()),
                });
            }
            TableConstraint::Unique(u) => {
                let cols: Vec<String> = u
                    .columns
                    .iter()
                    .map(|c| index_col_name(&c.column.expr))
                    .collect();
                let name = name_override
                    .or(u.name.as_ref().map(ident_value))
                    .unwrap_or_else(|| fresh(format!("{}_{}_key", q.name, cols.join("_"))));
                let include = u.include.iter().map(ident_value).collect();
                t.uniques.push(Key {
                    name,
                    columns: cols,
                    include,
                    deferrable: deferrable(u.characteristics.as_ref()),
                });
            }
            TableConstraint::ForeignKey(fk) => {
                let cols: Vec<String> = fk.columns.iter().map(ident_value).collect();
                let name = name_override
                    .or(fk.name.as_ref().map(ident_value))
                    .unwrap_or_else(|| fresh(format!("{}_{}_fkey", q.name, cols.join("_"))));
                let mut refcols: Vec<String> =
                    fk.referred_columns.iter().map(ident_value).collect();
                let references = referenced_q.unwrap();
                if refcols.is_empty() {
                    // REFERENCES t without columns: its primary key.
                    if let Some(pk) = self
                        .cat
                        .tables
                        .get(&references)
                        .and_then(|r| r.primary_key.as_ref())
                    {
                        refcols = pk.columns.clone();
                    }
                }
                let t = self.cat.tables.get_mut(q).unwrap();
                t.foreign_keys.push(ForeignKey {
                    name,
                    columns: cols,
                    references,
                    referenced_columns: refcols,
                    on_delete: fk_action(fk.on_delete),
                    on_update: fk_action(fk.on_update),
                    deferrable: deferrable(fk.characteristics.as_ref()),
                    not_valid,
                });
            }
            TableConstraint::Check(ch) => {
                let expression = check_expr.unwrap();
                let name = name_override
                    .or(ch.name.as_ref().map(ident_value))
                    .unwrap_or_else(|| {
                        let first = sole_column(&ch.expr);
                        fresh(match first {
                            Some(c) => format!("{}_{}_check", q.name, c),
                            None => format!("{}_check", q.name),
                        })
                    });
                let no_inherit = ch.no_inherit.then(|| (q.clone(), name.clone()));
                t.checks.push(Check {
                    name,
                    expression,
                    not_valid,
                });
                self.no_inherit.extend(no_inherit);
            }
            other => {
                let kind = match other {
                    TableConstraint::Exclude(_) => "EXCLUDE constraint",
                    _ => "other table constraint",
                };
                self.skip(kind);
            }
        }
    }

    fn alter_table(&mut self, at: sqlparser::ast::AlterTable, sql: &str) {
        use sqlparser::ast::{AlterColumnOperation, AlterTableOperation};
        let q = self.qual(&at.name);
        for op in at.operations {
            match op {
                AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid,
                } => {
                    // Without ONLY, a CHECK reaches the inheritance children too (partitions
                    // get it as well, but the readers leave what a partition inherits out).
                    let inherited = match &constraint {
                        TableConstraint::Check(ch) if !at.only && !ch.no_inherit => {
                            self.descendants(&q, false)
                        }
                        _ => vec![],
                    };
                    self.add_constraint(&q, constraint.clone(), None, not_valid, sql);
                    let added = self
                        .cat
                        .tables
                        .get(&q)
                        .and_then(|t| t.checks.last().cloned());
                    for child in inherited {
                        let Some(t) = self.cat.tables.get_mut(&child) else {
                            continue;
                        };
                        if let Some(check) = added
                            .clone()
                            .filter(|c| !t.checks.iter().any(|x| x.name == c.name))
                        {
                            t.checks.push(check);
                        }
                    }
                }
                AlterTableOperation::EnableRowLevelSecurity => {
                    if let Some(t) = self.table_mut(&q, sql) {
                        t.row_level_security = true;
                    }
                }
                AlterTableOperation::DisableRowLevelSecurity => {
                    if let Some(t) = self.table_mut(&q, sql) {
                        t.row_level_security = false;
                    }
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    let cname = ident_value(&column_name);
                    let value = match &op {
                        AlterColumnOperation::SetDefault { value } => Some(self.expr(value)),
                        _ => None,
                    };
                    if self.table_mut(&q, sql).is_none() {
                        continue;
                    }
                    // Without ONLY, every child (inherited or partition) changes alike.
                    let reached = if at.only {
                        vec![]
                    } else {
                        self.descendants(&q, true)
                    };
                    for table in std::iter::once(q.clone()).chain(reached) {
                        let Some(t) = self.cat.tables.get_mut(&table) else {
                            continue;
                        };
                        let Some(col) = t.columns.iter_mut().find(|c| c.name == cname) else {
                            self.warn("ALTER COLUMN of an unknown column", sql, &cname);
                            break;
                        };
                        match &op {
                            AlterColumnOperation::SetDefault { .. } => col.default = value.clone(),
                            AlterColumnOperation::DropDefault => col.default = None,
                            AlterColumnOperation::SetNotNull => col.not_null = true,
                            AlterColumnOperation::DropNotNull => col.not_null = false,
                            other => {
                                self.skip(format!(
                                    "ALTER TABLE … ALTER COLUMN {}",
                                    op_kind(&other.to_string())
                                ));
                                break;
                            }
                        }
                    }
                }
                other => self.skip(format!("ALTER TABLE … {}", op_kind(&other.to_string()))),
            }
        }
    }

    /// `ALTER TABLE [ONLY] parent ATTACH PARTITION child FOR VALUES …` / `DEFAULT`.
    fn attach_partition(&mut self, sql: &str, toks: &[Token]) {
        let upper: Vec<String> = toks
            .iter()
            .map(|t| word_upper(t).unwrap_or_default())
            .collect();
        let mut i = 2;
        while matches!(
            upper.get(i).map(String::as_str),
            Some("ONLY" | "IF" | "EXISTS")
        ) {
            i += 1;
        }
        let Some(parent) = qualified_at(toks, &mut i) else {
            return self.warn("unreadable", sql, "ATTACH PARTITION");
        };
        let Some(p) = upper
            .windows(2)
            .position(|w| w[0] == "ATTACH" && w[1] == "PARTITION")
        else {
            return;
        };
        let mut j = p + 2;
        let Some(child) = qualified_at(toks, &mut j) else {
            return self.warn("unreadable", sql, "ATTACH PARTITION");
        };
        let bound: String = toks[j..]
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let parent = self.qual_parts(parent);
        let child = self.qual_parts(child);
        if let Some(t) = self.table_mut(&child, sql) {
            t.partition_of = Some((parent.clone(), canon_bound(&bound)));
            self.clone_indexes(&parent, &child);
        }
    }

    /// `ALTER TABLE t ALTER COLUMN c ADD GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY (SEQUENCE NAME s …)`.
    fn add_identity(&mut self, sql: &str, toks: &[Token]) {
        let upper: Vec<String> = toks
            .iter()
            .map(|t| word_upper(t).unwrap_or_default())
            .collect();
        let mut i = 2;
        while matches!(
            upper.get(i).map(String::as_str),
            Some("ONLY" | "IF" | "EXISTS")
        ) {
            i += 1;
        }
        let Some(tparts) = qualified_at(toks, &mut i) else {
            return self.warn("unreadable", sql, "ADD GENERATED");
        };
        let q = self.qual_parts(tparts);
        let Some(c) = upper
            .iter()
            .position(|w| w == "COLUMN")
            .or_else(|| upper.iter().position(|w| w == "ALTER").filter(|_| false))
        else {
            return self.warn("unreadable", sql, "ADD GENERATED");
        };
        let Some(cname) = toks.get(c + 1).and_then(ident_of) else {
            return;
        };
        let always = upper.iter().any(|w| w == "ALWAYS");
        let mut seq_name = self.choose_relation_name(&q.schema, &q.name, &cname, "seq");
        if let Some(n) = upper
            .windows(2)
            .position(|w| w[0] == "SEQUENCE" && w[1] == "NAME")
        {
            let mut k = n + 2;
            if let Some(parts) = qualified_at(toks, &mut k) {
                seq_name = self.qual_parts(parts);
            }
        }
        let start = num_after(toks, "START", "WITH");
        let inc = num_after(toks, "INCREMENT", "BY");
        let Some(t) = self.table_mut(&q, sql) else {
            return;
        };
        let Some(col) = t.columns.iter_mut().find(|c| c.name == cname) else {
            return;
        };
        col.identity = Some(if always {
            Identity::Always
        } else {
            Identity::ByDefault
        });
        col.not_null = true;
        let data_type = col.data_type.clone();
        self.cat.sequences.insert(
            seq_name,
            Sequence {
                data_type,
                start: start.unwrap_or(1),
                increment: inc.unwrap_or(1),
                owned_by: Some((q, cname)),
            },
        );
    }

    /// `ALTER SEQUENCE s OWNED BY t.c` (other ALTER SEQUENCE forms are skipped).
    fn alter_sequence(&mut self, sql: &str, toks: &[Token]) {
        let upper: Vec<String> = toks
            .iter()
            .map(|t| word_upper(t).unwrap_or_default())
            .collect();
        let Some(p) = upper
            .windows(2)
            .position(|w| w[0] == "OWNED" && w[1] == "BY")
        else {
            return self.skip("ALTER SEQUENCE");
        };
        let mut i = 2;
        while matches!(upper.get(i).map(String::as_str), Some("IF" | "EXISTS")) {
            i += 1;
        }
        let Some(seq) = qualified_at(toks, &mut i) else {
            return self.warn("unreadable", sql, "ALTER SEQUENCE");
        };
        let seq = self.qual_parts(seq);
        let mut j = p + 2;
        let owner = if upper.get(j).map(String::as_str) == Some("NONE") {
            None
        } else {
            let Some(mut parts) = qualified_at(toks, &mut j) else {
                return self.warn("unreadable", sql, "OWNED BY");
            };
            let col = parts.pop().unwrap_or_default();
            Some((self.qual_parts(parts), col))
        };
        let entry = self.cat.sequences.entry(seq).or_insert(Sequence {
            data_type: "bigint".into(),
            start: 1,
            increment: 1,
            owned_by: None,
        });
        entry.owned_by = owner;
    }

    /// `CREATE INDEX`; with `only` (`ON ONLY parent`), for the partitioned table alone.
    fn create_index(&mut self, ci: CreateIndex, only: bool) {
        let q = self.qual(&ci.table_name);
        let mut keys = vec![];
        for c in &ci.columns {
            let mut key = self.expr(&c.column.expr);
            if matches!(
                c.column.expr,
                Expr::Function(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
            ) {
            } else if !key.starts_with('(') {
                key = format!("({key})");
            }
            if let Some(op) = &c.operator_class {
                let opc = op.to_string();
                // The default opclass pg_get_indexdef leaves out is not known here; keep what was written.
                key.push(' ');
                key.push_str(&canon_tokens(&opc));
            }
            let desc = matches!(
                c.column.options.sort,
                Some(sqlparser::ast::OrderBySort::Desc)
            );
            if desc {
                key.push_str(" DESC");
            }
            match (desc, c.column.options.nulls_first) {
                (true, Some(false)) => key.push_str(" NULLS LAST"),
                (false, Some(true)) => key.push_str(" NULLS FIRST"),
                _ => {}
            }
            keys.push(key);
        }
        let method = ci
            .using
            .as_ref()
            .map(|u| u.to_string().to_lowercase())
            .unwrap_or_else(|| "btree".into());
        let mut index = Index {
            name: String::new(),
            unique: ci.unique,
            method,
            keys,
            include: ci.include.iter().map(ident_value).collect(),
            predicate: ci.predicate.as_ref().map(|p| self.expr(p)),
            storage_parameters: ci.with.iter().map(index_storage_parameter).collect(),
        };
        index.name = match &ci.name {
            Some(n) => self.qual(n).name,
            None => {
                self.choose_relation_name(&q.schema, &q.name, &index_name_addition(&index), "idx")
                    .name
            }
        };
        let sql = format!("CREATE INDEX ON {q}");
        if self.matviews.contains(&q) {
            return self.skip("CREATE INDEX (on a materialized view)");
        }
        let Some(t) = self.table_mut(&q, &sql) else {
            return;
        };
        t.indexes.push(index.clone());
        // On a partitioned table, without ONLY: one on each partition too.
        if !only {
            let partitions: Vec<QualName> = self
                .cat
                .tables
                .values()
                .filter(|c| c.partition_of.as_ref().is_some_and(|(p, _)| *p == q))
                .map(|c| c.name.clone())
                .collect();
            for partition in partitions {
                self.clone_index(&index, &partition);
            }
        }
    }
}

/// `name1_name2_label`, each name shortened (the longer first, never inside a character)
/// so that the whole fits PostgreSQL's 63 bytes (`makeObjectName`).
fn make_object_name(name1: &str, name2: &str, label: &str) -> String {
    const MAX_NAME_BYTES: usize = 63;
    let available = MAX_NAME_BYTES - 1 - (label.len() + 1);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > available {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

/// The middle of the name PostgreSQL gives an index without one: its key columns (a
/// function's name for a call, `expr` for another expression) and INCLUDE columns, a
/// repeated name numbered, joined by `_` (`ChooseIndexColumnNames`, `ChooseIndexNameAddition`).
fn index_name_addition(index: &Index) -> String {
    let dialect = PostgreSqlDialect {};
    let key_name = |key: &str| {
        let expr = Parser::new(&dialect)
            .try_with_sql(key)
            .and_then(|mut p| p.parse_expr());
        expr.map_or_else(|_| "expr".to_string(), |e| figure_column_name(&e))
    };
    let mut names: Vec<String> = vec![];
    for name in index
        .keys
        .iter()
        .map(|k| key_name(k))
        .chain(index.include.iter().cloned())
    {
        let unique = (0..)
            .map(|i| {
                if i == 0 {
                    name.clone()
                } else {
                    format!("{name}{i}")
                }
            })
            .find(|n| !names.contains(n));
        names.extend(unique);
    }
    let mut addition = String::new();
    for name in names {
        if !addition.is_empty() {
            addition.push('_');
        }
        addition.push_str(&name);
        if addition.len() >= 64 {
            break;
        }
    }
    addition
}

/// The name PostgreSQL figures for an index expression: a column's, a function's, or `expr`.
fn figure_column_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => ident_value(id),
        Expr::CompoundIdentifier(ids) => ids.last().map(ident_value).unwrap_or_default(),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => ident_value(id),
            _ => "expr".into(),
        },
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => figure_column_name(inner),
        _ => "expr".into(),
    }
}

/// A `WITH (name = value)` storage parameter as `pg_class.reloptions` holds it: `name=value`.
fn storage_parameter(option: &sqlparser::ast::SqlOption) -> String {
    match option {
        sqlparser::ast::SqlOption::KeyValue { key, value } => {
            format!("{}={}", ident_value(key), option_value(value))
        }
        other => canon_tokens(&other.to_string()),
    }
}

fn index_storage_parameter(option: &Expr) -> String {
    match option {
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Eq,
            right,
        } => {
            format!("{}={}", figure_column_name(left), option_value(right))
        }
        other => canon_tokens(&other.to_string()),
    }
}

/// `'50'`, `50`, `false`, `off` → the text PostgreSQL stores.
fn option_value(value: &Expr) -> String {
    use sqlparser::ast::Value;
    match value {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            Value::Number(n, _) => n.clone(),
            Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(id) => ident_value(id),
        other => canon_tokens(&other.to_string()),
    }
}

/// The number after `kw kw2` (`START WITH -5`), if any.
fn num_after(toks: &[Token], kw: &str, kw2: &str) -> Option<i64> {
    let upper: Vec<String> = toks
        .iter()
        .map(|t| word_upper(t).unwrap_or_default())
        .collect();
    let p = upper.windows(2).position(|w| w[0] == kw && w[1] == kw2)?;
    let mut k = p + 2;
    let mut neg = false;
    if toks.get(k) == Some(&Token::Minus) {
        neg = true;
        k += 1;
    }
    match toks.get(k) {
        Some(Token::Number(n, _)) => n.parse::<i64>().ok().map(|v| if neg { -v } else { v }),
        _ => None,
    }
}

/// `… AS IDENTITY (START WITH 10 INCREMENT BY 2)` → `… AS IDENTITY`, with the removed
/// option groups (sqlparser 0.63 reads only one option there).
fn strip_identity_options(sql: &str) -> Option<(String, Vec<Vec<Token>>)> {
    let toks = tokens(sql);
    let mut out: Vec<Token> = vec![];
    let mut groups = vec![];
    let mut i = 0;
    while i < toks.len() {
        out.push(toks[i].clone());
        if word_upper(&toks[i]).as_deref() == Some("IDENTITY")
            && toks.get(i + 1) == Some(&Token::LParen)
        {
            let mut depth = 0;
            let mut j = i + 1;
            let mut group = vec![];
            while j < toks.len() {
                match toks[j] {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                group.push(toks[j].clone());
                j += 1;
                if depth == 0 {
                    break;
                }
            }
            groups.push(group);
            i = j;
            continue;
        }
        i += 1;
    }
    if groups.is_empty() {
        return None;
    }
    let text = out
        .iter()
        .map(|t| match t {
            Token::SingleQuotedString(s) => quote_literal(s),
            t => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some((text, groups))
}

/// Where `ON ONLY` is in a statement's tokens.
fn on_only(toks: &[Token]) -> Option<usize> {
    toks.windows(2).position(|w| {
        word_upper(&w[0]).as_deref() == Some("ON") && word_upper(&w[1]).as_deref() == Some("ONLY")
    })
}

fn strip_on_only(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    let p = on_only(&toks)?;
    // Rebuild from tokens without the ONLY.
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        if i == p + 1 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        match t {
            Token::SingleQuotedString(s) => out.push_str(&quote_literal(s)),
            t => out.push_str(&t.to_string()),
        }
    }
    Some(out)
}

/// "ADD COLUMN x …" → "ADD COLUMN"; used for skip kinds.
fn op_kind(op: &str) -> String {
    op.split_whitespace()
        .take(2)
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "CREATE FUNCTION", "CREATE INDEX" (for UNIQUE INDEX too), "COMMENT ON", "SET", …
fn statement_kind(words: &[String]) -> String {
    let ws: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| {
            !matches!(
                *w,
                "OR" | "REPLACE"
                    | "UNIQUE"
                    | "UNLOGGED"
                    | "TEMPORARY"
                    | "TEMP"
                    | "MATERIALIZED"
                    | "RECURSIVE"
                    | "TRUSTED"
                    | "PROCEDURAL"
                    | "CONSTRAINT"
                    | "DEFAULT"
            )
        })
        .collect();
    let first = ws.first().copied().unwrap_or("");
    match first {
        "CREATE" | "ALTER" | "DROP" | "COMMENT" => {
            let second = ws.get(1).copied().unwrap_or("");
            if first == "CREATE" && (second == "GLOBAL" || second == "LOCAL") {
                return format!("CREATE {}", ws.get(2).copied().unwrap_or(""));
            }
            format!("{first} {second}").trim().to_string()
        }
        "" => "(not a statement)".into(),
        w => w.to_string(),
    }
}

fn ident_value(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

fn index_col(name: &Ident) -> sqlparser::ast::IndexColumn {
    sqlparser::ast::IndexColumn {
        column: sqlparser::ast::OrderByExpr {
            expr: Expr::Identifier(name.clone()),
            options: sqlparser::ast::OrderByOptions {
                sort: None,
                nulls_first: None,
            },
            with_fill: None,
        },
        operator_class: None,
    }
}

fn index_col_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => ident_value(id),
        Expr::CompoundIdentifier(ids) => ids.last().map(ident_value).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// The column a CHECK expression references, when it references exactly one
/// (PostgreSQL then names the constraint `<table>_<column>_check`, else `<table>_check`).
fn sole_column(e: &Expr) -> Option<String> {
    let mut found: Vec<String> = vec![];
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        let name = match x {
            Expr::Identifier(id) => Some(ident_value(id)),
            Expr::CompoundIdentifier(ids) => ids.last().map(ident_value),
            _ => None,
        };
        if let Some(n) = name {
            if !found.contains(&n) {
                found.push(n);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}

fn seq_options(opts: &[SequenceOptions]) -> (Option<i64>, Option<i64>) {
    let num = |e: &Expr| -> Option<i64> { e.to_string().replace(' ', "").parse().ok() };
    let mut start = None;
    let mut inc = None;
    for o in opts {
        match o {
            SequenceOptions::StartWith(e, _) => start = num(e),
            SequenceOptions::IncrementBy(e, _) => inc = num(e),
            _ => {}
        }
    }
    (start, inc)
}

fn fk_action(a: Option<ReferentialAction>) -> FkAction {
    match a {
        None | Some(ReferentialAction::NoAction) => FkAction::NoAction,
        Some(ReferentialAction::Restrict) => FkAction::Restrict,
        Some(ReferentialAction::Cascade) => FkAction::Cascade,
        Some(ReferentialAction::SetNull) => FkAction::SetNull,
        Some(ReferentialAction::SetDefault) => FkAction::SetDefault,
    }
}

fn deferrable(c: Option<&sqlparser::ast::ConstraintCharacteristics>) -> Deferrable {
    match c {
        Some(c) if c.deferrable == Some(true) => match c.initially {
            Some(DeferrableInitial::Deferred) => Deferrable::InitiallyDeferred,
            _ => Deferrable::InitiallyImmediate,
        },
        Some(c) if c.initially == Some(DeferrableInitial::Deferred) => {
            Deferrable::InitiallyDeferred
        }
        _ => Deferrable::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_commands_of_pg_dump_are_skipped_as_psql_does() {
        let ddl = "\\restrict 4dG0k2\n\\connect app\nCREATE TABLE t (id integer PRIMARY KEY, body text DEFAULT 'a;b');\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\\unrestrict 4dG0k2\n";
        let statements = split_statements(ddl).unwrap();
        let lines: Vec<usize> = statements.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [3, 4], "{statements:?}");
        assert!(
            statements[0].1.ends_with("DEFAULT 'a;b')"),
            "{statements:?}"
        );
        let load = from_ddl(ddl, "public").unwrap();
        assert!(load.warnings.is_empty(), "{:?}", load.warnings);
        assert_eq!(load.catalog.tables.len(), 1);
    }

    #[test]
    fn a_quote_left_open_is_an_error_not_a_lost_file() {
        for (ddl, open) in [
            ("CREATE TABLE t (id int);\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1;\nCREATE TABLE u (id int);\n", "the dollar quote"),
            ("CREATE TABLE t (note text DEFAULT 'it''s);\nCREATE TABLE u (id int);\n", "a quoted string"),
            ("CREATE TABLE t (id int);\n/* CREATE TABLE u (id int);\n", "a /* comment"),
        ] {
            let error = from_ddl(ddl, "public").unwrap_err();
            assert!(error.starts_with(open) && error.ends_with("is still open at the end of the file"), "{error}");
        }
    }
}
