//! The model file's bytes, checked before any YAML is read: what the YAML parser would
//! silently misread (a NUL ends its input, documents after the first are never read, a
//! byte-order mark becomes part of the first key) is an error at its position instead.

use crate::diagnostic::{Diagnostic, Pos};

/// The UTF-8 byte-order mark some editors write at the start of a file.
const BOM: char = '\u{feff}';

/// The model's text from its bytes: a leading byte-order mark is dropped (YAML allows it and
/// editors hide it), and invalid UTF-8, a NUL byte or a second YAML document is an error.
/// On error the text returned is what can be shown of the file (lossy), for rendering.
pub fn model_text(bytes: &[u8]) -> Result<String, (Diagnostic, String)> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let at = end_of(valid.strip_prefix(BOM).unwrap_or(valid));
            let bad: Vec<String> = bytes[e.valid_up_to()..]
                .iter()
                .take(e.error_len().unwrap_or(1))
                .map(|b| format!("0x{b:02x}"))
                .collect();
            let shown = String::from_utf8_lossy(bytes);
            let shown = shown.strip_prefix(BOM).unwrap_or(&shown).to_string();
            return Err((
                Diagnostic::error(
                    format!("the model is not valid UTF-8 (byte {} here)", bad.join(" ")),
                    Some(at),
                )
                .with_hint("save the file as UTF-8"),
                shown,
            ));
        }
    };
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if let Some(nul) = text.find('\0') {
        return Err((
            Diagnostic::error("the model contains a NUL byte", Some(end_of(&text[..nul])))
                .with_hint(
                "a YAML reader stops at a NUL, dropping the rest of the file silently: remove it",
            ),
            text.replace('\0', "\u{2400}"),
        ));
    }
    if let Some(at) = second_document(text) {
        return Err((
            Diagnostic::error("a model is one YAML document; a second one starts here", Some(at))
                .with_hint("documents after the first would be ignored: merge them into one, or split them into several model files"),
            text.to_string(),
        ));
    }
    Ok(text.to_string())
}

/// The position just after `prefix`: where the next character of the file is.
fn end_of(prefix: &str) -> Pos {
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line,
        column,
        len: 1,
    }
}

/// Where the second YAML document starts, if there is one. A document marker (`---` or
/// `...` at the start of a line, followed by a blank or the end of the line) can't occur
/// inside a scalar in YAML, so a line scan finds them all. The first `---`, before any
/// content, opens the first document explicitly; content after a `...` starts another one.
fn second_document(text: &str) -> Option<Pos> {
    let mut seen_content = false;
    let mut ended = false;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        let at = Pos {
            line: i + 1,
            column: 1,
            len: 3,
        };
        if marker("---") {
            if seen_content || ended {
                return Some(at);
            }
            seen_content =
                !line[3..].trim_start().is_empty() && !line[3..].trim_start().starts_with('#');
        } else if marker("...") {
            ended = true;
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            if ended {
                return Some(Pos {
                    line: i + 1,
                    column: 1,
                    len: 1,
                });
            }
            seen_content = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(bytes: &[u8]) -> (String, Option<(usize, usize)>) {
        let (d, _) = model_text(bytes).unwrap_err();
        (d.message, d.at.map(|p| (p.line, p.column)))
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped() {
        assert_eq!(
            model_text("\u{feff}name: x\n".as_bytes()).unwrap(),
            "name: x\n"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_at_the_first_bad_byte() {
        insta::assert_debug_snapshot!(error(b"name: x\ntables:\n  caf\xe9: {}\n"), @r#"
        (
            "the model is not valid UTF-8 (byte 0xe9 here)",
            Some(
                (
                    3,
                    6,
                ),
            ),
        )
        "#);
    }

    #[test]
    fn a_nul_byte_is_an_error_at_its_position() {
        insta::assert_debug_snapshot!(error(b"name: x\nverify:\n  - name: a\0b\n"), @r#"
        (
            "the model contains a NUL byte",
            Some(
                (
                    3,
                    12,
                ),
            ),
        )
        "#);
    }

    #[test]
    fn a_second_document_is_an_error_at_its_marker() {
        insta::assert_debug_snapshot!(error(b"---\nname: x\n---\nname: y\n"), @r#"
        (
            "a model is one YAML document; a second one starts here",
            Some(
                (
                    3,
                    1,
                ),
            ),
        )
        "#);
        assert_eq!(error(b"name: x\n...\nname: y\n").1, Some((3, 1)));
        // An explicit start, an explicit end and comments after it are one document.
        assert!(model_text(b"# m\n--- # start\nname: x\n...\n# end\n").is_ok());
        // `---` inside a value is text.
        assert!(model_text(b"name: x\nwhere: \"a\n  --- b\"\n").is_ok());
    }
}
