//! Passage ranking: BM25 over the candidate passages of one run.
//!
//! Statistics (document frequencies, average length) are computed over the passages being
//! ranked, not a global corpus: a run ranks the few hundred passages it read, and what is
//! rare among them is what distinguishes them. Tokens are lower-cased runs of letters and
//! digits with common English function words dropped, so a question's phrasing ("what is
//! the …") does not outweigh its content words.

use std::collections::HashMap;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalisation.
const B: f32 = 0.75;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "has",
    "have", "how", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was",
    "were", "what", "when", "where", "which", "who", "whom", "why", "with",
];

/// The ranking tokens of `text`.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .filter(|t| !STOPWORDS.contains(&t.as_str()))
        .collect()
}

/// The form a token is matched by: its first six characters, a crude but robust stemmer
/// ("employees" and "employs" meet at "employ"; "founded" and "founding" at "founde").
pub fn stem(token: &str) -> String {
    token.chars().take(6).collect()
}

/// Scores every passage against `query`; returns `(index, score)` best first, leaving out
/// passages that share no token with the query. Ties keep the passages' order.
pub fn rank(query: &str, passages: &[&str]) -> Vec<(usize, f32)> {
    let mut query_terms: Vec<String> = tokens(query).iter().map(|t| stem(t)).collect();
    query_terms.sort();
    query_terms.dedup();
    if query_terms.is_empty() || passages.is_empty() {
        return Vec::new();
    }
    let docs: Vec<Vec<String>> = passages
        .iter()
        .map(|p| tokens(p).iter().map(|t| stem(t)).collect())
        .collect();
    let n = docs.len() as f32;
    let avg_len = (docs.iter().map(Vec::len).sum::<usize>() as f32 / n).max(1.0);
    let mut doc_freq: HashMap<&str, f32> = HashMap::new();
    for doc in &docs {
        let mut seen: Vec<&str> = doc
            .iter()
            .map(String::as_str)
            .filter(|t| query_terms.iter().any(|q| q == t))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for term in seen {
            *doc_freq.entry(term).or_default() += 1.0;
        }
    }
    let mut scored: Vec<(usize, f32)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, doc)| {
            let len = doc.len() as f32;
            let score: f32 = query_terms
                .iter()
                .map(|term| {
                    let tf = doc.iter().filter(|t| *t == term).count() as f32;
                    if tf == 0.0 {
                        return 0.0;
                    }
                    let df = doc_freq.get(term.as_str()).copied().unwrap_or(0.0);
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len))
                })
                .sum();
            (score > 0.0).then_some((i, score))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_function_words_and_case() {
        assert_eq!(
            tokens("What was the GDP of France, in 2023?"),
            ["gdp", "france", "2023"]
        );
    }

    #[test]
    fn the_passage_about_the_question_wins() {
        let passages = [
            "France is a country in Western Europe with a long history.",
            "In 2023 the GDP of France was about $3.1 trillion, according to the IMF.",
            "The weather in Paris is mild in spring.",
            "Germany's GDP in 2023 was $4.5 trillion.",
        ];
        let ranked = rank("GDP of France in 2023", &passages);
        assert_eq!(ranked[0].0, 1);
        assert!(ranked.iter().all(|(i, _)| *i != 2), "{ranked:?}");
        assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1));
    }

    #[test]
    fn rare_terms_outweigh_common_ones() {
        let passages = ["acme acme acme", "acme zephyrine", "acme", "acme widgets"];
        assert_eq!(rank("acme zephyrine", &passages)[0].0, 1);
    }

    #[test]
    fn empty_inputs_rank_nothing() {
        assert!(rank("the of and", &["anything"]).is_empty());
        assert!(rank("query", &[]).is_empty());
    }
}
