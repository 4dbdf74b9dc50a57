//! Prometheus metrics at `GET /metrics`.
//!
//! Counters and histograms are updated where things happen (the GraphQL
//! layer's `observe` extension, subscriptions, the WebSocket connection)
//! through [`Metrics`]' methods; values that already live elsewhere — open
//! sockets, the consumer's progress — are read at scrape time through
//! [`Readings`], so there is one source of truth for each. Names follow
//! Prometheus conventions: base units, `_total` on counters, and no user or
//! chat ids as labels (their number is unbounded).
//!
//! A leaf: it imports nothing of the server. Others feed it.

mod live;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use self::live::Live;

pub use self::live::{ConsumerReading, Readings};

/// `code` label: an error's `extensions.code`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

/// `reason` label: which limit refused something.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// The server's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Counter,
    errors: Family<CodeLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    duration: Histogram,
    subscriptions: Gauge,
    deliveries: Counter,
    renders: Counter,
}

impl Metrics {
    /// Registers every metric, with `readings` answering the scrape-time
    /// ones.
    pub fn new(readings: impl Readings) -> Self {
        let mut registry = Registry::default();
        let requests = Counter::default();
        registry.register(
            "chat_graphql_requests",
            "GraphQL operations executed (HTTP and WebSocket; subscriptions count once, when they start)",
            requests.clone(),
        );
        let errors = Family::<CodeLabel, Counter>::default();
        registry.register(
            "chat_graphql_errors",
            "GraphQL errors sent, by extensions.code",
            errors.clone(),
        );
        let rejected = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "chat_rejected",
            "Operations and sockets refused by a limit, by the limit",
            rejected.clone(),
        );
        // 0.5 ms to ~16 s.
        let duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "chat_graphql_request_duration_seconds",
            "Time to execute a query or mutation",
            duration.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "chat_subscriptions_active",
            "Subscriptions currently running",
            subscriptions.clone(),
        );
        let deliveries = Counter::default();
        registry.register(
            "chat_subscription_deliveries",
            "Subscription results sent to clients",
            deliveries.clone(),
        );
        let renders = Counter::default();
        registry.register(
            "chat_subscription_renders",
            "Subscription results executed and serialised; each is shared by every subscriber of its event with the same selection, so deliveries / renders is the sharing factor",
            renders.clone(),
        );
        registry.register_collector(Box::new(Live::new(readings)));
        Self(Arc::new(Inner {
            registry,
            requests,
            errors,
            rejected,
            duration,
            subscriptions,
            deliveries,
            renders,
        }))
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    /// Counts one operation executed (a query or mutation, over any
    /// transport) and how long it took.
    pub fn request_finished(&self, took: Duration) {
        self.0.requests.inc();
        self.0.duration.observe(took.as_secs_f64());
    }

    /// Counts one subscription requested by a client.
    pub fn subscription_requested(&self) {
        self.0.requests.inc();
    }

    /// Counts one error sent, by its `extensions.code`.
    pub fn error_sent(&self, code: String) {
        self.0.errors.get_or_create(&CodeLabel { code }).inc();
    }

    /// Counts something refused by the limit named `reason`.
    pub fn reject(&self, reason: &str) {
        self.0
            .rejected
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts one result sent to a subscriber.
    pub fn delivered(&self) {
        self.0.deliveries.inc();
    }

    /// Counts one subscription result executed and serialised.
    pub fn rendered(&self) {
        self.0.renders.inc();
    }

    /// Marks a subscription as running until the guard is dropped.
    pub fn subscription_started(&self) -> SubscriptionGuard {
        self.0.subscriptions.inc();
        SubscriptionGuard(self.0.subscriptions.clone())
    }
}

/// Held by a running subscription; dropping it (however the stream ends)
/// takes the subscription off the gauge.
pub struct SubscriptionGuard(Gauge);

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
