//! The in-place model: `in_place: true`, a name, the schema, a batch size, the time zone
//! (`timezone:`) and `using:` conversions for the columns PostgreSQL has no safe cast for.
//!
//! ```yaml
//! name: uuid
//! in_place: true
//! target: { schema: public }
//! batch_size: 1000
//! using:
//!   tags.user_id: "CASE WHEN user_id = '' THEN NULL ELSE user_id::uuid END"
//! ```

use indexmap::IndexMap;
use marked_yaml::Spanned;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Pos};
use crate::model::{pos_of, SchemaRef, Text};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InPlaceModel {
    pub name: Text,
    pub in_place: Spanned<bool>,
    pub target: Option<SchemaRef>,
    pub batch_size: Option<Spanned<u64>>,
    /// The zone V1's timestamps without time zone are in; every script runs in it.
    pub timezone: Option<Text>,
    /// `table.column: EXPR` — the conversion, reading the old value by the column's name.
    #[serde(default)]
    pub using: IndexMap<Text, Text>,
}

impl InPlaceModel {
    pub fn schema(&self) -> &str {
        self.target
            .as_ref()
            .and_then(|s| s.schema.as_ref())
            .map_or("public", |s| s.as_str())
    }

    /// Where `in_place` is written (compile errors about a missing `using` point there).
    pub fn in_place_pos(&self, text: &str) -> Option<Pos> {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("in_place:"))?
            + 1;
        let column = text.lines().nth(line - 1)?.find("in_place")? + 1;
        Some(Pos {
            line,
            column,
            len: "in_place".len(),
        })
    }
}

/// Whether the model's top level says `in_place: true` (read without the step model's shape).
pub fn is_in_place(text: &str) -> bool {
    let Ok(node) = marked_yaml::parse_yaml(0, text) else {
        return false;
    };
    node.as_mapping()
        .and_then(|m| m.get_scalar("in_place"))
        .and_then(|s| s.as_bool())
        .unwrap_or(false)
}

pub fn load(text: &str) -> Result<InPlaceModel, Vec<Diagnostic>> {
    crate::model::read_yaml(text)
}

pub fn text_pos(t: &Text) -> Option<Pos> {
    pos_of(t)
}
