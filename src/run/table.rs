//! A plain aligned text table, psql's "aligned" format: `status` and query results.

/// Columns, rows of text cells (`None` prints empty), and per-column right alignment.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub headers: Vec<String>,
    pub right: Vec<bool>,
    pub rows: Vec<Vec<Option<String>>>,
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn one_line(s: &str) -> String {
    s.replace("\r\n", " ").replace(['\n', '\r'], " ")
}

impl Table {
    /// Right-aligns the columns whose every non-empty cell is a number (psql aligns numeric
    /// types right; a simple-protocol result has no types, so we look at the values).
    pub fn align_numbers(&mut self) {
        self.right = (0..self.headers.len())
            .map(|c| {
                let mut any = false;
                let all = self
                    .rows
                    .iter()
                    .all(|r| match r.get(c).and_then(|v| v.as_deref()) {
                        Some(v) if !v.is_empty() => {
                            any = true;
                            v.parse::<f64>().is_ok()
                        }
                        _ => true,
                    });
                any && all
            })
            .collect();
    }

    /// The table as lines, followed by `(N rows)`.
    pub fn render(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| one_line(c.as_deref().unwrap_or("")))
                    .collect()
            })
            .collect();
        let n = self.headers.len();
        let widths: Vec<usize> = (0..n)
            .map(|c| {
                cells
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| width(s))
                    .chain([width(&self.headers[c])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let line = |cols: Vec<String>| -> String {
            let s = format!(" {}", cols.join(" | "));
            s.trim_end().to_string()
        };
        out.push_str(&line(
            self.headers
                .iter()
                .enumerate()
                .map(|(c, h)| {
                    let pad = widths[c] - width(h);
                    format!("{}{}{}", " ".repeat(pad / 2), h, " ".repeat(pad - pad / 2))
                })
                .collect(),
        ));
        out.push('\n');
        out.push_str(
            &widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("+"),
        );
        out.push('\n');
        for r in &cells {
            out.push_str(&line(
                (0..n)
                    .map(|c| {
                        let v = r.get(c).map(String::as_str).unwrap_or("");
                        let pad = " ".repeat(widths[c] - width(v));
                        if self.right.get(c).copied().unwrap_or(false) {
                            format!("{pad}{v}")
                        } else {
                            format!("{v}{pad}")
                        }
                    })
                    .collect(),
            ));
            out.push('\n');
        }
        let k = self.rows.len();
        out.push_str(&format!("({k} row{})", if k == 1 { "" } else { "s" }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_psql_aligned() {
        let mut t = Table {
            headers: vec!["id".into(), "name".into()],
            right: vec![],
            rows: vec![
                vec![Some("1".into()), Some("alpha".into())],
                vec![Some("10".into()), None],
            ],
        };
        t.align_numbers();
        assert_eq!(
            t.render(),
            " id | name\n----+-------\n  1 | alpha\n 10 |\n(2 rows)"
        );
    }

    #[test]
    fn multi_line_cells_stay_on_one_line() {
        let t = Table {
            headers: vec!["m".into()],
            right: vec![false],
            rows: vec![vec![Some("a\nb".into())]],
        };
        assert_eq!(t.render(), "  m\n-----\n a b\n(1 row)");
    }
}
