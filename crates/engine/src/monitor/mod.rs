//! Monitors: the engine's part of asking one question on a schedule and reporting only what
//! is new. The scheduler owns the schedule and the store keeps what earlier executions saw;
//! this module researches one execution and decides what in it is new.
//!
//! An event-stream execution ([`Watcher::detect`]) plans queries and searches as a task run
//! does ([`crate::pipeline::plan`], [`crate::pipeline::read::search`], the source policy), but
//! reads every page fresh ([`Freshness::Fresh`]): a page that changed since the last
//! execution is read as it is now. Pages are cut into items (paragraphs, list items, table
//! rows: [`items`]), and the items about the query are kept ([`items::relevant`]). Each is
//! keyed by its page's normalised URL, a hash of its normalised text and a sketch of its
//! meaning ([`sketch`]); an item is old when an earlier execution saw the same text (at any
//! URL) or one of the same meaning ([`SAME_MEANING`]). New items of the same meaning merge
//! into one finding citing every page that states them, and the best-ranked findings (BM25
//! against the query), at most [`max_findings`] of them, become the execution's events.
//!
//! Snapshot monitors re-run a task with [`fresh_processor`] and report what changed in its
//! output ([`snapshot_change`]).

pub mod items;
pub mod sketch;
mod snapshot;

pub use snapshot::snapshot_change;

use crate::pipeline::read::{self, Freshness};
use crate::pipeline::request::{OutputSpec, Request};
use crate::pipeline::{
    extractive, llm_synth, plan, unknown, Providers, ResearchProcessor, Source, SourcePassage,
};
use crate::{Budget, RunFailure};
use items::Item;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// The Jaccard index of two items' features ([`sketch::features`]) from which they state the
/// same thing (unless they state different figures: [`sketch::same_meaning`]).
///
/// In the unit tests' examples, one story told by two pages in other words scores 0.52 to
/// 0.88 (names and figures stay, verbs and word order change), and different stories on one
/// topic 0.11 to 0.19 (the topic's words and nothing else); stories of one template ("shares
/// rose 3% on Monday" / "fell 5% on Tuesday", 0.41) are told apart by their figures. 0.35 is
/// about the middle of the gap, and two standard errors of the sketch's estimate (±0.065
/// each) from either side. Its known limit: a follow-up told in the same words ("the trust
/// closed the towpath after the flood" / "reopened the towpath after the flood") scores
/// above it and is not reported.
pub const SAME_MEANING: f64 = 0.35;

/// Items remembered per execution, best-ranked first. A relevant item left out would come
/// back as "new" once it is ranked among those kept, so the bound is far above what a
/// processor's pages hold (a few dozen items each); it only stops a pathological page from
/// growing the store without end.
const MAX_OBSERVED: usize = 500;

/// Longest text of a finding's content, in characters: a few sentences.
const CONTENT_CHARS: usize = 700;

/// Longest one-line summary, in characters.
const SUMMARY_CHARS: usize = 200;

/// What an event_stream monitor watches.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The tenant the monitor belongs to: pages it reads are indexed for that tenant only.
    pub tenant: String,
    /// The monitor's id, for logs.
    pub monitor_id: String,
    /// The question asked on every execution.
    pub query: String,
    /// The monitor's `output_schema` as the client sent it (a JsonSchema object
    /// `{"type":"json","json_schema":{...}}`, or a text schema), or None: text output.
    pub output_schema: Option<Value>,
    /// `advanced_settings.source_policy` as sent (same JSON shape as a task run's
    /// source_policy), or None.
    pub source_policy: Option<Value>,
    /// `advanced_settings.location` (ISO 3166-1 alpha-2), or None. No search provider of
    /// this crate takes a location, so it is not used yet.
    pub location: Option<String>,
    /// The processor budget (`lite` or `base`): queries planned, pages read.
    pub budget: Budget,
}

impl Watch {
    /// The watch as the pipeline reads a task run's request.
    fn request(&self) -> Request {
        let mut stored = json!({"input": self.query});
        if let Some(schema) = &self.output_schema {
            stored["task_spec"] = json!({"output_schema": schema});
        }
        if let Some(policy) = &self.source_policy {
            stored["source_policy"] = policy.clone();
        }
        Request::from_stored(&stored)
    }
}

/// A finding remembered so later executions do not report it again: about 150 bytes of
/// JSON besides the URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenKey {
    /// The page's URL, normalised ([`sketch::normalise_url`]).
    pub url: String,
    /// 64 bits of SHA-256 of the item's normalised text, in hex ([`sketch::content_hash`]).
    pub content_hash: String,
    /// A b-bit MinHash of the item's content words: 64 slots of 4 bits in 8 words
    /// ([`sketch::sketch`]); empty when the item has no content word.
    pub signature: Vec<u32>,
}

/// Everything earlier executions of this monitor saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Every key earlier executions observed, in any order.
    pub keys: Vec<SeenKey>,
}

/// A new finding: becomes one event of the execution's event group.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `YYYY-MM-DD` (or `YYYY-MM`) when the finding's passage states a date, else the date
    /// its page was published, else None.
    pub event_date: Option<String>,
    /// Every source stating it (the same story from two sources is ONE finding with both
    /// URLs), best-ranked first.
    pub source_urls: Vec<String>,
    /// A task-run-style output object: `{"type":"text","content":"...","basis":[...]}` or
    /// `{"type":"json","content":{...},"basis":[...]}`, the basis in task runs' shape.
    pub output: Value,
    /// One line of plain text describing it (the v1alpha contract's `output` string).
    pub summary: String,
}

/// What one execution found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detection {
    /// New findings, already deduplicated against `seen` and merged by meaning. Empty:
    /// nothing new (the execution is a "completion").
    pub findings: Vec<Finding>,
    /// Keys of everything relevant read this time (reported or not), for the store to
    /// remember; one per distinct text.
    pub observed: Vec<SeenKey>,
}

/// Most findings one execution reports: five for `lite` (three pages), ten for `base` (six),
/// in proportion to the pages read. New items beyond it are remembered, not reported: a
/// monitor reports the most relevant news of each execution, not a backlog.
pub fn max_findings(budget: Budget) -> usize {
    (budget.sources as usize * 5 / 3).max(1)
}

/// Runs event-stream executions over the research providers.
pub struct Watcher {
    providers: Providers,
}

/// A relevant item of this execution, keyed.
struct Observed {
    item: Item,
    key: SeenKey,
    features: BTreeSet<String>,
}

impl Watcher {
    /// A watcher reading with `providers` (their fetch cache is bypassed: see
    /// [`Freshness::Fresh`]).
    pub fn new(providers: Providers) -> Watcher {
        Watcher { providers }
    }

    /// Researches `watch` once and returns what is new against `seen`. `report == false`:
    /// the first execution of a monitor without backfill — read and return `observed`, but
    /// no findings. Fails when no search could be made (every provider failed) or none of
    /// the pages found could be read: "nothing new" would then be a guess.
    ///
    /// Cancellation-safe: nothing is written but the fetch cache and the index, which only
    /// take whole pages.
    pub async fn detect(
        &self,
        watch: &Watch,
        seen: &Seen,
        report: bool,
    ) -> Result<Detection, RunFailure> {
        let request = watch.request();
        let budget = watch.budget;
        let queries = plan::queries(&request, None, budget.queries as usize);
        let candidates = read::search(
            &self.providers,
            &watch.tenant,
            &queries,
            &request.policy,
            (budget.sources as usize * 2).max(10),
            false,
        )
        .await;
        if candidates.urls.is_empty() && !candidates.warnings.is_empty() {
            let why: Vec<&str> = candidates
                .warnings
                .iter()
                .filter_map(|w| w["message"].as_str())
                .collect();
            return Err(RunFailure::new(format!(
                "No search could be made: {}",
                why.join("; ")
            )));
        }
        let found = candidates.urls.len();
        let read = read::read_sources_with(
            &self.providers,
            &watch.tenant,
            candidates.urls,
            &request,
            budget.sources as usize,
            Freshness::Fresh,
        )
        .await;
        if read.sources.is_empty() && read.failures > 0 {
            return Err(RunFailure::new(format!(
                "None of the {found} pages found could be read"
            )));
        }
        let observed = observe(&request.objective, &read.sources);
        tracing::debug!(
            monitor = %watch.monitor_id,
            pages = read.sources.len(),
            relevant = observed.len(),
            "monitor execution read its pages"
        );
        let keys = distinct_keys(&observed);
        if !report {
            return Ok(Detection {
                findings: Vec::new(),
                observed: keys,
            });
        }
        let fresh: Vec<&Observed> = observed.iter().filter(|o| !is_old(o, seen)).collect();
        let mut groups = merge(&fresh);
        groups.truncate(max_findings(budget));
        let mut findings = Vec::with_capacity(groups.len());
        for group in groups {
            findings.push(self.finding(&request, &read.sources, &group).await);
        }
        Ok(Detection {
            findings,
            observed: keys,
        })
    }

    /// The finding a group of items of one meaning makes.
    async fn finding(&self, request: &Request, read: &[Source], group: &[&Observed]) -> Finding {
        let sources = finding_sources(read, group);
        let best = &group[0].item;
        let plain = crate::extract::markdown_to_text(&best.text);
        let output = match &request.output {
            OutputSpec::Json(schema) => self.json_output(request, schema, &sources).await,
            OutputSpec::Text(_) | OutputSpec::Auto => text_output(&sources, &best.text),
        };
        Finding {
            event_date: event_date(group, read),
            source_urls: sources.iter().map(|s| s.url.clone()).collect(),
            output,
            summary: summary(&plain),
        }
    }

    /// A JSON output filled from the finding's passages only, by the pipeline's synthesis
    /// (the LLM when one is configured, else the extractive reader), with the fallbacks of
    /// fields it does not state.
    async fn json_output(&self, request: &Request, schema: &Value, sources: &[Source]) -> Value {
        // One round: the finding's passages are few, and more rounds only read deeper.
        let rounds = 1;
        let mut synthesis = match &self.providers.llm {
            Some(llm) => {
                match llm_synth::json_output(llm, request, schema, sources, rounds).await {
                    Ok(s) => s,
                    Err(error) => {
                        tracing::info!(%error, "the LLM could not fill a monitor finding; extracting it");
                        extractive::json_output(request, schema, sources, rounds)
                    }
                }
            }
            None => extractive::json_output(request, schema, sources, rounds),
        };
        if synthesis.content.is_object() {
            // A finding has no run to carry warnings: the basis says what is unknown.
            let mut warnings = Vec::new();
            unknown::settle(
                schema,
                &mut synthesis.content,
                &mut synthesis.basis,
                &mut warnings,
            );
        }
        json!({"type": "json", "content": synthesis.content, "basis": synthesis.basis})
    }
}

/// The relevant items of the pages read, keyed, best-ranked first.
fn observe(query: &str, sources: &[Source]) -> Vec<Observed> {
    let terms = items::query_terms(query);
    let relevant: Vec<Item> = items::items(sources)
        .into_iter()
        .filter(|item| items::relevant(&terms, &item.text))
        .collect();
    let plain: Vec<String> = relevant
        .iter()
        .map(|i| crate::extract::markdown_to_text(&i.text))
        .collect();
    let refs: Vec<&str> = plain.iter().map(String::as_str).collect();
    let mut order: Vec<usize> = crate::rank::rank(query, &refs)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    // Items the ranking left out (none share no word with the query, but the order must
    // hold every item whatever the ranking does) follow in page order.
    let ranked: BTreeSet<usize> = order.iter().copied().collect();
    order.extend((0..relevant.len()).filter(|i| !ranked.contains(i)));
    let mut slots: Vec<Option<Item>> = relevant.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .map(|item| {
            let features = sketch::features(&item.text);
            let key = SeenKey {
                url: sketch::normalise_url(&sources[item.source].url),
                content_hash: sketch::content_hash(&item.text),
                signature: sketch::sketch(&features),
            };
            Observed {
                item,
                key,
                features,
            }
        })
        .collect()
}

/// One key per distinct text (the same paragraph on every page of a site is one), at most
/// [`MAX_OBSERVED`].
fn distinct_keys(observed: &[Observed]) -> Vec<SeenKey> {
    let mut hashes = BTreeSet::new();
    observed
        .iter()
        .filter(|o| hashes.insert(o.key.content_hash.clone()))
        .take(MAX_OBSERVED)
        .map(|o| o.key.clone())
        .collect()
}

/// Whether an earlier execution saw this item: the same text at the same URL, the same text
/// at another URL (the hash alone decides both), or the same meaning anywhere.
fn is_old(observed: &Observed, seen: &Seen) -> bool {
    seen.keys.iter().any(|k| {
        k.content_hash == observed.key.content_hash
            || sketch::same_sketch(&k.signature, &observed.key.signature, SAME_MEANING)
    })
}

/// New items grouped by meaning (the same text, or [`SAME_MEANING`] by the exact index of
/// their features: within one execution the texts are at hand), each group in rank order and
/// the groups in the order of their best item.
fn merge<'a>(fresh: &[&'a Observed]) -> Vec<Vec<&'a Observed>> {
    let mut groups: Vec<Vec<&Observed>> = Vec::new();
    for &item in fresh {
        let home = groups.iter_mut().find(|group| {
            group.iter().any(|other| {
                other.key.content_hash == item.key.content_hash
                    || sketch::same_meaning(&other.features, &item.features, SAME_MEANING)
            })
        });
        match home {
            Some(group) => group.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

/// The finding's pages, each holding only the finding's items, in the order of their best
/// item; one page per normalised URL.
fn finding_sources(read: &[Source], group: &[&Observed]) -> Vec<Source> {
    let mut out: Vec<(String, Source)> = Vec::new();
    for observed in group {
        let passage = SourcePassage {
            text: observed.item.text.clone(),
            heading: observed.item.heading.clone(),
        };
        if let Some((_, source)) = out.iter_mut().find(|(url, _)| *url == observed.key.url) {
            if !source.passages.iter().any(|p| p.text == passage.text) {
                source.passages.push(passage);
            }
            continue;
        }
        let Some(page) = read.get(observed.item.source) else {
            continue;
        };
        out.push((
            observed.key.url.clone(),
            Source {
                url: page.url.clone(),
                title: page.title.clone(),
                published: page.published,
                passages: vec![passage],
            },
        ));
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// A text output: the finding as its best page states it, and one basis entry citing every
/// page with what each says.
fn text_output(sources: &[Source], best: &str) -> Value {
    let content = clip(best.trim(), CONTENT_CHARS);
    let citations: Vec<Value> = sources
        .iter()
        .map(|source| {
            let mut citation = Map::new();
            citation.insert("url".into(), json!(source.url));
            if let Some(title) = &source.title {
                citation.insert("title".into(), json!(title));
            }
            let excerpts: Vec<String> = source
                .passages
                .iter()
                .map(|p| crate::extract::tables_as_text(&clip(p.text.trim(), CONTENT_CHARS)))
                .collect();
            citation.insert("excerpts".into(), json!(excerpts));
            Value::Object(citation)
        })
        .collect();
    // Two pages stating one thing corroborate it; one page is one account.
    let (confidence, reasoning) = if sources.len() > 1 {
        (
            "high",
            format!(
                "New since the monitor's last execution; {} pages state it, quoted as the best-ranked one states it.",
                sources.len()
            ),
        )
    } else {
        (
            "medium",
            "New since the monitor's last execution; quoted as the one page that states it states it.".to_owned(),
        )
    };
    json!({
        "type": "text",
        "content": content,
        "basis": [{
            "field": "output",
            "citations": citations,
            "reasoning": reasoning,
            "confidence": confidence,
        }],
    })
}

/// The date a finding's items state (the first full date, else a month), else the date its
/// first dated page was published.
fn event_date(group: &[&Observed], read: &[Source]) -> Option<String> {
    for observed in group {
        let plain = crate::extract::markdown_to_text(&observed.item.text);
        if let Some(date) = crate::dates::dates_in(&plain).into_iter().next() {
            return Some(date.value);
        }
        if let Some(month) = crate::dates::months_in(&plain).into_iter().next() {
            return Some(month.value);
        }
    }
    group
        .iter()
        .filter_map(|o| read.get(o.item.source)?.published)
        .map(|d| d.to_string())
        .next()
}

/// One line: the first sentence of `plain`, clipped.
fn summary(plain: &str) -> String {
    let line = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = line
        .match_indices(['.', '!', '?'])
        .map(|(i, _)| i + 1)
        .find(|&end| line[end..].starts_with(' ') && end >= 20)
        .map_or(line.as_str(), |end| &line[..end]);
    clip(first, SUMMARY_CHARS)
}

/// `text` cut to at most `max` characters: at a sentence end when one is past half of it,
/// else at a word, with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let sentence_end = ["! ", ". ", "? "]
        .iter()
        .filter_map(|end| head.rfind(end))
        .max()
        .filter(|&i| i >= cut / 2);
    if let Some(end) = sentence_end {
        return head[..=end].to_owned();
    }
    let at_word = head.rfind(char::is_whitespace).unwrap_or(cut);
    format!("{}…", head[..at_word].trim_end())
}

/// A processor for snapshot monitors' re-executions: the same research pipeline but reading
/// every page fresh (no fetch-cache answer older than the execution, no index copy preferred
/// over a live fetch; see [`Freshness::Fresh`]).
pub fn fresh_processor(providers: Providers) -> ResearchProcessor {
    ResearchProcessor::with_freshness(providers, Freshness::Fresh)
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
