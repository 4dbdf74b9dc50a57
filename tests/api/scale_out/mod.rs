//! Scaling out and faults: two processes sharing one Redis, Redis killed
//! and restarted under load (with and without its data), a subscriber that
//! stops reading, and fan-out to many subscribers at once.
//!
//! Each test prints a one-line summary of its figures with `eprintln!`, so
//! `cargo test --test api scale_out -- --nocapture` shows them.
//!
//! # Layout
//!
//! - [`two_processes`]: two servers on one Redis act as one service, in the
//!   test's process and as two `chat-server` processes.
//! - [`redis_crash`]: Redis SIGKILLed and restarted under a load of sends.
//! - [`slow_subscriber`]: a subscriber that stops reading is backfilled.
//! - [`fan_out`]: 200 subscribers over 20 chats each get exactly their own.
//! - [`lost_log`]: Redis restarted empty expires the old cursors and tokens.
//!
//! This file holds what several of them share: the subscription they read,
//! how they read it, and how they wait.

use std::collections::HashMap;
use std::time::Duration;

use chat_server::store::{Event, EventKind, Positions};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::helpers::{Account, Endpoint};
use crate::ws_client::{self, WsClient, vars};

mod cluster_failover;
mod fan_out;
mod lost_log;
mod redis_crash;
mod slow_subscriber;
mod two_processes;

/// `messageCreated` with the fields the tests compare.
const MESSAGES: &str = "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { chatId body cursor } }";

/// The longest any polling loop here may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// A new socket for `viewer` running the standard [`MESSAGES`] selection
/// (id [`ws_client::SUB`]) with this chat filter and `after`.
async fn subscribe_messages(
    app: &Endpoint,
    viewer: &Account,
    chat: Option<&str>,
    after: Option<&str>,
) -> WsClient {
    ws_client::subscribe(app, viewer, MESSAGES, vars(chat, after)).await
}

/// The `body` of each message.
fn bodies(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| text(m, "body")).collect()
}

/// A string field of a JSON object, failing the test when absent.
fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
        .to_owned()
}

/// The bodies of the log's `MessageCreated` events after `after`, per chat,
/// in log order.
fn logged_bodies(events: &[Event], after: &Positions) -> HashMap<String, Vec<String>> {
    let mut per_chat: HashMap<String, Vec<String>> = HashMap::new();
    for event in events.iter().filter(|e| e.id > after.get(e.partition)) {
        if let EventKind::MessageCreated(message) = &event.kind {
            per_chat
                .entry(event.chat_id.to_string())
                .or_default()
                .push(message.body.clone());
        }
    }
    per_chat
}

/// The bodies of a chat's whole history through the API, oldest first,
/// read in pages of 100 going back.
async fn whole_history(app: &Endpoint, viewer: &Account, chat: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = app
            .history(viewer, chat, Some(100), before.as_deref())
            .await;
        let edges = page["edges"].as_array().expect("edges");
        pages.push(
            edges
                .iter()
                .map(|e| text(&e["node"], "body"))
                .collect::<Vec<_>>(),
        );
        if page["pageInfo"]["hasPreviousPage"] != json!(true) {
            break;
        }
        before = Some(text(&page["pageInfo"], "startCursor"));
    }
    pages.into_iter().rev().flatten().collect()
}

/// Awaits a spawned task for at most `limit`, re-raising its panic.
async fn join_within<T>(task: JoinHandle<T>, limit: Duration, what: &str) -> T {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Ok(Err(error)) => panic!("{what} failed: {error}"),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Retries `attempt` every 50 ms until it returns `Some`, for at most
/// [`PATIENCE`]: for the first requests after Redis came back.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, attempt: impl Fn() -> F) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
