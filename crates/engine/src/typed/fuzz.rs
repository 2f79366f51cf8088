use super::*;
use crate::fuzz::{config, text_like};
use proptest::prelude::*;

fn field_type() -> impl Strategy<Value = FieldType> {
    let leaf = prop_oneof![
        Just(FieldType::String),
        Just(FieldType::Number),
        Just(FieldType::Integer),
        Just(FieldType::Boolean),
        Just(FieldType::Date),
        Just(FieldType::Month),
        Just(FieldType::Other),
        proptest::collection::vec(text_like(), 0..4).prop_map(FieldType::Enum),
    ];
    leaf.prop_recursive(2, 4, 1, |inner| {
        inner.prop_map(|t| FieldType::Array(Box::new(t)))
    })
}

/// Keywords that switch the readers' special cases on (years, names, emails, versions…).
fn keywords() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "year founded",
                "revenue",
                "ceo name",
                "who",
                "email",
                "version",
                "ticker symbol",
                "website url",
                "population",
                "date",
                "is public",
                "employees",
                "city",
            ][..]
        )
        .prop_map(str::to_owned),
        text_like(),
    ]
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn find_value_never_panics(
        field in field_type(),
        passage in text_like(),
        keys in keywords(),
        avoid in text_like(),
    ) {
        if let Some(found) = find_value_avoiding(&field, &passage, &keys, &avoid) {
            // Values come from the passage: its evidence is never longer than it.
            prop_assert!(found.evidence.len() <= passage.len());
            // A number is a JSON number, never `null` from an infinite product.
            if matches!(field, FieldType::Number | FieldType::Integer) {
                prop_assert!(found.value.is_number(), "{:?}", found);
            }
            // An enum member's evidence is the member as the passage writes it.
            if let (FieldType::Enum(_), Some(member)) = (&field, found.value.as_str()) {
                prop_assert_eq!(found.evidence.to_lowercase(), member.to_lowercase());
            }
        }
        find_value(&field, &passage, &keys);
        best_sentence(&passage, &keys);
    }
}
