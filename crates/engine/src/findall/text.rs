//! Reading a page's markdown for FindAll: the statements it makes (sentences, list items,
//! table rows read as `header: value` pairs), the entities it lists or names, and the keys
//! that say two names are one entity.

/// One thing a page states: a sentence, a list item, or a table row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    /// The statement as plain text (links reduced to their text; a table row as
    /// `header: value; header: value`).
    pub text: String,
    /// The row's cells, for a table row: `(header, value)`.
    pub cells: Vec<(String, String)>,
    /// The heading it stands under, if any.
    pub context: String,
}

impl Statement {
    /// The statement as the page writes it, for an excerpt: a table row's cells in order
    /// (a key-value row as its key and value), a sentence as it is.
    pub fn excerpt(&self) -> String {
        match self.cells.as_slice() {
            [] => self.text.clone(),
            [(k, v)] => format!("{k} {v}").trim().to_string(),
            cells => cells
                .iter()
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// An entity a page lists or names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub name: String,
    /// The entity's own page, when the mention links to one.
    pub url: Option<String>,
    /// What the page says around the mention.
    pub description: String,
    /// How the page names it: a list item or table row (strong) or prose (weak).
    pub listed: bool,
}

/// `[text](url)` reduced to `text`, `**`/`__`/`` ` `` dropped.
pub fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(']')) {
            (Some(close), Some(first_close)) if close == first_close => {
                let tail = &after[close + 2..];
                match tail.find(')') {
                    Some(end) => {
                        out.push_str(&after[..close]);
                        rest = &tail[end + 1..];
                    }
                    None => {
                        out.push('[');
                        rest = after;
                    }
                }
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("**", "")
        .replace("__", "")
        .replace('`', "")
        .trim()
        .to_string()
}

/// The first `[text](url)` of a markdown fragment, if it starts the fragment (after list
/// markers and emphasis).
fn leading_link(fragment: &str) -> Option<(String, String)> {
    let f = fragment.trim_start_matches(['*', '_', ' ']);
    let inner = f.strip_prefix('[')?;
    let close = inner.find("](")?;
    let text = &inner[..close];
    let tail = &inner[close + 2..];
    let end = tail.find(')')?;
    Some((text.trim().to_string(), tail[..end].trim().to_string()))
}

/// The cells of a markdown table row (`| a | b |`).
fn table_cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

fn is_separator_row(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

/// A list item's text without its marker, if `line` is one.
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(marker) {
            return Some(rest);
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        if let Some(rest) = t[digits..].strip_prefix(". ") {
            return Some(rest);
        }
    }
    None
}

/// Splits prose into sentences (at `.`, `!`, `?` followed by a space and a capital or digit).
pub fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '.' | '!' | '?')
            && chars.get(i + 1) == Some(&' ')
            && chars
                .get(i + 2)
                .is_some_and(|n| n.is_uppercase() || n.is_ascii_digit() || *n == '"')
            // "St. Mary", "Dr. Smith", "No. 5": a short capitalised word before the dot is an
            // abbreviation, not a sentence's end.
            && !is_abbreviation(&chars[start..i])
        {
            let s: String = chars[start..=i].iter().collect();
            out.push(s.trim().to_string());
            start = i + 2;
            i += 2;
            continue;
        }
        i += 1;
    }
    let s: String = chars[start.min(chars.len())..].iter().collect();
    if !s.trim().is_empty() {
        out.push(s.trim().to_string());
    }
    out
}

fn is_abbreviation(before: &[char]) -> bool {
    let word: String = before
        .iter()
        .rev()
        .take_while(|c| c.is_alphanumeric())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    matches!(
        word.as_str(),
        "St" | "Dr"
            | "Mr"
            | "Mrs"
            | "Ms"
            | "No"
            | "Inc"
            | "Ltd"
            | "Co"
            | "Corp"
            | "Jr"
            | "Sr"
            | "Mt"
            | "Ave"
            | "Rd"
            | "vs"
            | "e.g"
            | "i.e"
    ) || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
}

/// Whether a table's first row is a key and its value rather than column headers: two
/// cells, the first not a naming header ("Founded | 2017", "Town | Harrowfield"). A
/// two-column list of entities names them in its first column ("Clinic | Town").
fn is_key_value_header(cells: &[String]) -> bool {
    cells.len() == 2 && {
        let first = plain(&cells[0]).to_lowercase();
        !first.is_empty() && !NAME_HEADERS.iter().any(|h| first.contains(h))
    }
}

/// A key-value row as a statement: `key: value`, with the pair as its cell.
fn key_value_row(cells: &[String]) -> Statement {
    let (k, v) = (plain(&cells[0]), plain(&cells[1]));
    Statement {
        text: format!("{k}: {v}"),
        cells: vec![(k, v)],
        ..Default::default()
    }
}

/// Everything a page's markdown states, in order.
pub fn statements(markdown: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, out: &mut Vec<Statement>| {
        for s in sentences(&plain(paragraph)) {
            out.push(Statement {
                text: s,
                cells: Vec::new(),
                ..Default::default()
            });
        }
        paragraph.clear();
    };
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(cells) = table_cells(trimmed) {
            flush(&mut paragraph, &mut out);
            if is_separator_row(&cells) {
                continue;
            }
            match &header {
                None if is_key_value_header(&cells) => {
                    // An infobox-like table: its first row is a pair like the others.
                    header = Some(vec![String::new(), String::new()]);
                    out.push(key_value_row(&cells));
                }
                None => header = Some(cells.iter().map(|c| plain(c)).collect()),
                Some(h) if h.iter().all(String::is_empty) => out.push(key_value_row(&cells)),
                Some(h) => {
                    let pairs: Vec<(String, String)> = h
                        .iter()
                        .zip(cells.iter())
                        .map(|(k, v)| (k.clone(), plain(v)))
                        .collect();
                    let text = pairs
                        .iter()
                        .map(|(k, v)| {
                            if k.is_empty() {
                                v.clone()
                            } else {
                                format!("{k}: {v}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    out.push(Statement {
                        text,
                        cells: pairs,
                        ..Default::default()
                    });
                }
            }
            continue;
        }
        header = None;
        if trimmed.is_empty() || trimmed.starts_with('#') {
            flush(&mut paragraph, &mut out);
            if let Some(h) = trimmed.strip_prefix('#') {
                let h = plain(h.trim_start_matches('#'));
                // A heading is the context of what follows, not a statement of its own.
                if !h.is_empty() {
                    headings.push((out.len(), h));
                }
            }
            continue;
        }
        if let Some(item) = list_item(trimmed) {
            flush(&mut paragraph, &mut out);
            let text = plain(item);
            // A "Key: value" item is one statement; a longer item may hold sentences.
            for s in sentences(&text) {
                out.push(Statement {
                    text: s,
                    cells: Vec::new(),
                    ..Default::default()
                });
            }
            continue;
        }
        if !paragraph.is_empty() {
            paragraph.push(' ');
        }
        paragraph.push_str(trimmed);
    }
    flush(&mut paragraph, &mut out);
    // Each statement stands under the last heading before it.
    let mut next = headings.into_iter().peekable();
    let mut current = String::new();
    for (i, statement) in out.iter_mut().enumerate() {
        while let Some((_, h)) = next.next_if(|(at, _)| *at <= i) {
            current = h;
        }
        statement.context = current.clone();
    }
    out
}

/// Words of company and organisation names that say "this is an organisation".
const ORG_WORDS: &[&str] = &[
    "ltd",
    "limited",
    "gmbh",
    "inc",
    "llc",
    "plc",
    "ag",
    "corp",
    "corporation",
    "company",
    "co",
    "group",
    "labs",
    "lab",
    "systems",
    "technologies",
    "tech",
    "partners",
    "clinic",
    "practice",
    "centre",
    "center",
    "studio",
    "studios",
    "works",
    "foundry",
    "brewery",
    "bakery",
    "cafe",
    "hospital",
    "school",
    "college",
    "university",
    "institute",
    "museum",
    "hotel",
    "restaurant",
    "bank",
    "airlines",
    "robotics",
    "analytics",
    "software",
    "solutions",
    "services",
    "industries",
    "dental",
    "surgery",
    "pharmacy",
    "gallery",
    "theatre",
    "theater",
    "club",
    "foundation",
    "trust",
    "cooperative",
    "co-op",
    "farm",
    "dairy",
    "mill",
    "press",
    "media",
    "ventures",
    "capital",
    "energy",
    "motors",
    "logistics",
    "health",
    "care",
    "medical",
];

/// Whether an entity type is of people ("architects", "founders", "people").
pub fn is_people(entity_type: &str) -> bool {
    type_words(entity_type)
        .iter()
        .any(|t| PEOPLE_WORDS.contains(&t.as_str()))
}

/// Whether a name is an organisation's (it holds an organisation word or an ampersand).
pub fn is_organisation_name(name: &str) -> bool {
    name.contains('&')
        || name
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| ORG_WORDS.contains(&w.to_lowercase().as_str()))
}

/// Table headers whose column names the entity each row is about.
pub const NAME_HEADERS: &[&str] = &[
    "name",
    "practice",
    "clinic",
    "company",
    "business",
    "organisation",
    "organization",
    "charity",
    "firm",
    "winner",
    "model",
    "product",
    "brand",
    "member",
    "entity",
    "venue",
    "school",
    "hospital",
    "hotel",
    "restaurant",
    "brewery",
    "shop",
    "store",
    "startup",
    "package",
    "library",
    "crate",
    "project",
    "repository",
    "app",
    "tool",
    "space",
];

/// Last words of addresses.
const STREET_WORDS: &[&str] = &[
    "street", "st", "road", "rd", "lane", "yard", "row", "quay", "avenue", "ave", "way", "walk",
    "close", "court", "drive", "terrace", "crescent", "gardens", "parade", "wharf",
];

/// Words that open a sentence and are not part of the name after them.
const SENTENCE_OPENERS: &[&str] = &[
    "The",
    "A",
    "An",
    "Meanwhile",
    "In",
    "At",
    "On",
    "Since",
    "When",
    "After",
    "Before",
];

/// Words before a name that say it is an organisation's ("the firm Verity Autonomics").
const ORG_CUES: &[&str] = &[
    "firm",
    "startup",
    "company",
    "maker",
    "brand",
    "charity",
    "practice",
    "manufacturer",
];

/// Words of entity types that are people: names of people in prose are then candidates.
const PEOPLE_WORDS: &[&str] = &[
    "people",
    "person",
    "individual",
    "founder",
    "ceo",
    "executive",
    "architect",
    "author",
    "writer",
    "artist",
    "scientist",
    "researcher",
    "doctor",
    "physician",
    "chef",
    "player",
    "athlete",
    "leader",
    "politician",
    "mayor",
    "designer",
    "engineer",
    "investor",
    "professor",
    "lawyer",
    "journalist",
    "musician",
    "composer",
    "director",
    "actor",
];

/// Last words of capitalised phrases that are places, works or prizes, not people.
const NOT_PERSON_WORDS: &[&str] = &[
    "medal",
    "prize",
    "award",
    "street",
    "road",
    "lane",
    "quay",
    "yard",
    "library",
    "hall",
    "centre",
    "center",
    "park",
    "square",
    "bridge",
    "river",
    "house",
    "flats",
    "baths",
    "terminal",
    "station",
    "church",
    "tower",
    "museum",
    "hill",
    "hills",
    "valley",
    "bay",
    "island",
    "council",
    "county",
    "region",
    "district",
    "herald",
    "post",
    "times",
    "news",
    "journal",
    "magazine",
    "gazette",
    "review",
    "festival",
    "week",
    "weekend",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "guild",
    "association",
    "society",
    "committee",
    "board",
    "cluster",
];

/// Words that are never an entity's name on their own (navigation, sections, generic nouns).
const NOT_NAMES: &[&str] = &[
    "home",
    "about",
    "about us",
    "contact",
    "contact us",
    "news",
    "blog",
    "menu",
    "search",
    "login",
    "log in",
    "sign in",
    "sign up",
    "register",
    "privacy",
    "privacy policy",
    "terms",
    "cookies",
    "more",
    "read more",
    "next",
    "previous",
    "back",
    "top",
    "share",
    "overview",
    "services",
    "opening hours",
    "hours",
    "location",
    "locations",
    "directions",
    "team",
    "our team",
    "careers",
    "jobs",
    "faq",
    "help",
    "events",
    "gallery",
    "reviews",
    "prices",
    "fees",
    "sitemap",
    "index",
    "all",
    "other",
    "see also",
    "related",
    "references",
];

/// Legal suffixes a name may carry or drop ("Acme Ltd" is "Acme").
const LEGAL_SUFFIXES: &[&str] = &[
    "ltd",
    "limited",
    "gmbh",
    "inc",
    "incorporated",
    "llc",
    "plc",
    "ag",
    "co",
    "corp",
    "corporation",
    "sa",
    "sarl",
    "bv",
    "nv",
    "pty",
    "kg",
];

/// The key that says two names are one entity: lower case, punctuation and legal suffixes
/// dropped, `&` read as "and", a leading "the" dropped.
pub fn name_key(name: &str) -> String {
    let lowered = name.to_lowercase().replace('&', " and ");
    let words: Vec<String> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_SUFFIXES.contains(w)) {
        words.pop();
    }
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    words.join(" ")
}

/// A URL as a key: no scheme, no `www.`, no fragment or trailing slash, lower-case host.
pub fn url_key(url: &str) -> String {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split('#')
        .next()
        .unwrap_or("");
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    let path = path
        .strip_suffix("/index.html")
        .or_else(|| path.strip_suffix("index.html"))
        .unwrap_or(path)
        .trim_end_matches('/');
    format!("{}/{}", host.to_lowercase(), path)
}

/// Whether `text` reads as an entity's name: 1 to 8 words, most of them capitalised (or
/// digits), no sentence punctuation, not a navigation word.
pub fn looks_like_name(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 80 || t.contains("://") {
        return false;
    }
    if t.ends_with(['.', '?', '!', ':', ';', ',']) && !t.ends_with("Inc.") && !t.ends_with("Co.") {
        return false;
    }
    if NOT_NAMES.contains(&t.to_lowercase().as_str()) {
        return false;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.is_empty() || words.len() > 8 {
        return false;
    }
    let first = words[0].chars().next().unwrap_or(' ');
    if !(first.is_uppercase() || first.is_ascii_digit()) {
        return false;
    }
    // A year, a figure or a date is not a name.
    if !t.chars().any(char::is_alphabetic) {
        return false;
    }
    // An address ("40 Fore Street", "5 Mill Yard") or a street is not an entity's name, nor a
    // name with a figure run into it ("Gravlin Hut 1,840").
    let last = words
        .last()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .unwrap_or_default();
    if STREET_WORDS.contains(&last.as_str())
        || (words.len() > 1
            && last.chars().any(|c| c.is_ascii_digit())
            && !last.chars().any(char::is_alphabetic))
    {
        return false;
    }
    let connectors = [
        "of", "and", "&", "the", "de", "du", "la", "le", "van", "von", "der", "den", "for", "on",
        "in", "at", "-", "–", "y", "e", "di", "da",
    ];
    let capital = words
        .iter()
        .filter(|w| {
            let c = w.chars().next().unwrap_or(' ');
            c.is_uppercase() || c.is_ascii_digit() || !c.is_alphanumeric()
        })
        .count();
    let lower_content = words
        .iter()
        .filter(|w| {
            let c = w.chars().next().unwrap_or(' ');
            c.is_lowercase() && !connectors.contains(w)
        })
        .count();
    capital * 2 > words.len() && lower_content == 0
}

/// The name a page title gives its subject: the first part before a site-name separator.
pub fn title_name(title: &str) -> String {
    let mut best = title.trim();
    for sep in [" | ", " – ", " — ", " - ", " :: ", " · ", " • "] {
        if let Some((first, _)) = best.split_once(sep) {
            best = first.trim();
        }
    }
    best.to_string()
}

/// The singular content words of an entity type ("dental clinics" → `dental`, `clinic`).
pub fn type_words(entity_type: &str) -> Vec<String> {
    entity_type
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1 && !["the", "of", "and", "in", "that", "all", "with"].contains(w))
        .map(singular)
        .collect()
}

/// A crude singular ("companies" → "company", "clinics" → "clinic", "businesses" →
/// "business").
pub fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if word.ends_with("sses") || word.ends_with("shes") || word.ends_with("ches") {
        word[..word.len() - 2].to_string()
    } else if word.ends_with('s') && !word.ends_with("ss") && word.len() > 3 {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// Whether a title names a list of entities rather than one ("Dental clinics in X",
/// "Directory", "Top 10 …").
pub fn is_list_title(title: &str, entity_type: &str) -> bool {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let listy = [
        "directory",
        "list",
        "guide",
        "best",
        "top",
        "all",
        "overview",
        "index",
        "news",
        "search",
        "results",
        "category",
        "members",
        "providers",
        "companies",
        "firms",
    ];
    if words.iter().any(|w| listy.contains(w)) {
        return true;
    }
    // The plural of the entity type: "clinics", "companies".
    entity_type
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3 && w.ends_with('s'))
        .any(|plural| words.contains(&plural))
}

/// The entities a page lists (list items and table rows of at least two names) or names in
/// prose (a capitalised name holding an organisation word or a word of the entity type).
pub fn mentions(markdown: &str, entity_type: &str) -> Vec<Mention> {
    let types = type_words(entity_type);
    let mut out: Vec<Mention> = Vec::new();
    let mut block: Vec<Mention> = Vec::new();
    let flush = |block: &mut Vec<Mention>, out: &mut Vec<Mention>| {
        // One name alone is a link in passing, not a list of entities.
        if block.len() >= 2 {
            out.append(block);
        }
        block.clear();
    };
    let mut header_seen = false;
    let mut key_values = false;
    let mut table_rows: Vec<Vec<String>> = Vec::new();
    let mut table_header: Vec<String> = Vec::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(cells) = table_cells(trimmed) {
            if is_separator_row(&cells) {
                continue;
            }
            if !header_seen {
                flush(&mut block, &mut out);
                header_seen = true;
                table_rows.clear();
                table_header = cells.iter().map(|c| plain(c).to_lowercase()).collect();
                key_values = is_key_value_header(&cells) && {
                    let first = plain(&cells[0]).to_lowercase();
                    !types.iter().any(|t| first.contains(t.as_str()))
                };
                continue;
            }
            // A two-column table of keys and values (an infobox) lists no entities.
            if !key_values {
                table_rows.push(cells);
            }
            continue;
        }
        if header_seen {
            take_table(&table_header, &types, &mut table_rows, &mut out);
        }
        header_seen = false;
        if let Some(item) = list_item(trimmed) {
            let (name, url, rest) = match leading_link(item) {
                Some((text, url)) => {
                    let after = item.find(')').map_or("", |i| &item[i + 1..]);
                    (text, Some(url), plain(after))
                }
                None => {
                    let text = plain(item);
                    let cut = [" – ", " — ", " - ", ": ", ", ", " (", " is ", " was "]
                        .iter()
                        .filter_map(|sep| text.find(sep))
                        .min()
                        .unwrap_or(text.len());
                    (
                        text[..cut].trim().to_string(),
                        None,
                        text[cut..].to_string(),
                    )
                }
            };
            let label = url.is_none()
                && rest.starts_with(": ")
                && name.split_whitespace().count() <= 2
                && !name
                    .split_whitespace()
                    .any(|w| ORG_WORDS.contains(&w.to_lowercase().as_str()));
            if looks_like_name(&name) && !label {
                let description = rest
                    .trim_start_matches([' ', '–', '—', '-', ':', ',', '('])
                    .trim()
                    .to_string();
                block.push(Mention {
                    name,
                    url,
                    description,
                    listed: true,
                });
            } else {
                flush(&mut block, &mut out);
            }
            continue;
        }
        if !trimmed.is_empty() {
            flush(&mut block, &mut out);
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        for sentence in sentences(&plain(trimmed)) {
            for name in prose_names(&sentence, &types) {
                out.push(Mention {
                    name,
                    url: None,
                    description: sentence.clone(),
                    listed: false,
                });
            }
        }
    }
    take_table(&table_header, &types, &mut table_rows, &mut out);
    flush(&mut block, &mut out);
    out
}

/// The entities of a table's rows: the first column whose cells are mostly names (a year or
/// a number column is not), each row's other cells as its description.
fn take_table(
    header: &[String],
    types: &[String],
    rows: &mut Vec<Vec<String>>,
    out: &mut Vec<Mention>,
) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let cell_name = |cell: &str| match leading_link(cell) {
        Some((text, url)) => (text, Some(url)),
        None => (plain(cell), None),
    };
    // A column headed "Name", "Package", "Practice" or by the entity type names the rows'
    // entities, however they are written ("ferro-csv"); else the first column of names.
    let headed = header.iter().position(|h| {
        NAME_HEADERS
            .iter()
            .any(|n| h.split_whitespace().any(|w| singular(w) == *n))
            || types
                .iter()
                .any(|t| h.split_whitespace().any(|w| singular(w) == *t))
    });
    let named_column = (0..width).find(|&col| {
        let names = rows
            .iter()
            .filter(|r| r.get(col).is_some_and(|c| looks_like_name(&cell_name(c).0)))
            .count();
        names * 3 >= rows.len() * 2 && names >= 2
    });
    let (column, relaxed) = match headed {
        Some(col) => (Some(col), true),
        None => (named_column, false),
    };
    let acceptable = |name: &str| {
        if relaxed {
            let t = name.trim();
            !t.is_empty()
                && t.chars().any(char::is_alphabetic)
                && t.split_whitespace().count() <= 8
                && t.chars().count() <= 80
        } else {
            looks_like_name(name)
        }
    };
    if let Some(col) = column {
        for row in rows.iter() {
            let Some(cell) = row.get(col) else { continue };
            let (name, url) = cell_name(cell);
            if acceptable(&name) {
                out.push(Mention {
                    name,
                    url,
                    description: row
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != col)
                        .map(|(_, c)| plain(c))
                        .collect::<Vec<_>>()
                        .join("; "),
                    listed: true,
                });
            }
        }
    }
    rows.clear();
}

/// Capitalised names in a sentence that hold an organisation word or a word of the entity
/// type ("Ferncliff Dental Practice"), not at the sentence's start alone.
fn prose_names(sentence: &str, types: &[String]) -> Vec<String> {
    let people = types.iter().any(|t| PEOPLE_WORDS.contains(&t.as_str()));
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let clean = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '&' && c != '\'')
            .to_string()
    };
    let capital = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !capital(&clean(words[i])) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut run: Vec<String> = Vec::new();
        while j < words.len() {
            let w = clean(words[j]);
            if w.is_empty() {
                break;
            }
            // "Inkpot Books (The Inkpot Bookshop …)": a parenthesis starts another name.
            if j > i && words[j].starts_with('(') {
                break;
            }
            let joins = ["of", "and", "&", "de", "van", "von"].contains(&w.as_str());
            if capital(&w) || (joins && j + 1 < words.len() && capital(&clean(words[j + 1]))) {
                run.push(w);
                // A name ends at punctuation after its word.
                if words[j].ends_with([',', '.', ';', ':', ')', '!', '?']) {
                    j += 1;
                    break;
                }
                j += 1;
            } else {
                break;
            }
        }
        // "Orvane-based Verity Autonomics": the place is not part of the name, and says a
        // name follows.
        let based = run
            .first()
            .is_some_and(|w| w.to_lowercase().ends_with("-based"));
        if based {
            run.remove(0);
        }
        // Sentence-initial words ("The", "Meanwhile") are not part of a name.
        while run.len() > 1 && SENTENCE_OPENERS.contains(&run[0].as_str()) {
            run.remove(0);
        }
        if run.len() >= 2 && run.len() <= 6 {
            let lower: Vec<String> = run.iter().map(|w| w.to_lowercase()).collect();
            let organised = lower.iter().any(|w| {
                ORG_WORDS.contains(&w.as_str()) || types.iter().any(|t| *t == singular(w))
            });
            let before = i
                .checked_sub(1)
                .map(|k| clean(words[k]).to_lowercase())
                .unwrap_or_default();
            let after: String = words[j.min(words.len())..]
                .iter()
                .take(3)
                .map(|w| w.to_lowercase())
                .collect::<Vec<_>>()
                .join(" ");
            let ended_by_comma = words[j - 1].ends_with(',');
            // Context that says "a name of an organisation": "firm X", "X, founded in …".
            // "X, the cat rescue charity …": an apposition naming the kind.
            let apposition: Vec<String> = words[j.min(words.len())..]
                .iter()
                .take(5)
                .map(|w| singular(&clean(w).to_lowercase()))
                .collect();
            let cued = based
                || types.iter().any(|t| *t == singular(&before))
                || ORG_CUES.contains(&before.as_str())
                || (ended_by_comma && after.starts_with("founded"))
                || (ended_by_comma
                    && apposition
                        .iter()
                        .any(|w| types.contains(w) || ORG_CUES.contains(&w.as_str())))
                || after.starts_with("was founded")
                || after.starts_with("(founded");
            let person = people
                && run.len() <= 3
                && !lower.iter().any(|w| {
                    ORG_WORDS.contains(&w.as_str()) || NOT_PERSON_WORDS.contains(&w.as_str())
                })
                && run.iter().all(|w| {
                    w.chars()
                        .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                });
            let organisation = (organised && !ORG_WORDS.contains(&lower[0].as_str())) || cued;
            // Looking for people, an organisation's name is not a candidate.
            let name = run.join(" ");
            if ((organisation && !people) || person) && looks_like_name(&name) {
                out.push(name);
            }
        }
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "## Dental clinics in Harrowfield\n\nOur directory lists every practice in town.\n\n- [Brightsmile Dental](http://h.example/clinics/brightsmile.html) – family dentistry on Mill Road\n- [Oakview Dental Care](http://h.example/clinics/oakview.html) – implants\n\n| Clinic | Town | Accepting new patients |\n| --- | --- | --- |\n| [Xylo Dental](http://h.example/c/x.html) | Harrowfield | Yes |\n| Yarrow Smiles | Nettlebury | No |\n\nMeanwhile Ferncliff Dental Practice, which opened in 2019, is not accepting new patients.";

    #[test]
    fn lists_tables_and_prose_name_entities() {
        let found = mentions(PAGE, "dental clinics");
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Brightsmile Dental",
                "Oakview Dental Care",
                "Xylo Dental",
                "Yarrow Smiles",
                "Ferncliff Dental Practice"
            ]
        );
        assert_eq!(
            found[0].url.as_deref(),
            Some("http://h.example/clinics/brightsmile.html")
        );
        assert_eq!(found[0].description, "family dentistry on Mill Road");
        assert_eq!(found[3].url, None);
        assert!(!found[4].listed);
    }

    #[test]
    fn table_rows_are_read_as_header_value_pairs() {
        let s = statements(PAGE);
        assert!(s.iter().any(
            |s| s.text == "Clinic: Yarrow Smiles; Town: Nettlebury; Accepting new patients: No"
        ));
        assert!(s.iter().any(|s| s.text.starts_with("Meanwhile Ferncliff")));
    }

    #[test]
    fn infobox_tables_are_pairs_and_name_no_entities() {
        let md = "| Founded | 2017 |\n| --- | --- |\n| Headquarters | Foundry Quay, Orvane |\n| Employees | 120 |";
        let texts: Vec<String> = statements(md).into_iter().map(|s| s.text).collect();
        assert_eq!(
            texts,
            [
                "Founded: 2017",
                "Headquarters: Foundry Quay, Orvane",
                "Employees: 120"
            ]
        );
        assert!(mentions(md, "companies").is_empty());
        let town = "| Town | Harrowfield |\n| --- | --- |\n| Founded | 2014 |";
        let texts: Vec<String> = statements(town).into_iter().map(|s| s.text).collect();
        assert_eq!(texts, ["Town: Harrowfield", "Founded: 2014"]);
        // A two-column directory keeps its header and its names.
        let directory =
            "| Clinic | Town |\n| --- | --- |\n| Oak Dental | Quillmere |\n| Elm Dental | Brink |";
        assert_eq!(mentions(directory, "dental clinics").len(), 2);
        assert_eq!(
            statements(directory)[0].text,
            "Clinic: Oak Dental; Town: Quillmere"
        );
    }

    #[test]
    fn a_column_headed_by_a_naming_word_names_entities_however_written() {
        let md = "| Package | Licence | Stars |\n| --- | --- | --- |\n| ferro-csv | MIT OR Apache-2.0 | 1870 |\n| csvette | Apache-2.0 | 987 |";
        let names: Vec<String> = mentions(md, "software libraries")
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["ferro-csv", "csvette"]);
        assert!(!looks_like_name("40 Fore Street"));
        assert!(!looks_like_name("Gravlin Hut 1,840"));
        let headed = statements("## Opening hours\n\nSunday 8:00–13:00");
        assert_eq!(headed[0].context, "Opening hours");
    }

    #[test]
    fn names_keys_and_urls() {
        assert_eq!(name_key("Brightsmile Dental Ltd."), "brightsmile dental");
        assert_eq!(name_key("The Acme & Sons GmbH"), "acme and sons");
        assert_eq!(
            url_key("https://www.a.example/x/"),
            url_key("http://a.example/x")
        );
        assert!(looks_like_name("Oakview Dental Care"));
        assert!(!looks_like_name("Read more"));
        assert!(!looks_like_name("New clinic opens on Mill Road"));
        assert_eq!(
            title_name("Oakview Dental Care | Harrowfield"),
            "Oakview Dental Care"
        );
        assert!(is_list_title(
            "Dental clinics in Harrowfield",
            "dental clinics"
        ));
        assert!(!is_list_title("Oakview Dental Care", "dental clinics"));
        assert_eq!(type_words("dental clinics"), ["dental", "clinic"]);
    }

    #[test]
    fn sentences_do_not_break_at_abbreviations() {
        assert_eq!(
            sentences("It sits on St. Mary Road. It opened in 2019."),
            ["It sits on St. Mary Road.", "It opened in 2019."]
        );
    }
}
