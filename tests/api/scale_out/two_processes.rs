//! Two processes, one Redis: one deployment of two servers acts as one
//! service, whichever process a client talks to. The same scenario runs on
//! two servers inside the test's process and on two `chat-server`
//! processes started as a deployment would start them.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{bodies, subscribe_messages, text};
use crate::binary::Binary;
use crate::helpers::{Backend, Endpoint, TEST_SECRET, TestApp, own_prefix};
use crate::redis_cluster::RedisCluster;
use crate::redis_server::RedisServer;
use crate::ws_client::{next_event, next_events};

/// Two servers on one Redis act as one service (see [`one_service`]): both
/// in this process, sharing one configuration.
#[tokio::test]
async fn two_processes_sharing_a_redis_serve_one_event_stream() {
    let a = TestApp::spawn(Backend::Redis).await;
    let b = TestApp::spawn_sharing(&a).await;
    one_service(&a, &b, "in-process").await;
}

/// The same with two real `chat-server` processes: the same `REDIS_URL`
/// and `JWT_SECRET`, each on its own `LISTEN_ADDR`. Both processes are
/// killed on drop, before the Redis they use, even when the test fails.
#[tokio::test]
async fn two_chat_server_processes_sharing_a_redis_serve_one_event_stream() {
    let redis = RedisServer::start().await;
    let env = [
        ("REDIS_URL", redis.url()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
    ];
    let a = Binary::start(&env, false).await;
    let b = Binary::start(&env, false).await;
    assert_ne!(a.address, b.address);
    one_service(&a.endpoint(), &b.endpoint(), "chat-server processes").await;
}

/// The same with two `chat-server` processes on a Redis Cluster (the
/// shared local one, 3 primaries) with the log in 16 partitions.
#[tokio::test]
async fn two_chat_server_processes_on_a_cluster_serve_one_event_stream() {
    let cluster = RedisCluster::shared();
    let env = [
        ("REDIS_URL", cluster.url.clone()),
        ("REDIS_KEY_PREFIX", own_prefix()),
        ("LOG_PARTITIONS", "16".to_owned()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
    ];
    let a = Binary::start(&env, false).await;
    let b = Binary::start(&env, false).await;
    one_service(
        &a.endpoint(),
        &b.endpoint(),
        "chat-server processes on a cluster",
    )
    .await;
    all_chats_resume_across(&a.endpoint(), &b.endpoint()).await;
}

/// An all-chats subscription on A over chats in several partitions; the
/// client leaves with its last (feed) cursor while messages go on in every
/// chat through both processes, and comes back on B: it gets exactly what
/// it missed, each chat in order, then live messages.
async fn all_chats_resume_across(a: &Endpoint, b: &Endpoint) {
    // Arrange: eight chats (spread over the 16 partitions), a reader in all.
    let reader = a.sign_up().await;
    let mut chats = Vec::new();
    for _ in 0..8 {
        let owner = a.sign_up().await;
        chats.push((a.create_chat(&owner, &[&reader]).await, owner));
    }
    let mut on_a = subscribe_messages(a, &reader, None, None).await;
    // Probes until one arrives prove the subscription is live (a probe
    // sent before it opened is rightly not delivered); a late one is
    // drained.
    let (probe_chat, probe_owner) = &chats[0];
    let mut probes = 0;
    while probes < 20 {
        a.send(probe_owner, probe_chat, "probe").await;
        probes += 1;
        if on_a.recv_within(Duration::from_millis(300)).await.is_some() {
            break;
        }
    }
    while on_a.recv_within(Duration::from_millis(300)).await.is_some() {}
    assert!(probes < 20, "the all-chats subscription never went live");
    for (chat, owner) in &chats {
        a.send(owner, chat, "before").await;
    }
    let before = next_events(&mut on_a, chats.len()).await;
    let cursor = text(&before[chats.len() - 1], "cursor");
    drop(on_a);

    // Act: two more per chat, through A and through B, while away; then
    // back on B with the feed cursor, and one live message.
    for (i, (chat, owner)) in chats.iter().enumerate() {
        let via = if i % 2 == 0 { a } else { b };
        via.send(owner, chat, "missed 1").await;
        via.send(owner, chat, "missed 2").await;
    }
    let mut on_b = subscribe_messages(b, &reader, None, Some(&cursor)).await;
    let missed = next_events(&mut on_b, 2 * chats.len()).await;
    a.send(probe_owner, probe_chat, "live").await;
    let live = next_event(&mut on_b).await;

    // Assert: exactly the missed ones, each chat's in order, then live.
    for (chat, _) in &chats {
        let in_chat: Vec<String> = missed
            .iter()
            .filter(|m| text(m, "chatId") == *chat)
            .map(|m| text(m, "body"))
            .collect();
        assert_eq!(in_chat, ["missed 1", "missed 2"], "chat {chat}");
    }
    assert_eq!(text(&live, "body"), "live");
    on_b.expect_silence(Duration::from_millis(300)).await;
    eprintln!(
        "scale_out all-chats resume across processes on a cluster: {} missed in {} chats, then live, 0 duplicates",
        missed.len(),
        chats.len()
    );
}

/// A's messages reach B's subscribers live, A's tokens work on B, and a
/// client resuming on B with its last cursor from A gets exactly what it
/// missed, then live messages from both. Prints its figures under `label`.
async fn one_service(a: &Endpoint, b: &Endpoint, label: &str) {
    // Arrange: accounts and chat made on A.
    let (ada, bob) = (a.sign_up().await, a.sign_up().await);
    let chat = a.create_chat(&ada, &[&bob]).await;
    let m0 = a.send(&ada, &chat, "m0").await;
    let after_m0 = text(&m0, "cursor");
    // A watcher on B for the whole test, and the client that will move: on A.
    let mut watcher = subscribe_messages(b, &bob, Some(&chat), Some(&after_m0)).await;
    let mut mover = subscribe_messages(a, &bob, Some(&chat), Some(&after_m0)).await;

    // Act 1: a token A issued, used on B.
    let me = b
        .graphql(Some(&ada.token), "{ me { id } }", json!({}))
        .await;

    // Act 2: messages sent through A. m1 proves the watcher's feed is open,
    // so m2, appended after that, can only reach it through B's consumer.
    let mut sent = vec![a.send(&ada, &chat, "m1").await];
    let m1_on_b = next_event(&mut watcher).await;
    sent.push(a.send(&ada, &chat, "m2").await);
    let sent_at = Instant::now();
    let m2_on_b = next_event(&mut watcher).await;
    let a_to_b = sent_at.elapsed();
    let seen_on_a = next_events(&mut mover, 2).await;
    let last_cursor = text(&seen_on_a[1], "cursor");
    drop(mover);

    // Act 3: five more through A while the client is away; it comes back
    // on B with its last cursor; then one more through each process (the
    // one through B with A's token).
    for i in 3..=7 {
        sent.push(a.send(&ada, &chat, &format!("m{i}")).await);
    }
    let mut resumed = subscribe_messages(b, &bob, Some(&chat), Some(&last_cursor)).await;
    let missed = next_events(&mut resumed, 5).await;
    sent.push(a.send(&ada, &chat, "m8").await);
    sent.push(b.send(&ada, &chat, "m9").await);
    let live = next_events(&mut resumed, 2).await;
    let watched = next_events(&mut watcher, 7).await;

    // Assert
    assert_eq!(me["data"]["me"]["id"], ada.id.as_str(), "{me}");
    assert_eq!(
        m1_on_b,
        json!({ "chatId": chat, "body": "m1", "cursor": sent[0]["cursor"] })
    );
    assert_eq!(
        m2_on_b,
        json!({ "chatId": chat, "body": "m2", "cursor": sent[1]["cursor"] })
    );
    assert_eq!(bodies(&seen_on_a), ["m1", "m2"]);
    assert_eq!(bodies(&missed), ["m3", "m4", "m5", "m6", "m7"]);
    assert_eq!(bodies(&live), ["m8", "m9"]);
    assert_eq!(bodies(&watched), ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    // One cursor per message whichever process printed it.
    let sent_cursors: Vec<String> = sent[2..].iter().map(|m| text(m, "cursor")).collect();
    let resumed_cursors: Vec<String> = missed
        .iter()
        .chain(&live)
        .map(|m| text(m, "cursor"))
        .collect();
    assert_eq!(resumed_cursors, sent_cursors);
    resumed.expect_silence(Duration::from_millis(300)).await;
    watcher.expect_silence(Duration::from_millis(300)).await;
    eprintln!(
        "scale_out two processes ({label}): A→B live delivery {a_to_b:?}; resumed on B: {} missed + {} live, 0 duplicates; watcher on B: {} messages",
        missed.len(),
        live.len(),
        watched.len() + 2
    );
}
