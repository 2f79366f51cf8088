//! The background indexer: how pages read by runs, Extract and Search reach the local index
//! and become searchable within a moment, without any request waiting on disk I/O.
//!
//! Callers [`Indexer::submit`] pages and return at once. One thread owns the writing: it
//! wakes when a page arrives, takes every page already queued (up to [`BATCH_PAGES`]), adds
//! them, and commits, so the pages are searchable (and durable) a few milliseconds after
//! they were read. Commits are at least [`MIN_COMMIT_INTERVAL`] apart: under a stream of
//! pages the thread waits out the rest of the interval and commits everything that arrived
//! meanwhile as one batch, which bounds the number of commits (and of small segments
//! tantivy must merge) whatever the load.
//!
//! The queue holds at most [`QUEUE_PAGES`] pages; when it is full (the disk cannot keep up)
//! a submitted page is dropped with a warning rather than making a request wait: the page
//! is still answered, it just will not be found by a later search. The thread ends, after a
//! final commit, when the last `Indexer` handle is dropped.

use super::{IndexedPage, LocalIndex};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// Most pages waiting to be indexed.
pub const QUEUE_PAGES: usize = 4096;
/// Most pages added per commit.
pub const BATCH_PAGES: usize = 512;
/// Least time between two commits.
pub const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(50);

/// A handle to the indexing thread (cheap to clone).
#[derive(Clone)]
pub struct Indexer {
    queue: SyncSender<IndexedPage>,
    index: LocalIndex,
}

impl Indexer {
    /// Starts the indexing thread for `index`.
    pub fn start(index: LocalIndex) -> Indexer {
        let (queue, pages) = mpsc::sync_channel(QUEUE_PAGES);
        let writer = index.clone();
        std::thread::Builder::new()
            .name("parallax-indexer".into())
            .spawn(move || run(writer, pages))
            .expect("the indexer thread starts");
        Indexer { queue, index }
    }

    /// The index this indexer writes to.
    pub fn index(&self) -> &LocalIndex {
        &self.index
    }

    /// Queues `page` for indexing; never blocks.
    pub fn submit(&self, page: IndexedPage) {
        match self.queue.try_send(page) {
            Ok(()) => {}
            Err(TrySendError::Full(page)) => tracing::warn!(
                url = %page.url,
                "the indexing queue is full; this page will not be added to the local index"
            ),
            Err(TrySendError::Disconnected(page)) => tracing::warn!(
                url = %page.url,
                "the indexer has stopped; this page will not be added to the local index"
            ),
        }
    }
}

fn run(index: LocalIndex, pages: Receiver<IndexedPage>) {
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
        for page in batch {
            let url = page.url.clone();
            if let Err(error) = index.add_page(page) {
                tracing::warn!(%url, %error, "could not add a page to the local index");
            }
        }
        if let Err(error) = index.commit() {
            tracing::warn!(%error, "could not commit the local index");
        }
        last_commit = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{SearchProvider, SearchQuery};

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
}
