//! FindAll: finding every entity of a type that meets a set of conditions.
//!
//! Two steps, each called by the scheduler's FindAll worker through [`Finder`]:
//!
//! 1. **Generate** ([`Finder::generate`]): search every configured provider with queries
//!    planned from the objective, the entity type and the conditions; read the best pages
//!    (fetched when they can be, so their links are known; else the local index's copy);
//!    take candidates from pages that are one entity's own page (the title names it), from
//!    list items and table rows that name entities (linking to their own pages where they
//!    do), and from names in prose that carry an organisation word or a word of the entity
//!    type. Candidates are deduplicated by [`text::name_key`] and by their own page's URL,
//!    and `exclude_list` entries never become candidates. [`Breadth`] says how many queries
//!    and pages each generator spends.
//! 2. **Evaluate** ([`Finder::evaluate`]): read the candidate's own page (or the page that
//!    named it), then search for it by name; keep the statements about it (every statement
//!    of its own page, the sentences and rows that name it elsewhere) and judge each
//!    condition from them ([`conditions`]). A candidate matches only when every condition is
//!    supported; unknown is not a match. Each condition gets a basis: the statements that
//!    decided it, with their pages, reasoning and a confidence.
//!
//! [`suggest_schema`] turns an objective into a suggested [`FindAllSchema`] (ingest).

pub mod conditions;
pub mod llm_judge;
pub mod text;

use crate::fetch::CacheOptions;
use crate::pipeline::{read, Providers};
use crate::policy::SourcePolicy;
use crate::web::page::{read_page, IndexUse, PageOrigin, PageRead, ReadOptions};
use async_trait::async_trait;
use conditions::{read_condition, read_statement, Bearing, Reading, Test};
use futures::StreamExt;
use parallax_api::findall::{
    Candidate, Excluded, FindAllSchema, Generator, MatchCondition, MatchStatus,
};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use text::{name_key, statements, type_words, url_key, Statement};

/// How broadly a generator looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breadth {
    /// Search queries issued to generate candidates.
    pub queries: usize,
    /// Results taken per query.
    pub per_query: usize,
    /// Pages read to generate candidates.
    pub pages: usize,
    /// Most candidates generated.
    pub max_candidates: usize,
    /// Pages read per candidate besides its own (found by searching its name).
    pub evaluation_pages: usize,
}

/// The breadth of each generator: `preview` is a quick look (about ten candidates), then
/// `base` < `core` < `pro` in queries issued and pages read.
pub fn breadth(generator: Generator) -> Breadth {
    match generator {
        Generator::Preview => Breadth {
            queries: 2,
            per_query: 10,
            pages: 6,
            max_candidates: 10,
            evaluation_pages: 1,
        },
        Generator::Base => Breadth {
            queries: 3,
            per_query: 20,
            pages: 15,
            max_candidates: 300,
            evaluation_pages: 2,
        },
        Generator::Core => Breadth {
            queries: 6,
            per_query: 40,
            pages: 40,
            max_candidates: 1500,
            evaluation_pages: 3,
        },
        Generator::Pro => Breadth {
            queries: 10,
            per_query: 200,
            pages: 400,
            max_candidates: 5000,
            evaluation_pages: 4,
        },
    }
}

/// A candidate found by generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its run-unique key ([`text::name_key`]).
    pub key: String,
    pub name: String,
    /// Its own page when one is known, else the page that named it.
    pub url: String,
    pub description: Option<String>,
}

/// A candidate's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: MatchStatus,
    /// Condition name → `{value, type: "match_condition", is_matched}`.
    pub output: Map<String, Value>,
    /// One `FieldBasis` per condition.
    pub basis: Vec<Value>,
}

/// What the FindAll worker needs from the engine.
#[async_trait]
pub trait Finder: Send + Sync + 'static {
    /// Candidates for `schema`, best first, at most the generator's
    /// [`Breadth::max_candidates`], none of them excluded. An error when no search could be
    /// made at all (every provider failed), saying why.
    async fn generate(
        &self,
        tenant: &str,
        schema: &FindAllSchema,
        generator: Generator,
        exclude: &[Excluded],
    ) -> Result<Vec<Found>, String>;
    /// Judges `candidate` against every condition of `schema`.
    async fn evaluate(
        &self,
        tenant: &str,
        schema: &FindAllSchema,
        generator: Generator,
        candidate: &Candidate,
    ) -> Verdict;
}

/// The FindAll pipeline over the research providers.
pub struct FindAllPipeline {
    providers: Providers,
}

impl FindAllPipeline {
    pub fn new(providers: Providers) -> Self {
        FindAllPipeline { providers }
    }

    /// How FindAll uses the shared fetch cache: the operator's maximum age, and an older copy
    /// when a live fetch fails.
    fn cache_options(&self) -> CacheOptions {
        CacheOptions {
            max_age: self.providers.cache_max_age,
            timeout: None,
            stale_fallback: true,
        }
    }

    /// Reads a page, fetching it when possible (its links matter here) and falling back to
    /// the local index's copy.
    async fn read(&self, tenant: &str, url: &str) -> Option<PageRead> {
        let options = ReadOptions {
            cache: self.cache_options(),
            index: IndexUse::Fallback,
            fetch: true,
        };
        // On a failed fetch (a file added with `index add`, a host that went away) this
        // answers the index's copy, when the tenant may see one.
        read_page(&self.providers, tenant, url, &options).await.ok()
    }

    /// The `<title>` of the page's fetched copy (the shared cache answers it without a new
    /// fetch): extraction may title a page by its heading ("About the centre") where the
    /// document title names its subject ("About the centre - Brightwater Language Centre").
    async fn document_title(&self, page: &PageRead) -> Option<String> {
        // A copy from the index has no document; asking the cache would fetch anew.
        if matches!(page.origin, PageOrigin::Index) {
            return None;
        }
        let cached = self
            .providers
            .fetch
            .fetch_with(&page.url, &self.cache_options())
            .await
            .ok()?;
        let head = &cached.page.body[..cached.page.body.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(head);
        let lower = text.to_ascii_lowercase();
        let open = lower.find("<title")?;
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find("</title")?;
        let title = text[start..end]
            .replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (!title.is_empty()).then_some(title)
    }

    /// What `page` says about `candidate`.
    async fn about(&self, page: &PageRead, candidate: &Candidate) -> PageStatements {
        let title = self.document_title(page).await;
        let (own, statements) = statements_about(page, title.as_deref(), candidate);
        PageStatements {
            url: page.url.clone(),
            title: page.title.clone(),
            own,
            statements,
        }
    }

    async fn search(&self, tenant: &str, queries: &[String], per_query: usize) -> Vec<String> {
        self.search_or_fail(tenant, queries, per_query).await.0
    }

    /// The pages found, best first, and whether every search failed (nothing found and at
    /// least one provider reported an error).
    async fn search_or_fail(
        &self,
        tenant: &str,
        queries: &[String],
        per_query: usize,
    ) -> (Vec<String>, Option<String>) {
        let found = read::search(
            &self.providers,
            tenant,
            queries,
            &SourcePolicy::default(),
            per_query,
            false,
        )
        .await;
        let failed = (found.urls.is_empty() && !found.warnings.is_empty()).then(|| {
            found
                .warnings
                .iter()
                .filter_map(|w| w["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        });
        (found.urls.into_iter().map(|c| c.url).collect(), failed)
    }
}

/// Search queries for generation: the objective, the entity type alone and with each
/// condition, and list-finding forms.
pub fn generation_queries(schema: &FindAllSchema, n: usize) -> Vec<String> {
    let mut queries = vec![schema.objective.clone(), schema.entity_type.clone()];
    for c in &schema.match_conditions {
        let first = c.description.split(". ").next().unwrap_or(&c.description);
        queries.push(format!("{} {}", schema.entity_type, first));
    }
    queries.push(format!("list of {}", schema.entity_type));
    queries.push(format!("{} directory", schema.entity_type));
    let mut seen = std::collections::HashSet::new();
    queries.retain(|q| seen.insert(q.to_lowercase()));
    queries.truncate(n.max(1));
    queries
}

/// How strongly a generation source vouches for a candidate: its own page, then a list
/// linking to its page, a list naming it, and prose naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Vouch {
    Prose,
    Listed,
    ListedWithPage,
    OwnPage,
}

/// The entity a page is about, when it is one entity's own page: its title names one thing
/// (not a list, not a headline) and the page speaks of the entity type.
fn own_page_entity(page: &PageRead, entity_type: &str) -> Option<(String, String)> {
    let title = page.title.as_deref()?;
    let mut name = text::title_name(title);
    for prefix in ["About ", "Welcome to ", "Home - ", "Contact "] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_string();
        }
    }
    if !text::looks_like_name(&name) || text::is_list_title(title, entity_type) {
        return None;
    }
    let lower = page.extracted.text.to_lowercase();
    let words = type_words(entity_type);
    let speaks_of_type = words.iter().any(|w| lower.contains(w.as_str()));
    if !speaks_of_type {
        return None;
    }
    let description = statements(&page.extracted.markdown)
        .into_iter()
        .map(|s| s.text)
        .find(|t| t.split_whitespace().count() >= 6)
        .unwrap_or_default();
    Some((name, description))
}

/// The core of a name key, when it has one of at least two words before "of", "for" or
/// "and": a school's short name and its full one are one entity ("kestwick school" of
/// "kestwick school of english"), but "bank of england" and "bank of scotland" are not.
fn name_core(key: &str) -> Option<String> {
    let words: Vec<&str> = key.split(' ').collect();
    let cut = words
        .iter()
        .position(|w| ["of", "for", "and"].contains(w))
        .unwrap_or(words.len());
    (cut >= 2).then(|| words[..cut].join(" "))
}

/// Gathers candidates in order of first appearance; a stronger source for a name already
/// found replaces its URL and description.
#[derive(Default)]
struct Gathered {
    found: Vec<(Found, Vouch)>,
    by_key: HashMap<String, usize>,
    by_url: HashMap<String, usize>,
    /// By a name's core ([`name_core`]): "Kestwick School" and "Kestwick School of English".
    by_core: HashMap<String, usize>,
    excluded_keys: std::collections::HashSet<String>,
    excluded_urls: std::collections::HashSet<String>,
}

impl Gathered {
    fn new(exclude: &[Excluded]) -> Self {
        Gathered {
            excluded_keys: exclude.iter().map(|e| name_key(&e.name)).collect(),
            excluded_urls: exclude.iter().map(|e| url_key(&e.url)).collect(),
            ..Default::default()
        }
    }

    fn add(&mut self, name: &str, url: &str, description: &str, vouch: Vouch) {
        let key = name_key(name);
        let own_url = matches!(vouch, Vouch::OwnPage | Vouch::ListedWithPage).then(|| url_key(url));
        if key.is_empty()
            || self.excluded_keys.contains(&key)
            || own_url
                .as_ref()
                .is_some_and(|u| self.excluded_urls.contains(u))
        {
            return;
        }
        let core = name_core(&key);
        let existing = self
            .by_key
            .get(&key)
            .or_else(|| own_url.as_ref().and_then(|u| self.by_url.get(u)))
            .or_else(|| core.as_ref().and_then(|c| self.by_core.get(c)))
            .copied();
        let description = (!description.trim().is_empty()).then(|| description.trim().to_string());
        match existing {
            Some(i) => {
                let (found, old) = &mut self.found[i];
                if vouch > *old {
                    found.url = url.to_string();
                    if description.is_some() {
                        found.description = description;
                    }
                    *old = vouch;
                }
                self.by_key.insert(key, i);
                if let Some(u) = own_url {
                    self.by_url.insert(u, i);
                }
                if let Some(c) = core {
                    self.by_core.entry(c).or_insert(i);
                }
            }
            None => {
                let i = self.found.len();
                self.found.push((
                    Found {
                        key: key.clone(),
                        name: name.trim().to_string(),
                        url: url.to_string(),
                        description,
                    },
                    vouch,
                ));
                self.by_key.insert(key, i);
                if let Some(u) = own_url {
                    self.by_url.insert(u, i);
                }
                if let Some(c) = core {
                    self.by_core.entry(c).or_insert(i);
                }
            }
        }
    }

    /// The candidates, those vouched for by a list or their own page first (prose names are
    /// weaker), each group in order of appearance.
    fn into_found(self, max: usize) -> Vec<Found> {
        // Names excluded after they were first seen (an excluded page read later) go too.
        let excluded_keys = &self.excluded_keys;
        let excluded_urls = &self.excluded_urls;
        let mut found: Vec<(usize, Found, Vouch)> = self
            .found
            .into_iter()
            .enumerate()
            .filter(|(_, (f, _))| {
                !excluded_keys.contains(&f.key) && !excluded_urls.contains(&url_key(&f.url))
            })
            .map(|(i, (f, v))| (i, f, v))
            .collect();
        found.sort_by_key(|(i, _, v)| (*v == Vouch::Prose, *i));
        found.into_iter().take(max).map(|(_, f, _)| f).collect()
    }
}

/// The statements of `page` about the candidate: all of them on its own page, else those
/// that name it.
fn statements_about(
    page: &PageRead,
    document_title: Option<&str>,
    candidate: &Candidate,
) -> (bool, Vec<Statement>) {
    let key = name_key(&candidate.name);
    // Its own page: a part of the title names it ("Trail E1 - Brackenridge Cycles" for
    // "Brackenridge Trail E1").
    let own = [page.title.as_deref(), document_title]
        .into_iter()
        .flatten()
        .any(|title| title_names(title, &key));
    // Every statement also stands under the page's title ("Member marinas - South Coast
    // Marinas Association").
    let mut all = statements(&page.extracted.markdown);
    let page_title = document_title.or(page.title.as_deref()).unwrap_or("");
    for s in &mut all {
        s.context = format!("{} {}", s.context, page_title).trim().to_string();
    }
    if own {
        // Every statement of its own page, but a table row naming another entity (in a
        // name column) is about that one.
        let rows_of_others = |s: &Statement| {
            s.cells.iter().any(|(k, v)| {
                let k = k.to_lowercase();
                text::NAME_HEADERS.iter().any(|h| k.contains(h))
                    && name_key(v) != key
                    && !name_key(v).contains(&key)
            })
        };
        return (
            true,
            all.into_iter().filter(|s| !rows_of_others(s)).collect(),
        );
    }
    let name = candidate.name.to_lowercase();
    let names_it = |text: &str| {
        let lower = text.to_lowercase();
        lower.contains(&name) || name_key(&lower).contains(&key)
    };
    // A page that names a person in full goes on to call them by their surname ("Priya
    // Lanchester won …  Lanchester founded …").
    let words: Vec<&str> = candidate.name.split_whitespace().collect();
    let surname = (2..=3).contains(&words.len())
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-'))
        && all.iter().any(|s| names_it(&s.text));
    let short = words
        .last()
        .copied()
        .filter(|w| surname && w.chars().count() >= 4);
    let mut about = Vec::new();
    // How many statements after one naming the candidate may still be about it, when they
    // refer back to it ("The group was registered …", "It employs …").
    let mut following = 0;
    for s in all {
        if names_it(&s.text) || short.is_some_and(|w| called_alone(&s.text, w)) {
            about.push(s);
            following = 2;
        } else if following > 0 && s.cells.is_empty() && refers_back(&s.text, &candidate.name) {
            about.push(s);
            following -= 1;
        } else {
            following = 0;
        }
    }
    (false, about)
}

/// Whether a sentence opens by referring back to the entity the one before named: a
/// pronoun, or "the" with a word of its name or a word naming a kind of organisation.
fn refers_back(sentence: &str, name: &str) -> bool {
    let mut words = sentence.split_whitespace();
    let first = words.next().unwrap_or("");
    if ["It", "Its", "She", "He", "Her", "His", "They", "Their"].contains(&first) {
        return true;
    }
    if first != "The" {
        return false;
    }
    let second = words
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    let own_words: Vec<String> = name.split_whitespace().map(|w| w.to_lowercase()).collect();
    own_words.contains(&second)
        || [
            "group",
            "company",
            "firm",
            "charity",
            "organisation",
            "organization",
            "business",
            "practice",
            "clinic",
            "studio",
            "startup",
            "team",
            "trust",
            "club",
            "society",
        ]
        .contains(&second.as_str())
}

/// Whether a page title names the entity of `key`: one of its parts (split at the
/// separators titles put between a page's subject and its site) is the name, or holds it, or
/// is a name of at least two words that the name holds ("Trail E1" in "Brackenridge Trail
/// E1"). Words are compared whole: "Co-operative" does not name every co-operative.
fn title_names(title: &str, key: &str) -> bool {
    let words = |k: &str| k.split(' ').filter(|w| !w.is_empty()).count();
    let holds = |long: &str, short: &str| format!(" {long} ").contains(&format!(" {short} "));
    let mut parts = vec![title.to_string()];
    for sep in [" | ", " – ", " — ", " - ", ": ", " · ", " :: "] {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts
        .iter()
        .map(|p| name_key(p))
        .filter(|t| !t.is_empty())
        .any(|t| {
            t == key || (words(key) >= 2 && holds(&t, key)) || (words(&t) >= 2 && holds(key, &t))
        })
}

/// Whether `text` calls someone by `surname` alone: the word, not part of a longer name
/// ("Lanchester & Moor" does not call Ruth Moor).
fn called_alone(text: &str, surname: &str) -> bool {
    let tokens: Vec<&str> = text
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .collect();
    tokens.iter().enumerate().any(|(i, t)| {
        *t == surname
            && (i == 0 || {
                let prev = tokens[i - 1];
                let capital = prev.chars().next().is_some_and(char::is_uppercase);
                !(capital || prev == "&" || prev.is_empty() || prev == "and")
                    || matches!(
                        prev,
                        "The" | "A" | "In" | "At" | "On" | "But" | "And" | "When"
                    )
            })
            && tokens.get(i + 1).is_none_or(|next| {
                !next.chars().next().is_some_and(char::is_uppercase) || *next == "&"
            })
    })
}

/// What one page read says about a candidate.
struct PageStatements {
    url: String,
    title: Option<String>,
    /// Whether it is the candidate's own page.
    own: bool,
    statements: Vec<Statement>,
}

/// A statement read against a condition, with where it was found.
struct Evidence<'a> {
    reading: Reading,
    own: bool,
    url: &'a str,
    title: Option<&'a str>,
    /// The statement as the page writes it.
    excerpt: String,
}

fn decide<'a>(test: &Test, sources: &'a [PageStatements]) -> (Option<Bearing>, Vec<Evidence<'a>>) {
    let mut evidence: Vec<Evidence<'_>> = Vec::new();
    for page in sources {
        for s in &page.statements {
            if let Some(reading) = read_statement(test, s) {
                evidence.push(Evidence {
                    reading,
                    own: page.own,
                    url: &page.url,
                    title: page.title.as_deref(),
                    excerpt: s.excerpt(),
                });
            }
        }
    }
    // Strongest first; the candidate's own page before other pages; a contradiction before
    // a support of the same strength (a hard "not" outweighs a passing mention).
    evidence.sort_by(|a, b| {
        let score = |e: &Evidence<'_>| e.reading.strength + if e.own { 0.25 } else { 0.0 };
        score(b).total_cmp(&score(a)).then(
            (a.reading.bearing == Bearing::Supports).cmp(&(b.reading.bearing == Bearing::Supports)),
        )
    });
    let bearing = evidence.first().map(|e| e.reading.bearing);
    (bearing, evidence)
}

fn condition_basis(
    condition: &MatchCondition,
    bearing: Option<Bearing>,
    evidence: &[Evidence<'_>],
) -> (Value, Value) {
    let deciding: Vec<&Evidence<'_>> = evidence
        .iter()
        .filter(|e| Some(e.reading.bearing) == bearing)
        .take(2)
        .collect();
    let met = bearing == Some(Bearing::Supports);
    let value = match deciding.first() {
        Some(e) => Value::String(e.reading.value.clone()),
        None => Value::String("Not stated in the pages read".into()),
    };
    let mut citations: Vec<Value> = Vec::new();
    for e in &deciding {
        match citations
            .iter_mut()
            .find(|c| c["url"].as_str() == Some(e.url))
        {
            Some(c) => c["excerpts"]
                .as_array_mut()
                .expect("excerpts is an array")
                .push(Value::String(e.excerpt.clone())),
            None => citations.push(json!({
                "url": e.url,
                "title": e.title,
                "excerpts": [e.excerpt],
            })),
        }
    }
    let (confidence, reasoning) = match deciding.first() {
        None => (
            "low",
            format!(
                "No page read states whether this holds ({}); unknown is not a match.",
                condition.description
            ),
        ),
        Some(e) => {
            let strong = e.reading.strength >= 0.99 && e.own;
            let whose = if e.own {
                "its own page"
            } else {
                "a page naming it"
            };
            let what = if met {
                "states that it holds"
            } else {
                "states the contrary"
            };
            (
                if strong { "high" } else { "medium" },
                format!(
                    "{} {what}: \"{}\". Read without an LLM: key terms and values of the condition matched in the statement.",
                    if e.own { "The candidate's own page" } else { "A page naming the candidate" },
                    e.reading.value
                )
                .replace("its own page", whose),
            )
        }
    };
    (
        json!({"value": value, "type": "match_condition", "is_matched": met}),
        json!({
            "field": condition.name,
            "citations": citations,
            "reasoning": reasoning,
            "confidence": confidence,
        }),
    )
}

#[async_trait]
impl Finder for FindAllPipeline {
    async fn generate(
        &self,
        tenant: &str,
        schema: &FindAllSchema,
        generator: Generator,
        exclude: &[Excluded],
    ) -> Result<Vec<Found>, String> {
        let b = breadth(generator);
        let queries = generation_queries(schema, b.queries);
        let (mut urls, failed) = self.search_or_fail(tenant, &queries, b.per_query).await;
        if let Some(why) = failed {
            return Err(format!("every search failed: {why}"));
        }
        urls.truncate(b.pages);
        let reads: Vec<_> = urls.iter().map(|u| self.read(tenant, u)).collect();
        let mut pages = futures::stream::iter(reads).buffered(8);
        let mut gathered = Gathered::new(exclude);
        let people = text::is_people(&schema.entity_type);
        while let Some(page) = pages.next().await {
            let Some(page) = page else { continue };
            if let Some((name, description)) = own_page_entity(&page, &schema.entity_type) {
                if gathered.excluded_urls.contains(&url_key(&page.url)) {
                    // An excluded page's entity is excluded under any name this page gives it.
                    gathered.excluded_keys.insert(name_key(&name));
                } else if !(people && text::is_organisation_name(&name)) {
                    gathered.add(&name, &page.url, &description, Vouch::OwnPage);
                }
            }
            for m in text::mentions(&page.extracted.markdown, &schema.entity_type) {
                if people && text::is_organisation_name(&m.name) {
                    continue;
                }
                let (url, vouch) = match (&m.url, m.listed) {
                    (Some(u), _) if url_key(u) != url_key(&page.url) => {
                        (u.clone(), Vouch::ListedWithPage)
                    }
                    (_, true) => (page.url.clone(), Vouch::Listed),
                    (_, false) => (page.url.clone(), Vouch::Prose),
                };
                gathered.add(&m.name, &url, &m.description, vouch);
            }
        }
        Ok(gathered.into_found(b.max_candidates))
    }

    async fn evaluate(
        &self,
        tenant: &str,
        schema: &FindAllSchema,
        generator: Generator,
        candidate: &Candidate,
    ) -> Verdict {
        let b = breadth(generator);
        let words = type_words(&schema.entity_type);
        let mut sources: Vec<PageStatements> = Vec::new();
        let mut read_urls = std::collections::HashSet::new();
        if let Some(page) = self.read(tenant, &candidate.url).await {
            read_urls.insert(url_key(&page.url));
            sources.push(self.about(&page, candidate).await);
        }
        let queries = vec![
            format!("\"{}\"", candidate.name),
            format!("{} {}", candidate.name, schema.entity_type),
        ];
        let more: Vec<String> = self
            .search(tenant, &queries, 8)
            .await
            .into_iter()
            .filter(|u| !read_urls.contains(&url_key(u)))
            .take(b.evaluation_pages * 2)
            .collect();
        let mut read_more = 0;
        for url in more {
            if read_more >= b.evaluation_pages {
                break;
            }
            let Some(page) = self.read(tenant, &url).await else {
                continue;
            };
            if !read_urls.insert(url_key(&page.url)) {
                continue;
            }
            let about = self.about(&page, candidate).await;
            if !about.statements.is_empty() {
                read_more += 1;
                sources.push(about);
            }
        }
        if let Some(llm) = &self.providers.llm {
            if let Some(verdict) = judge_with_llm(llm, schema, candidate, &sources).await {
                return verdict;
            }
        }
        let mut output = Map::new();
        let mut basis = Vec::new();
        let mut all_met = true;
        for condition in &schema.match_conditions {
            let test = read_condition(&condition.name, &condition.description, &words);
            let (bearing, evidence) = decide(&test, &sources);
            all_met &= bearing == Some(Bearing::Supports);
            let (out, field_basis) = condition_basis(condition, bearing, &evidence);
            output.insert(condition.name.clone(), out);
            basis.push(field_basis);
        }
        let said_anything = sources.iter().any(|p| !p.statements.is_empty());
        let status = if all_met {
            MatchStatus::Matched
        } else if !said_anything {
            // Nothing read says anything of it: not an entity the pages know.
            MatchStatus::Discarded
        } else {
            MatchStatus::Unmatched
        };
        Verdict {
            status,
            output,
            basis,
        }
    }
}

/// A verdict from the LLM, from the statements about the candidate most relevant to the
/// conditions; `None` when the model could not answer.
async fn judge_with_llm(
    llm: &crate::llm::LlmClient,
    schema: &FindAllSchema,
    candidate: &Candidate,
    sources: &[PageStatements],
) -> Option<Verdict> {
    let all: Vec<llm_judge::Shown<'_>> = sources
        .iter()
        .flat_map(|page| {
            page.statements.iter().map(move |s| llm_judge::Shown {
                url: &page.url,
                title: page.title.as_deref(),
                text: &s.text,
                excerpt: s.excerpt(),
                own: page.own,
            })
        })
        .collect();
    let query: String = schema
        .match_conditions
        .iter()
        .map(|c| c.description.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let texts: Vec<&str> = all.iter().map(|s| s.text).collect();
    let mut order: Vec<usize> = crate::rank::rank(&query, &texts)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    for i in 0..all.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order.truncate(llm_judge::MAX_SHOWN);
    order.sort_unstable();
    let mut all: Vec<Option<llm_judge::Shown<'_>>> = all.into_iter().map(Some).collect();
    let shown: Vec<llm_judge::Shown<'_>> = order.iter().filter_map(|&i| all[i].take()).collect();
    let judged = llm_judge::judge(llm, schema, candidate, &shown).await?;
    let mut output = Map::new();
    let mut basis = Vec::new();
    let mut all_met = true;
    for (condition, j) in schema.match_conditions.iter().zip(judged) {
        let met = j.met == Some(true);
        all_met &= met;
        let mut citations: Vec<Value> = Vec::new();
        for &i in &j.cited {
            let s = &shown[i];
            match citations
                .iter_mut()
                .find(|c| c["url"].as_str() == Some(s.url))
            {
                Some(c) => c["excerpts"]
                    .as_array_mut()
                    .expect("excerpts is an array")
                    .push(Value::String(s.excerpt.clone())),
                None => {
                    citations.push(json!({"url": s.url, "title": s.title, "excerpts": [s.excerpt]}))
                }
            }
        }
        let value = if j.met.is_none() {
            "Not stated in the pages read".to_string()
        } else {
            j.value.clone()
        };
        output.insert(
            condition.name.clone(),
            json!({"value": value, "type": "match_condition", "is_matched": met}),
        );
        basis.push(json!({
            "field": condition.name,
            "citations": citations,
            "reasoning": if j.reasoning.is_empty() { "Judged by the LLM from the statements cited.".to_string() } else { j.reasoning },
            "confidence": if j.met.is_none() { "low" } else { "medium" },
        }));
    }
    let said_anything = sources.iter().any(|p| !p.statements.is_empty());
    Some(Verdict {
        status: if all_met {
            MatchStatus::Matched
        } else if !said_anything {
            MatchStatus::Discarded
        } else {
            MatchStatus::Unmatched
        },
        output,
        basis,
    })
}

/// A suggested schema for an objective ("Find all dental clinics in Harrowfield that accept
/// new patients"): the entity type, a location condition for "in X", and one condition per
/// clause after "that"/"which"/"who"/"with", joined by "and" or commas. Generator `core`, no
/// match limit.
pub fn suggest_schema(objective: &str) -> FindAllSchema {
    let text = objective.trim().trim_end_matches(['.', '?', '!']);
    let lower = text.to_lowercase();
    let mut start = 0;
    for lead in [
        "find me all ",
        "find all ",
        "find every ",
        "list all ",
        "list every ",
        "identify all ",
        "get all ",
        "show me all ",
        "show all ",
        "search for all ",
        "all ",
        "find ",
        "list ",
    ] {
        if lower.starts_with(lead) {
            start = lead.len();
            break;
        }
    }
    let body = &text[start..];
    let body_lower = body.to_lowercase();
    let split_at = [" that ", " which ", " who ", " with ", " where ", " whose "]
        .iter()
        .filter_map(|c| body_lower.find(c).map(|i| (i, c.len())))
        .min();
    let (head, tail) = match split_at {
        Some((i, len)) => (&body[..i], &body[i + len..]),
        None => (body, ""),
    };
    let head_lower = head.to_lowercase();
    let mut clauses: Vec<(String, String)> = Vec::new();
    let mut entity_type = head.trim().to_string();
    for cue in [" located in ", " based in ", " headquartered in ", " in "] {
        if let Some(i) = head_lower.find(cue) {
            entity_type = head[..i].trim().to_string();
            let place = head[i + cue.len()..].trim();
            clauses.push((
                format!("located in {place}"),
                format!("The entity is located in {place}."),
            ));
            break;
        }
    }
    if !tail.trim().is_empty() {
        for clause in tail
            .split(", and ")
            .flat_map(|c| c.split(" and "))
            .flat_map(|c| c.split(", "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            clauses.push((clause.to_string(), format!("The entity {clause}.")));
        }
    }
    if clauses.is_empty() {
        clauses.push((
            "matches objective".into(),
            format!("The entity satisfies the objective: {text}."),
        ));
    }
    if entity_type.is_empty() {
        entity_type = "entities".into();
    }
    let mut conditions: Vec<MatchCondition> = Vec::new();
    for (label, description) in clauses {
        let slug: Vec<String> = label
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(4)
            .map(str::to_string)
            .collect();
        let mut name = format!("{}_check", slug.join("_"));
        let mut n = 2;
        while conditions.iter().any(|c| c.name == name) {
            name = format!("{}_{n}_check", slug.join("_"));
            n += 1;
        }
        conditions.push(MatchCondition { name, description });
    }
    FindAllSchema {
        objective: objective.trim().to_string(),
        entity_type,
        match_conditions: conditions,
        enrichments: None,
        generator: Some(Generator::Core),
        match_limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_their_own_entity_only() {
        assert!(title_names(
            "Trail E1 - Brackenridge Cycles",
            "brackenridge trail e1"
        ));
        assert!(title_names(
            "About the Trust - The Harefield Hedgehog Trust",
            "harefield hedgehog trust"
        ));
        assert!(!title_names(
            "Ashby Honey Co-operative",
            "ashby beekeepers co operative"
        ));
        assert!(!title_names("Oak Dental | Quillmere", "elm dental"));
    }

    #[test]
    fn objectives_become_schemas() {
        let s = suggest_schema("Find all dental clinics in Harrowfield that accept new patients and were founded after 2015");
        assert_eq!(s.entity_type, "dental clinics");
        let names: Vec<&str> = s.match_conditions.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "located_in_harrowfield_check",
                "accept_new_patients_check",
                "were_founded_after_2015_check"
            ]
        );
        let plain = suggest_schema("robotics startups");
        assert_eq!(plain.entity_type, "robotics startups");
        assert_eq!(plain.match_conditions.len(), 1);
    }

    #[test]
    fn generation_keeps_one_candidate_per_entity_and_honours_exclusions() {
        let mut g = Gathered::new(&[Excluded {
            name: "Gone Dental".into(),
            url: "http://x.example/nothing".into(),
        }]);
        g.add(
            "Brightsmile Dental",
            "http://d.example/list",
            "",
            Vouch::Listed,
        );
        g.add(
            "Brightsmile Dental Ltd",
            "http://d.example/bright",
            "family",
            Vouch::OwnPage,
        );
        g.add("Gone Dental", "http://d.example/gone", "", Vouch::OwnPage);
        g.add(
            "Ferncliff Dental",
            "http://news.example/a",
            "opened",
            Vouch::Prose,
        );
        g.add(
            "Oakview Care",
            "http://d.example/oak/",
            "",
            Vouch::ListedWithPage,
        );
        g.add(
            "Oakview Dental Care",
            "https://d.example/oak",
            "",
            Vouch::OwnPage,
        );
        g.add("Kestwick School", "http://news.example/k", "", Vouch::Prose);
        g.add(
            "Kestwick School of English",
            "http://k.example/",
            "",
            Vouch::OwnPage,
        );
        g.add("Bank of England", "http://news.example/b", "", Vouch::Prose);
        g.add(
            "Bank of Scotland",
            "http://news.example/b",
            "",
            Vouch::Prose,
        );
        let found = g.into_found(10);
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Brightsmile Dental",
                "Oakview Care",
                "Kestwick School",
                "Ferncliff Dental",
                "Bank of England",
                "Bank of Scotland"
            ]
        );
        assert_eq!(found[2].url, "http://k.example/");
        assert_eq!(found[0].url, "http://d.example/bright");
        assert_eq!(found[0].description.as_deref(), Some("family"));
    }
}
