//! `pgmig init`: a draft model from two schemas.
//!
//! ```text
//! naming    names normalized (snake_case, lower, singular) so conventions meet
//! matching  V2 names paired with V1 names: same, normalized, or similar (scored)
//! convert   the conversion from a V1 column's type to its V2 column's type
//! order     steps parents first, for the reader
//! draft     the decisions: sources, keys, column expressions, TODOs, dropped data
//! render    the decisions as YAML text
//! ```

pub mod convert;
pub mod draft;
pub mod matching;
pub mod naming;
pub mod order;
pub mod render;

use std::collections::BTreeSet;

use crate::catalog::Catalog;
use crate::error::CompileError;
use crate::source::{load_schema, SchemaInput, SchemaNotes};

pub use draft::Draft;

/// What `pgmig init` is given.
#[derive(Debug, Clone)]
pub struct Options {
    pub v1: SchemaInput,
    pub v2: SchemaInput,
    pub source_schema: String,
    pub target_schema: String,
    /// V1 on another server: the draft reads it through postgres_fdw under this name.
    pub source_server: Option<String>,
    /// The model's `name`.
    pub name: String,
}

/// The draft, as decisions and as the YAML text to write.
#[derive(Debug, Clone)]
pub struct Output {
    pub draft: Draft,
    pub yaml: String,
    /// What the schema readers could not read (V1, V2).
    pub schemas: [SchemaNotes; 2],
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Schema(#[from] CompileError),
    #[error("{which} has no table in schema `{schema}`; its tables are in: {found}")]
    NoTables {
        which: &'static str,
        schema: String,
        found: String,
    },
    #[error(
        "V1 (schema `{source_schema}`: {v1}) and V2 (schema `{target_schema}`: {v2}) have no table in common, \
         not even by a similar name: there is nothing to draft. Check --v1/--v2 and --source-schema/--target-schema"
    )]
    NothingInCommon {
        source_schema: String,
        target_schema: String,
        v1: String,
        v2: String,
    },
}

impl InitError {
    /// 1 when a database could not be reached or read, 2 for bad input.
    pub fn exit_code(&self) -> i32 {
        match self {
            InitError::Schema(e) => e.exit_code(),
            _ => 2,
        }
    }
}

/// How a schema input is named in the draft's header: a file's name, never a URL (it may
/// hold a password).
pub fn label(input: &SchemaInput) -> String {
    match input {
        SchemaInput::Ddl(path) | SchemaInput::Sqlite(path) => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        SchemaInput::Database(_) => "a live database".into(),
    }
}

/// Reads both schemas and drafts the model.
pub fn init(opts: &Options) -> Result<Output, InitError> {
    let (v1, v1_notes) = load_schema("V1", &opts.v1, &opts.source_schema)?;
    let (v2, v2_notes) = load_schema("V2", &opts.v2, &opts.target_schema)?;
    let output = draft_from(&v1, &v2, opts, &label(&opts.v1), &label(&opts.v2))?;
    Ok(Output {
        schemas: [v1_notes, v2_notes],
        ..output
    })
}

/// Drafts the model from two loaded catalogs.
pub fn draft_from(
    v1: &Catalog,
    v2: &Catalog,
    opts: &Options,
    v1_label: &str,
    v2_label: &str,
) -> Result<Output, InitError> {
    has_tables("V1", v1, &opts.source_schema)?;
    has_tables("V2", v2, &opts.target_schema)?;
    let mut draft = draft::build(v1, v2, &opts.source_schema, &opts.target_schema);
    draft.source_server = opts.source_server.clone();
    if draft.steps.iter().all(|s| s.source.is_none()) {
        let list = |c: &Catalog, s: &str| {
            let names: Vec<String> = c
                .tables_in(s)
                .filter(|t| t.partition_of.is_none())
                .map(|t| t.name.name.clone())
                .collect();
            names.join(", ")
        };
        return Err(InitError::NothingInCommon {
            source_schema: opts.source_schema.clone(),
            target_schema: opts.target_schema.clone(),
            v1: list(v1, &opts.source_schema),
            v2: list(v2, &opts.target_schema),
        });
    }
    let yaml = render::render(&draft, &opts.name, v1_label, v2_label);
    Ok(Output {
        draft,
        yaml,
        schemas: Default::default(),
    })
}

fn has_tables(which: &'static str, c: &Catalog, schema: &str) -> Result<(), InitError> {
    if c.tables_in(schema).next().is_some() {
        return Ok(());
    }
    let schemas: BTreeSet<&str> = c.tables.keys().map(|k| k.schema.as_str()).collect();
    let found = if schemas.is_empty() {
        "(none)".to_string()
    } else {
        schemas.into_iter().collect::<Vec<_>>().join(", ")
    };
    Err(InitError::NoTables {
        which,
        schema: schema.to_string(),
        found,
    })
}
