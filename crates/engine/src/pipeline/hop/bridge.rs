//! Finding bridges in the sources: the proper names that the pages read state in a relation
//! to the entity asked about, in prose and in tables, and the one most sources agree on.

use super::{
    is_noun, noun_at, Entity, Relation, BETWEEN, CONNECTORS, MAX_NAME_WORDS, NEAR_WORDS, NOT_NAMES,
    RELATIONS,
};
use crate::pipeline::Source;
use crate::rank::tokens;
use std::collections::HashSet;

/// A token of a passage: a word (letters, digits, inner `-`, `'`, `.`; or `&`) or one
/// punctuation character, with its byte range.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tok<'a> {
    pub(super) text: &'a str,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) word: bool,
}

impl Tok<'_> {
    fn lower(&self) -> String {
        self.text.to_lowercase()
    }

    fn capitalised(&self) -> bool {
        self.word && self.text.chars().next().is_some_and(char::is_uppercase)
    }

    fn number(&self) -> bool {
        self.word && self.text.chars().next().is_some_and(|c| c.is_ascii_digit())
    }
}

pub(super) fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_alphanumeric() {
            let mut j = i + 1;
            while j < chars.len() {
                let d = chars[j].1;
                let inner = matches!(d, '-' | '\'' | '’' | '.')
                    && chars.get(j + 1).is_some_and(|n| n.1.is_alphanumeric());
                if d.is_alphanumeric() || inner {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(text.len(), |n| n.0);
            out.push(Tok {
                text: &text[start..end],
                start,
                end,
                word: true,
            });
            i = j;
            continue;
        }
        let end = start + c.len_utf8();
        out.push(Tok {
            text: &text[start..end],
            start,
            end,
            word: c == '&',
        });
        i += 1;
    }
    out
}

/// The name starting at token `i` (after an optional "the"), as a token range: capitalised
/// words, numbers after the first word, and connectors between capitalised words.
pub(super) fn name_after(toks: &[Tok<'_>], mut i: usize, skip_the: bool) -> Option<(usize, usize)> {
    if skip_the && toks.get(i).is_some_and(|t| t.lower() == "the") {
        i += 1;
    }
    let mut end: Option<usize> = None;
    let mut j = i;
    while j < toks.len() && j - i < MAX_NAME_WORDS + 2 {
        let t = toks[j];
        if !t.word {
            break;
        }
        if t.capitalised() || (end.is_some() && t.number()) {
            end = Some(j);
            j += 1;
            // A possessive ends the name: "Corvane's Drellford lab".
            if t.text.ends_with("'s") || t.text.ends_with("’s") {
                break;
            }
            continue;
        }
        if end.is_some()
            && CONNECTORS.contains(&t.lower().as_str())
            && toks.get(j + 1).is_some_and(|n| n.capitalised())
        {
            j += 1;
            continue;
        }
        break;
    }
    let end = end?;
    // Leading words that start sentences are not part of the name.
    let mut start = i;
    while start <= end
        && (NOT_NAMES.contains(&toks[start].lower().as_str()) || toks[start].number())
    {
        start += 1;
    }
    (start <= end).then_some((start, end))
}

/// Lower-case words that describe a related entity before its name ("by local firm X", "by
/// the architecture practice X", "by a company called X").
pub(super) const ROLE_WORDS: &[&str] = &[
    "firm",
    "company",
    "studio",
    "practice",
    "group",
    "partnership",
    "architect",
    "architects",
    "contractor",
    "contractors",
    "manufacturer",
    "maker",
    "builder",
    "builders",
    "designer",
    "developer",
    "engineer",
    "engineers",
    "shipyard",
    "agency",
    "collective",
];

/// The name at token `i`, after an optional description of what it is ("local firm X",
/// "the architecture practice X", "a company called X"): a name right after a lower-case
/// role word within the next few words wins; else the name at `i`.
pub(super) fn name_after_role(
    toks: &[Tok<'_>],
    lower: &[String],
    i: usize,
) -> Option<(usize, usize)> {
    for j in i..(i + 5).min(toks.len()) {
        if !toks[j].word {
            break;
        }
        if ROLE_WORDS.contains(&lower[j].as_str()) && !toks[j].capitalised() {
            let mut after = j + 1;
            if lower
                .get(after)
                .is_some_and(|w| matches!(w.as_str(), "called" | "named"))
            {
                after += 1;
            }
            if let Some(found) = name_after(toks, after, true) {
                return Some(found);
            }
        }
    }
    name_after(toks, i, true)
}

/// The name ending just before token `i`, as a token range.
pub(super) fn name_before(toks: &[Tok<'_>], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    while j > 0 && BETWEEN.contains(&toks[j - 1].lower().as_str()) {
        j -= 1;
    }
    if j == 0 || !(toks[j - 1].capitalised() || toks[j - 1].number()) {
        return None;
    }
    let end = j - 1;
    let mut start = end;
    while start > 0 && end - start < MAX_NAME_WORDS + 2 {
        let t = toks[start - 1];
        // A connector counts only between capitalised words ("Rusk & Ode").
        let connects =
            CONNECTORS.contains(&t.lower().as_str()) && start >= 2 && toks[start - 2].capitalised();
        if !(t.capitalised() || t.number() || connects) {
            break;
        }
        start -= 1;
    }
    // Leading words that start sentences, and numbers, are not part of the name.
    while start <= end
        && (NOT_NAMES.contains(&toks[start].lower().as_str())
            || toks[start].number()
            || CONNECTORS.contains(&toks[start].lower().as_str()))
    {
        start += 1;
    }
    (start <= end && toks[start].capitalised()).then_some((start, end))
}

/// The name of a token range, cleaned: no possessive `'s`, at most [`MAX_NAME_WORDS`] words,
/// and at least one word that is a name.
pub(super) fn clean_name(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_suffix("'s")
        .or_else(|| text.strip_suffix("’s"))
        .unwrap_or(text)
        .trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_NAME_WORDS {
        return None;
    }
    let is_label = |w: &str| {
        let lower = w.to_lowercase();
        NOT_NAMES.contains(&lower.as_str())
            || RELATIONS
                .iter()
                .any(|r| r.nouns().iter().any(|n| is_noun(&lower, n)))
    };
    let named = words.iter().any(|w| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && !is_label(w)
    });
    named.then(|| text.to_owned())
}

/// A source naming a bridge.
#[derive(Debug, Clone)]
pub struct Mention {
    pub name: String,
    pub relation: Relation,
    /// Index of the source in the sources searched.
    pub source: usize,
    /// The sentence or table row naming it.
    pub excerpt: String,
    /// 3: the sentence or table row names the entity in full; 2: in part; 1: the page's
    /// title or the passage's heading names it; 0: only the passage does.
    pub strength: u8,
}

/// The related entity chosen for a relation.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub name: String,
    pub relation: Relation,
    /// The first mention of each source naming it, best first.
    pub mentions: Vec<Mention>,
    /// Other names the sources state in the same relation, in a sentence or row naming the
    /// entity: sources that disagree.
    pub others: Vec<String>,
}

/// Every statement of a relation in `text` (one passage): the name, its relation, and where
/// the statement starts (for its sentence).
pub(super) fn prose_mentions(text: &str, entity: &Entity) -> Vec<(String, Relation, usize)> {
    let toks = tokenize(text);
    let lower: Vec<String> = toks.iter().map(Tok::lower).collect();
    let span = |a: usize, b: usize| clean_name(&text[toks[a].start..toks[b].end]);
    // The entity named within the next few words of the same sentence.
    let entity_after = |from: usize| {
        let mut to = from;
        while to < toks.len()
            && to < from + NEAR_WORDS
            && !matches!(toks[to].text, "." | "!" | "?" | ";")
        {
            to += 1;
        }
        from < to && entity.named_in(&text[toks[from].start..toks[to - 1].end]) > 0
    };
    let mut out = Vec::new();
    for k in 0..toks.len() {
        let w = lower[k].as_str();
        for relation in RELATIONS {
            // "made by X"
            if relation.passive().contains(&w) && lower.get(k + 1).is_some_and(|b| b == "by") {
                if let Some((a, b)) = name_after_role(&toks, &lower, k + 2) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[k].start));
                    }
                }
            }
            // "X makes the Tamsel K4"
            if relation.active().contains(&w) && entity_after(k + 1) {
                if let Some((a, b)) = name_before(&toks, k) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[a].start));
                    }
                }
            }
        }
        if let Some((relation, len)) = noun_at(&lower, k) {
            let after = k + len;
            // "the manufacturer, X" / "Manufacturer: X" / "its architects were X"
            let mut p = after;
            if toks.get(p).is_some_and(|t| {
                matches!(t.text, ":" | "," | "-" | "–" | "—")
                    || matches!(lower[p].as_str(), "is" | "was" | "were" | "are")
            }) {
                p += 1;
            }
            if let Some((a, b)) = name_after(&toks, p, true) {
                if let Some(name) = span(a, b) {
                    out.push((name, relation, toks[k].start));
                }
            }
            // "X, the manufacturer of the Tamsel K4"
            if lower.get(after).is_some_and(|w| w == "of")
                && k > 0
                && matches!(lower[k - 1].as_str(), "the" | "its" | "a")
                && entity_after(after + 1)
            {
                let mut q = k - 1;
                while q > 0 && matches!(lower[q - 1].as_str(), "is" | "was" | "," | "remains") {
                    q -= 1;
                }
                if let Some((a, b)) = name_before(&toks, q) {
                    if let Some(name) = span(a, b) {
                        out.push((name, relation, toks[a].start));
                    }
                }
            }
        }
        // "a subsidiary of X"
        if matches!(w, "subsidiary" | "division") && lower.get(k + 1).is_some_and(|o| o == "of") {
            if let Some((a, b)) = name_after_role(&toks, &lower, k + 2) {
                if let Some(name) = span(a, b) {
                    out.push((name, Relation::Owner, toks[k].start));
                }
            }
        }
    }
    out
}

/// A table cell's relation, when it is a label such as "Manufacturer", "Architect(s)" or
/// "Made by".
pub(super) fn label_relation(cell: &str) -> Option<Relation> {
    let cleaned = cell.replace("(s)", "s");
    let words: Vec<String> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if let Some((relation, len)) = noun_at(&words, 0) {
        if len == words.len() {
            return Some(relation);
        }
    }
    if words.len() == 2 && words[1] == "by" {
        return RELATIONS
            .iter()
            .find(|r| r.passive().contains(&words[0].as_str()))
            .copied();
    }
    None
}

/// The name in a table cell: up to a comma, parenthesis or semicolon ("Corvane Appliances
/// (since 2011)").
pub(super) fn cell_name(cell: &str) -> &str {
    cell.split([',', '(', ';', '[']).next().unwrap_or(cell)
}

/// Relations stated in the markdown tables of `text`: a two-cell row "Manufacturer | X", or
/// a column headed "Manufacturer" (in a table of three or more columns) in a row naming the
/// entity. Gives the name, relation and row (with its header for a column).
pub(super) fn table_mentions(text: &str, entity: &Entity) -> Vec<(String, Relation, String)> {
    let mut out = Vec::new();
    let mut block: Vec<(&str, Vec<String>)> = Vec::new();
    let lines: Vec<&str> = text.lines().chain(std::iter::once("")).collect();
    for line in lines {
        if let Some(row) = crate::facts::row_cells(line) {
            if !crate::extract::markdown::is_table_delimiter(line.trim()) {
                block.push((line.trim(), row));
            }
            continue;
        }
        if block.is_empty() {
            continue;
        }
        for (line, row) in &block {
            let filled: Vec<&String> = row.iter().filter(|c| !c.is_empty()).collect();
            if filled.len() == 2 {
                if let (Some(relation), Some(name)) =
                    (label_relation(filled[0]), clean_name(cell_name(filled[1])))
                {
                    out.push((name, relation, (*line).to_owned()));
                }
            }
        }
        let (header_line, header) = &block[0];
        if header.len() >= 3 {
            for (col, label) in header.iter().enumerate() {
                let Some(relation) = label_relation(label) else {
                    continue;
                };
                for (line, row) in &block[1..] {
                    if entity.named_in(line) == 0 {
                        continue;
                    }
                    if let Some(name) = row.get(col).and_then(|c| clean_name(cell_name(c))) {
                        out.push((name, relation, format!("{header_line}\n{line}")));
                    }
                }
            }
        }
        block.clear();
    }
    out
}

/// Whether `name` is the entity asked about (all its words are the entity's).
pub(super) fn is_the_entity(name: &str, entity: &Entity) -> bool {
    let words = tokens(name);
    !words.is_empty() && words.iter().all(|w| entity.all.contains(w))
}

/// Every statement in `sources` of an entity in a relation to `entity`.
pub fn mentions(sources: &[Source], entity: &Entity) -> Vec<Mention> {
    let mut out = Vec::new();
    for (s, source) in sources.iter().enumerate() {
        let title = source.title.as_deref().unwrap_or("");
        for passage in &source.passages {
            let heading = passage.heading.as_deref().unwrap_or("");
            let about = entity.named_in(&format!("{title} {heading}")) > 0;
            let in_passage = entity.named_in(&passage.text) > 0;
            if !about && !in_passage {
                continue;
            }
            // How plainly a statement is about the entity: see [`Mention::strength`].
            let strength = |statement: &str, name: &str| {
                let named = entity.named_in(&statement.replace(name, " "));
                if named > 0 && named >= entity.words.len() {
                    3
                } else if named > 0 {
                    2
                } else if about {
                    1
                } else {
                    0
                }
            };
            for (name, relation, start) in prose_mentions(&passage.text, entity) {
                let excerpt = crate::typed::sentence_at(&passage.text, start)
                    .trim()
                    .to_owned();
                out.push(Mention {
                    strength: strength(&excerpt, &name),
                    name,
                    relation,
                    source: s,
                    excerpt,
                });
            }
            for (name, relation, row) in table_mentions(&passage.text, entity) {
                out.push(Mention {
                    strength: strength(&row, &name),
                    name,
                    relation,
                    source: s,
                    excerpt: row,
                });
            }
        }
    }
    out.retain(|m| !is_the_entity(&m.name, entity));
    out
}

/// The words of a name, lower case, for comparing names.
pub(super) fn name_key(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The bridge for `relation` (any relation when `None`) in `sources`: see [`choose_bridge`].
pub fn find_bridge(
    sources: &[Source],
    entity: &Entity,
    relation: Option<Relation>,
) -> Option<Bridge> {
    choose_bridge(&mentions(sources, entity), relation)
}

/// The bridge for `relation` (any relation when `None`) among `mentions`: the name most
/// sources about the entity agree on, then the one stated most plainly about it, then the
/// first found.
pub fn choose_bridge(mentions: &[Mention], relation: Option<Relation>) -> Option<Bridge> {
    let found: Vec<Mention> = mentions
        .iter()
        .filter(|m| relation.is_none_or(|r| m.relation == r))
        .cloned()
        .collect();
    // A statement counts only on a page about the entity or in a sentence naming it: "the
    // Brisk 2 is made by X" on a page comparing kettles is not about the one asked about.
    if found.iter().all(|m| m.strength == 0) {
        return None;
    }
    // Names grouped: one name's words starting another's ("Corvane" and "Corvane
    // Appliances") are the same name.
    let mut groups: Vec<(Vec<String>, Vec<Mention>)> = Vec::new();
    for m in found {
        let key = name_key(&m.name);
        let same = |other: &Vec<String>| {
            let n = key.len().min(other.len());
            n > 0 && key[..n] == other[..n]
        };
        match groups.iter_mut().find(|(k, _)| same(k)) {
            Some((k, ms)) => {
                if key.len() > k.len() {
                    *k = key;
                }
                ms.push(m);
            }
            None => groups.push((key, vec![m])),
        }
    }
    let score = |ms: &Vec<Mention>| {
        let count = |min: u8| {
            let mut sources: Vec<usize> = ms
                .iter()
                .filter(|m| m.strength >= min)
                .map(|m| m.source)
                .collect();
            sources.sort_unstable();
            sources.dedup();
            sources.len()
        };
        let best = ms.iter().map(|m| m.strength).max().unwrap_or(0);
        (count(1), best, count(0))
    };
    let best = (0..groups.len()).max_by(|&a, &b| {
        score(&groups[a].1)
            .cmp(&score(&groups[b].1))
            // Ties go to the name found first.
            .then(b.cmp(&a))
    })?;
    let (key, mut chosen) = groups.swap_remove(best);
    chosen.sort_by(|a, b| b.strength.cmp(&a.strength).then(a.source.cmp(&b.source)));
    let mut seen = HashSet::new();
    chosen.retain(|m| seen.insert(m.source));
    // The fullest spelling of the name.
    let name = chosen
        .iter()
        .map(|m| m.name.clone())
        .find(|n| name_key(n) == key)
        .unwrap_or_else(|| chosen[0].name.clone());
    let mut others: Vec<String> = groups
        .into_iter()
        // Another name stated in a sentence (or row) that names the entity: a disagreement.
        .filter(|(_, ms)| ms.iter().any(|m| m.strength >= 2))
        .map(|(_, ms)| ms[0].name.clone())
        .collect();
    others.dedup();
    Some(Bridge {
        name,
        relation: chosen[0].relation,
        mentions: chosen,
        others,
    })
}
