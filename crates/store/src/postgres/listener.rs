//! The listener: one connection `LISTEN`ing on [`CHANNEL`], republishing other nodes'
//! changes as [`Notice`]s, reconnecting with backoff.

use super::*;

/// Keeps one connection `LISTEN`ing on [`CHANNEL`] and republishes what arrives; reconnects
/// with backoff. Signals `ready` the first time it listens.
pub(super) async fn listen_loop(
    config: Config,
    notices: broadcast::Sender<Notice>,
    ready: oneshot::Sender<()>,
) {
    let mut config = config;
    // Notice a dead peer within about a minute even when no notification is due.
    keep_alive(&mut config);
    let mut ready = Some(ready);
    let mut backoff = LISTENER_MIN_BACKOFF;
    loop {
        let mut listened = false;
        let listening = listen_once(&config, &notices, &mut ready, &mut listened);
        match AssertUnwindSafe(listening).catch_unwind().await {
            Ok(Ok(())) => tracing::warn!("the PostgreSQL listener connection closed; reconnecting"),
            Ok(Err(e)) => tracing::warn!(
                error = %error_text(&e),
                "the PostgreSQL listener failed; reconnecting"
            ),
            Err(panic) => tracing::error!(
                panic = %panic_message(&*panic),
                "the PostgreSQL listener panicked (a bug); reconnecting"
            ),
        }
        if listened {
            backoff = LISTENER_MIN_BACKOFF;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LISTENER_MAX_BACKOFF);
    }
}

pub(super) async fn listen_once(
    config: &Config,
    notices: &broadcast::Sender<Notice>,
    ready: &mut Option<oneshot::Sender<()>>,
    listened: &mut bool,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // Driving the connection through `poll_message` is what surfaces notifications.
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    {
        let listen = client.batch_execute("LISTEN parallax_events");
        tokio::pin!(listen);
        loop {
            tokio::select! {
                done = &mut listen => {
                    done?;
                    break;
                }
                message = messages.next() => match message {
                    Some(Ok(message)) => republish(notices, message),
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }
    *listened = true;
    // Whatever was notified while we were not listening is lost: have idle workers look.
    let _ = notices.send(Notice::Queued);
    let _ = notices.send(Notice::Schedule);
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    while let Some(message) = messages.next().await {
        republish(notices, message?);
    }
    drop(client);
    Ok(())
}

pub(super) fn republish(notices: &broadcast::Sender<Notice>, message: AsyncMessage) {
    if let AsyncMessage::Notification(n) = message {
        if n.channel() != CHANNEL {
            return;
        }
        let notice = match n.payload() {
            "queued" => Notice::Queued,
            "schedule" => Notice::Schedule,
            payload => {
                if let Some(run_id) = payload.strip_prefix("run:").filter(|id| !id.is_empty()) {
                    Notice::Run(Arc::from(run_id))
                } else if let Some(group) =
                    payload.strip_prefix("group:").filter(|id| !id.is_empty())
                {
                    Notice::Group(Arc::from(group))
                } else if let Some(id) =
                    payload.strip_prefix("findall:").filter(|id| !id.is_empty())
                {
                    Notice::FindAll(Arc::from(id))
                } else {
                    return;
                }
            }
        };
        let _ = notices.send(notice);
    }
}
