//! The YAML model: how V2 rows are made from V1 rows.
//!
//! Every value a diagnostic may point at is [`Spanned`], so errors found later
//! (in `check`) can name file:line:col. Loading only reads the file's shape;
//! SQL inside it is parsed by `check`.

use indexmap::IndexMap;
use marked_yaml::{LoaderOptions, Spanned};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Pos};

mod input;
mod shape;
pub use input::model_text;
pub use shape::fields_of;

pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub name: Text,
    /// A model may say `in_place: false`; one saying `true` is read by `crate::inplace`.
    pub in_place: Option<Spanned<bool>>,
    pub source: Option<SchemaRef>,
    pub target: Option<SchemaRef>,
    pub mode: Option<Spanned<ModeDecl>>,
    /// The zone V1's timestamps without time zone are in (`timezone: UTC`): every script runs
    /// in it, so conversions between naive timestamps, instants and days don't depend on the
    /// server's TimeZone.
    pub timezone: Option<Text>,
    /// Rows V2 needs before any step runs (roles, types, …), by V2 table.
    #[serde(default)]
    pub reference: IndexMap<Text, ReferenceDecl>,
    pub tables: IndexMap<Text, Step>,
    #[serde(default)]
    pub verify: Vec<Assertion>,
    /// Text archives of V2 after migrate: `pgmig export` writes a file per value of each
    /// query's `file` column into `dir/<files key>/`.
    pub archives: Option<ArchivesDecl>,
    /// Secret V1 columns, by V1 table: `redact: {teachers: [password]}`. Their values are
    /// replaced by a marker wherever pgmig copies V1 rows (rejects, archives, precheck's
    /// samples). A table listed has exactly these redacted (`[]`: none); in a table not
    /// listed, the columns whose names look secret are.
    #[serde(default)]
    pub redact: IndexMap<Text, Vec<Text>>,
    /// The V1 data no step reads, by V1 table, each with its reason: `drop: {audit_log: REASON}`
    /// for a whole table, `drop: {users: {fax: REASON}}` for columns. Every V1 table and
    /// column is read by a step or listed here; anything else is a compile error.
    #[serde(default)]
    pub drop: IndexMap<Text, DropDecl>,
}

/// One V1 table under `drop:`: the whole table with its reason, or some of its columns,
/// each with its reason.
#[derive(Debug)]
pub enum DropDecl {
    Table(String),
    Columns(IndexMap<Text, Text>),
}

/// Hand-written for the same reason as [`KeyDecl`]'s.
impl<'de> Deserialize<'de> for DropDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DropVisitor;
        impl<'de> serde::de::Visitor<'de> for DropVisitor {
            type Value = DropDecl;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the reason the whole V1 table is dropped, or `{COLUMN: REASON, …}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DropDecl, E> {
                Ok(DropDecl::Table(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DropDecl, A::Error> {
                let mut columns = IndexMap::new();
                while let Some(column) = map.next_key::<Text>()? {
                    columns.insert(column, map.next_value::<Text>()?);
                }
                Ok(DropDecl::Columns(columns))
            }
        }
        d.deserialize_any(DropVisitor)
    }
}

/// `mode: transaction`, `mode: {batched: {size: N}}` or `mode: {per_entity: {root: STEP, size: N}}`.
#[derive(Debug)]
pub enum ModeDecl {
    Word(String),
    Batched { size: Text },
    PerEntity { root: Text, size: Option<Text> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchedDecl {
    size: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerEntityDecl {
    root: Text,
    size: Option<Text>,
}

/// Hand-written for the same reason as [`KeyDecl`]'s.
impl<'de> Deserialize<'de> for ModeDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ModeVisitor;
        impl<'de> serde::de::Visitor<'de> for ModeVisitor {
            type Value = ModeDecl;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`transaction`, `{batched: {size: N}}` or `{per_entity: {root: STEP, size: N}}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ModeDecl, E> {
                Ok(ModeDecl::Word(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ModeDecl, A::Error> {
                let mut mode = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "batched" => {
                            mode = Some(ModeDecl::Batched {
                                size: map.next_value::<BatchedDecl>()?.size,
                            })
                        }
                        "per_entity" => {
                            let d = map.next_value::<PerEntityDecl>()?;
                            mode = Some(ModeDecl::PerEntity {
                                root: d.root,
                                size: d.size,
                            });
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["batched", "per_entity"],
                            ))
                        }
                    }
                }
                mode.ok_or_else(|| serde::de::Error::missing_field("batched"))
            }
        }
        d.deserialize_any(ModeVisitor)
    }
}

/// Where a schema is: `{schema: v1}` in the target database, or `{server: v1db, schema: public}`
/// on another PostgreSQL server, read through postgres_fdw.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRef {
    pub schema: Option<Text>,
    pub server: Option<Text>,
}

/// How one V2 table is filled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The V2 table filled, when it is not the step's name: several steps may fill one table.
    pub into: Option<Text>,
    pub from: Text,
    #[serde(rename = "where")]
    pub filter: Option<Text>,
    #[serde(default)]
    pub reject: Vec<RejectRule>,
    /// Rows that migrate but that a DBA should see first: precheck lists them (count and
    /// sample keys), migrate does not treat them apart.
    #[serde(default)]
    pub warn: Vec<RejectRule>,
    pub key: Option<Spanned<KeyDecl>>,
    #[serde(default)]
    pub columns: IndexMap<Text, Text>,
    /// Rules resolving collisions on V2 UNIQUE columns this step fills.
    #[serde(default)]
    pub repair: Vec<RepairRule>,
    /// What becomes of a row whose column a lossy library call blanks or cuts.
    #[serde(default)]
    pub lossy: Vec<LossRule>,
    /// Overwrite or create: V2 rows with the same values in these columns (a UNIQUE key), and
    /// every V2 row under them, are backed up and deleted before the step inserts its rows.
    pub replace: Option<Vec<Text>>,
    /// References inside a json/jsonb array column rewritten to V2 keys.
    #[serde(default)]
    pub relink_json: Vec<RelinkJson>,
}

/// `{column: drills, object: drill, match: title, to: drills.title, write: uuid, drop: [id]}`:
/// in each element of the array column, the object under `object` names a V2 row by its
/// field `match` (equal to V2 column `to`); the row's primary key is written first in the
/// object under `write`, and the fields `drop` are removed. An object naming no V2 row
/// rejects the whole source row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelinkJson {
    pub column: Text,
    pub object: Text,
    #[serde(rename = "match")]
    pub match_field: Text,
    pub to: Text,
    pub write: Text,
    #[serde(default)]
    pub drop: Vec<Text>,
}

/// `{column: email, on_duplicate: suffix}`: a value already in V2 (or made twice by the step)
/// gets a counter suffix (`suffix`) or becomes NULL (`clear`); every change is recorded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairRule {
    pub column: Text,
    pub on_duplicate: Text,
}

/// `{column: phone, on_loss: reject}`: a row whose value the column's lossy library call
/// blanks or cuts is rejected; `{column: phone, on_loss: keep_raw, raw_column: phone_raw}`: it
/// migrates, and V1's text is kept in `raw_column` (NULL for the rows that lose nothing).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossRule {
    pub column: Text,
    pub on_loss: Text,
    pub raw_column: Option<Text>,
}

/// Reference rows of one V2 table: matched by `key` (a natural key, UNIQUE in V2), inserted
/// when missing. Values are literals; a foreign key column to another reference table holds
/// the parent's natural key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceDecl {
    pub key: Vec<Text>,
    /// None: the table's rows are V2's own (a catalog); `ref()` looks them up, nothing is inserted.
    #[serde(default)]
    pub rows: Vec<IndexMap<Text, Option<Text>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRule {
    pub when: Text,
    pub reason: Text,
}

/// `key: keep`, `key: [COLUMN, …]` (keep, the rows told apart by these V2 columns) or
/// `key: {new: EXPR, by: [EXPR, …]}`.
#[derive(Debug)]
pub enum KeyDecl {
    Word(String),
    Columns(Vec<Text>),
    New { new: Text, by: Vec<Text> },
}

/// Hand-written because serde's untagged enums buffer the input and lose the spans.
impl<'de> Deserialize<'de> for KeyDecl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = KeyDecl;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`keep`, `[COLUMN, …]` or `{new: EXPR, by: [EXPR, …]}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyDecl, E> {
                Ok(KeyDecl::Word(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<KeyDecl, A::Error> {
                let mut columns = Vec::new();
                while let Some(c) = seq.next_element::<Text>()? {
                    columns.push(c);
                }
                Ok(KeyDecl::Columns(columns))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeyDecl, A::Error> {
                let (mut new, mut by) = (None, None);
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "new" => new = Some(map.next_value::<Text>()?),
                        "by" => by = Some(map.next_value::<Vec<Text>>()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["new", "by"]))
                        }
                    }
                }
                let new = new.ok_or_else(|| serde::de::Error::missing_field("new"))?;
                let by = by.ok_or_else(|| serde::de::Error::missing_field("by"))?;
                Ok(KeyDecl::New { new, by })
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    pub name: Text,
    pub zero_rows: Text,
}

/// `archives: {dir: text_archives_v2, files: {users: SELECT … AS file, … AS text … ORDER BY …}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivesDecl {
    pub dir: Text,
    pub files: IndexMap<Text, Text>,
}

impl Model {
    /// V1's schema, as V1's own catalog names it.
    pub fn source_schema(&self) -> &str {
        self.source
            .as_ref()
            .and_then(|s| s.schema.as_ref())
            .map_or("public", |s| s.as_str())
    }

    pub fn target_schema(&self) -> &str {
        self.target
            .as_ref()
            .and_then(|s| s.schema.as_ref())
            .map_or("public", |s| s.as_str())
    }

    /// The postgres_fdw server V1 lives on, when it is not in the target database.
    pub fn source_server(&self) -> Option<&Text> {
        self.source.as_ref().and_then(|s| s.server.as_ref())
    }
}

/// Parses the model's YAML; a syntax error, or every shape error, comes back with its position.
pub fn load(text: &str) -> Result<Model, Vec<Diagnostic>> {
    read_yaml(text)
}

/// Parses YAML text into `T`: a syntax error, or every shape error of the file (unknown or
/// missing fields, values of the wrong kind), each with its position.
pub fn read_yaml<T: DeserializeOwned>(text: &str) -> Result<T, Vec<Diagnostic>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| {
        let d = yaml_error(&e);
        let quoting = d.at.and_then(|at| quoted_value_hint(text, at.line));
        vec![match quoting {
            Some(hint) => d.with_hint(hint),
            None => d,
        }]
    })?;
    shape::from_node(&node)
}

/// Where a spanned string starts, as a diagnostic position covering it.
pub fn pos_of(value: &Text) -> Option<Pos> {
    pos_at(value, value.chars().count())
}

/// Where any spanned value (a `mode:`, a `key:`) starts, as a position `len` characters long.
pub fn pos_at<T>(value: &Spanned<T>, len: usize) -> Option<Pos> {
    value.span().start().map(|m| Pos {
        line: m.line(),
        column: m.column(),
        len,
    })
}

/// A value that starts with a quote is a quoted YAML string, which ends at its closing quote:
/// `from: "Account" a` is a syntax error, where the quotes were meant for SQL. The hint
/// quotes the whole value for YAML, keeping SQL's quotes inside. Looks at the error's line
/// and the one before it (YAML reports some errors where the next token starts).
fn quoted_value_hint(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    [line, line.saturating_sub(1)]
        .iter()
        .filter(|&&l| l >= 1)
        .find_map(|&l| lines.get(l - 1).and_then(|t| requote(t)))
        .map(|fixed| {
            format!(
                "YAML reads a value that starts with a quote as a quoted string, ending at its closing quote; \
                 to keep SQL's quotes, quote the whole value: `{}`",
                fixed.trim()
            )
        })
}

/// `key: "Quoted" rest` as `key: '"Quoted" rest'`, or None when the line is not of that kind.
/// The quoting is YAML's (a single-quoted scalar, a quote inside doubled), not SQL's: the
/// hint is a line of the model for the DBA to paste, so the SQL toolkit does not apply.
fn requote(line: &str) -> Option<String> {
    let (key, value) = line.split_once(": ")?;
    let value = value.trim();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let closing = value[1..].find(quote)? + 1;
    let rest = value[closing + 1..].trim();
    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    Some(format!("{key}: '{}'", value.replace('\'', "''")))
}

fn yaml_error(e: &marked_yaml::LoadError) -> Diagnostic {
    use marked_yaml::LoadError;
    let marker = match e {
        LoadError::TopLevelMustBeMapping(m)
        | LoadError::TopLevelMustBeSequence(m)
        | LoadError::UnexpectedAnchor(m)
        | LoadError::MappingKeyMustBeScalar(m)
        | LoadError::UnexpectedTag(m)
        | LoadError::ScanError(m, _) => Some(*m),
        LoadError::DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    let at = marker.map(|m| Pos {
        line: m.line(),
        column: m.column(),
        len: 1,
    });
    // marked_yaml's messages start with their own position; ours is in the headline.
    let message = e.to_string();
    let message = message
        .split_once(": ")
        .filter(|(p, _)| p.contains(':'))
        .map_or(message.clone(), |(_, m)| m.to_string());
    Diagnostic::error(format!("invalid model: {message}"), at)
}
