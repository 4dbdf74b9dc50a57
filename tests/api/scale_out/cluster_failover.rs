//! A Redis Cluster primary SIGKILLed under load, with writes confirmed by a
//! replica before they are acknowledged (`REDIS_WAIT_REPLICAS=1`) and the
//! log delivered from replicas: every acknowledged message reaches every
//! subscriber exactly once in its chat's order, nothing delivered vanishes
//! from history, and no cursor has to expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_server::cursor::Cursor;
use chat_server::domain::ChatId;
use futures_util::future::join_all;
use serde_json::Value;
use tokio::time::Instant;

use super::{PATIENCE, subscribe_messages, text, whole_history};
use crate::helpers::{Account, TestApp};
use crate::redis_cluster::RedisCluster;
use crate::ws_client::{WsClient, event};

/// Chats under load, one sender each, spread over the partitions.
const CHATS: usize = 6;
/// Partitions of the log (3 primaries: about one per node).
const PARTITIONS: u16 = 3;
/// How long senders keep sending.
const LOAD: Duration = Duration::from_secs(9);
/// When the primary is killed, from the start of the load.
const KILL_AT: Duration = Duration::from_secs(2);
/// How long the killed node stays down: its replica is promoted within
/// about 2-3 s; until the old node is back as the new primary's replica,
/// writes to that partition cannot be confirmed and fail.
const DOWN_FOR: Duration = Duration::from_secs(4);

/// What one subscriber received: bodies per chat in arrival order, and the
/// errors (a CURSOR_EXPIRED would be one).
#[derive(Default)]
struct Received {
    bodies: HashMap<String, Vec<String>>,
    errors: Vec<Value>,
}

/// Reads `client`'s `messageCreated` events into `into` until aborted.
fn read_into(mut client: WsClient, into: Arc<Mutex<Received>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Some(message) = client.recv_within(Duration::from_secs(1)).await else {
                continue;
            };
            let mut received = into.lock().unwrap();
            if message["type"] == "next" && message["payload"]["errors"].is_null() {
                let message = event(&message["payload"]);
                let chat = text(message, "chatId");
                received
                    .bodies
                    .entry(chat)
                    .or_default()
                    .push(text(message, "body"));
            } else {
                received.errors.push(message);
            }
        }
    })
}

/// One chat's sender: sends `<chat index>-<n>` with that as its client
/// message id, retrying a failed send with the same id until it is
/// acknowledged (so a write that failed yet survived is acknowledged once,
/// never sent twice). Returns the bodies acknowledged, in order, the
/// failed attempts, and each acknowledgement's time.
async fn send_load(
    app: &TestApp,
    sender: &Account,
    chat: &str,
    index: usize,
    start: Instant,
) -> (Vec<String>, usize, Vec<Instant>) {
    let (mut acked, mut failed, mut times) = (Vec::new(), 0, Vec::new());
    let mut n = 0;
    while start.elapsed() < LOAD {
        let body = format!("{index}-{n}");
        loop {
            let response = app.send_response(sender, chat, &body, Some(&body)).await;
            if response["data"]["sendMessage"]["body"] == body.as_str() {
                break;
            }
            failed += 1;
            assert!(
                start.elapsed() < LOAD + PATIENCE,
                "{body} was never acknowledged: {response}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        acked.push(body);
        times.push(Instant::now());
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (acked, failed, times)
}

/// A primary of a 3-primary cluster (one replica each) SIGKILLed while six senders send and subscribers of each chat and of all chats watch: every acknowledged message is delivered exactly once, in its chat's order, to each subscriber; history holds exactly the acknowledged messages; no subscription ends or expires; writes to the killed node's partition fail while it has no replica and then recover. Prints acked, failed, delivered, expired and the time to recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_under_load_loses_doubles_and_reorders_nothing() {
    // Arrange: chats spread over the partitions, a watcher in all of them,
    // and subscriptions resuming after a set-up message (exact from there).
    let cluster = RedisCluster::start(1);
    let app = TestApp::spawn_on(&cluster.url, |c| {
        c.log_partitions = PARTITIONS;
        c.redis_wait_replicas = 1;
        c.redis_wait_timeout_ms = 300;
    })
    .await;
    let watcher = app.sign_up().await;
    let mut senders = Vec::new();
    let mut chats = Vec::new();
    for _ in 0..CHATS {
        let sender = app.sign_up().await;
        chats.push(app.create_chat(&sender, &[&watcher]).await);
        senders.push(sender);
    }
    let mut readers = Vec::new();
    let mut per_chat = Vec::new();
    for (sender, chat) in senders.iter().zip(&chats) {
        let setup = app.send(sender, chat, "set-up").await;
        let received = Arc::new(Mutex::new(Received::default()));
        let client =
            subscribe_messages(&app, &watcher, Some(chat), Some(&text(&setup, "cursor"))).await;
        readers.push(read_into(client, received.clone()));
        per_chat.push(received);
    }
    let epochs = app.store.epochs().await.unwrap();
    let all_after = Cursor::feed(&epochs, &app.log_head().await);
    let everything = Arc::new(Mutex::new(Received::default()));
    let client = subscribe_messages(&app, &watcher, None, Some(&all_after)).await;
    readers.push(read_into(client, everything.clone()));
    let victim_chat = ChatId::parse(&chats[0]).unwrap();
    let victim = app.store.partition_of(&victim_chat);
    let victim_port = cluster.primary_of(&format!("p{victim}"));

    // Act: the load, and the kill of the primary of chat 0's partition.
    let start = Instant::now();
    let killer = {
        let cluster = &cluster;
        async move {
            tokio::time::sleep(KILL_AT).await;
            cluster.kill(victim_port);
            let killed = Instant::now();
            tokio::time::sleep(DOWN_FOR).await;
            cluster.restart(victim_port);
            killed
        }
    };
    let load = join_all(
        senders
            .iter()
            .zip(&chats)
            .enumerate()
            .map(|(index, (sender, chat))| send_load(&app, sender, chat, index, start)),
    );
    let (killed, sent) = tokio::join!(killer, load);

    // Assert: every subscriber gets exactly the acknowledged messages.
    let wanted: HashMap<&String, &Vec<String>> = chats
        .iter()
        .zip(sent.iter().map(|(acked, _, _)| acked))
        .collect();
    let complete = |received: &Received, only: Option<&String>| {
        wanted
            .iter()
            .filter(|(chat, _)| only.is_none_or(|only| only == **chat))
            .all(|(chat, acked)| received.bodies.get(*chat).map_or(0, Vec::len) >= acked.len())
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let done = chats
            .iter()
            .zip(&per_chat)
            .all(|(chat, r)| complete(&r.lock().unwrap(), Some(chat)))
            && complete(&everything.lock().unwrap(), None);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // room for a duplicate to show
    for reader in readers {
        reader.abort();
    }
    let mut delivered = 0;
    let mut expired = 0;
    for (chat, received) in chats
        .iter()
        .zip(&per_chat)
        .map(|(c, r)| (c, r.lock().unwrap()))
    {
        expired += received.errors.len();
        assert!(received.errors.is_empty(), "{chat}: {:?}", received.errors);
        assert_eq!(
            received.bodies.get(chat),
            Some(wanted[chat]),
            "the subscriber of {chat}"
        );
        delivered += wanted[chat].len();
    }
    let everything = everything.lock().unwrap();
    expired += everything.errors.len();
    assert!(everything.errors.is_empty(), "{:?}", everything.errors);
    for chat in &chats {
        assert_eq!(
            everything.bodies.get(chat),
            Some(wanted[chat]),
            "all chats, in {chat}"
        );
        delivered += wanted[chat].len();
    }
    for ((sender, chat), (acked, _, _)) in senders.iter().zip(&chats).zip(&sent) {
        let mut history = whole_history(&app, sender, chat).await;
        history.retain(|body| body != "set-up");
        assert_eq!(&history, acked, "history of {chat}");
    }

    // The figures.
    let acked: usize = sent.iter().map(|(acked, _, _)| acked.len()).sum();
    let failed: usize = sent.iter().map(|(_, failed, _)| failed).sum();
    let victims: Vec<usize> = (0..CHATS)
        .filter(|i| app.store.partition_of(&ChatId::parse(&chats[*i]).unwrap()) == victim)
        .collect();
    let recovered = victims
        .iter()
        .filter_map(|i| sent[*i].2.iter().find(|at| **at > killed))
        .map(|at| *at - killed)
        .max();
    eprintln!(
        "cluster failover: {acked} acked, {failed} failed attempts (retried), {delivered} delivered to {} subscribers, {expired} expired; partition {victim} ({} of {CHATS} chats) writable again {recovered:?} after the kill (down for {DOWN_FOR:?})",
        CHATS + 1,
        victims.len(),
    );
    assert!(
        failed > 0,
        "the kill failed no write: was the right node killed?"
    );
    assert!(
        recovered.is_some(),
        "no write to partition {victim} after the kill"
    );
}
