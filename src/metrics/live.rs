//! Metrics read from the server's state at scrape time.

use std::fmt::Debug;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The values the scrape-time metrics report, read from where they live
/// (the composition root wires the sources in), so that this module needs
/// none of the server's types.
pub trait Readings: Debug + Send + Sync + 'static {
    /// Open WebSocket connections, authenticated or not.
    fn ws_connections(&self) -> usize;
    /// Open WebSocket connections past connection_ack.
    fn ws_authenticated(&self) -> usize;
    /// Each partition's consumer, in partition order.
    fn consumers(&self) -> Vec<ConsumerReading>;
    /// Subscriptions that fell a whole queue behind and backfilled.
    fn backfills(&self) -> u64;
    /// Open subscription event streams (SSE).
    fn sse_streams(&self) -> usize;
    /// Typing and presence channels this process listens to.
    fn signal_channels(&self) -> usize;
}

/// What one partition's log consumer reports.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerReading {
    /// The partition's number: the only label (never a chat or a user,
    /// which would make one series per chat).
    pub partition: u16,
    /// Events read and published.
    pub consumed: u64,
    /// Failed reads.
    pub errors: u64,
    /// Age of the newest event at the last read.
    pub lag: Duration,
    /// Whether the last read succeeded.
    pub up: bool,
}

/// The scrape-time collector over some [`Readings`].
#[derive(Debug)]
pub(super) struct Live(Box<dyn Readings>);

impl Live {
    pub(super) fn new(readings: impl Readings) -> Self {
        Self(Box::new(readings))
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let readings = &self.0;
        gauge(
            &mut encoder,
            "chat_ws_connections",
            "Open WebSocket connections, authenticated or not",
            readings.ws_connections() as i64,
        )?;
        gauge(
            &mut encoder,
            "chat_ws_authenticated_connections",
            "Open WebSocket connections past connection_ack",
            readings.ws_authenticated() as i64,
        )?;
        gauge(
            &mut encoder,
            "chat_sse_streams",
            "Open subscription event streams (GraphQL over SSE)",
            readings.sse_streams() as i64,
        )?;
        counter(
            &mut encoder,
            "chat_subscription_backfills",
            "Times a subscription fell a whole queue (HUB_BUFFER) behind and caught up from the log",
            readings.backfills(),
        )?;
        gauge(
            &mut encoder,
            "chat_signal_channels",
            "Typing and presence channels this process listens to at the backend (one per chat or user some subscription here watches)",
            readings.signal_channels() as i64,
        )?;
        let consumers = readings.consumers();
        per_partition(
            &mut encoder,
            "chat_events_consumed",
            "Events this process's consumer of a partition read from its log and published",
            MetricType::Counter,
            &consumers,
            |c, to| ConstCounter::new(c.consumed).encode(to),
        )?;
        per_partition(
            &mut encoder,
            "chat_consumer_errors",
            "Failed reads of a partition's log (each is followed by a reconnect with backoff)",
            MetricType::Counter,
            &consumers,
            |c, to| ConstCounter::new(c.errors).encode(to),
        )?;
        per_partition(
            &mut encoder,
            "chat_consumer_lag_seconds",
            "Age of the newest event at the last read of a partition's log (0 when it found none): how far its consumer runs behind",
            MetricType::Gauge,
            &consumers,
            |c, to| ConstGauge::new(c.lag.as_secs_f64()).encode(to),
        )?;
        per_partition(
            &mut encoder,
            "chat_consumer_up",
            "1 when the last read of a partition's log succeeded",
            MetricType::Gauge,
            &consumers,
            |c, to| ConstGauge::new(i64::from(c.up)).encode(to),
        )
    }
}

/// One metric with a sample per partition, labelled `partition`.
fn per_partition(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    consumers: &[ConsumerReading],
    sample: impl Fn(&ConsumerReading, MetricEncoder) -> std::fmt::Result,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for consumer in consumers {
        let labels = [("partition", consumer.partition.to_string())];
        sample(consumer, family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}
