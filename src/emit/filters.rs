//! The templates' filters, thin wrappers over [`crate::sql_text`] for text the views hand
//! over as it is: `{{ x|lit }}` a literal, `{{ x|comment }}` text in a `--` comment,
//! `{{ x|notice }}` text inside a `RAISE` format literal, and
//! `{% filter dollar("step") %}…{% endfilter %}` a block body between dollar quotes of its
//! own. Most names and literals still come from the views quoted by the same toolkit.

use std::fmt::Display;

use askama::{Result, Values};

use crate::sql_text;

#[askama::filter_fn]
pub fn lit<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::quote_literal(&text.to_string()))
}

#[askama::filter_fn]
pub fn comment<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::comment_text(&text.to_string()))
}

#[askama::filter_fn]
pub fn notice<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::notice_text(&text.to_string()))
}

#[askama::filter_fn]
pub fn dollar<T: Display>(body: T, _: &dyn Values, hint: &str) -> Result<String> {
    Ok(sql_text::dollar_quote(&body.to_string(), hint))
}
