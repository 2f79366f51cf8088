//! The background indexer: how pages read by runs, Extract and Search reach the index of
//! pages ([`PageIndex`]: tantivy, or PostgreSQL with `--database-url`) and become searchable
//! within a moment, without any request waiting on disk or database I/O.
//!
//! Callers [`Indexer::submit`] pages and return at once. One thread owns the writing, at the
//! lowest CPU priority (nice 19, on Linux; tantivy's indexing and merge threads, started
//! from it, inherit that): indexing uses the cores only when reading and extracting pages
//! leave them idle, so a burst of Extract requests is never slowed by the index of its own
//! pages, which catches up afterwards (or, if the burst outlasts the queue, drops pages as
//! below). It
//! wakes when a page arrives, takes every page already queued (up to [`BATCH_PAGES`]), adds
//! them, and commits ([`PageIndex::add_pages_blocking`]; for PostgreSQL, one statement), so the pages are searchable (and durable) a few milliseconds after
//! they were read. Commits are at least [`MIN_COMMIT_INTERVAL`] apart: under a stream of
//! pages the thread waits out the rest of the interval and commits everything that arrived
//! meanwhile as one batch, which bounds the number of commits (and of small segments
//! tantivy must merge) whatever the load.
//!
//! The queue holds at most [`QUEUE_PAGES`] pages and [`QUEUE_BYTES`] of their text; when it
//! is full (the disk cannot keep up) a submitted page is dropped with a warning rather than
//! making a request wait or memory grow: the page is still answered, it just will not be
//! found by a later search. The thread ends, after a final commit, when the last `Indexer`
//! handle is dropped.

use super::{IndexedPage, PageIndex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most pages waiting to be indexed.
pub const QUEUE_PAGES: usize = 4096;
/// Most bytes of page text waiting to be indexed.
pub const QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Most pages added per commit.
pub const BATCH_PAGES: usize = 512;
/// Least time between two commits.
pub const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(50);

/// A handle to the indexing thread (cheap to clone).
#[derive(Clone)]
pub struct Indexer {
    queue: SyncSender<IndexedPage>,
    index: Arc<dyn PageIndex>,
    /// Bytes of text queued and not yet added.
    queued_bytes: Arc<AtomicUsize>,
}

fn page_bytes(page: &IndexedPage) -> usize {
    page.url.len() + page.text.len() + page.title.as_ref().map_or(0, String::len)
}

impl Indexer {
    /// Starts the indexing thread for `index`.
    pub fn start(index: impl PageIndex) -> Indexer {
        Self::start_shared(Arc::new(index))
    }

    /// Starts the indexing thread for an index already shared.
    pub fn start_shared(index: Arc<dyn PageIndex>) -> Indexer {
        let (queue, pages) = mpsc::sync_channel(QUEUE_PAGES);
        let writer = index.clone();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let counter = queued_bytes.clone();
        std::thread::Builder::new()
            .name("parallax-indexer".into())
            .spawn(move || run(writer, pages, counter))
            .expect("the indexer thread starts");
        Indexer {
            queue,
            index,
            queued_bytes,
        }
    }

    /// The index this indexer writes to.
    pub fn index(&self) -> &Arc<dyn PageIndex> {
        &self.index
    }

    /// Queues `page` for indexing; never blocks.
    pub fn submit(&self, page: IndexedPage) {
        let size = page_bytes(&page);
        let before = self.queued_bytes.fetch_add(size, Ordering::SeqCst);
        if before + size > QUEUE_BYTES {
            self.queued_bytes.fetch_sub(size, Ordering::SeqCst);
            tracing::warn!(
                url = %page.url,
                "the indexing queue is full; this page will not be added to the local index"
            );
            return;
        }
        match self.queue.try_send(page) {
            Ok(()) => {}
            Err(TrySendError::Full(page)) => {
                self.queued_bytes.fetch_sub(size, Ordering::SeqCst);
                tracing::warn!(
                    url = %page.url,
                    "the indexing queue is full; this page will not be added to the local index"
                )
            }
            Err(TrySendError::Disconnected(page)) => tracing::warn!(
                url = %page.url,
                "the indexer has stopped; this page will not be added to the local index"
            ),
        }
    }
}

/// Lowest CPU priority for the calling thread (and the threads it starts). Linux gives each
/// thread its own nice value; elsewhere this does nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19)
        };
        if rc != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "could not lower the indexer's priority"
            );
        }
    }
}

fn run(index: Arc<dyn PageIndex>, pages: Receiver<IndexedPage>, queued_bytes: Arc<AtomicUsize>) {
    lower_priority();
    let mut last_commit: Option<Instant> = None;
    while let Ok(first) = pages.recv() {
        if let Some(at) = last_commit {
            let since = at.elapsed();
            if since < MIN_COMMIT_INTERVAL {
                std::thread::sleep(MIN_COMMIT_INTERVAL - since);
            }
        }
        let mut batch = vec![first];
        while batch.len() < BATCH_PAGES {
            match pages.try_recv() {
                Ok(page) => batch.push(page),
                Err(_) => break,
            }
        }
        let stage = crate::web::timing::Stage::start("index");
        let pages_in_batch = batch.len();
        let bytes: usize = batch.iter().map(page_bytes).sum();
        queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
        if let Err(error) = index.add_pages_blocking(batch) {
            tracing::warn!(%error, pages = pages_in_batch, "could not add pages to the index");
        }
        stage.end(pages_in_batch);
        last_commit = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{LocalIndex, SearchProvider, SearchQuery};

    #[tokio::test]
    async fn submitted_pages_become_searchable_without_a_commit_call() {
        let dir = std::env::temp_dir().join(format!("px-indexer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let index = LocalIndex::open(&dir).unwrap();
        let indexer = Indexer::start(index.clone());
        for i in 0..20 {
            indexer.submit(IndexedPage {
                url: format!("https://pages.example/{i}"),
                owner: None,
                title: Some(format!("Page {i}")),
                text: format!("The quokka census number {i} counted marsupials."),
                published: None,
                fetched_at: chrono::Utc::now(),
            });
        }
        let started = Instant::now();
        loop {
            let hits = index
                .search(&SearchQuery::new("quokka census", 50))
                .await
                .unwrap();
            if hits.len() == 20 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "only {} of 20 pages searchable after 5 s",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(indexer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The nice value of this process's thread named `name`, from /proc.
    #[cfg(target_os = "linux")]
    fn nice_of_thread(name: &str) -> Option<i64> {
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
            let (open, close) = (stat.find('(')?, stat.rfind(')')?);
            // The kernel keeps 15 bytes of a thread's name.
            if stat[open + 1..close] == name[..name.len().min(15)] {
                // Fields after the name: state is the 3rd of the line, nice the 19th.
                return stat[close + 1..].split_whitespace().nth(16)?.parse().ok();
            }
        }
        None
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_indexer_thread_runs_at_the_lowest_priority() {
        let dir = std::env::temp_dir().join(format!("px-indexer-nice-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let indexer = Indexer::start(LocalIndex::open(&dir).unwrap());
        let started = Instant::now();
        let nice = loop {
            match nice_of_thread("parallax-indexer") {
                Some(19) => break 19,
                other if started.elapsed() > Duration::from_secs(5) => break other.unwrap_or(0),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        assert_eq!(nice, 19);
        drop(indexer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_page_over_the_byte_bound_is_dropped_not_queued() {
        let dir = std::env::temp_dir().join(format!("px-indexer-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let indexer = Indexer::start(LocalIndex::open(&dir).unwrap());
        // As if the disk had fallen behind by almost the whole bound.
        indexer
            .queued_bytes
            .store(QUEUE_BYTES - 10, Ordering::SeqCst);
        indexer.submit(IndexedPage {
            url: "https://pages.example/big".into(),
            owner: None,
            title: None,
            text: "x".repeat(100),
            published: None,
            fetched_at: chrono::Utc::now(),
        });
        assert_eq!(
            indexer.queued_bytes.load(Ordering::SeqCst),
            QUEUE_BYTES - 10
        );
        drop(indexer);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
