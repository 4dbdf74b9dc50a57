//! `GET /metrics`: what a scrape shows after known traffic. Metrics are the
//! same on every backend; the consumer's come from the shared consumer path.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, TestApp, error_code};
use crate::ws_client::{SUB, WsClient, WsProtocol, next_event, subscribe, vars};

const MESSAGES: &str = "subscription($chatId: ID, $after: String) { messageCreated(chatId: $chatId, after: $after) { body } }";

/// A scrape: the body, after checking the content type.
pub async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the sample written exactly as `series` (name and labels).
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The samples of `name` for partitions 0 to `count - 1`, in order.
fn per_partition(text: &str, name: &str, count: usize) -> Vec<f64> {
    (0..count)
        .map(|p| sample(text, &format!("{name}{{partition=\"{p}\"}}")))
        .collect()
}

/// Scrapes until `series` reads `value`, failing after a few seconds.
async fn eventually(app: &TestApp, series: &str, value: f64) {
    for _ in 0..100 {
        if sample(&scrape(app).await, series) == value {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{series} never became {value}:\n{}", scrape(app).await);
}

#[tokio::test]
async fn a_scrape_shows_sockets_subscriptions_deliveries_errors_and_refusals() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_aliases = 1).await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&alice, &[&bob]).await;
    let first = app.send(&alice, &chat, "zero").await;
    let mut client = subscribe(
        &app,
        &bob,
        MESSAGES,
        vars(Some(&chat), first["cursor"].as_str()),
    )
    .await;

    // Act: two deliveries, one refused operation, one ordinary error.
    app.send(&alice, &chat, "one").await;
    app.send(&alice, &chat, "two").await;
    assert_eq!(next_event(&mut client).await["body"], json!("one"));
    assert_eq!(next_event(&mut client).await["body"], json!("two"));
    let refused = app
        .graphql(Some(&bob.token), "{ a: me { id } b: me { id } }", json!({}))
        .await;
    app.graphql(
        Some(&bob.token),
        "query($id: ID!) { chat(id: $id) { id } }",
        json!({ "id": "0".repeat(32) }),
    )
    .await;
    let text = scrape(&app).await;

    // Assert: the refusal is BAD_USER_INPUT, its reason and limit counted.
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        json!("QUERY_TOO_COMPLEX"),
        "{refused}"
    );
    assert_eq!(sample(&text, "chat_ws_connections"), 1.0);
    assert_eq!(sample(&text, "chat_ws_authenticated_connections"), 1.0);
    assert_eq!(sample(&text, "chat_subscriptions_active"), 1.0);
    assert_eq!(sample(&text, "chat_subscription_deliveries_total"), 2.0);
    // One consumer per partition, each labelled with its number only.
    let partitions = app.store.partitions().count();
    let consumed = per_partition(&text, "chat_events_consumed_total", partitions);
    assert!(consumed.iter().sum::<f64>() >= 4.0, "{text}");
    assert!(
        per_partition(&text, "chat_consumer_up", partitions)
            .iter()
            .all(|up| *up == 1.0)
    );
    let lags = per_partition(&text, "chat_consumer_lag_seconds", partitions);
    assert!(lags.iter().all(|lag| *lag < 10.0), "{text}");
    assert!(
        per_partition(&text, "chat_consumer_errors_total", partitions)
            .iter()
            .all(|n| *n == 0.0)
    );
    assert_eq!(
        sample(&text, r#"chat_graphql_errors_total{code="BAD_USER_INPUT"}"#),
        1.0
    );
    assert!(
        !text.contains(r#"code="QUERY_TOO_COMPLEX""#),
        "a reason counted as a code:\n{text}"
    );
    assert_eq!(
        sample(&text, r#"chat_graphql_errors_total{code="NOT_FOUND"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"chat_rejected_total{reason="aliases"}"#),
        1.0
    );
    assert!(
        sample(&text, "chat_graphql_requests_total") >= 8.0,
        "{text}"
    );
    assert!(sample(&text, "chat_graphql_request_duration_seconds_count") >= 7.0);
    for id in [&alice.id, &bob.id, &chat] {
        assert!(!text.contains(id.as_str()), "an id leaked into the metrics");
    }

    // And when the client leaves, the gauges fall back.
    client.complete(SUB).await;
    eventually(&app, "chat_subscriptions_active", 0.0).await;
    drop(client);
    eventually(&app, "chat_ws_connections", 0.0).await;
}

#[tokio::test]
async fn refused_sockets_are_counted_by_limit() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_max_sockets_per_user = 1).await;
    let user = app.sign_up().await;
    let _held = WsClient::connect_as(&app, WsProtocol::TransportWs, &user).await;

    // Act
    let mut refused = WsClient::connect_presenting(&app, &user.token).await;
    refused.expect_close(1008).await;

    // Assert
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"chat_rejected_total{reason="ws_sockets_per_user"}"#
        ),
        1.0
    );
}
