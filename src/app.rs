//! The composition root: builds the [`AppState`] from the [`Config`],
//! wiring each part to the ones it needs, and [`serve`]s it.
//!
//! Everything else receives its collaborators as values, so the module
//! graph runs one way: `app` → `http` (router, state, the WebSocket
//! transport) → `graphql` (the schema and its delivery wing, `live`) →
//! `realtime` (consumer, hub, feeds) → `store`, with `sessions` (which
//! sessions ended) and `signals` (typing and presence) beside `realtime`; `metrics`, `auth`,
//! `throttle`, `domain` and `cursor` are fed, never feeding back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Tokens;
use crate::config::Config;
use crate::graphql::live::Operations;
use crate::graphql::{QueryLimits, Services, build_schema};
use crate::http::{
    self, AllowedOrigins, AppState, HttpLimits, PersistedQueries, SseSettings, UserSockets,
    WsLimits,
};
use crate::metrics::{ConsumerReading, Metrics, Readings};
use crate::realtime::consumer::{Consumer, Consumers};
use crate::realtime::hub::Hub;
use crate::sessions::Revocations;
use crate::signals::attendance::{Attendance, Heartbeat};
use crate::signals::listeners::Listeners;
use crate::signals::rooms::Rooms;
use crate::store::memory::MemoryStore;
use crate::store::redis::{RedisSettings, RedisStore};
use crate::store::{Partitions, Store};
use crate::throttle::memory::MemoryThrottle;
use crate::throttle::policy::Rates;
use crate::throttle::redis::RedisThrottle;
use crate::throttle::{Policy, Throttle};

impl AppState {
    /// Connects the configured backend, builds the schema and wires every
    /// part to the others.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        let partitions = Partitions::new(config.log_partitions);
        let (store, throttle): (Arc<dyn Store>, Arc<dyn Throttle>) = match &config.redis_url {
            Some(url) => {
                let settings = RedisSettings {
                    partitions,
                    wait_replicas: config.redis_wait_replicas,
                    wait_timeout: Duration::from_millis(config.redis_wait_timeout_ms),
                    ..RedisSettings::new(&config.redis_key_prefix, config.event_retention)
                };
                let redis = RedisStore::connect(url, settings)
                    .await
                    .with_context(|| "connecting to Redis")?;
                let (conn, driver) = redis.shared_connection();
                let throttle = Arc::new(RedisThrottle::new(conn, &config.redis_key_prefix, driver));
                (Arc::new(redis), throttle)
            }
            None => (
                Arc::new(MemoryStore::partitioned(config.event_retention, partitions)),
                Arc::new(MemoryThrottle::new()),
            ),
        };
        let policy = Policy::new(
            throttle,
            Rates {
                send_message: config.rate_send_message,
                create_chat: config.rate_create_chat,
                add_member: config.rate_add_member,
                change_message: config.rate_change_message,
                react: config.rate_react,
                mark_read: config.rate_mark_read,
                refresh_session: config.rate_refresh_session,
                change_password: config.rate_change_password,
                set_typing: config.rate_set_typing,
                presence: config.rate_presence,
                credentials_per_address: config.rate_credentials_address,
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
        .context("JWT_SECRET cannot be used")?
        .with_refresh_lifetime(Duration::from_secs(config.refresh_token_ttl_secs));
        let revocations = Revocations::new(store.clone());
        let listeners = Listeners::new();
        let rooms = Rooms::new(store.clone(), listeners.clone());
        let attendance = Attendance::new(Heartbeat {
            every: Duration::from_millis(config.presence_heartbeat_ms.max(1)),
            expiry: Duration::from_millis(config.presence_expiry_ms.max(1)),
        });
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
        let streams = UserSockets::new(config.sse_max_streams_per_user);
        let consumer = Consumers::new(partitions);
        let connections = TaskTracker::new();
        let metrics = Metrics::new(Sources {
            connections: connections.clone(),
            sockets: sockets.clone(),
            streams: streams.clone(),
            consumer: consumer.clone(),
            backfills: hub.backfills(),
            listeners: listeners.clone(),
        });
        let services = Services {
            store: store.clone(),
            tokens: tokens.clone(),
            hub: hub.clone(),
            policy,
            metrics: metrics.clone(),
            revocations: revocations.clone(),
            rooms,
            stream_token_lifetime: Duration::from_secs(config.stream_token_ttl_secs),
        };
        let schema = build_schema(services, limits);
        Ok(Self {
            operations: Operations::new(schema.clone(), metrics.clone()),
            schema,
            tokens,
            revocations,
            listeners,
            attendance,
            store,
            limits: HttpLimits {
                max_body_bytes: config.max_body_bytes,
                max_batch: config.max_batch,
                header_timeout: Duration::from_millis(config.http_header_timeout_ms),
            },
            persisted_queries: Arc::new(PersistedQueries::new(config.apq_cache_entries)),
            ws: WsLimits::from_config(config),
            sockets,
            streams,
            sse: SseSettings {
                keepalive: (config.sse_keepalive_ms > 0)
                    .then(|| Duration::from_millis(config.sse_keepalive_ms)),
            },
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

/// Serves the application on `listener` until `shutdown` completes, then
/// signals long-lived work to stop (`state.shutdown`), lets in-flight
/// requests finish and every WebSocket send its close frame (within
/// `state.shutdown_timeout` of the signal), stops the log consumer and
/// returns.
///
/// Each partition's consumer starts at its log's head read here, before the
/// first request is accepted, so every event a subscription can be waiting
/// for comes after its consumer's starting point.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let heads = state.store.log_heads().await?;
    let consumers: Vec<_> = state
        .consumer
        .statuses()
        .map(|status| {
            let partition = status.partition();
            let consumer = Consumer::new(
                state.store.log_tail(partition),
                state.hub.clone(),
                heads.get(partition),
                status.clone(),
            );
            tokio::spawn(consumer.run(state.shutdown.clone()))
        })
        .collect();
    let revocations = tokio::spawn(state.revocations.clone().run(state.shutdown.clone()));
    let listeners = tokio::spawn(
        state
            .listeners
            .clone()
            .run(state.store.clone(), state.shutdown.clone()),
    );
    let attendance = tokio::spawn(
        state
            .attendance
            .clone()
            .run(state.store.clone(), state.shutdown.clone()),
    );
    let token = state.shutdown.clone();
    let drain = state.shutdown_drain;
    let stopping = async move {
        shutdown.await;
        // Unready, sockets closing, upgrades refused; requests still served
        // for the drain, so load balancers notice before the listener goes.
        token.cancel();
        tokio::time::sleep(drain).await;
    };
    let served = http::serve(
        listener,
        http::router(state.clone()),
        stopping,
        state.limits.header_timeout,
    );
    let deadline = async {
        state.shutdown.cancelled().await;
        tokio::time::sleep(state.shutdown_drain + state.shutdown_timeout).await;
    };
    let drained = async {
        served.await;
        // The server lets go of upgraded connections, so the sockets are
        // awaited here, or the process would exit before their close
        // frames are written.
        state.connections.close();
        state.connections.wait().await;
    };
    tokio::select! {
        () = drained => {}
        () = deadline => {
            tracing::warn!(
                timeout = ?state.shutdown_timeout,
                sockets = state.connections.len(),
                "shutdown deadline passed; exiting with work still open"
            );
        }
    }
    state.shutdown.cancel();
    for consumer in consumers {
        consumer.await?;
    }
    revocations.await?;
    listeners.await?;
    attendance.await?;
    Ok(())
}

/// Where the scrape-time metrics are read from.
#[derive(Debug)]
struct Sources {
    connections: TaskTracker,
    sockets: Arc<UserSockets>,
    streams: Arc<UserSockets>,
    consumer: Consumers,
    backfills: Arc<AtomicU64>,
    listeners: Listeners,
}

impl Readings for Sources {
    fn ws_connections(&self) -> usize {
        self.connections.len()
    }

    fn ws_authenticated(&self) -> usize {
        self.sockets.total()
    }

    fn consumers(&self) -> Vec<ConsumerReading> {
        self.consumer
            .statuses()
            .map(|status| ConsumerReading {
                partition: status.partition().number(),
                consumed: status.consumed(),
                errors: status.errors(),
                lag: status.lag(),
                up: status.is_healthy(),
            })
            .collect()
    }

    fn backfills(&self) -> u64 {
        self.backfills.load(Ordering::Relaxed)
    }

    fn sse_streams(&self) -> usize {
        self.streams.total()
    }

    fn signal_channels(&self) -> usize {
        self.listeners.held()
    }
}
