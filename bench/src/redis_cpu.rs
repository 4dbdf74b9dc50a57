//! Redis CPU per node, from each node's own `INFO cpu`.
//!
//! A cluster's nodes are daemons started by a script, not children of the
//! generator, and all of them share the machine's cores: what matters is
//! how the work splits between them (a chat's writes all land on the node
//! that holds its partition). Redis reports its own CPU time
//! (`used_cpu_sys` + `used_cpu_user`: seconds, every thread of the
//! process), read the same way from a cluster node or the single Redis.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// How long one `INFO cpu` may take, on a node that may be busy.
const INFO_TIMEOUT: Duration = Duration::from_secs(5);

/// CPU seconds the Redis on `port` (127.0.0.1) has used since it started.
pub async fn used_cpu(port: u16) -> anyhow::Result<f64> {
    let info = timeout(INFO_TIMEOUT, info_cpu(port))
        .await
        .with_context(|| format!("INFO cpu on port {port} timed out"))??;
    parse_used_cpu(&info).with_context(|| format!("no used_cpu_* in INFO cpu of port {port}"))
}

/// The text of `INFO cpu`: one request, one bulk-string reply.
async fn info_cpu(port: u16) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("connecting to Redis on port {port}"))?;
    stream.write_all(b"INFO cpu\r\n").await?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).await?;
    let Some(length) = header.trim_end().strip_prefix('$') else {
        bail!("unexpected reply to INFO cpu: {header:?}");
    };
    let length: usize = length.parse().context("bulk string length")?;
    // The text and its closing CRLF.
    let mut body = vec![0; length + 2];
    reader.read_exact(&mut body).await?;
    body.truncate(length);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `used_cpu_sys` plus `used_cpu_user`, in seconds.
fn parse_used_cpu(info: &str) -> Option<f64> {
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.trim_end().strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.parse::<f64>().ok())
    };
    Some(field("used_cpu_sys")? + field("used_cpu_user")?)
}

/// What one node used over an interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeCpu {
    pub port: u16,
    pub seconds: f64,
    /// `seconds` over the interval's wall time.
    pub cores: f64,
}

/// CPU of every node over an interval, started by [`NodesMeter::start`].
#[derive(Debug, Clone)]
pub struct NodesMeter {
    /// Each node's port and its CPU seconds at the start.
    start: Vec<(u16, f64)>,
    at: Instant,
}

impl NodesMeter {
    /// Reads every node's CPU so far.
    pub async fn start(ports: &[u16]) -> anyhow::Result<NodesMeter> {
        let mut start = Vec::with_capacity(ports.len());
        for &port in ports {
            start.push((port, used_cpu(port).await?));
        }
        Ok(NodesMeter {
            start,
            at: Instant::now(),
        })
    }

    /// Each node's CPU since the start, in port order.
    pub async fn stop(&self) -> anyhow::Result<Vec<NodeCpu>> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let mut nodes = Vec::with_capacity(self.start.len());
        for &(port, before) in &self.start {
            let seconds = (used_cpu(port).await? - before).max(0.0);
            nodes.push(NodeCpu {
                port,
                seconds,
                cores: seconds / wall,
            });
        }
        nodes.sort_by_key(|node| node.port);
        Ok(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_cpu_is_system_plus_user() {
        let info = "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.500000\r\n\
                    used_cpu_sys_children:9.000000\r\nused_cpu_user_children:9.000000\r\n\
                    used_cpu_sys_main_thread:1.000000\r\nused_cpu_user_main_thread:0.400000\r\n";
        assert_eq!(parse_used_cpu(info), Some(1.75));
        assert_eq!(parse_used_cpu("# CPU\r\nused_cpu_sys:1.0\r\n"), None);
    }
}
