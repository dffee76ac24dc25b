//! The templates' filters, thin wrappers over [`crate::sql_text`] for text the views hand
//! over as it is: `{{ x|ident }}` a name (quoted when it must be), `{{ x|lit }}` a literal,
//! `{{ x|lit_or_null }}` an optional one (`NULL` for none), `{{ x|comment }}` text in a `--`
//! comment, `{{ x|notice }}` text inside a `RAISE` format literal, `{{ x|sql_indent(2) }}` SQL text laid
//! out deeper (its quoted line breaks kept), and
//! `{% filter dollar("step") %}…{% endfilter %}` a block body between dollar quotes of its
//! own. Qualified names come from the views printed by [`crate::catalog::QualName`] (each
//! part quoted by the same toolkit), and SQL expressions as the check pass wrote them.

use std::fmt::Display;

use askama::{Result, Values};

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
