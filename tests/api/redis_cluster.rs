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
use std::time::Duration;

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
        let dir_arg = dir.to_string_lossy().into_owned();
        let (replicas, pid) = (replicas.to_string(), std::process::id().to_string());
        let args = [
            "start",
            "--replicas",
            &replicas,
            "--dir",
            &dir_arg,
            "--watch-pid",
            &pid,
        ];
        let url = run_script(&args).trim().to_owned();
        RedisCluster { url, dir }
    }

    /// The cluster the behaviour suite shares (no replicas), started on
    /// first use.
    pub fn shared() -> &'static RedisCluster {
        static SHARED: OnceLock<RedisCluster> = OnceLock::new();
        SHARED.get_or_init(|| RedisCluster::start(0))
    }

    /// The port of the primary serving the slot of hash tag `tag` now, as
    /// the first node that answers on `ports` sees it.
    pub fn primary_of(&self, tag: &str) -> u16 {
        let ports = self.ports();
        let mut conn = ports
            .iter()
            .find_map(|port| {
                let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
                client
                    .get_connection_with_timeout(Duration::from_secs(1))
                    .ok()
            })
            .expect("no node of the cluster answers");
        let slot: u16 = ::redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(format!("{{{tag}}}"))
            .query(&mut conn)
            .expect("CLUSTER KEYSLOT");
        let nodes: String = ::redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut conn)
            .expect("CLUSTER NODES");
        // <id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <state> <slots>...
        nodes
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.len() > 8 && f[2].contains("master") && !f[2].contains("fail"))
            .find(|f| f[8..].iter().any(|range| serves(range, slot)))
            .and_then(|f| f[1].split(['@', ':']).nth(1)?.parse().ok())
            .unwrap_or_else(|| panic!("no primary serves slot {slot}:\n{nodes}"))
    }

    /// SIGKILLs the node on `port`, as a crash would.
    pub fn kill(&self, port: u16) {
        let pid = std::fs::read_to_string(self.dir.join(format!("node-{port}.pid")))
            .expect("the node's pidfile");
        let status = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -9 {pid} failed");
    }

    /// Starts a killed node again; it rejoins the cluster (as a replica,
    /// when it was failed over meanwhile).
    pub fn restart(&self, port: u16) {
        let dir = self.dir.to_string_lossy();
        run_script(&["restart", &dir, &port.to_string()]);
    }

    /// Every node's port.
    fn ports(&self) -> Vec<u16> {
        let text = std::fs::read_to_string(self.dir.join("nodes.txt")).expect("nodes.txt");
        text.lines()
            .filter_map(|line| line.split_whitespace().next()?.parse().ok())
            .collect()
    }
}

/// Whether a `CLUSTER NODES` slot field (`5461-10922`, `42`, or an
/// importing/migrating marker) covers `slot`.
fn serves(range: &str, slot: u16) -> bool {
    let (low, high) = range.split_once('-').unwrap_or((range, range));
    match (low.parse::<u16>(), high.parse::<u16>()) {
        (Ok(low), Ok(high)) => (low..=high).contains(&slot),
        _ => false,
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
    }
}

/// Runs `scripts/redis-cluster` with `args`, failing the test with its
/// diagnostics unless it succeeds; returns what it printed.
fn run_script(args: &[&str]) -> String {
    let output = Command::new(script())
        .args(args)
        .output()
        .expect("cannot run scripts/redis-cluster");
    assert!(
        output.status.success(),
        "scripts/redis-cluster {} failed:\n{}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the script prints text")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/redis-cluster")
}
