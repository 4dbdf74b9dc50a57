//! Metrics read from the server's state at scrape time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio_util::task::TaskTracker;

use crate::realtime::consumer::ConsumerStatus;
use crate::ws::UserSockets;

/// The state the scrape-time metrics come from.
#[derive(Debug)]
pub struct Live {
    pub connections: TaskTracker,
    pub sockets: Arc<UserSockets>,
    pub consumer: Arc<ConsumerStatus>,
    /// The hub's count of subscriptions that fell behind and backfilled.
    pub backfills: Arc<AtomicU64>,
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        gauge(
            &mut encoder,
            "chat_ws_connections",
            "Open WebSocket connections, authenticated or not",
            self.connections.len() as i64,
        )?;
        gauge(
            &mut encoder,
            "chat_ws_authenticated_connections",
            "Open WebSocket connections past connection_ack",
            self.sockets.total() as i64,
        )?;
        counter(
            &mut encoder,
            "chat_events_consumed",
            "Events this process's consumer read from the log and published",
            self.consumer.consumed(),
        )?;
        counter(
            &mut encoder,
            "chat_consumer_errors",
            "Failed reads of the event log (each is followed by a reconnect with backoff)",
            self.consumer.errors(),
        )?;
        let lag = ConstGauge::new(self.consumer.lag().as_secs_f64());
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
            self.backfills.load(Ordering::Relaxed),
        )?;
        gauge(
            &mut encoder,
            "chat_consumer_up",
            "1 when the consumer's last read of the log succeeded",
            i64::from(self.consumer.is_healthy()),
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
