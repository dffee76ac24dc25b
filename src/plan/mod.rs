//! The plan: the model fully resolved against both catalogs, in load order.
//!
//! Names are resolved and types known; SQL fragments are printed from parsed
//! ASTs (never glued from model text), and nothing here is parsed again.

pub mod estimate;

use serde::Serialize;

use crate::catalog::QualName;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub model: String,
    /// The model file's name, for comments that point back at it.
    pub model_file: String,
    pub source_schema: String,
    /// V1 on another PostgreSQL server, when it is.
    pub source_server: Option<SourceServer>,
    /// Where the scripts read V1's tables: `source_schema`, or the server's staging schema.
    pub read_schema: String,
    pub target_schema: String,
    /// The types the model's expressions, assertions and archive queries cast to, as printed
    /// in the scripts: the implicit-code guard checks the casts pg_cast holds for them.
    pub cast_types: std::collections::BTreeSet<String>,
    /// The functions the model's expressions, assertions, archive queries and `--only` call,
    /// as printed in the scripts ([`crate::check::calls::called_functions`]): the
    /// implicit-code guard checks who owns them and what they are.
    pub called_functions: std::collections::BTreeSet<String>,
    pub mode: Mode,
    /// The TimeZone every script sets: the model's `timezone:`, UTC without one.
    pub time_zone: String,
    /// `--entities`: the steps are a subset of the model's.
    pub subset: Option<Subset>,
    /// `--only`: the root rows chosen; a selection that matches no V1 row is refused.
    pub only: Option<OnlyRoots>,
    /// Reference rows, parents first; inserted before the steps.
    pub references: Vec<Reference>,
    /// In load order (V2 foreign keys and `id()` lookups first).
    pub steps: Vec<Step>,
    pub assertions: Vec<Assertion>,
    /// The V1 tables and columns no step reads, each with the model's reason (`drop:`).
    pub dropped: Vec<Dropped>,
    /// The model's text archives (`archives:`), written by export.sql and `pgmig export`.
    pub archives: Option<Archives>,
    /// The V1 tables the steps read (as V1's catalog names them) with their primary keys.
    pub v1_tables: Vec<(QualName, Vec<String>)>,
    /// The read V1 tables with a secret column (redacted or kept): what archives hide.
    pub secrets: Vec<TableSecrets>,
    /// Every column of the tables the scripts read and write, with its type, as compiled:
    /// precheck and migrate refuse a database whose catalogs differ.
    pub compiled_columns: Vec<CompiledColumn>,
    /// Every V2 foreign key into a table the steps fill: what deleting a migrated row does
    /// to the rows others wrote under it (rollback checks them first; PLAN.md lists them).
    pub referrers: Vec<Referrer>,
    /// V2's partitioned tables. Their partitions hold their rows, so the scripts read and
    /// delete them as they are; any other V2 table's rows are read with `ONLY`, its
    /// inheritance children's rows being other tables' (`emit::view::TableRows`).
    pub partitioned: std::collections::BTreeSet<QualName>,
    /// How long each script takes, when compiled against a live V1.
    pub window: Option<estimate::Window>,
    /// The same model as precheck.sql reads it: its id maps and backups are precheck's own, in
    /// `pg_temp` (`check::PRECHECK_SCHEMA`), seeded from migrate's between waves.
    #[serde(skip)]
    pub precheck: Option<Box<Plan>>,
}

/// A V2 foreign key whose parent is a table the steps fill, or a table whose rows an ON DELETE
/// CASCADE chain from one deletes with a migrated row.
#[derive(Debug, Clone, Serialize)]
pub struct Referrer {
    pub constraint: String,
    pub table: QualName,
    pub columns: Vec<String>,
    pub parent: QualName,
    pub parent_columns: Vec<String>,
    pub on_delete: crate::catalog::FkAction,
    /// An index of `table` leads with `columns`: PostgreSQL finds the rows under a deleted
    /// parent through it. Without one, every deleted parent row scans the whole table.
    pub indexed: bool,
    /// The tables holding `table`'s rows: itself, or its leaf partitions when partitioned.
    pub leaf_tables: Vec<QualName>,
    /// The CASCADE foreign keys (each without a `via` of its own) from a filled table down to
    /// `parent`, in that order: empty when `parent` is filled.
    pub via: Vec<Referrer>,
}

impl Referrer {
    /// The filled table whose migrated rows, deleted, reach this foreign key.
    pub fn root(&self) -> &QualName {
        self.via.first().map_or(&self.parent, |hop| &hop.parent)
    }
}

/// One column of a table the scripts use, as the catalog read at compile time has it.
#[derive(Debug, Clone, Serialize)]
pub struct CompiledColumn {
    /// `V1` or `V2`.
    pub side: &'static str,
    pub table: QualName,
    pub column: String,
    /// `format_type()` spelling.
    pub data_type: String,
    /// A domain's base type (`format_type()` spelling); any other type as `data_type`.
    pub base_type: String,
}

/// V1 data the migration does not carry over, as the model's `drop:` says.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub table: QualName,
    /// `None`: the whole table.
    pub column: Option<String>,
    pub reason: String,
    /// The model line naming it.
    pub line: usize,
}

/// Secret columns of one V1 table: the values rejects, archives and precheck's samples
/// replace by [`REDACTED`], and the secret-looking columns kept as they are, with why.
#[derive(Debug, Clone, Serialize)]
pub struct TableSecrets {
    pub table: QualName,
    /// Every column, in the table's order: an archive lists them with the redacted ones masked.
    pub columns: Vec<String>,
    pub redacted: Vec<Redacted>,
    pub kept: Vec<KeptSecret>,
}

/// What a redacted value becomes (a JSON string in rejects, a text in archives).
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redacted {
    pub column: String,
    /// Model line of the `redact:` entry naming it; 0 when redacted because its name looks secret.
    pub line: usize,
}

/// A column whose name looks secret but whose values are copied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptSecret {
    pub column: String,
    pub why: KeptWhy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeptWhy {
    /// Part of the primary key: rejects name their V1 row by it (`source_key`).
    Key,
    /// The table is listed under `redact:` (at this model line) without it.
    Listed { line: usize },
}

/// V1 on another server: migrate.sql creates a postgres_fdw server of this name and imports
/// `remote_schema`'s tables into `staging_schema` (pgmig's own, dropped by rollback).
#[derive(Debug, Clone, Serialize)]
pub struct SourceServer {
    pub name: String,
    pub remote_schema: String,
    pub staging_schema: String,
}

/// How migrate.sql commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One transaction: all or nothing.
    Transaction,
    /// A procedure per step that commits every `size` keys and resumes after the last
    /// committed batch when run again.
    Batched { size: u64 },
    /// The unit of work is one entity: a row of the `root` step with every row under it
    /// (through id() lookups). `size` entities commit together; an entity that fails is
    /// rolled back alone, recorded in the rejects, and the run goes on.
    PerEntity { root: String, size: u64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The step's name: the model's key (the target table's name unless `into` says otherwise).
    pub name: String,
    pub target: QualName,
    /// Model line of the step's table key.
    pub line: usize,
    /// `FROM` items with the id-map joins appended, ready to print after `FROM`.
    pub from: String,
    /// `from` without the joins of the step's own id map (`id(self, …)`, a row looking up
    /// another row of its step): equal to `from` when there are none.
    pub from_without_own_map: String,
    /// The expression giving the V1 row as jsonb, its secret columns redacted (for rejects).
    pub source_row: String,
    /// The columns `source_row` redacts, and the secret-looking ones it keeps.
    pub redacted: Vec<Redacted>,
    pub kept_secrets: Vec<KeptSecret>,
    /// The V1 source key as jsonb (for reject and precheck samples).
    pub source_key: String,
    pub filter: Option<Sql>,
    /// The call in `where` that gives another value on each call (`clock_timestamp()`): verify
    /// cannot recount the rows it filtered and checks the rows the id map holds instead.
    pub filter_non_repeatable: Option<String>,
    pub rejects: Vec<Reject>,
    /// `warn:` rules: rows migrated as the others, listed by precheck.
    pub warnings: Vec<Reject>,
    pub key: Key,
    /// What tells this step's rows apart in V2: the key its id map, verify and rollback use.
    pub row_key: RowKey,
    pub columns: Vec<ColumnMap>,
    /// The V2 columns the step leaves to their defaults (generated columns aside).
    pub defaulted: Vec<DefaultedColumn>,
    /// Uniqueness repairs, applied to the values of `columns` before the insert.
    pub repairs: Vec<Repair>,
    /// Overwrite or create: the V2 rows this step replaces, and the rows under them.
    pub replace: Option<Replace>,
    /// JSON references rewritten (their columns' expressions already do it), for precheck.
    pub relinks: Vec<Relink>,
    /// `_pgmig.map_<step>`: the keys this step made, for `id()` and rollback.
    pub map_table: QualName,
    /// Batched mode: `_pgmig.stage_<step>`, the step's source read once (every row's class;
    /// the batch and V2 values of the rows that migrate), which each batch then copies from;
    /// dropped when the step is done.
    pub stage_table: QualName,
    /// Steps that must run before this one, with why.
    pub after: Vec<Dependency>,
    /// Whether a later step joins this step's id map (so it is analyzed).
    pub map_read_later: bool,
    /// Sequences the target table's columns draw from, moved past copied ids and restored by rollback.
    pub sequences: Vec<SequenceSync>,
    /// A filled column is GENERATED ALWAYS AS IDENTITY: insert with OVERRIDING SYSTEM VALUE.
    pub overriding_system_value: bool,
    /// Column names the step's SQL mentions (bare or qualified, or as a whole row), sorted.
    pub mentioned: Vec<String>,
    /// Every V1 table the step reads.
    pub reads: Vec<QualName>,
    /// V2 tables its expressions read: it runs after the steps filling them.
    pub v2_reads: Vec<QualName>,
    /// The first `from` item's V1 table, if it is one, and its alias.
    pub source_table: Option<QualName>,
    pub source_alias: Option<String>,
    /// Row count and size of `source_table`, when compiled against a live V1.
    pub source_size: Option<TableSize>,
    /// Its share of the window, when compiled against a live V1.
    pub estimate: Option<estimate::StepEstimate>,
    /// An expression calls pgmig's transform library (`_pgmig.split_name(…)` …).
    pub uses_library: bool,
    /// Per-entity mode: the entity a source row belongs to, as jsonb (the root's source key,
    /// or the `entity` of an id() lookup's map row); NULL for a row of no entity.
    pub entity: Option<String>,
    /// A V2 foreign key from the step's table to itself, between the step's own rows:
    /// batched and per-entity migrate insert parents before children.
    pub hierarchy: Option<Hierarchy>,
    /// V2 constraints as tests on source rows, for precheck.
    pub checks: Vec<CheckTest>,
    pub uniques: Vec<UniqueTest>,
    pub foreign_keys: Vec<ForeignKeyTest>,
    pub casts: Vec<CastTest>,
}

/// A CHECK constraint rewritten over the source: `test` is true for a row that breaks it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckTest {
    pub constraint: String,
    pub test: String,
}

/// A conversion that can fail on some values: `value` (SQL) must convert to `type_name`.
#[derive(Debug, Clone, Serialize)]
pub struct CastTest {
    pub column: String,
    pub type_name: String,
    pub value: String,
    pub what: String,
}

/// A PRIMARY KEY or UNIQUE key: its V2 columns and the expressions that fill them.
#[derive(Debug, Clone, Serialize)]
pub struct UniqueTest {
    pub constraint: String,
    pub columns: Vec<String>,
    pub exprs: Vec<String>,
    /// A value comes from a redacted V1 column: precheck prints no sample of its duplicates.
    pub secret: bool,
}

/// A foreign key: the expressions filling its columns and where the parent rows are.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignKeyTest {
    pub constraint: String,
    pub columns: Vec<String>,
    pub exprs: Vec<String>,
    pub parent: QualName,
    pub parent_columns: Vec<String>,
    /// The id maps of the steps that fill the parent table.
    pub parent_maps: Vec<String>,
}

/// A foreign key of a step's table to itself, filled by the step's own rows (a manager is an
/// employee): one statement inserts a row and its parent together, but batches and entities
/// are committed one by one, so they go in hierarchy order, each row after its parent. Rows
/// that are their own ancestors (a cycle) can't be ordered: precheck names them.
#[derive(Debug, Clone, Serialize)]
pub struct Hierarchy {
    pub constraint: String,
    /// The foreign key's columns (quoted) and the expressions filling them: a row's parent.
    pub columns: Vec<String>,
    pub parent_exprs: Vec<String>,
    /// The expressions filling the referenced columns: the row's own key, as children name it.
    pub key_exprs: Vec<String>,
}

/// Planner statistics of a V1 table, read from pg_class (never by reading rows).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TableSize {
    pub rows: i64,
    pub bytes: i64,
}

/// A printed SQL expression and the model line it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Sql {
    pub sql: String,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub when: Sql,
    pub reason: String,
    /// A reason computed per row (SQL text), for rules pgmig writes itself.
    pub reason_sql: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// Target key columns are filled like any column; the map records them.
    Keep { columns: Vec<String> },
    /// One fresh key per distinct `by` tuple, made once into the map.
    New {
        column: String,
        new: Sql,
        by: Vec<MapKey>,
    },
}

/// The V2 columns that tell a step's rows apart, and what guarantees they do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RowKey {
    /// The primary key, or (a table without one: partitioned, a join table) a UNIQUE
    /// constraint or unique index on NOT NULL columns: V2 enforces it.
    Enforced { constraint: String, primary: bool },
    /// `key: [COLUMN, …]` in the model, at this line, on a table V2 gives no such key (a log):
    /// migrate refuses when another V2 row shares a migrated row's key, rollback likewise
    /// when one was written since, and verify counts such rows as unexpected.
    Declared { line: usize },
}

impl RowKey {
    pub fn is_declared(&self) -> bool {
        matches!(self, RowKey::Declared { .. })
    }
}

/// A rule resolving collisions on a V2 UNIQUE column: the step's rows, in source key order,
/// after the rows already in V2, keep the first value; later ones are changed.
#[derive(Debug, Clone, Serialize)]
pub struct Repair {
    pub column: String,
    pub column_type: String,
    /// The value before repair (the column's mapped expression).
    pub original: String,
    pub strategy: RepairStrategy,
    pub line: usize,
    /// The value comes from a redacted V1 column: `_pgmig.changes` records its old value as [`REDACTED`].
    pub secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairStrategy {
    /// `ana@school.org` → `ana+2@school.org` (`value-2` when not an address): the smallest free counter.
    Suffix,
    /// The later duplicate becomes NULL.
    Clear,
}

/// One `by` expression of a `key: {new: …}` and its column in the id map.
#[derive(Debug, Clone, Serialize)]
pub struct MapKey {
    pub column: String,
    pub expr: Sql,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnMap {
    pub name: String,
    pub target_type: String,
    /// The expression inserted, already cast to the target type where needed.
    pub expr: String,
    /// The expression is a bare literal (`'active'`, `1`, `NULL`): the same for every row,
    /// and, when a string, of no type until the insert gives it the column's.
    #[serde(skip)]
    pub literal: bool,
    /// Known type of the source expression, when the checker could infer it.
    pub source_type: Option<String>,
    pub origin: Origin,
    /// Calls a volatile function: left out of verify's content comparison.
    pub volatile: bool,
    /// A value made fresh for every row by a known function: what verify checks of it instead.
    pub fresh: Option<FreshValue>,
    pub not_null: bool,
    /// Why PostgreSQL's assignment of the source type to the target type can lose data.
    pub lossy: Option<String>,
    /// The source is a V1 column that allows NULL, and the V2 column does not.
    pub null_into_not_null: bool,
}

/// A value a known function makes fresh for every row (a random uuid, the bcrypt hash of a
/// random password): verify can't recompute it; it checks that it is set, that no other row
/// of the table has it, and its form.
#[derive(Debug, Clone, Serialize)]
pub struct FreshValue {
    /// The call, as the model writes it: `_pgmig.new_password_hash(6)`.
    pub call: String,
    /// A regular expression every value matches (bcrypt's `$2a$06$…`); `None` when the
    /// column's type says it all.
    pub pattern: Option<String>,
    /// The form, for the reader: `bcrypt, cost 6`.
    pub form: String,
    /// A bcrypt hash's cost, when the call fixes it: what makes each row cost 2^cost work.
    pub bcrypt_cost: Option<u32>,
}

/// A V2 column a step does not write: its rows get the column's default, or NULL.
#[derive(Debug, Clone, Serialize)]
pub struct DefaultedColumn {
    pub name: String,
    pub target_type: String,
    /// The default expression; `None`: NULL, or an identity column's next value.
    pub default: Option<String>,
    /// The value is not repeatable (`now()`, `gen_random_uuid()`, a sequence): verify can't
    /// recompute it and checks what it can (present; inside migrate's time window for times).
    pub volatile: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Written in the model, at this line.
    Model(usize),
    /// Same-named column of the first `from` item.
    Implicit,
    /// The fresh key from the id map.
    NewKey,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub step: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SequenceSync {
    pub sequence: QualName,
    pub column: String,
    /// Every V2 (table, column) that draws from the sequence, this one included: migrate
    /// moves it past the largest value in any of them, verify checks each.
    pub drawn_by: Vec<(QualName, String)>,
}

impl SequenceSync {
    /// The sequence `table.column` draws from in V2, if any, with everything else drawing from it.
    pub fn of(v2: &crate::catalog::Catalog, table: &QualName, column: &str) -> Option<Self> {
        let sequence = v2.sequence_of(table, column)?.clone();
        Some(SequenceSync {
            drawn_by: v2.columns_drawing_from(&sequence),
            sequence,
            column: column.to_string(),
        })
    }
}

/// Text archives: `dir/<files.dir>/<file>.txt` per row group of each query.
#[derive(Debug, Clone, Serialize)]
pub struct Archives {
    pub dir: String,
    pub files: Vec<ArchiveFiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveFiles {
    pub dir: String,
    /// Returns `file` and `text`, ordered; V2 names qualified.
    pub query: String,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assertion {
    pub name: String,
    pub query: String,
    pub line: usize,
}

/// Reference rows of one V2 table, inserted before the steps when missing (matched by `key`).
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub table: QualName,
    /// Model line of the table's entry.
    pub line: usize,
    /// The natural key: UNIQUE (or the primary key) in V2.
    pub key: Vec<String>,
    /// The primary key (column, type), recorded for the rows inserted so rollback removes exactly those.
    pub primary_key: Vec<(String, String)>,
    /// The columns the rows give, in V2's order.
    pub columns: Vec<ReferenceColumn>,
    /// One SQL literal per column, cast to its type (`'teacher'::text`, `NULL::integer`).
    pub rows: Vec<Vec<String>>,
    /// V2 foreign keys pointing at this table: (child table, its columns, the columns here).
    /// Rollback keeps a reference row that a child row still uses.
    pub referenced_by: Vec<(QualName, Vec<String>, Vec<String>)>,
    /// Sequences the table's columns draw from (serial keys): saved and moved past the rows
    /// there before the inserts, moved past the rows given with their keys after them,
    /// restored by rollback.
    pub sequences: Vec<SequenceSync>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferenceColumn {
    pub name: String,
    /// A foreign key to another reference table: the value is the parent's natural key,
    /// looked up as (parent table, its natural key column, its referenced column).
    pub parent: Option<(QualName, String, String)>,
}

/// `--only`: the V1 rows of one table that root this migrate's wave.
#[derive(Debug, Clone, Serialize)]
pub struct OnlyRoots {
    /// The condition as given, for messages.
    pub text: String,
    /// The V1 table it reads, as the steps read it.
    pub table: QualName,
    /// The condition on that table's rows, under the alias `t`.
    pub condition: String,
}

/// A subset of a model's steps (`--entities`).
#[derive(Debug, Clone, Serialize)]
pub struct Subset {
    pub entities: Vec<String>,
    /// Steps left out that the subset's steps need: a migrate including them must be done.
    pub prerequisites: Vec<Dependency>,
    /// Steps left out that need the subset's steps: rollback refuses while they are migrated.
    pub dependents: Vec<String>,
    /// Every step of the model, in load order.
    pub all_steps: Vec<String>,
    /// The id maps of the steps left out that fill a table the subset fills too: their rows
    /// are migrated rows for verify, not rows beyond them. A prerequisite's map exists (it is
    /// done before the subset runs); another's exists once its part of the model is migrated.
    #[serde(skip)]
    pub other_maps: Vec<OtherMap>,
}

/// A left-out step's id map, for the table it fills: the map and the key columns it holds.
#[derive(Debug, Clone)]
pub struct OtherMap {
    pub table: QualName,
    pub map_table: QualName,
    pub key_columns: Vec<String>,
    pub prerequisite: bool,
}

/// `replace: [email]`: V2 rows of the step's table whose key values a migrated row has are
/// replaced; they and every row under them (V2 foreign keys, transitively) are copied to
/// backup tables in `_pgmig` and deleted, parents first copied, children first deleted.
#[derive(Debug, Clone, Serialize)]
pub struct Replace {
    pub line: usize,
    /// The matching key: V2 columns and the step's expressions filling them.
    pub columns: Vec<String>,
    pub exprs: Vec<String>,
    /// Per key column: a text column, matched lower-cased and trimmed on both sides.
    pub folded: Vec<bool>,
    /// The step's table first, then the tables under it, parents before children.
    pub tables: Vec<ReplacedTable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplacedTable {
    pub table: QualName,
    pub backup: QualName,
    pub primary_key: Vec<String>,
    /// Foreign keys to tables replaced before it: (parent backup, [(column here, parent column)]).
    pub parents: Vec<(QualName, Vec<(String, String)>)>,
    /// Restoring needs OVERRIDING SYSTEM VALUE (a GENERATED ALWAYS identity column).
    pub overriding: bool,
}

/// A `relink_json` rule, for precheck's count of the objects it rewrites.
#[derive(Debug, Clone, Serialize)]
pub struct Relink {
    pub line: usize,
    pub column: String,
    pub object: String,
    /// The source array, as jsonb (SQL over the step's aliases).
    pub source: String,
}
