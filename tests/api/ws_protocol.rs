//! The WebSocket transport at `/ws`, connection level: subprotocol choice,
//! authentication at connection_init, close codes, keepalive, limits and
//! shutdown. Operations over the socket are in `ws_operations`.
//!
//! The transport is the same on both backends, so these run on memory.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TEST_SECRET, TestApp, mint_token, now_secs};
use crate::ws_client::{WsClient, WsProtocol};

const ME: &str = "{ me { username } }";

#[tokio::test]
async fn each_protocol_is_chosen_when_offered_and_echoed() {
    // Proves: the offered subprotocol is named in the response (the client's
    // handshake checks it) and the socket then speaks it.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    for protocol in [WsProtocol::TransportWs, WsProtocol::Legacy] {
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        let result = client.execute("1", ME, json!({})).await;
        assert_eq!(result["data"]["me"]["username"], user.username.as_str());
    }
}

#[tokio::test]
async fn without_a_known_offer_the_socket_speaks_graphql_transport_ws() {
    // Proves: no header or an unknown protocol gets graphql-transport-ws,
    // named in the response only when offered; both offered gets it too.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    for (offer, named) in [
        (None, None),
        (Some("graphql-sse"), None),
        (
            Some("graphql-ws, graphql-transport-ws"),
            Some("graphql-transport-ws"),
        ),
    ] {
        let mut client = WsClient::connect_offering(&app, offer).await;
        assert_eq!(client.accepted.as_deref(), named, "offer {offer:?}");
        client.init(&user.token).await;
        client.send(json!({ "type": "ping" })).await;
        assert_eq!(client.recv().await, json!({ "type": "pong" }));
    }
}

#[tokio::test]
async fn every_init_payload_shape_authenticates() {
    // Proves: the token is found in each shape the contract names.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let bearer = format!("Bearer {}", user.token);
    for payload in [
        json!({ "authorization": bearer }),
        json!({ "Authorization": bearer }),
        json!({ "headers": { "Authorization": bearer } }),
        json!({ "headers": { "authorization": bearer } }),
    ] {
        let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
        client.init_with(payload.clone()).await;
        client.expect_type("connection_ack").await;
        let result = client.execute("1", ME, json!({})).await;
        assert_eq!(result["data"]["me"]["username"], user.username.as_str());
    }
}

#[tokio::test]
async fn a_missing_or_bad_token_closes_with_4403_and_delivers_nothing() {
    // Proves: every refused init closes 4403 "Forbidden" with no message
    // before it (legacy: only connection_error).
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let later = now_secs() + 3600;
    let refused = [
        Value::Null,
        json!({}),
        json!({ "authorization": "Bearer not-a-token" }),
        json!({ "authorization": user.token }),
        json!({ "authorization": format!("Bearer {}", mint_token(&user.id, later, "another secret")) }),
        json!({ "authorization": format!("Bearer {}", mint_token(&user.id, now_secs() - 60, TEST_SECRET)) }),
    ];
    for payload in refused {
        let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
        client.init_with(payload.clone()).await;
        assert_eq!(client.expect_close(4403).await, "Forbidden", "{payload}");

        let mut legacy = WsClient::connect(&app, WsProtocol::Legacy).await;
        legacy.init_with(payload.clone()).await;
        let error = legacy.expect_type("connection_error").await;
        assert_eq!(error["payload"]["message"], "Forbidden");
        assert_eq!(legacy.expect_close(4403).await, "Forbidden", "{payload}");
    }
}

#[tokio::test]
async fn the_socket_closes_with_4403_when_the_token_expires() {
    // Proves: a token that expires while the socket is open ends it with 4403.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let token = mint_token(&user.id, now_secs() + 2, TEST_SECRET);
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    let acked = Instant::now();
    client.init(&token).await;
    client.execute("1", ME, json!({})).await;
    assert_eq!(client.expect_close(4403).await, "Forbidden");
    assert!(
        acked.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
}

#[tokio::test]
async fn no_connection_init_in_time_closes_with_4408() {
    // Proves: WS_INIT_TIMEOUT_MS bounds how long a socket stays unauthenticated.
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_init_timeout_ms = 300).await;
    let started = Instant::now();
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    let reason = client.expect_close(4408).await;
    assert_eq!(reason, "Connection initialisation timeout");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn protocol_violations_close_with_their_codes() {
    // Proves: a second init is 4429, an operation before the ack 4401.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;

    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&user.token).await;
    client.send_token(&user.token).await;
    assert_eq!(
        client.expect_close(4429).await,
        "Too many initialisation requests"
    );

    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.subscribe("1", ME, json!({})).await;
    assert_eq!(client.expect_close(4401).await, "Unauthorized");
}

#[tokio::test]
async fn malformed_messages_close_with_4400() {
    // Proves: unparseable JSON, binary frames, unknown or incomplete
    // messages (and graphql-transport-ws messages on legacy) are 4400.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    for (protocol, text) in [
        (WsProtocol::TransportWs, "not json"),
        (WsProtocol::TransportWs, r#"{"type":"bogus"}"#),
        (
            WsProtocol::TransportWs,
            r#"{"type":"subscribe","payload":{"query":"{ me { id } }"}}"#,
        ),
        (WsProtocol::TransportWs, r#"{"id":"1"}"#),
        (WsProtocol::Legacy, r#"{"type":"ping"}"#),
    ] {
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        client.send_text(text).await;
        let reason = client.expect_close(4400).await;
        assert!(
            reason.starts_with("Invalid message received"),
            "{text}: {reason}"
        );
    }
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.send_binary(b"{\"type\":\"ping\"}".to_vec()).await;
    assert_eq!(
        client.expect_close(4400).await,
        "Binary messages are not supported"
    );
}

#[tokio::test]
async fn an_oversize_message_closes_the_socket_and_the_server_stays_up() {
    // Proves: WS_MAX_MESSAGE_BYTES is enforced and costs only that socket.
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_max_message_bytes = 1024).await;
    let user = app.sign_up().await;
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&user.token).await;
    let query = format!("{{ me {{ username }} }} # {}", "x".repeat(2048));
    client.subscribe("1", &query, json!({})).await;
    client.expect_closed().await;

    let health = app.get("/health").await;
    assert_eq!(health.status(), 200);
    let mut again = WsClient::connect(&app, WsProtocol::TransportWs).await;
    again.init(&user.token).await;
}

#[tokio::test]
async fn ping_is_answered_with_its_payload_and_pong_is_ignored() {
    // Proves: ping works before and after the ack, echoing any payload;
    // a client pong gets no answer.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client
        .send(json!({ "type": "ping", "payload": { "n": 1 } }))
        .await;
    assert_eq!(
        client.recv().await,
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
    client.init(&user.token).await;
    client
        .send(json!({ "type": "pong", "payload": { "n": 2 } }))
        .await;
    client.expect_silence(Duration::from_millis(300)).await;
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.recv().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn the_server_keeps_acknowledged_sockets_alive() {
    // Proves: WS_KEEPALIVE_MS sends `ping` (graphql-transport-ws) or `ka`
    // (legacy, also right after the ack), repeatedly.
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_keepalive_ms = 200).await;
    let user = app.sign_up().await;

    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.see_keepalives();
    client.init(&user.token).await;
    for _ in 0..2 {
        assert_eq!(client.recv().await, json!({ "type": "ping" }));
        client.send(json!({ "type": "pong" })).await;
    }

    let mut legacy = WsClient::connect(&app, WsProtocol::Legacy).await;
    legacy.see_keepalives();
    legacy.init(&user.token).await;
    for _ in 0..3 {
        assert_eq!(legacy.recv().await, json!({ "type": "ka" }));
    }
}

#[tokio::test]
async fn legacy_connection_terminate_closes_the_socket() {
    // Proves: the legacy client's goodbye is honoured with a normal close.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let mut client = WsClient::connect(&app, WsProtocol::Legacy).await;
    client.init(&user.token).await;
    client.send(json!({ "type": "connection_terminate" })).await;
    client.expect_close(1000).await;
}

#[tokio::test]
async fn server_shutdown_closes_sockets_with_1001() {
    // Proves: shutdown reaches upgraded sockets, which axum's graceful
    // shutdown alone does not.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let mut waiting = WsClient::connect(&app, WsProtocol::TransportWs).await;
    let mut client = WsClient::connect(&app, WsProtocol::Legacy).await;
    client.init(&user.token).await;
    drop(app);
    assert_eq!(client.expect_close(1001).await, "Server shutting down");
    assert_eq!(waiting.expect_close(1001).await, "Server shutting down");
}
