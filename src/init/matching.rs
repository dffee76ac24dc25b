//! Pairing V2 names with V1 names: same name, same normalized name, then likely renames by
//! similarity, best first. Used for tables and for the columns of a table pair alike.

use super::naming::words;

/// How a V2 name found its V1 name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum How {
    /// Identical names.
    Same,
    /// Equal once normalized (`CustomerId` ↔ `customer_id`, `Customer` ↔ `customers`).
    Normalized,
    /// A likely rename; the similarity of the normalized names, 0..1.
    Similar(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub target: usize,
    pub source: usize,
    pub how: How,
}

/// Similarity of two normalized names, 0..1: Jaro-Winkler, or — when all the words of one
/// name are a leading or trailing run of the other's (`reps_min` in `target_reps_min`) —
/// 0.8 plus a share of how much of the longer name they cover.
pub fn similarity(a: &str, b: &str) -> f64 {
    let jw = strsim::jaro_winkler(a, b);
    let (wa, wb) = (words(a), words(b));
    let (short, long) = if wa.len() <= wb.len() {
        (wa, wb)
    } else {
        (wb, wa)
    };
    if short.is_empty() || short.len() == long.len() {
        return jw;
    }
    let n = short.len();
    let contained = long[..n] == short[..] || long[long.len() - n..] == short[..];
    if contained {
        let covered: usize = short.iter().map(|w| w.len()).sum();
        let total: usize = long.iter().map(|w| w.len()).sum();
        jw.max(0.8 + 0.2 * covered as f64 / total as f64)
    } else {
        jw
    }
}

/// Pairs `targets` with `sources`, each used at most once. `key` normalizes a name;
/// `eligible(t, s, renamed)` may veto a pair (types that can't convert; `renamed` for a
/// similarity guess, which deserves less trust); renames need `threshold`.
/// Deterministic: ties go to the earlier target, then the earlier source.
pub fn match_names(
    targets: &[&str],
    sources: &[&str],
    key: impl Fn(&str) -> String,
    eligible: impl Fn(usize, usize, bool) -> bool,
    threshold: f64,
) -> Vec<Pair> {
    let tkeys: Vec<String> = targets.iter().map(|t| key(t)).collect();
    let skeys: Vec<String> = sources.iter().map(|s| key(s)).collect();
    let mut pairs = Vec::new();
    let mut t_used = vec![false; targets.len()];
    let mut s_used = vec![false; sources.len()];
    let take = |t: usize,
                s: usize,
                how: How,
                pairs: &mut Vec<Pair>,
                t_used: &mut Vec<bool>,
                s_used: &mut Vec<bool>| {
        t_used[t] = true;
        s_used[s] = true;
        pairs.push(Pair {
            target: t,
            source: s,
            how,
        });
    };
    for (t, target) in targets.iter().enumerate() {
        if let Some(s) = (0..sources.len()).find(|&s| !s_used[s] && &sources[s] == target) {
            take(t, s, How::Same, &mut pairs, &mut t_used, &mut s_used);
        }
    }
    for t in 0..targets.len() {
        if t_used[t] {
            continue;
        }
        if let Some(s) = (0..sources.len())
            .find(|&s| !s_used[s] && skeys[s] == tkeys[t] && eligible(t, s, false))
        {
            take(t, s, How::Normalized, &mut pairs, &mut t_used, &mut s_used);
        }
    }
    let mut candidates = Vec::new();
    for t in (0..targets.len()).filter(|&t| !t_used[t]) {
        for s in (0..sources.len()).filter(|&s| !s_used[s]) {
            let score = similarity(&tkeys[t], &skeys[s]);
            if score >= threshold && eligible(t, s, true) {
                candidates.push((score, t, s));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (score, t, s) in candidates {
        if !t_used[t] && !s_used[s] {
            take(
                t,
                s,
                How::Similar(score),
                &mut pairs,
                &mut t_used,
                &mut s_used,
            );
        }
    }
    pairs.sort_by_key(|p| p.target);
    pairs
}

/// The closest of `sources` to `target` at or above `floor`, for a hint in a TODO.
pub fn closest<'a>(
    target: &str,
    sources: &[&'a str],
    key: impl Fn(&str) -> String,
    floor: f64,
) -> Option<(&'a str, f64)> {
    let tk = key(target);
    sources
        .iter()
        .map(|s| (*s, similarity(&tk, &key(s))))
        .filter(|(_, score)| *score >= floor)
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
}

#[cfg(test)]
mod tests {
    use super::super::naming::{column_key, table_key};
    use super::*;

    fn names(pairs: &[Pair], t: &[&str], s: &[&str]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|p| (t[p.target].to_string(), s[p.source].to_string()))
            .collect()
    }

    #[test]
    fn tables_meet_across_naming_conventions() {
        let v2 = ["customers", "order_items", "Product", "audit"];
        let v1 = ["OrderItem", "Customer", "products", "invoices"];
        let pairs = match_names(&v2, &v1, table_key, |_, _, _| true, 0.85);
        assert_eq!(
            names(&pairs, &v2, &v1),
            [
                ("customers", "Customer"),
                ("order_items", "OrderItem"),
                ("Product", "products")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(pairs.iter().all(|p| p.how == How::Normalized));
    }

    #[test]
    fn same_name_wins_over_normalized() {
        let v2 = ["customer_id", "CustomerId"];
        let v1 = ["CustomerId"];
        let pairs = match_names(&v2, &v1, column_key, |_, _, _| true, 0.8);
        assert_eq!(
            pairs,
            vec![Pair {
                target: 1,
                source: 0,
                how: How::Same
            }]
        );
    }

    #[test]
    fn renames_are_proposed_best_first_with_their_score() {
        let v2 = [
            "id",
            "target_reps_min",
            "target_reps_max",
            "target_weight",
            "day_id",
        ];
        let v1 = ["id", "reps_min", "reps_max", "weight", "day_label"];
        // day_label is text, day_id uuid: vetoed.
        let pairs = match_names(&v2, &v1, column_key, |t, s, _| !(t == 4 && s == 4), 0.8);
        let found = names(&pairs, &v2, &v1);
        assert_eq!(
            found[1..],
            [
                ("target_reps_min", "reps_min"),
                ("target_reps_max", "reps_max"),
                ("target_weight", "weight")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let How::Similar(score) = pairs[1].how else {
            panic!("{pairs:?}")
        };
        assert!(score > 0.9 && score < 1.0, "{score}");
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn strangers_are_not_paired() {
        let pairs = match_names(
            &["workout_weeks", "invoices"],
            &["exercises", "users"],
            table_key,
            |_, _, _| true,
            0.85,
        );
        assert!(pairs.is_empty(), "{pairs:?}");
    }

    #[test]
    fn similarity_of_contained_names() {
        assert!(similarity("target_weight", "weight") >= 0.88);
        assert!(
            similarity("reps_min", "target_reps_min") > similarity("reps_min", "target_rpe_min")
        );
        assert!(similarity("total_week", "duration_week") < 0.8);
        assert_eq!(
            closest(
                "total_weeks",
                &["start_date", "duration_weeks"],
                column_key,
                0.5
            )
            .map(|c| c.0),
            Some("duration_weeks")
        );
    }
}
