//! Connections to Redis: one server, or a cluster.
//!
//! `REDIS_URL` names one server (`redis://host:port`) or a cluster: several
//! seed nodes separated by commas, or any one node of a cluster (it is
//! asked whether it is one). On a cluster, the redis crate's cluster client
//! discovers the topology from the seeds, routes each command by its key's
//! slot, follows `MOVED` and `ASK` redirections while slots migrate, and
//! refreshes the slot map after a failover. Everything above this module
//! sees one [`Connection`] either way.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_read_routing::RandomReplicaStrategy;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// How long connecting to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may wait for its answer on a shared connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a command may take on a cluster, redirections and retries
/// included: a failover takes a few seconds, and a request should fail
/// with a clear error rather than hang through it.
const CLUSTER_OVERALL_TIMEOUT: Duration = Duration::from_secs(4);

/// What `REDIS_URL` points at.
#[derive(Clone)]
pub enum Deployment {
    Single(Client),
    /// A cluster, with its seed nodes (each also usable on its own, for
    /// pub/sub: a classic `PUBLISH` reaches subscribers on every node).
    Cluster {
        seeds: Vec<Client>,
    },
}

impl Deployment {
    /// Opens `url`: a list of seeds is a cluster; a single URL is asked
    /// whether it is a cluster node.
    pub async fn open(url: &str) -> RedisResult<Deployment> {
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let seeds = urls
            .iter()
            .map(|url| Client::open(*url))
            .collect::<RedisResult<Vec<_>>>()?;
        if seeds.len() > 1 {
            return Ok(Deployment::Cluster { seeds });
        }
        let Some(client) = seeds.into_iter().next() else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "REDIS_URL names no server",
            )));
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut conn)
            .await?;
        Ok(match info.contains("cluster_enabled:1") {
            true => Deployment::Cluster {
                seeds: vec![client],
            },
            false => Deployment::Single(client),
        })
    }

    /// Whether this is a cluster (its keys must then be hash-tagged).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Deployment::Cluster { .. })
    }

    /// The connection every request shares: multiplexed, reconnecting by
    /// itself, and failing fast (see [`shared_config`]) rather than holding
    /// requests through an outage.
    pub async fn shared(&self) -> RedisResult<Connection> {
        match self {
            Deployment::Single(client) => Ok(Connection::Single(
                ConnectionManager::new_with_config(client.clone(), shared_config()).await?,
            )),
            Deployment::Cluster { seeds } => {
                let client = answering(seeds).build()?;
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
        }
    }

    /// The connection the log is read with for delivery (replays,
    /// membership snapshots): the shared one, or with `replicas` on a
    /// cluster, one whose reads go to replicas, so a subscriber is never
    /// sent an event a failover could take back.
    pub async fn log_reader(&self, shared: &Connection, replicas: bool) -> RedisResult<Connection> {
        match self {
            Deployment::Cluster { seeds } if replicas => {
                let client = answering(seeds)
                    .read_routing_strategy(RandomReplicaStrategy)
                    .build()?;
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
            _ => Ok(shared.clone()),
        }
    }

    /// A connection of its own, without a response timeout, for blocking
    /// reads (`XREAD BLOCK`): on a shared connection one would stall every
    /// command queued behind it to the same node. With `replicas`, reads
    /// of a cluster go to the replicas, so what they return is already
    /// replicated.
    pub async fn dedicated(&self, replicas: bool) -> RedisResult<Connection> {
        match self {
            Deployment::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None);
                Ok(Connection::Plain(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
            Deployment::Cluster { seeds } => {
                let mut builder = cluster(seeds);
                if replicas {
                    builder = builder.read_routing_strategy(RandomReplicaStrategy);
                }
                Ok(Connection::Cluster(
                    builder.build()?.get_async_connection().await?,
                ))
            }
        }
    }

    /// A subscriber connection to the first node that answers: on a
    /// cluster a classic `PUBLISH` is broadcast to every node, so any node
    /// will do, and the next one is tried when it is gone.
    pub async fn pubsub(&self) -> RedisResult<PubSub> {
        let seeds = match self {
            Deployment::Single(client) => std::slice::from_ref(client),
            Deployment::Cluster { seeds } => seeds.as_slice(),
        };
        let mut last = None;
        for seed in seeds {
            match seed.get_async_pubsub().await {
                Ok(pubsub) => return Ok(pubsub),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| {
            redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no seed node"))
        }))
    }
}

/// The cluster client's settings shared by every connection: short retry
/// waits (the crate's defaults grow to minutes), a bounded number of
/// retries, and the connect timeout.
fn cluster(seeds: &[Client]) -> ClusterClientBuilder {
    let nodes = seeds.iter().map(|seed| seed.get_connection_info().clone());
    ClusterClientBuilder::new(nodes)
        .connection_timeout(CONNECT_TIMEOUT)
        .retries(6)
        .min_retry_wait(50)
        .max_retry_wait(500)
}

/// [`cluster`] for connections that serve requests: each command bounded,
/// retries and redirections included.
fn answering(seeds: &[Client]) -> ClusterClientBuilder {
    cluster(seeds)
        .response_timeout(RESPONSE_TIMEOUT)
        .overall_response_timeout(Some(CLUSTER_OVERALL_TIMEOUT))
}

/// How the shared connection to a single server behaves when Redis is slow
/// or gone. The crate's defaults retry a lost connection six times with
/// exponential backoff, which holds every request for up to ten seconds
/// during an outage; a request should instead fail fast with a clear
/// error, and readiness should say so at once. A write that fails this way
/// was never executed (the connection was down), so nothing is claimed
/// that was not stored.
fn shared_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(200))
}

/// A connection to one server or to a cluster; cheap to clone (clones
/// share the sockets).
#[derive(Clone)]
pub enum Connection {
    /// The shared, self-reconnecting connection to a single server.
    Single(ConnectionManager),
    /// A dedicated connection to a single server.
    Plain(redis::aio::MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Sends a command without a key (`WAIT`) to the primary serving `key`'s
    /// slot, on the same socket the key's commands travel, so it concerns
    /// them. On a single server it is just sent.
    pub async fn on_node_of(&mut self, key: &str, cmd: Cmd) -> RedisResult<Value> {
        match self {
            Connection::Cluster(conn) => {
                let route = Route::with_key(key.as_bytes(), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                conn.route_command(cmd, routing).await
            }
            _ => cmd.query_async(self).await,
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Plain(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Plain(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Plain(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}
