//! Fan-out to many subscribers: 200 sockets over 20 chats, 1,000 messages
//! from 10 concurrent senders, and each socket gets exactly its chat's.
//!
//! The tests, `memory` and `redis`, run on two worker threads: the server,
//! 200 sockets and 10 senders are too much work for the single thread of a
//! plain `#[tokio::test]` to finish in a few seconds.

use std::time::Duration;

use chat_server::auth::Tokens;
use chat_server::cursor::Cursor;
use chat_server::domain::{SessionId, Username};
use futures_util::future::join_all;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{PATIENCE, bodies, join_within, logged_bodies, subscribe_messages};
use crate::helpers::{Account, Backend, TEST_SECRET, TestApp, unique_name};
use crate::ws_client::{WsClient, next_events};

const CHATS: usize = 20;
const MEMBERS: usize = 10;
const MESSAGES_SENT: usize = 1_000;
const SENDERS: usize = 10;

/// A user made directly in the store, with a token minted from the test
/// secret: signing up hundreds over HTTP would spend seconds in argon2,
/// which these tests are not about. The contract accepts any token signed
/// with the shared secret.
async fn quick_account(app: &TestApp, tokens: &Tokens) -> Account {
    let username = unique_name("fan");
    let name = Username::parse(&username).expect("a valid username");
    let user = app
        .store
        .create_user(&name, "not-a-real-hash")
        .await
        .expect("create_user");
    Account {
        token: tokens
            .issue(&user.id, &SessionId::generate())
            .expect("a token")
            .token,
        id: user.id.to_string(),
        username,
    }
}

/// 200 subscribers (one socket each) over 20 chats of 10, 1,000 messages from 10 concurrent senders: each subscriber receives exactly its chat's messages, each once, in log order, and nothing else.
async fn fan_out_to_200_subscribers_is_exact(backend: Backend) {
    // Arrange: 200 users, 20 chats of 10, one socket per user resuming
    // after the last chat was created.
    let began = Instant::now();
    let app = TestApp::spawn(backend).await;
    let app = &app;
    let tokens = Tokens::new(TEST_SECRET.as_bytes(), Duration::from_secs(3_600)).unwrap();
    let users: Vec<Account> =
        join_all((0..CHATS * MEMBERS).map(|_| quick_account(app, &tokens))).await;
    let groups: Vec<&[Account]> = users.chunks(MEMBERS).collect();
    let chats: Vec<String> = join_all(groups.iter().map(|group| {
        let others: Vec<&Account> = group[1..].iter().collect();
        async move { app.create_chat(&group[0], &others).await }
    }))
    .await;
    let head = app.log_head().await;
    let epochs = app.store.epochs().await.unwrap();
    let after = Cursor::feed(&epochs, &head);
    let sockets = join_all(
        users
            .iter()
            .map(|user| subscribe_messages(app, user, None, Some(&after))),
    )
    .await;
    let per_chat = MESSAGES_SENT / CHATS;
    let readers: Vec<JoinHandle<(Vec<Value>, WsClient)>> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move { (next_events(&mut socket, per_chat).await, socket) })
        })
        .collect();
    let set_up = began.elapsed();

    // Act: message j goes to chat j % 20 from one of its members; sender
    // task t sends the j with j % 10 == t, one after another.
    let sending = Instant::now();
    join_all((0..SENDERS).map(|t| {
        let (groups, chats) = (&groups, &chats);
        async move {
            for j in (t..MESSAGES_SENT).step_by(SENDERS) {
                let chat = j % CHATS;
                let from = &groups[chat][(j / CHATS) % MEMBERS];
                app.send(from, &chats[chat], &format!("fan {j}")).await;
            }
        }
    }))
    .await;
    let sent_in = sending.elapsed();
    let mut received = Vec::with_capacity(readers.len());
    for reader in readers {
        received.push(join_within(reader, PATIENCE, "a subscriber").await);
    }
    let delivered_in = sending.elapsed();

    // Assert: per subscriber, exactly its chat's messages in log order,
    // then silence.
    let logged = logged_bodies(&app.events().await, &head);
    let expected_total: usize = (0..users.len())
        .map(|u| logged[&chats[u / MEMBERS]].len())
        .sum();
    let received_total: usize = received.iter().map(|(got, _)| got.len()).sum();
    for (u, (got, _)) in received.iter().enumerate() {
        let chat = &chats[u / MEMBERS];
        let wrong_chat = got.iter().filter(|m| m["chatId"] != chat.as_str()).count();
        assert_eq!(wrong_chat, 0, "subscriber {u} got messages of other chats");
        assert_eq!(
            bodies(got),
            logged[chat],
            "subscriber {u}: not its chat's messages in log order"
        );
    }
    join_all(
        received
            .iter_mut()
            .map(|(_, socket)| socket.expect_silence(Duration::from_millis(300))),
    )
    .await;
    eprintln!(
        "scale_out fan-out ({backend:?}): {} subscribers, {CHATS} chats, {MESSAGES_SENT} messages from {SENDERS} senders; deliveries expected {expected_total}, received {received_total}; set-up {set_up:?}, sent in {sent_in:?}, all delivered {delivered_in:?} after the first send",
        users.len()
    );
    assert_eq!(logged.values().map(Vec::len).sum::<usize>(), MESSAGES_SENT);
    assert_eq!(received_total, expected_total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    fan_out_to_200_subscribers_is_exact(Backend::Memory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    fan_out_to_200_subscribers_is_exact(Backend::Redis).await
}
