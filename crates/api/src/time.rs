//! Timestamps: stored as microseconds since the Unix epoch, shown as RFC 3339 in UTC with
//! microseconds (`2025-04-23T20:21:48.037943Z`), the form of the spec's examples.

use chrono::{DateTime, SecondsFormat, Utc};

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
