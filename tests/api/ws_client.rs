//! A strict client of the server's two GraphQL-over-WebSocket protocols.
//!
//! It speaks graphql-transport-ws or the legacy graphql-ws over a real
//! tokio-tungstenite socket, and every wait has a timeout, so a server that
//! stays silent fails the test instead of hanging it. The `expect_*`
//! helpers fail on anything but exactly what they name. Server keepalives
//! (`ping`, answered with a `pong`, and `ka`) are skipped unless
//! [`WsClient::see_keepalives`] is called, so long tests are not tripped by
//! them.
//!
//! The tests of subscriptions share the helpers at the end: one operation
//! per socket, under the id [`SUB`], whose results are read as events.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{Account, Endpoint};
use crate::shape;

/// The longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// The subprotocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsProtocol {
    TransportWs,
    Legacy,
}

impl WsProtocol {
    pub fn name(self) -> &'static str {
        match self {
            WsProtocol::TransportWs => "graphql-transport-ws",
            WsProtocol::Legacy => "graphql-ws",
        }
    }
}

/// What the socket produced next, keepalives aside.
#[derive(Debug)]
enum Incoming {
    Message(Value),
    Close(Option<(u16, String)>),
    /// The stream ended or failed without a close frame.
    Ended(String),
}

/// A connected client.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: WsProtocol,
    /// The subprotocol the server named in its upgrade response.
    pub accepted: Option<String>,
    skip_keepalives: bool,
    /// The payload each running operation was started with, by id, so
    /// every result is checked against what it selected ([`shape::check`]).
    operations: HashMap<String, Value>,
}

impl WsClient {
    /// Connects offering `protocol` through tungstenite's own handshake,
    /// which also checks that the server names the offered subprotocol.
    pub async fn connect(app: &Endpoint, protocol: WsProtocol) -> WsClient {
        let mut request = ws_url(app).into_client_request().expect("a websocket url");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(protocol.name()),
        );
        let (socket, response) = within(connect_async(request), "the upgrade")
            .await
            .expect("upgrade failed");
        let accepted = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().expect("an ASCII subprotocol").to_owned());
        assert_eq!(accepted.as_deref(), Some(protocol.name()));
        WsClient {
            socket,
            protocol,
            accepted,
            skip_keepalives: true,
            operations: HashMap::new(),
        }
    }

    /// Connects offering `protocol` and authenticates as `viewer`: sends
    /// its token in connection_init and expects the ack.
    pub async fn connect_as(app: &Endpoint, protocol: WsProtocol, viewer: &Account) -> WsClient {
        let mut client = WsClient::connect(app, protocol).await;
        client.init(&viewer.token).await;
        client
    }

    /// Connects offering graphql-transport-ws and presents `token` in
    /// connection_init without waiting for the answer: for tests of what
    /// the server does with the token.
    pub async fn connect_presenting(app: &Endpoint, token: &str) -> WsClient {
        let mut client = WsClient::connect(app, WsProtocol::TransportWs).await;
        client.send_token(token).await;
        client
    }

    /// Connects with this `Sec-WebSocket-Protocol` header (or none), and
    /// speaks whichever protocol the server names (graphql-transport-ws when
    /// it names none). The handshake is written by hand, because
    /// tungstenite's own refuses an answer naming no protocol when one was
    /// offered, which is the right answer to an unknown offer.
    pub async fn connect_offering(app: &Endpoint, offer: Option<&str>) -> WsClient {
        let host = app.address.trim_start_matches("http://");
        let mut head = format!(
            "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {}\r\n",
            generate_key()
        );
        if let Some(offer) = offer {
            head.push_str(&format!("Sec-WebSocket-Protocol: {offer}\r\n"));
        }
        head.push_str("\r\n");
        let mut tcp = TcpStream::connect(host).await.expect("connect");
        tcp.write_all(head.as_bytes())
            .await
            .expect("write handshake");
        let response = within(read_head(&mut tcp), "the upgrade response").await;
        assert!(
            response.starts_with("HTTP/1.1 101"),
            "upgrade refused: {response}"
        );
        let accepted = response.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-protocol")
                .then(|| value.trim().to_owned())
        });
        let protocol = match accepted.as_deref() {
            Some("graphql-ws") => WsProtocol::Legacy,
            Some("graphql-transport-ws") | None => WsProtocol::TransportWs,
            Some(other) => panic!("the server chose an unknown subprotocol {other:?}"),
        };
        let socket =
            WebSocketStream::from_raw_socket(MaybeTlsStream::Plain(tcp), Role::Client, None).await;
        WsClient {
            socket,
            protocol,
            accepted,
            skip_keepalives: true,
            operations: HashMap::new(),
        }
    }

    /// From now on, server keepalives are returned like any other message.
    pub fn see_keepalives(&mut self) {
        self.skip_keepalives = false;
    }

    pub async fn send(&mut self, message: Value) {
        if let (Some("subscribe" | "start"), Some(id)) =
            (message["type"].as_str(), message["id"].as_str())
        {
            self.operations
                .insert(id.to_owned(), message["payload"].clone());
        }
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        let sent = self.socket.send(Message::text(text));
        within(sent, "a send").await.expect("send failed");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let sent = self.socket.send(Message::Binary(Bytes::from(bytes)));
        within(sent, "a send").await.expect("send failed");
    }

    /// Closes the socket cleanly (1000), as a page that goes away does,
    /// and waits for the server's answering close.
    pub async fn close(mut self) {
        let sent = self.socket.close(None);
        within(sent, "a close").await.expect("close failed");
        while let Some(Ok(_)) = within(self.socket.next(), "the close handshake").await {}
    }

    /// Sends a raw frame: what a well-behaved client library refuses to
    /// send (text that is not UTF-8, for one).
    pub async fn send_frame(&mut self, frame: Frame) {
        let sent = self.socket.send(Message::Frame(frame));
        within(sent, "a send").await.expect("send failed");
    }

    /// Sends connection_init with `{"authorization": "Bearer <token>"}` and
    /// expects the ack.
    pub async fn init(&mut self, token: &str) {
        self.send_token(token).await;
        self.expect_type("connection_ack").await;
    }

    /// Sends connection_init with `{"authorization": "Bearer <token>"}`,
    /// expecting nothing.
    pub async fn send_token(&mut self, token: &str) {
        self.init_with(json!({ "authorization": format!("Bearer {token}") }))
            .await;
    }

    /// Sends connection_init with this payload.
    pub async fn init_with(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    /// Starts an operation (`subscribe`, or legacy `start`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            WsProtocol::TransportWs => "subscribe",
            WsProtocol::Legacy => "start",
        };
        let payload = json!({ "query": query, "variables": variables });
        self.send(json!({ "type": kind, "id": id, "payload": payload }))
            .await;
    }

    /// Stops an operation (`complete`, or legacy `stop`).
    pub async fn complete(&mut self, id: &str) {
        let kind = match self.protocol {
            WsProtocol::TransportWs => "complete",
            WsProtocol::Legacy => "stop",
        };
        self.send(json!({ "type": kind, "id": id })).await;
    }

    /// Runs a query or mutation: expects exactly one result, then complete.
    pub async fn execute(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        let result = self.expect_next(id).await;
        self.expect_complete(id).await;
        result
    }

    /// The next message, which must be of this type; returns it whole.
    pub async fn expect_type(&mut self, kind: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["type"], kind, "expected {kind}, got {message}");
        message
    }

    /// The next message must be a result for `id` (`next`, or legacy
    /// `data`); returns its payload.
    pub async fn expect_next(&mut self, id: &str) -> Value {
        let kind = match self.protocol {
            WsProtocol::TransportWs => "next",
            WsProtocol::Legacy => "data",
        };
        self.expect_for(kind, id).await["payload"].take()
    }

    /// The next message must be `error` for `id`; returns its payload (an
    /// array in graphql-transport-ws, one error object in legacy).
    pub async fn expect_error(&mut self, id: &str) -> Value {
        self.expect_for("error", id).await["payload"].take()
    }

    /// The next message must be `complete` for `id`.
    pub async fn expect_complete(&mut self, id: &str) {
        self.expect_for("complete", id).await;
    }

    async fn expect_for(&mut self, kind: &str, id: &str) -> Value {
        let message = self.expect_type(kind).await;
        assert_eq!(message["id"], id, "{kind} for another id: {message}");
        message
    }

    /// The next message, as JSON; fails on a close, an end, or a timeout.
    pub async fn recv(&mut self) -> Value {
        match self.incoming().await {
            Incoming::Message(message) => message,
            Incoming::Close(frame) => panic!("expected a message, the server closed: {frame:?}"),
            Incoming::Ended(why) => panic!("expected a message, the socket ended: {why}"),
        }
    }

    /// The socket must close next with `code`; returns the reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.incoming().await {
            Incoming::Close(Some((got, reason))) => {
                assert_eq!(got, code, "closed with {got} {reason:?}, expected {code}");
                reason
            }
            Incoming::Close(None) => panic!("expected close {code}, got a close without a code"),
            Incoming::Message(message) => panic!("expected close {code}, got {message}"),
            Incoming::Ended(why) => panic!("expected close {code}, the socket ended: {why}"),
        }
    }

    /// The socket must end next, with or without a close frame.
    pub async fn expect_closed(&mut self) {
        if let Incoming::Message(message) = self.incoming().await {
            panic!("expected the socket to close, got {message}");
        }
    }

    /// Nothing may arrive for `period`, keepalives aside.
    pub async fn expect_silence(&mut self, period: Duration) {
        if let Ok(incoming) = tokio::time::timeout(period, self.incoming()).await {
            panic!("expected silence, got {incoming:?}");
        }
    }

    /// The next message if one arrives within `period` (keepalives aside),
    /// `None` if none does; fails on a close or an end.
    pub async fn recv_within(&mut self, period: Duration) -> Option<Value> {
        match tokio::time::timeout(period, self.incoming()).await {
            Err(_) => None,
            Ok(Incoming::Message(message)) => Some(message),
            Ok(other) => panic!("expected a message or nothing, got {other:?}"),
        }
    }

    async fn incoming(&mut self) -> Incoming {
        loop {
            let frame = within(self.socket.next(), "a message").await;
            let text = match frame {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    return Incoming::Close(
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    );
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(error)) => return Incoming::Ended(error.to_string()),
                None => return Incoming::Ended("end of stream".to_owned()),
            };
            let message: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("the server sent non-JSON {text:?}: {e}"));
            if let (Some("next" | "data"), Some(id)) =
                (message["type"].as_str(), message["id"].as_str())
                && let Some(request) = self.operations.get(id)
            {
                shape::check(request, &message["payload"]);
            }
            match message["type"].as_str() {
                Some("ping") if self.skip_keepalives => {
                    self.send(json!({ "type": "pong" })).await;
                }
                Some("ka") if self.skip_keepalives => {}
                _ => return Incoming::Message(message),
            }
        }
    }
}

/// The address of `/ws` on `app`.
pub fn ws_url(app: &Endpoint) -> String {
    format!("{}/ws", app.address.replacen("http", "ws", 1))
}

/// The HTTP response head, read byte by byte so no frame is consumed.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.expect("the upgrade response"));
    }
    String::from_utf8(head).expect("a UTF-8 response head")
}

/// Awaits `future`, failing the test after [`WAIT`].
async fn within<T>(future: impl Future<Output = T>, what: &str) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// The operation id a test gives the one subscription of a socket.
pub const SUB: &str = "s";

/// The variables of the tests' `messageCreated` and `chatEvents`
/// documents: `$c`, the chat filter, and `$a`, the cursor to resume after.
pub fn vars(chat: Option<&str>, after: Option<&str>) -> Value {
    json!({ "c": chat, "a": after })
}

/// A new graphql-transport-ws socket for `viewer` running [`SUB`]. It does
/// not wait for the subscription to be live: use it with `after`, or prove
/// it live some other way.
pub async fn subscribe(app: &Endpoint, viewer: &Account, query: &str, vars: Value) -> WsClient {
    let mut client = WsClient::connect_as(app, WsProtocol::TransportWs, viewer).await;
    client.subscribe(SUB, query, vars).await;
    client
}

/// The event of one result: `data.messageCreated` or `data.chatEvents`,
/// failing the test when the result carries errors or neither.
pub fn event(payload: &Value) -> &Value {
    assert!(
        payload["errors"].is_null(),
        "a result with errors: {payload}"
    );
    let data = &payload["data"];
    [&data["messageCreated"], &data["chatEvents"]]
        .into_iter()
        .find(|event| !event.is_null())
        .unwrap_or_else(|| panic!("not a subscription result: {payload}"))
}

/// The [`event`] of the next result of [`SUB`] on `client`; anything else
/// fails the test.
pub async fn next_event(client: &mut WsClient) -> Value {
    event(&client.expect_next(SUB).await).clone()
}

/// The events of the next `n` results of [`SUB`], each checked as it
/// arrives.
pub async fn next_events(client: &mut WsClient, n: usize) -> Vec<Value> {
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        events.push(next_event(client).await);
    }
    events
}
