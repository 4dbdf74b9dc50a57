//! Shared rendering: each event is executed once per distinct selection
//! and that one result goes to every subscriber asking for it. What must
//! hold is that sharing is invisible: every subscriber gets exactly the
//! shape its own document asks for, whoever rendered it; and that it
//! happens: the server's render count follows selections, not sockets.

use serde_json::{Value, json};

use super::refusal;
use crate::helpers::{Backend, TestApp};
use crate::metrics::{sample, scrape};
use crate::ws_client::{SUB, WsClient, WsProtocol, event, subscribe, vars};

const BODY: &str =
    "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { body } }";
const BODY_ID: &str =
    "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { body id } }";
const SENDER_IF: &str = "subscription($a: String, $s: Boolean!) { messageCreated(after: $a) { body sender @include(if: $s) { username } } }";

/// The field names of a subscription result's event, sorted.
fn keys(payload: &Value) -> Vec<String> {
    let mut keys: Vec<String> = event(payload)
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {payload}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// The server's count of renders and deliveries so far.
async fn counts(app: &TestApp) -> (f64, f64) {
    let text = scrape(app).await;
    (
        sample(&text, "chat_subscription_renders_total"),
        sample(&text, "chat_subscription_deliveries_total"),
    )
}

/// Subscribers of one event with different documents, variables and
/// protocols each get their own selection; equal selections share one render.
async fn each_subscriber_gets_its_own_selection_and_equal_ones_share(backend: Backend) {
    // Arrange: six subscriptions over five selections, all resuming after
    // a setup message so each is exact without waiting for it to go live.
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob, &cat]).await;
    let setup = app.send(&ada, &chat, "setup").await;
    let after = setup["cursor"].as_str().unwrap();
    let with_sender = |s: bool| json!({ "a": after, "s": s });
    let mut plain_by_chat = subscribe(&app, &bob, BODY, vars(Some(&chat), Some(after))).await;
    let mut plain_all = subscribe(&app, &cat, BODY, vars(None, Some(after))).await;
    let mut with_id = subscribe(&app, &bob, BODY_ID, vars(None, Some(after))).await;
    let mut sender = subscribe(&app, &cat, SENDER_IF, with_sender(true)).await;
    let mut no_sender = subscribe(&app, &bob, SENDER_IF, with_sender(false)).await;
    let mut legacy = WsClient::connect_as(&app, WsProtocol::Legacy, &cat).await;
    legacy
        .subscribe(SUB, BODY_ID, vars(None, Some(after)))
        .await;
    let before = counts(&app).await;

    // Act
    let sent = app.send(&ada, &chat, "hello").await;

    // Assert: every shape is the subscriber's own.
    let plain = json!({ "data": { "messageCreated": { "body": "hello" } } });
    assert_eq!(plain_by_chat.expect_next(SUB).await, plain);
    assert_eq!(plain_all.expect_next(SUB).await, plain);
    let identified = json!({ "data": { "messageCreated": { "body": "hello", "id": sent["id"] } } });
    assert_eq!(with_id.expect_next(SUB).await, identified);
    let legacy_result = legacy.recv().await;
    assert_eq!(legacy_result["type"], "data");
    assert_eq!(legacy_result["payload"], identified);
    let with = sender.expect_next(SUB).await;
    assert_eq!(keys(&with), ["body", "sender"]);
    assert_eq!(event(&with)["sender"]["username"], ada.username.as_str());
    assert_eq!(keys(&no_sender.expect_next(SUB).await), ["body"]);

    // Assert: six deliveries from four renders (body; body id, in both
    // protocols; body sender; body without sender).
    let after = counts(&app).await;
    assert_eq!(after.1 - before.1, 6.0, "deliveries");
    assert_eq!(after.0 - before.0, 4.0, "renders");
}

/// Ten sockets with one selection: three messages are rendered three times,
/// not thirty.
async fn renders_follow_selections_not_sockets(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let setup = app.send(&ada, &chat, "setup").await;
    let after = setup["cursor"].as_str();
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(subscribe(&app, &bob, BODY_ID, vars(None, after)).await);
    }
    let before = counts(&app).await;

    // Act
    let mut sent = Vec::new();
    for body in ["one", "two", "three"] {
        sent.push(app.send(&ada, &chat, body).await["id"].clone());
    }

    // Assert
    for socket in &mut sockets {
        for id in &sent {
            assert_eq!(event(&socket.expect_next(SUB).await)["id"], *id);
        }
    }
    let after = counts(&app).await;
    assert_eq!(after.1 - before.1, 30.0, "deliveries");
    assert_eq!(after.0 - before.0, 3.0, "renders");
}

/// A subscription selects exactly one root field (the GraphQL spec's rule,
/// which lets one feed serve it): two fields, or a fragment, are refused.
async fn a_subscription_must_select_one_root_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bob = app.sign_up().await;
    for query in [
        "subscription { messageCreated { body } chatEvents { cursor } }",
        "subscription { ...F } fragment F on Subscription { messageCreated { body } }",
    ] {
        let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &bob).await;
        assert_eq!(
            refusal(&mut client, query, json!({})).await,
            "BAD_USER_INPUT"
        );
    }
}

crate::on_both_backends!(
    each_subscriber_gets_its_own_selection_and_equal_ones_share,
    renders_follow_selections_not_sockets,
    a_subscription_must_select_one_root_field,
);
