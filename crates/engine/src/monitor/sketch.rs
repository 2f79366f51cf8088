//! What makes two findings "the same": a normalised URL, a hash of the normalised text, and a
//! compact sketch of the text's meaning (a b-bit MinHash of its content words).
//!
//! Everything here is stored by the monitor store between executions, so it must stay
//! stable: the hash functions are spelled out here (FNV-1a and SplitMix64, SHA-256 for the
//! content hash), never a `std` hasher whose output may change between Rust releases.

use crate::rank::tokens;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Slots of the MinHash sketch.
const SLOTS: usize = 64;
/// Bits kept of each slot's minimum (b-bit MinHash): 64 slots of 4 bits pack into eight
/// `u32`s, about 90 bytes of JSON. Two different minima agree on 4 bits one time in 16,
/// which [`similarity`] corrects for; the estimate's standard error at a Jaccard index of
/// 0.35 is about 0.065, against 0.085 for 32 slots of 8 bits in the same space.
const BITS: usize = 4;
const SLOTS_PER_WORD: usize = 32 / BITS;
/// The words of a sketch: the MinHash slots, then a Bloom filter of the numbers.
pub const SKETCH_WORDS: usize = SLOTS / SLOTS_PER_WORD + 1;

/// Words that carry no meaning of a story of their own, beyond [`crate::rank`]'s stopwords
/// (auxiliaries, pronouns, connectives): a rewording changes them freely.
const FILLER: &[&str] = &[
    "will",
    "would",
    "can",
    "could",
    "may",
    "might",
    "should",
    "shall",
    "must",
    "their",
    "they",
    "them",
    "he",
    "she",
    "his",
    "her",
    "we",
    "our",
    "us",
    "you",
    "your",
    "i",
    "my",
    "also",
    "not",
    "but",
    "than",
    "then",
    "there",
    "these",
    "those",
    "been",
    "being",
    "into",
    "onto",
    "about",
    "after",
    "before",
    "over",
    "under",
    "so",
    "if",
    "up",
    "out",
    "more",
    "most",
    "all",
    "any",
    "some",
    "such",
    "very",
    "just",
    "now",
    "said",
    "says",
    "had",
    "new",
    "s",
    "t",
    "while",
    "during",
    "since",
    "following",
    "set",
];

/// The identity of a page for deduplication: scheme and host lower-cased (the `url` crate's
/// form), `www.` dropped, the fragment, a trailing slash or `index.html`, and tracking
/// parameters (`utm_*`, `fbclid`, `gclid`) removed. The same page reached by two spellings is
/// one page; an unparsable URL is kept as it was sent (trimmed).
pub fn normalise_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url.trim()) else {
        return url.trim().to_owned();
    };
    parsed.set_fragment(None);
    if let Some(host) = parsed.host_str() {
        if let Some(bare) = host.strip_prefix("www.") {
            let bare = bare.to_owned();
            // A host the URL cannot take back (it never happens for a parsed host with a
            // `www.` label) keeps its `www.`.
            let _ = parsed.set_host(Some(&bare));
        }
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !(k.starts_with("utm_") || k == "fbclid" || k == "gclid")
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = parsed.path().to_owned();
    let trimmed = path
        .strip_suffix("index.html")
        .unwrap_or(&path)
        .trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    if trimmed != path {
        let trimmed = trimmed.to_owned();
        parsed.set_path(&trimmed);
    }
    let mut out: String = parsed.into();
    // `http://host/` and `http://host` are one page.
    if out.ends_with('/') && out.matches('/').count() == 3 {
        out.pop();
    }
    out
}

/// The text as the hash sees it: words (runs of letters and digits) lower-cased and joined by
/// single spaces, so whitespace, case, punctuation and markdown syntax do not make a passage
/// new.
pub fn normalise_text(text: &str) -> String {
    let plain = crate::extract::markdown_to_text(text);
    plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The content hash of a passage: the first 64 bits of SHA-256 of [`normalise_text`], in
/// hex. 64 bits make an accidental collision among one monitor's passages (thousands)
/// vanishingly rare, in 16 characters.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(normalise_text(text).as_bytes());
    hex::encode(&digest[..8])
}

/// The features a passage's meaning is compared by: its content words (ranking's stopwords
/// and fillers such as "will" or "their" dropped), lightly stemmed (a plural `s` dropped,
/// then the first five letters, so "reopens", "reopened" and "reopening" meet). Names
/// (capitalised words) and numbers count twice, as a second feature each: a story is told in
/// other words by another page, but of the same people, places and figures; and two stories
/// of one topic differ most in those.
pub fn features(text: &str) -> BTreeSet<String> {
    let plain = crate::extract::markdown_to_text(text);
    let mut out = BTreeSet::new();
    for word in plain.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if FILLER.contains(&lower.as_str()) || tokens(&lower).is_empty() {
            continue;
        }
        if let Some(number) = number(&lower) {
            out.insert(format!("#{number}"));
            out.insert(number);
            continue;
        }
        if lower.chars().count() < 2 {
            continue;
        }
        let singular = match lower.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem,
            _ => lower.as_str(),
        };
        let stem: String = singular.chars().take(5).collect();
        if word.chars().next().is_some_and(char::is_uppercase) {
            out.insert(format!("^{stem}"));
        }
        out.insert(stem);
    }
    out
}

/// A word that is a number, in one spelling (`06` and `6` are one number).
fn number(word: &str) -> Option<String> {
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let trimmed = word.trim_start_matches('0');
    Some(
        if trimmed.is_empty() { "0" } else { trimmed }
            .chars()
            .take(18)
            .collect(),
    )
}

/// The numbers of a feature set as a 32-bit Bloom filter (one bit each), 0 when it has none.
fn numbers_filter(features: &BTreeSet<String>) -> u32 {
    features
        .iter()
        .filter_map(|f| f.strip_prefix('#'))
        .fold(0, |bits, n| bits | 1 << (fnv1a(n.as_bytes()) % 32))
}

/// Whether two passages state figures and none in common: then they tell of different
/// events, however many words they share ("shares rose 3% on Monday", "shares fell 5% on
/// Tuesday"). A rewording keeps its figures. With Bloom filters a false "in common" is
/// possible (it leaves the decision to the words); a false "none in common" is not.
fn other_figures(a: u32, b: u32) -> bool {
    a != 0 && b != 0 && a & b == 0
}

/// Whether two items of this execution (whose features are at hand) state the same thing:
/// no different figures (see `other_figures`) and a Jaccard index of at least `threshold`.
pub fn same_meaning(a: &BTreeSet<String>, b: &BTreeSet<String>, threshold: f64) -> bool {
    !other_figures(numbers_filter(a), numbers_filter(b)) && jaccard(a, b) >= threshold
}

/// Whether two stored sketches state the same thing: not stating different figures, and an
/// estimated Jaccard index of at least `threshold`.
pub fn same_sketch(a: &[u32], b: &[u32], threshold: f64) -> bool {
    if a.len() != SKETCH_WORDS || b.len() != SKETCH_WORDS {
        return false;
    }
    !other_figures(a[SKETCH_WORDS - 1], b[SKETCH_WORDS - 1]) && similarity(a, b) >= threshold
}

/// The Jaccard index of two feature sets (0 when both are empty: nothing is no story).
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// FNV-1a, 64 bits: a stable hash of a feature.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser: one independent-looking hash per slot from one feature hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sketch of a feature set ([`SKETCH_WORDS`] words: its b-bit MinHash, then the filter
/// of its numbers), or an empty one for an empty set (which resembles nothing).
pub fn sketch(features: &BTreeSet<String>) -> Vec<u32> {
    if features.is_empty() {
        return Vec::new();
    }
    let hashes: Vec<u64> = features.iter().map(|f| fnv1a(f.as_bytes())).collect();
    let mut words = vec![0u32; SKETCH_WORDS];
    words[SKETCH_WORDS - 1] = numbers_filter(features);
    for slot in 0..SLOTS {
        let seed = mix(slot as u64 + 1);
        let min = hashes
            .iter()
            .map(|h| mix(h ^ seed))
            .min()
            .unwrap_or_default();
        let bits = (min & ((1 << BITS) - 1)) as u32;
        words[slot / SLOTS_PER_WORD] |= bits << ((slot % SLOTS_PER_WORD) * BITS);
    }
    words
}

/// The Jaccard index two sketches estimate: the share of slots that agree, corrected for the
/// slots whose different minima agree by chance on their low bits. 0 for sketches of
/// another shape (empty, or stored by a different version).
///
/// The hashes, seeds and [`features`] are part of what is stored: changing any of them
/// makes earlier sketches incomparable (a rewording of an old story would be new once).
pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.len() != SKETCH_WORDS || b.len() != SKETCH_WORDS {
        return 0.0;
    }
    let mask = (1u32 << BITS) - 1;
    let mut agree = 0usize;
    for slot in 0..SLOTS {
        let shift = (slot % SLOTS_PER_WORD) * BITS;
        let (x, y) = (a[slot / SLOTS_PER_WORD], b[slot / SLOTS_PER_WORD]);
        if (x >> shift) & mask == (y >> shift) & mask {
            agree += 1;
        }
    }
    let chance = 1.0 / f64::from(1u32 << BITS);
    let share = agree as f64 / SLOTS as f64;
    ((share - chance) / (1.0 - chance)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_to_one_page() {
        let a = normalise_url("https://WWW.Example.com/news/?utm_source=x&id=3#top");
        assert_eq!(a, "https://example.com/news?id=3");
        assert_eq!(
            normalise_url("https://example.com/news/index.html"),
            "https://example.com/news"
        );
        assert_eq!(normalise_url("http://example.com/"), "http://example.com");
        assert_eq!(normalise_url("http://example.com"), "http://example.com");
        assert_eq!(
            normalise_url("http://127.0.0.1:8080/a/"),
            "http://127.0.0.1:8080/a"
        );
        assert_ne!(
            normalise_url("https://example.com/a?id=3"),
            normalise_url("https://example.com/a?id=4")
        );
        assert_eq!(normalise_url(" not a url "), "not a url");
        assert_eq!(normalise_url(""), "");
    }

    #[test]
    fn the_hash_ignores_whitespace_case_and_markup() {
        let a = content_hash("The canal  reopens on **12 June**.");
        assert_eq!(a, content_hash("the canal reopens\non 12 June"));
        assert_eq!(
            a,
            content_hash("The [canal](http://x.example/) reopens on 12 June!")
        );
        assert_eq!(a.len(), 16);
        assert_ne!(a, content_hash("The canal reopens on 13 June."));
        assert_eq!(content_hash(""), content_hash("   "));
    }

    /// Rewordings of one story by two pages, and other stories on the same topic:
    /// [`super::super::SAME_MEANING`] must sit between them, for the exact index and for the
    /// sketch's estimate.
    const SAME: &[(&str, &str)] = &[
        (
            "The Brindle canal will reopen to boats on 12 June 2025 after a two-year restoration of its locks.",
            "After two years of work restoring its locks, the Brindle Canal reopens to boats on June 12, 2025.",
        ),
        (
            "Acme Corp has appointed Dana Reyes chief executive. She succeeds John Park, who retires in March.",
            "Dana Reyes will take over as chief executive of Acme from John Park, who is retiring in March.",
        ),
        (
            "Heavy rain flooded the towpath near Millford lock on Tuesday, and the canal trust closed it until further notice.",
            "The canal trust has closed the Millford lock towpath until further notice after Tuesday's heavy rain flooded it.",
        ),
        (
            "Zorblax Robotics raised $40 million in a Series B round led by Northwind Ventures to expand its warehouse robots.",
            "Warehouse robot maker Zorblax Robotics has closed a $40m Series B, with Northwind Ventures leading the round.",
        ),
    ];
    const DIFFERENT: &[(&str, &str)] = &[
        (
            "The Brindle canal will reopen to boats on 12 June 2025 after a two-year restoration of its locks.",
            "The Brindle Canal Society elected Mary Holt as its chair at the annual meeting on the canal.",
        ),
        (
            "Acme Corp shares rose 3% on Monday after the quarterly results.",
            "Acme Corp shares fell 5% on Tuesday after the quarterly results.",
        ),
        (
            "Volunteers planted 400 trees along the Brindle canal towpath this winter.",
            "The Brindle canal restoration received a grant of 2 million pounds from the heritage fund.",
        ),
        (
            "Acme Corp has appointed Dana Reyes chief executive. She succeeds John Park, who retires in March.",
            "Acme Corp reported record quarterly revenue and raised its forecast for the year.",
        ),
        (
            "Zorblax Robotics raised $40 million in a Series B round led by Northwind Ventures to expand its warehouse robots.",
            "Zorblax Robotics opened a second warehouse robot factory in Leeds, adding 200 jobs.",
        ),
    ];

    #[test]
    fn rewordings_match_and_other_stories_do_not() {
        let threshold = super::super::SAME_MEANING;
        for (same, pairs) in [(true, SAME), (false, DIFFERENT)] {
            for (a, b) in pairs {
                let (fa, fb) = (features(a), features(b));
                let (sa, sb) = (sketch(&fa), sketch(&fb));
                eprintln!(
                    "{same} exact {:.3} estimate {:.3} {a} / {b}",
                    jaccard(&fa, &fb),
                    similarity(&sa, &sb)
                );
                assert_eq!(same_meaning(&fa, &fb, threshold), same, "{a} / {b}");
                assert_eq!(same_sketch(&sa, &sb, threshold), same, "{a} / {b}");
            }
        }
    }

    #[test]
    fn sketches_are_compact_stable_and_total() {
        let s = sketch(&features("The Brindle canal reopens on 12 June."));
        assert_eq!(s.len(), SKETCH_WORDS);
        assert_eq!(
            s,
            sketch(&features("the Brindle canal, reopened on 12 June"))
        );
        assert!((similarity(&s, &s) - 1.0).abs() < 1e-9);
        assert!(sketch(&BTreeSet::new()).is_empty());
        assert_eq!(similarity(&[], &[]), 0.0);
        assert_eq!(similarity(&s, &s[..3]), 0.0);
        assert!(!same_sketch(&[], &[], 0.0));
        assert_eq!(s[SKETCH_WORDS - 1], numbers_filter(&features("12")));
        assert_eq!(numbers_filter(&features("no figures")), 0);
        assert_eq!(jaccard(&BTreeSet::new(), &BTreeSet::new()), 0.0);
    }
}
