//! Reactions: `addReaction` / `removeReaction`, `Message.reactions` grouped
//! by emoji, their idempotence and limits, and their events.

use serde_json::{Value, json};

use crate::helpers::{Account, Backend, TestApp, data, error_code};
use crate::message_changes::delete;
use crate::ws_client::{next_event, subscribe, vars};

const GROUPS: &str = "reactions { emoji count reactedByMe users { id } }";

/// `addReaction` or `removeReaction` (`field`) as `who`: the raw response.
pub async fn react(
    app: &TestApp,
    who: &Account,
    field: &str,
    message: &Value,
    emoji: &str,
) -> Value {
    let query = format!(
        "mutation($m: ID!, $e: String!) {{ {field}(messageId: $m, emoji: $e) {{ id body {GROUPS} }} }}"
    );
    app.graphql(
        Some(&who.token),
        &query,
        json!({ "m": message["id"], "e": emoji }),
    )
    .await
}

/// The message's reaction groups as `viewer` reads them in history.
async fn groups(app: &TestApp, viewer: &Account, chat: &str) -> Value {
    let query = format!(
        "query($c: ID!) {{ chat(id: $c) {{ messages(last: 1) {{ edges {{ node {{ {GROUPS} }} }} }} }} }}"
    );
    let response = app
        .graphql(Some(&viewer.token), &query, json!({ "c": chat }))
        .await;
    data(&response, "chat")["messages"]["edges"][0]["node"]["reactions"].clone()
}

/// Groups are ordered by each emoji's first reaction, users earliest first,
/// `reactedByMe` is the reader's own; `👍` and `:+1:` are different emoji.
/// A repeated add, and removing a reaction not made, write nothing; a
/// group goes when its count reaches 0.
async fn groups_follow_first_reactions_and_calls_are_idempotent(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "react").await;

    // Act
    data(
        &react(&app, &bob, "addReaction", &message, "👍").await,
        "addReaction",
    );
    data(
        &react(&app, &ada, "addReaction", &message, ":+1:").await,
        "addReaction",
    );
    data(
        &react(&app, &ada, "addReaction", &message, "👍").await,
        "addReaction",
    );
    let before = app.events().await.len();
    let again = react(&app, &ada, "addReaction", &message, "👍").await;
    let not_made = react(&app, &bob, "removeReaction", &message, ":+1:").await;
    let unchanged_log = app.events().await.len();

    // Assert
    assert_eq!(unchanged_log, before, "no-ops write nothing");
    let expected_for_ada = json!([
        { "emoji": "👍", "count": 2, "reactedByMe": true, "users": [{ "id": bob.id }, { "id": ada.id }] },
        { "emoji": ":+1:", "count": 1, "reactedByMe": true, "users": [{ "id": ada.id }] },
    ]);
    assert_eq!(data(&again, "addReaction")["reactions"], expected_for_ada);
    assert_eq!(groups(&app, &ada, &chat).await, expected_for_ada);
    let for_bob = groups(&app, &bob, &chat).await;
    assert_eq!(for_bob[0]["reactedByMe"], true);
    assert_eq!(for_bob[1]["reactedByMe"], false);
    assert_eq!(
        data(&not_made, "removeReaction")["reactions"][1]["count"],
        1
    );

    // Act: the first reactor of 👍 takes it back; :+1: empties.
    data(
        &react(&app, &bob, "removeReaction", &message, "👍").await,
        "removeReaction",
    );
    let last = react(&app, &ada, "removeReaction", &message, ":+1:").await;

    // Assert
    let expected =
        json!([{ "emoji": "👍", "count": 1, "reactedByMe": true, "users": [{ "id": ada.id }] }]);
    assert_eq!(data(&last, "removeReaction")["reactions"], expected);
}

/// A removed group that comes back is ordered by its new first reaction.
async fn a_group_that_empties_and_returns_moves_last(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let message = app.send(&ada, &chat, "m").await;
    for emoji in ["a", "b"] {
        data(
            &react(&app, &ada, "addReaction", &message, emoji).await,
            "addReaction",
        );
    }
    data(
        &react(&app, &ada, "removeReaction", &message, "a").await,
        "removeReaction",
    );
    let back = react(&app, &ada, "addReaction", &message, "a").await;
    let order: Vec<Value> = data(&back, "addReaction")["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["emoji"].clone())
        .collect();
    assert_eq!(order, [json!("b"), json!("a")]);
}

/// At most 20 distinct emoji on a message: the 21st is BAD_USER_INPUT and
/// writes nothing, while another user's reaction with an existing emoji
/// still counts. Bad emoji and unknown messages are refused.
async fn limits_and_bad_input(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, eve) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "popular").await;
    for i in 0..20 {
        let emoji = format!("e{i}");
        data(
            &react(&app, &ada, "addReaction", &message, &emoji).await,
            "addReaction",
        );
    }
    let before = app.events().await.len();

    // Act + Assert
    assert_eq!(
        error_code(&react(&app, &bob, "addReaction", &message, "e20").await),
        "BAD_USER_INPUT"
    );
    assert_eq!(app.events().await.len(), before);
    let existing = react(&app, &bob, "addReaction", &message, "e0").await;
    assert_eq!(data(&existing, "addReaction")["reactions"][0]["count"], 2);
    for emoji in ["", "a b", "👍\n", "\u{7}", &"x".repeat(65)] {
        let refused = react(&app, &bob, "addReaction", &message, emoji).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{emoji:?}");
    }
    assert_eq!(
        error_code(&react(&app, &eve, "addReaction", &message, "e0").await),
        "NOT_FOUND",
        "a non-member cannot see the message"
    );
    let nothing = json!({ "id": format!("{chat}:1-0") });
    assert_eq!(
        error_code(&react(&app, &ada, "addReaction", &nothing, "e0").await),
        "NOT_FOUND"
    );
    // users(first:) bounds.
    for (first, ok) in [(0, false), (1, true), (100, true), (101, false)] {
        let query = "query($c: ID!, $f: Int) { chat(id: $c) { messages(last: 1) { edges { node { reactions { users(first: $f) { id } } } } } } }";
        let response = app
            .graphql(Some(&ada.token), query, json!({ "c": chat, "f": first }))
            .await;
        if ok {
            assert!(response["errors"].is_null(), "{first}: {response}");
        } else {
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{first}");
        }
    }
}

/// A tombstone takes no reaction (CONFLICT) and has none; removing one
/// from it writes nothing.
async fn a_tombstone_has_no_reactions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "short-lived").await;
    data(
        &react(&app, &bob, "addReaction", &message, "🔥").await,
        "addReaction",
    );
    data(&delete(&app, &ada, &message).await, "deleteMessage");
    let before = app.events().await.len();

    assert_eq!(
        error_code(&react(&app, &bob, "addReaction", &message, "🔥").await),
        "CONFLICT"
    );
    let removed = react(&app, &bob, "removeReaction", &message, "🔥").await;

    assert_eq!(data(&removed, "removeReaction")["reactions"], json!([]));
    assert_eq!(app.events().await.len(), before);
    assert_eq!(groups(&app, &bob, &chat).await, json!([]));
}

/// ReactionAdded and ReactionRemoved reach members live and in replay,
/// with emoji, user and the message's groups as the receiving viewer sees
/// them.
async fn reaction_events_reach_members(backend: Backend) {
    const EVENTS: &str = "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename ... on ReactionAdded { emoji user { id } message { id reactions { emoji count reactedByMe } } } ... on ReactionRemoved { emoji user { id } message { reactions { emoji } } } } }";
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let message = app.send(&ada, &chat, "hi").await;
    let after = message["cursor"].as_str();
    let mut watcher = subscribe(&app, &ada, EVENTS, vars(Some(&chat), after)).await;

    data(
        &react(&app, &bob, "addReaction", &message, "🎉").await,
        "addReaction",
    );
    data(
        &react(&app, &bob, "removeReaction", &message, "🎉").await,
        "removeReaction",
    );

    let added = next_event(&mut watcher).await;
    assert_eq!(added["__typename"], "ReactionAdded");
    assert_eq!(added["emoji"], "🎉");
    assert_eq!(added["user"]["id"], bob.id.as_str());
    assert_eq!(added["message"]["id"], message["id"]);
    let removed = next_event(&mut watcher).await;
    assert_eq!(removed["__typename"], "ReactionRemoved");
    assert_eq!(removed["message"]["reactions"], json!([]));
    // Replayed from the message's cursor: the same two, in order.
    let mut replay = subscribe(&app, &ada, EVENTS, vars(Some(&chat), after)).await;
    let kinds: Vec<Value> = crate::ws_client::next_events(&mut replay, 2)
        .await
        .into_iter()
        .map(|event| event["__typename"].clone())
        .collect();
    assert_eq!(kinds, [json!("ReactionAdded"), json!("ReactionRemoved")]);
}

crate::on_both_backends!(
    groups_follow_first_reactions_and_calls_are_idempotent,
    a_group_that_empties_and_returns_moves_last,
    limits_and_bad_input,
    a_tombstone_has_no_reactions,
    reaction_events_reach_members,
);
