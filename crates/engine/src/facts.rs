//! Label → value statements in a passage: the rows of tables and `Label: value` lines.
//!
//! Pages state many facts as a label beside a value rather than in a sentence: an infobox
//! row `| Headquarters | Quellside Business Park, Brastmoor |`, a cell of a wider table under
//! its column header, a spec line `**Capacity:** 3,600 seats`. Read as prose, the value's
//! nearest words are the next row's label, and the reader takes the wrong row. This module
//! pairs each value with the label that names it, so the synthesis can match a field's words
//! against the label and read the value from the cell alone.

use crate::extract::markdown::is_table_delimiter;
use crate::rank::{stem, tokens};

/// One value with the words that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The label: a two-column row's first cell; a wide table's column header with the row's
    /// first cell; the text before a line's colon.
    pub label: String,
    /// Byte span of the value in the passage.
    pub start: usize,
    pub end: usize,
}

impl Fact {
    /// The value's text in `passage`, without markdown emphasis.
    pub fn value<'a>(&self, passage: &'a str) -> &'a str {
        passage[self.start..self.end]
            .trim()
            .trim_matches(|c| c == '*' || c == '_')
            .trim()
    }

    /// Whether the label writes one of `keys` as such (or as its plural), not only a word
    /// sharing its stem.
    pub fn label_writes(&self, keys: &[String]) -> bool {
        let label = tokens(&self.label);
        let singular = |w: &str| w.trim_end_matches('s').to_owned();
        keys.iter()
            .any(|k| label.iter().any(|w| singular(w) == singular(k)))
    }

    /// How well the label names `keys` (field words): two points for each key the label
    /// writes as such (or as its plural), one for a key that only shares its stem, so that
    /// "Founders" beats "Founded" for a `founders` field.
    pub fn label_hits(&self, keys: &[String]) -> usize {
        let label = tokens(&self.label);
        let singular = |w: &str| w.trim_end_matches('s').to_owned();
        keys.iter()
            .map(|k| {
                if label.iter().any(|w| singular(w) == singular(k)) {
                    2
                } else if label.iter().any(|w| stem(w) == stem(k)) {
                    1
                } else {
                    0
                }
            })
            .sum()
    }
}

/// Every fact of `passage`: table cells under their labels, then `Label: value` lines.
pub fn facts(passage: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut rows: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut offset = 0;
    for line in passage.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim_start().starts_with('|') {
            if !is_table_delimiter(text.trim()) {
                rows.push(cells(text, start));
            }
            continue;
        }
        table_facts(passage, &mut rows, &mut out);
        if let Some(fact) = label_line(text, start) {
            out.push(fact);
        }
    }
    table_facts(passage, &mut rows, &mut out);
    out
}

/// The cells of a markdown table row (`| a | b \\| c |`), trimmed and unescaped, or `None`
/// for a line that is no table row.
pub fn row_cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    if !line.starts_with('|') {
        return None;
    }
    let mut spans = cells(line, 0);
    // A row written without its closing pipe still has a last cell.
    let last_end = spans.last().map_or(1, |&(_, e)| e);
    let rest = line[last_end..].trim().trim_start_matches('|').trim();
    if !rest.is_empty() {
        let at = line.len() - rest.len();
        spans.push((at, line.len()));
    }
    Some(
        spans
            .iter()
            .map(|&(s, e)| line[s..e].replace("\\|", "|"))
            .collect(),
    )
}

/// Byte spans of a table row's cells (trimmed), `line_start` being the line's offset.
fn cells(line: &str, line_start: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut cell_start: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if c == '|' && !escaped {
            if let Some(s) = cell_start {
                spans.push(trim_span(line, s, i, line_start));
            }
            cell_start = Some(i + 1);
        }
        escaped = c == '\\' && !escaped;
    }
    spans
}

fn trim_span(line: &str, start: usize, end: usize, base: usize) -> (usize, usize) {
    let cell = &line[start..end];
    let lead = cell.len() - cell.trim_start().len();
    let trail = cell.len() - cell.trim_end().len();
    (
        base + start + lead,
        base + end - trail.min(cell.len() - lead),
    )
}

/// The facts of one table (its rows, header first), which are then cleared. A two-column
/// table is label | value, its first row included (infoboxes have no header row); a wider
/// one gives each cell its column's header and its row's first cell as the label, and each
/// row's first cell the rest of its row (a name found by its role).
fn table_facts(passage: &str, rows: &mut Vec<Vec<(usize, usize)>>, out: &mut Vec<Fact>) {
    let table = std::mem::take(rows);
    let Some(header) = table.first() else {
        return;
    };
    let text = |&(s, e): &(usize, usize)| passage[s..e].to_owned();
    let cols = table.iter().map(Vec::len).max().unwrap_or(0);
    if cols == 2 {
        // A row with a label and no value heads the rows below it (an infobox's
        // "Population (2023 census)" over "Total | 48,250").
        let mut section = String::new();
        for row in &table {
            match row.as_slice() {
                [label, value] if value.1 > value.0 => out.push(Fact {
                    label: format!("{section} {}", text(label)).trim().to_owned(),
                    start: value.0,
                    end: value.1,
                }),
                [label, _] | [label] => section = text(label),
                _ => {}
            }
        }
        return;
    }
    for row in table.iter().skip(1) {
        for (j, cell) in row.iter().enumerate() {
            if cell.1 <= cell.0 {
                continue;
            }
            let label = if j == 0 {
                let others: Vec<String> = row[1..].iter().map(text).collect();
                format!(
                    "{} {}",
                    header.first().map(text).unwrap_or_default(),
                    others.join(" ")
                )
            } else {
                format!(
                    "{} {}",
                    header.get(j).map(text).unwrap_or_default(),
                    row.first().map(text).unwrap_or_default()
                )
            };
            out.push(Fact {
                label,
                start: cell.0,
                end: cell.1,
            });
        }
    }
}

/// Longest label of a `Label: value` line, in words.
const LABEL_MAX_WORDS: usize = 5;

/// A `Label: value` line (also as a list item, and with the label in bold).
fn label_line(line: &str, line_start: usize) -> Option<Fact> {
    let body = line.trim_start();
    let body = body
        .strip_prefix("- ")
        .or_else(|| body.strip_prefix("* "))
        .unwrap_or(body);
    let (label, rest) = body.split_once(':')?;
    let label = label.trim().trim_matches('*').trim();
    let words = label.split_whitespace().count();
    // "Note: the museum …" and URLs ("https://") are not labels.
    if words == 0 || words > LABEL_MAX_WORDS || label.contains("http") || rest.starts_with("//") {
        return None;
    }
    let value = rest.trim_start_matches('*');
    let value_at = line.len() - value.len();
    let lead = value.len() - value.trim_start().len();
    let (start, end) = (
        line_start + value_at + lead,
        line_start + value_at + value.trim_end().len(),
    );
    (end > start).then(|| Fact {
        label: label.to_owned(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(passage: &str) -> Vec<(String, String)> {
        facts(passage)
            .iter()
            .map(|f| (f.label.clone(), f.value(passage).to_owned()))
            .collect()
    }

    mod fuzz {
        use super::super::facts;
        use crate::fuzz::{config, markdown_like};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config(1))]

            /// Any markdown gives facts whose spans lie on character boundaries inside it.
            #[test]
            fn facts_never_panic_and_point_inside(md in markdown_like()) {
                for f in facts(&md) {
                    prop_assert!(f.start <= f.end && f.end <= md.len());
                    prop_assert!(md.is_char_boundary(f.start) && md.is_char_boundary(f.end));
                    let _ = f.value(&md);
                }
            }
        }
    }

    #[test]
    fn infobox_rows_pair_labels_and_values() {
        let p = "Intro line.\n\n| Type | Private |\n| --- | --- |\n| Headquarters | Quellside Business Park, Brastmoor |\n| Employees | 2,350 (2025) |";
        assert_eq!(
            read(p),
            [
                ("Type".into(), "Private".into()),
                (
                    "Headquarters".into(),
                    "Quellside Business Park, Brastmoor".into()
                ),
                ("Employees".into(), "2,350 (2025)".into()),
            ]
        );
    }

    #[test]
    fn wide_tables_label_cells_by_column_and_row() {
        let p = "| Name | Role | Joined |\n| --- | --- | --- |\n| Anya Pell | Chief financial officer | 2020 |";
        let got = read(p);
        assert!(
            got.contains(&("Role Anya Pell".into(), "Chief financial officer".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&("Joined Anya Pell".into(), "2020".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "Name Chief financial officer 2020".into(),
                "Anya Pell".into()
            )),
            "{got:?}"
        );
        let keys = vec!["financial".to_string(), "officer".to_string()];
        let name = facts(p)
            .into_iter()
            .find(|f| f.value(p) == "Anya Pell")
            .unwrap();
        assert_eq!(name.label_hits(&keys), 4);
        let founded = Fact {
            label: "Founded".into(),
            start: 0,
            end: 0,
        };
        let founders = Fact {
            label: "Founders".into(),
            ..founded.clone()
        };
        let keys = vec!["founders".to_string()];
        assert!(founders.label_hits(&keys) > founded.label_hits(&keys));
        assert_eq!(founded.label_hits(&keys), 1);
    }

    #[test]
    fn rows_without_a_value_head_the_rows_below() {
        let p = "| Type | Town |\n| --- | --- |\n| Population (2023 census) |  |\n| Total | 48,250 |\n| Density | 310/km² |";
        let got = read(p);
        assert!(
            got.contains(&("Population (2023 census) Total".into(), "48,250".into())),
            "{got:?}"
        );
    }

    #[test]
    fn label_lines_and_their_limits() {
        let p = "- **Capacity:** 3,600 seats\nOpening hours: Wednesday to Sunday\nNote that the museum, which was built by volunteers over many years: closed.\nSee https://x.example/a";
        assert_eq!(
            read(p),
            [
                ("Capacity".into(), "3,600 seats".into()),
                ("Opening hours".into(), "Wednesday to Sunday".into()),
            ]
        );
    }

    #[test]
    fn row_cells_unescape_and_take_an_unclosed_last_cell() {
        assert_eq!(
            row_cells("| Manufacturer | A \\| B |"),
            Some(vec!["Manufacturer".to_string(), "A | B".to_string()])
        );
        assert_eq!(
            row_cells("| a | b"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(row_cells("no table"), None);
    }

    #[test]
    fn escaped_pipes_stay_inside_cells() {
        let p = "| Route | Stops |\n| --- | --- |\n| A \\| B | 12 |";
        assert_eq!(
            read(p),
            [
                ("Route".into(), "Stops".into()),
                ("A \\| B".into(), "12".into())
            ]
        );
    }
}
