//! Scaling out and faults: two processes sharing one Redis, Redis killed
//! and restarted under load (with and without its data), a subscriber that
//! stops reading, and fan-out to many subscribers at once.
//!
//! Each test prints a one-line summary of its figures with `eprintln!`, so
//! `cargo test --test api scale_out -- --nocapture` shows them.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_server::auth::Tokens;
use chat_server::cursor::Cursor;
use chat_server::domain::Username;
use chat_server::store::{Event, EventKind, LogId};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::helpers::{Account, Backend, TEST_SECRET, TestApp, error_code, unique_name};
use crate::on_both_backends;
use crate::ws_client::{WsClient, WsProtocol};

/// The id every test here gives its one subscription per socket.
const SUB: &str = "s";

/// `messageCreated` with the fields the tests compare.
const MESSAGES: &str = "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { chatId body cursor } }";

/// `sendMessage` for senders that must see failures rather than assert on them.
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { body cursor } }";

/// One page of a chat's history, newest last, paging back with `before`.
const HISTORY: &str = "query($id: ID!, $b: String) { chat(id: $id) { messages(last: 100, before: $b) { edges { node { body } } pageInfo { hasPreviousPage startCursor } } } }";

/// The longest any polling loop here may take.
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Helpers of this file
// ---------------------------------------------------------------------------

/// Opens a socket on `app`, authenticates with `token` and starts
/// `messageCreated` (id [`SUB`]) with this query, chat filter and `after`.
async fn subscribe_with(
    app: &TestApp,
    token: &str,
    query: &str,
    chat: Option<&str>,
    after: Option<&str>,
) -> WsClient {
    let mut client = WsClient::connect(app, WsProtocol::TransportWs).await;
    client.init(token).await;
    client
        .subscribe(SUB, query, json!({ "c": chat, "a": after }))
        .await;
    client
}

/// [`subscribe_with`] the standard [`MESSAGES`] selection.
async fn subscribe(
    app: &TestApp,
    token: &str,
    chat: Option<&str>,
    after: Option<&str>,
) -> WsClient {
    subscribe_with(app, token, MESSAGES, chat, after).await
}

/// The next `messageCreated` on `client`; anything else fails the test.
async fn next_message(client: &mut WsClient) -> Value {
    let mut payload = client.expect_next(SUB).await;
    assert!(
        payload.get("errors").is_none(),
        "a delivery carried errors: {payload}"
    );
    payload["data"]["messageCreated"].take()
}

/// The next `n` messages on `client`.
async fn next_messages(client: &mut WsClient, n: usize) -> Vec<Value> {
    let mut messages = Vec::with_capacity(n);
    for _ in 0..n {
        messages.push(next_message(client).await);
    }
    messages
}

/// The `body` of each message.
fn bodies(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| text(m, "body")).collect()
}

/// A string field of a JSON object, failing the test when absent.
fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
        .to_owned()
}

/// The bodies of the log's `MessageCreated` events after `after`, per chat,
/// in log order.
fn logged_bodies(events: &[Event], after: LogId) -> HashMap<String, Vec<String>> {
    let mut per_chat: HashMap<String, Vec<String>> = HashMap::new();
    for event in events.iter().filter(|e| e.id > after) {
        if let EventKind::MessageCreated(message) = &event.kind {
            per_chat
                .entry(event.chat_id.to_string())
                .or_default()
                .push(message.body.clone());
        }
    }
    per_chat
}

/// A chat's whole history through the API, oldest first.
async fn history(app: &TestApp, token: &str, chat: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let response = app
            .graphql(Some(token), HISTORY, json!({ "id": chat, "b": before }))
            .await;
        let page = &response["data"]["chat"]["messages"];
        assert!(page.is_object(), "history failed: {response}");
        let edges = page["edges"].as_array().expect("edges");
        pages.push(
            edges
                .iter()
                .map(|e| text(&e["node"], "body"))
                .collect::<Vec<_>>(),
        );
        if page["pageInfo"]["hasPreviousPage"] != json!(true) {
            break;
        }
        before = Some(text(&page["pageInfo"], "startCursor"));
    }
    pages.into_iter().rev().flatten().collect()
}

/// The status `/ready` answers, or `None` when it does not answer within
/// [`PROBE_TIMEOUT`] (a probe that hangs is as bad as one that says no).
async fn ready_status(app: &TestApp) -> Option<u16> {
    let response = app
        .http
        .get(format!("{}/ready", app.address))
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// How long a readiness probe may take: load balancers time probes out
/// after a second or so.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One `/ready` probe: when it was sent (after the start of the probing),
/// what it answered (`None`: no answer within [`PROBE_TIMEOUT`]), and how
/// long it took.
#[derive(Debug)]
struct Probe {
    after: Duration,
    status: Option<u16>,
    took: Duration,
}

/// Probes `/ready` one after another, 50 ms apart, from `since` for `period`.
async fn probe_ready_for(app: &TestApp, since: Instant, period: Duration) -> Vec<Probe> {
    let mut probes = Vec::new();
    while since.elapsed() < period {
        let at = Instant::now();
        let status = ready_status(app).await;
        probes.push(Probe {
            after: at - since,
            status,
            took: at.elapsed(),
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probes
}

/// Polls `/ready` every 50 ms until it answers `want`; how long that took,
/// or `None` when it did not within `limit`.
async fn wait_for_ready(app: &TestApp, want: u16, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready_status(app).await == Some(want) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Awaits a spawned task for at most `limit`, re-raising its panic.
async fn join_within<T>(task: JoinHandle<T>, limit: Duration, what: &str) -> T {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Ok(Err(error)) => panic!("{what} failed: {error}"),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Retries `attempt` every 50 ms until it returns `Some`, for at most
/// [`PATIENCE`]: for the first requests after Redis came back.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, attempt: impl Fn() -> F) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a `sendMessage` over HTTP ended.
#[derive(Debug, Clone)]
enum Outcome {
    /// Answered with the message.
    Acked,
    /// Answered with an error carrying this `extensions.code`.
    Failed(String),
    /// Not answered as GraphQL (transport error, timeout, odd status).
    Unanswered(String),
}

/// One `sendMessage` attempt with everything owned, for a sender task; the
/// request is bounded, so an outage cannot hang the sender.
async fn try_send(
    http: &reqwest::Client,
    address: &str,
    token: &str,
    chat: &str,
    body: &str,
) -> Outcome {
    let request = http
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(5))
        .json(&json!({ "query": SEND, "variables": { "i": { "chatId": chat, "body": body } } }));
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Outcome::Unanswered(error.to_string()),
    };
    if response.status() != 200 {
        return Outcome::Unanswered(format!("HTTP {}", response.status()));
    }
    let value: Value = match response.json().await {
        Ok(value) => value,
        Err(error) => return Outcome::Unanswered(error.to_string()),
    };
    if value["data"]["sendMessage"]["body"] == body {
        return Outcome::Acked;
    }
    match value["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => Outcome::Failed(code.to_owned()),
        None => Outcome::Unanswered(format!("neither data nor a coded error: {value}")),
    }
}

/// A user made directly in the store, with a token minted from the test
/// secret: signing up hundreds over HTTP would spend seconds in argon2,
/// which these tests are not about. The contract accepts any token signed
/// with the shared secret.
async fn quick_account(app: &TestApp, tokens: &Tokens) -> Account {
    let username = unique_name("fan");
    let name = Username::parse(&username).expect("a valid username");
    let user = app
        .store
        .create_user(&name, "not-a-real-hash")
        .await
        .expect("create_user");
    Account {
        token: tokens.issue(&user.id).expect("a token"),
        id: user.id.to_string(),
        username,
    }
}

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

// ---------------------------------------------------------------------------
// 6. Two processes, one Redis
// ---------------------------------------------------------------------------

/// Two processes on one Redis act as one service: A's messages reach B's subscribers live, A's tokens work on B, and a client resuming on B with its last cursor from A gets exactly what it missed, then live messages from both.
#[tokio::test]
async fn two_processes_sharing_a_redis_serve_one_event_stream() {
    // Arrange: two processes of one deployment; accounts and chat made on A.
    let a = TestApp::spawn(Backend::Redis).await;
    let b = TestApp::spawn_sharing(&a).await;
    let (ada, bob) = (a.sign_up().await, a.sign_up().await);
    let chat = a.create_chat(&ada, &[&bob]).await;
    let m0 = a.send(&ada, &chat, "m0").await;
    let after_m0 = text(&m0, "cursor");
    // A watcher on B for the whole test, and the client that will move: on A.
    let mut watcher = subscribe(&b, &bob.token, Some(&chat), Some(&after_m0)).await;
    let mut mover = subscribe(&a, &bob.token, Some(&chat), Some(&after_m0)).await;

    // Act 1: a token A issued, used on B.
    let me = b
        .graphql(Some(&ada.token), "{ me { id } }", json!({}))
        .await;

    // Act 2: messages sent through A. m1 proves the watcher's feed is open,
    // so m2, appended after that, can only reach it through B's consumer.
    let mut sent = vec![a.send(&ada, &chat, "m1").await];
    let m1_on_b = next_message(&mut watcher).await;
    sent.push(a.send(&ada, &chat, "m2").await);
    let sent_at = Instant::now();
    let m2_on_b = next_message(&mut watcher).await;
    let a_to_b = sent_at.elapsed();
    let seen_on_a = next_messages(&mut mover, 2).await;
    let last_cursor = text(&seen_on_a[1], "cursor");
    drop(mover);

    // Act 3: five more through A while the client is away; it comes back
    // on B with its last cursor; then one more through each process (the
    // one through B with A's token).
    for i in 3..=7 {
        sent.push(a.send(&ada, &chat, &format!("m{i}")).await);
    }
    let mut resumed = subscribe(&b, &bob.token, Some(&chat), Some(&last_cursor)).await;
    let missed = next_messages(&mut resumed, 5).await;
    sent.push(a.send(&ada, &chat, "m8").await);
    sent.push(b.send(&ada, &chat, "m9").await);
    let live = next_messages(&mut resumed, 2).await;
    let watched = next_messages(&mut watcher, 7).await;

    // Assert
    assert_eq!(me["data"]["me"]["id"], ada.id.as_str(), "{me}");
    assert_eq!(
        m1_on_b,
        json!({ "chatId": chat, "body": "m1", "cursor": sent[0]["cursor"] })
    );
    assert_eq!(
        m2_on_b,
        json!({ "chatId": chat, "body": "m2", "cursor": sent[1]["cursor"] })
    );
    assert_eq!(bodies(&seen_on_a), ["m1", "m2"]);
    assert_eq!(bodies(&missed), ["m3", "m4", "m5", "m6", "m7"]);
    assert_eq!(bodies(&live), ["m8", "m9"]);
    assert_eq!(bodies(&watched), ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    // One cursor per message whichever process printed it.
    let sent_cursors: Vec<String> = sent[2..].iter().map(|m| text(m, "cursor")).collect();
    let resumed_cursors: Vec<String> = missed
        .iter()
        .chain(&live)
        .map(|m| text(m, "cursor"))
        .collect();
    assert_eq!(resumed_cursors, sent_cursors);
    resumed.expect_silence(Duration::from_millis(300)).await;
    watcher.expect_silence(Duration::from_millis(300)).await;
    eprintln!(
        "scale_out two processes: A→B live delivery {a_to_b:?}; resumed on B: {} missed + {} live, 0 duplicates; watcher on B: {} messages",
        missed.len(),
        live.len(),
        watched.len() + 2
    );
}

// ---------------------------------------------------------------------------
// 7. Redis killed and restarted under load
// ---------------------------------------------------------------------------

/// One send of the load in the crash test.
#[derive(Debug, Clone)]
struct Attempt {
    body: String,
    outcome: Outcome,
    started: Instant,
    took: Duration,
}

/// Redis SIGKILLed and restarted from its append-only file while a send starts every 20 ms: /ready turns 503 then 200, every send is answered (with its message or a coded error), every acknowledged message reaches the still-connected subscriber exactly once in log order, and no failed one is delivered or stored.
#[tokio::test]
async fn a_redis_crash_loses_no_acknowledged_message_and_keeps_subscribers_connected() {
    // Arrange: a durable Redis, a chat, and a subscriber (no chat filter)
    // resuming after the first message, so nothing is missed at set-up.
    let mut app = TestApp::spawn_durable().await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let first = app.send(&ada, &chat, "before the load").await;
    let mut subscriber = subscribe(&app, &bob.token, None, Some(&text(&first, "cursor"))).await;
    const SENTINEL: &str = "after the recovery";
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            let body = text(&next_message(&mut subscriber).await, "body");
            let _ = seen_tx.send(());
            seen.push(body.clone());
            if body == SENTINEL {
                return (seen, subscriber);
            }
        }
    });
    // The load: a send starts every 20 ms whether or not earlier ones were
    // answered, so several are in flight through the outage. Each holds a
    // read guard of `gate`; the test takes the write guard to kill Redis,
    // so no write is in flight at the kill itself. (A write Redis applied
    // whose reply died with it is a failure to the client yet stored: an
    // ambiguity no server can remove, so this test leaves it out.)
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    const MAX_ATTEMPTS: usize = 500;
    let load = tokio::spawn({
        let (http, address) = (app.http.clone(), app.address.clone());
        let (token, chat) = (ada.token.clone(), chat.clone());
        let (gate, attempts, stop) = (gate.clone(), attempts.clone(), stop.clone());
        async move {
            let mut in_flight = Vec::new();
            for i in 0..MAX_ATTEMPTS {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let guard = gate.clone().read_owned().await;
                let (http, address, token, chat) =
                    (http.clone(), address.clone(), token.clone(), chat.clone());
                let attempts = attempts.clone();
                in_flight.push(tokio::spawn(async move {
                    let body = format!("load {i}");
                    let started = Instant::now();
                    let outcome = try_send(&http, &address, &token, &chat, &body).await;
                    drop(guard);
                    attempts.lock().unwrap().push(Attempt {
                        body,
                        outcome,
                        started,
                        took: started.elapsed(),
                    });
                }));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            join_all(in_flight).await;
        }
    });
    let acked_since = |since: Instant| {
        attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Acked) && a.started >= since)
            .count()
    };
    let began = Instant::now();
    eventually("10 acknowledged sends before the crash", || async {
        (acked_since(began) >= 10).then_some(())
    })
    .await;
    let first_seen = tokio::time::timeout(PATIENCE, seen_rx.recv()).await;
    assert!(
        matches!(first_seen, Ok(Some(()))),
        "the subscriber received nothing before the crash"
    );

    // Act: kill Redis, watch readiness fall, restart it a second later,
    // watch readiness come back, and let the load go on a little more.
    let killed = {
        let _no_write_in_flight = gate.write().await;
        app.redis.as_mut().unwrap().kill();
        Instant::now()
    };
    let probes = probe_ready_for(&app, killed, Duration::from_secs(1)).await;
    app.redis.as_mut().unwrap().restart().await;
    let restarted = Instant::now();
    let recovered = wait_for_ready(&app, 200, PATIENCE).await;
    eventually(
        "10 acknowledged sends started after the restart",
        || async { (acked_since(restarted) >= 10).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    join_within(load, PATIENCE, "the load").await;
    app.send(&ada, &chat, SENTINEL).await;
    let (delivered, mut subscriber) = join_within(reader, PATIENCE, "the subscriber").await;

    // Assert
    let attempts = attempts.lock().unwrap().clone();
    let acked: HashSet<&str> = attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Acked))
        .map(|a| a.body.as_str())
        .collect();
    let failed: Vec<(&str, &str)> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Failed(code) => Some((a.body.as_str(), code.as_str())),
            _ => None,
        })
        .collect();
    let unanswered: Vec<String> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Unanswered(why) => Some(format!("{}: {why}", a.body)),
            _ => None,
        })
        .collect();
    let during_outage = attempts
        .iter()
        .filter(|a| a.started >= killed && a.started < restarted)
        .count();
    let longest = attempts.iter().map(|a| a.took).max().unwrap_or_default();
    let detected = probes
        .iter()
        .find(|p| p.status == Some(503))
        .map(|p| p.after);
    eprintln!(
        "scale_out redis crash: {} sends ({during_outage} started while Redis was down): {} acked, {} failed {:?}, {} unanswered, longest took {longest:?}; /ready 503 after {detected:?}, 200 {recovered:?} after the restart (outage {:?}); {} probes while down, slowest {:?}: {:?}; the subscriber got {} messages on one socket",
        attempts.len(),
        acked.len(),
        failed.len(),
        failed.iter().map(|(_, code)| *code).collect::<HashSet<_>>(),
        unanswered.len(),
        restarted - killed,
        probes.len(),
        probes.iter().map(|p| p.took).max().unwrap_or_default(),
        probes,
        delivered.len(),
    );
    assert!(
        detected.is_some_and(|after| after < Duration::from_secs(1)),
        "/ready did not turn 503 while Redis was down: {probes:?}"
    );
    assert!(
        recovered.is_some(),
        "/ready did not turn 200 within {PATIENCE:?} of the restart"
    );
    assert!(during_outage > 0, "no send started while Redis was down");
    assert!(unanswered.is_empty(), "sends not answered: {unanswered:?}");
    for (body, code) in &failed {
        assert_eq!(*code, "INTERNAL", "{body} failed with {code}");
    }
    // Delivered: the acknowledged ones, each once, then the sentinel.
    let (sentinel, load_delivered) = delivered.split_last().expect("nothing delivered");
    assert_eq!(sentinel, SENTINEL);
    let unique: HashSet<&str> = load_delivered.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        load_delivered.len(),
        "a message was delivered twice"
    );
    assert_eq!(unique, acked, "delivered ≠ acknowledged");
    // In log order; and the log and history hold exactly those.
    let mut stored = vec!["before the load".to_owned()];
    stored.extend(delivered.iter().cloned());
    let logged = logged_bodies(&app.events().await, LogId::ZERO);
    assert_eq!(
        logged[&chat], stored,
        "delivery order ≠ log order, or a failed send was logged"
    );
    assert_eq!(history(&app, &bob.token, &chat).await, stored);
    subscriber.expect_silence(Duration::from_millis(300)).await;
    // Last, so that everything above is known to hold when this fails: a
    // readiness probe must answer while Redis is down, not hang.
    let hung: Vec<&Probe> = probes.iter().filter(|p| p.status != Some(503)).collect();
    assert!(
        hung.is_empty(),
        "/ready probes while Redis was down that did not answer 503 within {PROBE_TIMEOUT:?}: {hung:?}"
    );
}

// ---------------------------------------------------------------------------
// 8. A subscriber that stops reading
// ---------------------------------------------------------------------------

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
    let mut fast_ws = subscribe(&app, &fast.token, Some(&chat), Some(&start)).await;
    let mut slow_ws =
        subscribe_with(&app, &slow.token, &fat_query(), Some(&chat), Some(&start)).await;
    app.send(&ada, &chat, "both live").await;
    assert_eq!(bodies(&[next_message(&mut fast_ws).await]), ["both live"]);
    assert_eq!(bodies(&[next_message(&mut slow_ws).await]), ["both live"]);
    // Long bodies, so the slow socket's buffers fill and its server side
    // stops draining the hub.
    const N: usize = 10 * SMALL_HUB + 4;
    let body = |i: usize| format!("{i:04} {}", "x".repeat(3_995));
    let fast_reader = tokio::spawn(async move {
        let mut got = Vec::with_capacity(N);
        for _ in 0..N {
            let message = next_message(&mut fast_ws).await;
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
    let slow_got = bodies(&next_messages(&mut slow_ws, N).await);
    let slow_reading = slow_started.elapsed();

    // Assert
    let expected: Vec<String> = (0..N).map(body).collect();
    let logged = logged_bodies(&app.events().await, LogId::ZERO);
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
}

// ---------------------------------------------------------------------------
// 9. Fan-out to many subscribers
// ---------------------------------------------------------------------------

const CHATS: usize = 20;
const MEMBERS: usize = 10;
const MESSAGES_SENT: usize = 1_000;
const SENDERS: usize = 10;

/// 200 subscribers (one socket each) over 20 chats of 10, 1,000 messages from 10 concurrent senders: each subscriber receives exactly its chat's messages, each once, in log order, and nothing else.
async fn fan_out_to_200_subscribers_is_exact(backend: Backend) {
    // Arrange: 200 users, 20 chats of 10, one socket per user resuming
    // after the last chat was created.
    let began = Instant::now();
    let app = TestApp::spawn(backend).await;
    let app = &app;
    let tokens = Tokens::new(TEST_SECRET.as_bytes(), Duration::from_secs(3_600)).unwrap();
    let users: Vec<Account> =
        join_all((0..CHATS * MEMBERS).map(|_| quick_account(app, &tokens))).await;
    let groups: Vec<&[Account]> = users.chunks(MEMBERS).collect();
    let chats: Vec<String> = join_all(groups.iter().map(|group| {
        let others: Vec<&Account> = group[1..].iter().collect();
        async move { app.create_chat(&group[0], &others).await }
    }))
    .await;
    let head = app.log_head().await;
    let epoch = app.store.epoch().await.unwrap();
    let after = Cursor::log(&epoch, head);
    let sockets = join_all(
        users
            .iter()
            .map(|user| subscribe(app, &user.token, None, Some(&after))),
    )
    .await;
    let per_chat = MESSAGES_SENT / CHATS;
    let readers: Vec<JoinHandle<(Vec<Value>, WsClient)>> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move { (next_messages(&mut socket, per_chat).await, socket) })
        })
        .collect();
    let set_up = began.elapsed();

    // Act: message j goes to chat j % 20 from one of its members; sender
    // task t sends the j with j % 10 == t, one after another.
    let sending = Instant::now();
    join_all((0..SENDERS).map(|t| {
        let (groups, chats) = (&groups, &chats);
        async move {
            for j in (t..MESSAGES_SENT).step_by(SENDERS) {
                let chat = j % CHATS;
                let from = &groups[chat][(j / CHATS) % MEMBERS];
                app.send(from, &chats[chat], &format!("fan {j}")).await;
            }
        }
    }))
    .await;
    let sent_in = sending.elapsed();
    let mut received = Vec::with_capacity(readers.len());
    for reader in readers {
        received.push(join_within(reader, PATIENCE, "a subscriber").await);
    }
    let delivered_in = sending.elapsed();

    // Assert: per subscriber, exactly its chat's messages in log order,
    // then silence.
    let logged = logged_bodies(&app.events().await, head);
    let expected_total: usize = (0..users.len())
        .map(|u| logged[&chats[u / MEMBERS]].len())
        .sum();
    let received_total: usize = received.iter().map(|(got, _)| got.len()).sum();
    for (u, (got, _)) in received.iter().enumerate() {
        let chat = &chats[u / MEMBERS];
        let wrong_chat = got.iter().filter(|m| m["chatId"] != chat.as_str()).count();
        assert_eq!(wrong_chat, 0, "subscriber {u} got messages of other chats");
        assert_eq!(
            bodies(got),
            logged[chat],
            "subscriber {u}: not its chat's messages in log order"
        );
    }
    join_all(
        received
            .iter_mut()
            .map(|(_, socket)| socket.expect_silence(Duration::from_millis(300))),
    )
    .await;
    eprintln!(
        "scale_out fan-out ({backend:?}): {} subscribers, {CHATS} chats, {MESSAGES_SENT} messages from {SENDERS} senders; deliveries expected {expected_total}, received {received_total}; set-up {set_up:?}, sent in {sent_in:?}, all delivered {delivered_in:?} after the first send",
        users.len()
    );
    assert_eq!(logged.values().map(Vec::len).sum::<usize>(), MESSAGES_SENT);
    assert_eq!(received_total, expected_total);
}

on_both_backends!(a_stalled_subscriber_is_backfilled_and_holds_no_one_back);

/// The fan-out tests, one per backend, on two worker threads: the server,
/// 200 sockets and 10 senders are too much work for the single thread of a
/// plain `#[tokio::test]` to finish in a few seconds.
mod fan_out {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        super::fan_out_to_200_subscribers_is_exact(Backend::Memory).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        super::fan_out_to_200_subscribers_is_exact(Backend::Redis).await
    }
}

// ---------------------------------------------------------------------------
// 10. Redis lost its data
// ---------------------------------------------------------------------------

/// After Redis restarts without its data, a cursor from the lost log is CURSOR_EXPIRED as a subscription's `after` and as `Chat.messages(before:)`, and a token of a lost user is UNAUTHENTICATED.
#[tokio::test]
async fn cursors_from_a_lost_redis_log_are_expired() {
    // Arrange: a cursor and a user, then Redis restarted empty.
    let mut app = TestApp::spawn(Backend::Redis).await;
    let ada = app.sign_up().await;
    let old_chat = app.create_chat(&ada, &[]).await;
    let old_cursor = text(&app.send(&ada, &old_chat, "lost").await, "cursor");
    let old_epoch = app.store.epoch().await.unwrap();
    let redis = app.redis.as_mut().unwrap();
    redis.kill();
    redis.restart().await;
    let lost_at = Instant::now();
    let zed = eventually("a sign-up after the restart", || async {
        let response = app
            .graphql(
                None,
                crate::helpers::SIGN_UP,
                json!({ "u": unique_name("zed"), "p": crate::helpers::PASSWORD }),
            )
            .await;
        let payload = &response["data"]["signUp"];
        payload.is_object().then(|| Account {
            token: text(payload, "token"),
            id: text(&payload["user"], "id"),
            username: text(&payload["user"], "username"),
        })
    })
    .await;
    let recovered = lost_at.elapsed();
    let chat = app.create_chat(&zed, &[]).await;
    let fresh = text(&app.send(&zed, &chat, "new").await, "cursor");

    // Act
    let page_before = |cursor: String| {
        let (app, token, chat) = (&app, zed.token.clone(), chat.clone());
        async move {
            app.graphql(Some(&token), HISTORY, json!({ "id": chat, "b": cursor }))
                .await
        }
    };
    let old_page = page_before(old_cursor.clone()).await;
    let fresh_page = page_before(fresh.clone()).await;
    let mut ws = WsClient::connect(&app, WsProtocol::TransportWs).await;
    ws.init(&zed.token).await;
    ws.subscribe(SUB, MESSAGES, json!({ "a": old_cursor }))
        .await;
    let old_subscription = ws.expect_error(SUB).await;
    ws.subscribe(SUB, MESSAGES, json!({ "a": fresh })).await;
    app.send(&zed, &chat, "after").await;
    let fresh_delivery = next_message(&mut ws).await;
    let lost_me = app
        .graphql(Some(&ada.token), "{ me { id } }", json!({}))
        .await;

    // Assert
    assert_ne!(
        app.store.epoch().await.unwrap(),
        old_epoch,
        "the new log kept the old epoch"
    );
    assert_eq!(error_code(&old_page), "CURSOR_EXPIRED", "{old_page}");
    assert!(old_page["data"]["chat"].is_null(), "{old_page}");
    assert!(
        fresh_page["errors"].is_null(),
        "a fresh cursor failed: {fresh_page}"
    );
    assert_eq!(
        old_subscription[0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{old_subscription}"
    );
    assert_eq!(text(&fresh_delivery, "body"), "after");
    assert_eq!(error_code(&lost_me), "UNAUTHENTICATED", "{lost_me}");
    eprintln!(
        "scale_out lost data: server usable {recovered:?} after the empty restart; old cursor: history {}, subscription {}; old token: {}",
        error_code(&old_page),
        old_subscription[0]["extensions"]["code"],
        error_code(&lost_me)
    );
}
