//! Read state: positions that start at the join and move forward only,
//! `markRead`, `Chat.unreadCount`, `readCursor` and `readReceipts`, and
//! the `ChatRead` event.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, data, error_code, utc_millis};
use crate::message_changes::delete;
use crate::ws_client::{next_event, subscribe, vars};

const STATE: &str = "query($c: ID!) { chat(id: $c) { unreadCount readCursor readReceipts { user { id } cursor messageId at } } }";

/// `viewer`'s read state of `chat`.
async fn state(app: &TestApp, viewer: &Account, chat: &str) -> Value {
    let response = app
        .graphql(Some(&viewer.token), STATE, json!({ "c": chat }))
        .await;
    data(&response, "chat").clone()
}

/// `markRead` as `who`: the raw response.
async fn mark_read(app: &TestApp, who: &Account, chat: &str, cursor: &Value) -> Value {
    let query = "mutation($c: ID!, $k: String!) { markRead(chatId: $c, cursor: $k) { id unreadCount readCursor } }";
    app.graphql(Some(&who.token), query, json!({ "c": chat, "k": cursor }))
        .await
}

/// A member joins with nothing unread and no read cursor; messages sent
/// after the join are unread; the sender's own position moves with each
/// send, without a ChatRead event.
async fn positions_start_at_the_join_and_sending_moves_the_senders(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    for i in 0..3 {
        app.send(&ada, &chat, &format!("before {i}")).await;
    }
    app.add_member(&ada, &chat, &bob.id).await;
    let joined = state(&app, &bob, &chat).await;

    // Act
    app.send(&ada, &chat, "after 1").await;
    let last = app.send(&ada, &chat, "after 2").await;

    // Assert
    assert_eq!(joined["unreadCount"], 0);
    assert!(joined["readCursor"].is_null());
    let bob_now = state(&app, &bob, &chat).await;
    assert_eq!(bob_now["unreadCount"], 2);
    assert_eq!(bob_now["readReceipts"][0]["user"]["id"], ada.id.as_str());
    let ada_now = state(&app, &ada, &chat).await;
    assert_eq!(ada_now["unreadCount"], 0);
    assert_eq!(ada_now["readCursor"], last["cursor"]);
    assert_eq!(
        ada_now["readReceipts"],
        json!([]),
        "bob has no position at a message"
    );
    let kinds: Vec<String> = app
        .events()
        .await
        .iter()
        .filter(|e| e.chat_id.as_str() == chat)
        .map(|e| {
            format!("{:?}", e.kind)
                .split([' ', '(', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!kinds.iter().any(|k| k == "ChatRead"), "{kinds:?}");
}

/// markRead moves forward only: to a later message it writes ChatRead and
/// lowers unreadCount; to the same or an earlier one it returns the chat
/// and writes nothing. A deleted message stops counting. readReceipts show
/// the other members in join order with cursor, messageId and time.
async fn mark_read_moves_forward_only_and_deletes_stop_counting(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob, &cat]).await;
    let sent: Vec<Value> = {
        let mut sent = Vec::new();
        for i in 0..4 {
            sent.push(app.send(&ada, &chat, &format!("m{i}")).await);
        }
        sent
    };

    // Act
    let moved = mark_read(&app, &bob, &chat, &sent[1]["cursor"]).await;
    let events_after_move = app.events().await.len();
    let back = mark_read(&app, &bob, &chat, &sent[0]["cursor"]).await;
    let same = mark_read(&app, &bob, &chat, &sent[1]["cursor"]).await;
    let events_after_noops = app.events().await.len();
    data(&delete(&app, &ada, &sent[3]).await, "deleteMessage");
    data(&delete(&app, &ada, &sent[0]).await, "deleteMessage");

    // Assert
    let moved = data(&moved, "markRead");
    assert_eq!(moved["unreadCount"], 2);
    assert_eq!(moved["readCursor"], sent[1]["cursor"]);
    assert_eq!(
        events_after_noops, events_after_move,
        "no-ops write nothing"
    );
    assert_eq!(data(&back, "markRead")["readCursor"], sent[1]["cursor"]);
    assert_eq!(data(&same, "markRead")["unreadCount"], 2);
    let bob_now = state(&app, &bob, &chat).await;
    assert_eq!(bob_now["unreadCount"], 1, "m3 deleted; m0 was already read");
    assert_eq!(state(&app, &cat, &chat).await["unreadCount"], 2, "m1, m2");
    let receipts = &state(&app, &cat, &chat).await["readReceipts"];
    assert_eq!(receipts.as_array().unwrap().len(), 2, "{receipts}");
    assert_eq!(receipts[0]["user"]["id"], ada.id.as_str());
    assert_eq!(
        receipts[0]["cursor"], sent[3]["cursor"],
        "her last send (now deleted)"
    );
    assert_eq!(receipts[1]["user"]["id"], bob.id.as_str());
    assert_eq!(receipts[1]["cursor"], sent[1]["cursor"]);
    assert_eq!(receipts[1]["messageId"], sent[1]["id"]);
    let read_at = utc_millis(receipts[1]["at"].as_str().unwrap());
    assert!(read_at >= utc_millis(sent[3]["createdAt"].as_str().unwrap()));
    // Marking a deleted message read is fine.
    let to_tombstone = mark_read(&app, &cat, &chat, &sent[3]["cursor"]).await;
    assert_eq!(data(&to_tombstone, "markRead")["unreadCount"], 0);
}

/// markRead refuses a malformed cursor, another chat's, and one that is
/// not a message's (BAD_USER_INPUT), a cursor of a lost log
/// (CURSOR_EXPIRED) and a chat the viewer is not in (NOT_FOUND), writing
/// nothing.
async fn mark_read_refusals(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, eve) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    let other = app.create_chat(&ada, &[]).await;
    let message = app.send(&ada, &chat, "one").await;
    let elsewhere = app.send(&ada, &other, "two").await;
    const EVENTS: &str =
        "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { cursor } }";
    app.add_member(&ada, &chat, &eve.id).await;
    let mut events = subscribe(
        &app,
        &ada,
        EVENTS,
        vars(Some(&chat), message["cursor"].as_str()),
    )
    .await;
    let join_cursor = next_event(&mut events).await["cursor"].clone();
    app.leave(&eve, &chat).await;
    let lost_log = URL_SAFE_NO_PAD.encode(format!("l1:{}:1-0", "0".repeat(32)));
    let before = app.events().await.len();

    // Act + Assert
    let cases = [
        (json!("not a cursor"), "BAD_USER_INPUT"),
        (elsewhere["cursor"].clone(), "BAD_USER_INPUT"),
        (join_cursor, "BAD_USER_INPUT"),
        (json!(lost_log), "CURSOR_EXPIRED"),
    ];
    for (cursor, code) in &cases {
        assert_eq!(
            error_code(&mark_read(&app, &ada, &chat, cursor).await),
            *code,
            "{cursor}"
        );
    }
    assert_eq!(
        error_code(&mark_read(&app, &eve, &chat, &message["cursor"]).await),
        "NOT_FOUND"
    );
    assert_eq!(app.events().await.len(), before);
}

/// A member who leaves and is added again starts over at the new join.
async fn rejoining_starts_over_at_the_new_join(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let first = app.send(&ada, &chat, "one").await;
    data(
        &mark_read(&app, &bob, &chat, &first["cursor"]).await,
        "markRead",
    );
    app.send(&ada, &chat, "two").await;
    app.leave(&bob, &chat).await;
    app.send(&ada, &chat, "while away").await;

    app.add_member(&ada, &chat, &bob.id).await;
    let back = state(&app, &bob, &chat).await;
    app.send(&ada, &chat, "welcome back").await;

    assert_eq!(back["unreadCount"], 0);
    assert!(back["readCursor"].is_null());
    assert_eq!(state(&app, &bob, &chat).await["unreadCount"], 1);
}

/// ChatRead reaches the other members live (for their "seen by" marks),
/// with the reader, the new read cursor and the message id.
async fn chat_read_reaches_the_other_members(backend: Backend) {
    const EVENTS: &str = "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename ... on ChatRead { user { id } readCursor messageId } } }";
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "seen?").await;
    let mut watcher = subscribe(
        &app,
        &ada,
        EVENTS,
        vars(Some(&chat), message["cursor"].as_str()),
    )
    .await;

    data(
        &mark_read(&app, &bob, &chat, &message["cursor"]).await,
        "markRead",
    );

    let read = next_event(&mut watcher).await;
    assert_eq!(read["__typename"], "ChatRead");
    assert_eq!(read["user"]["id"], bob.id.as_str());
    assert_eq!(read["readCursor"], message["cursor"]);
    assert_eq!(read["messageId"], message["id"]);
}

crate::on_both_backends!(
    positions_start_at_the_join_and_sending_moves_the_senders,
    mark_read_moves_forward_only_and_deletes_stop_counting,
    mark_read_refusals,
    rejoining_starts_over_at_the_new_join,
    chat_read_reaches_the_other_members,
);
