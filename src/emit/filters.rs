//! The templates' filters, thin wrappers over [`crate::sql_text`] for text the views hand
//! over as it is: `{{ x|ident }}` a name (quoted when it must be), `{{ x|lit }}` a literal,
//! `{{ x|lit_or_null }}` an optional one (`NULL` for none), `{{ t|only }}` a V2 table's own
//! rows (`ONLY t`, but for a partitioned table), `{{ x|comment }}` text in a `--`
//! comment, `{{ x|notice }}` text inside a `RAISE` format literal, `{{ x|sql_indent(2) }}` SQL text laid
//! out deeper (its quoted line breaks kept), and
//! `{% filter dollar("step") %}…{% endfilter %}` a block body between dollar quotes of its
//! own. Qualified names come from the views printed by [`crate::catalog::QualName`] (each
//! part quoted by the same toolkit), and SQL expressions as the check pass wrote them.

use std::fmt::Display;

use askama::{Result, Values};

use crate::emit::view::TableRows;
use crate::sql_text;

#[askama::filter_fn]
pub fn ident<T: Display>(name: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::quote_ident(&name.to_string()))
}

#[askama::filter_fn]
pub fn lit<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::quote_literal(&text.to_string()))
}

#[askama::filter_fn]
pub fn lit_or_null<T: OptionalText>(text: T, _: &dyn Values) -> Result<String> {
    Ok(text
        .text()
        .map_or_else(|| "NULL".to_string(), |t| sql_text::quote_literal(&t)))
}

/// A V2 table's own rows, not its inheritance children's (see [`TableRows`]).
#[askama::filter_fn]
pub fn only<T: OwnRows>(table: T, _: &dyn Values) -> Result<String> {
    Ok(table.own_rows())
}

#[askama::filter_fn]
pub fn comment<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::comment_text(&text.to_string()))
}

#[askama::filter_fn]
pub fn notice<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::notice_text(&text.to_string()))
}

/// SQL text laid out `width` spaces deeper: a line break inside a literal, a quoted name or a
/// dollar quote is part of it and gets none (askama's own `indent` would change the value).
#[askama::filter_fn]
pub fn sql_indent<T: Display>(text: T, _: &dyn Values, width: usize) -> Result<String> {
    Ok(sql_text::indent(&text.to_string(), &" ".repeat(width)))
}

#[askama::filter_fn]
pub fn dollar<T: Display>(body: T, _: &dyn Values, hint: &str) -> Result<String> {
    Ok(sql_text::dollar_quote(&body.to_string(), hint))
}

/// An optional text, however many references the template puts before it.
pub trait OptionalText {
    fn text(&self) -> Option<String>;
}

impl<T: Display> OptionalText for Option<T> {
    fn text(&self) -> Option<String> {
        self.as_ref().map(ToString::to_string)
    }
}

impl<T: OptionalText + ?Sized> OptionalText for &T {
    fn text(&self) -> Option<String> {
        (**self).text()
    }
}

/// A [`TableRows`], however many references the template puts before it.
pub trait OwnRows {
    fn own_rows(&self) -> String;
}

impl OwnRows for TableRows {
    fn own_rows(&self) -> String {
        TableRows::own_rows(self)
    }
}

impl<T: OwnRows + ?Sized> OwnRows for &T {
    fn own_rows(&self) -> String {
        (**self).own_rows()
    }
}
