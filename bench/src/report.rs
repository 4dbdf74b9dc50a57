//! Figures of one scenario run, and the table they are printed in.

use hdrhistogram::Histogram;

use crate::redis_cpu::NodeCpu;

/// Percentiles of a latency sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// Summarises microsecond samples.
    pub fn of(samples_us: impl IntoIterator<Item = u32>) -> Latency {
        // Three significant digits from 1 µs to about 71 minutes.
        let Ok(mut histogram) = Histogram::<u64>::new_with_bounds(1, u64::from(u32::MAX), 3) else {
            return Latency::default();
        };
        for sample in samples_us {
            histogram.saturating_record(u64::from(sample.max(1)));
        }
        if histogram.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

/// Everything reported for one scenario on one backend.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub scenario: String,
    pub backend: String,
    pub subscribers: usize,
    pub messages: u64,
    pub mutations_per_sec: f64,
    pub mutation: Latency,
    pub expected: u64,
    pub received: u64,
    pub deliveries_per_sec: f64,
    pub delivery: Latency,
    pub server_cores: f64,
    /// Server CPU microseconds per delivery (Redis's is not included).
    pub cpu_us_per_delivery: f64,
    /// The single Redis's cores from `/proc`, or the sum of a cluster's
    /// nodes' from `INFO cpu`.
    pub redis_cores: Option<f64>,
    /// Each Redis node's CPU over the measured phase (`INFO cpu`), in port
    /// order; empty without Redis.
    pub redis_nodes: Vec<NodeCpu>,
    pub generator_cores: f64,
    /// Cores busy on the whole machine minus server, Redis and generator:
    /// what the other users of the shared machine took meanwhile.
    pub other_cores: f64,
    pub server_rss_mib: f64,
    /// The machine's 1-minute load average when the scenario started.
    pub load_at_start: f64,
    /// Connections scenario only: seconds to get every socket subscribed.
    pub connect_secs: Option<f64>,
    /// Connections scenario only: server RSS growth per subscription.
    pub kib_per_connection: Option<f64>,
    /// Loss, duplicates, misroutes and errors: any makes the run fail.
    pub problems: Vec<String>,
}

/// Prints the outcomes as a Markdown table (pasted as is into BENCHMARKS.md).
pub fn print_table(outcomes: &[Outcome]) {
    println!(
        "| scenario | backend | subs | msgs | mut/s | mut p50/p99 ms | deliveries exp/recv | deliv/s | deliv p50/p90/p99/max ms | server cores | redis cores | gen cores | other cores | µs CPU/deliv | server RSS MiB | load | result |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for o in outcomes {
        let redis = o.redis_cores.map_or("-".to_owned(), |c| format!("{c:.2}"));
        let result = if o.problems.is_empty() { "ok" } else { "FAIL" };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} / {:.2} | {} / {} | {:.0} | {:.2} / {:.2} / {:.2} / {:.1} | {:.2} | {} | {:.2} | {:.2} | {:.1} | {:.0} | {:.1} | {} |",
            o.scenario,
            o.backend,
            o.subscribers,
            o.messages,
            o.mutations_per_sec,
            o.mutation.p50,
            o.mutation.p99,
            o.expected,
            o.received,
            o.deliveries_per_sec,
            o.delivery.p50,
            o.delivery.p90,
            o.delivery.p99,
            o.delivery.max,
            o.server_cores,
            redis,
            o.generator_cores,
            o.other_cores,
            o.cpu_us_per_delivery,
            o.server_rss_mib,
            o.load_at_start,
            result,
        );
    }
    for o in outcomes {
        if let (Some(secs), Some(kib)) = (o.connect_secs, o.kib_per_connection) {
            println!(
                "\n{} ({}): {} subscriptions connected in {secs:.2} s; server RSS {kib:.1} KiB per idle subscription",
                o.scenario, o.backend, o.subscribers
            );
        }
    }
    for o in outcomes.iter().filter(|o| !o.problems.is_empty()) {
        println!("\n{} ({}) FAILED:", o.scenario, o.backend);
        for problem in &o.problems {
            println!("  - {problem}");
        }
    }
}

/// Prints each Redis node's share of the Redis CPU, for the outcomes that
/// measured it: a cluster spreads partitions, not chats, so a chat's writes
/// all land on one node, and this shows which node took the work. Redis
/// CPU and commands per message are summed over the nodes.
pub fn print_nodes(outcomes: &[Outcome]) {
    let measured: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !o.redis_nodes.is_empty())
        .collect();
    if measured.is_empty() {
        return;
    }
    println!(
        "\nRedis CPU per node over the measured phase (INFO cpu: used_cpu_sys + used_cpu_user):\n"
    );
    println!(
        "| scenario | backend | msgs | Redis CPU s per node (share) | Redis CPU s | Redis µs CPU/msg | Redis commands/msg | busiest node |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for o in measured {
        let split = NodeSplit::of(&o.redis_nodes);
        let nodes: Vec<String> = o
            .redis_nodes
            .iter()
            .zip(&split.shares)
            .map(|(node, share)| format!(":{} {:.2} s ({share:.0} %)", node.port, node.seconds))
            .collect();
        let busiest = split.busiest.map_or("-".to_owned(), |(port, share)| {
            format!(":{port} ({share:.0} %)")
        });
        let commands: u64 = o.redis_nodes.iter().map(|node| node.commands).sum();
        let messages = o.messages.max(1) as f64;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.1} | {:.2} | {} |",
            o.scenario,
            o.backend,
            o.messages,
            nodes.join(", "),
            split.total,
            split.total * 1e6 / messages,
            commands as f64 / messages,
            busiest,
        );
    }
}

/// How Redis CPU splits over the nodes.
#[derive(Debug, PartialEq)]
struct NodeSplit {
    /// CPU seconds of all nodes together.
    total: f64,
    /// Each node's percentage of `total`, in the nodes' order.
    shares: Vec<f64>,
    /// The port and percentage of the node that used the most.
    busiest: Option<(u16, f64)>,
}

impl NodeSplit {
    fn of(nodes: &[NodeCpu]) -> NodeSplit {
        let total: f64 = nodes.iter().map(|node| node.seconds).sum();
        let share = |node: &NodeCpu| match total > 0.0 {
            true => node.seconds * 100.0 / total,
            false => 0.0,
        };
        let busiest = nodes
            .iter()
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .map(|node| (node.port, share(node)));
        NodeSplit {
            total,
            shares: nodes.iter().map(share).collect(),
            busiest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_shares_add_up_and_name_the_busiest() {
        let node = |port, seconds| NodeCpu {
            port,
            seconds,
            ..NodeCpu::default()
        };
        let split = NodeSplit::of(&[node(7001, 1.0), node(7002, 3.0), node(7003, 0.0)]);
        assert_eq!(
            split,
            NodeSplit {
                total: 4.0,
                shares: vec![25.0, 75.0, 0.0],
                busiest: Some((7002, 75.0)),
            }
        );
        assert_eq!(NodeSplit::of(&[node(7001, 0.0)]).shares, vec![0.0]);
    }
}
