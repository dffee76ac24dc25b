//! Compile errors of a model's variants, as the DBA reads them from the binary.

use std::path::Path;

/// The model of `model_dir` (model.yaml, v1.sql, v2.sql) with its first `old` replaced by
/// `new`, compiled by the binary, which must refuse it and write nothing: (exit code, stderr,
/// the edited model text).
pub(crate) fn compile_variant(model_dir: &Path, old: &str, new: &str) -> (i32, String, String) {
    let model = model_dir.join("model.yaml");
    let src = super::model_variant(&model, |text| {
        assert!(text.contains(old), "the model no longer contains {old:?}");
        text.replacen(old, new, 1)
    });
    let edited = std::fs::read_to_string(src.path().join("model.yaml")).unwrap();
    let (code, stderr) = super::compile_refused(
        src.path(),
        "model.yaml",
        &model_dir.join("v1.sql"),
        &model_dir.join("v2.sql"),
    );
    (code, stderr, edited)
}

/// `model.yaml:LINE:COL` of the `nth` (0-based) occurrence of `needle` in `text`, plus `at`
/// characters into it.
pub(crate) fn location(text: &str, needle: &str, nth: usize, at: usize) -> String {
    let start = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} #{nth}"))
        .0
        + at;
    let line = text[..start].matches('\n').count() + 1;
    let col = start - text[..start].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("model.yaml:{line}:{col}")
}

/// Asserts a failed compile (exit 2, no panic) whose first diagnostic is `message` at `loc`;
/// `alone`: and it is the only one.
pub(crate) fn assert_compile_error(code: i32, stderr: &str, loc: &str, message: &str, alone: bool) {
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("{loc}: error: {message}"),
        "first diagnostic; all of stderr:\n{stderr}"
    );
    if alone {
        assert!(
            stderr.contains("error: model.yaml has 1 error; nothing was written"),
            "{stderr}"
        );
    }
}
