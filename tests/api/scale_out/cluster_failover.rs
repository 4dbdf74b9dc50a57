//! A Redis Cluster primary SIGKILLed under load. With writes confirmed by
//! a replica before they are acknowledged (`REDIS_WAIT_REPLICAS=1`) and the
//! log delivered from replicas, every acknowledged message reaches every
//! subscriber exactly once in its chat's order, nothing delivered vanishes
//! from history, and no cursor has to expire. Without (the default), a
//! failover may lose acknowledged writes, so the killed partition's log is
//! renewed: its subscriptions end with CURSOR_EXPIRED and its old cursors
//! are refused, while the other partitions go on exactly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_server::cursor::Cursor;
use chat_server::domain::ChatId;
use chat_server::store::Partition;
use futures_util::future::join_all;
use serde_json::Value;
use tokio::time::Instant;

use super::{PATIENCE, subscribe_messages, text, whole_history};
use crate::helpers::{Account, TestApp, error_code};
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

/// What a failover run gave.
struct Run {
    app: TestApp,
    chats: Vec<String>,
    senders: Vec<Account>,
    /// Per chat: bodies acknowledged, failed attempts, acknowledgement times.
    sent: Vec<(Vec<String>, usize, Vec<Instant>)>,
    /// Per chat: its one subscriber's deliveries.
    per_chat: Vec<Arc<Mutex<Received>>>,
    /// The all-chats subscriber's deliveries.
    everything: Arc<Mutex<Received>>,
    /// The partitions the killed primary served (chat 0's and any other
    /// hashed to the same node), the chats in them, and when it died.
    victim: Vec<Partition>,
    victims: Vec<usize>,
    killed: Instant,
    /// A cursor into chat 0's partition from before the kill.
    old_cursor: String,
    _cluster: RedisCluster,
}

/// Chats spread over the partitions, a watcher in all of them with one
/// subscription per chat and one to all chats (each resuming after a set-up
/// message, so exact from there), senders for [`LOAD`], and the primary of
/// chat 0's partition SIGKILLed at [`KILL_AT`] and restarted [`DOWN_FOR`]
/// later. `wait_replicas` is the server's REDIS_WAIT_REPLICAS.
async fn failover_under_load(wait_replicas: u8) -> Run {
    let cluster = RedisCluster::start(1);
    let app = TestApp::spawn_on(&cluster.url, |c| {
        c.log_partitions = PARTITIONS;
        c.redis_wait_replicas = wait_replicas;
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
    let mut old_cursor = String::new();
    for (sender, chat) in senders.iter().zip(&chats) {
        let setup = app.send(sender, chat, "set-up").await;
        if old_cursor.is_empty() {
            old_cursor = text(&setup, "cursor");
        }
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
    let partition_of = |chat: &String| app.store.partition_of(&ChatId::parse(chat).unwrap());
    let victim_port = cluster.primary_of(&format!("p{}", partition_of(&chats[0])));
    let victim: Vec<Partition> = app
        .store
        .partitions()
        .all()
        .filter(|p| cluster.primary_of(&format!("p{p}")) == victim_port)
        .collect();
    let victims = (0..CHATS)
        .filter(|i| victim.contains(&partition_of(&chats[*i])))
        .collect();

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

    // Until every subscriber has every acknowledged message of its chats,
    // or has ended, or patience runs out; then a little longer, for a
    // duplicate to show.
    let wanted: Vec<usize> = sent.iter().map(|(acked, _, _)| acked.len()).collect();
    let settled = |received: &Received, only: Option<usize>| {
        !received.errors.is_empty()
            || (0..CHATS)
                .filter(|i| only.is_none_or(|only| only == *i))
                .all(|i| received.bodies.get(&chats[i]).map_or(0, Vec::len) >= wanted[i])
    };
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let done = (0..CHATS).all(|i| settled(&per_chat[i].lock().unwrap(), Some(i)))
            && settled(&everything.lock().unwrap(), None);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for reader in readers {
        reader.abort();
    }
    Run {
        app,
        chats,
        senders,
        sent,
        per_chat,
        everything,
        victim,
        victims,
        killed,
        old_cursor,
        _cluster: cluster,
    }
}

impl Run {
    /// How long after the kill the killed node's partitions took writes
    /// again.
    fn recovered(&self) -> Option<Duration> {
        self.victims
            .iter()
            .filter_map(|i| self.sent[*i].2.iter().find(|at| **at > self.killed))
            .map(|at| *at - self.killed)
            .max()
    }

    fn acked(&self, chat: usize) -> &Vec<String> {
        &self.sent[chat].0
    }

    /// Prints the figures under `label`.
    fn report(&self, label: &str, delivered: usize, expired: usize) {
        let acked: usize = self.sent.iter().map(|(acked, _, _)| acked.len()).sum();
        let failed: usize = self.sent.iter().map(|(_, failed, _)| failed).sum();
        eprintln!(
            "cluster failover ({label}): {acked} acked, {failed} failed attempts (retried), {delivered} delivered to {} subscribers, {expired} subscriptions expired; partitions {:?} ({} of {CHATS} chats) writable again {:?} after the kill (down for {DOWN_FOR:?})",
            CHATS + 1,
            self.victim,
            self.victims.len(),
            self.recovered(),
        );
    }
}

/// A primary of a 3-primary cluster (one replica each) SIGKILLed while six senders send and subscribers of each chat and of all chats watch, with REDIS_WAIT_REPLICAS=1: every acknowledged message is delivered exactly once, in its chat's order, to each subscriber; history holds exactly the acknowledged messages; no subscription ends or expires; writes to the killed node's partition fail while it has no replica and then recover. Prints acked, failed, delivered, expired and the time to recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replica_confirmations_a_failover_loses_doubles_and_reorders_nothing() {
    let run = failover_under_load(1).await;

    // Assert: every subscriber got exactly the acknowledged messages, and
    // history holds exactly them.
    let mut delivered = 0;
    for (i, chat) in run.chats.iter().enumerate() {
        let received = run.per_chat[i].lock().unwrap();
        assert!(received.errors.is_empty(), "{chat}: {:?}", received.errors);
        assert_eq!(
            received.bodies.get(chat),
            Some(run.acked(i)),
            "the subscriber of {chat}"
        );
        delivered += run.acked(i).len();
    }
    {
        let everything = run.everything.lock().unwrap();
        assert!(everything.errors.is_empty(), "{:?}", everything.errors);
        for (i, chat) in run.chats.iter().enumerate() {
            assert_eq!(
                everything.bodies.get(chat),
                Some(run.acked(i)),
                "all chats, in {chat}"
            );
            delivered += run.acked(i).len();
        }
    }
    for (i, (sender, chat)) in run.senders.iter().zip(&run.chats).enumerate() {
        let mut history = whole_history(&run.app, sender, chat).await;
        history.retain(|body| body != "set-up");
        assert_eq!(&history, run.acked(i), "history of {chat}");
    }
    let failed: usize = run.sent.iter().map(|(_, failed, _)| failed).sum();
    assert!(
        failed > 0,
        "the kill failed no write: was the right node killed?"
    );
    assert!(
        run.recovered().is_some(),
        "no write to the partition after the kill"
    );
    run.report("REDIS_WAIT_REPLICAS=1", delivered, 0);
}

/// The same failover with REDIS_WAIT_REPLICAS=0 (the default): the killed partition's log may have lost acknowledged writes, so nothing about it is left silent: its subscriptions (the chat's and the all-chats one) end with CURSOR_EXPIRED, and a cursor into it from before the kill is CURSOR_EXPIRED; the subscribers of the other partitions' chats get exactly their acknowledged messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_replica_confirmations_a_failover_expires_the_partition_never_a_silent_gap() {
    let run = failover_under_load(0).await;

    // Assert: the subscriptions of the killed node's partitions ended,
    // expired.
    let mut delivered = 0;
    let mut expired = 0;
    for (i, chat) in run.chats.iter().enumerate() {
        let received = run.per_chat[i].lock().unwrap();
        delivered += received.bodies.get(chat).map_or(0, Vec::len);
        if run.victims.contains(&i) {
            assert_eq!(
                code_of(&received.errors),
                Some("CURSOR_EXPIRED"),
                "{chat}: {:?}",
                received.errors
            );
            expired += 1;
            let bodies = received.bodies.get(chat).cloned().unwrap_or_default();
            assert_eq!(
                bodies,
                run.acked(i)[..bodies.len()],
                "before it ended, {chat}"
            );
        } else {
            assert!(received.errors.is_empty(), "{chat}: {:?}", received.errors);
            assert_eq!(
                received.bodies.get(chat),
                Some(run.acked(i)),
                "the subscriber of {chat}"
            );
        }
    }
    {
        let everything = run.everything.lock().unwrap();
        assert_eq!(
            code_of(&everything.errors),
            Some("CURSOR_EXPIRED"),
            "{:?}",
            everything.errors
        );
        expired += 1;
        delivered += everything.bodies.values().map(Vec::len).sum::<usize>();
    }

    // Assert: an old cursor into the partition is refused.
    let resumed = run
        .app
        .history_response(
            &run.senders[0],
            &run.chats[0],
            Some(1),
            Some(&run.old_cursor),
        )
        .await;
    assert_eq!(error_code(&resumed), "CURSOR_EXPIRED", "{resumed}");
    run.report("REDIS_WAIT_REPLICAS=0", delivered, expired);
}

/// The code a subscription ended with: a result carrying an error, then
/// `complete`, and nothing else.
fn code_of(ending: &[Value]) -> Option<&str> {
    match ending {
        [result, complete] if complete["type"] == "complete" => {
            result["payload"]["errors"][0]["extensions"]["code"].as_str()
        }
        _ => None,
    }
}
