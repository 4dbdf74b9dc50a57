//! Metrics read from the server's state at scrape time.

use std::fmt::Debug;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
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
    /// Events the log consumer read and published.
    fn events_consumed(&self) -> u64;
    /// Failed reads of the event log.
    fn consumer_errors(&self) -> u64;
    /// Age of the newest event at the consumer's last read.
    fn consumer_lag(&self) -> Duration;
    /// Whether the consumer's last read succeeded.
    fn consumer_up(&self) -> bool;
    /// Subscriptions that fell a whole queue behind and backfilled.
    fn backfills(&self) -> u64;
    /// Open subscription event streams (SSE).
    fn sse_streams(&self) -> usize;
    /// Typing and presence channels this process listens to.
    fn signal_channels(&self) -> usize;
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
            "chat_events_consumed",
            "Events this process's consumer read from the log and published",
            readings.events_consumed(),
        )?;
        counter(
            &mut encoder,
            "chat_consumer_errors",
            "Failed reads of the event log (each is followed by a reconnect with backoff)",
            readings.consumer_errors(),
        )?;
        let lag = ConstGauge::new(readings.consumer_lag().as_secs_f64());
        lag.encode(encoder.encode_descriptor(
            "chat_consumer_lag_seconds",
            "Age of the newest event at the consumer's last read (0 when it found none): how far it runs behind the log",
            None,
            lag.metric_type(),
        )?)?;
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
        gauge(
            &mut encoder,
            "chat_consumer_up",
            "1 when the consumer's last read of the log succeeded",
            i64::from(readings.consumer_up()),
        )
    }
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
