//! What one client can take from the WebSocket side: sockets per user,
//! sockets whose client vanished, and sockets that never authenticate.
//! Transport behaviour, the same on every backend: memory only.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::ws_client::{SUB, WsClient, WsProtocol, next_event, subscribe, vars};

const MESSAGES: &str = "subscription($chatId: ID, $after: String) { messageCreated(chatId: $chatId, after: $after) { body } }";

#[tokio::test]
async fn a_user_over_the_socket_limit_is_closed_with_1008() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_max_sockets_per_user = 2).await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let mut first = WsClient::connect_as(&app, WsProtocol::Legacy, &alice).await;
    let _second = WsClient::connect_as(&app, WsProtocol::TransportWs, &alice).await;

    // Act
    let mut third = WsClient::connect_presenting(&app, &alice.token).await;
    let reason = third.expect_close(1008).await;
    let _bobs = WsClient::connect_as(&app, WsProtocol::TransportWs, &bob).await;
    first.send(json!({ "type": "connection_terminate" })).await;
    first.expect_close(1000).await;
    let replacement = WsClient::connect_as(&app, WsProtocol::TransportWs, &alice).await;

    // Assert: refused over the limit, admitted again once a socket closed,
    // and other users unaffected (connect_as waits for each ack).
    assert!(reason.contains("at most 2"), "{reason}");
    drop(replacement);
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_dropped() {
    // Arrange: pings every 100 ms; 400 ms of silence means gone.
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.ws_keepalive_ms = 100;
        c.ws_peer_timeout_ms = 400;
    })
    .await;
    let user = app.sign_up().await;
    let mut vanished = WsClient::connect_as(&app, WsProtocol::Legacy, &user).await;
    let mut alive = WsClient::connect_as(&app, WsProtocol::TransportWs, &user).await;

    // Act: one client stops reading (so its WebSocket stack sends no pong);
    // the other keeps reading, which answers the pings.
    let quiet = tokio::time::sleep(Duration::from_millis(1500));
    let reading = alive.recv_within(Duration::from_millis(1500));
    let (_, received) = tokio::join!(quiet, reading);

    // Assert
    assert_eq!(received, None);
    tokio::time::timeout(Duration::from_secs(5), vanished.expect_closed())
        .await
        .expect("the silent client's socket was still open after 5 s");
    alive.send(json!({ "type": "ping" })).await;
    assert_eq!(alive.recv().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn sockets_that_never_authenticate_are_closed_and_starve_no_one() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_init_timeout_ms = 500).await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&alice, &[&bob]).await;

    let start = app.send(&alice, &chat, "before").await;
    let start = start["cursor"].as_str().unwrap();

    // Act: 300 sockets that upgrade and then say nothing, and meanwhile an
    // honest client that subscribes and receives.
    let idle = join_all((0..300).map(|_| WsClient::connect(&app, WsProtocol::TransportWs))).await;
    let mut honest = subscribe(&app, &bob, MESSAGES, vars(Some(&chat), Some(start))).await;
    app.send(&alice, &chat, "during").await;

    // Assert
    assert_eq!(next_event(&mut honest).await["body"], json!("during"));
    for mut socket in idle {
        socket.expect_close(4408).await;
    }
    honest.complete(SUB).await;
}
