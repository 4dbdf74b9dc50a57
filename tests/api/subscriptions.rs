//! Subscriptions live: who receives what from `messageCreated` and
//! `chatEvents`, with which types, in which order, how they fail and end,
//! and in both protocols. Resuming with `after` is in [`resume`], which
//! shares the helpers here; those that read any subscription (the [`SUB`]
//! id, [`vars`], [`event`]) are in [`crate::ws_client`].
//!
//! A subscription without `after` has no acknowledgement, so a test that
//! needs one live first makes it provably so ([`subscribe_live`]). "Receives
//! nothing" is proved by a later marker, in a chat the viewer is in,
//! arriving next: the log has one order, so anything delivered before the
//! marker would have come first.

use std::time::Duration;

use chat_server::store::EventKind;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, assert_same_place, utc_millis};
use crate::ws_client::{SUB, WsClient, WsProtocol, event, next_events, vars};

mod resume;
mod shared;

const MESSAGES: &str = "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { id chatId body cursor createdAt sender { username } } }";

const EVENTS: &str = "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename cursor chatId at \
    ... on MessageCreated { message { id chatId body cursor createdAt sender { username } } } \
    ... on ChatCreated { chat { id title members { username } } } \
    ... on MemberJoined { user { username } addedBy { username } } \
    ... on MemberLeft { user { username } } } }";

/// How long "nothing more" is awaited, once a marker proved delivery flows.
const QUIET: Duration = Duration::from_millis(300);

/// A result in short: `message <body>`, `created <title>`,
/// `joined <user> by <user>` or `left <user>`.
fn summary(payload: &Value) -> String {
    describe(event(payload))
}

/// An [`event`] in short, as [`summary`] puts it.
fn describe(event: &Value) -> String {
    let name = |user: &Value| user["username"].as_str().unwrap().to_owned();
    match event["__typename"].as_str() {
        None => format!("message {}", event["body"].as_str().unwrap()),
        Some("MessageCreated") => format!("message {}", event["message"]["body"].as_str().unwrap()),
        Some("ChatCreated") => format!("created {}", event["chat"]["title"].as_str().unwrap()),
        Some("MemberJoined") => format!(
            "joined {} by {}",
            name(&event["user"]),
            name(&event["addedBy"])
        ),
        Some("MemberLeft") => format!("left {}", name(&event["user"])),
        Some(other) => panic!("unknown event type {other}: {event}"),
    }
}

/// The summaries of the next `n` results of [`SUB`].
async fn next_summaries(client: &mut WsClient, n: usize) -> Vec<String> {
    next_events(client, n).await.iter().map(describe).collect()
}

/// `message <body>` for each body.
fn messages(bodies: &[&str]) -> Vec<String> {
    bodies
        .iter()
        .map(|body| format!("message {body}"))
        .collect()
}

/// The `extensions.code` of the `error` that starting [`SUB`] gets.
async fn refusal(client: &mut WsClient, query: &str, vars: Value) -> String {
    client.subscribe(SUB, query, vars).await;
    let payload = client.expect_error(SUB).await;
    let code = payload[0]["extensions"]["code"].as_str();
    code.unwrap_or_else(|| panic!("an error without a code: {payload}"))
        .to_owned()
}

/// Starts [`SUB`] for `viewer` on a new socket and returns once it is live:
/// `viewer` sends probes into `probe_chat` (which the subscription must
/// see) until one arrives; every later probe must then follow, in order.
async fn subscribe_live(
    app: &TestApp,
    protocol: WsProtocol,
    viewer: &Account,
    query: &str,
    vars: Value,
    probe_chat: &str,
) -> WsClient {
    let mut client = WsClient::connect_as(app, protocol, viewer).await;
    client.subscribe(SUB, query, vars).await;
    let result = match protocol {
        WsProtocol::TransportWs => "next",
        WsProtocol::Legacy => "data",
    };
    for sent in 1..=40 {
        app.send(viewer, probe_chat, &format!("probe {sent}")).await;
        let Some(first) = client.recv_within(Duration::from_millis(250)).await else {
            continue;
        };
        assert_eq!(
            (&first["type"], &first["id"]),
            (&json!(result), &json!(SUB))
        );
        let first = summary(&first["payload"]);
        let k: usize = first
            .strip_prefix("message probe ")
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("expected a probe, got {first}"));
        let rest: Vec<String> = (k + 1..=sent).map(|j| format!("probe {j}")).collect();
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        assert_eq!(
            next_summaries(&mut client, rest.len()).await,
            messages(&rest)
        );
        return client;
    }
    panic!("the subscription never delivered a probe");
}

/// A member's messageCreated delivers a message sent over HTTP, as sent, within a second.
async fn a_member_receives_a_message_within_a_second(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let protocol = WsProtocol::TransportWs;
    let mut client = subscribe_live(&app, protocol, &bob, MESSAGES, vars(None, None), &chat).await;

    // Act
    let delivered = async {
        let sent = app.send(&ada, &chat, "hello bob").await;
        (sent, client.expect_next(SUB).await)
    };
    let (sent, received) = tokio::time::timeout(Duration::from_secs(1), delivered)
        .await
        .expect("not sent and delivered within a second");

    // Assert
    let message = event(&received);
    for field in ["id", "body", "createdAt"] {
        assert_eq!(message[field], sent[field], "{field}");
    }
    let delivered = message["cursor"].as_str().unwrap();
    assert_same_place(delivered, sent["cursor"].as_str().unwrap());
    assert_eq!(message["chatId"], chat.as_str());
    assert_eq!(message["sender"]["username"], ada.username.as_str());
    client.expect_silence(QUIET).await;
}

/// A user outside a chat receives none of its messages or membership events.
async fn a_non_member_receives_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for query in [MESSAGES, EVENTS] {
        // Arrange: fresh users for each field.
        let (ada, eve, cat) = (
            app.sign_up().await,
            app.sign_up().await,
            app.sign_up().await,
        );
        let chat = app.create_chat(&ada, &[]).await;
        let own = app.create_chat(&eve, &[]).await;
        let protocol = WsProtocol::TransportWs;
        let mut client = subscribe_live(&app, protocol, &eve, query, vars(None, None), &own).await;

        // Act
        app.send(&ada, &chat, "not for eve").await;
        app.add_member(&ada, &chat, &cat.id).await;
        app.leave(&cat, &chat).await;
        app.send(&eve, &own, "marker").await;

        // Assert
        assert_eq!(next_summaries(&mut client, 1).await, messages(&["marker"]));
        client.expect_silence(QUIET).await;
    }
}

/// With `chatId`, nothing from the viewer's other chats is delivered.
async fn a_chat_filter_delivers_only_that_chat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for query in [MESSAGES, EVENTS] {
        // Arrange: fresh users for each field.
        let (ada, bob, cat) = (
            app.sign_up().await,
            app.sign_up().await,
            app.sign_up().await,
        );
        let one = app.create_chat(&ada, &[&bob]).await;
        let two = app.create_chat(&ada, &[&bob]).await;
        let protocol = WsProtocol::TransportWs;
        let mut client =
            subscribe_live(&app, protocol, &bob, query, vars(Some(&one), None), &one).await;

        // Act
        app.send(&ada, &two, "elsewhere").await;
        app.add_member(&ada, &two, &cat.id).await;
        app.send(&ada, &one, "here").await;

        // Assert
        assert_eq!(next_summaries(&mut client, 1).await, messages(&["here"]));
        client.expect_silence(QUIET).await;
    }
}

/// chatEvents follows membership live: a chat flows from the viewer's own MemberJoined to its own MemberLeft, each time it is added.
async fn chat_events_follow_membership_live(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, vic) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    let own = app.create_chat(&vic, &[]).await;
    let protocol = WsProtocol::TransportWs;
    let mut client = subscribe_live(&app, protocol, &vic, EVENTS, vars(None, None), &own).await;

    // Act
    app.send(&ada, &chat, "before").await;
    app.add_member(&ada, &chat, &vic.id).await;
    app.send(&ada, &chat, "while in").await;
    app.leave(&vic, &chat).await;
    app.send(&ada, &chat, "while away").await;
    app.add_member(&ada, &chat, &vic.id).await;
    app.send(&ada, &chat, "back").await;
    app.leave(&vic, &chat).await;
    app.send(&ada, &chat, "after").await;
    app.send(&vic, &own, "marker").await;

    // Assert
    let joined = format!("joined {} by {}", vic.username, ada.username);
    let left = format!("left {}", vic.username);
    let expected = [
        joined.clone(),
        "message while in".to_owned(),
        left.clone(),
        joined,
        "message back".to_owned(),
        left,
        "message marker".to_owned(),
    ];
    assert_eq!(next_summaries(&mut client, 7).await, expected);
    client.expect_silence(QUIET).await;
}

/// messageCreated follows membership live: a chat's messages flow from the add to the leave only.
async fn message_created_follows_membership_live(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, vic) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    let own = app.create_chat(&vic, &[]).await;
    let protocol = WsProtocol::TransportWs;
    let mut client = subscribe_live(&app, protocol, &vic, MESSAGES, vars(None, None), &own).await;

    // Act
    app.send(&ada, &chat, "before").await;
    app.add_member(&ada, &chat, &vic.id).await;
    app.send(&ada, &chat, "while in").await;
    app.leave(&vic, &chat).await;
    app.send(&ada, &chat, "after").await;
    app.send(&vic, &own, "marker").await;

    // Assert
    let expected = messages(&["while in", "marker"]);
    assert_eq!(next_summaries(&mut client, 2).await, expected);
    client.expect_silence(QUIET).await;
}

/// ChatCreated reaches the creator and each initial member once, with the chat's title and members.
async fn chat_created_reaches_every_initial_member(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let mut clients = Vec::new();
    for member in [&ada, &bob] {
        let own = app.create_chat(member, &[]).await;
        let protocol = WsProtocol::TransportWs;
        let client = subscribe_live(&app, protocol, member, EVENTS, vars(None, None), &own).await;
        clients.push((member, own, client));
    }

    // Act
    let chat = app.create_chat(&ada, &[&bob]).await;

    // Assert
    for (member, own, client) in &mut clients {
        let created = client.expect_next(SUB).await;
        let event = event(&created);
        assert_eq!(event["__typename"], "ChatCreated");
        assert_eq!(event["chatId"], chat.as_str());
        assert_eq!(event["chat"]["id"], chat.as_str());
        assert_eq!(event["chat"]["title"], "test chat");
        let members = json!([{ "username": ada.username }, { "username": bob.username }]);
        assert_eq!(event["chat"]["members"], members);
        assert!(!event["cursor"].as_str().unwrap().is_empty());
        utc_millis(event["at"].as_str().unwrap());

        app.send(member, own, "marker").await;
        assert_eq!(next_summaries(client, 1).await, messages(&["marker"]));
        client.expect_silence(QUIET).await;
    }
}

/// MemberJoined, MessageCreated and MemberLeft arrive with their concrete types and fields; a MessageCreated shares its message's cursor and time.
async fn events_carry_their_types_and_fields(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob]).await;
    let protocol = WsProtocol::TransportWs;
    let mut client =
        subscribe_live(&app, protocol, &ada, EVENTS, vars(Some(&chat), None), &chat).await;

    // Act
    app.add_member(&bob, &chat, &cat.id).await;
    let sent = app.send(&cat, &chat, "hi all").await;
    app.leave(&cat, &chat).await;

    // Assert
    let received = next_events(&mut client, 3).await;
    let [joined, created, left] = received.as_slice() else {
        unreachable!()
    };
    for event in [joined, created, left] {
        assert_eq!(event["chatId"], chat.as_str());
        assert!(!event["cursor"].as_str().unwrap().is_empty());
        utc_millis(event["at"].as_str().unwrap());
    }
    assert_eq!(joined["__typename"], "MemberJoined");
    assert_eq!(joined["user"]["username"], cat.username.as_str());
    assert_eq!(joined["addedBy"]["username"], bob.username.as_str());

    assert_eq!(created["__typename"], "MessageCreated");
    let message = &created["message"];
    for field in ["id", "body", "cursor", "createdAt"] {
        assert_eq!(message[field], sent[field], "{field}");
    }
    assert_eq!(message["sender"]["username"], cat.username.as_str());
    assert_eq!(created["cursor"], message["cursor"]);
    assert_eq!(created["at"], message["createdAt"]);

    assert_eq!(left["__typename"], "MemberLeft");
    assert_eq!(left["user"]["username"], cat.username.as_str());
    client.expect_silence(QUIET).await;
}

/// A chatId the viewer is not in (never was, has left, or that names nothing) is NOT_FOUND, with or without `after`.
async fn a_chat_the_viewer_is_not_in_is_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, eve) = (app.sign_up().await, app.sign_up().await);
    let theirs = app.create_chat(&ada, &[]).await;
    let left = app.create_chat(&eve, &[]).await;
    let cursor = app.send(&eve, &left, "while in").await["cursor"].clone();
    app.leave(&eve, &left).await;
    let cursor = cursor.as_str();

    // Act / Assert
    let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &eve).await;
    for query in [MESSAGES, EVENTS] {
        for chat in [theirs.as_str(), left.as_str(), "no-such-chat"] {
            for after in [None, cursor] {
                let code = refusal(&mut client, query, vars(Some(chat), after)).await;
                assert_eq!(code, "NOT_FOUND", "{chat} after {after:?}: {query}");
            }
        }
    }
}

/// A chatId subscription completes right after the viewer's own MemberLeft (chatEvents delivers it first).
async fn a_filtered_subscription_completes_after_the_viewers_leave(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, vic, wes) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&vic, &wes]).await;
    let protocol = WsProtocol::TransportWs;
    let only = vars(Some(&chat), None);
    let mut events = subscribe_live(&app, protocol, &vic, EVENTS, only.clone(), &chat).await;

    // Act / Assert: chatEvents delivers the leave, then completes.
    app.leave(&vic, &chat).await;
    let left = format!("left {}", vic.username);
    assert_eq!(next_summaries(&mut events, 1).await, [left]);
    events.expect_complete(SUB).await;

    // Act / Assert: messageCreated just completes.
    let mut messages = subscribe_live(&app, protocol, &wes, MESSAGES, only, &chat).await;
    app.leave(&wes, &chat).await;
    messages.expect_complete(SUB).await;

    app.send(&ada, &chat, "after both left").await;
    events.expect_silence(QUIET).await;
    messages.expect_silence(QUIET).await;
}

/// Over the legacy graphql-ws protocol a subscription delivers messages as `data`, and `stop` ends it.
async fn the_legacy_protocol_delivers_messages(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let protocol = WsProtocol::Legacy;
    let mut client = subscribe_live(&app, protocol, &bob, MESSAGES, vars(None, None), &chat).await;

    // Act
    let sent = app.send(&ada, &chat, "old school").await;

    // Assert: expect_next takes only a `data` message in legacy.
    let received = client.expect_next(SUB).await;
    assert_eq!(event(&received)["id"], sent["id"]);
    assert_eq!(summary(&received), "message old school");
    client.complete(SUB).await;
    app.send(&ada, &chat, "after stop").await;
    client.expect_silence(QUIET).await;
}

/// A subscriber in three chats receives 30 concurrently sent messages each once, in log order (both fields).
async fn interleaved_messages_arrive_once_in_log_order(backend: Backend) {
    receive_interleaved_messages(TestApp::spawn(backend).await).await;
}

/// The same holds when subscriptions overrun a tiny hub buffer and catch up from the log.
async fn a_lagging_subscription_still_gets_every_message_in_order(backend: Backend) {
    receive_interleaved_messages(TestApp::spawn_with(backend, |c| c.hub_buffer = 1).await).await;
}

/// Two subscribers (messageCreated and chatEvents) in three chats receive
/// 30 messages sent concurrently into them, each once and in log order.
async fn receive_interleaved_messages(app: TestApp) {
    // Arrange
    let (vic, wes) = (app.sign_up().await, app.sign_up().await);
    let senders = [
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    ];
    let mut chats = Vec::new();
    for sender in &senders {
        chats.push(app.create_chat(sender, &[&vic, &wes]).await);
    }
    let protocol = WsProtocol::TransportWs;
    let mut subscribers = Vec::new();
    for (viewer, query) in [(&vic, MESSAGES), (&wes, EVENTS)] {
        let own = app.create_chat(viewer, &[]).await;
        subscribers
            .push(subscribe_live(&app, protocol, viewer, query, vars(None, None), &own).await);
    }

    // Act
    let app = &app;
    join_all(senders.iter().zip(&chats).map(|(sender, chat)| async move {
        for i in 0..10 {
            app.send(sender, chat, &format!("{} #{i}", sender.username))
                .await;
        }
    }))
    .await;

    // Assert
    let logged: Vec<String> = app
        .events()
        .await
        .into_iter()
        .filter(|e| chats.iter().any(|chat| e.chat_id.as_str() == chat))
        .filter_map(|e| match e.kind {
            EventKind::MessageCreated(message) => Some(format!("{}:{}", e.chat_id, message.id)),
            _ => None,
        })
        .collect();
    assert_eq!(logged.len(), 30);
    for client in &mut subscribers {
        let mut received = Vec::new();
        for _ in 0..30 {
            let payload = client.expect_next(SUB).await;
            let event = event(&payload);
            let message = if event["message"].is_null() {
                event
            } else {
                &event["message"]
            };
            received.push(message["id"].as_str().unwrap().to_owned());
        }
        // One log has one order; a partitioned one orders each chat only.
        match app.store.partitions().count() {
            1 => assert_eq!(received, logged),
            _ => assert_eq!(per_chat(&received), per_chat(&logged)),
        }
        client.expect_silence(QUIET).await;
    }
}

/// Message ids (`<chat>:<position>`) grouped by chat, each in its order.
fn per_chat(ids: &[String]) -> std::collections::BTreeMap<&str, Vec<&str>> {
    let mut chats = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for id in ids {
        let (chat, _) = id.split_once(':').expect("a message id");
        chats.entry(chat).or_default().push(id);
    }
    chats
}

crate::on_both_backends!(
    a_member_receives_a_message_within_a_second,
    a_non_member_receives_nothing,
    a_chat_filter_delivers_only_that_chat,
    chat_events_follow_membership_live,
    message_created_follows_membership_live,
    chat_created_reaches_every_initial_member,
    events_carry_their_types_and_fields,
    a_chat_the_viewer_is_not_in_is_not_found,
    a_filtered_subscription_completes_after_the_viewers_leave,
    the_legacy_protocol_delivers_messages,
    interleaved_messages_arrive_once_in_log_order,
    a_lagging_subscription_still_gets_every_message_in_order,
);
