//! Redis CPU per node, from each node's own `INFO cpu`, and the commands
//! it ran (`INFO stats`).
//!
//! A cluster's nodes are daemons started by a script, not children of the
//! generator, and all of them share the machine's cores: what matters is
//! how the work splits between them (a chat's writes all land on the node
//! that holds its partition). Redis reports its own CPU time
//! (`used_cpu_sys` + `used_cpu_user`: seconds, every thread of the
//! process), read the same way from a cluster node or the single Redis.
//! The command count tells whether a change in CPU per message comes from
//! more commands or from dearer ones.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// How long reading a node's figures may take, on a node that may be busy.
const INFO_TIMEOUT: Duration = Duration::from_secs(5);

/// What a node has used since it started.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    /// CPU seconds.
    cpu: f64,
    /// `total_commands_processed` (the generator's own `INFO`s included:
    /// two per reading).
    commands: u64,
}

/// The figures of the Redis on `port` (127.0.0.1).
async fn read(port: u16) -> anyhow::Result<Reading> {
    let (cpu, stats) = timeout(INFO_TIMEOUT, info(port))
        .await
        .with_context(|| format!("INFO on port {port} timed out"))??;
    let cpu = match (field(&cpu, "used_cpu_sys"), field(&cpu, "used_cpu_user")) {
        (Some(sys), Some(user)) => sys + user,
        _ => bail!("no used_cpu_* in INFO cpu of port {port}"),
    };
    let commands = field(&stats, "total_commands_processed")
        .with_context(|| format!("no total_commands_processed in INFO stats of port {port}"))?;
    Ok(Reading {
        cpu,
        commands: commands as u64,
    })
}

/// The text of `INFO cpu` and of `INFO stats`, on one connection.
async fn info(port: u16) -> anyhow::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("connecting to Redis on port {port}"))?;
    stream.write_all(b"INFO cpu\r\nINFO stats\r\n").await?;
    let mut reader = BufReader::new(stream);
    Ok((bulk(&mut reader).await?, bulk(&mut reader).await?))
}

/// One bulk-string reply.
async fn bulk(reader: &mut BufReader<TcpStream>) -> anyhow::Result<String> {
    let mut header = String::new();
    reader.read_line(&mut header).await?;
    let Some(length) = header.trim_end().strip_prefix('$') else {
        bail!("unexpected reply to INFO: {header:?}");
    };
    let length: usize = length.parse().context("bulk string length")?;
    // The text and its closing CRLF.
    let mut body = vec![0; length + 2];
    reader.read_exact(&mut body).await?;
    body.truncate(length);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The number after `name:` on a line of INFO text.
fn field(info: &str, name: &str) -> Option<f64> {
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.parse().ok())
}

/// What one node used over an interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeCpu {
    pub port: u16,
    pub seconds: f64,
    /// `seconds` over the interval's wall time.
    pub cores: f64,
    /// Commands the node ran.
    pub commands: u64,
}

/// CPU of every node over an interval, started by [`NodesMeter::start`].
#[derive(Debug, Clone)]
pub struct NodesMeter {
    /// Each node's port and its figures at the start.
    start: Vec<(u16, Reading)>,
    at: Instant,
}

impl NodesMeter {
    /// Reads every node's figures so far.
    pub async fn start(ports: &[u16]) -> anyhow::Result<NodesMeter> {
        let mut start = Vec::with_capacity(ports.len());
        for &port in ports {
            start.push((port, read(port).await?));
        }
        Ok(NodesMeter {
            start,
            at: Instant::now(),
        })
    }

    /// Each node's use since the start, in port order.
    pub async fn stop(&self) -> anyhow::Result<Vec<NodeCpu>> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let mut nodes = Vec::with_capacity(self.start.len());
        for &(port, before) in &self.start {
            let now = read(port).await?;
            let seconds = (now.cpu - before.cpu).max(0.0);
            nodes.push(NodeCpu {
                port,
                seconds,
                cores: seconds / wall,
                commands: now.commands.saturating_sub(before.commands),
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
    fn fields_are_found_by_their_whole_name() {
        let info = "# CPU\r\nused_cpu_sys_children:9.000000\r\nused_cpu_sys:1.250000\r\n\
                    used_cpu_user:0.500000\r\nused_cpu_user_main_thread:0.400000\r\n";
        assert_eq!(field(info, "used_cpu_sys"), Some(1.25));
        assert_eq!(field(info, "used_cpu_user"), Some(0.5));
        assert_eq!(field(info, "used_cpu"), None);
        let stats = "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:1234\r\n";
        assert_eq!(field(stats, "total_commands_processed"), Some(1234.0));
    }
}
