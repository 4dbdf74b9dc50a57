//! Redis lost its data: after it restarts empty, what pointed into the old
//! log (cursors) or at its users (tokens) is refused with a stable code.

use chat_server::store::Partition;
use serde_json::json;
use tokio::time::Instant;

use super::{MESSAGES, eventually, text};
use crate::helpers::{Account, Backend, PASSWORD, TestApp, error_code, unique_name};
use crate::ws_client::{SUB, next_event, subscribe};

/// After Redis restarts without its data, a cursor from the lost log is CURSOR_EXPIRED as a subscription's `after` and as `Chat.messages(before:)`, and a token of a lost user is UNAUTHENTICATED.
#[tokio::test]
async fn cursors_from_a_lost_redis_log_are_expired() {
    // Arrange: a cursor and a user, then Redis restarted empty.
    let mut app = TestApp::spawn(Backend::Redis).await;
    let ada = app.sign_up().await;
    let old_chat = app.create_chat(&ada, &[]).await;
    let old_cursor = text(&app.send(&ada, &old_chat, "lost").await, "cursor");
    let old_epoch = app.store.epoch(Partition::FIRST).await.unwrap();
    let redis = app.redis.as_mut().unwrap();
    redis.kill();
    redis.restart().await;
    let lost_at = Instant::now();
    let zed = eventually("a sign-up after the restart", || async {
        let response = app.sign_up_response(&unique_name("zed"), PASSWORD).await;
        let payload = &response["data"]["signUp"];
        payload.is_object().then(|| Account {
            token: text(payload, "token"),
            id: text(&payload["user"], "id"),
            username: text(&payload["user"], "username"),
        })
    })
    .await;
    let recovered = lost_at.elapsed();
    let chat = app.create_chat(&zed, &[]).await;
    let fresh = text(&app.send(&zed, &chat, "new").await, "cursor");

    // Act
    let old_page = app
        .history_response(&zed, &chat, Some(100), Some(&old_cursor))
        .await;
    let fresh_page = app
        .history_response(&zed, &chat, Some(100), Some(&fresh))
        .await;
    let mut ws = subscribe(&app, &zed, MESSAGES, json!({ "a": old_cursor })).await;
    let old_subscription = ws.expect_error(SUB).await;
    ws.subscribe(SUB, MESSAGES, json!({ "a": fresh })).await;
    app.send(&zed, &chat, "after").await;
    let fresh_delivery = next_event(&mut ws).await;
    let lost_me = app
        .graphql(Some(&ada.token), "{ me { id } }", json!({}))
        .await;

    // Assert
    assert_ne!(
        app.store.epoch(Partition::FIRST).await.unwrap(),
        old_epoch,
        "the new log kept the old epoch"
    );
    assert_eq!(error_code(&old_page), "CURSOR_EXPIRED", "{old_page}");
    assert!(old_page["data"]["chat"].is_null(), "{old_page}");
    assert!(
        fresh_page["errors"].is_null(),
        "a fresh cursor failed: {fresh_page}"
    );
    assert_eq!(
        old_subscription[0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{old_subscription}"
    );
    assert_eq!(text(&fresh_delivery, "body"), "after");
    assert_eq!(error_code(&lost_me), "UNAUTHENTICATED", "{lost_me}");
    eprintln!(
        "scale_out lost data: server usable {recovered:?} after the empty restart; old cursor: history {}, subscription {}; old token: {}",
        error_code(&old_page),
        old_subscription[0]["extensions"]["code"],
        error_code(&lost_me)
    );
}
