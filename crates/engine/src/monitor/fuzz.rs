//! Property tests: the monitor's readers of page text and of stored outputs never panic, and
//! what they produce keeps its promises (items are never empty, keys have one shape, a value
//! compared with itself is no change).

use super::*;
use crate::fuzz::{config, markdown_like, text_like};
use proptest::prelude::*;

/// JSON values as outputs hold them: strings of page text, numbers, lists and objects.
fn value_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|x| json!(x)),
        any::<i64>().prop_map(|x| json!(x)),
        text_like().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(text_like(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Outputs of either type, or anything else a store might hand back.
fn output_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => (value_like(), value_like()).prop_map(|(content, basis)| json!({"type": "json", "content": content, "basis": [{"field": "a", "x": basis}]})),
        2 => markdown_like().prop_map(|text| json!({"type": "text", "content": text, "basis": []})),
        1 => value_like(),
    ]
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn page_text_readers_never_panic(passage in markdown_like(), query in text_like(), url in text_like()) {
        for item in items::split(&passage) {
            prop_assert!(!item.trim().is_empty());
            let _ = items::relevant(&items::query_terms(&query), &item);
        }
        let features = sketch::features(&passage);
        let signature = sketch::sketch(&features);
        prop_assert!(signature.is_empty() || signature.len() == sketch::SKETCH_WORDS);
        prop_assert_eq!(sketch::content_hash(&passage).len(), 16);
        let _ = sketch::normalise_url(&url);
        let s = summary(&passage);
        prop_assert!(s.chars().count() <= SUMMARY_CHARS);
        prop_assert!(clip(&passage, 40).chars().count() <= 40);
        let source = Source::of_passages("https://a.example/p", "T", &[passage.as_str()]);
        let observed = observe(&query, std::slice::from_ref(&source));
        let all: Vec<&Observed> = observed.iter().collect();
        for group in merge(&all) {
            prop_assert!(!group.is_empty());
            let _ = event_date(&group, std::slice::from_ref(&source));
            let _ = text_output(&finding_sources(std::slice::from_ref(&source), &group), &group[0].item.text);
        }
    }

    #[test]
    fn snapshot_change_never_panics_and_nothing_changes_against_itself(a in output_like(), b in output_like()) {
        let _ = snapshot_change(&a, &b);
        prop_assert_eq!(snapshot_change(&b, &b), None);
    }
}
