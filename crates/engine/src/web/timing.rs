//! Per-stage timing of page reads, Extract and Search, for profiling: each stage reports its
//! wall time and the CPU time of the thread it ran on as a `debug` event of target
//! [`TARGET`] (`RUST_LOG=warn,parallax_engine::timing=debug`), which `bench/extract/stages.py`
//! sums into a table. With that target off (the default) a stage costs two clock reads.
//!
//! The stages: `fetch` (the HTTP exchange, body read), `decode` (content classification and
//! charset decoding), `extract` (HTML/PDF to title, date, markdown and text: the extractor
//! makes the markdown as part of it), `excerpts` (passage ranking), `serialise` (the JSON
//! answer), `index` (adding pages to the local index and committing, on the indexer's
//! thread), and `request` (one Extract or Search request, end to end).

use std::time::{Duration, Instant};

/// The `tracing` target of stage events.
pub const TARGET: &str = "parallax_engine::timing";

/// CPU time the calling thread has used (zero where the platform has no such clock).
pub fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec and the clock id a platform constant.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    Duration::ZERO
}

/// A stage being timed on one thread; [`Stage::end`] reports it.
pub struct Stage {
    name: &'static str,
    wall: Instant,
    cpu: Duration,
}

impl Stage {
    /// Starts timing `name`.
    pub fn start(name: &'static str) -> Stage {
        Stage {
            name,
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    /// Reports the stage, with the number of items (pages, bytes, …) it handled.
    pub fn end(self, items: usize) {
        let wall = self.wall.elapsed();
        let cpu = thread_cpu().saturating_sub(self.cpu);
        report(self.name, wall, cpu, items);
    }
}

/// Reports a stage measured elsewhere (for stages that span awaits, whose CPU time cannot
/// be read from one thread: give `cpu` as zero).
pub fn report(name: &'static str, wall: Duration, cpu: Duration, items: usize) {
    tracing::debug!(
        target: TARGET,
        stage = name,
        wall_us = wall.as_micros() as u64,
        cpu_us = cpu.as_micros() as u64,
        items
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_counts_work_on_this_thread_only() {
        let before = thread_cpu();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let busy = thread_cpu() - before;
        assert!(busy > Duration::ZERO, "busy work used no CPU time");
        let before = thread_cpu();
        std::thread::sleep(Duration::from_millis(50));
        let asleep = thread_cpu() - before;
        assert!(
            asleep < Duration::from_millis(20),
            "sleeping counted {asleep:?}"
        );
    }
}
