//! What the window estimate (crate::estimate) attaches to a plan: seconds per script, per
//! step and in all. Here, beside the plan that holds them, so the estimate reads the plan and
//! the plan does not read the estimate.

use serde::Serialize;

/// Seconds one script spends, for each of the four.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ScriptSeconds {
    pub precheck: f64,
    pub migrate: f64,
    pub verify: f64,
    pub rollback: f64,
}

impl ScriptSeconds {
    pub(crate) fn scaled(self, factor: f64) -> Self {
        Self {
            precheck: self.precheck * factor,
            migrate: self.migrate * factor,
            verify: self.verify * factor,
            rollback: self.rollback * factor,
        }
    }

    pub(crate) fn plus(self, other: Self) -> Self {
        Self {
            precheck: self.precheck + other.precheck,
            migrate: self.migrate + other.migrate,
            verify: self.verify + other.verify,
            rollback: self.rollback + other.rollback,
        }
    }
}

/// One step's share of the window.
#[derive(Debug, Clone, Serialize)]
pub struct StepEstimate {
    /// The rows it writes, by V1's statistics.
    pub rows: i64,
    /// The rows of the V1 tables it reads.
    pub rows_read: i64,
    /// Bcrypt hashes migrate computes for it (rows times its hashing columns).
    pub hashes: i64,
    pub seconds: ScriptSeconds,
}

/// The whole window, and what it was measured from.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub total: ScriptSeconds,
    /// This server's speed now against the calibration's (2: it ran the probe twice as fast).
    pub speed: f64,
    /// One bcrypt hash at cost 6 on this server, in seconds: `None` when no step hashes, or
    /// pgcrypto is not installed in V1's database (then the calibration's figure is used).
    pub bcrypt_measured: Option<f64>,
    /// Whether any step hashes.
    pub hashes: bool,
}
