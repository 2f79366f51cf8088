//! Dates and months of a passage as typed candidates. Reading them is [`crate::dates`]' (in
//! prose, in English); this module turns what it finds into candidates.

use super::Candidate;
use crate::dates::{dates_in, month_number, months_in, Languages, WrittenDate};
use serde_json::json;

pub use crate::dates::year_of;

/// Whether `word` names a month ("March", "mar").
pub fn is_month(word: &str) -> bool {
    month_number(word, Languages::English).is_some()
}

/// Dates: `2021-03-05`, `5 March 2021`, `5th of March 2021`, `March 5, 2021`, `Mar 5 2021`,
/// and day-first numeric dates `5.3.2021` and `5/3/2021` (month-first `3/25/2021` when the
/// day-first reading is impossible); both ends of a range of days. See [`dates_in`].
pub(super) fn dates(text: &str) -> Vec<Candidate> {
    candidates(dates_in(text))
}

/// Months of a year, as `YYYY-MM`: the month of every full date, `April 2016`, `2016-04`.
/// See [`months_in`].
pub(super) fn months(text: &str) -> Vec<Candidate> {
    candidates(months_in(text))
}

/// Dates or months found in prose as candidates, their ISO text as the value.
fn candidates(found: Vec<WrittenDate>) -> Vec<Candidate> {
    found
        .into_iter()
        .map(|w| Candidate {
            value: json!(w.value),
            start: w.start,
            end: w.end,
        })
        .collect()
}
