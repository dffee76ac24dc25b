//! Catalog from a live database, through pg_catalog queries.
use super::Catalog;

/// Reads the given schemas (all non-system schemas when empty).
pub fn from_database(client: &mut postgres::Client, schemas: &[String]) -> Result<Catalog, postgres::Error> {
    let _ = (client, schemas);
    todo!("catalog::live")
}
