//! Timestamps: stored as microseconds since the Unix epoch, shown as RFC 3339 in UTC with
//! microseconds (`2025-04-23T20:21:48.037943Z`), the form of the spec's examples.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Formats microseconds since the epoch as RFC 3339 UTC with microseconds.
pub fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads an RFC 3339 timestamp (a timestamp without an offset is taken as UTC, as Python's
/// `datetime.isoformat()` writes a naive one) as microseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_the_spec() {
        assert_eq!(
            super::rfc3339(1_745_439_708_037_943),
            "2025-04-23T20:21:48.037943Z"
        );
    }
}
