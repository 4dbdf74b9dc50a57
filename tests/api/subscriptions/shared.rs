//! Shared rendering: each event is executed once per distinct selection
//! and that one result goes to every subscriber asking for it. What must
//! hold is that sharing is invisible: every subscriber gets exactly the
//! shape its own document asks for, whoever rendered it; and that it
//! happens: the server's render count follows selections, not sockets.

use serde_json::{Value, json};

use super::refusal;
use crate::helpers::{Account, Backend, TestApp};
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

/// Sends a message and waits until every subscriber has it: from then on
/// each subscription is live (it reads the hub, not the log), which is
/// where renderings are shared. (An event read back from the log is
/// rendered afresh for its subscriber, to show objects as they are at
/// delivery.)
async fn warm_up(app: &TestApp, sender: &Account, chat: &str, sockets: &mut [&mut WsClient]) {
    app.send(sender, chat, "warm-up").await;
    for socket in sockets {
        socket.expect_next(SUB).await;
    }
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
    let in_chat = setup["cursor"].as_str().unwrap();
    let all = app.all_chats_after(in_chat).await;
    let after = all.as_str();
    let with_sender = |s: bool| json!({ "a": after, "s": s });
    let mut plain_by_chat = subscribe(&app, &bob, BODY, vars(Some(&chat), Some(in_chat))).await;
    let mut plain_all = subscribe(&app, &cat, BODY, vars(None, Some(after))).await;
    let mut with_id = subscribe(&app, &bob, BODY_ID, vars(None, Some(after))).await;
    let mut sender = subscribe(&app, &cat, SENDER_IF, with_sender(true)).await;
    let mut no_sender = subscribe(&app, &bob, SENDER_IF, with_sender(false)).await;
    let mut legacy = WsClient::connect_as(&app, WsProtocol::Legacy, &cat).await;
    legacy
        .subscribe(SUB, BODY_ID, vars(None, Some(after)))
        .await;
    warm_up(
        &app,
        &ada,
        &chat,
        &mut [
            &mut plain_by_chat,
            &mut plain_all,
            &mut with_id,
            &mut sender,
            &mut no_sender,
        ],
    )
    .await;
    assert_eq!(legacy.recv().await["type"], "data");
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
    let after = app.all_chats_after(setup["cursor"].as_str().unwrap()).await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(subscribe(&app, &bob, BODY_ID, vars(None, Some(&after))).await);
    }
    warm_up(
        &app,
        &ada,
        &chat,
        &mut sockets.iter_mut().collect::<Vec<_>>(),
    )
    .await;
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

/// A selection that uses a viewer-dependent field (`reactedByMe`) is
/// rendered per viewer: two members on one document each get their own
/// value for the same event. A selection without one still shares: four
/// deliveries, three renders.
async fn viewer_dependent_fields_are_rendered_per_viewer(backend: Backend) {
    // Arrange
    const PERSONAL: &str = "subscription($a: String) { chatEvents(after: $a) { ... on ReactionAdded { emoji message { reactions { emoji count reactedByMe } } } } }";
    const COMMON: &str = "subscription($a: String) { chatEvents(after: $a) { ... on ReactionAdded { emoji message { reactions { emoji count } } } } }";
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "react to me").await;
    let after = json!({ "a": app.all_chats_after(message["cursor"].as_str().unwrap()).await });
    let mut ada_personal = subscribe(&app, &ada, PERSONAL, after.clone()).await;
    let mut bob_personal = subscribe(&app, &bob, PERSONAL, after.clone()).await;
    let mut ada_common = subscribe(&app, &ada, COMMON, after.clone()).await;
    let mut bob_common = subscribe(&app, &bob, COMMON, after).await;
    warm_up(
        &app,
        &ada,
        &chat,
        &mut [
            &mut ada_personal,
            &mut bob_personal,
            &mut ada_common,
            &mut bob_common,
        ],
    )
    .await;
    let before = counts(&app).await;

    // Act
    let react = "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }";
    app.graphql(Some(&ada.token), react, json!({ "m": message["id"] }))
        .await;

    // Assert: each viewer its own value.
    let group = |payload: Value| event(&payload)["message"]["reactions"][0].clone();
    let mine = json!({ "emoji": "👍", "count": 1, "reactedByMe": true });
    let theirs = json!({ "emoji": "👍", "count": 1, "reactedByMe": false });
    assert_eq!(group(ada_personal.expect_next(SUB).await), mine);
    assert_eq!(group(bob_personal.expect_next(SUB).await), theirs);
    let common = json!({ "emoji": "👍", "count": 1 });
    assert_eq!(group(ada_common.expect_next(SUB).await), common);
    assert_eq!(group(bob_common.expect_next(SUB).await), common);
    // Assert: the personal selection rendered twice, the common one once.
    let after = counts(&app).await;
    assert_eq!(after.1 - before.1, 4.0, "deliveries");
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
    viewer_dependent_fields_are_rendered_per_viewer,
    a_subscription_must_select_one_root_field,
);
