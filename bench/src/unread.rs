//! What `Chat.unreadCount` costs as history grows: the same query against
//! a chat of a few messages and one of many (Redis), which must take the
//! same time, because the count is answered from a counter and an index of
//! deleted messages, never by reading messages.
//!
//! A reader joins each chat, the owner sends the messages (and deletes one
//! in a hundred of the big chat's, so the deleted index is not empty), then
//! the reader asks for its unread count one query at a time; the answer is
//! checked against what was sent.

use anyhow::{Context as _, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::api::{Api, User};
use crate::cluster::{Cluster, Programs, Store};
use crate::layout::now_ns;
use crate::report::Latency;

/// Writes in flight while filling a chat.
const FILL_PARALLEL: usize = 64;
/// Queries timed per chat, after as many untimed ones.
const QUERIES: usize = 2000;

/// The sizes compared.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub small: usize,
    pub large: usize,
}

/// One chat's figures.
struct Measured {
    messages: usize,
    deleted: usize,
    latency: Latency,
}

/// Fills the two chats, times the queries and prints a table. A wrong
/// count is an error.
pub async fn run(programs: &Programs, store: Store, sizes: Sizes) -> anyhow::Result<()> {
    eprintln!(
        "== unread-count on {store}: chats of {} and {} messages",
        sizes.small, sizes.large
    );
    let cluster = Cluster::start(programs, store).await?;
    let api = Api::new(cluster.server_addr, FILL_PARALLEL)?;
    let prefix = format!("u{}", now_ns() % 1_000_000_007);
    let users = api.sign_up_many(&prefix, 2, 2).await?;
    let (owner, reader) = (&users[0], &users[1]);
    let mut rows = Vec::new();
    for messages in [sizes.small, sizes.large] {
        let chat = api
            .create_chat(owner, &format!("{messages} messages"), &[reader])
            .await?;
        let started = Instant::now();
        let deleted = fill(&api, owner, &chat, messages).await?;
        eprintln!(
            "   {messages} messages ({deleted} deleted) written in {:.1?}",
            started.elapsed()
        );
        let latency = time_queries(&api, reader, &chat, (messages - deleted) as i64).await?;
        rows.push(Measured {
            messages,
            deleted,
            latency,
        });
    }
    println!();
    println!("| chat | deleted | `unreadCount` query p50 (ms) | p90 (ms) | p99 (ms) |");
    println!("|---:|---:|---:|---:|---:|");
    for row in &rows {
        let Latency { p50, p90, p99, .. } = row.latency;
        println!(
            "| {} messages | {} | {p50:.3} | {p90:.3} | {p99:.3} |",
            row.messages, row.deleted
        );
    }
    Ok(())
}

/// Sends `count` messages into `chat`, deleting every hundredth; returns
/// how many were deleted.
async fn fill(api: &Api, owner: &User, chat: &str, count: usize) -> anyhow::Result<usize> {
    let deletions: Vec<usize> = stream::iter(0..count)
        .map(|i| async move {
            let data = api
                .call(
                    Some(&owner.token),
                    "mutation($c: ID!, $b: String!) { sendMessage(input: {chatId: $c, body: $b}) { id } }",
                    json!({ "c": chat, "b": format!("m{i}") }),
                )
                .await?;
            if i % 100 != 99 {
                return Ok(0);
            }
            let id = data.pointer("/sendMessage/id").cloned().unwrap_or(Value::Null);
            api.call(
                Some(&owner.token),
                "mutation($m: ID!) { deleteMessage(messageId: $m) { id } }",
                json!({ "m": id }),
            )
            .await
            .context("deleting a message")?;
            anyhow::Ok(1)
        })
        .buffer_unordered(FILL_PARALLEL)
        .try_collect()
        .await?;
    Ok(deletions.into_iter().sum())
}

/// Asks for the reader's unread count `QUERIES` times after as many
/// warm-up queries, one at a time, checking each answer.
async fn time_queries(
    api: &Api,
    reader: &User,
    chat: &str,
    expected: i64,
) -> anyhow::Result<Latency> {
    let mut samples = Vec::with_capacity(QUERIES);
    for round in 0..QUERIES * 2 {
        let started = Instant::now();
        let data = api
            .call(
                Some(&reader.token),
                "query($c: ID!) { chat(id: $c) { unreadCount } }",
                json!({ "c": chat }),
            )
            .await?;
        let took = started.elapsed();
        let count = data.pointer("/chat/unreadCount").and_then(Value::as_i64);
        if count != Some(expected) {
            bail!("unreadCount is {count:?}, expected {expected}");
        }
        if round >= QUERIES {
            samples.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        }
    }
    Ok(Latency::of(samples))
}
