//! Webhook delivery: sends the outbox's `task_run.status` deliveries, signed, retrying with
//! exponential backoff.
//!
//! The store writes a delivery in the same transaction as the run's terminal state, so a
//! crash can delay a delivery but never lose it. This loop claims due deliveries with a
//! lease (so a dead node's attempt is made again by another: delivery is at least once;
//! receivers deduplicate by `webhook-id`), signs each attempt (see
//! [`parallax_api::webhook`]) and POSTs it through the engine's fetcher, so a webhook URL
//! passes the same SSRF guard as a page (redirects are not followed). A 2xx answer
//! delivers; anything else is retried after `retry_base`, doubling each attempt up to
//! `retry_max`, until `give_up_after` has passed since the delivery was queued. A URL that
//! can never be delivered to (malformed, or refused by the guard) is given up at once.
//!
//! The loop wakes on its tick (`poll_interval`, half a second by default), claims what is
//! due and attempts it; it claims again at once while a claim comes back full. It does not
//! wake on run notices: those come with every state change and progress event, and a claim
//! per notice would put a write per event on the store, where half a second of delivery
//! latency costs nothing. At shutdown it stops claiming and waits for the attempts in flight
//! (each bounded by `timeout`).

use parallax_api::time::now_micros;
use parallax_api::webhook;
use parallax_engine::fetch::{FetchError, FetchErrorKind, Fetcher};
use parallax_store::{Delivery, DeliveryAttempt, DeliveryOutcome, Lease, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Unique name of this worker in the deliveries' leases.
    pub worker_id: String,
    /// Delay before the first retry; each later retry waits twice the one before.
    pub retry_base: Duration,
    /// Longest wait between two attempts.
    pub retry_max: Duration,
    /// No attempt is made this long after the delivery was queued.
    pub give_up_after: Duration,
    /// How long a receiver may take to answer one attempt.
    pub timeout: Duration,
    /// How often to look for retries that came due.
    pub poll_interval: Duration,
    /// Most attempts in flight at once.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            worker_id: format!("webhooks-{}", uuid::Uuid::new_v4()),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// The running delivery loop; [`Deliverer::shutdown`] stops it.
pub struct Deliverer {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Deliverer {
    /// Starts the loop on the current runtime; `fetcher` carries the SSRF guard.
    pub fn start(store: Arc<dyn Store>, fetcher: Fetcher, config: WebhookConfig) -> Deliverer {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(deliver_loop(store, fetcher, config, stopped));
        Deliverer { stop, task }
    }

    /// Stops claiming and waits for the attempts in flight.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// When to try again after failed attempt number `attempt` (1-based), or `None` to give up.
pub fn next_attempt(
    config: &WebhookConfig,
    attempt: i64,
    created_at: i64,
    now: i64,
) -> Option<i64> {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let wait = config
        .retry_base
        .saturating_mul(1u32 << doublings)
        .min(config.retry_max);
    let at = now.saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
    let deadline = created_at
        .saturating_add(i64::try_from(config.give_up_after.as_micros()).unwrap_or(i64::MAX));
    (at <= deadline).then_some(at)
}

async fn deliver_loop(
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    config: WebhookConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A lease longer than one attempt can take, so a live worker never loses its delivery.
    let lease = config.timeout * 3;
    loop {
        if *stopped.borrow() {
            return;
        }
        match store
            .claim_deliveries(Lease::new(&config.worker_id, lease), config.concurrency)
            .await
        {
            Ok(batch) if !batch.is_empty() => {
                let full = batch.len() == config.concurrency;
                futures::future::join_all(
                    batch
                        .into_iter()
                        .map(|d| attempt(&*store, &fetcher, &config, d)),
                )
                .await;
                if full {
                    continue; // more may be due
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not claim webhook deliveries"),
        }
        tokio::select! {
            _ = stopped.changed() => {}
            _ = tick.tick() => {}
        }
    }
}

/// Whether an attempt that failed this way may succeed if tried again: not when the URL is
/// malformed or refused by the SSRF guard (that takes a restart with other settings).
fn can_succeed_later(error: &FetchError) -> bool {
    !matches!(
        error.kind(),
        FetchErrorKind::InvalidUrl
            | FetchErrorKind::UnsupportedScheme
            | FetchErrorKind::SsrfRefused
    )
}

async fn attempt(store: &dyn Store, fetcher: &Fetcher, config: &WebhookConfig, d: Delivery) {
    let timestamp = now_micros() / 1_000_000;
    let signature = webhook::signature(&d.secret, &d.delivery_id, timestamp, &d.body);
    let headers = [
        ("webhook-id", d.delivery_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    let sent = fetcher
        .post_json(&d.url, &headers, d.body.clone(), config.timeout)
        .await;
    let outcome = match sent {
        Ok(_) => {
            parallax_metrics::webhook_delivered();
            DeliveryOutcome::Delivered
        }
        Err(error) if !can_succeed_later(&error) => {
            parallax_metrics::webhook_gave_up();
            tracing::warn!(delivery = %d.delivery_id, %error, "webhook delivery given up: the URL can never be delivered to");
            DeliveryOutcome::GaveUp {
                error: error.to_string(),
            }
        }
        Err(error) => {
            let error = error.to_string();
            match next_attempt(config, d.attempt, d.created_at, now_micros()) {
                Some(at) => {
                    parallax_metrics::webhook_retry();
                    tracing::info!(delivery = %d.delivery_id, attempt = d.attempt, %error, "webhook attempt failed; will retry");
                    DeliveryOutcome::Retry { at, error }
                }
                None => {
                    parallax_metrics::webhook_gave_up();
                    tracing::warn!(delivery = %d.delivery_id, attempt = d.attempt, %error, "webhook delivery given up");
                    DeliveryOutcome::GaveUp { error }
                }
            }
        }
    };
    if let Err(error) = store
        .delivery_attempted(
            &config.worker_id,
            DeliveryAttempt {
                delivery_id: d.delivery_id.clone(),
                outcome,
            },
        )
        .await
    {
        // The lease will lapse and the delivery be attempted again.
        tracing::warn!(delivery = %d.delivery_id, %error, "could not record a webhook attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_gives_up() {
        let config = WebhookConfig {
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            ..WebhookConfig::default()
        };
        let s = 1_000_000i64;
        assert_eq!(next_attempt(&config, 1, 0, 0), Some(5 * s));
        assert_eq!(next_attempt(&config, 2, 0, 0), Some(10 * s));
        assert_eq!(next_attempt(&config, 4, 0, 0), Some(40 * s));
        assert_eq!(next_attempt(&config, 20, 0, 0), Some(3600 * s));
        assert_eq!(next_attempt(&config, 1000, 0, 0), Some(3600 * s));
        // 23.5 h after queueing, a 1 h wait would pass the 24 h mark: give up.
        let late = 23 * 3600 * s + 1800 * s;
        assert_eq!(next_attempt(&config, 20, 0, late), None);
        // Retries keep coming for at least 24 hours.
        assert!(next_attempt(&config, 20, 0, 22 * 3600 * s).is_some());
    }
}
