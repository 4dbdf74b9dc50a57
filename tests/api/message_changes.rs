//! Messages that change: `editMessage`, `deleteMessage` (tombstones) and
//! replies, with their permission, idempotence and state rules, and the
//! events they append.

use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, data, error_code, utc_millis};
use crate::ws_client::{next_event, subscribe, vars};

/// Every field of a message that can change, and its reply.
pub const MESSAGE_FIELDS: &str =
    "id body editedAt deletedAt cursor sender { id } replyTo { id body deletedAt }";

fn edit_query() -> String {
    format!(
        "mutation($m: ID!, $b: String!) {{ editMessage(input: {{ messageId: $m, body: $b }}) {{ {MESSAGE_FIELDS} }} }}"
    )
}

fn delete_query() -> String {
    format!("mutation($m: ID!) {{ deleteMessage(messageId: $m) {{ {MESSAGE_FIELDS} }} }}")
}

/// `editMessage` as `who`: the raw response.
pub async fn edit(app: &TestApp, who: &Account, message: &Value, body: &str) -> Value {
    let variables = json!({ "m": message["id"], "b": body });
    app.graphql(Some(&who.token), &edit_query(), variables)
        .await
}

/// `deleteMessage` as `who`: the raw response.
pub async fn delete(app: &TestApp, who: &Account, message: &Value) -> Value {
    app.graphql(
        Some(&who.token),
        &delete_query(),
        json!({ "m": message["id"] }),
    )
    .await
}

/// `sendMessage` replying to `reply_to` (an id): the raw response.
pub async fn reply(
    app: &TestApp,
    who: &Account,
    chat: &str,
    body: &str,
    reply_to: &Value,
) -> Value {
    let query = format!(
        "mutation($i: SendMessageInput!) {{ sendMessage(input: $i) {{ {MESSAGE_FIELDS} }} }}"
    );
    let input = json!({ "chatId": chat, "body": body, "replyToId": reply_to });
    app.graphql(Some(&who.token), &query, json!({ "i": input }))
        .await
}

/// The chat's history as `viewer` reads it, every changeable field.
async fn history(app: &TestApp, viewer: &Account, chat: &str) -> Vec<Value> {
    let query = format!(
        "query($c: ID!) {{ chat(id: $c) {{ messages {{ edges {{ node {{ {MESSAGE_FIELDS} }} }} }} lastMessage {{ id body deletedAt }} }} }}"
    );
    let response = app
        .graphql(Some(&viewer.token), &query, json!({ "c": chat }))
        .await;
    data(&response, "chat")["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

/// The number of events in the log, for "writes nothing".
async fn logged(app: &TestApp) -> usize {
    app.events().await.len()
}

/// The sender edits: the body is stored exactly, editedAt is the edit's
/// time, history shows it, and one MessageEdited is appended. The same
/// body again returns the message and writes nothing.
async fn the_sender_edits_and_the_same_body_writes_nothing(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let message = app.send(&ada, &chat, "draft").await;
    let before = logged(&app).await;

    // Act
    let edited = edit(&app, &ada, &message, "  final\n").await;
    let again = edit(&app, &ada, &message, "  final\n").await;

    // Assert
    let edited = data(&edited, "editMessage");
    assert_eq!(edited["body"], "  final\n");
    assert_eq!(edited["id"], message["id"]);
    assert_eq!(edited["cursor"], message["cursor"]);
    assert!(edited["deletedAt"].is_null());
    let at = utc_millis(edited["editedAt"].as_str().unwrap());
    let events = app.events().await;
    assert_eq!(events.len(), before + 1, "one event for one edit");
    assert_eq!(
        events.last().unwrap().at(),
        at,
        "editedAt is the event time"
    );
    assert_eq!(
        data(&again, "editMessage"),
        edited,
        "a no-op returns it as is"
    );
    assert_eq!(history(&app, &ada, &chat).await[0], *edited);
}

/// Only the sender may change a message: another member gets FORBIDDEN
/// (also for a tombstone: permission comes first), a non-member and a
/// malformed id NOT_FOUND; none writes anything.
async fn only_the_sender_may_edit_or_delete(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, eve) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "mine").await;
    let gone = app.send(&ada, &chat, "soon gone").await;
    data(&delete(&app, &ada, &gone).await, "deleteMessage");
    let before = logged(&app).await;

    // Act + Assert
    assert_eq!(
        error_code(&edit(&app, &bob, &message, "his").await),
        "FORBIDDEN"
    );
    assert_eq!(error_code(&delete(&app, &bob, &message).await), "FORBIDDEN");
    assert_eq!(
        error_code(&edit(&app, &bob, &gone, "his").await),
        "FORBIDDEN"
    );
    assert_eq!(error_code(&delete(&app, &bob, &gone).await), "FORBIDDEN");
    assert_eq!(
        error_code(&edit(&app, &eve, &message, "hers").await),
        "NOT_FOUND"
    );
    assert_eq!(error_code(&delete(&app, &eve, &message).await), "NOT_FOUND");
    let malformed = json!({ "id": "not-a-message" });
    assert_eq!(
        error_code(&edit(&app, &ada, &malformed, "x").await),
        "NOT_FOUND"
    );
    let unknown = json!({ "id": format!("{chat}:1-0") });
    assert_eq!(error_code(&delete(&app, &ada, &unknown).await), "NOT_FOUND");
    assert_eq!(logged(&app).await, before, "refusals write nothing");
    assert_eq!(history(&app, &ada, &chat).await[0]["body"], "mine");
}

/// Deleting leaves a tombstone: body "", deletedAt set, reactions gone;
/// it keeps its id, cursor, sender, createdAt and place in history and
/// as lastMessage. Deleting it again returns it and writes nothing;
/// editing it is CONFLICT.
async fn a_delete_leaves_a_tombstone_in_place(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let first = app.send(&ada, &chat, "first").await;
    let last = app.send(&ada, &chat, "last").await;
    let react = "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }";
    app.graphql(Some(&ada.token), react, json!({ "m": last["id"] }))
        .await;

    // Act
    let deleted = delete(&app, &ada, &last).await;
    let before = logged(&app).await;
    let again = delete(&app, &ada, &last).await;
    let edit_after = edit(&app, &ada, &last, "back").await;

    // Assert
    let tombstone = data(&deleted, "deleteMessage");
    assert_eq!(tombstone["body"], "");
    assert_eq!(tombstone["id"], last["id"]);
    assert_eq!(tombstone["cursor"], last["cursor"]);
    assert_eq!(tombstone["sender"]["id"], ada.id.as_str());
    assert!(tombstone["deletedAt"].is_string());
    assert_eq!(data(&again, "deleteMessage"), tombstone);
    assert_eq!(error_code(&edit_after), "CONFLICT");
    assert_eq!(
        logged(&app).await,
        before,
        "no event for the no-op or the refusal"
    );
    let page = history(&app, &ada, &chat).await;
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], first["id"]);
    assert_eq!(page[1], *tombstone);
    let query =
        "query($c: ID!) { chat(id: $c) { lastMessage { id body deletedAt reactions { emoji } } } }";
    let response = app
        .graphql(Some(&ada.token), query, json!({ "c": chat }))
        .await;
    let last_message = &data(&response, "chat")["lastMessage"];
    assert_eq!(last_message["id"], last["id"]);
    assert_eq!(last_message["body"], "");
    assert_eq!(last_message["reactions"], json!([]));
}

/// A reply shows the message it answers as it is now, deleted or not; a
/// replyToId of another chat, of nothing or malformed is NOT_FOUND and
/// sends nothing.
async fn replies_show_what_they_answer_as_it_is_now(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let other = app.create_chat(&ada, &[]).await;
    let question = app.send(&ada, &chat, "question?").await;
    let elsewhere = app.send(&ada, &other, "elsewhere").await;

    // Act
    let answer = reply(&app, &ada, &chat, "answer", &question["id"]).await;
    data(&delete(&app, &ada, &question).await, "deleteMessage");
    let before = logged(&app).await;
    let refusals = [
        reply(&app, &ada, &chat, "x", &elsewhere["id"]).await,
        reply(&app, &ada, &chat, "x", &json!(format!("{chat}:1-0"))).await,
        reply(&app, &ada, &chat, "x", &json!("nonsense")).await,
    ];

    // Assert
    let answer = data(&answer, "sendMessage");
    assert_eq!(answer["replyTo"]["id"], question["id"]);
    assert_eq!(
        answer["replyTo"]["body"], "question?",
        "as it was when sent"
    );
    let page = history(&app, &ada, &chat).await;
    assert_eq!(page[1]["replyTo"]["id"], question["id"]);
    assert_eq!(page[1]["replyTo"]["body"], "", "now a tombstone");
    assert!(page[1]["replyTo"]["deletedAt"].is_string());
    assert!(page[0]["replyTo"].is_null());
    for refusal in &refusals {
        assert_eq!(error_code(refusal), "NOT_FOUND", "{refusal}");
    }
    assert_eq!(logged(&app).await, before);
    // A reply to a tombstone is fine.
    let to_tombstone = reply(&app, &ada, &chat, "late", &question["id"]).await;
    assert_eq!(data(&to_tombstone, "sendMessage")["replyTo"]["body"], "");
}

/// A clientMessageId retry of a since-deleted message returns the tombstone.
async fn a_retry_of_a_deleted_message_returns_the_tombstone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let first = app.send_response(&ada, &chat, "once", Some("k-1")).await;
    let first = data(&first, "sendMessage").clone();
    data(&delete(&app, &ada, &first).await, "deleteMessage");

    let retry = app.send_response(&ada, &chat, "once", Some("k-1")).await;

    let retry = data(&retry, "sendMessage");
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["body"], "");
}

/// MessageEdited and MessageDeleted reach members live with their
/// __typename, carry the message as it is at delivery, and are replayed
/// by `after`; `messageCreated` still delivers creations only, and a
/// replayed creation of a since-deleted message shows the tombstone.
async fn changes_are_events_delivered_live_and_replayed(backend: Backend) {
    // Arrange
    const EVENTS: &str = "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename cursor ... on MessageCreated { message { id body } } ... on MessageEdited { message { id body editedAt } } ... on MessageDeleted { messageId message { id body deletedAt } } } }";
    const CREATED: &str = "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { id body deletedAt } }";
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let setup = app.send(&ada, &chat, "setup").await;
    let after = setup["cursor"].as_str();
    let mut live = subscribe(&app, &bob, EVENTS, vars(Some(&chat), after)).await;
    let mut created = subscribe(&app, &bob, CREATED, vars(Some(&chat), after)).await;

    // Act
    let message = app.send(&ada, &chat, "v1").await;
    assert_eq!(next_event(&mut live).await["message"]["body"], "v1");
    assert_eq!(next_event(&mut created).await["body"], "v1");
    data(&edit(&app, &ada, &message, "v2").await, "editMessage");
    let edited = next_event(&mut live).await;
    data(&delete(&app, &ada, &message).await, "deleteMessage");
    let deleted = next_event(&mut live).await;
    let next = app.send(&ada, &chat, "next").await;

    // Assert: live.
    assert_eq!(edited["__typename"], "MessageEdited");
    assert_eq!(edited["message"]["id"], message["id"]);
    assert!(edited["message"]["editedAt"].is_string());
    assert_eq!(deleted["__typename"], "MessageDeleted");
    assert_eq!(deleted["messageId"], message["id"]);
    assert_eq!(deleted["message"]["body"], "");
    assert_eq!(
        next_event(&mut created).await["id"],
        next["id"],
        "creations only"
    );
    // Assert: replayed from the setup message, objects as they are now.
    let mut replay = subscribe(&app, &bob, EVENTS, vars(Some(&chat), after)).await;
    let kinds: Vec<Value> = crate::ws_client::next_events(&mut replay, 4)
        .await
        .into_iter()
        .map(|event| {
            json!([
                event["__typename"],
                event["message"]["body"],
                event["message"]["id"]
            ])
        })
        .collect();
    assert_eq!(
        kinds,
        [
            json!(["MessageCreated", "", message["id"]]),
            json!(["MessageEdited", "", message["id"]]),
            json!(["MessageDeleted", "", message["id"]]),
            json!(["MessageCreated", "next", next["id"]]),
        ]
    );
}

/// The new events follow v1's exactness: a member who left gets none of
/// the changes made after its leave, a member gets each once.
async fn changes_reach_exactly_the_members(backend: Backend) {
    const ALL: &str = "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename chatId } }";
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob, &cat]).await;
    let message = app.send(&ada, &chat, "before").await;
    let after = app
        .all_chats_after(message["cursor"].as_str().unwrap())
        .await;
    let mut stays = subscribe(&app, &cat, ALL, vars(None, Some(&after))).await;
    let mut leaves = subscribe(&app, &bob, ALL, vars(None, Some(&after))).await;
    app.leave(&bob, &chat).await;

    data(&edit(&app, &ada, &message, "after").await, "editMessage");
    let react = "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👀\") { id } }";
    app.graphql(Some(&ada.token), react, json!({ "m": message["id"] }))
        .await;
    data(&delete(&app, &ada, &message).await, "deleteMessage");

    let seen: Vec<Value> = crate::ws_client::next_events(&mut stays, 4)
        .await
        .into_iter()
        .map(|event| event["__typename"].clone())
        .collect();
    assert_eq!(
        seen,
        [
            json!("MemberLeft"),
            json!("MessageEdited"),
            json!("ReactionAdded"),
            json!("MessageDeleted")
        ]
    );
    assert_eq!(next_event(&mut leaves).await["__typename"], "MemberLeft");
    leaves
        .expect_silence(std::time::Duration::from_millis(300))
        .await;
    stays
        .expect_silence(std::time::Duration::from_millis(300))
        .await;
}

crate::on_both_backends!(
    changes_reach_exactly_the_members,
    the_sender_edits_and_the_same_body_writes_nothing,
    only_the_sender_may_edit_or_delete,
    a_delete_leaves_a_tombstone_in_place,
    replies_show_what_they_answer_as_it_is_now,
    a_retry_of_a_deleted_message_returns_the_tombstone,
    changes_are_events_delivered_live_and_replayed,
);
