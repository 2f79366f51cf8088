//! What each numeric setting accepts, checked when the command line is parsed.
//!
//! Flags, their `PARALLAX_*` variables and `parallax.toml` keys all go through clap, so the
//! parsers here see every source. A value out of range, negative, not a number, NaN or
//! infinite is refused with a message that says what is accepted, instead of a panic later
//! (`Duration::from_secs_f64(-1.0)`, an overflowing `mib * 1024 * 1024`) or a silent
//! correction.

use std::fmt::Display;

/// Seconds as a decimal number from `min` to `max`, both included (`min` may be 0 only if
/// zero makes sense for the setting).
pub fn seconds(min: f64, max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |text: &str| {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (min..=max).contains(s))
            .ok_or_else(|| format!("must be a number of seconds from {min} to {max}"))
    }
}

/// A whole number from `min` to `max`, both included; `unit` names what it counts.
pub fn whole<T>(
    min: u64,
    max: u64,
    unit: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: TryFrom<u64>,
    <T as TryFrom<u64>>::Error: Display,
{
    move |text: &str| {
        let n = text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("must be a whole number of {unit} from {min} to {max}"))?;
        T::try_from(n).map_err(|e| format!("{n} {unit} cannot be used here: {e}"))
    }
}

/// A limit: `none` (no limit) or a whole number from 0 to `max`; `unit` names what it counts.
pub fn limit(
    max: u32,
    unit: &'static str,
) -> impl Fn(&str) -> Result<Limit, String> + Clone + Send + Sync {
    move |text: &str| {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(Limit::None);
        }
        text.parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .map(Limit::At)
            .ok_or_else(|| format!("must be `none` or a whole number of {unit} from 0 to {max}"))
    }
}

/// A limit as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `none`: no limit.
    None,
    At(u32),
}

impl Limit {
    pub fn value(self) -> Option<u32> {
        match self {
            Limit::None => None,
            Limit::At(n) => Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_would_panic_later() {
        let parse = seconds(0.01, 3600.0);
        assert_eq!(parse("0.5"), Ok(0.5));
        assert_eq!(parse(" 3600 "), Ok(3600.0));
        for bad in [
            "-1", "0", "NaN", "inf", "-inf", "1e300", "", "five", "3600.5",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("from 0.01 to 3600"), "{bad}: {error}");
        }
    }

    #[test]
    fn whole_numbers_stay_in_range() {
        let parse = whole::<usize>(1, 4096, "runs");
        assert_eq!(parse("16"), Ok(16));
        for bad in ["0", "-1", "4097", "1.5", "18446744073709551616", "x"] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains("whole number of runs from 1 to 4096"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn limits_are_none_or_a_count_in_range() {
        let parse = limit(1000, "runs");
        assert_eq!(parse("none"), Ok(Limit::None));
        assert_eq!(parse(" 0 "), Ok(Limit::At(0)));
        assert_eq!(parse("1000"), Ok(Limit::At(1000)));
        for bad in ["1001", "-1", "1.5", "", "unlimited"] {
            assert!(parse(bad).unwrap_err().contains("none"), "{bad}");
        }
    }
}
