//! The NOTICE that ends a migrate step: the contract between the scripts emit writes and the
//! runner that reads them back ([`crate::run::progress`]). Both take its wording from here, so
//! a part one side adds is a part the other parses:
//!
//! ```text
//! step N/T name: A source rows, B filtered, C rejected, D migrated
//! step N/T name: A source rows, B filtered, C rejected, D migrated, E values repaired (_pgmig.changes)
//! ```

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
