//! Catalog from DDL files in `pg_dump --schema-only` style.
use super::{Catalog, Skipped};

/// A catalog read from DDL, with what the reader passed over.
#[derive(Debug, Clone)]
pub struct DdlLoad {
    pub catalog: Catalog,
    pub skipped: Skipped,
}

/// Reads DDL text; unqualified names land in `default_schema`.
pub fn from_ddl(sql: &str, default_schema: &str) -> Result<DdlLoad, String> {
    let _ = (sql, default_schema);
    todo!("catalog::ddl")
}
