//! A local Redis Cluster for the `cluster` backend: three primaries, no
//! replicas, started and stopped with the repository's
//! `scripts/redis-cluster`, so the benchmark measures the same cluster the
//! behaviour tests and CI run against.
//!
//! The nodes are daemons, not children of the generator, so killing the
//! generator would not take them down: the script is given the generator's
//! pid (`--watch-pid`) and its watchdog stops them once the generator has
//! gone, whatever way it went. A normal run stops each cluster itself at
//! the end of its scenario, so the next scenario starts on a fresh one.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::Command;

use crate::layout::now_ns;

/// How long the script may take to bring the cluster up (it gives up
/// after 30 s of waiting for the nodes to agree, plus the start itself).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running local cluster.
pub struct RedisCluster {
    /// The primaries' URLs as the script printed them, comma-separated:
    /// the server's `REDIS_URL`.
    pub url: String,
    /// Every node's port, from the script's `nodes.txt`.
    pub ports: Vec<u16>,
    script: PathBuf,
    /// The script's directory for this cluster (node configs, logs, pids).
    dir: PathBuf,
    stopped: bool,
}

impl RedisCluster {
    /// Starts a cluster of 3 primaries on free ports with `script` and
    /// waits until every node reports the cluster ready.
    pub async fn start(script: &Path) -> anyhow::Result<RedisCluster> {
        let dir =
            std::env::temp_dir().join(format!("bench-cluster-{}-{}", std::process::id(), now_ns()));
        let mut cluster = RedisCluster {
            url: String::new(),
            ports: Vec::new(),
            script: script.to_owned(),
            dir,
            stopped: false,
        };
        let run = Command::new(script)
            .args(["start", "--replicas", "0", "--dir"])
            .arg(&cluster.dir)
            .args(["--watch-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .output();
        // On any error below, dropping `cluster` stops whatever started.
        let output = tokio::time::timeout(START_TIMEOUT, run)
            .await
            .context("the cluster script did not finish in time")?
            .with_context(|| format!("running {} start", script.display()))?;
        if !output.status.success() {
            bail!("{} start failed ({})", script.display(), output.status);
        }
        cluster.url = String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .context("the cluster script printed no seed URLs")?
            .trim()
            .to_owned();
        let nodes = std::fs::read_to_string(cluster.dir.join("nodes.txt"))
            .context("reading the cluster's nodes.txt")?;
        cluster.ports = node_ports(&nodes)?;
        Ok(cluster)
    }

    /// Stops every node and removes the cluster's directory.
    pub async fn stop(mut self) {
        self.stopped = true;
        let _ = Command::new(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .await;
    }
}

impl Drop for RedisCluster {
    /// A scenario that fails part-way drops its processes without stopping
    /// them: the nodes must not keep running (and taking CPU) through the
    /// next scenario, so they are stopped here, blocking for a moment.
    fn drop(&mut self) {
        if self.stopped || !self.dir.exists() {
            return;
        }
        let _ = std::process::Command::new(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}

/// The ports of `nodes.txt`, whose lines read `port role pid`.
fn node_ports(nodes: &str) -> anyhow::Result<Vec<u16>> {
    let ports = nodes
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            line.split_whitespace()
                .next()
                .and_then(|port| port.parse().ok())
                .with_context(|| format!("a nodes.txt line without a port: {line:?}"))
        })
        .collect::<anyhow::Result<Vec<u16>>>()?;
    anyhow::ensure!(!ports.is_empty(), "nodes.txt lists no node");
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_nodes_txt() {
        let nodes = "14001 primary 101\n14002 primary 102\n14003 replica 103\n";
        assert_eq!(node_ports(nodes).unwrap(), vec![14001, 14002, 14003]);
        assert!(node_ports("").is_err());
        assert!(node_ports("primary 14001 1\n").is_err());
    }
}
