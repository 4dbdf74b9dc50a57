//! Operations over `/ws`: queries, mutations and subscriptions, their
//! replies (`next`, `error`, `complete`), stopping them, and the limits on
//! them. Each protocol-neutral behaviour is checked in both protocols.
//!
//! The transport is the same on both backends, so these run on memory.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::ws_client::{WsClient, WsProtocol};

const BOTH: [WsProtocol; 2] = [WsProtocol::TransportWs, WsProtocol::Legacy];

const ME: &str = "{ me { username } }";

const MESSAGES: &str =
    "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { body cursor } }";

const SEND: &str =
    "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body sender { username } } }";

/// The first error of an `error` payload: an array in graphql-transport-ws,
/// one error object in legacy.
fn first_error(protocol: WsProtocol, payload: &Value) -> &Value {
    match protocol {
        WsProtocol::TransportWs => &payload[0],
        WsProtocol::Legacy => payload,
    }
}

#[tokio::test]
async fn a_query_is_one_result_then_complete_and_frees_its_id() {
    // Proves: queries run over the socket as the authenticated viewer, and
    // an id can be reused once its operation completed.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    for protocol in BOTH {
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        for _ in 0..2 {
            let result = client.execute("q", ME, json!({})).await;
            assert_eq!(
                result,
                json!({ "data": { "me": { "username": user.username } } })
            );
        }
    }
}

#[tokio::test]
async fn a_mutation_over_the_socket_writes() {
    // Proves: sendMessage over the socket sends as the socket's viewer.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let chat = app.create_chat(&user, &[]).await;
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&user.token).await;
    let input = json!({ "i": { "chatId": chat, "body": "over the socket" } });
    let result = client.execute("m", SEND, input).await;
    assert_eq!(result["data"]["sendMessage"]["body"], "over the socket");
    assert_eq!(
        result["data"]["sendMessage"]["sender"]["username"],
        user.username.as_str()
    );

    let query = "query($c: ID!) { chat(id: $c) { lastMessage { id } } }";
    let read = app
        .graphql(Some(&user.token), query, json!({ "c": chat }))
        .await;
    assert_eq!(
        read["data"]["chat"]["lastMessage"]["id"],
        result["data"]["sendMessage"]["id"]
    );
}

#[tokio::test]
async fn a_failed_operation_is_one_error_with_a_code_and_no_complete() {
    // Proves: an operation that fails before any result gets `error` (with
    // extensions.code, the engine's own errors included) and frees its id.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let stranger = app.sign_up().await;
    let their_chat = app.create_chat(&stranger, &[]).await;
    for protocol in BOTH {
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        let failures = [
            ("{ me { username ", json!({}), "BAD_USER_INPUT"),
            ("{ nope }", json!({}), "BAD_USER_INPUT"),
            (
                SEND,
                json!({ "i": { "chatId": their_chat, "body": "hi" } }),
                "NOT_FOUND",
            ),
            (MESSAGES, json!({ "c": their_chat }), "NOT_FOUND"),
        ];
        for (query, variables, code) in failures {
            client.subscribe("x", query, variables).await;
            let payload = client.expect_error("x").await;
            let error = first_error(protocol, &payload);
            assert_eq!(error["extensions"]["code"], code, "{query}: {payload}");
            client.expect_silence(Duration::from_millis(100)).await;
        }
        client.execute("x", ME, json!({})).await;
    }
}

#[tokio::test]
async fn a_subscription_streams_until_the_client_completes_it() {
    // Proves: events arrive as `next`; complete (legacy stop) stops the
    // stream at once and frees the id for a new operation.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let chat = app.create_chat(&user, &[]).await;
    for protocol in BOTH {
        let first = app.send(&user, &chat, "first").await;
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        client
            .subscribe("s", MESSAGES, json!({ "c": chat, "a": first["cursor"] }))
            .await;
        let second = app.send(&user, &chat, "second").await;
        let next = client.expect_next("s").await;
        assert_eq!(next["data"]["messageCreated"]["body"], "second");

        client.complete("s").await;
        app.send(&user, &chat, "third").await;
        client.expect_silence(Duration::from_millis(500)).await;

        client
            .subscribe("s", MESSAGES, json!({ "c": chat, "a": second["cursor"] }))
            .await;
        let next = client.expect_next("s").await;
        assert_eq!(next["data"]["messageCreated"]["body"], "third");
    }
}

#[tokio::test]
async fn reusing_the_id_of_a_running_subscription_closes_with_4409() {
    // Proves: a running operation is never replaced by a new one.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let chat = app.create_chat(&user, &[]).await;
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&user.token).await;
    client
        .subscribe("dup", MESSAGES, json!({ "c": chat }))
        .await;
    client.subscribe("dup", ME, json!({})).await;
    assert_eq!(
        client.expect_close(4409).await,
        "Subscriber for dup already exists"
    );
}

#[tokio::test]
async fn a_waiting_subscription_does_not_hold_up_other_operations() {
    // Proves: operations on one socket run concurrently.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let chat = app.create_chat(&user, &[]).await;
    for protocol in BOTH {
        let mut client = WsClient::connect(&app, protocol).await;
        client.init(&user.token).await;
        client
            .subscribe("waits", MESSAGES, json!({ "c": chat }))
            .await;
        let result = client.execute("runs", ME, json!({})).await;
        assert_eq!(result["data"]["me"]["username"], user.username.as_str());
    }
}

#[tokio::test]
async fn operations_over_the_limit_get_an_error_and_the_socket_stays() {
    // Proves: WS_MAX_OPERATIONS refuses one operation, not the socket.
    let app = TestApp::spawn_with(Backend::Memory, |c| c.ws_max_operations = 1).await;
    let user = app.sign_up().await;
    let chat = app.create_chat(&user, &[]).await;
    let mut client = WsClient::connect(&app, WsProtocol::TransportWs).await;
    client.init(&user.token).await;
    client.subscribe("1", MESSAGES, json!({ "c": chat })).await;
    client.subscribe("2", ME, json!({})).await;
    let payload = client.expect_error("2").await;
    assert_eq!(
        payload[0]["extensions"]["code"], "RATE_LIMITED",
        "{payload}"
    );

    client.complete("1").await;
    let result = client.execute("2", ME, json!({})).await;
    assert_eq!(result["data"]["me"]["username"], user.username.as_str());
}

#[tokio::test]
async fn a_request_error_is_an_error_message_with_no_data() {
    // Proves: a document that does not parse, does not validate, or has a
    // variable that does not coerce never runs, so it is answered as the
    // protocol's `error` carrying only errors — never a result with a
    // `data` entry.
    let app = TestApp::spawn(Backend::Memory).await;
    let user = app.sign_up().await;
    let requests = [
        ("{ me { username ", json!({})),
        ("{ me { noSuchField } }", json!({})),
        (
            "query($n: Int) { chats(first: $n) { edges { cursor } } }",
            json!({ "n": "ten" }),
        ),
    ];
    for protocol in BOTH {
        let mut client = WsClient::connect_as(&app, protocol, &user).await;
        for (query, variables) in &requests {
            client.subscribe("x", query, variables.clone()).await;
            let message = client.recv().await;
            assert_eq!(message["type"], "error", "{query}: {message}");
            let keys: Vec<&String> = message.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["id", "payload", "type"], "{query}: {message}");
            let errors = match protocol {
                WsProtocol::TransportWs => message["payload"].as_array().unwrap().clone(),
                WsProtocol::Legacy => vec![message["payload"].clone()],
            };
            for error in &errors {
                assert!(error["message"].is_string(), "{query}: {message}");
                assert!(error.get("data").is_none(), "{query}: {message}");
                assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
            }
        }
    }
}
