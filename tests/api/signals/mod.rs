//! Ephemeral signals: typing and presence. Not in the log; delivered from
//! state plus change notices (see `src/signals`).

mod across_processes;
mod presence;
mod typing;

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Account, Endpoint, data};
use crate::ws_client::{WsClient, WsProtocol};

/// The subscription id the helpers use.
const SIG: &str = "sig";

/// `typing(chatId)` with the users' ids.
const TYPING: &str = "subscription($c: ID!) { typing(chatId: $c) { chatId users { id } } }";

/// `presence(userIds)` with everything a change carries.
const PRESENCE: &str =
    "subscription($u: [ID!]!) { presence(userIds: $u) { user { id } online lastSeenAt } }";

/// How long a change may take to arrive (the contract's bounds are 1 s for
/// typing across processes and 2 s for a clean close; this leaves room
/// for a loaded test machine without hiding a missing delivery).
const PATIENCE: Duration = Duration::from_secs(3);

/// A socket of `viewer` running `typing(chat)`.
async fn watch_typing(app: &Endpoint, viewer: &Account, chat: &str) -> WsClient {
    let mut client = WsClient::connect_as(app, WsProtocol::TransportWs, viewer).await;
    client.subscribe(SIG, TYPING, json!({ "c": chat })).await;
    client
}

/// A socket of `viewer` running `presence(users)`.
pub(crate) async fn watch_presence(app: &Endpoint, viewer: &Account, users: &[&str]) -> WsClient {
    let mut client = WsClient::connect_as(app, WsProtocol::TransportWs, viewer).await;
    client.subscribe(SIG, PRESENCE, json!({ "u": users })).await;
    client
}

/// The ids of the next typing set `client` receives, within [`PATIENCE`].
async fn next_typists(client: &mut WsClient) -> Vec<String> {
    let message = client
        .recv_within(PATIENCE)
        .await
        .expect("no typing set arrived in time");
    assert_eq!(message["type"], "next", "{message}");
    let state = &message["payload"]["data"]["typing"];
    assert!(state.is_object(), "not a typing state: {message}");
    ids(&state["users"])
}

/// The next presence change `client` receives, within [`PATIENCE`]:
/// (user id, online, lastSeenAt).
pub(crate) async fn next_presence(client: &mut WsClient) -> (String, bool, Value) {
    let message = client
        .recv_within(PATIENCE)
        .await
        .expect("no presence change arrived in time");
    assert_eq!(message["type"], "next", "{message}");
    let change = &message["payload"]["data"]["presence"];
    (
        change["user"]["id"].as_str().expect("a user id").to_owned(),
        change["online"].as_bool().expect("online"),
        change["lastSeenAt"].clone(),
    )
}

fn ids(users: &Value) -> Vec<String> {
    users
        .as_array()
        .expect("a list of users")
        .iter()
        .map(|u| u["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// `setTyping` as `who`: the raw response.
async fn set_typing(app: &Endpoint, who: &Account, chat: &str, typing: bool) -> Value {
    app.graphql(
        Some(&who.token),
        "mutation($c: ID!, $t: Boolean!) { setTyping(chatId: $c, typing: $t) }",
        json!({ "c": chat, "t": typing }),
    )
    .await
}

/// `setTyping` that must succeed.
async fn typing(app: &Endpoint, who: &Account, chat: &str, typing: bool) {
    let response = set_typing(app, who, chat, typing).await;
    assert_eq!(data(&response, "setTyping"), &json!(true), "{response}");
}

/// An acknowledged socket of `who`, which makes it present.
async fn connect(app: &Endpoint, who: &Account) -> WsClient {
    WsClient::connect_as(app, WsProtocol::TransportWs, who).await
}

/// The value of a metric without labels in `/metrics`.
async fn metric(app: &Endpoint, name: &str) -> i64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no metric {name}"))
        .trim()
        .parse()
        .unwrap()
}
