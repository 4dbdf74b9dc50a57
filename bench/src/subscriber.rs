//! One WebSocket subscriber: connects with graphql-transport-ws,
//! subscribes to `messageCreated` from a cursor, and checks every delivery.
//!
//! Checks are local to the subscriber (no lock per message): the chat must
//! be one of its user's, the body must name that same chat, and no sequence
//! number may arrive twice. Counting against what was sent happens at the
//! end, in the scenario.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::layout::{Body, Kind, now_ns};

/// How long connecting, the handshake and the ack may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Initial read buffer of each socket (it grows for larger frames).
const READ_BUFFER: usize = 4096;

/// Problems kept per subscriber for the report; the counts keep the rest.
const MAX_PROBLEMS: usize = 3;

/// What subscribers select: every subscriber of a shared selection gets
/// the same rendering of a message; a personal one asks for `reactedByMe`,
/// which depends on the viewer, so each subscriber gets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    Shared,
    Personal,
}

impl Selection {
    fn query(self) -> &'static str {
        match self {
            Selection::Shared => {
                "subscription($after: String) { messageCreated(after: $after) { chatId body } }"
            }
            Selection::Personal => {
                "subscription($after: String) { messageCreated(after: $after) { chatId body reactions { emoji count reactedByMe } } }"
            }
        }
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Maps chat ids as the server prints them to the generator's chat indexes.
pub type Routes = HashMap<String, usize>;

/// What every subscriber shares with the scenario: progress counters the
/// scenario polls to know when to go on.
#[derive(Debug, Default)]
pub struct Progress {
    /// Subscriptions sent (the socket acknowledged and `subscribe` written).
    pub subscribed: AtomicUsize,
    /// Subscribers that failed before or while running.
    pub failed: AtomicUsize,
    /// Distinct warm-up messages received, over all subscribers.
    pub warmups: AtomicU64,
    /// Distinct measured messages received, over all subscribers.
    pub delivered: AtomicU64,
}

/// Everything one subscriber needs to connect and check.
pub struct Spec {
    pub url: Arc<str>,
    pub token: Arc<str>,
    /// Subscribing from this cursor makes the subscription exact however
    /// late the server opens it: it replays whatever came after.
    pub after: Arc<str>,
    /// The user's chats, by index, sorted.
    pub chats: Arc<[usize]>,
    pub routes: Arc<Routes>,
    pub selection: Selection,
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub delivered: u64,
    pub warmups: u64,
    pub duplicates: u64,
    pub misrouted: u64,
    /// Frames that were not a delivery: errors, completes, unreadable text,
    /// or the socket closing before the end.
    pub broken: u64,
    pub problems: Vec<String>,
    /// Delivery latency of each measured message, in microseconds.
    pub latencies_us: Vec<u32>,
    /// When the last measured message arrived.
    pub last_delivery: Option<Instant>,
    /// Measured messages seen per chat index of the user's (same order as
    /// `Spec::chats`), to compare with what was sent.
    pub per_chat: Vec<u64>,
    seen: Bits,
    warm_seen: Bits,
}

impl Tally {
    fn problem(&mut self, text: impl FnOnce() -> String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text());
        }
    }
}

/// A growable bit set of sequence numbers: one bit per message, so even
/// millions of deliveries cost little memory to de-duplicate.
#[derive(Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    /// Sets the bit; `false` when it was already set.
    fn insert(&mut self, n: u64) -> bool {
        let (word, bit) = ((n / 64) as usize, n % 64);
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let was = self.0[word] & (1 << bit) != 0;
        self.0[word] |= 1 << bit;
        !was
    }
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    data: Option<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    message_created: Delivery,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    chat_id: String,
    body: String,
    /// Present when the selection asks for it (each group checked by the
    /// server's own shape; here only its presence).
    #[serde(default)]
    reactions: Option<serde::de::IgnoredAny>,
}

/// Connects, subscribes, then checks deliveries until `stop` turns true,
/// the socket ends, or `deadline` passes. Connection attempts take a permit
/// from `connecting`, which bounds how many handshakes run at once.
pub async fn run(
    spec: Spec,
    progress: Arc<Progress>,
    connecting: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally {
        per_chat: vec![0; spec.chats.len()],
        ..Tally::default()
    };
    let socket = {
        let _permit = connecting.acquire().await;
        timeout(CONNECT_TIMEOUT, connect(&spec)).await
    };
    let mut socket = match socket {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return failed(tally, &progress, format!("{error:#}")),
        Err(_) => return failed(tally, &progress, "connecting timed out".into()),
    };
    progress.subscribed.fetch_add(1, Ordering::Relaxed);
    loop {
        let frame = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep_until(deadline) => {
                tally.problem(|| "stopped by the scenario's time limit".into());
                break;
            }
            frame = socket.next() => frame,
        };
        match frame {
            Some(Ok(Message::Text(text))) => {
                if text.as_str().contains("\"type\":\"ping\"") {
                    let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
                    continue;
                }
                check(&spec, &progress, &mut tally, text.as_str());
            }
            Some(Ok(Message::Close(frame))) => {
                tally.broken += 1;
                tally.problem(|| format!("the server closed the socket: {frame:?}"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                tally.broken += 1;
                tally.problem(|| format!("socket error: {error}"));
                break;
            }
            None => {
                tally.broken += 1;
                tally.problem(|| "the socket ended".into());
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    tally
}

fn failed(mut tally: Tally, progress: &Progress, problem: String) -> Tally {
    progress.failed.fetch_add(1, Ordering::Relaxed);
    tally.broken += 1;
    tally.problem(|| problem);
    tally
}

/// Opens the socket, authenticates, and starts the subscription.
async fn connect(spec: &Spec) -> anyhow::Result<Socket> {
    let variables = json!({ "after": &*spec.after });
    open(&spec.url, &spec.token, spec.selection.query(), variables).await
}

/// Opens a graphql-transport-ws socket as the user of `token` and starts
/// one subscription (id "1") of `query`.
pub async fn open(
    url: &str,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // Tungstenite reserves 128 KiB per socket for reading by default; the
    // generator's frames are small, and 15,000 sockets must fit beside the
    // server.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .context("WebSocket handshake")?;
    let init = json!({
        "type": "connection_init",
        "payload": { "authorization": format!("Bearer {token}") },
    });
    socket.send(Message::text(init.to_string())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(Message::Text(text))) if text.contains("\"ping\"") => {}
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => bail!("expected connection_ack, got {other:?}"),
            Some(Err(error)) => return Err(error.into()),
            None => return Err(anyhow!("the socket closed before connection_ack")),
        }
    }
    let subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": query, "variables": variables },
    });
    socket.send(Message::text(subscribe.to_string())).await?;
    Ok(socket)
}

/// Checks one text frame and counts it.
fn check(spec: &Spec, progress: &Progress, tally: &mut Tally, text: &str) {
    let delivery = match serde_json::from_str::<Frame>(text) {
        Ok(Frame {
            kind: "next",
            payload: Some(Payload { data: Some(data) }),
        }) => data.message_created,
        _ => {
            tally.broken += 1;
            tally.problem(|| format!("unexpected frame: {text}"));
            return;
        }
    };
    if (spec.selection == Selection::Personal) != delivery.reactions.is_some() {
        tally.broken += 1;
        tally.problem(|| format!("a delivery not of the selection asked for: {text}"));
        return;
    }
    let Some(body) = Body::decode(&delivery.body) else {
        // Not a generator message (e.g. another tool's): still a misroute
        // for this run, which owns the server.
        tally.misrouted += 1;
        tally.problem(|| format!("a message the generator did not send: {}", delivery.body));
        return;
    };
    let chat = spec.routes.get(&delivery.chat_id).copied();
    let slot = chat.and_then(|chat| spec.chats.binary_search(&chat).ok());
    let Some(slot) = slot.filter(|_| chat == Some(body.chat)) else {
        tally.misrouted += 1;
        tally.problem(|| {
            format!(
                "message {} of chat index {} delivered as chat {} to a user of chats {:?}",
                body.seq, body.chat, delivery.chat_id, spec.chats
            )
        });
        return;
    };
    match body.kind {
        Kind::Warmup => {
            if tally.warm_seen.insert(body.seq) {
                tally.warmups += 1;
                progress.warmups.fetch_add(1, Ordering::Relaxed);
            } else {
                tally.duplicates += 1;
                tally.problem(|| format!("warm-up {} delivered twice", body.seq));
            }
        }
        Kind::Measured => {
            if !tally.seen.insert(body.seq) {
                tally.duplicates += 1;
                tally.problem(|| format!("message {} delivered twice", body.seq));
                return;
            }
            let latency_ns = now_ns().saturating_sub(body.sent_ns);
            tally
                .latencies_us
                .push(u32::try_from(latency_ns / 1000).unwrap_or(u32::MAX));
            tally.delivered += 1;
            tally.per_chat[slot] += 1;
            tally.last_delivery = Some(Instant::now());
            progress.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let routes: Routes = [("chat-a".to_owned(), 0), ("chat-b".to_owned(), 1)]
            .into_iter()
            .collect();
        Spec {
            url: "ws://127.0.0.1:1/ws".into(),
            token: "t".into(),
            after: "c".into(),
            chats: vec![0].into(),
            routes: Arc::new(routes),
            selection: Selection::Shared,
        }
    }

    fn frame(chat_id: &str, kind: Kind, seq: u64, chat: usize) -> String {
        let body = Body {
            kind,
            seq,
            chat,
            sent_ns: now_ns(),
        };
        json!({
            "id": "1",
            "type": "next",
            "payload": { "data": { "messageCreated": { "chatId": chat_id, "body": body.encode() } } },
        })
        .to_string()
    }

    /// The checks catch each kind of fault a delivery can have.
    #[test]
    fn duplicates_misroutes_and_strays_are_counted() {
        let (spec, progress, mut tally) = (spec(), Progress::default(), Tally::default());
        tally.per_chat = vec![0];
        let mut feed = |text: String| check(&spec, &progress, &mut tally, &text);

        feed(frame("chat-a", Kind::Warmup, 0, 0));
        feed(frame("chat-a", Kind::Measured, 7, 0));
        feed(frame("chat-a", Kind::Measured, 7, 0)); // the same message again
        feed(frame("chat-b", Kind::Measured, 8, 1)); // a chat the user is not in
        feed(frame("chat-a", Kind::Measured, 9, 1)); // body of another chat
        feed(frame("chat-z", Kind::Measured, 10, 0)); // a chat nobody created
        feed(r#"{"id":"1","type":"complete"}"#.to_owned());

        assert_eq!((tally.warmups, tally.delivered), (1, 1));
        assert_eq!(tally.per_chat, vec![1]);
        assert_eq!(tally.duplicates, 1);
        assert_eq!(tally.misrouted, 3);
        assert_eq!(tally.broken, 1);
        assert_eq!(progress.delivered.load(Ordering::Relaxed), 1);
    }
}
