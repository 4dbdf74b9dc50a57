//! Where every subscriber resumes from when the log has several
//! partitions.
//!
//! Subscribers open `messageCreated(after: …)` on all their chats, so
//! that each is exact however late the server opens it. With one
//! partition a message's own cursor does for that. With several, the
//! server refuses a single chat's cursor there (it cannot resume every
//! partition exactly) and wants a *feed* cursor — a position in every
//! partition — which only an all-chats subscription hands out. So one
//! probe subscription, as the user who sends the set-up messages, takes
//! the feed cursor delivered with the last of them.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Api, User};
use crate::subscriber::{self, Socket};

/// What the probe selects: the body, to know which set-up message it is,
/// and the cursor that resumes right after it.
const QUERY: &str = "subscription { messageCreated { body cursor } }";

/// How long to wait for a set-up message before sending another.
const RETRY: Duration = Duration::from_millis(100);

/// Most time for the probe to get going.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends set-up messages to `chat_id` as `sender` until the probe, which
/// the server opens some time after it is asked to, receives one; then
/// returns the feed cursor of the last one sent. The probe opened live at
/// the heads of every partition and no other chat has a message, so
/// nothing the generator sends later comes before that cursor, and no
/// set-up message after it.
pub async fn after_setup(
    api: &Api,
    url: &str,
    sender: &User,
    chat_id: &str,
) -> anyhow::Result<String> {
    let mut socket = subscriber::open(url, &sender.token, QUERY, json!({}))
        .await
        .context("opening the probe subscription")?;
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let mut sent = 0;
    let mut received = loop {
        sent += 1;
        api.send_message(&sender.token, chat_id, &setup_body(sent))
            .await?;
        if let Ok(delivery) = timeout(RETRY, next_delivery(&mut socket)).await {
            break delivery?;
        }
        if Instant::now() > deadline {
            bail!("the probe subscription received none of {sent} set-up messages");
        }
    };
    // Deliveries of one chat arrive in order: the last one sent is last.
    let last = setup_body(sent);
    while received.0 != last {
        received = timeout(PROBE_TIMEOUT, next_delivery(&mut socket))
            .await
            .context("waiting for the last set-up message")??;
    }
    let _ = socket.close(None).await;
    Ok(received.1)
}

fn setup_body(n: u32) -> String {
    format!("setup {n}")
}

/// The body and cursor of the probe's next delivery.
async fn next_delivery(socket: &mut Socket) -> anyhow::Result<(String, String)> {
    loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => bail!("the probe's socket closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => bail!("the probe's socket ended"),
        };
        let frame: Value = serde_json::from_str(text.as_str())?;
        match frame["type"].as_str() {
            Some("ping") => {
                socket.send(Message::text(r#"{"type":"pong"}"#)).await?;
            }
            Some("next") => {
                let message = &frame["payload"]["data"]["messageCreated"];
                if let (Some(body), Some(cursor)) =
                    (message["body"].as_str(), message["cursor"].as_str())
                {
                    return Ok((body.to_owned(), cursor.to_owned()));
                }
                bail!("the probe got an unexpected delivery: {text}");
            }
            _ => bail!("the probe got an unexpected frame: {text}"),
        }
    }
}
