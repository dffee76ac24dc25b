//! "Did you mean …?" for misspelled names.

/// The closest candidate by Jaro-Winkler similarity, if it is close enough to help.
pub fn did_you_mean<'a>(written: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(written, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c.as_str())
}

/// The closest SQL name, spelled as the model must write it (quoted when it needs quotes), so
/// that the suggestion compiles when pasted.
pub fn did_you_mean_ident(written: &str, candidates: &[String]) -> Option<String> {
    did_you_mean(written, candidates).map(crate::sql_text::quote_ident)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_the_closest_name_and_nothing_for_strangers() {
        let names = vec![
            "reps_min".to_string(),
            "reps_max".to_string(),
            "weight".to_string(),
        ];
        assert_eq!(did_you_mean("rep_min", &names), Some("reps_min"));
        assert_eq!(did_you_mean("colour", &names), None);
    }
}
