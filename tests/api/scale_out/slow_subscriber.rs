//! A subscriber that stops reading: the hub drops it behind, the log
//! backfills it, and no other subscriber waits for it.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chat_server::store::Positions;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

use super::{PATIENCE, bodies, join_within, logged_bodies, subscribe_messages, text};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::ws_client::{self, next_event, next_events, vars};

/// Counts the server's "subscription lagged" debug events on this thread
/// while alive, so a test can tell that the log backfill really ran.
///
/// `#[tokio::test]` runs the server's tasks on the test's own thread, so a
/// thread-local subscriber sees them. With `TEST_LOG` set, logs still print.
struct LagCounter {
    count: Arc<AtomicUsize>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LagCounter {
    fn install() -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        let counting =
            CountLagged(count.clone()).with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                meta.target().starts_with("chat_server")
            }));
        let printing = std::env::var_os("TEST_LOG").map(|_| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(tracing_subscriber::EnvFilter::new("debug"))
        });
        let subscriber = tracing_subscriber::registry().with(counting).with(printing);
        Self {
            count,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

struct CountLagged(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for CountLagged {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = MessageText(String::new());
        event.record(&mut message);
        if message.0.contains("lagged") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The `message` of a tracing event, as text.
struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Events the hub buffers per subscriber in this test.
const SMALL_HUB: usize = 16;

/// How many times the slow subscriber selects each message's body.
const BODY_COPIES: usize = 16;

/// `messageCreated` selecting the body [`BODY_COPIES`] times (as `body`,
/// `b1`, `b2`, ...), so a subscriber that stops reading fills its socket's
/// buffers after a few dozen messages and its server side stops draining
/// the hub: the kernel would otherwise absorb all the messages and no lag
/// would ever happen.
fn fat_query() -> String {
    let copies: String = (1..BODY_COPIES).map(|i| format!(" b{i}: body")).collect();
    format!(
        "subscription($c: ID, $a: String) {{ messageCreated(chatId: $c, after: $a) {{ chatId body cursor{copies} }} }}"
    )
}

/// A subscriber that reads nothing while 10× the hub buffer of messages go by is backfilled from the log (every message once, in order), and does not hold back a fast subscriber in the same chat.
async fn a_stalled_subscriber_is_backfilled_and_holds_no_one_back(backend: Backend) {
    // Arrange: a tiny hub buffer; a fast and a slow subscriber, both live.
    let lagged = LagCounter::install();
    let app = TestApp::spawn_with(backend, |c| c.hub_buffer = SMALL_HUB).await;
    let (ada, fast, slow) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&fast, &slow]).await;
    let start = text(&app.send(&ada, &chat, "start").await, "cursor");
    let mut fast_ws = subscribe_messages(&app, &fast, Some(&chat), Some(&start)).await;
    let slow_vars = vars(Some(&chat), Some(&start));
    let mut slow_ws = ws_client::subscribe(&app, &slow, &fat_query(), slow_vars).await;
    app.send(&ada, &chat, "both live").await;
    assert_eq!(bodies(&[next_event(&mut fast_ws).await]), ["both live"]);
    assert_eq!(bodies(&[next_event(&mut slow_ws).await]), ["both live"]);
    // Long bodies, so the slow socket's buffers fill and its server side
    // stops draining the hub.
    const N: usize = 10 * SMALL_HUB + 4;
    let body = |i: usize| format!("{i:04} {}", "x".repeat(3_995));
    let fast_reader = tokio::spawn(async move {
        let mut got = Vec::with_capacity(N);
        for _ in 0..N {
            let message = next_event(&mut fast_ws).await;
            got.push((text(&message, "body"), Instant::now()));
        }
        (got, fast_ws)
    });

    // Act: send N while the slow one reads nothing; it reads only after the
    // fast one has had them all.
    let began = Instant::now();
    let mut acked_at = Vec::with_capacity(N);
    for i in 0..N {
        app.send(&ada, &chat, &body(i)).await;
        acked_at.push(Instant::now());
    }
    let sending = began.elapsed();
    let (fast_got, mut fast_ws) = join_within(fast_reader, PATIENCE, "the fast subscriber").await;
    let slow_started = Instant::now();
    let slow_got = bodies(&next_events(&mut slow_ws, N).await);
    let slow_reading = slow_started.elapsed();

    // Assert
    let expected: Vec<String> = (0..N).map(body).collect();
    let logged = logged_bodies(
        &app.events().await,
        &Positions::zero(app.store.partitions()),
    );
    assert_eq!(
        logged[&chat][2..],
        expected[..],
        "the log is not the send order"
    );
    let fast_bodies: Vec<String> = fast_got.iter().map(|(b, _)| b.clone()).collect();
    assert!(
        fast_bodies == expected,
        "the fast subscriber's messages differ: {:?}",
        fast_bodies.iter().map(|b| &b[..4]).collect::<Vec<_>>()
    );
    assert!(
        slow_got == expected,
        "the slow subscriber's messages differ: {:?}",
        slow_got.iter().map(|b| &b[..4]).collect::<Vec<_>>()
    );
    assert!(fast_got.iter().all(|(_, at)| *at < slow_started));
    let worst = fast_got
        .iter()
        .zip(&acked_at)
        .map(|((_, got), acked)| got.saturating_duration_since(*acked))
        .max()
        .unwrap_or_default();
    slow_ws.expect_silence(Duration::from_millis(200)).await;
    fast_ws.expect_silence(Duration::from_millis(200)).await;
    eprintln!(
        "scale_out slow subscriber ({backend:?}): hub buffer {SMALL_HUB}, {N} messages sent in {sending:?}; fast got {}/{N} before the slow one read (worst delay after the ack {worst:?}); slow got {}/{N} in order in {slow_reading:?}; 'lagged' logged {} times",
        fast_got.len(),
        slow_got.len(),
        lagged.count()
    );
    assert!(
        lagged.count() >= 1,
        "the slow subscriber never lagged: the backfill was not exercised"
    );
    let metrics = crate::metrics::scrape(&app).await;
    let backfills = crate::metrics::sample(&metrics, "chat_subscription_backfills_total");
    assert!(
        backfills >= 1.0,
        "the backfill is not in /metrics:\n{metrics}"
    );
}

on_both_backends!(a_stalled_subscriber_is_backfilled_and_holds_no_one_back);
