//! Configuration, from flags or environment variables.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// A real-time GraphQL chat server. Every setting can be given as a flag or
/// as the environment variable named beside it.
#[derive(Parser, Debug, Clone)]
#[command(name = "chat-server", version, about)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// Redis URL (e.g. redis://127.0.0.1:6379). Unset: the embedded
    /// in-memory backend, which keeps nothing across restarts.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Secret that signs and verifies tokens (HS256). Required with Redis so
    /// that every process accepts every other's tokens; in memory a random
    /// one is made at start.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Prefix of every Redis key, so several deployments can share a Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "chat:")]
    pub redis_key_prefix: String,

    /// How many recent events the log keeps at least; resuming from an older
    /// cursor is CURSOR_EXPIRED. Message history is never trimmed.
    #[arg(long, env = "EVENT_RETENTION", default_value_t = 100_000)]
    pub event_retention: usize,

    /// Lifetime of issued tokens, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 86_400)]
    pub token_ttl_secs: u64,

    /// Largest accepted HTTP request body, in bytes (413 beyond it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Deepest selection nesting an operation may have.
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16)]
    pub max_query_depth: usize,

    /// Highest complexity (number of selected fields) an operation may have.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 1000)]
    pub max_query_complexity: usize,

    /// Events queued in the hub for one subscription before it must catch
    /// up from the log (it never loses them either way).
    #[arg(long, env = "HUB_BUFFER", default_value_t = 4096)]
    pub hub_buffer: usize,

    /// Most operations in one batched (JSON array) request.
    #[arg(long, env = "MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Time a WebSocket client has to send connection_init after the upgrade,
    /// in milliseconds; later, the socket is closed with 4408, so idle
    /// unauthenticated sockets cannot pile up.
    #[arg(long, env = "WS_INIT_TIMEOUT_MS", default_value_t = 3_000)]
    pub ws_init_timeout_ms: u64,

    /// After this many milliseconds without a message to an acknowledged
    /// WebSocket, the server sends a keepalive (`ping` in
    /// graphql-transport-ws, `ka` in graphql-ws), so proxies do not drop
    /// quiet sockets. 0 sends none.
    #[arg(long, env = "WS_KEEPALIVE_MS", default_value_t = 12_000)]
    pub ws_keepalive_ms: u64,

    /// Largest WebSocket message (and frame) a client may send, in bytes; a
    /// bigger one closes the socket.
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024)]
    pub ws_max_message_bytes: usize,

    /// Most operations running at once on one WebSocket; one more gets an
    /// `error` (RATE_LIMITED) and the socket stays open.
    #[arg(long, env = "WS_MAX_OPERATIONS", default_value_t = 100)]
    pub ws_max_operations: usize,

    /// Longest wait, after SIGTERM or ctrl-c, for in-flight requests to
    /// finish and open WebSockets to close (1001), in milliseconds; then the
    /// process exits regardless.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the GraphQL schema (SDL) to standard output and exit.
    PrintSchema,
}

impl Config {
    /// The defaults, as if no flag were given (environment variables still
    /// apply). Tests start from this and set what they need.
    pub fn defaults() -> Self {
        Self::parse_from(["chat-server"])
    }
}
