//! A text output: the sentences and table rows of the best passages that answer the
//! question, each with a numbered citation.

use super::entity::entity_words;
use super::{citation, Corpus, GENERIC_WORDS, QUESTION_WORDS};
use crate::pipeline::request::Request;
use crate::pipeline::{Source, Synthesis};
use crate::rank::{stem, tokens};
use crate::typed::FieldType;
use serde_json::{json, Value};

/// Words of questions that ask for a count or an amount: the answer states a number.
pub(super) const NUMBER_QUESTIONS: &[&str] =
    &["how many", "how much", "number of", "population", "how old"];

/// The statements of a passage with how many of `keywords` each names: its sentences, and
/// each table row with a value in every cell as one statement (its cells as the page shows
/// them).
pub(super) fn statements_of(passage: &str, keywords: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut prose = String::new();
    for line in passage.lines() {
        let t = line.trim();
        if !t.starts_with('|') {
            prose.push_str(line);
            prose.push('\n');
            continue;
        }
        out.extend(prose_statements(&prose, keywords));
        prose.clear();
        let row = crate::extract::tables_as_text(t);
        let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
        if row.trim().is_empty() || cells.iter().any(|c| c.is_empty()) {
            continue;
        }
        let text = cells.join(" ");
        let hits = crate::typed::sentences_naming(&text, keywords)
            .into_iter()
            .map(|(_, h)| h)
            .max()
            .unwrap_or(0);
        out.push((text, hits));
    }
    out.extend(prose_statements(&prose, keywords));
    out
}

/// The sentences of prose that read as statements: a heading or a title line ("Annual
/// Report 2023") states nothing.
pub(super) fn prose_statements(prose: &str, keywords: &str) -> Vec<(String, usize)> {
    crate::typed::sentences_naming(prose, keywords)
        .into_iter()
        .filter(|(s, _)| {
            s.ends_with(['.', '!', '?', '"', '”', ')']) || s.split_whitespace().count() >= 8
        })
        .collect()
}

/// Whether `sentence` gives a count or an amount next to the question's words: a number
/// that is not a year, a percentage or a date.
pub(super) fn states_a_count(sentence: &str, focus: &str) -> bool {
    crate::typed::find_value(&FieldType::Number, sentence, focus).is_some_and(|f| {
        let after = sentence
            .split_once(f.evidence.as_str())
            .map_or("", |(_, rest)| rest)
            .trim_start();
        let year =
            f.evidence.len() == 4 && f.value.as_i64().is_some_and(|y| (1800..=2100).contains(&y));
        f.plain && !year && !after.starts_with('%') && !after.starts_with("per cent")
    })
}

/// First words of questions that ask for an overview of their subject.
pub(super) const OVERVIEW_WORDS: &[&str] = &[
    "describe",
    "summarise",
    "summarize",
    "overview",
    "tell",
    "explain",
    "outline",
    "report",
];

/// Most sentences quoted from one page in a report.
pub(super) const REPORT_SENTENCES_PER_PAGE: usize = 3;

/// A sentence that answers: it names what the question asks (a word of it besides the
/// entity's), on a page or in a passage about the entity, with a number when a count is
/// asked.
pub(super) struct Statement {
    source: usize,
    sentence: String,
}

/// The statements of the sources that answer the question, best-ranked first, at most
/// `per_page` from one page.
pub(super) fn answering_statements(
    corpus: &Corpus<'_>,
    request: &Request,
    query: &str,
    per_page: usize,
) -> Vec<Statement> {
    let entity = entity_words(request);
    let asked: Vec<String> = entity.iter().map(|w| stem(w)).collect();
    let focus: Vec<String> = tokens(query)
        .into_iter()
        .filter(|w| {
            !asked.contains(&stem(w))
                && !QUESTION_WORDS.contains(&w.as_str())
                && !GENERIC_WORDS.contains(&w.as_str())
        })
        .collect();
    let lower = query.to_lowercase();
    // "Describe X", "Tell me about X": every sentence about X answers, when none names a
    // narrower topic of the question.
    let overview = lower
        .split_whitespace()
        .next()
        .is_some_and(|w| OVERVIEW_WORDS.contains(&w));
    let focus = if focus.is_empty() {
        entity.join(" ")
    } else {
        focus.join(" ")
    };
    let wants_number = NUMBER_QUESTIONS.iter().any(|q| lower.contains(q));
    let mut out: Vec<Statement> = Vec::new();
    // Half the entity's words, as forms of the words: "Tarrowfield" does not name
    // "Tarrowmoor Springs".
    let names_half = |text: &str| {
        let words = tokens(text);
        let named = entity
            .iter()
            .filter(|e| words.iter().any(|w| crate::typed::stem_eq(w, e)))
            .count();
        named * 2 >= entity.len()
    };
    for at in corpus.rank(query) {
        let title_names = entity.is_empty()
            || names_half(corpus.sources[at.source].title.as_deref().unwrap_or(""));
        for (sentence, hits) in statements_of(corpus.text(at), &focus) {
            let from_page = out.iter().filter(|s| s.source == at.source).count();
            if hits == 0
                || from_page >= per_page
                || !(title_names || names_half(&sentence))
                || (wants_number && !states_a_count(&sentence, &focus))
                || out.iter().any(|s| s.sentence == sentence)
            {
                continue;
            }
            out.push(Statement {
                source: at.source,
                sentence,
            });
        }
    }
    if out.is_empty() && overview && focus != entity.join(" ") {
        let mut broad = request.clone();
        broad.objective = entity.join(" ");
        return answering_statements(corpus, &broad, &entity.join(" "), per_page);
    }
    out
}

/// A markdown answer: the sentences of the sources that answer the question, the best
/// first, each with a numbered citation, and the pages listed. When no sentence answers,
/// the answer says so. From `pro` (three synthesis rounds) up, a report: the answer, then
/// the findings of each page under its title, every claim cited.
pub fn text_output(
    request: &Request,
    description: Option<&str>,
    sources: &[Source],
    rounds: u32,
) -> Synthesis {
    let corpus = Corpus::new(sources);
    let query = format!("{} {}", request.objective, description.unwrap_or(""));
    let report = rounds >= 3;
    let wanted_pages = 2 + rounds.max(1) as usize;
    let per_page = if report { REPORT_SENTENCES_PER_PAGE } else { 1 };
    let statements = answering_statements(&corpus, request, &query, per_page);
    // Pages in the order of their best statement, at most `wanted_pages`.
    let mut pages: Vec<usize> = Vec::new();
    for s in &statements {
        if !pages.contains(&s.source) && pages.len() < wanted_pages {
            pages.push(s.source);
        }
    }
    if pages.is_empty() {
        return Synthesis {
            content: json!(format!(
                "No source read in this run states an answer to this question ({}).",
                request.objective.trim()
            )),
            basis: vec![json!({
                "field": "output",
                "citations": [],
                "reasoning": "Extractive synthesis (no LLM): no sentence of the pages read names what the question asks about the subject it names, so nothing is quoted.",
                "confidence": "low",
            })],
            warnings: vec![
                json!({"type": "warning", "message": "No source read in this run answers the question."}),
            ],
        };
    }
    let number = |source: usize| pages.iter().position(|p| *p == source).map(|i| i + 1);
    let cited: Vec<&Statement> = statements
        .iter()
        .filter(|s| number(s.source).is_some())
        .collect();
    let mut markdown = String::new();
    if report {
        let first = cited[0];
        markdown.push_str(&format!(
            "## Answer\n\n{} [{}]\n\n## Findings\n",
            first.sentence,
            number(first.source).unwrap_or(1)
        ));
        for &page in &pages {
            let source = &sources[page];
            markdown.push_str(&format!(
                "\n### {}\n\n",
                source.title.as_deref().unwrap_or(&source.url)
            ));
            for s in cited.iter().filter(|s| s.source == page) {
                markdown.push_str(&format!(
                    "- {} [{}]\n",
                    s.sentence,
                    number(page).unwrap_or(1)
                ));
            }
        }
    } else {
        let lines: Vec<String> = pages
            .iter()
            .filter_map(|&page| cited.iter().find(|s| s.source == page))
            .map(|s| format!("{} [{}]", s.sentence, number(s.source).unwrap_or(1)))
            .collect();
        markdown.push_str(&lines.join("\n\n"));
        markdown.push('\n');
    }
    markdown.push_str("\n**Sources**\n");
    for (i, &page) in pages.iter().enumerate() {
        let source = &sources[page];
        markdown.push_str(&format!(
            "\n{}. [{}]({})",
            i + 1,
            source.title.as_deref().unwrap_or(&source.url),
            source.url
        ));
    }
    let citations: Vec<Value> = pages
        .iter()
        .map(|&page| {
            let quoted: Vec<&str> = cited
                .iter()
                .filter(|s| s.source == page)
                .map(|s| s.sentence.as_str())
                .collect();
            let mut c = citation(&sources[page], quoted[0]);
            c["excerpts"] = json!(quoted);
            c
        })
        .collect();
    let confidence = if pages.len() > 1 { "medium" } else { "low" };
    let how = if report {
        "a report: the best-ranked answering sentence, then each page's answering sentences under its title"
    } else {
        "the best-ranked answering sentence of each page"
    };
    Synthesis {
        content: json!(markdown),
        basis: vec![json!({
            "field": "output",
            "citations": citations,
            "reasoning": format!(
                "Extractive synthesis (no LLM): {how}, from {} page(s); a sentence answers when it names what the question asks, on a page about its subject. Each is cited.",
                pages.len()
            ),
            "confidence": confidence,
        })],
        warnings: Vec::new(),
    }
}
