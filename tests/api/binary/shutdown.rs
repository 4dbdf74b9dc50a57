//! The binary under SIGTERM, as an orchestrator stops it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::Binary;
use crate::helpers::{PASSWORD, unique_name};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An acknowledged graphql-transport-ws socket running one subscription.
async fn open_subscription(address: &str, token: &str) -> Socket {
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { messageCreated { id } }" } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    socket
}

/// The code of the close frame `socket` receives next (skipping messages),
/// failing on anything else within 5 s.
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no close frame within 5 s")
            .expect("the socket ended without a close frame")
            .expect("socket error before the close frame");
        if let Message::Close(frame) = frame {
            return u16::from(frame.expect("a close frame without a code").code);
        }
    }
}

/// How many live subscriptions the binary holds when it is stopped: enough
/// that closing them takes longer than the HTTP side's drain.
const SOCKETS: usize = 200;

/// On SIGTERM the binary closes every open subscription socket with 1001
/// and exits by itself, promptly and successfully.
#[tokio::test]
async fn sigterm_closes_every_socket_with_1001_and_exits() {
    // Arrange: the real binary with many live subscriptions.
    // Every socket belongs to one test user.
    let env = [("WS_MAX_SOCKETS_PER_USER", SOCKETS.to_string())];
    let mut server = Binary::start(&env, false).await;
    let token = server.endpoint().sign_up().await.token;
    let address = server.address.clone();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(open_subscription(&address, &token).await);
    }

    // Act
    server.terminate();
    let signalled = Instant::now();

    // Assert: each socket gets a 1001 close frame, and the process exits 0.
    for mut socket in sockets {
        assert_eq!(close_code(&mut socket).await, 1001);
    }
    let status = server.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    eprintln!(
        "shutdown: {SOCKETS} sockets closed with 1001, exited in {:?}",
        signalled.elapsed()
    );
}

/// With a drain period, a stopping process tells load balancers it is not
/// ready and refuses new sockets, while it still answers requests (an
/// in-flight sign-up completes), then exits.
#[tokio::test]
async fn during_the_drain_ready_is_503_upgrades_are_refused_and_requests_finish() {
    // Arrange
    let env = [("SHUTDOWN_DRAIN_MS", "1500".to_owned())];
    let mut server = Binary::start(&env, false).await;
    let endpoint = server.endpoint();
    let token = endpoint.sign_up().await.token;
    let mut socket = open_subscription(&server.address, &token).await;

    // Act: a slow request (password hashing) under way as the signal lands.
    let in_flight = tokio::spawn(async move {
        endpoint
            .sign_up_response(&unique_name("late"), PASSWORD)
            .await
    });
    server.terminate();
    let signalled = Instant::now();

    // Assert
    assert_eq!(close_code(&mut socket).await, 1001);
    let ready = server.endpoint().get("/ready").await;
    assert_eq!(ready.status(), 503);
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.address)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("an upgrade during the drain was not refused with 503: {other:?}"),
    }
    let signed_up = in_flight.await.unwrap();
    assert!(
        signed_up["data"]["signUp"]["token"].is_string(),
        "{signed_up}"
    );
    let status = server.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "exited before the drain ended"
    );
}
