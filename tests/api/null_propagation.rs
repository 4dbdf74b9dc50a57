//! Field errors shape the response as the GraphQL spec says ("Errors and
//! Non-Null Fields"): the failed field is `null` when it may be, otherwise
//! its nearest nullable ancestor is, up to `data` itself; every other
//! selected field is present. Each test meets one depth: under a nullable
//! field, under a list, at the root, and in a subscription's payload.
//! (Every response of the suite is also checked by `shape::check`.)

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, data, error_code};
use crate::on_both_backends;
use crate::ws_client::{SUB, WsClient, WsProtocol, event};

/// The `path` of the first error.
fn error_path(response: &Value) -> &Value {
    &response["errors"][0]["path"]
}

/// A bad argument of `Chat.messages` (non-null) nulls the chat (nullable)
/// and leaves its sibling root field whole.
async fn a_non_null_field_error_nulls_its_nullable_parent(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let query = "query($c: ID!) { me { id } chat(id: $c) { id title messages(last: 0) { edges { cursor } } } }";

    // Act
    let response = app
        .graphql(Some(&ada.token), query, json!({ "c": chat }))
        .await;

    // Assert
    assert_eq!(
        response["data"],
        json!({ "me": { "id": ada.id }, "chat": null }),
        "{response}"
    );
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(error_path(&response), &json!(["chat", "messages"]));
    assert_eq!(
        response["errors"].as_array().unwrap().len(),
        1,
        "{response}"
    );
}

/// A non-null root field that fails takes `data` with it: `data` is null,
/// with one error, and a nullable sibling that resolved is gone too.
async fn a_non_null_root_field_error_nulls_data(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let query =
        "query($u: String!) { user(username: $u) { id } chats(first: 0) { edges { cursor } } }";

    // Act
    let response = app
        .graphql(Some(&ada.token), query, json!({ "u": ada.username }))
        .await;
    let anonymous = app.graphql(None, "{ me { id } }", json!({})).await;

    // Assert
    assert_eq!(response["data"], Value::Null, "{response}");
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(error_path(&response), &json!(["chats"]));
    assert_eq!(anonymous["data"], Value::Null, "{anonymous}");
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

/// A nullable root field that fails is `null` and present; the others stay.
async fn a_nullable_root_field_error_is_a_present_null(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let query = "{ me { username } chat(id: \"no-such-chat\") { id } }";

    // Act
    let response = app.graphql(Some(&ada.token), query, json!({})).await;

    // Assert
    assert_eq!(
        response["data"],
        json!({ "me": { "username": ada.username }, "chat": null }),
        "{response}"
    );
    assert_eq!(error_code(&response), "NOT_FOUND");
    assert_eq!(error_path(&response), &json!(["chat"]));
}

/// An error in a subscription payload shapes that payload by the same rule
/// (`ChatCreated.chat.messages` is non-null all the way up, so the payload
/// is `data: null` with its error) and is a `next`: the subscription keeps
/// delivering the events after it.
async fn a_field_error_in_a_subscription_payload(backend: Backend) {
    // Arrange: a subscription resumed from a cursor, so nothing is missed.
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let first = app.create_chat(&ada, &[]).await;
    let start = app.send(&ada, &first, "before").await;
    let query = "subscription($a: String) { chatEvents(after: $a) { __typename \
        ... on MessageCreated { message { body } } \
        ... on ChatCreated { chat { id messages(last: 0) { edges { cursor } } } } } }";
    let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &ada).await;
    client
        .subscribe(
            SUB,
            query,
            json!({ "a": app.all_chats_after(start["cursor"].as_str().unwrap()).await }),
        )
        .await;

    // Act
    app.send(&ada, &first, "one").await;
    let second = app.create_chat(&ada, &[]).await;
    app.send(&ada, &second, "two").await;

    // Assert
    let one = client.expect_next(SUB).await;
    let failed = client.expect_next(SUB).await;
    let two = client.expect_next(SUB).await;
    assert_eq!(event(&one)["message"]["body"], "one");
    assert_eq!(failed["data"], Value::Null, "{failed}");
    assert_eq!(error_code(&failed), "BAD_USER_INPUT");
    assert_eq!(
        error_path(&failed),
        &json!(["chatEvents", "chat", "messages"])
    );
    assert_eq!(event(&two)["message"]["body"], "two");
}

on_both_backends!(
    a_non_null_field_error_nulls_its_nullable_parent,
    a_non_null_root_field_error_nulls_data,
    a_nullable_root_field_error_is_a_present_null,
    a_field_error_in_a_subscription_payload,
);

/// A store read that fails inside a list (`Chat.members` of one chat of
/// `chats`) propagates through the non-null node, edge, list and
/// connection to `data`: null, with the failed field's full path. Redis
/// only: the failure is a member set overwritten with a string, so the
/// read meets a real WRONGTYPE reply.
#[tokio::test]
async fn a_failing_store_read_in_a_list_propagates_to_the_root() {
    // Arrange
    let app = TestApp::spawn(Backend::Redis).await;
    let ada = app.sign_up().await;
    let healthy = app.create_chat(&ada, &[]).await;
    let broken = app.create_chat(&ada, &[]).await;
    app.send(&ada, &healthy, "newest").await;
    let redis = app.redis.as_ref().expect("a Redis-backed app");
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}chat:{broken}:members", app.config.redis_key_prefix);
    let _: () = ::redis::pipe()
        .del(&key)
        .set(&key, "not a set")
        .query_async(&mut conn)
        .await
        .unwrap();
    let query = "{ chats { edges { node { id members { id } } } } }";

    // Act
    let response = app.graphql(Some(&ada.token), query, json!({})).await;
    let healthy_only = app
        .graphql(
            Some(&ada.token),
            "query($c: ID!) { chat(id: $c) { members { id } } }",
            json!({ "c": healthy }),
        )
        .await;

    // Assert: `healthy` is newest, so `broken` is the second edge.
    assert_eq!(response["data"], Value::Null, "{response}");
    assert_eq!(error_code(&response), "INTERNAL");
    assert_eq!(
        error_path(&response),
        &json!(["chats", "edges", 1, "node", "members"])
    );
    assert_eq!(
        data(&healthy_only, "chat")["members"][0]["id"],
        ada.id.as_str()
    );
}
