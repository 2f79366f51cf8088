//! Fuzz targets of whole-page extraction (see `crate::fuzz`). They call the extractor
//! itself, not [`crate::extract::extract_html`], whose panic guard would hide a panic as a
//! fallback.

use super::*;
use crate::extract::{markdown_to_text, passages};
use crate::fuzz::{config, page_like};
use proptest::prelude::*;

proptest! {
    // A page costs milliseconds: the short run takes fewer of them.
    #![proptest_config(config(8))]

    #[test]
    fn extract_never_panics(page in page_like(), dated in any::<bool>()) {
        let url = if dated { "https://news.example/2024/03/05/story" } else { "" };
        let e = extract(&page, url);
        if let Some(date) = e.published {
            prop_assert!((1900..=2100).contains(&chrono::Datelike::year(&date)));
        }
        for max in [1, 40, 1200] {
            for p in passages(&e, max) {
                prop_assert!(p.offset <= e.markdown.len());
            }
        }
        markdown_to_text(&e.markdown);
        bare_text(&page);
    }
}
