//! The extractive synthesis reads untrusted passages against clients' field names and
//! descriptions: whatever they hold, every field gets a value or null, with a basis
//! entry, and nothing panics (a rule that drops statements once indexed past the end of
//! the list it had counted).
use super::*;
use crate::fuzz::{config, description_like, markdown_like, text_like};
use crate::pipeline::request::Request;
use crate::pipeline::SourcePassage;
use proptest::prelude::*;

/// Field names that switch the reader's rules on: records, earlier values, persons,
/// places, addresses, editions, ranges of days, rates per year, years.
const FIELD_NAMES: &[&str] = &[
    "record_attendance",
    "previous_mayor",
    "previous_year_attendance",
    "founder",
    "ceo",
    "cfo",
    "city",
    "headquarters_address",
    "edition",
    "start_date",
    "end_date",
    "scans_per_year",
    "founded_year",
    "employees",
    "revenue_eur",
    "owners",
    "is_public",
    "birthplace",
    "name",
    "x",
];

fn field() -> impl Strategy<Value = (String, Value)> {
    let ty =
        proptest::sample::select(&["string", "integer", "number", "boolean", "array", "enum"][..]);
    (
            proptest::sample::select(FIELD_NAMES),
            ty,
            prop_oneof![description_like(), text_like(), Just("All-time record of the subsidiary Drell Marine".to_owned())],
        )
            .prop_map(|(name, ty, description)| {
                let schema = match ty {
                    "array" => json!({"type": "array", "items": {"type": "string"}, "description": description}),
                    "enum" => json!({"type": "string", "enum": ["public", "private"], "description": description}),
                    "string" if name.ends_with("date") => json!({"type": "string", "description": format!("{description} (YYYY-MM-DD)")}),
                    other => json!({"type": other, "description": description}),
                };
                (name.to_owned(), schema)
            })
}

fn passage() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => markdown_like(),
        1 => text_like(),
        // Tables and label lines with the words the fields use.
        2 => proptest::collection::vec(
            (proptest::sample::select(FIELD_NAMES), text_like()),
            1..5,
        )
        .prop_map(|rows| {
            let mut table = String::new();
            for (i, (label, value)) in rows.iter().enumerate() {
                let label = label.replace('_', " ");
                table.push_str(&format!("| {label} | {} |\n", value.replace(['|', '\n'], " ")));
                if i == 0 {
                    table.push_str("| --- | --- |\n");
                }
            }
            table
        }),
        1 => (proptest::sample::select(FIELD_NAMES), text_like())
            .prop_map(|(label, value)| format!("{}: {value}", label.replace('_', " "))),
    ]
}

fn sources() -> impl Strategy<Value = Vec<Source>> {
    proptest::collection::vec(
        (text_like(), proptest::collection::vec(passage(), 1..5)),
        1..4,
    )
    .prop_map(|pages| {
        pages
            .into_iter()
            .enumerate()
            .map(|(i, (title, passages))| Source {
                url: format!("http://page{i}.example/"),
                title: Some(title),
                published: None,
                passages: passages
                    .into_iter()
                    .map(|text| SourcePassage {
                        text,
                        heading: None,
                    })
                    .collect(),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(4))]

    #[test]
    fn every_field_is_answered_or_null_and_nothing_panics(
        fields in proptest::collection::vec(field(), 1..4),
        input in prop_oneof![text_like(), Just("Who founded the Kessel Fair?".to_owned())],
        pages in sources(),
        rounds in 1u32..3,
    ) {
        let properties: Map<String, Value> = fields.into_iter().collect();
        let schema = json!({"type": "object", "properties": properties});
        let request = Request::from_stored(&json!({"input": input}));
        let s = json_output(&request, &schema, &pages, rounds);
        for name in properties.keys() {
            prop_assert!(s.content.get(name).is_some(), "{name} missing");
            prop_assert!(
                s.basis.iter().any(|b| b["field"] == json!(name)),
                "{name} has no basis"
            );
        }
    }
}
