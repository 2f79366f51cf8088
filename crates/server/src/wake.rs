//! Waiting for a committed change: every long-poll and live stream of the API waits here,
//! woken by the store's notices, a timer, or the server's shutdown.

use parallax_store::Notice;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// A notice the waiter wants arrived, or the channel lagged (one may have been missed,
    /// so the waiter re-reads).
    Notice,
    /// `until` passed.
    Timer,
    /// The notice channel closed: the store is gone.
    Closed,
    /// The server is shutting down.
    Shutdown,
}

/// Waits for a notice `wanted` accepts, for `until`, or for shutdown.
pub(crate) async fn wait_for_notice(
    notices: &mut broadcast::Receiver<Notice>,
    wanted: impl Fn(&Notice) -> bool,
    until: Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Woken {
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(notice) if wanted(&notice) => return Woken::Notice,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Woken::Notice,
                Err(broadcast::error::RecvError::Closed) => return Woken::Closed,
            },
            _ = tokio::time::sleep_until(until) => return Woken::Timer,
            _ = shutdown.wait_for(|stop| *stop) => return Woken::Shutdown,
        }
    }
}
