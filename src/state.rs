//! The state shared by every request, built once from the configuration.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Tokens;
use crate::config::Config;
use crate::graphql::{ChatSchema, QueryLimits, Renderer, build_schema};
use crate::http::AllowedOrigins;
use crate::metrics::Metrics;
use crate::metrics::live::Live;
use crate::realtime::consumer::ConsumerStatus;
use crate::realtime::hub::Hub;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::throttle::memory::MemoryThrottle;
use crate::throttle::policy::Rates;
use crate::throttle::{Policy, Throttle};
use crate::ws::{UserSockets, WsLimits};

/// Everything the router needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: ChatSchema,
    /// Renders subscription events once per selection, for every socket.
    pub renderer: Renderer,
    pub tokens: Tokens,
    pub store: Arc<dyn Store>,
    pub limits: HttpLimits,
    /// Timeouts and bounds of every WebSocket connection.
    pub ws: WsLimits,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Acknowledged sockets per user, capped.
    pub sockets: Arc<UserSockets>,
    /// Fan-out of consumed events to this process's subscriptions.
    pub hub: Hub,
    /// Health of this process's log consumer, for `/ready`.
    pub consumer: Arc<ConsumerStatus>,
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

impl AppState {
    /// Connects the configured backend and builds the schema.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (store, throttle): (Arc<dyn Store>, Arc<dyn Throttle>) = match &config.redis_url {
            Some(url) => {
                let redis =
                    RedisStore::connect(url, &config.redis_key_prefix, config.event_retention)
                        .await
                        .with_context(|| "connecting to Redis")?;
                let throttle = Arc::new(redis.throttle());
                (Arc::new(redis), throttle)
            }
            None => (
                Arc::new(MemoryStore::new(config.event_retention)),
                Arc::new(MemoryThrottle::new()),
            ),
        };
        let policy = Policy::new(
            throttle,
            Rates {
                send_message: config.rate_send_message,
                create_chat: config.rate_create_chat,
                add_member: config.rate_add_member,
                sign_in_per_account: config.rate_sign_in_account,
                sign_in_per_address: config.rate_sign_in_address,
            },
        );
        let secret = match (&config.jwt_secret, &config.redis_url) {
            (Some(secret), _) => secret.clone(),
            (None, Some(_)) => anyhow::bail!(
                "JWT_SECRET is required with REDIS_URL: every process sharing the Redis must verify the others' tokens"
            ),
            (None, None) => {
                tracing::warn!(
                    "JWT_SECRET is not set: using a random secret, so tokens die with this process"
                );
                format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                )
            }
        };
        let tokens = Tokens::new(
            secret.as_bytes(),
            Duration::from_secs(config.token_ttl_secs),
        )
        .context("JWT_SECRET cannot be used")?;
        let limits = QueryLimits {
            max_depth: config.max_query_depth,
            max_complexity: config.max_query_complexity,
            max_aliases: config.max_query_aliases,
            max_directives: config.max_query_directives,
            introspection: config.introspection,
        };
        let hub = Hub::new(config.hub_buffer);
        let allowed_origins =
            AllowedOrigins::parse(&config.allowed_origins).context("ALLOWED_ORIGINS")?;
        let sockets = UserSockets::new(config.ws_max_sockets_per_user);
        let consumer = ConsumerStatus::new();
        let connections = TaskTracker::new();
        let metrics = Metrics::new(Live {
            connections: connections.clone(),
            sockets: sockets.clone(),
            consumer: consumer.clone(),
            backfills: hub.backfills(),
        });
        let schema = build_schema(
            store.clone(),
            tokens.clone(),
            hub.clone(),
            policy,
            limits,
            metrics.clone(),
        );
        Ok(Self {
            renderer: Renderer::new(schema.clone(), metrics.clone()),
            schema,
            tokens,
            store,
            limits: HttpLimits {
                max_body_bytes: config.max_body_bytes,
                max_batch: config.max_batch,
                header_timeout: Duration::from_millis(config.http_header_timeout_ms),
            },
            ws: WsLimits::from_config(config),
            sockets,
            hub,
            consumer,
            metrics,
            shutdown: CancellationToken::new(),
            connections,
            trust_forwarded_for: config.trust_forwarded_for,
            shutdown_drain: Duration::from_millis(config.shutdown_drain_ms),
            shutdown_timeout: Duration::from_millis(config.shutdown_timeout_ms),
            allowed_origins: Arc::new(allowed_origins),
        })
    }

    /// A short name of the backend, for logs.
    pub fn backend_name(config: &Config) -> &'static str {
        if config.redis_url.is_some() {
            "redis"
        } else {
            "memory"
        }
    }
}
