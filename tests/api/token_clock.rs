//! One clock for tokens: HTTP, `connection_init` and the timer that closes
//! an open socket agree on when a token stops being valid — at its `exp`,
//! with no leeway on any path. The transport is the same on both backends,
//! so these run on memory.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, Endpoint, TEST_SECRET, TestApp, error_code, mint_token, now_secs};
use crate::ws_client::{WsClient, WsProtocol};

const ME: &str = "{ me { id } }";

/// Whether `{ me }` over HTTP accepts `token`.
async fn http_accepts(app: &Endpoint, token: &str) -> bool {
    let response: Value = app.graphql(Some(token), ME, json!({})).await;
    if response["errors"].is_null() {
        return true;
    }
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "{response}");
    false
}

/// A token with seconds left is accepted over HTTP and at connection_init.
#[tokio::test]
async fn just_before_its_exp_a_token_is_accepted_everywhere() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let token = mint_token(&ada.id, now_secs() + 3, TEST_SECRET);

    // Act
    let over_http = http_accepts(&app, &token).await;
    let mut socket = WsClient::connect_presenting(&app, &token).await;

    // Assert
    assert!(over_http, "HTTP refused a token with seconds left");
    socket.expect_type("connection_ack").await;
}

/// A token one second past its `exp` (inside the 5 s leeway HTTP once
/// allowed) and one long past are refused on both paths.
#[tokio::test]
async fn past_its_exp_a_token_is_refused_everywhere_even_by_a_second() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;

    for ago in [1, 4, 3600] {
        let token = mint_token(&ada.id, now_secs() - ago, TEST_SECRET);

        // Act
        let over_http = http_accepts(&app, &token).await;
        let mut socket = WsClient::connect_presenting(&app, &token).await;

        // Assert
        assert!(!over_http, "HTTP accepted a token {ago} s past its exp");
        socket.expect_close(4403).await;
    }
}

/// The socket is closed with 4403 when its token expires, and from that
/// moment HTTP and a new connection_init refuse the same token: a client
/// that reconnects on 4403 is not acknowledged and closed again.
#[tokio::test]
async fn when_the_socket_closes_at_exp_http_and_init_refuse_too() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let token = mint_token(&ada.id, now_secs() + 2, TEST_SECRET);
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&token).await;
    let acked = Instant::now();

    // Act
    client.expect_close(4403).await;
    let closed_after = acked.elapsed();
    let over_http = http_accepts(&app, &token).await;
    let mut again = WsClient::connect_presenting(&app, &token).await;

    // Assert
    assert!(
        closed_after >= Duration::from_millis(500),
        "closed {closed_after:?} after the ack, before the token's exp"
    );
    assert!(!over_http, "HTTP still accepts the token its socket lost");
    again.expect_close(4403).await;
}
