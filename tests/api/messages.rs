//! Messages: sendMessage, its idempotency key, history paging with
//! `Chat.messages`, `lastMessage`, and agreement with the event log.

use std::collections::HashSet;

use chat_server::store::{Event, EventKind, LogId};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, data, error_code, utc_millis};

const LAST_MESSAGE: &str = "query($id: ID!) { chat(id: $id) { lastMessage { id body cursor } } }";

/// Sends `count` messages "m0", "m1", ... one after the other.
async fn send_many(app: &TestApp, sender: &Account, chat: &str, count: usize) -> Vec<Value> {
    let mut sent = Vec::with_capacity(count);
    for i in 0..count {
        sent.push(app.send(sender, chat, &format!("m{i}")).await);
    }
    sent
}

/// `node.<field>` of every edge of a connection.
fn nodes(connection: &Value, field: &str) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"][field].as_str().unwrap().to_owned())
        .collect()
}

/// `<field>` of every message in a list.
fn fields(messages: &[Value], field: &str) -> Vec<String> {
    messages
        .iter()
        .map(|m| m[field].as_str().unwrap().to_owned())
        .collect()
}

/// The MessageCreated events of `chat` in the log, in log order.
async fn logged_messages(app: &TestApp, chat: &str) -> Vec<Event> {
    app.events()
        .await
        .into_iter()
        .filter(|event| event.chat_id.as_str() == chat)
        .filter(|event| matches!(event.kind, EventKind::MessageCreated(_)))
        .collect()
}

/// The API id of the message a MessageCreated event carries: its chat and
/// its log position.
fn message_id(event: &Event) -> String {
    match &event.kind {
        EventKind::MessageCreated(message) => format!("{}:{}", message.chat_id, message.id),
        other => panic!("not a MessageCreated event: {other:?}"),
    }
}

/// sendMessage returns the message with its chat, sender, UTC createdAt and cursor.
async fn send_message_returns_the_message(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let before = chat_server::store::now_ms();

    // Act
    let response = app.send_response(&ada, &chat, "hello", None).await;

    // Assert
    let message = data(&response, "sendMessage");
    assert_eq!(message["chatId"], chat.as_str());
    assert_eq!(message["body"], "hello");
    assert_eq!(message["sender"]["id"], ada.id.as_str());
    assert_eq!(message["sender"]["username"], ada.username.as_str());
    assert!(message["clientMessageId"].is_null());
    assert!(!message["id"].as_str().unwrap().is_empty());
    assert!(!message["cursor"].as_str().unwrap().is_empty());
    let created = utc_millis(message["createdAt"].as_str().unwrap());
    assert!(
        (before - 1000..=chat_server::store::now_ms() + 1000).contains(&created),
        "createdAt {created} is not now"
    );
}

/// Bodies and clientMessageIds at and past their bounds: a body is kept exactly as sent (whitespace included, 4,000 emoji counted as code points); an empty, whitespace-only or 4,001-character body is BAD_USER_INPUT; a clientMessageId of 64 characters is echoed, one of 0 or 65 is BAD_USER_INPUT; a refusal writes nothing.
async fn send_message_input_bounds(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let (emoji, too_long) = ("😀".repeat(4000), "a".repeat(4001));
    let (key_64, key_65) = ("k".repeat(64), "k".repeat(65));
    // (case, body, clientMessageId, kept: accepted and kept exactly, or
    // refused as BAD_USER_INPUT)
    let cases: [(&str, &str, Option<&str>, bool); 9] = [
        ("whitespace kept", "  indented\n\tcode  \n", None, true),
        ("4,000 emoji", &emoji, None, true),
        ("empty body", "", None, false),
        ("spaces only", "   ", None, false),
        ("Unicode whitespace", " \u{2003}\n\t\u{3000}", None, false),
        ("4,001 characters", &too_long, None, false),
        ("64-character key", "hi", Some(&key_64), true),
        ("65-character key", "hi", Some(&key_65), false),
        ("empty key", "hi", Some(""), false),
    ];

    for (case, body, key, kept) in cases {
        let chat = app.create_chat(&ada, &[]).await;
        let head = app.log_head().await;

        // Act
        let response = app.send_response(&ada, &chat, body, key).await;

        // Assert
        if kept {
            assert!(response["errors"].is_null(), "{case}: {response:#}");
            let message = data(&response, "sendMessage");
            assert_eq!(message["body"], body, "{case}");
            assert_eq!(message["clientMessageId"], json!(key), "{case}");
            let page = app.history(&ada, &chat, None, None).await;
            assert_eq!(nodes(&page, "body"), [body], "{case}");
        } else {
            let code = &response["errors"][0]["extensions"]["code"];
            assert_eq!(code, "BAD_USER_INPUT", "{case}: {response:#}");
            assert_eq!(app.log_head().await, head, "{case}: a refusal wrote");
        }
    }
}

/// A retry with the same key returns the first message and writes nothing more.
async fn a_retry_with_the_same_key_returns_the_first_message(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let first = app
        .send_response(&ada, &chat, "once", Some("retry-1"))
        .await;
    let first = data(&first, "sendMessage").clone();

    // Act
    let retry = app
        .send_response(&ada, &chat, "once", Some("retry-1"))
        .await;

    // Assert
    assert_eq!(data(&retry, "sendMessage"), &first);
    let page = app.history(&ada, &chat, None, None).await;
    assert_eq!(nodes(&page, "id"), [first["id"].as_str().unwrap()]);
    let logged = logged_messages(&app, &chat).await;
    assert_eq!(logged.len(), 1, "MessageCreated events: {logged:?}");
}

/// The same key from another sender, or in another chat, makes a new message.
async fn a_key_is_scoped_to_sender_and_chat(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let (shared, other) = (
        app.create_chat(&ada, &[&bob]).await,
        app.create_chat(&ada, &[]).await,
    );

    // Act
    let sent = [
        app.send_response(&ada, &shared, "k", Some("same")).await,
        app.send_response(&bob, &shared, "k", Some("same")).await,
        app.send_response(&ada, &other, "k", Some("same")).await,
    ];

    // Assert
    let ids: HashSet<String> = sent
        .iter()
        .map(|r| data(r, "sendMessage")["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{sent:#?}");
    assert_eq!(
        nodes(&app.history(&ada, &shared, None, None).await, "id").len(),
        2
    );
    assert_eq!(
        nodes(&app.history(&ada, &other, None, None).await, "id").len(),
        1
    );
}

/// A sender who left gets NOT_FOUND on a retry: membership is checked before the key.
async fn a_retry_after_leaving_is_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let sent = app.send_response(&bob, &chat, "bye", Some("left-1")).await;
    data(&sent, "sendMessage");
    app.leave(&bob, &chat).await;
    let head = app.log_head().await;

    // Act
    let retry = app.send_response(&bob, &chat, "bye", Some("left-1")).await;

    // Assert
    assert_eq!(error_code(&retry), "NOT_FOUND");
    assert_eq!(app.log_head().await, head);
}

/// History is newest last and holds the newest 50 without `last`.
async fn history_is_newest_last_and_defaults_to_50(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let sent = send_many(&app, &ada, &chat, 55).await;

    // Act
    let page = app.history(&ada, &chat, None, None).await;

    // Assert
    assert_eq!(nodes(&page, "id"), fields(&sent[5..], "id"));
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
}

/// `last` outside 1–100 is BAD_USER_INPUT; 1 and 100 are accepted.
async fn history_last_must_be_between_1_and_100(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    app.send(&ada, &chat, "one").await;

    for (last, accepted) in [
        (0, false),
        (101, false),
        (-1, false),
        (1, true),
        (100, true),
    ] {
        // Act
        let response = app.history_response(&ada, &chat, Some(last), None).await;

        // Assert
        if accepted {
            data(&response, "chat");
        } else {
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "last: {last}");
        }
    }
}

/// Paging back with `before` visits every message exactly once, with a correct pageInfo.
async fn paging_back_visits_every_message_once(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let sent = send_many(&app, &ada, &chat, 23).await;

    // Act
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = app.history(&ada, &chat, Some(5), before.as_deref()).await;
        before = page["pageInfo"]["startCursor"].as_str().map(str::to_owned);
        let more = page["pageInfo"]["hasPreviousPage"] == true;
        pages.push(page);
        if !more {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    let beyond = app.history(&ada, &chat, Some(5), before.as_deref()).await;

    // Assert
    let sizes: Vec<usize> = pages.iter().map(|p| nodes(p, "id").len()).collect();
    assert_eq!(sizes, [5, 5, 5, 5, 3]);
    let seen: Vec<String> = pages.iter().rev().flat_map(|p| nodes(p, "id")).collect();
    assert_eq!(seen, fields(&sent, "id"));
    for (index, page) in pages.iter().enumerate() {
        let edges = page["edges"].as_array().unwrap();
        let info = &page["pageInfo"];
        assert_eq!(info["hasPreviousPage"], index < 4, "page {index}");
        assert_eq!(info["hasNextPage"], index > 0, "page {index}");
        assert_eq!(info["startCursor"], edges[0]["cursor"], "page {index}");
        assert_eq!(
            info["endCursor"],
            edges[edges.len() - 1]["cursor"],
            "page {index}"
        );
    }
    let empty = json!({
        "edges": [],
        "pageInfo": { "hasPreviousPage": false, "hasNextPage": true, "startCursor": null, "endCursor": null },
    });
    assert_eq!(beyond, empty, "before the oldest message");
}

/// A chat without messages has an empty history and no lastMessage.
async fn an_empty_chat_has_an_empty_history(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;

    // Act
    let page = app.history(&ada, &chat, None, None).await;
    let last = app
        .graphql(Some(&ada.token), LAST_MESSAGE, json!({ "id": chat }))
        .await;

    // Assert
    let empty = json!({
        "edges": [],
        "pageInfo": { "hasPreviousPage": false, "hasNextPage": false, "startCursor": null, "endCursor": null },
    });
    assert_eq!(page, empty);
    assert!(data(&last, "chat")["lastMessage"].is_null(), "{last:#}");
}

/// A cursor from another chat works as `before`: log positions compare across chats.
async fn before_accepts_a_cursor_from_another_chat(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let (chat, elsewhere) = (
        app.create_chat(&ada, &[]).await,
        app.create_chat(&ada, &[]).await,
    );
    let early = send_many(&app, &ada, &chat, 2).await;
    let marker = app.send(&ada, &elsewhere, "marker").await;
    app.send(&ada, &chat, "late").await;

    // Act
    let page = app
        .history(&ada, &chat, None, marker["cursor"].as_str())
        .await;

    // Assert
    assert_eq!(nodes(&page, "id"), fields(&early, "id"));
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
}

/// A cursor the server cannot use is refused as `before`: a message cursor from another log (another server's) is CURSOR_EXPIRED; a `chats` cursor or a string the server never made is BAD_USER_INPUT.
async fn before_refuses_foreign_cursors(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    app.send(&ada, &chat, "hello").await;
    let chats = app
        .graphql(
            Some(&ada.token),
            "{ chats { edges { cursor } } }",
            json!({}),
        )
        .await;
    let chats_cursor = data(&chats, "chats")["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = TestApp::spawn(backend).await;
    let stranger = other.sign_up().await;
    let far = other.create_chat(&stranger, &[]).await;
    let other_log = other.send(&stranger, &far, "there").await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let cases: [(&str, &str, &str); 4] = [
        ("another log's cursor", &other_log, "CURSOR_EXPIRED"),
        ("a chats cursor", &chats_cursor, "BAD_USER_INPUT"),
        ("garbage", "garbage", "BAD_USER_INPUT"),
        ("an empty string", "", "BAD_USER_INPUT"),
    ];

    for (case, before, expected) in cases {
        // Act
        let response = app.history_response(&ada, &chat, None, Some(before)).await;

        // Assert
        let code = &response["errors"][0]["extensions"]["code"];
        assert_eq!(code, expected, "{case} ({before:?}): {response:#}");
    }
}

/// `lastMessage` is the newest message.
async fn last_message_is_the_newest(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let sent = send_many(&app, &ada, &chat, 2).await;

    // Act
    let response = app
        .graphql(Some(&ada.token), LAST_MESSAGE, json!({ "id": chat }))
        .await;

    // Assert
    let last = &data(&response, "chat")["lastMessage"];
    assert_eq!(last["id"], sent[1]["id"]);
    assert_eq!(last["body"], "m1");
    assert_eq!(last["cursor"], sent[1]["cursor"]);
}

/// A message's `cursor` is its MessageEdge's cursor and what sendMessage returned.
async fn a_message_has_one_cursor(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let sent = send_many(&app, &ada, &chat, 3).await;

    // Act
    let page = app.history(&ada, &chat, None, None).await;

    // Assert
    let edge_cursors: Vec<String> = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(edge_cursors, nodes(&page, "cursor"));
    assert_eq!(edge_cursors, fields(&sent, "cursor"));
}

/// Concurrent sends to one chat make distinct messages whose history order is the log order.
async fn concurrent_sends_follow_log_order(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;

    // Act
    let bodies: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    let sent = join_all(bodies.iter().map(|body| app.send(&ada, &chat, body))).await;

    // Assert
    let sent_ids: HashSet<String> = fields(&sent, "id").into_iter().collect();
    assert_eq!(sent_ids.len(), 20);
    let history_ids = nodes(&app.history(&ada, &chat, None, None).await, "id");
    let logged = logged_messages(&app, &chat).await;
    let log_ids: Vec<String> = logged.iter().map(message_id).collect();
    assert_eq!(history_ids, log_ids);
    assert_eq!(
        history_ids.iter().cloned().collect::<HashSet<_>>(),
        sent_ids
    );
    assert!(
        logged.windows(2).all(|w| w[0].id < w[1].id),
        "log not increasing"
    );
    let positions: Vec<LogId> = history_ids
        .iter()
        .map(|id| id.split_once(':').unwrap().1.parse().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "history not increasing"
    );
}

/// `Message.createdAt` is its MessageCreated event's time.
async fn created_at_is_the_event_time(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    send_many(&app, &ada, &chat, 3).await;

    // Act
    let page = app.history(&ada, &chat, None, None).await;

    // Assert
    let events = logged_messages(&app, &chat).await;
    assert_eq!(
        nodes(&page, "id"),
        events.iter().map(message_id).collect::<Vec<_>>()
    );
    let created: Vec<u64> = nodes(&page, "createdAt")
        .iter()
        .map(|t| utc_millis(t))
        .collect();
    let at: Vec<u64> = events.iter().map(Event::at).collect();
    assert_eq!(created, at);
}

/// A member added later sees the whole history, including older messages.
async fn a_later_member_sees_the_whole_history(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    let sent = send_many(&app, &ada, &chat, 3).await;
    app.add_member(&ada, &chat, &bob.id).await;

    // Act
    let page = app.history(&bob, &chat, None, None).await;

    // Assert
    assert_eq!(nodes(&page, "id"), fields(&sent, "id"));
}

crate::on_both_backends!(
    send_message_returns_the_message,
    send_message_input_bounds,
    a_retry_with_the_same_key_returns_the_first_message,
    a_key_is_scoped_to_sender_and_chat,
    a_retry_after_leaving_is_not_found,
    history_is_newest_last_and_defaults_to_50,
    an_empty_chat_has_an_empty_history,
    history_last_must_be_between_1_and_100,
    paging_back_visits_every_message_once,
    before_accepts_a_cursor_from_another_chat,
    before_refuses_foreign_cursors,
    last_message_is_the_newest,
    a_message_has_one_cursor,
    concurrent_sends_follow_log_order,
    created_at_is_the_event_time,
    a_later_member_sees_the_whole_history,
);
