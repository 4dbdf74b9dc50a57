//! The protocol: one `next` then `complete` for queries and mutations,
//! subscription events with their cursors as ids, refusals as JSON before
//! any stream, keepalives, the per-user bound, presence.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Frame, Open, refusal_code};
use crate::helpers::{Backend, TestApp};
use crate::signals::{next_presence, watch_presence};

const MESSAGES: &str =
    "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { id body cursor } }";
const TYPING: &str = "subscription($c: ID!) { typing(chatId: $c) { users { id } } }";

/// A query and a mutation each answer one `next` then `complete`, over
/// POST and GET, at `/graphql/stream` and at `/graphql` by `Accept`; a
/// mutation over GET is 405.
async fn queries_and_mutations_answer_once_then_complete(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let me = "query { me { id } }";
    let send =
        "mutation($c: ID!) { sendMessage(input: { chatId: $c, body: \"over sse\" }) { body } }";
    let post = Open::bearer(&ada.token);
    let get_on_graphql = Open {
        token: Some(&ada.token),
        path: "/graphql",
        get: true,
        ..Open::default()
    };

    // Act
    let mut queried = post.send(&app, me, json!({})).await.unwrap();
    let queried_result = queried.next().await;
    queried.complete().await;
    let mut sent = post.send(&app, send, json!({ "c": chat })).await.unwrap();
    let sent_result = sent.next().await;
    sent.complete().await;
    let mut got = get_on_graphql.send(&app, me, json!({})).await.unwrap();
    let got_result = got.next().await;
    got.complete().await;
    let mutation_by_get = get_on_graphql.send(&app, send, json!({ "c": chat })).await;

    // Assert
    assert_eq!(queried_result.0["data"]["me"]["id"], ada.id.as_str());
    assert_eq!(queried_result.1, None, "a query cannot be resumed");
    assert_eq!(sent_result.0["data"]["sendMessage"]["body"], "over sse");
    assert_eq!(got_result.0, queried_result.0);
    let refused = mutation_by_get.err().expect("a mutation over GET runs");
    assert_eq!(refused.0, StatusCode::METHOD_NOT_ALLOWED);
}

/// Each event of `messageCreated` carries its cursor as `id`; the stream
/// completes when the viewer leaves the chat.
async fn subscription_events_carry_their_cursors(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let open = Open::bearer(&ada.token);
    let mut stream = open
        .send(&app, MESSAGES, json!({ "c": chat }))
        .await
        .unwrap();

    // Act
    let first = app.send(&ada, &chat, "one").await;
    let second = app.send(&ada, &chat, "two").await;
    let got_first = stream.next().await;
    let got_second = stream.next().await;
    app.leave(&ada, &chat).await;

    // Assert
    assert_eq!(got_first.0["data"]["messageCreated"]["body"], "one");
    assert_eq!(got_first.1.as_deref(), first["cursor"].as_str());
    assert_eq!(got_second.1.as_deref(), second["cursor"].as_str());
    stream.complete().await;
}

/// What is refused before the operation runs is a JSON response with the
/// status of its code, never a stream.
async fn refusals_are_json_with_a_4xx_status(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let nobody = "0123456789abcdef0123456789abcdef";
    let anonymous = Open::default();
    let bad_token = Open {
        token: Some("not.a.token"),
        ..Open::default()
    };
    let ada_opens = Open::bearer(&ada.token);

    // Act
    let no_token = anonymous.send(&app, TYPING, json!({ "c": nobody })).await;
    let invalid = bad_token.send(&app, TYPING, json!({ "c": nobody })).await;
    let not_found = ada_opens.send(&app, TYPING, json!({ "c": nobody })).await;
    let unparsable = ada_opens.send(&app, "subscription {", json!({})).await;
    let invalid_field = ada_opens
        .send(&app, "subscription { nope }", json!({}))
        .await;

    // Assert
    let expect = |got: Result<super::SseStream, (StatusCode, Value)>, status, code: &str| {
        let refusal = got.err().expect("a stream for a refused request");
        assert_eq!(refusal.0, status, "{}", refusal.1);
        assert_eq!(refusal_code(&refusal), code, "{}", refusal.1);
    };
    expect(no_token, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    expect(invalid, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    expect(not_found, StatusCode::NOT_FOUND, "NOT_FOUND");
    expect(unparsable, StatusCode::BAD_REQUEST, "BAD_USER_INPUT");
    expect(invalid_field, StatusCode::BAD_REQUEST, "BAD_USER_INPUT");
}

/// An idle stream gets a comment every SSE_KEEPALIVE_MS.
async fn idle_streams_get_keepalive_comments(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.sse_keepalive_ms = 200).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let open = Open::bearer(&ada.token);
    let mut stream = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();
    stream.next().await;

    // Act
    let started = tokio::time::Instant::now();
    let first = stream.frame().await;
    let second = stream.frame().await;

    // Assert
    assert_eq!(first, Some(Frame::Comment));
    assert_eq!(second, Some(Frame::Comment));
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A user holds at most SSE_MAX_STREAMS_PER_USER subscription streams;
/// one more is 429, and ending one frees its place.
async fn streams_per_user_are_bounded(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.sse_max_streams_per_user = 1).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let open = Open::bearer(&ada.token);
    let first = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();

    // Act
    let second = open.send(&app, TYPING, json!({ "c": chat })).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = open.send(&app, TYPING, json!({ "c": chat })).await;

    // Assert
    let refusal = second.err().expect("a second stream");
    assert_eq!(refusal.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refusal_code(&refusal), "RATE_LIMITED");
    assert!(after.is_ok(), "the place was not given back");
}

/// An open subscription stream holds its user online, like a socket.
async fn a_stream_counts_as_a_connection_for_presence(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let mut watcher = watch_presence(&app, &bob, &[&ada.id]).await;
    assert!(!next_presence(&mut watcher).await.1);
    let open = Open::bearer(&ada.token);

    // Act
    let stream = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();
    let online = next_presence(&mut watcher).await;
    drop(stream);
    let offline = next_presence(&mut watcher).await;

    // Assert
    assert!(online.1);
    assert!(!offline.1);
}

crate::on_both_backends!(
    queries_and_mutations_answer_once_then_complete,
    subscription_events_carry_their_cursors,
    refusals_are_json_with_a_4xx_status,
    idle_streams_get_keepalive_comments,
    streams_per_user_are_bounded,
    a_stream_counts_as_a_connection_for_presence,
);

/// SIGTERM ends every open stream cleanly — the body just ends, without
/// `complete`, so the client reconnects (elsewhere) and resumes — and the
/// process exits.
#[tokio::test]
async fn sigterm_ends_streams_cleanly() {
    // Arrange
    let mut binary = crate::binary::Binary::start(&[], false).await;
    let app = binary.endpoint();
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let open = Open::bearer(&ada.token);
    let mut stream = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();
    stream.next().await;

    // Act
    binary.terminate();
    let after = stream.frame().await;
    let status = binary.exit_within(Duration::from_secs(10)).await;

    // Assert
    assert_eq!(after, None, "the stream did not just end");
    assert!(status.success(), "{status:?}");
}
