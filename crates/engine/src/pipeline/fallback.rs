//! Reading, from a field's description, what to give when no source states the field.
//!
//! Parallel's guide tells users to put that in the description: "If unavailable, return
//! null", "If no data found, return 'Unknown'". [`stated_fallback`] finds such an
//! instruction with one general rule, not a list of sentences:
//!
//! - a sentence holds a **verb of giving** (`return`, `use`, `output`, `write`, `put`,
//!   `give`, `enter`, `say`, `report`, `respond with`, `set to`, `default to`, `fall back to`,
//!   `fill with`, `mark as`, `leave`…) followed by a **value**, and an **absence condition**
//!   (`if`, `when`, `where`, `in case` …) before the verb or right after the value:
//!   "If not found, use 'N/A'", "Return 0 when no employees are listed";
//! - or a quoted value (or null) followed by an absence condition: "('Unknown' if missing)";
//! - or `otherwise`/`else`/`if not` followed by a value: "The CEO if known, otherwise null";
//! - or a label: "Default: null", "Fallback: 'None found'".
//!
//! An absence condition speaks of the value not being found: a word such as `unavailable`,
//! `unknown`, `missing`, `undisclosed`, or a negation (`not`, `no`, `cannot`, `doesn't` …)
//! followed by a word of finding or knowing (`found`, `available`, `known`, `data`,
//! `stated`, `disclosed`, `listed` …). "If the company is not public, return 'Private'" is
//! a rule about the world, not about missing data, and is not a fallback.
//!
//! A value is a quoted text (any of `"…"`, `'…'`, `“…”`, `‘…’`, `` `…` ``), `null`/`none`/
//! `nil`/`nothing`, an empty string, list or blank, a number, `true`/`false`, or up to three
//! bare words that are not an instruction ("the latest estimate", "its parent company" start
//! with a determiner and are not values). The first instruction in the description wins.

use serde_json::Value;
use std::ops::Range;

/// What a description says to give when the field's value is not found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    /// `null`.
    Null,
    /// A value as written; `quoted` when it stood in quotes.
    Literal { text: String, quoted: bool },
    /// "an empty string".
    EmptyString,
    /// "an empty list".
    EmptyList,
    /// "leave it blank": an empty string or an empty list, as the field's type allows.
    Blank,
}

impl Fallback {
    /// The JSON values the fallback may stand for, most likely first: the caller keeps the
    /// first that fits the field's schema. A quoted `'0'` is first the string "0", a bare
    /// `0` first the number.
    pub fn candidates(&self) -> Vec<Value> {
        match self {
            Fallback::Null => vec![Value::Null],
            Fallback::EmptyString => vec![Value::String(String::new())],
            Fallback::EmptyList => vec![Value::Array(Vec::new())],
            Fallback::Blank => vec![Value::String(String::new()), Value::Array(Vec::new())],
            Fallback::Literal { text, quoted } => {
                let text_value = Value::String(text.clone());
                match (scalar(text), quoted) {
                    (Some(scalar), true) => vec![text_value, scalar],
                    (Some(scalar), false) => vec![scalar, text_value],
                    (None, _) => vec![text_value],
                }
            }
        }
    }

    /// The fallback as a person reads it, for reasoning and warnings.
    pub fn describe(&self) -> String {
        match self {
            Fallback::Null => "null".into(),
            Fallback::Literal { text, .. } => format!("\"{text}\""),
            Fallback::EmptyString => "an empty string".into(),
            Fallback::EmptyList => "an empty list".into(),
            Fallback::Blank => "a blank value".into(),
        }
    }
}

/// A number or boolean written as `text`.
fn scalar(text: &str) -> Option<Value> {
    match text.to_lowercase().as_str() {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::from(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Value::from)
}

/// The fallback a field's description states, if it states one (see the module
/// documentation for the rule).
pub fn stated_fallback(description: &str) -> Option<Fallback> {
    find(description).map(|(fallback, _)| fallback)
}

/// The description without the words that state its fallback: what the field is, for
/// ranking passages ("City of the head office. If no data found, return 'Unknown'" is about
/// a city, not about data or returning).
pub fn without_fallback(description: &str) -> String {
    match find(description) {
        Some((_, span)) => {
            let mut out = description[..span.start].to_owned();
            out.push(' ');
            out.push_str(&description[span.end..]);
            out
        }
        None => description.to_owned(),
    }
}

/// The first fallback a description states, with the byte range of the words stating it.
fn find(description: &str) -> Option<(Fallback, Range<usize>)> {
    let (tokens, spans) = tokens(description);
    sentences(&tokens).into_iter().find_map(|sentence| {
        let (fallback, found) = in_sentence(&tokens[sentence.clone()])?;
        let first = &spans[sentence.start + found.start];
        let last = &spans[sentence.start + found.end - 1];
        Some((fallback, first.start..last.end))
    })
}

/// A piece of a description.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A word, lower-cased, with its text as written.
    Word { lower: String, text: String },
    /// A quoted text, without its quotes.
    Quoted(String),
    /// Punctuation that matters: `,` `:` `(` `)` `[` `]`, and sentence ends (`.`).
    Punct(char),
}

impl Token {
    fn word(&self) -> Option<&str> {
        match self {
            Token::Word { lower, .. } => Some(lower),
            _ => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        self.word() == Some(w)
    }
}

/// Pairs of opening and closing quotes.
const QUOTES: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201c}', '\u{201d}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{00ab}', '\u{00bb}'),
];

/// The tokens of a text, with the byte range each covers.
fn tokens(text: &str) -> (Vec<Token>, Vec<Range<usize>>) {
    let indexed: Vec<(usize, char)> = text.char_indices().collect();
    let chars: Vec<char> = indexed.iter().map(|(_, c)| *c).collect();
    // Byte offset of char `k` (the text's length past the end).
    let byte = |k: usize| indexed.get(k).map_or(text.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut spans = Vec::new();
    let mut i = 0;
    let word_char = |c: char| c.is_alphanumeric() || "/-_%$€£+#&".contains(c);
    while i < chars.len() {
        let c = chars[i];
        let after_boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if let Some(&(_, close)) = QUOTES.iter().find(|(open, _)| *open == c) {
            // An apostrophe inside a word ("don't", "company's") is no quote; a quote closes
            // at its closing mark followed by no letter.
            if after_boundary {
                let end = (i + 1..chars.len()).find(|&j| {
                    chars[j] == close && chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric())
                });
                if let Some(end) = end {
                    out.push(Token::Quoted(chars[i + 1..end].iter().collect()));
                    spans.push(byte(i)..byte(end + 1));
                    i = end + 1;
                    continue;
                }
            }
        }
        if word_char(c) || (c == '\'' && !after_boundary) {
            let start = i;
            while i < chars.len()
                && (word_char(chars[i])
                    // "3.5", "U.S.", "can't": inner dots and apostrophes belong to the word.
                    || ((chars[i] == '.' || chars[i] == '\'' || chars[i] == '\u{2019}')
                        && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())))
            {
                i += 1;
            }
            if i == start {
                // A closing apostrophe ("the members' votes") is no word: step past it, or
                // the loop would push empty words forever.
                i += 1;
                continue;
            }
            let text: String = chars[start..i].iter().collect();
            let lower = text.to_lowercase().replace('\u{2019}', "'");
            out.push(Token::Word { lower, text });
            spans.push(byte(start)..byte(i));
            continue;
        }
        let punct = match c {
            '.' | '!' | '?' | '\n' => Some('.'),
            ',' | ':' | ';' | '(' | ')' | '[' | ']' | '{' | '}' => Some(c),
            _ => None,
        };
        if let Some(p) = punct {
            out.push(Token::Punct(p));
            spans.push(byte(i)..byte(i + 1));
        }
        i += 1;
    }
    (out, spans)
}

/// The sentences of a token list (split at `.`, `!`, `?` and line ends), as token ranges.
fn sentences(tokens: &[Token]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (k, token) in tokens.iter().enumerate() {
        if *token == Token::Punct('.') {
            if k > start {
                out.push(start..k);
            }
            start = k + 1;
        }
    }
    if tokens.len() > start {
        out.push(start..tokens.len());
    }
    out
}

/// Verbs of giving, as word sequences; the longest match is taken.
const VERBS: &[&[&str]] = &[
    &["return"],
    &["returns"],
    &["use"],
    &["output"],
    &["write"],
    &["put"],
    &["give"],
    &["enter"],
    &["say"],
    &["state"],
    &["report"],
    &["respond", "with"],
    &["reply", "with"],
    &["answer", "with"],
    &["answer"],
    &["provide"],
    &["show"],
    &["display"],
    &["populate", "with"],
    &["fill", "in", "with"],
    &["fill", "it", "with"],
    &["fill", "with"],
    &["fill", "in"],
    &["set", "it", "to"],
    &["set", "the", "field", "to"],
    &["set", "the", "value", "to"],
    &["set", "to"],
    &["default", "to"],
    &["defaults", "to"],
    &["fall", "back", "to"],
    &["fallback", "to"],
    &["mark", "it", "as"],
    &["mark", "as"],
    &["leave", "it", "as"],
    &["leave", "as"],
    &["leave", "it"],
    &["leave", "the", "field"],
    &["leave"],
];

/// Words that open a condition.
const CONDITIONS: &[&[&str]] = &[
    &["if"],
    &["when"],
    &["whenever"],
    &["where"],
    &["wherever"],
    &["in", "case"],
    &["should"],
];

/// Words that say the value is not there, on their own.
const ABSENT: &[&str] = &[
    "unavailable",
    "unknown",
    "missing",
    "absent",
    "undisclosed",
    "unreported",
    "unspecified",
    "unstated",
    "unclear",
    "undetermined",
    "unverifiable",
    "unconfirmed",
    "unlisted",
    "unpublished",
    "unfound",
    "silent",
    "n/a",
    "none",
    "nothing",
];

/// Negations.
const NEGATIONS: &[&str] = &[
    "not", "no", "cannot", "can't", "couldn't", "isn't", "aren't", "wasn't", "weren't", "doesn't",
    "don't", "didn't", "hasn't", "haven't", "won't", "never", "without", "nowhere", "neither",
    "nor", "unable", "fail", "fails", "failed",
];

/// Words of finding, knowing, stating and of where information stands: after a negation,
/// they make an absence condition ("if no data is found", "if the filings don't name one",
/// "if it is not on any page"). Three classes, each as complete as we could make it: verbs
/// of finding and knowing, verbs of stating or publishing, and the things that hold
/// information. A negation before anything else ("if the company is not public") is a
/// condition about the world, not about missing data.
const INFO: &[&str] = &[
    // Finding and knowing.
    "available",
    "availability",
    "accessible",
    "found",
    "find",
    "findable",
    "locate",
    "located",
    "identify",
    "identified",
    "determine",
    "determined",
    "determinable",
    "verify",
    "verified",
    "verifiable",
    "confirm",
    "confirmed",
    "retrieve",
    "retrieved",
    "obtain",
    "obtained",
    "see",
    "seen",
    "detect",
    "detected",
    "know",
    "known",
    "match",
    "matches",
    "read",
    // Stating and publishing.
    "state",
    "stated",
    "states",
    "say",
    "says",
    "said",
    "name",
    "names",
    "named",
    "mention",
    "mentioned",
    "mentions",
    "list",
    "listed",
    "lists",
    "report",
    "reported",
    "reports",
    "disclose",
    "disclosed",
    "discloses",
    "publish",
    "published",
    "publishes",
    "announce",
    "announced",
    "announces",
    "release",
    "released",
    "reveal",
    "revealed",
    "share",
    "shared",
    "provide",
    "provided",
    "provides",
    "give",
    "given",
    "gives",
    "specify",
    "specified",
    "indicate",
    "indicated",
    "note",
    "noted",
    "cite",
    "cited",
    "describe",
    "described",
    "document",
    "documented",
    "record",
    "recorded",
    "file",
    "filed",
    "cover",
    "covered",
    "covers",
    "include",
    "included",
    "includes",
    "contain",
    "contained",
    "contains",
    "show",
    "shown",
    "shows",
    // What holds information.
    "data",
    "information",
    "info",
    "source",
    "sources",
    "result",
    "results",
    "records",
    "evidence",
    "answer",
    "value",
    "page",
    "pages",
    "website",
    "site",
    "web",
    "online",
    "documents",
    "filing",
    "filings",
    "article",
    "articles",
    "text",
];

/// First words of a phrase that is an instruction, not a value.
const NOT_VALUES: &[&str] = &[
    "the",
    "a",
    "an",
    "its",
    "their",
    "his",
    "her",
    "your",
    "our",
    "my",
    "this",
    "that",
    "these",
    "those",
    "any",
    "some",
    "best",
    "most",
    "whatever",
    "what",
    "which",
    "how",
    "who",
    "all",
    "each",
    "every",
    "only",
    "other",
    "another",
    "more",
    "less",
    "as",
    "to",
    "with",
    "from",
    "based",
    "estimate",
    "estimated",
    "approximate",
    "approximately",
    "closest",
    "nearest",
    "latest",
    "last",
    "previous",
    "recent",
    "it",
    "them",
    "one",
    "instead",
    "in",
    "on",
    "at",
    "for",
    "by",
    "of",
    "and",
    "or",
    "if",
    "when",
    "where",
    "otherwise",
    "else",
    "then",
    "so",
    "please",
    "you",
    "we",
    "i",
    "there",
    "do",
    "not",
    "is",
    "are",
    "be",
];

/// Words that end a bare value.
const VALUE_ENDS: &[&str] = &[
    "if",
    "when",
    "whenever",
    "where",
    "in",
    "unless",
    "otherwise",
    "else",
    "or",
    "and",
    "for",
    "because",
    "since",
    "as",
    "instead",
    "rather",
    "but",
    "so",
    "then",
    "to",
    "with",
];

/// The fallback stated in one sentence, if any, with the tokens that state it.
fn in_sentence(s: &[Token]) -> Option<(Fallback, Range<usize>)> {
    for i in 0..s.len() {
        // "…, otherwise null"; "if not, return 'Unknown'".
        let after_otherwise = if s[i].is_word("otherwise") || s[i].is_word("else") {
            Some(i + 1)
        } else if s[i].is_word("if")
            && s.get(i + 1).is_some_and(|t| t.is_word("not"))
            && s.get(i + 2).is_none_or(|t| matches!(t, Token::Punct(',')))
        {
            Some(i + 2)
        } else {
            None
        };
        if let Some(mut at) = after_otherwise {
            while matches!(s.get(at), Some(Token::Punct(',' | ':'))) {
                at += 1;
            }
            if let Some(len) = verb_at(s, at) {
                at += len;
            }
            if let Some((fallback, end)) = value_at(s, at) {
                // Bare words after "otherwise" are a value only after a condition ("the CEO
                // if known, otherwise Unknown"); else they may be an instruction ("use the
                // website; otherwise use news articles").
                let bare = matches!(&fallback, Fallback::Literal { text, quoted: false } if scalar(text).is_none());
                if !bare || (0..i).any(|c| condition_at(s, c).is_some()) {
                    return Some((fallback, i..end));
                }
            }
        }
        // "If not found: N/A".
        if let Some(len) = condition_at(s, i) {
            let colon = (i + len..s.len()).find(|&k| matches!(s[k], Token::Punct(_)));
            if let Some(colon) = colon.filter(|&k| s[k] == Token::Punct(':')) {
                if is_absence(&s[i + len..colon]) {
                    if let Some((fallback, end)) = value_at(s, colon + 1) {
                        return Some((fallback, i..end));
                    }
                }
            }
        }
        // "Default: null", "fallback value: 'N/A'".
        if matches!(s[i].word(), Some("default" | "fallback")) {
            let mut at = i + 1;
            if s.get(at).is_some_and(|t| t.is_word("value")) {
                at += 1;
            }
            if matches!(s.get(at), Some(Token::Punct(':'))) {
                if let Some((fallback, end)) = value_at(s, at + 1) {
                    return Some((fallback, i..end));
                }
            }
        }
        // A verb of giving and its value, with an absence condition before or after.
        if let Some(len) = verb_at(s, i) {
            let mut at = i + len;
            while matches!(s.get(at), Some(Token::Punct(':'))) {
                at += 1;
            }
            if let Some((fallback, end)) = value_at(s, at) {
                if let Some(condition) = absent_before(s, i) {
                    return Some((fallback, condition..end));
                }
                if let Some(condition_end) = absent_after(s, end) {
                    return Some((fallback, i..condition_end));
                }
            }
        }
        // "('Unknown' if not found)", "null when unavailable", "or 0 if not reported".
        let after_or = i > 0 && s[i - 1].is_word("or");
        let plain_value = matches!(s[i], Token::Quoted(_))
            || matches!(s[i].word(), Some("null" | "none"))
            || s[i].word().and_then(scalar).is_some();
        if (plain_value || after_or) && verb_before(s, i).is_none() {
            if let Some((fallback, end)) = value_at(s, i) {
                if let Some(condition_end) = absent_after(s, end) {
                    let start = if after_or { i - 1 } else { i };
                    return Some((fallback, start..condition_end));
                }
            }
        }
    }
    None
}

/// Length of the verb of giving starting at `at`, if one does.
fn verb_at(s: &[Token], at: usize) -> Option<usize> {
    VERBS
        .iter()
        .filter(|verb| {
            verb.iter()
                .enumerate()
                .all(|(k, w)| s.get(at + k).is_some_and(|t| t.is_word(w)))
        })
        .map(|verb| verb.len())
        .max()
}

/// Position of a verb of giving right before `at`.
fn verb_before(s: &[Token], at: usize) -> Option<usize> {
    (at.saturating_sub(4)..at).find(|&v| verb_at(s, v).is_some_and(|len| v + len == at))
}

/// Length of the condition opener at `at`, if one.
fn condition_at(s: &[Token], at: usize) -> Option<usize> {
    CONDITIONS
        .iter()
        .filter(|c| {
            c.iter()
                .enumerate()
                .all(|(k, w)| s.get(at + k).is_some_and(|t| t.is_word(w)))
        })
        .map(|c| c.len())
        .max()
}

/// Whether the words of `cond` say the value is missing.
fn is_absence(cond: &[Token]) -> bool {
    let words: Vec<&str> = cond.iter().filter_map(Token::word).collect();
    words.iter().any(|w| ABSENT.contains(w))
        || words.iter().enumerate().any(|(k, w)| {
            NEGATIONS.contains(w) && words[k + 1..].iter().any(|later| INFO.contains(later))
        })
}

/// Where the absence condition before the verb at `verb` opens, if there is one: the last
/// condition opener before the verb, its words running up to the verb.
fn absent_before(s: &[Token], verb: usize) -> Option<usize> {
    let (c, len) = (0..verb)
        .rev()
        .find_map(|c| condition_at(s, c).map(|len| (c, len)))?;
    is_absence(&s[c + len..verb]).then_some(c)
}

/// Where the absence condition opening right at `at` (after a value) ends, if one opens
/// there: it runs to the next comma or parenthesis.
fn absent_after(s: &[Token], at: usize) -> Option<usize> {
    let len = condition_at(s, at)?;
    let start = at + len;
    let end = (start..s.len())
        .find(|&k| matches!(s[k], Token::Punct(',' | ')')))
        .unwrap_or(s.len());
    is_absence(&s[start..end]).then_some(end)
}

/// The value starting at `at`, and where it ends.
fn value_at(s: &[Token], at: usize) -> Option<(Fallback, usize)> {
    let mut at = at;
    // "the value 'N/A'", "the string \"Unknown\"", "a value of 0".
    for filler in [
        &["the", "value", "of"][..],
        &["a", "value", "of"],
        &["the", "value"],
        &["the", "string"],
        &["the", "word"],
        &["the", "text"],
        &["the", "literal"],
        &["the", "number"],
        &["a", "literal"],
        &["literal"],
        &["json"],
    ] {
        let here = filler
            .iter()
            .enumerate()
            .all(|(k, w)| s.get(at + k).is_some_and(|t| t.is_word(w)));
        if here && s.get(at + filler.len()).is_some() {
            at += filler.len();
            break;
        }
    }
    match s.get(at)? {
        Token::Quoted(text) => {
            let text = text.trim();
            return Some((
                Fallback::Literal {
                    text: text.to_owned(),
                    quoted: true,
                },
                at + 1,
            ));
        }
        Token::Punct('[') if matches!(s.get(at + 1), Some(Token::Punct(']'))) => {
            return Some((Fallback::EmptyList, at + 2));
        }
        Token::Punct(_) => return None,
        Token::Word { .. } => {}
    }
    let word = |k: usize| s.get(at + k).and_then(Token::word);
    match (word(0), word(1), word(2)) {
        (Some("null" | "nil" | "nothing"), _, _) => {
            // "null value", "a null" are the same null.
            let end = if word(1) == Some("value") { 2 } else { 1 };
            return Some((Fallback::Null, at + end));
        }
        (Some("none"), _, _) => return Some((Fallback::Null, at + 1)),
        (Some("a" | "an"), Some("null"), _) => return Some((Fallback::Null, at + 2)),
        (Some("an" | "a"), Some("empty" | "blank"), Some(kind))
        | (Some("empty" | "blank"), Some(kind), _)
            if matches!(kind, "string" | "text" | "list" | "array") =>
        {
            let end = at
                + if matches!(word(0), Some("a" | "an")) {
                    3
                } else {
                    2
                };
            let fallback = if matches!(kind, "string" | "text") {
                Fallback::EmptyString
            } else {
                Fallback::EmptyList
            };
            return Some((fallback, end));
        }
        (Some("blank" | "empty"), _, _) => return Some((Fallback::Blank, at + 1)),
        _ => {}
    }
    // Bare words: up to three, not an instruction, ending at punctuation or a clause word.
    let first = word(0)?;
    if NOT_VALUES.contains(&first) {
        return None;
    }
    let mut words = Vec::new();
    let mut end = at;
    while let Some(Token::Word { lower, text }) = s.get(end) {
        if VALUE_ENDS.contains(&lower.as_str()) {
            break;
        }
        words.push(text.as_str());
        end += 1;
    }
    if words.is_empty() || words.len() > 3 {
        return None;
    }
    Some((
        Fallback::Literal {
            text: words.join(" "),
            quoted: false,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn literal(text: &str, quoted: bool) -> Option<Fallback> {
        Some(Fallback::Literal {
            text: text.into(),
            quoted,
        })
    }

    /// A closing apostrophe made the tokenizer push empty words without end (the server
    /// grew to 24 GB on one description and was killed).
    #[test]
    fn plural_possessives_end() {
        for description in [
            "Number of the members' votes",
            "The traders' association, if unavailable return 'Unknown'",
            "ends with an apostrophe'",
            "'",
            "a' b' c'",
        ] {
            let (tokens, spans) = tokens(description);
            assert_eq!(tokens.len(), spans.len());
            assert!(
                tokens.len() <= description.len(),
                "{description}: {tokens:?}"
            );
        }
        assert_eq!(
            stated_fallback("The traders' association; if unavailable return 'Unknown'"),
            literal("Unknown", true)
        );
    }

    mod fuzz {
        use super::super::{stated_fallback, tokens, without_fallback};
        use crate::fuzz::{config, description_like};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config(1))]

            /// Any description is read in bounded time and space: never more tokens than
            /// bytes, never a panic.
            #[test]
            fn descriptions_never_hang_or_panic(d in description_like()) {
                let (tokens, spans) = tokens(&d);
                prop_assert_eq!(tokens.len(), spans.len());
                prop_assert!(tokens.len() <= d.len());
                let _ = stated_fallback(&d);
                let _ = without_fallback(&d);
            }
        }
    }

    /// The phrasings the rule was written against: Parallel's guide's, and their kin.
    #[test]
    fn reads_the_guides_phrasings() {
        let cases = [
            ("Name of the CEO. If unavailable, return null.", Some(Fallback::Null)),
            ("If no data found, return 'Unknown'", literal("Unknown", true)),
            ("If unavailable, return \"Not Available\"", literal("Not Available", true)),
            ("Return null if not found.", Some(Fallback::Null)),
            ("Revenue in USD; use 0 when no revenue is reported", literal("0", false)),
            ("If not found: N/A", literal("N/A", false)),
            ("If not found, output N/A.", literal("N/A", false)),
            ("Website URL ('Unknown' if missing)", literal("Unknown", true)),
            ("The CEO's name if known, otherwise null", Some(Fallback::Null)),
            ("Default: 'None found'", literal("None found", true)),
            ("If the information is not available, leave it blank.", Some(Fallback::Blank)),
            ("If no products are listed, return an empty list", Some(Fallback::EmptyList)),
            // Missed by the rule in its first test on unseen phrasings, and then taught:
            // negated verbs of stating, and "silent".
            ("The auditor's name; write 'Not disclosed' if the filings don't name one.", literal("Not disclosed", true)),
            ("Funding stage. Fall back to 'Unknown' when sources are silent.", literal("Unknown", true)),
            // Missed in the second test on unseen phrasings; the words of finding and stating
            // were then completed by class (see `INFO`).
            ("Chief financial officer. If the CFO's name is not on any page read, write Unknown.", literal("Unknown", false)),
            ("Latest funding round size in USD (0 when no round has been announced)", literal("0", false)),
        ];
        for (description, want) in cases {
            assert_eq!(stated_fallback(description), want, "{description}");
        }
    }

    #[test]
    fn conditions_about_the_world_and_instructions_are_not_fallbacks() {
        for description in [
            "Name of the current chief executive officer",
            "If the company is public, return its ticker symbol",
            "If the company is not public, return 'Private'",
            "If unavailable, return the most recent estimate from analysts",
            "If revenue is not reported, use the closest fiscal year",
            "Return the date in YYYY-MM-DD format",
            "Use the official website; otherwise use news articles",
            "The company's founder, as stated on its website",
        ] {
            assert_eq!(stated_fallback(description), None, "{description}");
        }
    }

    /// Phrasings written after the rule, and not used to shape it: the rule's test.
    #[test]
    fn reads_phrasings_it_was_not_written_against() {
        let cases = [
            ("Annual revenue in USD millions. Should revenue not be disclosed, respond with null.", Some(Fallback::Null)),
            ("Founding year. When the year cannot be determined, put -1.", literal("-1", false)),
            ("Headquarters city (use \"N/A\" when unknown)", literal("N/A", true)),
            ("Number of patents. If none are found, answer 0.", literal("0", false)),
            ("CEO email address. In case it is not publicly listed, output \u{201c}Not public\u{201d}.", literal("Not public", true)),
            ("Is the company profitable? If there is no information, return false.", literal("false", false)),
            ("Primary competitor, or 'None identified' if you can't identify one", literal("None identified", true)),
            ("List of subsidiaries; give an empty array when no subsidiaries are mentioned", Some(Fallback::EmptyList)),
            ("Date of the IPO (YYYY-MM-DD). If the date is unclear, set it to null.", Some(Fallback::Null)),
            ("Market cap in billions \u{2014} if it isn't available, use null", Some(Fallback::Null)),
            ("Default value: 0", literal("0", false)),
            ("Country of incorporation. Leave as null if not stated.", Some(Fallback::Null)),
            ("If the company has multiple offices, return the largest one.", None),
            ("Return the full legal name, including suffixes such as Inc.", None),
            ("When the company is a subsidiary, give the parent's name", None),
            ("If revenue is reported in another currency, convert it to USD", None),
            ("Use the most recent figure available", None),
            ("If no exact figure is given, use an estimate", None),
            ("If unavailable, search the company's LinkedIn page", None),
            // A second set, written after the rule was taught the two phrasings above.
            ("Year the firm was founded. Where this cannot be verified, return null.", Some(Fallback::Null)),
            ("Office count; use 1 if no offices are listed.", literal("1", false)),
            ("Parent company \u{2014} reply with 'Independent' if no parent company is found.", literal("Independent", true)),
            ("If the sources provide no answer, enter NULL.", Some(Fallback::Null)),
            ("Return 'Not found' should the website be unavailable.", literal("Not found", true)),
            ("Whether the firm is B-Corp certified; if not known, return null", Some(Fallback::Null)),
            ("If the founder is also the CEO, return true", None),
            ("Say which exchange lists the stock", None),
            ("If several CEOs served during the year, return the one in office on 31 December", None),
            ("Write the amount without currency symbols", None),
            // A third set, written after the words of finding and stating were completed.
            ("Name of the law firm, else 'Unknown'", literal("Unknown", true)),
            ("If there are no search results, output an empty string.", Some(Fallback::EmptyString)),
            ("Founding city. If this information is missing, use 'Not stated'.", literal("Not stated", true)),
            ("Revenue growth in percent; give null if it was never reported", Some(Fallback::Null)),
            ("Return 'N/A' if the value can't be found anywhere", literal("N/A", true)),
            ("Board size (integer). If you are unable to determine it, return 0.", literal("0", false)),
            ("Website of the company. If no official site exists, return null.", Some(Fallback::Null)),
            ("If the company was acquired, return the acquirer's name", None),
            ("If there are several founders, list all of them", None),
            ("If the figure is not in USD, convert it before you return it", None),
            ("Return 'Yes' if the company is profitable, 'No' if it is not", None),
        ];
        let mut wrong = Vec::new();
        // The one miss of the third set, kept as it is: "made public" cannot be told from
        // "is public", a fact about the world ("If the company is not public, return
        // 'Private'" must not invent "Private"). Here the field is null either way, with a
        // warning.
        assert_eq!(
            stated_fallback(
                "Employee count. If the number of employees has not been made public, return null."
            ),
            None
        );
        for (description, want) in cases {
            let got = stated_fallback(description);
            if got != want {
                wrong.push((description, got, want));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn the_fallback_words_can_be_left_out() {
        for (description, rest) in [
            (
                "City of the head office. If no data found, return 'Unknown'",
                "City of the head office.",
            ),
            ("Revenue in USD, or 0 if not reported", "Revenue in USD,"),
            (
                "Return null if not found. Name of the CEO",
                ". Name of the CEO",
            ),
            ("The CEO if known, otherwise null", "The CEO if known,"),
            ("Website ('Unknown' if missing)", "Website ( )"),
            ("Name of the mayor", "Name of the mayor"),
        ] {
            assert_eq!(without_fallback(description).trim(), rest, "{description}");
        }
    }

    #[test]
    fn candidates_follow_the_quotes() {
        assert_eq!(
            literal("0", false).unwrap().candidates(),
            [json!(0), json!("0")]
        );
        assert_eq!(
            literal("0", true).unwrap().candidates(),
            [json!("0"), json!(0)]
        );
        assert_eq!(
            literal("-1.5", false).unwrap().candidates(),
            [json!(-1.5), json!("-1.5")]
        );
        assert_eq!(
            literal("False", false).unwrap().candidates(),
            [json!(false), json!("False")]
        );
        assert_eq!(
            literal("Unknown", false).unwrap().candidates(),
            [json!("Unknown")]
        );
        assert_eq!(Fallback::Blank.candidates(), [json!(""), json!([])]);
    }
}
