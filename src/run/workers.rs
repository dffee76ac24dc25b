//! `pgmig run migrate --jobs N`: the batches of a batched step copied by N sessions at once.
//!
//! A batched migrate.sql closes each step with `CALL _pgmig.batches_<step>(finish => true)`:
//! the procedure claims the step's staged batches one at a time from its queue
//! (`FOR UPDATE SKIP LOCKED`), commits each with its checkpoint, then waits for the batches
//! other sessions hold and closes the step. While the runner's own session runs that call,
//! N - 1 helper sessions run the same procedure with `finish => false`: they claim batches
//! too and return when none is left. Helpers take no lock of their own: the runner's
//! session holds pgmig's advisory lock for the whole run (another `pgmig run` is still
//! refused), and the procedure refuses to copy when no run holds it.

use std::collections::BTreeMap;
use std::sync::mpsc;

use postgres::{CancelToken, Client, Config, NoTls, SimpleQueryMessage};

use super::conn::pin_search_path;
use super::error::describe_pg_error;
use super::progress::StepInfo;
use crate::step_contract::batches_call;

/// The helper sessions of one run.
pub(crate) struct Workers {
    jobs: usize,
    config: Config,
    /// Per batched step (from its marker): migrate.sql's call that copies its batches and
    /// closes it, and the call helpers make beside it.
    calls: BTreeMap<String, String>,
}

/// Whether a script has batches other sessions could copy: the migrate.sql of a batched model.
pub fn copies_batches(text: &str) -> bool {
    super::progress::scan(text)
        .iter()
        .any(|s| s.batches_procedure.is_some())
}

impl Workers {
    /// Workers for a script's `steps` with `jobs` sessions in all (the runner's own included).
    pub(crate) fn new(steps: &[StepInfo], jobs: usize, config: &Config) -> Workers {
        Workers {
            jobs,
            config: config.clone(),
            calls: steps
                .iter()
                .filter_map(|s| s.batches_procedure.as_deref())
                .map(|p| (batches_call(p, true), batches_call(p, false)))
                .collect(),
        }
    }

    /// The call helpers make for this statement, when it copies a step's batches.
    fn helper_call(&self, statement: &str) -> Option<&str> {
        self.calls
            .get(statement)
            .filter(|_| self.jobs > 1)
            .map(String::as_str)
    }

    /// Runs `statement` on `main`; when it copies a step's batches, N - 1 helper sessions
    /// (with `main`'s session settings: search path, timeouts, time zone…) copy batches
    /// beside it. The first session to fail stops the others (their batch under way is
    /// rolled back, the committed ones stay for the resume), and its error is the
    /// statement's: a batch that breaks a V2 constraint ends the run, whichever session
    /// claimed it. Helpers that could not connect are reported beside the result, and
    /// `main` copies alone.
    pub(crate) fn run(
        &self,
        main: &mut Client,
        statement: &str,
    ) -> (
        Result<Vec<SimpleQueryMessage>, postgres::Error>,
        Vec<String>,
    ) {
        let Some(call) = self.helper_call(statement) else {
            return (main.simple_query(statement), Vec::new());
        };
        let mut problems = Vec::new();
        let helpers = self.connect_helpers(main).unwrap_or_else(|e| {
            problems.push(format!("no helper sessions ({e}): one session copies"));
            Vec::new()
        });
        let tokens: Vec<CancelToken> = std::iter::once(main.cancel_token())
            .chain(helpers.iter().map(Client::cancel_token))
            .collect();
        let (done, finished) = mpsc::channel();
        let result = std::thread::scope(|scope| {
            let to_main = done.clone();
            scope.spawn(move || {
                let _ = to_main.send((0, main.simple_query(statement)));
            });
            for (n, mut helper) in helpers.into_iter().enumerate() {
                let done = done.clone();
                scope.spawn(move || {
                    let _ = done.send((n + 1, helper.simple_query(call)));
                });
            }
            drop(done);
            let mut running: Vec<Option<CancelToken>> = tokens.into_iter().map(Some).collect();
            let mut main_result = Vec::new();
            let mut cause = None;
            for (n, result) in finished {
                running[n] = None;
                match result {
                    Err(e) if cause.is_none() => {
                        for token in running.iter().flatten() {
                            let _ = token.cancel_query(NoTls);
                        }
                        cause = Some(e);
                    }
                    // Cancelled because another failed: the cause is that one's error.
                    Err(_) => {}
                    Ok(msgs) if n == 0 => main_result = msgs,
                    Ok(_) => {}
                }
            }
            cause.map_or(Ok(main_result), Err)
        });
        (result, problems)
    }

    /// N - 1 sessions set as `main` is: every setting its session changed that a session may
    /// set (`SET` in the script: search_path, lock_timeout, TimeZone, pgmig.*…).
    fn connect_helpers(&self, main: &mut Client) -> Result<Vec<Client>, String> {
        let settings: Vec<(String, String)> = main
            .query(
                "SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings
                  WHERE source = 'session' AND context IN ('user', 'superuser') ORDER BY name",
                &[],
            )
            .map_err(|e| describe_pg_error(&e))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        (1..self.jobs)
            .map(|_| {
                let mut client = self
                    .config
                    .connect(NoTls)
                    .map_err(|e| describe_pg_error(&e))?;
                // pgmig's own queries (the settings below) under the pinned path, as on
                // the runner's connection; then the script's own settings, its path included.
                pin_search_path(&mut client).map_err(|e| e.to_string())?;
                for (name, value) in &settings {
                    client
                        .execute(
                            "SELECT pg_catalog.set_config($1, $2, false)",
                            &[name, value],
                        )
                        .map_err(|e| format!("setting {name}: {}", describe_pg_error(&e)))?;
                }
                Ok(client)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_join_the_batch_copying_calls_the_markers_name() {
        let step = |name: &str, procedure: Option<&str>| StepInfo {
            number: 1,
            total: 2,
            name: name.into(),
            model: "m".into(),
            first_line: 1,
            end_line: 2,
            batched: procedure.is_some(),
            from: "FROM v1.t".into(),
            map_table: None,
            batches_procedure: procedure.map(String::from),
            prerequisites: Vec::new(),
        };
        let steps = [
            step("a", Some("_pgmig.batches_a")),
            step("b c", Some("_pgmig.\"batches_b c\"")),
            step("d", None),
        ];
        let config: Config = "host=/tmp dbname=x".parse().unwrap();
        let w = Workers::new(&steps, 3, &config);
        assert_eq!(
            w.helper_call("CALL _pgmig.batches_a(finish => true);"),
            Some("CALL _pgmig.batches_a(finish => false);")
        );
        assert_eq!(
            w.helper_call("CALL _pgmig.\"batches_b c\"(finish => true);"),
            Some("CALL _pgmig.\"batches_b c\"(finish => false);")
        );
        assert_eq!(
            w.helper_call("CALL _pgmig.batches_a(finish => false);"),
            None
        );
        assert_eq!(w.helper_call("CALL _pgmig.migrate_a(:batch_size);"), None);
        let one = Workers::new(&steps, 1, &config);
        assert_eq!(
            one.helper_call("CALL _pgmig.batches_a(finish => true);"),
            None
        );
    }
}
