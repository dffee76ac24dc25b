//! What psql would see in a model's SQL fragment, checked before the fragment is parsed:
//! quotes, dollar quotes and comments that never close, psql variables (`:name`, `:'name'`,
//! `:"name"`, `:{?name}`) and backslashes outside quotes (a psql meta-command). psql reads
//! the scripts before PostgreSQL does: where a fragment lands outside a quoted block, it
//! would interpolate the variable or run the meta-command, so the compiler refuses them.

/// A problem found, at a 1-based line and column (in characters) of the fragment's text.
#[derive(Debug, PartialEq, Eq)]
pub struct LexProblem {
    pub message: String,
    pub hint: &'static str,
    pub line: u64,
    pub column: u64,
    pub len: usize,
}

/// The first problem of `text`, if any.
pub fn check(text: &str) -> Option<LexProblem> {
    let chars: Vec<char> = text.chars().collect();
    // Line and column of each character, for positions.
    let mut at = Vec::with_capacity(chars.len() + 1);
    let (mut line, mut column) = (1u64, 1u64);
    for &c in &chars {
        at.push((line, column));
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    at.push((line, column));
    let problem = |i: usize, len: usize, message: String, hint: &'static str| {
        let (line, column) = at[i];
        Some(LexProblem {
            message,
            hint,
            line,
            column,
            len,
        })
    };
    let ident_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let start = i;
                let mut depth = 0;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => {
                            return problem(
                                start,
                                2,
                                "unterminated comment `/*`".into(),
                                "close the comment with `*/` (comments nest in PostgreSQL)",
                            );
                        }
                    }
                }
                continue;
            }
            '\'' => {
                // E'…' strings take backslash escapes; other strings end at the first lone quote.
                let escapes = i > 0
                    && matches!(chars[i - 1], 'e' | 'E')
                    && (i < 2 || !ident_char(chars[i - 2]));
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return problem(
                                start,
                                1,
                                "unterminated quoted string".into(),
                                "close the string with `'`; a quote inside it is written `''`",
                            )
                        }
                        Some('\\') if escapes => i += 2,
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => i += 2,
                        Some('\'') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            '"' => {
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return problem(
                            start,
                            1,
                            "unterminated quoted identifier".into(),
                            "close the identifier with `\"`; a `\"` inside it is written `\"\"`",
                        ),
                        Some('"') if chars.get(i + 1) == Some(&'"') => i += 2,
                        Some('"') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            '$' if i == 0 || !ident_char(chars[i - 1]) => {
                // `$tag$ … $tag$` (the tag may be empty); `$1` is a parameter.
                let tag_end = chars[i + 1..]
                    .iter()
                    .position(|&c| !(c.is_alphanumeric() || c == '_' || !c.is_ascii()))
                    .map(|p| i + 1 + p);
                if let Some(end) = tag_end.filter(|&e| {
                    chars[e] == '$' && !chars.get(i + 1).is_some_and(char::is_ascii_digit)
                }) {
                    let tag = &chars[i..=end];
                    match chars[end + 1..].windows(tag.len()).position(|w| w == tag) {
                        Some(close) => {
                            i = end + 1 + close + tag.len();
                            continue;
                        }
                        None => {
                            let tag: String = tag.iter().collect();
                            return problem(
                                i,
                                tag.chars().count(),
                                format!("unterminated dollar-quoted string: `{tag}` is never closed"),
                                "close it with the same tag, or write the text as a quoted string ('…')",
                            );
                        }
                    }
                }
            }
            ':' if next == Some(':') => i += 1,
            ':' if next.is_some_and(|n| {
                n == '\'' || n == '"' || n == '{' || n.is_alphabetic() || n == '_' || !n.is_ascii()
            }) =>
            {
                let len = 1 + chars[i + 1..]
                    .iter()
                    .take_while(|&&c| {
                        ident_char(c) || c == '\'' || c == '"' || c == '{' || c == '?'
                    })
                    .count();
                let written: String = chars[i..i + len].iter().collect();
                return problem(
                    i,
                    len,
                    format!("`{written}` is a psql variable: psql would replace it before PostgreSQL reads the script"),
                    "a model's SQL can't take psql variables; write the value itself (for an array slice, put spaces around the colon: `a[lo : hi]`)",
                );
            }
            '\\' => {
                return problem(
                    i,
                    1,
                    "a backslash outside quotes starts a psql meta-command".into(),
                    "write the backslash inside a quoted string, e.g. E'\\\\n' or '\\'",
                );
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check;

    fn problem(text: &str) -> String {
        check(text).map_or("ok".into(), |p| {
            format!(
                "{}:{}+{}: {} ({})",
                p.line, p.column, p.len, p.message, p.hint
            )
        })
    }

    #[test]
    fn quotes_casts_comments_and_dollar_quotes_that_close_are_fine() {
        for ok in [
            "a::int = 1",
            "'it''s' || \"we\"\"ird\" -- :x\n",
            "/* :x /* nested */ 'unclosed */ $$ :x $$ || $t$ 'x $t$",
            "E'a\\'b' = :: text",
            "f(a := 1) AND x$y = $1",
            "a[1:2]",
        ] {
            assert_eq!(problem(ok), "ok", "{ok}");
        }
    }

    #[test]
    fn psql_variables_are_refused() {
        insta::assert_snapshot!(problem("lock_timeout = :lock_timeout"), @"1:16+13: `:lock_timeout` is a psql variable: psql would replace it before PostgreSQL reads the script (a model's SQL can't take psql variables; write the value itself (for an array slice, put spaces around the colon: `a[lo : hi]`))");
        insta::assert_snapshot!(problem("a = :'x'"), @"1:5+4: `:'x'` is a psql variable: psql would replace it before PostgreSQL reads the script (a model's SQL can't take psql variables; write the value itself (for an array slice, put spaces around the colon: `a[lo : hi]`))");
        insta::assert_snapshot!(problem("b\n  AND :\"x\" IS NULL"), @r#"2:7+4: `:"x"` is a psql variable: psql would replace it before PostgreSQL reads the script (a model's SQL can't take psql variables; write the value itself (for an array slice, put spaces around the colon: `a[lo : hi]`))"#);
    }

    #[test]
    fn unterminated_quotes_are_refused_at_their_opening() {
        insta::assert_snapshot!(problem("a = $x$ b"), @"1:5+3: unterminated dollar-quoted string: `$x$` is never closed (close it with the same tag, or write the text as a quoted string ('…'))");
        insta::assert_snapshot!(problem("a = $$ b $x$"), @"1:5+2: unterminated dollar-quoted string: `$$` is never closed (close it with the same tag, or write the text as a quoted string ('…'))");
        insta::assert_snapshot!(problem("a = 'b"), @"1:5+1: unterminated quoted string (close the string with `'`; a quote inside it is written `''`)");
        insta::assert_snapshot!(problem("\"a = b"), @r#"1:1+1: unterminated quoted identifier (close the identifier with `"`; a `"` inside it is written `""`)"#);
        insta::assert_snapshot!(problem("a /* b"), @"1:3+2: unterminated comment `/*` (close the comment with `*/` (comments nest in PostgreSQL))");
    }

    #[test]
    fn a_backslash_outside_quotes_is_refused() {
        insta::assert_snapshot!(problem("a = 1 \\! touch x"), @r"1:7+1: a backslash outside quotes starts a psql meta-command (write the backslash inside a quoted string, e.g. E'\\n' or '\')");
    }
}
