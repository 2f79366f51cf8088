use super::*;
use crate::fetch::{FetchCache, Fetcher, FetcherConfig, DEFAULT_CACHE_BYTES};
use crate::pipeline::ResearchProcessor;
use crate::pipeline::{Providers, Source, Synthesis};
use crate::search::{IndexedPage, Indexer, LocalIndex};
use crate::web::page::ExtractedCache;
use crate::{budget, Processor, SourceStats, Task};
use crate::{MessageKind, ProgressSink};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// Every name here is invented for these tests.

fn source(url: &str, title: &str, passages: &[&str]) -> Source {
    Source::of_passages(url, title, passages)
}

fn request(input: Value, schema: Value) -> Request {
    Request::from_stored(&json!({
        "input": input,
        "task_spec": {"output_schema": {"type": "json", "json_schema": schema}},
    }))
}

fn kettle() -> Entity {
    Entity::of(&request(json!({"product": "Tamsel K4 kettle"}), json!({})))
}

fn bridge_in(passages: &[&str], relation: Option<Relation>) -> Option<String> {
    let sources = [source("http://a.example/k4", "Tamsel K4 review", passages)];
    find_bridge(&sources, &kettle(), relation).map(|b| b.name)
}

#[test]
fn bridges_are_read_from_prose() {
    let maker = Some(Relation::Maker);
    for passage in [
        "The Tamsel K4 kettle is made by Corvane Appliances, a firm from Drellford.",
        "Corvane Appliances makes the Tamsel K4 in its Drellford plant.",
        "Corvane Appliances, the manufacturer of the Tamsel K4, was bought last year.",
        "The Tamsel K4 is sold everywhere. Its manufacturer, Corvane Appliances, says so.",
        "Manufacturer: Corvane Appliances. The Tamsel K4 boils a litre in ninety seconds.",
    ] {
        assert_eq!(
            bridge_in(&[passage], maker).as_deref(),
            Some("Corvane Appliances"),
            "{passage}"
        );
    }
    assert_eq!(
        bridge_in(
            &["The Tamsel K4 was designed by Rusk & Ode Studio in 2018."],
            Some(Relation::Designer)
        )
        .as_deref(),
        Some("Rusk & Ode Studio")
    );
    for (passage, relation, name) in [
        (
            "The Tamsel K4 was designed by the architecture practice Rusk & Ode.",
            Relation::Designer,
            "Rusk & Ode",
        ),
        (
            "The Tamsel K4 is built by local firm Dunmore Brothers.",
            Relation::Builder,
            "Dunmore Brothers",
        ),
        (
            "The Tamsel K4 is made by a company called Pell Housewares.",
            Relation::Maker,
            "Pell Housewares",
        ),
    ] {
        assert_eq!(
            bridge_in(&[passage], Some(relation)).as_deref(),
            Some(name),
            "{passage}"
        );
    }
    assert_eq!(
        bridge_in(
            &["Tamsel is a subsidiary of the Brannock Group, which owns six brands."],
            Some(Relation::Owner)
        )
        .as_deref(),
        Some("Brannock Group")
    );
    assert_eq!(
        bridge_in(
            &["The Tamsel K4 was developed by Corvane's Drellford lab."],
            Some(Relation::Developer)
        )
        .as_deref(),
        Some("Corvane")
    );
    // Another relation is not this one.
    assert_eq!(
        bridge_in(
            &["The Tamsel K4 is made by Corvane Appliances."],
            Some(Relation::Owner)
        ),
        None
    );
}

#[test]
fn bridges_are_read_from_table_rows() {
    let maker = Some(Relation::Maker);
    let infobox = "| Model | Tamsel K4 |\n| --- | --- |\n| Manufacturer | Corvane Appliances (since 2016) |\n| Capacity | 1.7 litres |";
    assert_eq!(
        bridge_in(&[infobox], maker).as_deref(),
        Some("Corvane Appliances")
    );
    let made_by = "| Colour | Slate |\n| --- | --- |\n| Made by | Orrin Works |";
    assert_eq!(bridge_in(&[made_by], maker).as_deref(), Some("Orrin Works"));
    // A column headed "Manufacturer": the row naming the entity, not its neighbours.
    let compared = "| Kettle | Manufacturer | Capacity |\n| --- | --- | --- |\n| Brisk 2 | Ostry Metalworks | 1.5 l |\n| Tamsel K4 | Corvane Appliances | 1.7 l |";
    let sources = [source(
        "http://a.example/kettles",
        "Kettles compared",
        &[compared],
    )];
    let bridge = find_bridge(&sources, &kettle(), maker).unwrap();
    assert_eq!(bridge.name, "Corvane Appliances");
    assert!(bridge.mentions[0]
        .excerpt
        .contains("| Tamsel K4 | Corvane Appliances |"));
    let architects = "| Architect(s) | Halloran Pike |\n| --- | --- |\n| Opened | 1998 |";
    assert_eq!(
        bridge_in(&[architects], Some(Relation::Designer)).as_deref(),
        Some("Halloran Pike")
    );
}

#[test]
fn the_entity_itself_and_common_words_are_no_bridge() {
    let maker = Some(Relation::Maker);
    for passage in [
        "The Tamsel K4 is made by Tamsel.",
        "The Tamsel K4 kettle is made by hand in small batches.",
        "The Tamsel K4 is made by the same people who make toasters.",
        "| Manufacturer | — |",
        // The entity named in the next sentence is not what X makes.
        "Corvane Appliances also makes the Brisk 2. The Tamsel K4 is red.",
    ] {
        assert_eq!(bridge_in(&[passage], maker), None, "{passage}");
    }
    // A page that never names the entity names no bridge for it.
    let sources = [source(
        "http://a.example/brisk",
        "Brisk 2",
        &["The Brisk 2 is made by Ostry Metalworks."],
    )];
    assert!(find_bridge(&sources, &kettle(), maker).is_none());
    // Nor does a page about several, in a sentence about another.
    let sources = [source(
        "http://a.example/compared",
        "Kettles compared",
        &["The Tamsel K4 boils fast. The Brisk 2 is made by Ostry Metalworks."],
    )];
    assert!(find_bridge(&sources, &kettle(), maker).is_none());
}

#[test]
fn sources_that_agree_win_and_are_recorded() {
    let sources = [
        source(
            "http://a.example/k4",
            "Tamsel K4",
            &["The Tamsel K4 is made by Pell Housewares, one shop says."],
        ),
        source(
            "http://b.example/k4",
            "Tamsel K4 review",
            &["The Tamsel K4 is made by Corvane Appliances."],
        ),
        source(
            "http://c.example/k4",
            "Tamsel K4 guide",
            &["| Manufacturer | Corvane Appliances Ltd |"],
        ),
    ];
    let bridge = find_bridge(&sources, &kettle(), Some(Relation::Maker)).unwrap();
    assert_eq!(bridge.name, "Corvane Appliances Ltd");
    let agreeing: Vec<usize> = bridge.mentions.iter().map(|m| m.source).collect();
    assert_eq!(agreeing, [1, 2]);
    assert_eq!(bridge.others, ["Pell Housewares"]);
}

#[test]
fn the_fields_words_choose_the_relation() {
    let schema = json!({"type": "object", "properties": {
        "maker_founded_year": {"type": "integer"},
        "architect_staff": {"type": "integer"},
        "owner_family": {"type": "string"},
        "parent_company_city": {"type": "string"},
        "firm_city": {"type": "string"},
        "headquarters": {"type": "string", "description": "City of the firm that designed the tower"},
        "founding_year": {"type": "integer", "description": "Year the manufacturer was founded (YYYY)"},
        "height_m": {"type": "number", "description": "Height of the tower in metres"},
        "manufacturer": {"type": "string"},
        "maker_name": {"type": "string"},
        "made_by": {"type": "string"},
        "employees_of_developer": {"type": "integer"},
        "ceo": {"type": "string", "description": "Chief executive, not the founder"}
    }});
    let hops = hop_fields(
        &request(json!({"tower": "Hollin Spire"}), schema.clone()),
        &schema,
    );
    let got: Vec<(&str, Option<Relation>, &str, &str)> = hops
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                h.relation,
                h.noun.as_str(),
                h.fact.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "maker_founded_year",
                Some(Relation::Maker),
                "maker",
                "founded year"
            ),
            (
                "architect_staff",
                Some(Relation::Designer),
                "architect",
                "staff"
            ),
            ("owner_family", Some(Relation::Owner), "owner", "family"),
            (
                "parent_company_city",
                Some(Relation::Owner),
                "parent company",
                "city"
            ),
            ("firm_city", None, "firm", "city"),
            (
                "headquarters",
                Some(Relation::Designer),
                "architect",
                "headquarters"
            ),
            (
                "founding_year",
                Some(Relation::Maker),
                "manufacturer",
                "founding year"
            ),
            (
                "employees_of_developer",
                Some(Relation::Developer),
                "developer",
                "employees"
            ),
        ]
    );
    assert_eq!(hops[0].fact_name, "founded_year");
    // A description that merely mentions a related entity is followed only when the
    // first reading found nothing; a field name or "the firm that designed" always.
    let only_if_null: Vec<&str> = hops
        .iter()
        .filter(|h| h.only_if_null)
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(only_if_null, ["founding_year"]);
}

#[test]
fn a_question_about_the_related_entity_follows_every_field() {
    let schema = json!({"type": "object", "properties": {
        "founded_year": {"type": "integer"},
        "city": {"type": "string"}
    }});
    let asked = request(
        json!("When was the company that makes the Tamsel K4 founded, and where is it?"),
        schema.clone(),
    );
    let hops = hop_fields(&asked, &schema);
    assert_eq!(hops.len(), 2);
    assert!(hops.iter().all(|h| h.relation == Some(Relation::Maker)));
    assert_eq!(Entity::of(&asked).display, "Tamsel K4");
    // A question about the entity itself follows nothing.
    let plain = request(json!("When was the Tamsel K4 launched?"), schema.clone());
    assert!(hop_fields(&plain, &schema).is_empty());
}

#[test]
fn descriptions_naming_the_related_entity_are_followed_whatever_was_read_first() {
    // The question asks through the builder, and each description names it ("the
    // stage builder"): the fields are the builder's, even where the first reading found
    // a value (a founding year of the festival itself). "Founder of the stage builder"
    // asks for the builder's founder, not for the bridge.
    let schema = json!({"type": "object", "properties": {
        "founded_year": {"type": "integer", "description": "Founding year of the stage builder"},
        "founder": {"type": "string", "description": "Founder of the stage builder"},
        "crew": {"type": "integer", "description": "Crew on site"}
    }});
    let asked = request(
            json!("In what year was the company that built the Kessel Fair's main stage founded, and who founded it?"),
            schema.clone(),
        );
    let hops = hop_fields(&asked, &schema);
    let followed: Vec<(&str, bool)> = hops
        .iter()
        .map(|h| (h.name.as_str(), h.only_if_null))
        .collect();
    assert_eq!(
        followed,
        [("founded_year", false), ("founder", false), ("crew", true)]
    );
    assert!(hops.iter().all(|h| h.relation == Some(Relation::Builder)));
}

#[test]
fn a_name_with_two_relations_asks_for_the_second_through_the_first() {
    let schema = json!({"type": "object", "properties": {
        "maker_founder": {"type": "string", "description": "Founder of the maker"},
        "manufacturer": {"type": "string"}
    }});
    let asked = request(json!({"product": "Orrin 3T"}), schema.clone());
    let hops = hop_fields(&asked, &schema);
    assert_eq!(
        hops.len(),
        1,
        "the manufacturer itself is read without a hop"
    );
    assert_eq!(hops[0].name, "maker_founder");
    assert_eq!(hops[0].relation, Some(Relation::Maker));
    assert_eq!(hops[0].fact, "founder");
}

// --- the hop with a search provider: a local index in a temporary directory ---

#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl ProgressSink for Recorded {
    async fn message(&self, _: MessageKind, text: &str) {
        self.0.lock().unwrap().push(text.to_owned());
    }
    async fn stats(&self, _: &SourceStats, _: f64) {}
}

struct World {
    providers: Providers,
    dir: std::path::PathBuf,
}

impl World {
    /// A hop over this world's providers with `processor`'s budget.
    fn run<'a>(&'a self, processor: &str, progress: &'a Recorded) -> HopRun<'a> {
        HopRun {
            providers: &self.providers,
            tenant: "t",
            budget: budget::lookup(processor).unwrap(),
            progress,
            freshness: crate::pipeline::read::Freshness::Cached,
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PRODUCT_URL: &str = "https://kettles.example/tamsel-k4";
const MAKER_URL: &str = "https://corvane.example/about";

fn world(tag: &str, pages: &[(&str, &str, &str)]) -> World {
    let dir = std::env::temp_dir().join(format!("px-hop-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let index = LocalIndex::open(&dir).unwrap();
    for (url, title, text) in pages {
        index
            .add_page(IndexedPage {
                url: (*url).into(),
                owner: None,
                title: Some((*title).into()),
                text: (*text).into(),
                published: None,
                fetched_at: chrono::Utc::now(),
            })
            .unwrap();
    }
    index.commit().unwrap();
    World {
        providers: Providers {
            search: vec![Arc::new(index.clone())],
            index: Some(Indexer::start(index)),
            fetch: FetchCache::new(Fetcher::new(FetcherConfig::default()), DEFAULT_CACHE_BYTES),
            cache_max_age: Duration::from_secs(3600),
            extracted: ExtractedCache::default(),
            llm: None,
        },
        dir,
    }
}

const PRODUCT_TEXT: &str = "The Tamsel K4 is an electric kettle with a slate finish. It is made by Corvane Appliances. It holds 1.7 litres.";
const MAKER_TEXT: &str =
    "Corvane Appliances was founded in 1931 in Drellford. Corvane Appliances employs 640 people.";

fn product_source() -> Source {
    source(PRODUCT_URL, "Tamsel K4", &[PRODUCT_TEXT])
}

fn maker_schema() -> Value {
    json!({"type": "object", "properties": {
        "maker_founded_year": {"type": ["integer", "null"], "description": "Year the maker was founded"},
        "capacity_litres": {"type": ["number", "null"]}
    }})
}

fn first_reading(founded: Value) -> Synthesis {
    Synthesis {
        content: json!({"maker_founded_year": founded, "capacity_litres": 1.7}),
        basis: vec![
            json!({"field": "maker_founded_year", "citations": [], "reasoning": "not stated", "confidence": "low"}),
            json!({"field": "capacity_litres", "citations": [], "reasoning": "read", "confidence": "medium"}),
        ],
        warnings: Vec::new(),
    }
}

#[tokio::test]
async fn a_hop_fills_a_field_and_cites_both_pages() {
    let w = world(
        "fill",
        &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
    );
    let progress = Recorded::default();
    let run = w.run("core", &progress);
    let req = request(json!({"product": "Tamsel K4"}), maker_schema());
    let mut synthesis = first_reading(Value::Null);
    let read = follow(
        &run,
        &req,
        &maker_schema(),
        &mut synthesis,
        &[product_source()],
    )
    .await;
    assert_eq!(read, [MAKER_URL]);
    assert_eq!(synthesis.content["maker_founded_year"], json!(1931));
    assert_eq!(synthesis.content["capacity_litres"], json!(1.7));
    assert_eq!(synthesis.basis.len(), 2);
    let basis = &synthesis.basis[0];
    assert_eq!(basis["field"], "maker_founded_year");
    let urls: Vec<&str> = basis["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, [PRODUCT_URL, MAKER_URL]);
    assert_eq!(
        basis["citations"][0]["excerpts"][0],
        "It is made by Corvane Appliances."
    );
    let reasoning = basis["reasoning"].as_str().unwrap();
    assert!(
            reasoning.starts_with(&format!(
                "Second hop: Corvane Appliances is named as the maker of Tamsel K4 on {PRODUCT_URL}; its founded year (1931) read from {MAKER_URL}."
            )),
            "{reasoning}"
        );
    // One page names the maker: the answer is no more than medium.
    assert_ne!(basis["confidence"], "high");
    assert_eq!(
        progress.0.lock().unwrap().as_slice(),
        ["Second hop: searching for Corvane Appliances (maker_founded_year)"]
    );
}

#[tokio::test]
async fn a_first_reading_about_the_wrong_entity_gives_way() {
    // The first synthesis read a year about the kettle for the maker's founding year.
    let w = world(
        "replace",
        &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
    );
    let progress = Recorded::default();
    let run = w.run("pro", &progress);
    let req = request(json!({"product": "Tamsel K4"}), maker_schema());
    let mut synthesis = first_reading(json!(2019));
    follow(
        &run,
        &req,
        &maker_schema(),
        &mut synthesis,
        &[product_source()],
    )
    .await;
    assert_eq!(synthesis.content["maker_founded_year"], json!(1931));
    let entries: Vec<&Value> = synthesis
        .basis
        .iter()
        .filter(|b| b["field"] == "maker_founded_year")
        .collect();
    assert_eq!(entries.len(), 1, "{:?}", synthesis.basis);
    assert!(entries[0]["reasoning"]
        .as_str()
        .unwrap()
        .starts_with("Second hop"));
}

#[tokio::test]
async fn no_bridge_or_no_relation_means_no_hop() {
    let w = world(
        "none",
        &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
    );
    let progress = Recorded::default();
    let run = w.run("core", &progress);
    // The first page names no maker: the field stays null.
    let req = request(json!({"product": "Tamsel K4"}), maker_schema());
    let mut synthesis = first_reading(Value::Null);
    let anonymous = source(
        PRODUCT_URL,
        "Tamsel K4",
        &["The Tamsel K4 holds 1.7 litres."],
    );
    assert!(
        follow(&run, &req, &maker_schema(), &mut synthesis, &[anonymous])
            .await
            .is_empty()
    );
    assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
    // A field not asked through a relation is not followed, though a maker is named.
    let schema = json!({"type": "object", "properties": {
        "founded_year": {"type": ["integer", "null"], "description": "Year the product was launched"}
    }});
    let req = request(json!({"product": "Tamsel K4"}), schema.clone());
    let mut synthesis = Synthesis {
        content: json!({"founded_year": null}),
        basis: Vec::new(),
        warnings: Vec::new(),
    };
    follow(&run, &req, &schema, &mut synthesis, &[product_source()]).await;
    assert_eq!(synthesis.content["founded_year"], Value::Null);
    assert!(progress.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_bridge_without_its_fact_leaves_the_field_null() {
    let w = world(
        "unstated",
        &[(
            MAKER_URL,
            "About Corvane Appliances",
            "Corvane Appliances sells kettles.",
        )],
    );
    let progress = Recorded::default();
    let run = w.run("core", &progress);
    let req = request(json!({"product": "Tamsel K4"}), maker_schema());
    let mut synthesis = first_reading(Value::Null);
    follow(
        &run,
        &req,
        &maker_schema(),
        &mut synthesis,
        &[product_source()],
    )
    .await;
    assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
    let reasoning = synthesis.basis[0]["reasoning"].as_str().unwrap();
    assert!(
            reasoning.ends_with("Second hop: Corvane Appliances is named as the maker of Tamsel K4 on https://kettles.example/tamsel-k4, but no page read states its founded year."),
            "{reasoning}"
        );
    assert_eq!(synthesis.basis[0]["citations"], json!([]));
}

#[tokio::test]
async fn a_question_about_the_maker_is_answered_about_the_maker() {
    let w = world(
        "asked",
        &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
    );
    let progress = Recorded::default();
    let run = w.run("core-fast", &progress);
    let schema = json!({"type": "object", "properties": {
        "founded_year": {"type": ["integer", "null"], "description": "Year founded"}
    }});
    let req = request(
        json!("When was the company that makes the Tamsel K4 founded?"),
        schema.clone(),
    );
    let mut synthesis = Synthesis {
        content: json!({"founded_year": null}),
        basis: vec![
            json!({"field": "founded_year", "citations": [], "reasoning": "", "confidence": "low"}),
        ],
        warnings: Vec::new(),
    };
    follow(&run, &req, &schema, &mut synthesis, &[product_source()]).await;
    assert_eq!(synthesis.content["founded_year"], json!(1931));
    assert_eq!(synthesis.basis[0]["citations"][0]["url"], PRODUCT_URL);
    assert_eq!(synthesis.basis[0]["citations"][1]["url"], MAKER_URL);
}

#[tokio::test]
async fn lite_does_not_hop() {
    let w = world(
        "lite",
        &[(MAKER_URL, "About Corvane Appliances", MAKER_TEXT)],
    );
    let progress = Recorded::default();
    let run = w.run("lite", &progress);
    let req = request(json!({"product": "Tamsel K4"}), maker_schema());
    let mut synthesis = first_reading(Value::Null);
    assert!(follow(
        &run,
        &req,
        &maker_schema(),
        &mut synthesis,
        &[product_source()]
    )
    .await
    .is_empty());
    assert_eq!(synthesis.content["maker_founded_year"], Value::Null);
    assert!(progress.0.lock().unwrap().is_empty());
}

/// Whole runs: `core` answers the maker's founding year through the second hop, `lite`
/// leaves it null.
#[tokio::test]
async fn core_runs_follow_the_hop_and_lite_runs_do_not() {
    let w = world(
        "runs",
        &[
            (PRODUCT_URL, "Tamsel K4", PRODUCT_TEXT),
            (MAKER_URL, "About Corvane Appliances", MAKER_TEXT),
        ],
    );
    let mut answers = Vec::new();
    for processor in ["lite", "core"] {
        let task = Task {
            run_id: "trun_hop".into(),
            tenant: "t".into(),
            budget: budget::lookup(processor).unwrap(),
            request: json!({
                "input": {"product": "Tamsel K4"},
                "processor": processor,
                "task_spec": {"output_schema": {"type": "json", "json_schema": maker_schema()}},
            }),
            previous_interaction_id: None,
            instructions: None,
            previous: None,
            memory_sources: Vec::new(),
            mcp_servers: Vec::new(),
        };
        let progress = Recorded::default();
        let output = ResearchProcessor::new(w.providers.clone())
            .run(task, &progress)
            .await
            .expect("the run completes");
        answers.push((output, progress.0.into_inner().unwrap()));
    }
    let (lite, lite_messages) = &answers[0];
    let (core, core_messages) = &answers[1];
    let founded = |o: &crate::Output| o.output["content"]["maker_founded_year"].clone();
    let hopped = |o: &crate::Output| {
        o.output["basis"].as_array().unwrap().iter().any(|b| {
            b["reasoning"]
                .as_str()
                .unwrap_or("")
                .starts_with("Second hop")
        })
    };
    assert!(!hopped(lite), "{}", lite.output);
    assert!(!lite_messages.iter().any(|m| m.starts_with("Second hop")));
    assert_eq!(founded(core), json!(1931), "{}", core.output);
    assert!(hopped(core), "{}", core.output);
    assert!(core_messages
        .iter()
        .any(|m| m.starts_with("Second hop: searching for Corvane Appliances")));
}
