//! `--check-db` for an in-place model: V1's DDL is loaded into the model's schema of the
//! scratch database, each changed column gets its new column as migrate adds it, and
//! PostgreSQL prepares the UPDATE that fills it. A conversion it rejects (a `using` calling
//! a function that does not exist, a cast it has not) is an error at the model line behind
//! it; all of them at once, and the scratch database is left as it was.

use std::path::Path;

use super::{load_all, pg_message, pin_session, rolled_back, CheckError};
use crate::catalog::quote_ident;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile};
use crate::error::CompileError;
use crate::inplace::{InPlace, InPlaceModel};

/// Prepares every column conversion of `migration` in the scratch database at `url`, V1's
/// DDL loaded there (V2's tables are the same tables: they are not loaded).
pub fn check_in_place(
    migration: &InPlace,
    model: &InPlaceModel,
    source: &SourceFile,
    url: &str,
    v1_ddl: &Path,
) -> Result<(), CompileError> {
    rolled_back(url, "--check-db", |tx| {
        pin_session(tx, &migration.time_zone)?;
        load_all(tx, &[("V1", v1_ddl, &migration.schema)])?;
        let pg = |e: postgres::Error| CheckError::Database(pg_message(&e));
        let mut errors = Diagnostics::default();
        for t in &migration.tables {
            for c in &t.types {
                let temp = quote_ident(&format!("pgmig_new_{}", c.column));
                tx.batch_execute("SAVEPOINT conversion").map_err(pg)?;
                let prepared = tx
                    .batch_execute(&format!(
                        "ALTER TABLE {} ADD COLUMN {temp} {}",
                        t.name, c.new_type
                    ))
                    .and_then(|()| {
                        tx.prepare(&format!(
                            "UPDATE {} AS t SET {temp} = {}",
                            t.name,
                            c.conversion("t")
                        ))
                    });
                match prepared {
                    Ok(_) => tx
                        .batch_execute("RELEASE SAVEPOINT conversion")
                        .map_err(pg)?,
                    Err(e) if e.as_db_error().is_some() => {
                        tx.batch_execute("ROLLBACK TO SAVEPOINT conversion")
                            .map_err(pg)?;
                        let key = format!("{}.{}", t.name.name, c.column);
                        let how = if c.using.is_some() {
                            "the `using`"
                        } else {
                            "the cast"
                        };
                        let at = model
                            .using
                            .iter()
                            .find(|(k, _)| k.as_str() == key)
                            .and_then(|(_, e)| crate::model::pos_of(e))
                            .or_else(|| model.in_place_pos(&source.text));
                        errors.push(
                            Diagnostic::error(
                                format!(
                                    "PostgreSQL rejects {how} of {key} ({} → {}): {}",
                                    c.old_type,
                                    c.new_type,
                                    pg_message(&e)
                                ),
                                at,
                            )
                            .with_hint(
                                e.as_db_error().and_then(|d| d.hint()).map_or_else(
                                    || {
                                        "fix the conversion: this is what migrate would fail on"
                                            .to_string()
                                    },
                                    |h| format!("PostgreSQL: {h}"),
                                ),
                            ),
                        );
                    }
                    Err(e) => return Err(pg(e)),
                }
            }
        }
        if errors.has_errors() {
            return Err(CheckError::Model(errors));
        }
        Ok(())
    })
    .map_err(|e| e.into_compile(source))
}
