//! Configuration, from flags or environment variables.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use clap::{Parser, Subcommand, ValueEnum};

use crate::throttle::Rate;

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

    /// How many recent events the log keeps at least (per partition);
    /// resuming from an older cursor is CURSOR_EXPIRED. Message history is
    /// never trimmed.
    #[arg(long, env = "EVENT_RETENTION", default_value_t = 100_000)]
    pub event_retention: usize,

    /// How many partitions the event log is split into (1 to 64). A chat's
    /// keys and events live in one partition, so on a Redis Cluster the
    /// partitions spread over its nodes. Every process sharing a Redis
    /// must use the same value; changing it moves every chat's keys, so it
    /// is chosen when a deployment starts. EVENT_RETENTION applies per
    /// partition.
    #[arg(long, env = "LOG_PARTITIONS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=i64::from(crate::store::MAX_PARTITIONS)))]
    pub log_partitions: u16,

    /// How many replicas must confirm each write to the log (`WAIT`)
    /// before it is acknowledged; on a cluster the log is then also read
    /// from replicas, so no subscriber is sent an event that a failover
    /// could take back. 0 (the default) waits for none: a failover may
    /// then lose the last acknowledged writes. See the README's scale-out
    /// section.
    #[arg(long, env = "REDIS_WAIT_REPLICAS", default_value_t = 0)]
    pub redis_wait_replicas: u8,

    /// How long (ms) a write waits for REDIS_WAIT_REPLICAS confirmations
    /// before it is reported failed (it may still survive; a retry with
    /// the same clientMessageId sends the message once either way).
    #[arg(long, env = "REDIS_WAIT_TIMEOUT_MS", default_value_t = 1_000)]
    pub redis_wait_timeout_ms: u64,

    /// Lifetime of access tokens, in seconds: short, as a client renews
    /// them with its refresh token.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 900)]
    pub token_ttl_secs: u64,

    /// Lifetime of each refresh token from its issue, in seconds: a session
    /// unused for this long ends; one in use lives on.
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,

    /// Largest accepted HTTP request body, in bytes (413 beyond it).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// How long a client may take to send a request's headers, in
    /// milliseconds; a slower one is disconnected, so connections cannot
    /// be held open by trickling headers in.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub http_header_timeout_ms: u64,

    /// Deepest selection nesting an operation may have.
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16)]
    pub max_query_depth: usize,

    /// Highest complexity an operation may have: one per selected field,
    /// with the selection of a paginated list (`chats`, `messages`) counted
    /// once per item of the page asked for.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 2500)]
    pub max_query_complexity: usize,

    /// Most aliased fields in one operation document.
    #[arg(long, env = "MAX_QUERY_ALIASES", default_value_t = 30)]
    pub max_query_aliases: usize,

    /// Most directives in one operation document.
    #[arg(long, env = "MAX_QUERY_DIRECTIVES", default_value_t = 30)]
    pub max_query_directives: usize,

    /// Whether the schema answers introspection (`__schema`, `__type`);
    /// GraphiQL and code generators need it. `false` turns it off.
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Events queued in the hub for one subscription before it must catch
    /// up from the log (it never loses them either way).
    #[arg(long, env = "HUB_BUFFER", default_value_t = 4096)]
    pub hub_buffer: usize,

    /// Most operations in one batched (JSON array) request.
    #[arg(long, env = "MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Most query texts this process keeps for automatic persisted queries
    /// (the least recently used goes first). Each process has its own
    /// cache; a client whose hash is missing sends the text again.
    #[arg(long, env = "APQ_CACHE_ENTRIES", default_value = "1000")]
    pub apq_cache_entries: NonZeroUsize,

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

    /// Most `sendMessage` calls per user, as COUNT/PERIOD (e.g. `30/10s`,
    /// `5/1m`; bursts up to COUNT) or `off`. Shared by every process on
    /// one Redis.
    #[arg(long, env = "RATE_SEND_MESSAGE", default_value = "30/10s")]
    pub rate_send_message: Rate,

    /// Most `createChat` calls per user (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_CREATE_CHAT", default_value = "10/1m")]
    pub rate_create_chat: Rate,

    /// Most `addMember` calls per user (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_ADD_MEMBER", default_value = "60/1m")]
    pub rate_add_member: Rate,

    /// Most `editMessage` and `deleteMessage` calls per user, together
    /// (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_CHANGE_MESSAGE", default_value = "30/10s")]
    pub rate_change_message: Rate,

    /// Most `addReaction` and `removeReaction` calls per user, together
    /// (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_REACT", default_value = "60/10s")]
    pub rate_react: Rate,

    /// Most `markRead` calls per user (COUNT/PERIOD or `off`). Generous: a
    /// client marks a busy chat read as messages arrive.
    #[arg(long, env = "RATE_MARK_READ", default_value = "120/10s")]
    pub rate_mark_read: Rate,

    /// Most `refreshSession` calls per session (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_REFRESH_SESSION", default_value = "10/1m")]
    pub rate_refresh_session: Rate,

    /// Most `changePassword` calls per user (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_CHANGE_PASSWORD", default_value = "5/1m")]
    pub rate_change_password: Rate,

    /// Most `setTyping` calls per user (COUNT/PERIOD or `off`). A client
    /// renews every few seconds while its user types, in each chat.
    #[arg(long, env = "RATE_SET_TYPING", default_value = "30/10s")]
    pub rate_set_typing: Rate,

    /// Most `presence` subscriptions started per user (COUNT/PERIOD or
    /// `off`): a client opens one per screen of people it shows.
    #[arg(long, env = "RATE_PRESENCE", default_value = "30/1m")]
    pub rate_presence: Rate,

    /// How often (ms) this process renews its hold on the presence of the
    /// users connected to it.
    #[arg(long, env = "PRESENCE_HEARTBEAT_MS", default_value_t = 10_000)]
    pub presence_heartbeat_ms: u64,

    /// How long (ms) a hold on presence lasts unless renewed: the users of
    /// a process that dies without closing its connections go offline this
    /// long after its last heartbeat at most. Keep it a few heartbeats
    /// long, so one slow renewal does not flap users offline.
    #[arg(long, env = "PRESENCE_EXPIRY_MS", default_value_t = 30_000)]
    pub presence_expiry_ms: u64,

    /// Most `refreshSession` calls, and apart from them most
    /// `changePassword` calls, per client address (COUNT/PERIOD or `off`).
    #[arg(long, env = "RATE_CREDENTIALS_ADDRESS", default_value = "60/1m")]
    pub rate_credentials_address: Rate,

    /// Most sign-in attempts per account name since its last successful
    /// sign-in (COUNT/PERIOD or `off`): slows password guessing.
    #[arg(long, env = "RATE_SIGN_IN_ACCOUNT", default_value = "5/1m")]
    pub rate_sign_in_account: Rate,

    /// Most sign-in attempts per client address (COUNT/PERIOD or `off`),
    /// so one address cannot cycle through account names.
    #[arg(long, env = "RATE_SIGN_IN_ADDRESS", default_value = "30/1m")]
    pub rate_sign_in_address: Rate,

    /// On an idle SSE stream, the server sends a comment line this often
    /// (ms), so proxies do not drop it. 0 sends none.
    #[arg(long, env = "SSE_KEEPALIVE_MS", default_value_t = 12_000)]
    pub sse_keepalive_ms: u64,

    /// Most subscription event streams one user may hold open on one
    /// process; one more is refused with 429.
    #[arg(long, env = "SSE_MAX_STREAMS_PER_USER", default_value_t = 32)]
    pub sse_max_streams_per_user: usize,

    /// Lifetime (seconds) of the stream tokens `createStreamToken` mints for
    /// browsers' `EventSource` (at most TOKEN_TTL_SECS): an `EventSource`
    /// reconnects by itself with the same URL while its token lives.
    #[arg(long, env = "STREAM_TOKEN_TTL_SECS", default_value_t = 300)]
    pub stream_token_ttl_secs: u64,

    /// Take the client address from the last `X-Forwarded-For` entry (the
    /// one the nearest proxy added) instead of the TCP peer. Only behind a
    /// proxy that sets it: otherwise clients could pick their own address.
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// A WebSocket client that sends nothing — no message, no pong to the
    /// server's keepalive pings — for this many milliseconds is taken for
    /// gone and its socket is dropped. Checked at each keepalive, so it
    /// needs WS_KEEPALIVE_MS on.
    #[arg(long, env = "WS_PEER_TIMEOUT_MS", default_value_t = 30_000)]
    pub ws_peer_timeout_ms: u64,

    /// Most acknowledged WebSockets one user may hold on one process; one
    /// more is closed with 1008.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_USER", default_value_t = 32)]
    pub ws_max_sockets_per_user: usize,

    /// Log output: `text` for people, `json` (one object per line, with
    /// the span fields) for log collectors. The level is set by RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// After SIGTERM or ctrl-c, how long (ms) to keep serving HTTP while
    /// `/ready` answers 503 and new WebSockets are refused, so load
    /// balancers stop routing here before the listener closes. Open
    /// sockets are closed (1001) at the start of it. 0 stops at once.
    #[arg(long, env = "SHUTDOWN_DRAIN_MS", default_value_t = 0)]
    pub shutdown_drain_ms: u64,

    /// Longest wait, after SIGTERM or ctrl-c, for in-flight requests to
    /// finish and open WebSockets to close (1001), in milliseconds; then the
    /// process exits regardless.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,

    /// Origins, besides the server's own, whose pages may call `/graphql`
    /// (CORS) and open `/ws` (checked against the upgrade's `Origin`),
    /// comma-separated, e.g. `https://app.example,http://localhost:5173`.
    /// Empty: only pages the server serves itself.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
}

/// How log lines are written.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
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
