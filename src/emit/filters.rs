//! The templates' filters: the only way text reaches a script, each a thin wrapper over
//! [`crate::sql_text`]. `{{ x|lit }}` a literal, `{{ x|ident }}` a name, `{{ x|comment }}`
//! text in a `--` comment, `{{ x|notice }}` text inside a `RAISE` format literal,
//! `{{ x|one_line }}` names and literals on a psql meta-command's line, and
//! `{% filter dollar("step") %}…{% endfilter %}` a block body between dollar quotes of its own.

use std::fmt::Display;

use askama::{Result, Values};

use crate::sql_text;

#[askama::filter_fn]
pub fn lit<T: Display>(text: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::quote_literal(&text.to_string()))
}

#[askama::filter_fn]
pub fn ident<T: Display>(name: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::quote_ident(&name.to_string()))
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

#[askama::filter_fn]
pub fn one_line<T: Display>(fragment: T, _: &dyn Values) -> Result<String> {
    Ok(sql_text::one_line_tokens(&fragment.to_string()))
}
