//! `parallax-bench extract FILE…` (or `--manifest FILE`): runs Parallax's main-content
//! extractor on HTML files and prints one JSON line per file: `{"file", "bytes", "title",
//! "date", "authors", "markdown", "text", "micros", "micros_all", "cpu_micros"}`. `micros` is the median wall time of `extract_html` alone
//! (reading the file and printing are outside the timed region) over `--reps` runs after
//! one unmeasured warm-up run, on the calling thread; `cpu_micros` the median CPU time of
//! that thread over the same runs (less disturbed by other processes on a busy machine).
//! `bench/extract/run.py` drives it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
pub struct ExtractArgs {
    /// HTML files (decoded as UTF-8, invalid bytes replaced).
    #[arg(required_unless_present = "manifest")]
    files: Vec<PathBuf>,
    /// A file of JSON lines `{"file": PATH, "url": URL}`: each page with its own URL (the
    /// files given as arguments get `--url`).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Measured repetitions per file (the median is reported).
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Page URL passed to the extractor (used for absolute links and dates only).
    #[arg(long, default_value = "")]
    url: String,
}

pub fn run(a: ExtractArgs) -> Result<()> {
    let mut pages: Vec<(PathBuf, String)> =
        a.files.iter().map(|f| (f.clone(), a.url.clone())).collect();
    if let Some(manifest) = &a.manifest {
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let page: serde_json::Value = serde_json::from_str(line)?;
            match (page["file"].as_str(), page["url"].as_str()) {
                (Some(file), Some(url)) => pages.push((file.into(), url.to_owned())),
                _ => anyhow::bail!("a manifest line is not {{\"file\", \"url\"}}: {line}"),
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (file, url) in &pages {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let html = String::from_utf8_lossy(&bytes).into_owned();
        // Warm-up (also the result that is printed).
        let extracted = parallax_engine::extract::extract_html(&html, url);
        let mut times: Vec<u128> = Vec::with_capacity(a.reps.max(1));
        let mut cpu: Vec<u128> = Vec::with_capacity(a.reps.max(1));
        for _ in 0..a.reps.max(1) {
            let cpu_start = thread_cpu_nanos();
            let start = Instant::now();
            let e = parallax_engine::extract::extract_html(&html, url);
            times.push(start.elapsed().as_micros());
            cpu.push((thread_cpu_nanos() - cpu_start) / 1000);
            std::hint::black_box(e);
        }
        times.sort_unstable();
        cpu.sort_unstable();
        let median = times[times.len() / 2];
        let line = serde_json::json!({
            "file": file.display().to_string(),
            "bytes": bytes.len(),
            "title": extracted.title,
            "date": extracted.published.map(|d| d.to_string()),
            "authors": extracted.authors,
            "markdown": extracted.markdown,
            "text": extracted.text,
            "micros": median,
            "micros_all": times,
            "cpu_micros": cpu[cpu.len() / 2],
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `parallax-bench md-text`: JSON lines `{"key", "markdown"}` on stdin to `{"key", "text"}`
/// on stdout, through `parallax_engine::extract::markdown_to_text`.
pub fn md_text() -> Result<()> {
    use std::io::BufRead;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let item: serde_json::Value = serde_json::from_str(&line)?;
        let markdown = item["markdown"].as_str().unwrap_or_default();
        let text = parallax_engine::extract::markdown_to_text(markdown);
        writeln!(
            out,
            "{}",
            serde_json::json!({"key": item["key"], "text": text})
        )?;
    }
    Ok(())
}

/// CPU time consumed by the calling thread, in nanoseconds.
fn thread_cpu_nanos() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the platform
    // defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}
