//! The real binary under SIGTERM, as an orchestrator stops it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{PASSWORD, TEST_SECRET, unique_name};
use crate::redis_server::free_port;

/// Stops the child if the test fails before it exits by itself.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `/health` until the binary serves.
async fn wait_until_serving(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the binary did not start serving"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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
    let address = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .env_remove("REDIS_URL")
        .env("LISTEN_ADDR", &address)
        .env("JWT_SECRET", TEST_SECRET)
        .env("RUST_LOG", "warn")
        // Every socket belongs to one test user.
        .env("WS_MAX_SOCKETS_PER_USER", SOCKETS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the binary");
    let mut server = Server(child);
    let http = reqwest::Client::new();
    let base = format!("http://{address}");
    wait_until_serving(&http, &base).await;
    let signed_up: Value = http
        .post(format!("{base}/graphql"))
        .json(&json!({
            "query": "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token } }",
            "variables": { "u": unique_name("term"), "p": PASSWORD }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_up["data"]["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
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
        sockets.push(socket);
    }

    // Act
    let terminated = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(terminated.success());
    let signalled = Instant::now();

    // Assert: each socket gets a 1001 close frame, and the process exits 0.
    for mut socket in sockets {
        let close = loop {
            let frame = timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("no close frame within 5 s")
                .expect("the socket ended without a close frame")
                .expect("socket error before the close frame");
            if let Message::Close(frame) = frame {
                break frame.expect("a close frame without a code");
            }
        };
        assert_eq!(u16::from(close.code), 1001, "{close:?}");
    }
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "the binary did not exit within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    eprintln!(
        "shutdown: {SOCKETS} sockets closed with 1001, exited in {:?}",
        signalled.elapsed()
    );
}
