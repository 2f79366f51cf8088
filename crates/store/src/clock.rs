//! The monitor clock: what "now" is for schedules.
//!
//! Monitors are planned in hours and days; tests and benchmarks cannot wait that long. The
//! server (which stamps a monitor's creation) and the monitor scheduler (which decides what
//! is due) share one [`Clock`], and the store's monitor operations take their schedule times
//! from it. [`SystemClock`] is the wall clock, optionally shifted (an operator's or a test's
//! way to let a restarted server see monitors as overdue); [`ManualClock`] moves only when
//! told, and wakes whoever sleeps on it.
//!
//! Leases are not on this clock: they are real time on the store's own clock, so a lease
//! means the same on every node whatever their monitor clocks say.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A sleep on a clock.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the time (microseconds since the Unix epoch) that can be slept on.
pub trait Clock: Send + Sync + 'static {
    /// Now, in microseconds since the epoch.
    fn now(&self) -> i64;
    /// Resolves once [`Clock::now`] reaches `at` (at once if it has).
    fn sleep_until(&self, at: i64) -> Sleep<'_>;
}

/// The wall clock, shifted by a fixed offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock {
    /// Added to the wall clock, in microseconds.
    pub offset: i64,
}

impl SystemClock {
    /// The wall clock itself.
    pub fn new() -> SystemClock {
        SystemClock { offset: 0 }
    }

    /// The wall clock shifted by `offset_secs` seconds (negative: behind).
    pub fn shifted(offset_secs: i64) -> SystemClock {
        SystemClock {
            offset: offset_secs.saturating_mul(1_000_000),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        parallax_api::time::now_micros().saturating_add(self.offset)
    }

    fn sleep_until(&self, at: i64) -> Sleep<'_> {
        // At most a day per sleep: callers loop, and a far target must not overflow.
        let wait = at.saturating_sub(self.now()).clamp(0, 86_400_000_000) as u64;
        Box::pin(tokio::time::sleep(Duration::from_micros(wait)))
    }
}

/// A clock that moves only when told ([`ManualClock::advance`], [`ManualClock::set`]).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: i64) -> ManualClock {
        ManualClock {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = by.as_micros() as i64;
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets the clock (forward only: a clock never runs back).
    pub fn set(&self, at: i64) {
        self.now.send_modify(|now| *now = (*now).max(at));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: i64) -> Sleep<'_> {
        let mut watching = self.now.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, so a clock already past `at` wakes
            // at once; the sender lives in `self`, so the wait cannot end otherwise.
            let _ = watching.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_it_reaches_them() {
        let clock = ManualClock::new(1_000);
        let woke = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(5_000).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_micros(3_000));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!woke.is_finished(), "woke before its time");
        clock.set(5_000);
        tokio::time::timeout(Duration::from_secs(5), woke)
            .await
            .expect("woke")
            .unwrap();
        clock.set(10);
        assert_eq!(clock.now(), 5_000, "a clock never runs back");
        clock.sleep_until(4_000).await;
    }

    #[test]
    fn a_shifted_clock_is_ahead_by_its_offset() {
        let ahead = SystemClock::shifted(7200).now() - SystemClock::new().now();
        assert!((7_199_000_000..7_201_000_000).contains(&ahead), "{ahead}");
    }
}
