//! The queries of the in-place scripts' checks, as data: precheck's findings, verify's
//! checks and rollback's counts of rows written since migrate. templates/inplace/query.sql
//! prints each (names quoted and texts made literals there); a conversion is an SQL
//! expression over an alias (see [`super::TypeChange::conversion`]).

/// A check: its label, and the query whose rows are its findings (precheck: one text column
/// `k`, the sample; verify and rollback: counted).
#[derive(Debug, Clone)]
pub struct Check {
    /// The label of its NOTICE, and of the comment above it.
    pub notice: String,
    pub comment: String,
    pub query: Query,
}

/// One column of a key joining a table's row (by the alias the query gives it) to its row
/// in the backup `bk`: through the conversion of the backed-up value when the key column's
/// type changes.
#[derive(Debug, Clone)]
pub struct KeyMatch {
    pub column: String,
    /// The conversion of `bk.column`, when the swap changes its type.
    pub converted: Option<String>,
}

/// A changed column of a table, for the catalog queries' `VALUES` lists.
#[derive(Debug, Clone)]
pub struct TableColumn {
    pub table: String,
    pub column: String,
}

/// A constraint, an index or a trigger of a table, by name.
#[derive(Debug, Clone)]
pub struct TableObject {
    pub table: String,
    pub name: String,
}

/// A column read through an alias as the swap would hold it: converted when its type
/// changes, NULL when its value does not convert (precheck counts those apart).
#[derive(Debug, Clone)]
pub struct ConvertedValue {
    pub alias: &'static str,
    pub column: String,
    pub conversion: Option<Conversion>,
}

/// A type change's conversion of a column read through its alias, and precheck's helper
/// telling whether its value converts.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub helper: String,
    pub expression: String,
}

/// A child's value and its parent's, both converted, for an orphan check.
#[derive(Debug, Clone)]
pub struct ValueMatch {
    pub parent: ConvertedValue,
    pub child: ConvertedValue,
}

/// A foreign key column and the parent column it references.
#[derive(Debug, Clone)]
pub struct ColumnPair {
    pub column: String,
    pub referenced: String,
}

#[derive(Debug, Clone)]
pub enum Query {
    /// precheck: rows NULL in a column V2 makes NOT NULL, by their key (`key`, V1's).
    NullIntoNotNull {
        table: String,
        key: Vec<String>,
        column: String,
    },
    /// precheck: rows whose value does not convert (`helper` says whether it does).
    NotConverting {
        table: String,
        key: Vec<String>,
        column: String,
        helper: String,
    },
    /// precheck: duplicates of a key V2 re-creates, over the converted values.
    DuplicateKeys {
        table: String,
        values: Vec<ConvertedValue>,
    },
    /// precheck: rows of a foreign key V2 re-creates whose converted value has no parent
    /// (by their key, or their values when the table has none).
    OrphansAfterConversion {
        table: String,
        key: Vec<String>,
        columns: Vec<String>,
        converted: Vec<ConvertedValue>,
        parent: String,
        matches: Vec<ValueMatch>,
    },
    /// precheck: views that read a changed column.
    ViewsOnChanged { changed: Vec<TableColumn> },
    /// precheck: objects that hang on a changed column or on a key or index the swap drops,
    /// but those the swap drops (`known`) and the fill's sync triggers (`own_triggers`).
    ObjectsOnChanged {
        changed: Vec<TableColumn>,
        known: Vec<TableObject>,
        own_triggers: Vec<TableObject>,
    },
    /// precheck: the column privileges of the changed columns (`GRANT … (column)`), which
    /// the swap grants again on the new columns (templates/inplace/column_grants.sql).
    ColumnGrantsCarried { changed: Vec<TableColumn> },
    /// precheck: column privileges of the changed columns whose grantor the session's role
    /// cannot become: the swap grants each again as its grantor, through SET ROLE.
    GrantorsOutOfReach { changed: Vec<TableColumn> },
    /// verify: the column privileges migrate's swap recorded in `_pgmig.column_grants` that
    /// the migrated columns do not hold.
    ColumnGrantsMissing { model: String },
    /// verify: backed-up rows whose converted original differs from the value (compared as
    /// text, bytewise), or that are gone.
    DiffersFromBackup {
        table: String,
        backup: String,
        key: Vec<KeyMatch>,
        column: String,
        converted: String,
        new_type: String,
    },
    /// verify: rows with no parent under a foreign key.
    Orphans {
        table: String,
        parent: String,
        columns: Vec<ColumnPair>,
    },
    /// rollback: rows with no backup, or a value other than the backup's converted.
    ChangedSinceMigrate {
        table: String,
        backup: String,
        key: Vec<KeyMatch>,
        column: String,
        converted: String,
    },
    /// verify: constraints of `table` left NOT VALID, but those V2 declares so.
    NotValidated {
        table: String,
        declared: Vec<String>,
    },
    /// verify's shape checks: the differences between V2's rows of `table` and pg_catalog's
    /// (templates/inplace/shape.sql reads these).
    Differences { table: String, shape: Shape },
}

/// V2's columns, constraints or indexes of a table, as verify expects pg_catalog to show
/// them.
#[derive(Debug, Clone)]
pub enum Shape {
    Columns(Vec<ExpectedColumn>),
    Constraints(Vec<ExpectedConstraint>),
    Indexes(Vec<ExpectedIndex>),
}

/// A column: its type and default as format_type and pg_get_expr print them.
#[derive(Debug, Clone)]
pub struct ExpectedColumn {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
}

/// A constraint as pg_constraint has it: `kind` its contype (`p`, `u`, `c`, `f`), its
/// columns (none for a CHECK), and a foreign key's parent, parent columns and actions
/// (confdeltype, confupdtype).
#[derive(Debug, Clone)]
pub struct ExpectedConstraint {
    pub name: String,
    pub kind: &'static str,
    pub columns: Vec<String>,
    pub references: Option<String>,
    pub referenced_columns: Vec<String>,
    pub on_delete: Option<&'static str>,
    pub on_update: Option<&'static str>,
    pub deferrable: bool,
}

/// An index other than a constraint's: UNIQUE or not, and its access method.
#[derive(Debug, Clone)]
pub struct ExpectedIndex {
    pub name: String,
    pub unique: bool,
    pub method: String,
}
