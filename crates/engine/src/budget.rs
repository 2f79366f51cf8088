//! The processor table: each name the API accepts and the budget it buys.
//!
//! Processors share one pipeline but differ in what they do, not only in limits: `lite` and
//! `base` read the top sources once; `core` and up also follow a second hop
//! ([`crate::pipeline::hop`]: a field whose answer needs two pages, such as the founding year
//! of the company that makes the product asked about, is read about the company that the
//! first pages name). Beyond that, more budget buys more queries, more sources read, more
//! synthesis rounds and more time. A `-fast` variant keeps the breadth and the capabilities of
//! its base processor but has half the time. This is the only place the table lives; the
//! README shows it.

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
    /// Whether the run follows a second hop (from `core` up, `-fast` variants included):
    /// fields that ask about an entity related to the one asked about (its maker, architect,
    /// owner, …) are read again about the entity the first pages name, from up to
    /// [`Budget::hop_sources`] more pages.
    pub second_hop: bool,
}

impl Budget {
    /// New pages the second hop may read, on top of `sources`: a quarter of them, at least
    /// two; none for a processor without a second hop.
    pub const fn hop_sources(&self) -> u32 {
        if !self.second_hop {
            return 0;
        }
        let quarter = self.sources / 4;
        if quarter < 2 {
            2
        } else {
            quarter
        }
    }
}

const fn base(
    name: &'static str,
    queries: u32,
    sources: u32,
    rounds: u32,
    secs: u64,
    events: bool,
    second_hop: bool,
) -> Budget {
    Budget {
        name,
        queries,
        sources,
        synthesis_rounds: rounds,
        time_limit: Duration::from_secs(secs),
        events_by_default: events,
        second_hop,
    }
}

/// Every processor, base names first, then their `-fast` variants.
pub const PROCESSORS: [Budget; 18] = [
    base("lite", 1, 3, 1, 60, false, false),
    base("base", 2, 6, 1, 120, false, false),
    base("core", 4, 12, 2, 300, false, true),
    base("core2x", 6, 20, 2, 600, false, true),
    base("pro", 8, 30, 3, 900, true, true),
    base("ultra", 12, 50, 4, 1800, true, true),
    base("ultra2x", 16, 80, 5, 3600, true, true),
    base("ultra4x", 24, 120, 6, 5400, true, true),
    base("ultra8x", 32, 200, 8, 7200, true, true),
    base("lite-fast", 1, 3, 1, 30, false, false),
    base("base-fast", 2, 6, 1, 60, false, false),
    base("core-fast", 4, 12, 2, 150, false, true),
    base("core2x-fast", 6, 20, 2, 300, false, true),
    base("pro-fast", 8, 30, 3, 450, true, true),
    base("ultra-fast", 12, 50, 4, 900, true, true),
    base("ultra2x-fast", 16, 80, 5, 1800, true, true),
    base("ultra4x-fast", 24, 120, 6, 2700, true, true),
    base("ultra8x-fast", 32, 200, 8, 3600, true, true),
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
            assert_eq!(fast.second_hop, b.second_hop);
            assert_eq!(fast.hop_sources(), b.hop_sources());
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

    #[test]
    fn the_second_hop_starts_at_core() {
        for name in ["lite", "base", "lite-fast", "base-fast"] {
            let b = lookup(name).unwrap();
            assert!(!b.second_hop, "{name}");
            assert_eq!(b.hop_sources(), 0, "{name}");
        }
        for name in ["core", "core-fast", "core2x", "pro", "ultra8x-fast"] {
            let b = lookup(name).unwrap();
            assert!(b.second_hop, "{name}");
            assert!(b.hop_sources() >= 2, "{name}");
        }
        assert_eq!(lookup("core").unwrap().hop_sources(), 3);
    }
}
