//! Local Redis Clusters for tests, started with the repository's
//! `scripts/redis-cluster` (3 primaries on free ports, no persistence).
//!
//! The behaviour suite shares one cluster per test process: each test
//! server uses a key prefix of its own, so tests stay independent and run
//! in parallel. Fault tests, which kill nodes, start a cluster of their
//! own. Every cluster is stopped when the test process exits (the script's
//! watchdog follows this process), and a dropped [`RedisCluster`] stops its
//! own at once.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// A running cluster.
pub struct RedisCluster {
    /// The primaries' URLs, comma-separated: what `REDIS_URL` takes.
    pub url: String,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts a cluster of 3 primaries, each with `replicas` replicas (0 or
    /// 1), and waits until it is ready.
    pub fn start(replicas: u8) -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "chat-server-test-cluster-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let output = Command::new(script())
            .arg("start")
            .args(["--replicas", &replicas.to_string()])
            .arg("--dir")
            .arg(&dir)
            .args(["--watch-pid", &std::process::id().to_string()])
            .output()
            .expect("cannot run scripts/redis-cluster");
        assert!(
            output.status.success(),
            "scripts/redis-cluster start failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = String::from_utf8(output.stdout)
            .expect("seed URLs")
            .trim()
            .to_owned();
        RedisCluster { url, dir }
    }

    /// The cluster the behaviour suite shares (no replicas), started on
    /// first use.
    pub fn shared() -> &'static RedisCluster {
        static SHARED: OnceLock<RedisCluster> = OnceLock::new();
        SHARED.get_or_init(|| RedisCluster::start(0))
    }

    /// Each node's port and role (`primary` or `replica`) at start.
    pub fn nodes(&self) -> Vec<(u16, String, u32)> {
        let text = std::fs::read_to_string(self.dir.join("nodes.txt")).expect("nodes.txt");
        text.lines()
            .map(|line| {
                let mut parts = line.split_whitespace();
                let port = parts.next().and_then(|p| p.parse().ok()).expect("a port");
                let role = parts.next().expect("a role").to_owned();
                let pid = parts.next().and_then(|p| p.parse().ok()).expect("a pid");
                (port, role, pid)
            })
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/redis-cluster")
}
