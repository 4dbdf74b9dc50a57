//! A private `redis-server` per test: a free port, stopped when dropped.
//! Tests never touch a shared Redis, so they run in parallel, and a test may
//! kill and restart its own server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// With persistence: the directory of its append-only file, kept across
    /// restarts and removed on drop.
    dir: Option<PathBuf>,
}

impl RedisServer {
    /// Starts `redis-server` (from PATH) without persistence and waits until
    /// it answers.
    pub async fn start() -> RedisServer {
        Self::launch(free_port(), None).await
    }

    /// Starts one that writes every change to an append-only file before
    /// answering (`appendfsync always`), so a SIGKILL loses nothing that was
    /// acknowledged and [`Self::restart`] brings it all back.
    pub async fn start_durable() -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "chat-server-test-redis-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("cannot create the Redis data directory");
        Self::launch(free_port(), Some(dir)).await
    }

    async fn launch(port: u16, dir: Option<PathBuf>) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.spawn();
        server.wait_until_up().await;
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]);
        match &self.dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be on PATH (apt-get install redis-server)");
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (and, when durable, from its files).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_until_up().await;
    }

    async fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).unwrap();
        loop {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}
