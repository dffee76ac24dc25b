//! PLAN.md's window estimate: each script's time, step by step, as [`crate::estimate`] made it.

use crate::estimate::{approx, BCRYPT_SAMPLE, PROBE_RUNS, STATEMENT_TIMEOUT_MS};
use crate::plan::estimate::{ScriptSeconds, Window};
use crate::plan::Plan;

#[derive(Debug, Clone)]
pub struct WindowView {
    pub steps: Vec<WindowRow>,
    pub total: ScriptTimes,
    /// How this server's speed and bcrypt's cost were found, for the reader.
    pub measured: String,
    pub timeout_ms: u32,
    /// Hashes of a constant compile times bcrypt on.
    pub bcrypt_sample: i32,
    /// Runs of the probe compile times the server's speed on.
    pub probe_runs: usize,
}

#[derive(Debug, Clone)]
pub struct WindowRow {
    pub number: usize,
    pub name: String,
    pub rows: i64,
    pub rows_read: i64,
    pub times: ScriptTimes,
}

/// The four scripts' times as PLAN.md prints them.
#[derive(Debug, Clone)]
pub struct ScriptTimes {
    pub precheck: String,
    pub migrate: String,
    pub verify: String,
    pub rollback: String,
}

impl From<ScriptSeconds> for ScriptTimes {
    fn from(s: ScriptSeconds) -> Self {
        Self {
            precheck: approx(s.precheck),
            migrate: approx(s.migrate),
            verify: approx(s.verify),
            rollback: approx(s.rollback),
        }
    }
}

impl WindowView {
    /// `None` without a live V1 (PLAN.md then says why there is no estimate).
    pub fn of(plan: &Plan) -> Option<Self> {
        let window = plan.window.as_ref()?;
        Some(Self {
            steps: plan
                .steps
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let e = s.estimate.as_ref()?;
                    Some(WindowRow {
                        number: i + 1,
                        name: s.name.clone(),
                        rows: e.rows,
                        rows_read: e.rows_read,
                        times: e.seconds.into(),
                    })
                })
                .collect(),
            total: window.total.into(),
            measured: measured(window),
            timeout_ms: STATEMENT_TIMEOUT_MS,
            bcrypt_sample: BCRYPT_SAMPLE,
            probe_runs: PROBE_RUNS,
        })
    }
}

fn measured(w: &Window) -> String {
    let speed = format!(
        "this server ran compile's probe query at {:.2}× the speed of the server the per-row costs were calibrated on, and every figure but bcrypt's is scaled by that",
        w.speed
    );
    let bcrypt = match (w.hashes, w.bcrypt_measured) {
        (false, _) => String::new(),
        (true, Some(s)) => format!(
            "; a bcrypt hash (`_pgmig.new_password_hash`) took {:.1} ms at cost 6 on this server (the median of {BCRYPT_SAMPLE} hashes of a constant, each timed alone), doubled per cost step above 6, once per migrated row and hashing column",
            s * 1000.0
        ),
        (true, None) => "; bcrypt could not be timed (pgcrypto is not installed in V1's database yet): its cost is the calibration's, scaled like the rest".into(),
    };
    format!("{speed}{bcrypt}")
}
