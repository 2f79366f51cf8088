//! The batch writers' loop: take every waiting write, commit them in one transaction, retry
//! a failed batch one write per transaction, and survive a write that panics.

use super::*;

/// A write the batch writers commit together with others waiting (see the module
/// documentation): creates and run endings.
#[async_trait]
pub(super) trait BatchedWrite: Send + Sync + Sized + 'static {
    type Outcome: Send;
    /// What the writes are, for logs.
    const WHAT: &'static str;
    /// Commits `jobs` in one transaction; returns each one's outcome, in order. An error
    /// other than [`StoreError::CommitFailed`] means the transaction was rolled back.
    async fn commit(
        client: &mut deadpool_postgres::Client,
        jobs: &[Self],
    ) -> Result<Vec<Self::Outcome>>;
    /// Answers the caller.
    fn reply(self, outcome: Result<Self::Outcome>);
}

/// Takes every write waiting (up to [`MAX_BATCH`]) and commits them as one batch, with at
/// most `in_flight` batches committing at once; the next batch gathers meanwhile.
pub(super) async fn batch_loop<W: BatchedWrite>(
    pool: Pool,
    mut queue: mpsc::Receiver<W>,
    in_flight: usize,
    #[cfg(any(test, feature = "failpoints"))] failpoints: Option<Arc<Failpoints>>,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = Vec::new();
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        #[cfg(any(test, feature = "failpoints"))]
        if failpoints
            .as_ref()
            .is_some_and(|f| f.take(Failpoint::WriterStops))
        {
            panic!("failpoint: the {} writer stops", W::WHAT);
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            commit_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

/// Commits one batch and answers each write. If PostgreSQL rejects the batch, each write is
/// committed alone, so a bad one fails alone; if the commit went unanswered, every write's
/// fate is unknown and each caller is told so.
pub(super) async fn commit_batch<W: BatchedWrite>(pool: &Pool, batch: Vec<W>) {
    let mut client = match pool.get().await {
        Ok(client) => client,
        Err(e) => {
            let message = error_text(&pool_error(e));
            for job in batch {
                job.reply(Err(StoreError::Pool(message.clone())));
            }
            return;
        }
    };
    let error = match commit_caught(&mut client, &batch).await {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                job.reply(Ok(outcome));
            }
            return;
        }
        Err(e) => e,
    };
    if matches!(error, StoreError::CommitFailed(_)) {
        let message = error_text(&error);
        tracing::error!(error = %message, writes = batch.len(), "postgres commit of {} failed", W::WHAT);
        for job in batch {
            job.reply(Err(StoreError::CommitFailed(message.clone())));
        }
        return;
    }
    // A connection that saw a panic is closed, not reused: its state is not known.
    let mut client = Some(client);
    if matches!(error, StoreError::Panicked(_)) {
        if let Some(client) = client.take() {
            discard(client);
        }
    }
    if batch.len() == 1 {
        if let Some(job) = batch.into_iter().next() {
            job.reply(Err(error));
        }
        return;
    }
    tracing::warn!(
        error = %error_text(&error),
        writes = batch.len(),
        "postgres rejected a group of {}; committing each alone",
        W::WHAT
    );
    for job in batch {
        let mut conn = match client.take().filter(|c| !c.is_closed()) {
            Some(conn) => conn,
            None => match pool.get().await {
                Ok(conn) => conn,
                Err(e) => {
                    job.reply(Err(pool_error(e)));
                    continue;
                }
            },
        };
        let result = commit_caught(&mut conn, std::slice::from_ref(&job)).await;
        if matches!(result, Err(StoreError::Panicked(_))) {
            discard(conn);
        } else {
            client = Some(conn);
        }
        let result = result.and_then(|mut outcomes| {
            outcomes.pop().ok_or_else(|| {
                StoreError::Corrupt(format!("one of the {} had no outcome", W::WHAT))
            })
        });
        job.reply(result);
    }
}

/// [`BatchedWrite::commit`], with a panic caught and turned into [`StoreError::Panicked`]. Its
/// transaction was dropped unfinished, which rolls it back; the connection should not be
/// used again (see [`discard`]).
pub(super) async fn commit_caught<W: BatchedWrite>(
    client: &mut deadpool_postgres::Client,
    jobs: &[W],
) -> Result<Vec<W::Outcome>> {
    match AssertUnwindSafe(W::commit(client, jobs))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let message = panic_message(&*panic);
            tracing::error!(panic = %message, writes = jobs.len(), "a postgres commit of {} panicked", W::WHAT);
            Err(StoreError::Panicked(message))
        }
    }
}

/// Closes a connection instead of returning it to the pool: after a panic its state is not
/// known.
pub(super) fn discard(client: deadpool_postgres::Client) {
    drop(deadpool_postgres::Object::take(client));
}

/// A failed `COMMIT` of a batch: refused by the server (the batch is retried one write at a
/// time), or lost with the connection, when nobody knows whether it committed.
pub(super) fn commit_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(_) => StoreError::Postgres(e),
        None => StoreError::CommitFailed(format!(
            "the outcome of the commit is unknown: {}",
            error_text(&e)
        )),
    }
}

/// Hands `job` to the batch writer called `writer` through its `queue` and waits for the
/// `answer`. The writer answers every job, panicking or not: a closed queue or a reply never
/// sent means the writer itself is gone.
pub(super) async fn through_writer<J, T>(
    queue: &mpsc::Sender<J>,
    job: J,
    answer: oneshot::Receiver<Result<T>>,
    writer: &'static str,
) -> Result<T> {
    queue
        .send(job)
        .await
        .map_err(|_| StoreError::Stopped(writer))?;
    answer.await.map_err(|_| StoreError::Stopped(writer))?
}

/// Commits `tx`. Every transaction of this backend that writes ends here (but the
/// migrations'): the one place its commits are timed.
pub(super) async fn commit(
    tx: deadpool_postgres::Transaction<'_>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let started = std::time::Instant::now();
    let committed = tx.commit().await;
    parallax_metrics::store_commit(parallax_metrics::Backend::Postgres, started.elapsed());
    committed
}
