//! `parallax-bench extract FILE…`: runs Parallax's main-content extractor on HTML files and
//! prints one JSON line per file: `{"file", "bytes", "title", "markdown", "text", "micros",
//! "micros_all"}`. `micros` is the median wall time of `extract_html` alone (reading the
//! file and printing are outside the timed region) over `--reps` runs after one unmeasured
//! warm-up run, on the calling thread. `bench/extract/run.py` drives it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
pub struct ExtractArgs {
    /// HTML files (decoded as UTF-8, invalid bytes replaced).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Measured repetitions per file (the median is reported).
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Page URL passed to the extractor (used for absolute links and dates only).
    #[arg(long, default_value = "")]
    url: String,
}

pub fn run(a: ExtractArgs) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &a.files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let html = String::from_utf8_lossy(&bytes).into_owned();
        // Warm-up (also the result that is printed).
        let extracted = parallax_engine::extract::extract_html(&html, &a.url);
        let mut times: Vec<u128> = Vec::with_capacity(a.reps.max(1));
        for _ in 0..a.reps.max(1) {
            let start = Instant::now();
            let e = parallax_engine::extract::extract_html(&html, &a.url);
            times.push(start.elapsed().as_micros());
            std::hint::black_box(e);
        }
        times.sort_unstable();
        let median = times[times.len() / 2];
        let line = serde_json::json!({
            "file": file.display().to_string(),
            "bytes": bytes.len(),
            "title": extracted.title,
            "markdown": extracted.markdown,
            "text": extracted.text,
            "micros": median,
            "micros_all": times,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}
