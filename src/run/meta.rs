//! psql meta-commands: the name, the arguments (psql's `OT_NORMAL` rules) and the subset
//! `pgmig run` knows.

use crate::psql::vars::{is_var_char, quote_ident, quote_literal, Vars};

/// The meta-commands `pgmig run` implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    Set,
    Unset,
    If,
    Elif,
    Else,
    Endif,
    Echo,
    Getenv,
    Copy,
    /// `\g FILE` after `COPY … TO STDOUT`: the rows into FILE (psql 15's form of `\copy`,
    /// whose query, unlike `\copy`'s, may span lines).
    SendTo,
    /// `\gset` after a query of one row: its columns into variables (see
    /// [`gset_variable`]).
    Gset,
    Quit,
}

impl MetaKind {
    /// `\name` → kind; `None` for commands pgmig does not implement.
    pub fn from_name(name: &str) -> Option<MetaKind> {
        Some(match name {
            "set" => MetaKind::Set,
            "unset" => MetaKind::Unset,
            "if" => MetaKind::If,
            "elif" => MetaKind::Elif,
            "else" => MetaKind::Else,
            "endif" => MetaKind::Endif,
            "echo" => MetaKind::Echo,
            "getenv" => MetaKind::Getenv,
            "copy" => MetaKind::Copy,
            "g" => MetaKind::SendTo,
            "gset" => MetaKind::Gset,
            "q" | "quit" => MetaKind::Quit,
            _ => return None,
        })
    }

    pub fn is_conditional(self) -> bool {
        matches!(
            self,
            MetaKind::If | MetaKind::Elif | MetaKind::Else | MetaKind::Endif
        )
    }
}

/// Splits a meta-command line (starting with `\`) into its name and the rest.
pub fn split_name(text: &str) -> (&str, &str) {
    let body = text.strip_prefix('\\').unwrap_or(text);
    let end = body
        .find(|c: char| c.is_whitespace() || c == '\\')
        .unwrap_or(body.len());
    (&body[..end], &body[end..])
}

/// The known kind of a meta-command line, or an error message naming the unsupported one.
pub fn kind_of(text: &str) -> Result<MetaKind, String> {
    let (name, _) = split_name(text);
    MetaKind::from_name(name).ok_or_else(|| {
        format!(
            "unsupported meta-command \\{name} (pgmig run knows \\set, \\unset, \\if, \\elif, \\else, \\endif, \\echo, \\getenv, \\copy … TO, \\g FILE after COPY … TO STDOUT, \\gset into pgmig_* variables, \\q)"
        )
    })
}

/// Parses the arguments of a meta-command as psql's `OT_NORMAL` does: separated by
/// whitespace; `'…'` quoted with `''` and backslash escapes (`\n \t \b \r \f`, octal,
/// `\xHH`); `"…"` kept with its quotes; `:name`, `:'name'`, `:"name"`, `:{?name}`
/// interpolated (an unset variable is left as written). Backquotes (shell commands) and a
/// second meta-command on the line are refused.
pub fn parse_args(rest: &str, vars: &Vars) -> Result<Vec<String>, String> {
    let src: Vec<char> = rest.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < src.len() && src[i].is_whitespace() {
            i += 1;
        }
        if i >= src.len() {
            return Ok(args);
        }
        let mut arg = String::new();
        while i < src.len() && !src[i].is_whitespace() {
            let c = src[i];
            match c {
                '\'' => i = single_quoted(&src, i + 1, &mut arg)?,
                '"' => {
                    let mut j = i + 1;
                    loop {
                        match src.get(j) {
                            None => return Err("unterminated quoted identifier".into()),
                            Some('"') if src.get(j + 1) == Some(&'"') => j += 2,
                            Some('"') => break,
                            Some(_) => j += 1,
                        }
                    }
                    arg.extend(&src[i..=j]);
                    i = j + 1;
                }
                '`' => return Err("backquoted shell commands are not supported by pgmig run".into()),
                '\\' => return Err("one meta-command per line: pgmig run does not support \\\\ or a second meta-command on the same line".into()),
                ':' => i = variable(&src, i, vars, &mut arg),
                _ => {
                    arg.push(c);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}

fn single_quoted(src: &[char], mut i: usize, arg: &mut String) -> Result<usize, String> {
    loop {
        let Some(&c) = src.get(i) else {
            return Err("unterminated quoted string".into());
        };
        match c {
            '\'' if src.get(i + 1) == Some(&'\'') => {
                arg.push('\'');
                i += 2;
            }
            '\'' => return Ok(i + 1),
            '\\' => {
                let Some(&e) = src.get(i + 1) else {
                    return Err("unterminated quoted string".into());
                };
                i += 2;
                match e {
                    'n' => arg.push('\n'),
                    't' => arg.push('\t'),
                    'b' => arg.push('\u{8}'),
                    'r' => arg.push('\r'),
                    'f' => arg.push('\u{c}'),
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap();
                        let mut n = 1;
                        while n < 3 && src.get(i).is_some_and(|d| d.is_digit(8)) {
                            v = v * 8 + src[i].to_digit(8).unwrap();
                            i += 1;
                            n += 1;
                        }
                        arg.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    }
                    'x' if src.get(i).is_some_and(|d| d.is_ascii_hexdigit()) => {
                        let mut v = 0;
                        let mut n = 0;
                        while n < 2 && src.get(i).is_some_and(|d| d.is_ascii_hexdigit()) {
                            v = v * 16 + src[i].to_digit(16).unwrap();
                            i += 1;
                            n += 1;
                        }
                        arg.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    }
                    other => arg.push(other),
                }
            }
            _ => {
                arg.push(c);
                i += 1;
            }
        }
    }
}

/// A `:` in an argument at `src[i]`; returns the index after what it consumed.
fn variable(src: &[char], i: usize, vars: &Vars, arg: &mut String) -> usize {
    let name_end = |from: usize| {
        let mut j = from;
        while j < src.len() && is_var_char(src[j]) {
            j += 1;
        }
        j
    };
    let name = |a: usize, b: usize| src[a..b].iter().collect::<String>();
    match src.get(i + 1) {
        Some(&q @ ('\'' | '"')) => {
            let j = name_end(i + 2);
            if j > i + 2 && src.get(j) == Some(&q) {
                match vars.get(&name(i + 2, j)) {
                    Some(v) if q == '\'' => arg.push_str(&quote_literal(v)),
                    Some(v) => arg.push_str(&quote_ident(v)),
                    None => arg.extend(&src[i..=j]),
                }
                return j + 1;
            }
        }
        Some('{') if src.get(i + 2) == Some(&'?') => {
            let j = name_end(i + 3);
            if j > i + 3 && src.get(j) == Some(&'}') {
                arg.push_str(if vars.contains_key(&name(i + 3, j)) {
                    "TRUE"
                } else {
                    "FALSE"
                });
                return j + 1;
            }
        }
        Some(&c) if is_var_char(c) => {
            let j = name_end(i + 1);
            match vars.get(&name(i + 1, j)) {
                Some(v) => arg.push_str(v),
                None => arg.extend(&src[i..j]),
            }
            return j;
        }
        _ => {}
    }
    arg.push(':');
    i + 1
}

/// The prefix of every variable `\gset` may set in pgmig's scripts.
pub const GSET_PREFIX: &str = "pgmig_";

/// A column `\gset` stores, checked: only into a variable named `pgmig_…` (a query's column
/// names can't reach `ON_ERROR_STOP` or a variable the script reads for something else;
/// psql ignores `\gset` into its own hooked variables, pgmig refuses every other name).
pub fn gset_variable(column: &str) -> Result<&str, String> {
    if column.starts_with(GSET_PREFIX) && crate::psql::vars::is_valid_name(column) {
        Ok(column)
    } else {
        Err(format!(
            "\\gset into \"{column}\": pgmig run sets only variables named {GSET_PREFIX}…"
        ))
    }
}

/// A file `\copy` or `\g` writes: a plain name in the export directory, never a path.
pub fn plain_file_name(file: &str) -> Result<String, String> {
    if file.is_empty() || file.starts_with('.') || file.contains(['/', '\\', '\0']) {
        return Err(format!(
            "`{file}` is not a plain file name: pgmig writes files only into the export directory"
        ));
    }
    Ok(file.to_string())
}

/// `\copy SOURCE TO 'file' [WITH (…)]` → (`COPY SOURCE TO STDOUT [WITH (…)]`, file).
/// Only `TO` a file: pgmig's scripts export, they never load through the client.
pub fn parse_copy_to(rest: &str) -> Result<(String, String), String> {
    let chars: Vec<char> = rest.trim().chars().collect();
    let (mut depth, mut quote, mut i) = (0i32, None::<char>, 0);
    let mut to_at = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 && c.is_whitespace() => {
                    let word: String = chars[i + 1..].iter().take(3).collect();
                    if word.eq_ignore_ascii_case("to ") {
                        to_at = Some(i);
                        break;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    let at = to_at.ok_or("only `\\copy … TO 'file'` is supported")?;
    let source: String = chars[..at].iter().collect();
    let after: String = chars[at + 4..].iter().collect();
    let after = after.trim_start();
    let Some(stripped) = after.strip_prefix('\'') else {
        return Err("the file must be a quoted name".into());
    };
    let end = stripped.find('\'').ok_or("unterminated file name")?;
    let file = plain_file_name(&stripped[..end])?;
    let options = stripped[end + 1..].trim();
    Ok((
        format!("COPY {} TO STDOUT {options}", source.trim())
            .trim_end()
            .to_string(),
        file,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn copy_writes_only_plain_file_names() {
        assert_eq!(
            parse_copy_to("(SELECT 1) TO 'users.v2.csv' WITH (FORMAT csv)")
                .unwrap()
                .1,
            "users.v2.csv"
        );
        for path in ["../../x.csv", "/tmp/x.csv", "a/b.csv", ".hidden"] {
            let e = parse_copy_to(&format!("(SELECT 1) TO '{path}'")).unwrap_err();
            assert!(e.contains("not a plain file name"), "{path}: {e}");
        }
    }

    #[test]
    fn names_and_kinds() {
        assert_eq!(split_name("\\set x 1"), ("set", " x 1"));
        assert_eq!(split_name("\\endif"), ("endif", ""));
        assert_eq!(kind_of("\\q"), Ok(MetaKind::Quit));
        assert_eq!(kind_of("\\quit"), Ok(MetaKind::Quit));
        assert_eq!(kind_of("\\elif :x"), Ok(MetaKind::Elif));
        assert_eq!(kind_of("\\gset"), Ok(MetaKind::Gset));
        let err = kind_of("\\gexec").unwrap_err();
        assert!(err.contains("\\gexec"), "{err}");
        assert!(kind_of("\\i other.sql").is_err());
    }

    #[test]
    fn arguments_are_split_quoted_and_interpolated() {
        let v = vars(&[("name", "world"), ("s", "it's")]);
        let args = parse_args(
            " a  'b c' 'it''s\\n' \"Q x\" :name :'s' :\"name\" :{?name} :{?none} :none x:name",
            &v,
        )
        .unwrap();
        assert_eq!(
            args,
            vec![
                "a",
                "b c",
                "it's\n",
                "\"Q x\"",
                "world",
                "'it''s'",
                "\"world\"",
                "TRUE",
                "FALSE",
                ":none",
                "xworld"
            ]
        );
    }

    #[test]
    fn escapes_in_single_quotes() {
        let args = parse_args(r"'\t\101\x41\q'", &Vars::new()).unwrap();
        assert_eq!(args, vec!["\tAAq"]);
    }

    #[test]
    fn gset_sets_only_pgmig_variables() {
        assert_eq!(gset_variable("pgmig_swapped"), Ok("pgmig_swapped"));
        for refused in [
            "ON_ERROR_STOP",
            "dry_run",
            "pgmig",
            "pgmig_a b",
            "pgmig_a-b",
            "",
        ] {
            let e = gset_variable(refused).unwrap_err();
            assert!(e.contains("only variables named pgmig_"), "{refused}: {e}");
        }
    }

    #[test]
    fn refused_forms() {
        let v = Vars::new();
        assert!(parse_args("'open", &v)
            .unwrap_err()
            .contains("unterminated"));
        assert!(parse_args("`date`", &v).unwrap_err().contains("shell"));
        assert!(parse_args("a \\echo b", &v)
            .unwrap_err()
            .contains("one meta-command"));
        assert!(parse_args("\"open", &v).is_err());
    }

    #[test]
    fn empty_arguments() {
        assert_eq!(
            parse_args("   ", &Vars::new()).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(parse_args("''", &Vars::new()).unwrap(), vec![""]);
    }
}
