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

/// A child's value and its parent's, both converted, for an orphan check.
#[derive(Debug, Clone)]
pub struct ValueMatch {
    pub parent: String,
    pub child: String,
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
    DuplicateKeys { table: String, values: Vec<String> },
    /// precheck: rows of a foreign key V2 re-creates whose converted value has no parent
    /// (by their key, or their values when the table has none).
    OrphansAfterConversion {
        table: String,
        key: Vec<String>,
        columns: Vec<String>,
        converted: Vec<String>,
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
    /// verify's shape checks: the differences between V2's rows (already printed by
    /// [`super::view`]'s catalog readers) and pg_catalog's.
    Differences { expected: String, actual: String },
}
