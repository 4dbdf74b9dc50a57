//! Typing and presence between processes sharing one Redis, and through
//! faults: a process killed without closing its sockets, Redis restarted.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    connect, next_presence, next_typists, set_typing, typing, watch_presence, watch_typing,
};
use crate::binary::Binary;
use crate::helpers::{Endpoint, TEST_SECRET, TestApp};
use crate::redis_server::RedisServer;

/// Two real `chat-server` processes on one Redis, with presence holds
/// lasting `expiry_ms` and renewed every `heartbeat_ms`.
async fn two_binaries(redis: &RedisServer, heartbeat_ms: u64, expiry_ms: u64) -> (Binary, Binary) {
    let env = [
        ("REDIS_URL", redis.url()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
        ("PRESENCE_HEARTBEAT_MS", heartbeat_ms.to_string()),
        ("PRESENCE_EXPIRY_MS", expiry_ms.to_string()),
        ("RATE_CREATE_CHAT", "off".to_owned()),
    ];
    (
        Binary::start(&env, false).await,
        Binary::start(&env, false).await,
    )
}

/// Typing set through A reaches a watcher on B, and a connection on A
/// shows its user online and then offline to a watcher on B.
#[tokio::test]
async fn typing_and_presence_cross_between_two_processes() {
    // Arrange
    let redis = RedisServer::start().await;
    let (a, b) = two_binaries(&redis, 10_000, 30_000).await;
    let (a, b): (Endpoint, Endpoint) = (a.endpoint(), b.endpoint());
    let (ada, bob) = (a.sign_up().await, a.sign_up().await);
    let chat = a.create_chat(&ada, &[&bob]).await;
    let mut typists = watch_typing(&b, &bob, &chat).await;
    let mut people = watch_presence(&b, &bob, &[&ada.id]).await;
    assert!(next_typists(&mut typists).await.is_empty());
    assert!(!next_presence(&mut people).await.1);

    // Act
    let typed = Instant::now();
    typing(&a, &ada, &chat, true).await;
    let seen_typing = next_typists(&mut typists).await;
    let typing_took = typed.elapsed();
    let socket = connect(&a, &ada).await;
    let online = next_presence(&mut people).await;
    socket.close().await;
    let offline = next_presence(&mut people).await;

    // Assert
    assert_eq!(seen_typing, vec![ada.id.clone()]);
    assert!(typing_took < Duration::from_secs(1), "took {typing_took:?}");
    assert!(online.1);
    assert!(!offline.1);
    assert!(offline.2.is_string());
}

/// The process holding a user's only connection is killed (SIGKILL, no
/// close): a watcher on the other process sees the user go offline once
/// the hold's expiry passes, and not long before. While the process lives,
/// its heartbeats keep the user online past the expiry.
#[tokio::test]
async fn a_killed_process_lets_its_users_go_offline_within_the_expiry() {
    // Arrange
    let redis = RedisServer::start().await;
    let (mut a, b) = two_binaries(&redis, 200, 1_500).await;
    let (on_a, on_b) = (a.endpoint(), b.endpoint());
    let (ada, bob) = (on_a.sign_up().await, on_a.sign_up().await);
    on_a.create_chat(&ada, &[&bob]).await;
    let mut people = watch_presence(&on_b, &bob, &[&ada.id]).await;
    assert!(!next_presence(&mut people).await.1);
    let _socket = connect(&on_a, &ada).await;
    assert!(next_presence(&mut people).await.1);
    people.expect_silence(Duration::from_millis(3_000)).await;

    // Act
    let killed = Instant::now();
    a.kill();
    let message = people
        .recv_within(Duration::from_millis(4_500))
        .await
        .expect("the user never went offline");
    let took = killed.elapsed();

    // Assert
    let change = &message["payload"]["data"]["presence"];
    assert_eq!(change["online"], false, "{message}");
    assert!(change["lastSeenAt"].is_string());
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_secs(3),
        "offline {took:?} after the kill, with a 1.5 s expiry renewed every 0.2 s"
    );
}

/// Redis killed and restarted: the subscriptions stay open, and once it
/// is back, typing and presence reach them again by themselves (the
/// process listens again and its watchers read again).
#[tokio::test]
async fn typing_and_presence_recover_after_redis_restarts() {
    // Arrange
    let mut app = TestApp::spawn_durable().await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let mut typists = watch_typing(&app, &bob, &chat).await;
    let mut people = watch_presence(&app, &bob, &[&ada.id]).await;
    assert!(next_typists(&mut typists).await.is_empty());
    assert!(!next_presence(&mut people).await.1);
    let socket = connect(&app, &ada).await;
    assert!(next_presence(&mut people).await.1);

    // Act
    let redis = app.redis.as_mut().expect("a private Redis");
    redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = set_typing(&app, &ada, &chat, true).await;
        if response["data"]["setTyping"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "setTyping kept failing: {response}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let typing_after = next_typists(&mut typists).await;
    socket.close().await;
    let offline_after = next_presence(&mut people).await;

    // Assert
    assert_eq!(typing_after, vec![ada.id.clone()]);
    assert!(!offline_after.1);
}
