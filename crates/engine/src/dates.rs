//! Reading dates from text: the engine's one date reader, for every caller.
//!
//! Three kinds of text state dates, and each is read with the rules it needs:
//!
//! - a string that states one date, read with [`read_date`] at a [`Strictness`]: a
//!   search engine's timestamp ([`Strictness::Stamp`]: ISO 8601 or RFC 2822 only, any year)
//!   or a page's or PDF's date as people write it ([`Strictness::Page`]: many spellings, month
//!   names in many languages, years 1900–2100);
//! - prose, where every date and month is found with its place ([`dates_in`], [`months_in`]):
//!   the typed values of an answer, read in English only (there "Mars" or "Mai" is a word,
//!   not a month).
//!
//! The pieces dates are written with (month names, days of the month with their ordinal
//! endings, four-digit years) are read by the same functions for all of them, in the
//! [`Languages`] the caller reads.

use chrono::{DateTime, NaiveDate};

/// How strictly a string is read as a date: which spellings count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// A machine-written timestamp, as search engines give a result's date: an ISO 8601 date
    /// or date-time (`2023-10-05`, `2023-10-05T14:30:00`, `2023-10-05 14:30:00+0000`) or
    /// RFC 2822, of any year. Nothing else: "3 hours ago" is no timestamp.
    Stamp,
    /// A date as pages and PDFs write it: ISO 8601 / RFC 3339 (the date as written, whatever
    /// the time zone), `YYYY/MM/DD`, `YYYYMMDD`, PDF dates (`D:YYYYMMDD…`), RFC 2822, and
    /// texts like "March 5, 2024", "5 March 2024", "Published on Tue, 5 Mar 2024 10:00"
    /// (month names in [`Languages::Many`]); day-first dotted dates (`10.11.2021`); an
    /// unambiguous `DD/MM/YYYY` or `MM/DD/YYYY`. Years outside 1900–2100 are refused.
    Page,
}

/// The languages month names and the endings of ordinal days are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Languages {
    /// English only, as written: full month names and their three-letter abbreviations
    /// ("Mar", not "Sept"), days ending `st`, `nd`, `rd` or `th` in lower case. Prose answers
    /// are read so: there "Mars", "Mai" or "Dez" is a word, not a month.
    English,
    /// The month names and abbreviations of [`MONTHS`] in any case, and the French `1er`.
    Many,
}

/// The date `s` states, read as `strictness` says; `None` when it states none.
pub(crate) fn read_date(s: &str, strictness: Strictness) -> Option<NaiveDate> {
    let s = s.trim();
    match strictness {
        Strictness::Stamp => stamp_date(s),
        Strictness::Page => page_date(s),
    }
}

/// [`Strictness::Stamp`]: an ISO 8601 date at the start, alone or followed by a time (`T`
/// or a space), else RFC 2822.
fn stamp_date(s: &str) -> Option<NaiveDate> {
    if s.is_empty() {
        return None;
    }
    if let Some(prefix) = s.get(..10) {
        if let Ok(date) = NaiveDate::parse_from_str(prefix, "%Y-%m-%d") {
            let rest = &s[10..];
            if rest.is_empty() || rest.starts_with(['T', 't', ' ']) {
                return Some(date);
            }
        }
    }
    rfc2822_date(s)
}

/// The date of an RFC 2822 date-time ("Fri, 15 Mar 2024 10:00:00 +0000"), as written.
fn rfc2822_date(s: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc2822(s)
        .ok()
        .map(|dt| dt.date_naive())
}

/// [`Strictness::Page`].
fn page_date(s: &str) -> Option<NaiveDate> {
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let s = s.strip_prefix("D:").unwrap_or(s);
    let b = s.as_bytes();
    // ISO-like: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD at the start.
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && matches!(b[4], b'-' | b'/' | b'.')
        && b[7] == b[4]
    {
        // Fields are read as bytes: the string may hold multibyte characters at these
        // offsets ("2024-01-0é"), which a `str` slice would panic on.
        let y = digits(&b[..4])? as i32;
        let m = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        if b.len() == 10 || !b[10].is_ascii_digit() {
            return valid(y, m, d);
        }
    }
    // Compact: YYYYMMDD, possibly followed by a time (PDF dates, `20240315T1000`).
    if b.len() >= 8
        && b[..8].iter().all(u8::is_ascii_digit)
        && (b.len() == 8 || !b[8].is_ascii_digit() || b.len() >= 14)
    {
        let y = digits(&b[..4])? as i32;
        if let Some(d) = valid(y, digits(&b[4..6])?, digits(&b[6..8])?) {
            return Some(d);
        }
    }
    if let Some(date) = rfc2822_date(s) {
        return Some(date);
    }
    text_date(s)
}

/// Month names and abbreviations, lower case, in English, German, French, Spanish, Italian,
/// Portuguese, Dutch, the Scandinavian languages, Polish, Czech, Finnish, Turkish, Russian and
/// Ukrainian (the genitive forms that dates use: "5 marca", "5 марта").
pub(crate) const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("gennaio", 1),
    ("janeiro", 1),
    ("januari", 1),
    ("stycznia", 1),
    ("styczeń", 1),
    ("января", 1),
    ("ledna", 1),
    ("tammikuuta", 1),
    ("ocak", 1),
    ("січня", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("feber", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("fevereiro", 2),
    ("februari", 2),
    ("lutego", 2),
    ("luty", 2),
    ("февраля", 2),
    ("února", 2),
    ("helmikuuta", 2),
    ("şubat", 2),
    ("лютого", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mrz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("março", 3),
    ("marco", 3),
    ("maart", 3),
    ("marca", 3),
    ("marzec", 3),
    ("marts", 3),
    ("марта", 3),
    ("března", 3),
    ("maaliskuuta", 3),
    ("mart", 3),
    ("березня", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("aprile", 4),
    ("kwietnia", 4),
    ("kwiecień", 4),
    ("апреля", 4),
    ("dubna", 4),
    ("huhtikuuta", 4),
    ("nisan", 4),
    ("квітня", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("maio", 5),
    ("mei", 5),
    ("maja", 5),
    ("maj", 5),
    ("мая", 5),
    ("května", 5),
    ("toukokuuta", 5),
    ("mayıs", 5),
    ("травня", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("junho", 6),
    ("czerwca", 6),
    ("czerwiec", 6),
    ("июня", 6),
    ("června", 6),
    ("kesäkuuta", 6),
    ("haziran", 6),
    ("червня", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("julho", 7),
    ("lipca", 7),
    ("lipiec", 7),
    ("июля", 7),
    ("července", 7),
    ("heinäkuuta", 7),
    ("temmuz", 7),
    ("липня", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("augustus", 8),
    ("augusti", 8),
    ("sierpnia", 8),
    ("sierpień", 8),
    ("августа", 8),
    ("srpna", 8),
    ("elokuuta", 8),
    ("ağustos", 8),
    ("серпня", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("settembre", 9),
    ("setembro", 9),
    ("września", 9),
    ("wrzesień", 9),
    ("сентября", 9),
    ("září", 9),
    ("syyskuuta", 9),
    ("eylül", 9),
    ("вересня", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("ottobre", 10),
    ("octubre", 10),
    ("outubro", 10),
    ("października", 10),
    ("październik", 10),
    ("октября", 10),
    ("října", 10),
    ("lokakuuta", 10),
    ("ekim", 10),
    ("жовтня", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("novembro", 11),
    ("listopada", 11),
    ("listopad", 11),
    ("ноября", 11),
    ("listopadu", 11),
    ("marraskuuta", 11),
    ("kasım", 11),
    ("листопада", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dicembre", 12),
    ("dezembro", 12),
    ("grudnia", 12),
    ("grudzień", 12),
    ("декабря", 12),
    ("prosince", 12),
    ("joulukuuta", 12),
    ("aralık", 12),
    ("desember", 12),
    ("грудня", 12),
];

/// The first `D.M.YYYY` or `DD.MM.YY` date in `s`. Dots between day, month and year are
/// the day-first convention of German, Russian, Polish, Scandinavian, … writing, so
/// `10.11.2021` is the 10th of November (slashes stay ambiguous). A two-digit year is
/// 2000–2069 or 1970–1999. Numbers glued to more digits or dots (`1.2.3.4`, versions) are
/// not dates.
fn dotted_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let number = |i: usize| -> (usize, usize) {
        let end = b[i..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |n| i + n);
        (i, end)
    };
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let (d0, d1) = number(i);
        if d1 - d0 <= 2 && b.get(d1) == Some(&b'.') {
            let (m0, m1) = number(d1 + 1);
            if (1..=2).contains(&(m1 - m0)) && b.get(m1) == Some(&b'.') {
                let (y0, y1) = number(m1 + 1);
                let glued = b.get(y1).is_some_and(|c| c.is_ascii_digit())
                    || (b.get(y1) == Some(&b'.') && b.get(y1 + 1).is_some_and(u8::is_ascii_digit));
                // Two-digit years only in the full `DD.MM.YY` form (not `1.2.33`).
                let short_ok = y1 - y0 == 2 && d1 - d0 == 2 && m1 - m0 == 2;
                if !glued && (y1 - y0 == 4 || short_ok) {
                    let y = digits(&b[y0..y1])? as i32;
                    let y = match y1 - y0 {
                        2 if y < 70 => 2000 + y,
                        2 => 1900 + y,
                        _ => y,
                    };
                    if let Some(date) = valid(y, digits(&b[m0..m1])?, digits(&b[d0..d1])?) {
                        return Some(date);
                    }
                }
            }
        }
        i = d1.max(i + 1);
    }
    None
}

/// The date of `y`, `m`, `d` if it exists and its year is 1900–2100 (a page's date).
pub(crate) fn valid(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The value of one to four ASCII digits.
fn num(s: &str) -> Option<u32> {
    digits(s.as_bytes())
}

/// The value of one to four ASCII digits. Works on bytes, so that a reader may take any
/// fixed-width field of a string without slicing it inside a multibyte character.
pub(crate) fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Dates written with a month name, or numerically with slashes or dots.
fn text_date(s: &str) -> Option<NaiveDate> {
    // "5 de marzo de 2020", "5 de março": the particle goes.
    let tokens: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && !matches!(*t, "de" | "del" | "do"))
        .take(24)
        .collect();
    // Month-name forms.
    for (i, tok) in tokens.iter().enumerate() {
        let Some(month) = month_number(tok, Languages::Many) else {
            continue;
        };
        let day_of = |t: &str| day_of_month(t, Languages::Many);
        let year_of = four_digit_year;
        // "March 5, 2024" / "March 5 2024"
        if let (Some(d), Some(y)) = (
            tokens.get(i + 1).and_then(|t| day_of(t)),
            tokens.get(i + 2).and_then(|t| year_of(t)),
        ) {
            return valid(y, month, d);
        }
        // "5 March 2024"
        if i > 0 {
            if let (Some(d), Some(y)) = (
                day_of(tokens[i - 1]),
                tokens.get(i + 1).and_then(|t| year_of(t)),
            ) {
                return valid(y, month, d);
            }
        }
        // "2024 March 5"
        if i > 0 {
            if let (Some(y), Some(d)) = (
                year_of(tokens[i - 1]),
                tokens.get(i + 1).and_then(|t| day_of(t)),
            ) {
                return valid(y, month, d);
            }
        }
    }
    if let Some(d) = dotted_date(s) {
        return Some(d);
    }
    // Numeric forms with a four-digit year last: DD/MM/YYYY or MM/DD/YYYY when unambiguous.
    for w in tokens.windows(3) {
        let (Some(a), Some(b), Some(y)) = (num(w[0]), num(w[1]), num(w[2])) else {
            continue;
        };
        if w[0].len() > 2 || w[1].len() > 2 || w[2].len() != 4 {
            continue;
        }
        let y = y as i32;
        return match (a > 12, b > 12) {
            (true, false) => valid(y, b, a),
            (false, true) => valid(y, a, b),
            _ if a == b => valid(y, a, b),
            _ => None,
        };
    }
    None
}

/// English month names, in order: the months of [`Languages::English`].
pub(crate) const ENGLISH_MONTHS: [&str; 12] = [
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
];

/// The month (1 to 12) that `word` names in `languages`, in any case: in English a full name
/// or its first three letters ("March", "mar"), else a name or abbreviation of [`MONTHS`].
pub(crate) fn month_number(word: &str, languages: Languages) -> Option<u32> {
    let w = word.to_lowercase();
    match languages {
        Languages::English => {
            if w.len() < 3 {
                return None;
            }
            ENGLISH_MONTHS
                .iter()
                .position(|m| m.starts_with(&w) && (w.len() == 3 || *m == w))
                .map(|i| i as u32 + 1)
        }
        Languages::Many => MONTHS
            .iter()
            .find(|(name, _)| *name == w)
            .map(|&(_, month)| month),
    }
}

/// A day of the month as pages write it: `5`, `05`, `5th`, `21st`; in [`Languages::Many`]
/// also `1er` and endings in any case (`5TH`).
pub(crate) fn day_of_month(word: &str, languages: Languages) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let ending = &word[digits.len()..];
    let ordinal = match languages {
        Languages::English => matches!(ending, "" | "st" | "nd" | "rd" | "th"),
        Languages::Many => {
            ending.is_empty()
                || matches!(
                    ending.to_ascii_lowercase().as_str(),
                    "st" | "nd" | "rd" | "th" | "er" | "º"
                )
        }
    };
    if !ordinal {
        return None;
    }
    num(digits).filter(|d| digits.len() <= 2 && (1..=31).contains(d))
}

/// A year written with four digits, whatever its value (each reader bounds it).
pub(crate) fn four_digit_year(word: &str) -> Option<i32> {
    num(word).filter(|_| word.len() == 4).map(|y| y as i32)
}

/// A four-digit year of prose (1000 to 2999).
pub fn year_of(word: &str) -> Option<i32> {
    four_digit_year(word).filter(|y| (1000..=2999).contains(y))
}

/// A date or a month found in prose: its ISO text (`2024-03-05`, or `2024-03` for a month)
/// and the byte span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WrittenDate {
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// Words of `text` (letters, digits and `-`) with their byte spans.
fn date_words(text: &str) -> Vec<(usize, usize, &str)> {
    let mut words: Vec<(usize, usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphanumeric() || c == '-';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len(), &text[s..]));
    }
    words
}

/// Dates: `2021-03-05`, `5 March 2021`, `5th of March 2021`, `March 5, 2021`, `Mar 5 2021`,
/// and day-first numeric dates `5.3.2021` and `5/3/2021` (month-first `3/25/2021` when the
/// day-first reading is impossible).
pub(crate) fn dates_in(text: &str) -> Vec<WrittenDate> {
    let mut out = date_ranges_in(text);
    let words = date_words(text);
    let mut i = 0;
    while i < words.len() {
        let (s, e, w) = words[i];
        if let Ok(date) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            out.push(WrittenDate {
                value: date.to_string(),
                start: s,
                end: e,
            });
            i += 1;
            continue;
        }
        // "13th of April 2024": the "of" is skipped.
        let of = usize::from(
            i + 3 < words.len()
                && day_of_month(w, Languages::English).is_some()
                && words[i + 1].2.eq_ignore_ascii_case("of"),
        );
        if i + 2 + of < words.len() {
            let (a, b, c) = (words[i].2, words[i + 1 + of].2, words[i + 2 + of].2);
            let dmy = day_of_month(a, Languages::English)
                .zip(month_number(b, Languages::English))
                .zip(year_of(c))
                .map(|((d, m), y)| (y, m, d));
            let mdy = month_number(a, Languages::English)
                .zip(day_of_month(b, Languages::English))
                .zip(year_of(c))
                .map(|((m, d), y)| (y, m, d));
            // 13.4.2024 or 13/04/2024: numbers joined by one separator, no spaces.
            let numeric = || {
                let sep1 = &text[words[i].1..words[i + 1].0];
                let sep2 = &text[words[i + 1].1..words[i + 2].0];
                if of == 1 || sep1 != sep2 || !(sep1 == "." || sep1 == "/") {
                    return None;
                }
                // "version 1.2.2024" is a version number.
                let after_version = i > 0
                    && matches!(
                        words[i - 1].2.to_lowercase().as_str(),
                        "version" | "v" | "ver" | "release"
                    );
                if after_version {
                    return None;
                }
                let (x, y) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                if a.len() > 2 || b.len() > 2 {
                    return None;
                }
                let year = year_of(c)?;
                NaiveDate::from_ymd_opt(year, y, x).or_else(|| {
                    (sep1 == "/")
                        .then(|| NaiveDate::from_ymd_opt(year, x, y))
                        .flatten()
                })
            };
            let date = dmy
                .or(mdy)
                .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
                .or_else(numeric);
            if let Some(date) = date {
                out.push(WrittenDate {
                    value: date.to_string(),
                    start: s,
                    end: words[i + 2 + of].1,
                });
                i += 3 + of;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Both ends of a range of days written with one month or year: "11 to 13 October 2024",
/// "11–13 October 2024", "Thursday 24 July to Sunday 27 July 2025". Each end spans the
/// whole range (they are as near the field's words), the first day first.
fn date_ranges_in(text: &str) -> Vec<WrittenDate> {
    const WEEKDAYS: &[&str] = &[
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let words: Vec<(usize, usize, &str)> = date_words(text)
        .into_iter()
        .filter(|(_, _, w)| {
            let w = w.to_lowercase();
            !WEEKDAYS.contains(&w.as_str()) && !matches!(w.as_str(), "to" | "until" | "through")
        })
        .collect();
    // The weekdays and connectives were left out of `words`: "Thursday 24 July to Sunday
    // 27 July" joins "July" and "27" by "to".
    let joins = |a: usize, b: usize| {
        let between: Vec<String> = text[words[a].1..words[b].0]
            .to_lowercase()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && !WEEKDAYS.contains(w))
            .map(str::to_owned)
            .collect();
        matches!(
            between
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["to"] | ["–"] | ["—"] | ["-"] | ["until"] | ["through"] | ["and"]
        )
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < words.len() {
        let d1 = day_of_month(words[i].2, Languages::English);
        // "11 to 13 October 2024"
        if let (Some(d1), true, Some(d2), Some(m), Some(y)) = (
            d1,
            joins(i, i + 1),
            day_of_month(words[i + 1].2, Languages::English),
            month_number(words[i + 2].2, Languages::English),
            year_of(words[i + 3].2),
        ) {
            if let (Some(a), Some(b)) = (
                NaiveDate::from_ymd_opt(y, m, d1),
                NaiveDate::from_ymd_opt(y, m, d2),
            ) {
                out.extend(both_ends([a, b], (words[i].0, words[i + 3].1)));
                i += 4;
                continue;
            }
        }
        // "24 July to 27 July 2025"
        if i + 4 < words.len() {
            if let (Some(d1), Some(m1), true, Some(d2), Some(m2), Some(y)) = (
                d1,
                month_number(words[i + 1].2, Languages::English),
                joins(i + 1, i + 2),
                day_of_month(words[i + 2].2, Languages::English),
                month_number(words[i + 3].2, Languages::English),
                year_of(words[i + 4].2),
            ) {
                if let (Some(a), Some(b)) = (
                    NaiveDate::from_ymd_opt(y, m1, d1),
                    NaiveDate::from_ymd_opt(y, m2, d2),
                ) {
                    out.extend(both_ends([a, b], (words[i].0, words[i + 4].1)));
                    i += 5;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Both ends of a range of days, each spanning the whole range (both are as near the
/// field's words), the first day first.
fn both_ends(ends: [NaiveDate; 2], (start, end): (usize, usize)) -> [WrittenDate; 2] {
    ends.map(|date| WrittenDate {
        value: date.to_string(),
        start,
        end,
    })
}

/// Months of a year, as `YYYY-MM`: the month of every full date, `April 2016`, `2016-04`.
pub(crate) fn months_in(text: &str) -> Vec<WrittenDate> {
    let mut out: Vec<WrittenDate> = dates_in(text)
        .into_iter()
        .map(|c| WrittenDate {
            value: c.value[..7].to_owned(),
            start: c.start,
            end: c.end,
        })
        .collect();
    let inside_a_date =
        |at: usize, out: &[WrittenDate]| out.iter().any(|c| c.start <= at && at < c.end);
    let words = date_words(text);
    for (k, &(s, e, w)) in words.iter().enumerate() {
        if inside_a_date(s, &out) {
            continue;
        }
        let iso = w.len() == 7
            && w.as_bytes()[4] == b'-'
            && year_of(&w[..4]).is_some()
            && w[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
        if iso {
            out.push(WrittenDate {
                value: w.to_owned(),
                start: s,
                end: e,
            });
            continue;
        }
        let Some((m, (_, year_end, y))) = month_number(w, Languages::English).zip(words.get(k + 1))
        else {
            continue;
        };
        // "April 2016"; "31 February 2020" is a day that does not exist, not a month.
        let after_a_day = k > 0 && day_of_month(words[k - 1].2, Languages::English).is_some();
        if let Some(year) = year_of(y).filter(|_| !after_a_day) {
            out.push(WrittenDate {
                value: format!("{year:04}-{m:02}"),
                start: s,
                end: *year_end,
            });
        }
    }
    out.sort_by_key(|c| c.start);
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn in_prose(text: &str) -> Vec<String> {
        dates_in(text).into_iter().map(|w| w.value).collect()
    }

    /// A timestamp is read at either strictness; the spellings only people write are a page's
    /// date, never a search engine's timestamp.
    #[test]
    fn timestamps_and_written_dates() {
        for s in [
            "2023-10-05",
            "2023-10-05T14:30:00",
            "Thu, 05 Oct 2023 14:30:00 +0000",
        ] {
            assert_eq!(read_date(s, Strictness::Stamp), d(2023, 10, 5), "{s}");
            assert_eq!(read_date(s, Strictness::Page), d(2023, 10, 5), "{s}");
        }
        for s in [
            "5 October 2023",
            "October 5, 2023",
            "2023/10/05",
            "05.10.2023",
            "20231005",
            "D:20231005120000Z",
            "2023-10-05Z",
        ] {
            assert_eq!(read_date(s, Strictness::Stamp), None, "{s}");
            assert_eq!(read_date(s, Strictness::Page), d(2023, 10, 5), "{s}");
        }
    }

    /// Only a page's date is bounded to 1900–2100: a timestamp states its year.
    #[test]
    fn years_outside_a_pages_range() {
        assert_eq!(read_date("1850-06-01", Strictness::Stamp), d(1850, 6, 1));
        assert_eq!(read_date("1850-06-01", Strictness::Page), None);
        assert_eq!(year_of("1850"), Some(1850));
        assert_eq!(year_of("0999"), None);
        assert_eq!(four_digit_year("0999"), Some(999));
    }

    /// Pages are read in many languages and any case; prose answers in English as written,
    /// where "Mai" or "mars" is a word.
    #[test]
    fn month_names_and_ordinals_beyond_english_are_read_on_pages_only() {
        assert_eq!(read_date("5 Mai 2024", Strictness::Page), d(2024, 5, 5));
        assert!(in_prose("on 5 Mai 2024").is_empty());
        assert_eq!(read_date("1er mars 2021", Strictness::Page), d(2021, 3, 1));
        assert!(in_prose("1er mars 2021").is_empty());
        assert_eq!(read_date("Sept 3, 2021", Strictness::Page), d(2021, 9, 3));
        assert!(in_prose("Sept 3, 2021").is_empty());
        assert_eq!(read_date("5TH March 2024", Strictness::Page), d(2024, 3, 5));
        assert_eq!(
            in_prose("the 5th March 2024 and 5TH March 2024"),
            ["2024-03-05"]
        );
        assert_eq!(month_number("Mar", Languages::English), Some(3));
        assert_eq!(month_number("Mars", Languages::English), None);
        assert_eq!(month_number("Mars", Languages::Many), Some(3));
        assert_eq!(day_of_month("1er", Languages::English), None);
        assert_eq!(day_of_month("1er", Languages::Many), Some(1));
    }

    /// Prose finds every date with its place, where a page's reader takes the first.
    #[test]
    fn prose_gives_every_date_and_month_with_its_place() {
        let text = "Opened 5 March 2021, closed on 2022-01-09; renovated April 2016.";
        let found = dates_in(text);
        assert_eq!(
            found.iter().map(|w| w.value.as_str()).collect::<Vec<_>>(),
            ["2021-03-05", "2022-01-09"]
        );
        assert_eq!(&text[found[0].start..found[0].end], "5 March 2021");
        assert_eq!(
            months_in(text)
                .into_iter()
                .map(|w| w.value)
                .collect::<Vec<_>>(),
            ["2021-03", "2022-01", "2016-04"]
        );
        assert_eq!(read_date(text, Strictness::Page), d(2021, 3, 5));
    }
}
