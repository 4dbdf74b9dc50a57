//! Figures of one scenario run, and the table they are printed in.

use hdrhistogram::Histogram;

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
    /// Server CPU microseconds per delivery (with Redis's added, when it runs).
    pub cpu_us_per_delivery: f64,
    pub redis_cores: Option<f64>,
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
