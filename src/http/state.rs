//! The state every request handler and socket shares. The HTTP layer
//! defines it because it serves it; `app` assembles it from the config.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Tokens;
use crate::graphql::ChatSchema;
use crate::graphql::live::Operations;
use crate::metrics::Metrics;
use crate::realtime::consumer::Consumers;
use crate::realtime::hub::Hub;
use crate::sessions::Revocations;
use crate::signals::attendance::Attendance;
use crate::signals::listeners::Listeners;
use crate::store::Store;

use super::origins::AllowedOrigins;
use super::persisted_queries::PersistedQueries;
use super::ws::limits::WsLimits;
use super::ws::sockets::UserSockets;

/// Settings of event streams.
#[derive(Debug, Clone, Copy)]
pub struct SseSettings {
    /// How long a stream may stay silent before a comment is sent.
    pub keepalive: Option<Duration>,
}

/// Everything the router needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: ChatSchema,
    /// Runs the sockets' operations, rendering subscription events once
    /// per selection for every socket.
    pub operations: Operations,
    pub tokens: Tokens,
    /// The sessions that ended, for refusing their tokens.
    pub revocations: Revocations,
    /// The process's listening connection for typing and presence.
    pub listeners: Listeners,
    /// The users connected here, held present at the backend.
    pub attendance: Attendance,
    pub store: Arc<dyn Store>,
    pub limits: HttpLimits,
    /// The query texts of automatic persisted queries, by hash.
    pub persisted_queries: Arc<PersistedQueries>,
    /// Timeouts and bounds of every WebSocket connection.
    pub ws: WsLimits,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Acknowledged sockets per user, capped.
    pub sockets: Arc<UserSockets>,
    /// Open subscription event streams (SSE) per user, capped.
    pub streams: Arc<UserSockets>,
    /// How SSE streams are kept alive.
    pub sse: SseSettings,
    /// Fan-out of consumed events to this process's subscriptions.
    pub hub: Hub,
    /// Health of this process's log consumers (one per partition), for `/ready`.
    pub consumer: Consumers,
    /// Cancelled when the server begins to shut down. Long-lived work
    /// (WebSockets, subscriptions, the log consumer) watches it, because
    /// the HTTP server's graceful shutdown does not reach upgraded
    /// connections.
    pub shutdown: CancellationToken,
    /// Every upgraded WebSocket, from the 101 answer until its close
    /// handshake is done, so shutdown can wait for their close frames.
    pub connections: TaskTracker,
    /// Whether the client address comes from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// How long shutdown keeps serving, unready, before it stops accepting.
    pub shutdown_drain: Duration,
    /// How long shutdown waits for requests and sockets to finish.
    pub shutdown_timeout: Duration,
    /// Other origins whose pages may use `/graphql` and `/ws`.
    pub allowed_origins: Arc<AllowedOrigins>,
}

/// Limits enforced by the HTTP layer before GraphQL runs.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub max_batch: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
}
