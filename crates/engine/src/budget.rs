//! The processor table: each name the API accepts and the budget it buys.
//!
//! Processors are budgets over one pipeline, not different code: more queries, more sources
//! read, more synthesis rounds and more time. A `-fast` variant keeps the breadth of its base
//! processor but has half the time. This is the only place the table lives; the README shows
//! it.

use std::time::Duration;

/// What one processor may spend on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The name as clients send it (`core`, `pro-fast`, …).
    pub name: &'static str,
    /// Search queries planned.
    pub queries: u32,
    /// Sources fetched and read.
    pub sources: u32,
    /// Synthesis rounds (LLM turns, or extractive passes).
    pub synthesis_rounds: u32,
    /// Wall-clock limit; a run over it fails.
    pub time_limit: Duration,
    /// Whether progress events are recorded when the client does not say
    /// (`enable_events`): on for `pro` and above, as the spec says.
    pub events_by_default: bool,
}

const fn base(
    name: &'static str,
    queries: u32,
    sources: u32,
    rounds: u32,
    secs: u64,
    events: bool,
) -> Budget {
    Budget {
        name,
        queries,
        sources,
        synthesis_rounds: rounds,
        time_limit: Duration::from_secs(secs),
        events_by_default: events,
    }
}

/// Every processor, base names first, then their `-fast` variants.
pub const PROCESSORS: [Budget; 18] = [
    base("lite", 1, 3, 1, 60, false),
    base("base", 2, 6, 1, 120, false),
    base("core", 4, 12, 2, 300, false),
    base("core2x", 6, 20, 2, 600, false),
    base("pro", 8, 30, 3, 900, true),
    base("ultra", 12, 50, 4, 1800, true),
    base("ultra2x", 16, 80, 5, 3600, true),
    base("ultra4x", 24, 120, 6, 5400, true),
    base("ultra8x", 32, 200, 8, 7200, true),
    base("lite-fast", 1, 3, 1, 30, false),
    base("base-fast", 2, 6, 1, 60, false),
    base("core-fast", 4, 12, 2, 150, false),
    base("core2x-fast", 6, 20, 2, 300, false),
    base("pro-fast", 8, 30, 3, 450, true),
    base("ultra-fast", 12, 50, 4, 900, true),
    base("ultra2x-fast", 16, 80, 5, 1800, true),
    base("ultra4x-fast", 24, 120, 6, 2700, true),
    base("ultra8x-fast", 32, 200, 8, 3600, true),
];

/// The budget of processor `name`, or `None` if no such processor exists.
pub fn lookup(name: &str) -> Option<Budget> {
    PROCESSORS.iter().find(|b| b.name == name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_base_has_a_fast_variant_with_half_the_time() {
        for b in &PROCESSORS[..9] {
            let fast = lookup(&format!("{}-fast", b.name)).expect("fast variant");
            assert_eq!(fast.time_limit * 2, b.time_limit);
            assert_eq!((fast.queries, fast.sources), (b.queries, b.sources));
            assert_eq!(fast.events_by_default, b.events_by_default);
        }
    }

    #[test]
    fn events_default_on_from_pro() {
        assert!(!lookup("core2x").unwrap().events_by_default);
        assert!(lookup("pro").unwrap().events_by_default);
        assert!(lookup("ultra8x-fast").unwrap().events_by_default);
        assert!(lookup("turbo").is_none());
        assert!(lookup("").is_none());
    }
}
