//! Connecting to a schema given as a database, and telling two databases apart.

use super::SchemaInput;
use crate::error::CompileError;

/// The scripts run in one database and, without `source: {server: …}`, read V1 there: a V1
/// and a V2 given as two different databases would be compiled as if they were one, and
/// the scripts would read whatever V2's database holds under V1's names. Two connection
/// strings are the same database when the server (its port and start time) and the
/// database (name and oid) are.
pub(crate) fn one_database(v1: &SchemaInput, v2: &SchemaInput) -> Result<(), CompileError> {
    let (SchemaInput::Database(v1_url), SchemaInput::Database(v2_url)) = (v1, v2) else {
        return Ok(());
    };
    if v1_url == v2_url {
        return Ok(());
    }
    // (database, its oid, the server: its start time and port).
    let identity = |which: &'static str,
                    url: &str|
     -> Result<(String, u32, String), CompileError> {
        let row = connect(which, url)?
            .query_one(
                "SELECT pg_catalog.current_database()::text,
                        (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()),
                        pg_catalog.format('%s:%s', pg_catalog.pg_postmaster_start_time(), pg_catalog.current_setting('port'))",
                &[],
            )
            .map_err(|e| database_error(which, e))?;
        Ok((row.get(0), row.get(1), row.get(2)))
    };
    let v1_identity = identity("V1", v1_url)?;
    let v2_identity = identity("V2", v2_url)?;
    if v1_identity == v2_identity {
        return Ok(());
    }
    let ((v1_name, _, v1_server), (v2_name, _, v2_server)) = (&v1_identity, &v2_identity);
    let servers = if v1_server == v2_server {
        " on one server"
    } else {
        " on two servers"
    };
    Err(CompileError::Sources(format!(
        "--v1 is database {v1_name} and --v2 is database {v2_name}{servers}, but the model reads V1 in the database it migrates: the scripts would read V2's database as V1\n  help: load V1 into a schema of V2's database (`source: {{schema: v1}}`) and compile against that, or read V1 from its server (`source: {{server: NAME, schema: …}}`)"
    )))
}

pub(crate) fn connect(which: &'static str, url: &str) -> Result<postgres::Client, CompileError> {
    let config = crate::run::parse_conninfo(url).map_err(|e| CompileError::Schema {
        which,
        message: format!("invalid connection string: {e}"),
    })?;
    config
        .connect(postgres::NoTls)
        .map_err(|e| database_error(which, e))
}

pub(crate) fn database_error(which: &'static str, e: postgres::Error) -> CompileError {
    CompileError::Database {
        which,
        message: e.to_string(),
    }
}
