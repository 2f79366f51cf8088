//! Dates and months in a passage: full dates in prose and numeric spellings, ranges of days,
//! and months of a year.

use super::Candidate;
use chrono::NaiveDate;
use serde_json::json;

pub(super) const MONTHS: [&str; 12] = [
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

/// Whether `word` names a month ("March", "mar").
pub fn is_month(word: &str) -> bool {
    month_number(word).is_some()
}

pub(super) fn month_number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w) && (w.len() == 3 || *m == w))
        .map(|i| i as u32 + 1)
}

/// Words of `text` (letters, digits and `-`) with their byte spans.
pub(super) fn date_words(text: &str) -> Vec<(usize, usize, &str)> {
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

/// A day of the month as pages write it: `5`, `05`, `5th`, `21st`.
pub(super) fn day_of_month(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    (digits.len() <= 2 && !digits.is_empty())
        .then(|| digits.parse::<u32>().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d))
}

/// A four-digit year (1000 to 2999).
pub fn year_of(word: &str) -> Option<i32> {
    word.parse::<i32>()
        .ok()
        .filter(|y| (1000..=2999).contains(y) && word.len() == 4)
}

/// Dates: `2021-03-05`, `5 March 2021`, `5th of March 2021`, `March 5, 2021`, `Mar 5 2021`,
/// and day-first numeric dates `5.3.2021` and `5/3/2021` (month-first `3/25/2021` when the
/// day-first reading is impossible).
pub(super) fn dates(text: &str) -> Vec<Candidate> {
    let mut out = date_ranges(text);
    let words = date_words(text);
    let mut i = 0;
    while i < words.len() {
        let (s, e, w) = words[i];
        if let Ok(date) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            out.push(Candidate {
                value: json!(date.to_string()),
                start: s,
                end: e,
            });
            i += 1;
            continue;
        }
        // "13th of April 2024": the "of" is skipped.
        let of = usize::from(
            i + 3 < words.len()
                && day_of_month(w).is_some()
                && words[i + 1].2.eq_ignore_ascii_case("of"),
        );
        if i + 2 + of < words.len() {
            let (a, b, c) = (words[i].2, words[i + 1 + of].2, words[i + 2 + of].2);
            let dmy = day_of_month(a)
                .zip(month_number(b))
                .zip(year_of(c))
                .map(|((d, m), y)| (y, m, d));
            let mdy = month_number(a)
                .zip(day_of_month(b))
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
                out.push(Candidate {
                    value: json!(date.to_string()),
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
pub(super) fn date_ranges(text: &str) -> Vec<Candidate> {
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
        let d1 = day_of_month(words[i].2);
        // "11 to 13 October 2024"
        if let (Some(d1), true, Some(d2), Some(m), Some(y)) = (
            d1,
            joins(i, i + 1),
            day_of_month(words[i + 1].2),
            month_number(words[i + 2].2),
            year_of(words[i + 3].2),
        ) {
            if let (Some(a), Some(b)) = (
                NaiveDate::from_ymd_opt(y, m, d1),
                NaiveDate::from_ymd_opt(y, m, d2),
            ) {
                let span = (words[i].0, words[i + 3].1);
                for date in [a, b] {
                    out.push(Candidate {
                        value: json!(date.to_string()),
                        start: span.0,
                        end: span.1,
                    });
                }
                i += 4;
                continue;
            }
        }
        // "24 July to 27 July 2025"
        if i + 4 < words.len() {
            if let (Some(d1), Some(m1), true, Some(d2), Some(m2), Some(y)) = (
                d1,
                month_number(words[i + 1].2),
                joins(i + 1, i + 2),
                day_of_month(words[i + 2].2),
                month_number(words[i + 3].2),
                year_of(words[i + 4].2),
            ) {
                if let (Some(a), Some(b)) = (
                    NaiveDate::from_ymd_opt(y, m1, d1),
                    NaiveDate::from_ymd_opt(y, m2, d2),
                ) {
                    let span = (words[i].0, words[i + 4].1);
                    for date in [a, b] {
                        out.push(Candidate {
                            value: json!(date.to_string()),
                            start: span.0,
                            end: span.1,
                        });
                    }
                    i += 5;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Months of a year, as `YYYY-MM`: the month of every full date, `April 2016`, `2016-04`.
pub(super) fn months(text: &str) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = dates(text)
        .into_iter()
        .map(|c| Candidate {
            value: json!(c.value.as_str().map_or("", |d| &d[..7])),
            start: c.start,
            end: c.end,
        })
        .collect();
    let inside_a_date =
        |at: usize, out: &[Candidate]| out.iter().any(|c| c.start <= at && at < c.end);
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
            out.push(Candidate {
                value: json!(w),
                start: s,
                end: e,
            });
            continue;
        }
        let Some((m, (_, year_end, y))) = month_number(w).zip(words.get(k + 1)) else {
            continue;
        };
        // "April 2016"; "31 February 2020" is a day that does not exist, not a month.
        let after_a_day = k > 0 && day_of_month(words[k - 1].2).is_some();
        if let Some(year) = year_of(y).filter(|_| !after_a_day) {
            out.push(Candidate {
                value: json!(format!("{year:04}-{m:02}")),
                start: s,
                end: *year_end,
            });
        }
    }
    out.sort_by_key(|c| c.start);
    out
}
