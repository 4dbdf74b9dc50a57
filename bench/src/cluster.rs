//! The processes under test: a private `redis-server` (for the Redis
//! backend) or a local Redis Cluster (for the cluster backend), and the
//! release server binary, on free loopback ports.
//!
//! All are stopped when the [`Cluster`] is dropped, so a failed scenario
//! never leaves a server behind to skew the next one.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

use crate::redis_cluster::RedisCluster;

/// How long a process may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The shared secret the server signs tokens with. Any value works: the
/// generator only passes tokens back, it never mints them.
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Memory,
    Redis,
    /// A local Redis Cluster of 3 primaries.
    Cluster,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Memory => "memory",
            Backend::Redis => "redis",
            Backend::Cluster => "cluster",
        })
    }
}

/// The store and how the server splits its log (`LOG_PARTITIONS`): what
/// one row of the report ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    pub backend: Backend,
    pub partitions: u16,
}

impl std::fmt::Display for Store {
    /// The backend alone for one partition, as reports before partitions
    /// existed read; `cluster P=16` otherwise.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.partitions {
            1 => write!(f, "{}", self.backend),
            p => write!(f, "{} P={p}", self.backend),
        }
    }
}

/// Where to find the programs to start.
#[derive(Debug, Clone)]
pub struct Programs {
    pub server: PathBuf,
    pub redis: PathBuf,
    /// `scripts/redis-cluster`, for the cluster backend.
    pub cluster_script: PathBuf,
}

/// The Redis a server uses.
enum Redis {
    None,
    /// A `redis-server` child on a port of its own.
    Single {
        child: Child,
        port: u16,
    },
    Cluster(RedisCluster),
}

/// A running server, and its Redis when it has one.
pub struct Cluster {
    pub server_addr: SocketAddr,
    server: Child,
    redis: Redis,
    program: PathBuf,
    redis_url: Option<String>,
    partitions: u16,
}

impl Cluster {
    /// Starts Redis or a Redis Cluster (for those backends) and the server,
    /// and waits until the server answers `/ready`.
    pub async fn start(programs: &Programs, store: Store) -> anyhow::Result<Cluster> {
        let (redis, redis_url) = match store.backend {
            Backend::Memory => (Redis::None, None),
            Backend::Redis => {
                let (child, port) = start_redis(&programs.redis).await?;
                let url = format!("redis://127.0.0.1:{port}");
                (Redis::Single { child, port }, Some(url))
            }
            Backend::Cluster => {
                let cluster = RedisCluster::start(&programs.cluster_script).await?;
                let url = cluster.url.clone();
                (Redis::Cluster(cluster), Some(url))
            }
        };
        let (server, server_addr) =
            start_server(&programs.server, redis_url.as_deref(), store.partitions).await?;
        Ok(Cluster {
            server_addr,
            server,
            redis,
            program: programs.server.clone(),
            redis_url,
            partitions: store.partitions,
        })
    }

    /// Replaces the server with a fresh process on a new port, sharing the
    /// same Redis and secret (so users, chats and tokens stay valid): its
    /// memory then holds nothing from the set-up, such as the allocator's
    /// leftovers from argon2 sign-ups.
    pub async fn restart_server(&mut self) -> anyhow::Result<()> {
        let _ = self.server.kill().await;
        let (server, addr) =
            start_server(&self.program, self.redis_url.as_deref(), self.partitions).await?;
        self.server = server;
        self.server_addr = addr;
        Ok(())
    }

    pub fn server_pid(&self) -> u32 {
        self.server.id().unwrap_or(0)
    }

    /// The single `redis-server`'s pid (a cluster's nodes are not our
    /// children).
    pub fn redis_pid(&self) -> Option<u32> {
        match &self.redis {
            Redis::Single { child, .. } => child.id(),
            Redis::None | Redis::Cluster(_) => None,
        }
    }

    /// The port of every Redis node the server uses (none on memory).
    pub fn redis_ports(&self) -> Vec<u16> {
        match &self.redis {
            Redis::None => Vec::new(),
            Redis::Single { port, .. } => vec![*port],
            Redis::Cluster(cluster) => cluster.ports.clone(),
        }
    }

    /// Stops the server and its Redis, and waits for them to exit.
    pub async fn stop(mut self) {
        let _ = self.server.kill().await;
        match self.redis {
            Redis::None => {}
            Redis::Single { mut child, .. } => {
                let _ = child.kill().await;
            }
            Redis::Cluster(cluster) => cluster.stop().await,
        }
    }
}

/// Starts the server on a free port and waits until it answers `/ready`.
async fn start_server(
    program: &Path,
    redis_url: Option<&str>,
    partitions: u16,
) -> anyhow::Result<(Child, SocketAddr)> {
    let addr = free_addr()?;
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", addr.to_string())
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        // The load is many users' worth from one address, far past the
        // abuse limits a production server keeps on; this measures
        // delivery, so those limits are off.
        .env("RATE_SEND_MESSAGE", "off")
        .env("RATE_CREATE_CHAT", "off")
        .env("RATE_ADD_MEMBER", "off")
        .env("RATE_CHANGE_MESSAGE", "off")
        .env("RATE_MARK_READ", "off")
        .env("RATE_SIGN_IN_ADDRESS", "off")
        .env("WS_MAX_SOCKETS_PER_USER", "1000000")
        .env("LOG_PARTITIONS", partitions.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    let server = command
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    wait_ready(addr).await?;
    Ok((server, addr))
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

/// A `redis-server` without persistence on a free port, answering PING.
async fn start_redis(program: &Path) -> anyhow::Result<(Child, u16)> {
    let port = free_addr()?.port();
    let child = Command::new(program)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if ping_redis(port).await {
            return Ok((child, port));
        }
        if Instant::now() > deadline {
            bail!("redis-server did not answer PING on port {port}");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

async fn ping_redis(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).await.is_ok() && &answer == b"+PONG\r\n"
}

/// Polls `GET /ready` until it answers 200.
async fn wait_ready(addr: SocketAddr) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/ready");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server at {addr} did not become ready");
        }
        sleep(Duration::from_millis(50)).await;
    }
}
