//! Redis killed and restarted under load: readiness follows the outage,
//! every send is answered, sends made while Redis is down fail with
//! INTERNAL, and no acknowledged message is lost, doubled or reordered on a
//! subscriber that stays connected.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_server::store::Positions;
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    PATIENCE, eventually, join_within, logged_bodies, subscribe_messages, text, whole_history,
};
use crate::helpers::TestApp;
use crate::ws_client::next_event;

/// `sendMessage` for senders that must see failures rather than assert on them.
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { body cursor } }";

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

/// How long Redis stays down. Long enough that sends started after the
/// kill are answered before the restart begins: a send that finds the
/// connection gone is held through the client's reconnect attempts (a few
/// hundred ms) before it fails, so a shorter outage could end before any
/// send made during it has finished.
const OUTAGE: Duration = Duration::from_millis(1500);

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
    let sent = json!({ "query": SEND, "variables": { "i": { "chatId": chat, "body": body } } });
    let request = http
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(5))
        .json(&sent);
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
    crate::shape::check(&sent, &value);
    if value["data"]["sendMessage"]["body"] == body {
        return Outcome::Acked;
    }
    match value["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => Outcome::Failed(code.to_owned()),
        None => Outcome::Unanswered(format!("neither data nor a coded error: {value}")),
    }
}

/// One send of the load in the crash test.
#[derive(Debug, Clone)]
struct Attempt {
    body: String,
    outcome: Outcome,
    started: Instant,
    took: Duration,
}

/// Redis SIGKILLed and restarted from its append-only file while a send starts every 20 ms: /ready turns 503 then 200, every send is answered (with its message or a coded error), every send made wholly while Redis was down fails with INTERNAL (and there is at least one), every acknowledged message — before, during and after the outage — reaches the still-connected subscriber exactly once in log order, and no failed one is delivered or stored.
#[tokio::test]
async fn a_redis_crash_loses_no_acknowledged_message_and_keeps_subscribers_connected() {
    // Arrange: a durable Redis, a chat, and a subscriber (no chat filter)
    // resuming after the first message, so nothing is missed at set-up.
    let mut app = TestApp::spawn_durable().await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let first = app.send(&ada, &chat, "before the load").await;
    let mut subscriber = subscribe_messages(&app, &bob, None, Some(&text(&first, "cursor"))).await;
    const SENTINEL: &str = "after the recovery";
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            let body = text(&next_event(&mut subscriber).await, "body");
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

    // Act: kill Redis, watch readiness fall while the load goes on, restart
    // it after OUTAGE, watch readiness come back, and let the load go on a
    // little more.
    let killed = {
        let _no_write_in_flight = gate.write().await;
        app.redis.as_mut().unwrap().kill();
        Instant::now()
    };
    let probes = probe_ready_for(&app, killed, OUTAGE).await;
    // Redis is down from `killed` until at least `restart_began`; it
    // answers again at some point before `restarted`.
    let restart_began = Instant::now();
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
    // Sends made wholly while Redis was down: started after the kill (no
    // send was in flight at it, see `gate`) and answered before the restart
    // began. None of them can have been stored, so each must have failed.
    let while_down: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.started >= killed && a.started + a.took < restart_began)
        .collect();
    let failed_while_down = while_down
        .iter()
        .filter(|a| matches!(&a.outcome, Outcome::Failed(code) if code == "INTERNAL"))
        .count();
    let acked_in = |from: Instant, to: Instant| {
        attempts
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Acked) && a.started >= from && a.started < to)
            .count()
    };
    let (acked_before, acked_during, acked_after) = (
        acked_in(began, killed),
        acked_in(killed, restarted),
        acked_in(restarted, Instant::now()),
    );
    let longest = attempts.iter().map(|a| a.took).max().unwrap_or_default();
    let detected = probes
        .iter()
        .find(|p| p.status == Some(503))
        .map(|p| p.after);
    eprintln!(
        "scale_out redis crash: {} sends ({during_outage} started while Redis was down, {} made wholly while it was down, {failed_while_down} of those failed with INTERNAL): {} acked ({acked_before} started before the kill, {acked_during} during the outage, {acked_after} after the restart), {} failed {:?}, {} unanswered, longest took {longest:?}; Redis down {:?} before the restart began; /ready 503 after {detected:?}, 200 {recovered:?} after the restart (outage {:?}); {} probes while down, slowest {:?}: {:?}; the subscriber got {} messages on one socket",
        attempts.len(),
        while_down.len(),
        acked.len(),
        failed.len(),
        failed.iter().map(|(_, code)| *code).collect::<HashSet<_>>(),
        unanswered.len(),
        restart_began - killed,
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
    assert!(
        !while_down.is_empty(),
        "no send was made wholly while Redis was down ({:?}): lengthen OUTAGE",
        restart_began - killed
    );
    assert_eq!(
        failed_while_down,
        while_down.len(),
        "sends made wholly while Redis was down that did not fail with INTERNAL: {:?}",
        while_down
            .iter()
            .filter(|a| !matches!(&a.outcome, Outcome::Failed(code) if code == "INTERNAL"))
            .collect::<Vec<_>>()
    );
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
    let logged = logged_bodies(
        &app.events().await,
        &Positions::zero(app.store.partitions()),
    );
    assert_eq!(
        logged[&chat], stored,
        "delivery order ≠ log order, or a failed send was logged"
    );
    assert_eq!(whole_history(&app, &bob, &chat).await, stored);
    subscriber.expect_silence(Duration::from_millis(300)).await;
    // Last, so that everything above is known to hold when this fails: a
    // readiness probe must answer while Redis is down, not hang.
    let hung: Vec<&Probe> = probes.iter().filter(|p| p.status != Some(503)).collect();
    assert!(
        hung.is_empty(),
        "/ready probes while Redis was down that did not answer 503 within {PROBE_TIMEOUT:?}: {hung:?}"
    );
}
