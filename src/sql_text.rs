//! The one SQL-text toolkit: every name, literal, comment and block body that reaches a
//! generated script is written by these functions, so no text from a model, a schema or a
//! psql variable can end the quote or the block around it.
//!
//! The scripts pin `standard_conforming_strings = on` before any of this text is read
//! (templates/session.sql), so a backslash inside `'…'` is an ordinary character and a
//! literal needs only its quotes doubled, as PostgreSQL's own deparser prints them.

/// An identifier as PostgreSQL's `quote_ident()` writes it: bare when it can be, quoted
/// (inner `"` doubled) otherwise.
pub fn quote_ident(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved_keyword(name);
    if bare {
        name.to_string()
    } else {
        quote_ident_always(name)
    }
}

/// An identifier always double-quoted, inner `"` doubled (libpq's `PQescapeIdentifier`).
pub fn quote_ident_always(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal: `'…'` with quotes doubled; a text holding a carriage return or another
/// ASCII control character but a line feed or a tab is written `E'…'` with those as `\xHH`
/// (and backslashes doubled), since psql, reading a script line by line, drops a carriage
/// return before a line feed.
pub fn quote_literal(text: &str) -> String {
    let raw = |c: char| !c.is_ascii_control() || c == '\n' || c == '\t';
    if text.chars().all(raw) {
        return format!("'{}'", text.replace('\'', "''"));
    }
    let mut out = String::from("E'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c if !raw(c) => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Text for inside the format string of a `RAISE` (itself a literal of the template):
/// quotes doubled and `%` doubled so it is not a placeholder. Line feeds stay (they are inside
/// the literal); a carriage return, which psql would drop before one, is a space.
pub fn notice_text(text: &str) -> String {
    text.replace('\'', "''")
        .replace('%', "%%")
        .replace('\r', " ")
}

/// Text for a `--` comment: on one line, so nothing after a line break reaches psql as a
/// command of its own (a comment inside a dollar-quoted block is also kept from ending it
/// by [`dollar_quote`]).
pub fn comment_text(text: &str) -> String {
    one_line(text)
}

/// Whitespace runs (line breaks, tabs, form feeds) and other control characters as one space.
fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect();
    spaced
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `body` between dollar quotes whose tag (`$hint$`, else `$hint_1$`, `$hint_2$`, …) does not
/// occur in it, so the block ends exactly where the template ends it, whatever the body
/// holds. The tag is also checked against the body's last characters: `…$hint` followed by
/// `$hint$` would close early.
pub fn dollar_quote(body: &str, hint: &str) -> String {
    let closes_at_end = |tag: &str| format!("{body}{tag}").find(tag) == Some(body.len());
    let tag = std::iter::once(format!("${hint}$"))
        .chain((1..).map(|n| format!("${hint}_{n}$")))
        .find(|tag| closes_at_end(tag))
        .expect("some numbered tag is absent from any finite body");
    format!("{tag}{body}{tag}")
}

/// `text` with `prefix` after each line break that SQL reads as layout: not one inside a
/// literal (`'…'`, `E'…'`), a quoted name, a dollar quote or a block comment, which is part of
/// the value or name and must reach PostgreSQL as written. A blank line stays empty.
pub fn indent(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = QuoteState::reading_dollar_quotes_as_text();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        quote.scan(line);
        out.push_str(line);
        let next_has_text = lines.peek().is_some_and(|next| !next.starts_with('\n'));
        if line.ends_with('\n') && next_has_text && !quote.inside() {
            out.push_str(prefix);
        }
    }
    out
}

/// Where a reading of SQL text, fed piece by piece, stands: in code, or inside a literal
/// (`'…'`, or `E'…'` with backslash escapes), a quoted name (`"…"`), a dollar quote or a
/// comment (`--` to the line's end, `/* … */` nested). The scripts' own templates read
/// their dollar-quoted bodies (`DO $step$ … $step$`) as the code they hold; text from a
/// model reads a dollar quote as the literal it is.
#[derive(Debug, Clone, Default)]
pub struct QuoteState {
    open: Option<Quoted>,
    dollar_quotes_are_text: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Quoted {
    Literal {
        escapes: bool,
    },
    Name,
    /// The tag between the dollars.
    Dollar(String),
    LineComment,
    /// Nesting depth.
    BlockComment(usize),
}

impl QuoteState {
    /// A reader of the scripts' templates: dollar-quoted bodies are code.
    pub fn reading_dollar_bodies_as_code() -> QuoteState {
        QuoteState::default()
    }

    /// A reader of SQL text from a model: a dollar quote is a literal.
    pub fn reading_dollar_quotes_as_text() -> QuoteState {
        QuoteState {
            open: None,
            dollar_quotes_are_text: true,
        }
    }

    /// Whether the text so far ends inside something kept byte for byte: a literal, a quoted
    /// name, a dollar quote or a block comment (a `--` comment ends at its line).
    pub fn inside(&self) -> bool {
        !matches!(self.open, None | Some(Quoted::LineComment))
    }

    /// Reads `piece`, which goes on where the last piece stopped (pieces split at line breaks
    /// or anywhere no token spans).
    pub fn scan(&mut self, piece: &str) {
        let chars: Vec<char> = piece.chars().collect();
        let at = |i: usize| chars.get(i).copied();
        let starts = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| at(i + k) == Some(c));
        let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match &mut self.open {
                Some(Quoted::Literal { escapes }) => {
                    if *escapes && c == '\\' {
                        i += 1;
                    } else if c == '\'' {
                        if at(i + 1) == Some('\'') {
                            i += 1;
                        } else {
                            self.open = None;
                        }
                    }
                }
                Some(Quoted::Name) if c == '"' => {
                    if at(i + 1) == Some('"') {
                        i += 1;
                    } else {
                        self.open = None;
                    }
                }
                Some(Quoted::Name) => {}
                Some(Quoted::Dollar(tag)) => {
                    let closing = format!("${tag}$");
                    if starts(i, &closing) {
                        i += closing.chars().count() - 1;
                        self.open = None;
                    }
                }
                Some(Quoted::LineComment) if c == '\n' => self.open = None,
                Some(Quoted::LineComment) => {}
                Some(Quoted::BlockComment(depth)) => {
                    if starts(i, "/*") {
                        *depth += 1;
                        i += 1;
                    } else if starts(i, "*/") {
                        *depth -= 1;
                        i += 1;
                        if *depth == 0 {
                            self.open = None;
                        }
                    }
                }
                None if starts(i, "--") => self.open = Some(Quoted::LineComment),
                None if starts(i, "/*") => {
                    self.open = Some(Quoted::BlockComment(1));
                    i += 1;
                }
                None if c == '"' => self.open = Some(Quoted::Name),
                None if c == '\'' => {
                    // E'…' when the E starts a token (not the end of a name like `type'`).
                    let escapes = i > 0
                        && matches!(chars[i - 1], 'E' | 'e')
                        && (i < 2 || !word_char(chars[i - 2]));
                    self.open = Some(Quoted::Literal { escapes });
                }
                None if c == '$'
                    && self.dollar_quotes_are_text
                    && (i == 0 || !word_char(chars[i - 1])) =>
                {
                    let tag: String = chars[i + 1..]
                        .iter()
                        .take_while(|t| t.is_alphanumeric() || **t == '_')
                        .collect();
                    let tag_starts_well = tag.chars().next().is_none_or(|t| !t.is_ascii_digit());
                    if tag_starts_well && at(i + 1 + tag.chars().count()) == Some('$') {
                        i += tag.chars().count() + 1;
                        self.open = Some(Quoted::Dollar(tag));
                    }
                }
                None => {}
            }
            i += 1;
        }
    }
}

/// PostgreSQL's reserved keywords (those `quote_ident` quotes).
fn is_reserved_keyword(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&word)
}

/// `ARRAY['a', 'b']::text[]`, each name once, in first-seen order; `'{}'::text[]` for none.
pub fn text_array<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let items: Vec<String> = names
        .filter(|n| seen.insert(n.as_str()))
        .map(|n| quote_literal(n))
        .collect();
    if items.is_empty() {
        "'{}'::text[]".to_string()
    } else {
        format!("ARRAY[{}]::text[]", items.join(", "))
    }
}

/// Whether `sql` mentions the identifier `name` (a column, a table): read as PostgreSQL reads
/// it, a quoted identifier (`"us""er"`) compares exactly, an unquoted one folded to lower
/// case, and nothing inside a string literal, a dollar-quoted body or a comment counts, nor
/// a longer name containing it. Text the tokenizer cannot read counts as mentioning every
/// name: the callers ask whether an expression may read a column or a secret, where a wrong
/// "no" is the unsafe answer.
pub fn mentions(sql: &str, name: &str) -> bool {
    mentions_qualified(sql, &[name])
}

/// Whether `sql` names `path` (`["_pgmig", "map_a"]` is `_pgmig.map_a`, however quoted, with
/// or without spaces around the dot), as [`mentions`] reads identifiers.
pub fn mentions_qualified(sql: &str, path: &[&str]) -> bool {
    let Some(words) = identifier_tokens(sql) else {
        return true;
    };
    words.windows(2 * path.len() - 1).any(|window| {
        window
            .iter()
            .enumerate()
            .all(|(at, token)| match (at % 2, token) {
                (0, Some(word)) => word == path[at / 2],
                (1, None) => true,
                _ => false,
            })
    })
}

/// The significant tokens of `sql`: an identifier as PostgreSQL resolves it, or `None` for a
/// `.`; any other token (a literal, an operator, a keyword-less symbol) as an empty name that
/// matches nothing. `None` overall when the text cannot be tokenized.
fn identifier_tokens(sql: &str) -> Option<Vec<Option<String>>> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    Some(
        tokens
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .map(|t| match t {
                Token::Word(w) if w.quote_style == Some('"') => Some(w.value),
                Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
                Token::Period => None,
                _ => Some(String::new()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_reads_identifiers_as_postgresql_does() {
        // Doubled quotes inside a quoted name.
        assert!(mentions("(\"us\"\"er\" > 1)", "us\"er"));
        assert!(!mentions("(\"us\"\"er\" > 1)", "us"));
        assert!(!mentions("(\"us\"\"er\" > 1)", "er"));
        // A string literal, an escape string, a dollar-quoted body, comments.
        assert!(!mentions("x = 'user_id'", "user_id"));
        assert!(!mentions("x = E'it''s user_id\\''", "user_id"));
        assert!(!mentions("x = $q$ user_id $q$", "user_id"));
        assert!(!mentions("x -- user_id\n > 1 /* user_id */", "user_id"));
        // A longer name containing it, either side.
        assert!(!mentions("(user_ids <> '')", "user_id"));
        assert!(!mentions("t.old_user_id", "user_id"));
        assert!(mentions("(user_id)::text <> ''::text", "user_id"));
        assert!(mentions("lower(t.user_id)", "user_id"));
        // Case: unquoted folded, quoted exact.
        assert!(mentions("USER_ID > 0", "user_id"));
        assert!(!mentions("USER_ID > 0", "USER_ID"));
        assert!(mentions("\"User\" > 1", "User"));
        assert!(!mentions("\"User\" > 1", "user"));
        assert!(!mentions("\"user_id\"", "User_id"));
        // A qualified name, however written.
        assert!(mentions_qualified(
            "JOIN _pgmig.map_a m",
            &["_pgmig", "map_a"]
        ));
        assert!(mentions_qualified(
            "JOIN \"_pgmig\" . \"map_a\"",
            &["_pgmig", "map_a"]
        ));
        assert!(!mentions_qualified(
            "JOIN _pgmig.map_ab",
            &["_pgmig", "map_a"]
        ));
        assert!(!mentions_qualified(
            "JOIN other.map_a",
            &["_pgmig", "map_a"]
        ));
        // Unreadable text (an open quote) is taken as mentioning.
        assert!(mentions("'open", "user_id"));
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("x$step$"), "\"x$step$\"");
    }

    #[test]
    fn literals_double_quotes_and_escape_backslashes() {
        assert_eq!(quote_literal("o'brien"), "'o''brien'");
        assert_eq!(quote_literal("a\\'b"), "'a\\''b'");
        assert_eq!(quote_literal("a\r\n\\'b\u{7}"), "E'a\\x0D\n\\\\''b\\x07'");
    }

    #[test]
    fn notices_and_comments_stay_on_one_line() {
        assert_eq!(notice_text("100% o'brien\n\\! x"), "100%% o''brien\n\\! x");
        assert_eq!(
            comment_text("a\r\n\\! touch x\tb\u{2028}c"),
            "a \\! touch x b c"
        );
    }

    #[test]
    fn dollar_tags_avoid_the_body() {
        assert_eq!(
            dollar_quote("\nBEGIN END\n", "step"),
            "$step$\nBEGIN END\n$step$"
        );
        assert_eq!(
            dollar_quote(" '$step$' ", "step"),
            "$step_1$ '$step$' $step_1$"
        );
        assert_eq!(
            dollar_quote(" $step$ $step_1$ ", "step"),
            "$step_2$ $step$ $step_1$ $step_2$"
        );
        // The body's tail and the closing tag must not make an earlier closing tag.
        assert_eq!(dollar_quote("x $step", "step"), "$step_1$x $step$step_1$");
    }

    #[test]
    fn indent_leaves_quoted_line_breaks_alone() {
        let prefix = "    ";
        assert_eq!(indent("a\nb\n\nc\n", prefix), "a\n    b\n\n    c\n");
        assert_eq!(
            indent("x = 'one\ntwo'\nAND y", prefix),
            "x = 'one\ntwo'\n    AND y"
        );
        assert_eq!(
            indent("x = 'it''s\nok'\nAND y", prefix),
            "x = 'it''s\nok'\n    AND y"
        );
        assert_eq!(
            indent("x = E'it\\'s\n'\nAND y", prefix),
            "x = E'it\\'s\n'\n    AND y"
        );
        // A plain literal: its backslash is a character, the quote after it ends it.
        assert_eq!(indent("x = 'a\\'\nAND y", prefix), "x = 'a\\'\n    AND y");
        assert_eq!(
            indent("\"ident\nwith newline\"\nAND y", prefix),
            "\"ident\nwith newline\"\n    AND y"
        );
        assert_eq!(
            indent("x = $$a\n'b$$\nAND y", prefix),
            "x = $$a\n'b$$\n    AND y"
        );
        assert_eq!(
            indent("x = $tag$a\n$$ $t$\n$tag$\nAND y", prefix),
            "x = $tag$a\n$$ $t$\n$tag$\n    AND y"
        );
        // `$1` is a parameter, `a$b$` a name: no dollar quote.
        assert_eq!(
            indent("x = $1\nAND a$b$\nAND y", prefix),
            "x = $1\n    AND a$b$\n    AND y"
        );
        assert_eq!(
            indent("x -- it's\nAND 'y\nz'\nAND w", prefix),
            "x -- it's\n    AND 'y\nz'\n    AND w"
        );
        assert_eq!(
            indent("x /* a /* it's\n */\n*/\nAND y", prefix),
            "x /* a /* it's\n */\n*/\n    AND y"
        );
    }

    #[test]
    fn template_readers_take_dollar_bodies_for_code() {
        let mut quote = QuoteState::reading_dollar_bodies_as_code();
        quote.scan("DO $step$ BEGIN x := 'a");
        assert!(quote.inside());
        quote.scan("\nb'; END $step$;");
        assert!(!quote.inside());
        let mut text = QuoteState::reading_dollar_quotes_as_text();
        text.scan("SELECT $step$ BEGIN\n");
        assert!(text.inside());
    }
}
