//! GraphQL over WebSocket at `GET /ws`.
//!
//! Written on the schema rather than with async-graphql's own handler,
//! which does not follow graphql-transport-ws where it matters to clients
//! (no 4409 on a reused id, no 4429, no `error` message, no server
//! keepalive, no token expiry).
//!
//! # The route
//!
//! - Subprotocol (`Sec-WebSocket-Protocol`): `graphql-transport-ws`, or the
//!   legacy `graphql-ws`; when the client offers both, the first. When it
//!   offers neither (or no header), the socket speaks graphql-transport-ws
//!   and the response names no subprotocol, because RFC 6455 clients fail a
//!   handshake whose answer names one they did not offer.
//! - Origin: an upgrade whose `Origin` is neither the server's own nor in
//!   `ALLOWED_ORIGINS` is refused with 403 (browsers apply no CORS to
//!   WebSockets); one without `Origin` (not a browser) is let through.
//! - Authentication: the bearer token in the `connection_init` payload
//!   ([`init_payload`]); no or a bad token closes with 4403, and so does the
//!   token's expiry while the socket is open.
//! - Queries and mutations run over the socket like subscriptions: one
//!   `next` then `complete`.
//! - Close codes: 4400 bad message (unparseable JSON, binary frame, unknown
//!   type), 4401 operation before the ack, 4403 forbidden, 4408 no
//!   connection_init within `WS_INIT_TIMEOUT_MS`, 4409 reused running id,
//!   4429 second connection_init, 1001 server shutdown; a frame over
//!   `WS_MAX_MESSAGE_BYTES` ends the socket.
//!
//! # Layout
//!
//! - [`protocol`]: both protocols' messages and the close codes.
//! - [`init_payload`]: the token in a connection_init payload.
//! - [`connection`]: the per-socket state machine; it hands each operation
//!   to the delivery wing (`graphql::live`) and writes the replies.
//! - [`limits`]: the bounds every socket runs under.
//! - [`sockets`]: the count of acknowledged sockets per user.

mod connection;
mod init_payload;
pub mod limits;
mod protocol;
pub mod sockets;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_address::client_address;
use super::state::AppState;

use self::connection::Connection;
use self::protocol::Protocol;

/// The read buffer a socket starts with. Tungstenite's default reserves
/// 128 KiB up front, which the benchmark measured as most of an idle
/// subscription's memory; client frames are small, and the buffer grows
/// for a larger one (up to `max_message_bytes`). 1 KiB rather than 4 took
/// an idle subscription from 19.1 to 15.8 KiB in the benchmark.
const READ_BUFFER: usize = 1024;

/// `GET /ws`: upgrades, picks the subprotocol, and hands the socket to a
/// [`Connection`]. Its span carries the protocol and, once known, the viewer.
///
/// Once shutdown has begun, upgrades are refused with 503 so clients
/// reconnect to another process. An accepted socket is tracked from here
/// (before the 101 goes out) until its closing handshake ends.
///
/// A browser's upgrade from a page of another origin is refused with 403
/// unless that origin is allowed ([`AllowedOrigins`](super::AllowedOrigins)):
/// CORS does not cover WebSockets, so this is the only thing that stops a
/// foreign page from using the API through the user's browser.
pub async fn handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !state.allowed_origins.admits_upgrade(&headers) {
        return (StatusCode::FORBIDDEN, "this origin may not open /ws").into_response();
    }
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
            .into_response();
    }
    let tracked = state.connections.token();
    let limit = state.ws.max_message_bytes;
    let upgrade = upgrade
        .protocols(Protocol::NAMES)
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit);
    let protocol = upgrade
        .selected_protocol()
        .and_then(|name| name.to_str().ok())
        .and_then(Protocol::from_name)
        .unwrap_or(Protocol::TransportWs);
    let address = client_address(&headers, peer, state.trust_forwarded_for);
    upgrade.on_upgrade(move |socket| async move {
        Connection::new(socket, protocol, state, address)
            .run()
            .await;
        drop(tracked);
    })
}
