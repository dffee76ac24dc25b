//! The contract between the migrate scripts emit writes and the runner that reads them back
//! ([`crate::run::progress`]): a marker line naming each step, and the NOTICE that ends it.
//! Both sides take the wording from here, so a part one side adds is a part the other parses.
//!
//! ```text
//! -- pgmig:step {"number":2,"total":6,"model":"workout","name":"workout_weeks","batched":true,"from":"FROM …","map_table":"_pgmig.map_workout_weeks","batches_procedure":"_pgmig.batches_workout_weeks","prerequisites":["workout_plans"]}
//! …the step's statements…
//! -- pgmig:steps-end
//! ```
//!
//! and, at the end of each step:
//!
//! ```text
//! step N/T name: A source rows, B filtered, C rejected, D migrated
//! step N/T name: A source rows, B filtered, C rejected, D migrated, E values repaired (_pgmig.changes)
//! ```

use serde::{Deserialize, Serialize};

/// What the runner needs to know of a step before it runs: written by emit as one JSON line
/// in an SQL comment (JSON escapes every line break, so no name or clause can end the
/// comment), read back by [`parse_marker`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMarker {
    pub number: usize,
    pub total: usize,
    pub model: String,
    /// The step's name in `_pgmig.log` and in its NOTICEs.
    pub name: String,
    pub batched: bool,
    /// The clause the step's source rows are counted over (`FROM …`).
    pub from: String,
    /// Batched mode: the id map table, where the batch numbers live.
    pub map_table: Option<String>,
    /// Batched mode: the procedure copying the step's staged batches; the script calls it
    /// as [`batches_call`] `(…, true)` and other sessions may join with `(…, false)`.
    #[serde(default)]
    pub batches_procedure: Option<String>,
    /// The earlier steps whose committed rows this step needs (its id-map joins, foreign
    /// keys, V2 reads, shared target or sequence): the others could run beside it.
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

const STEP_PREFIX: &str = "-- pgmig:step ";

/// The line after the last step of a migrate script.
pub const STEPS_END: &str = "-- pgmig:steps-end";

/// The statement calling a step's batch-copying procedure: `finish` in migrate.sql's own
/// session (it waits for the batches others hold, then closes the step), not in a session
/// that joins it.
pub fn batches_call(procedure: &str, finish: bool) -> String {
    format!("CALL {procedure}(finish => {finish});")
}

/// The marker line of a step.
pub fn marker_line(marker: &StepMarker) -> String {
    let json = serde_json::to_string(marker).expect("a step marker serializes");
    format!("{STEP_PREFIX}{json}")
}

/// The step a script line marks, if it is a marker line.
pub fn parse_marker(line: &str) -> Option<StepMarker> {
    serde_json::from_str(line.strip_prefix(STEP_PREFIX)?).ok()
}

/// The counts every finished step reports, in order: the step's PL/pgSQL variable and its label.
const COUNTS: [(&str, &str); 4] = [
    ("n_in", "source rows"),
    ("n_filtered", "filtered"),
    ("n_rejected", "rejected"),
    ("n_out", "migrated"),
];

/// The fifth part, for a step with repairs: how many values they changed.
const REPAIRED: (&str, &str) = ("n_repaired_all", "values repaired (_pgmig.changes)");

/// A finished step's `RAISE NOTICE` after `step N/T name: `: the format and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct DoneNotice {
    pub format: String,
    pub args: String,
}

/// The notice of a step that reports its repairs (`with_repairs`) or only the four counts.
pub fn done_notice(with_repairs: bool) -> DoneNotice {
    let parts: Vec<(&str, &str)> = COUNTS
        .iter()
        .copied()
        .chain(with_repairs.then_some(REPAIRED))
        .collect();
    DoneNotice {
        format: parts
            .iter()
            .map(|(_, label)| format!("% {label}"))
            .collect::<Vec<_>>()
            .join(", "),
        args: parts
            .iter()
            .map(|(var, _)| *var)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The four counts of a finished step's notice text after `step N/T name: ` (the repaired
/// values, when there, are read and checked but not returned: `_pgmig.log` has them).
pub fn parse_done(what: &str) -> Option<[i64; 4]> {
    let parts: Vec<&str> = what.split(", ").collect();
    let labels: Vec<&str> = COUNTS.iter().map(|(_, label)| *label).collect();
    let (counts, rest) = match parts.len() {
        4 => (&parts[..], None),
        5 => (&parts[..4], Some(parts[4])),
        _ => return None,
    };
    if let Some(repaired) = rest {
        number_before(repaired, REPAIRED.1)?;
    }
    let mut out = [0i64; 4];
    for (i, (part, label)) in counts.iter().zip(labels).enumerate() {
        out[i] = number_before(part, label)?;
    }
    Some(out)
}

/// `12` of `"12 migrated"` with label `migrated`.
fn number_before(part: &str, label: &str) -> Option<i64> {
    part.strip_suffix(label)?.strip_suffix(' ')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_line_is_one_line_and_reads_back() {
        let marker = StepMarker {
            number: 2,
            total: 3,
            model: "m'x".into(),
            name: "a\nstep -- */ $$".into(),
            batched: true,
            from: "FROM v1.t\n  LEFT JOIN _pgmig.map_t AS m ON true\r".into(),
            map_table: Some("_pgmig.\"map t\"".into()),
            batches_procedure: Some("_pgmig.\"batches t\"".into()),
            prerequisites: vec!["a\nstep".into()],
        };
        let line = marker_line(&marker);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.contains('\r'), "{line}");
        assert_eq!(parse_marker(&line), Some(marker));
        assert_eq!(parse_marker("-- Step 1/3: public.t"), None);
        assert_eq!(parse_marker("-- pgmig:step {not json"), None);
    }

    #[test]
    fn what_emit_writes_the_runner_reads() {
        for with_repairs in [false, true] {
            let n = done_notice(with_repairs);
            let values = ["3", "1", "0", "2", "7"];
            let mut text = n.format.clone();
            for v in &values[..n.args.split(", ").count()] {
                text = text.replacen('%', v, 1);
            }
            assert_eq!(parse_done(&text), Some([3, 1, 0, 2]), "{text}");
        }
        assert_eq!(
            done_notice(true).format,
            "% source rows, % filtered, % rejected, % migrated, % values repaired (_pgmig.changes)"
        );
        assert_eq!(
            done_notice(true).args,
            "n_in, n_filtered, n_rejected, n_out, n_repaired_all"
        );
        assert_eq!(
            parse_done("1 source rows, x filtered, 0 rejected, 1 migrated"),
            None
        );
        assert_eq!(
            parse_done("1 source rows, 0 filtered, 0 rejected, 1 migrated, 2 oops"),
            None
        );
    }
}
