//! Resuming with `Last-Event-ID`: right after that cursor, over `after`;
//! a reconnecting client misses nothing and sees nothing twice.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Open, refusal_code};
use crate::helpers::{Account, Backend, TestApp};

const MESSAGES: &str =
    "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { body } }";
const EVENTS: &str =
    "subscription($c: ID, $a: String) { chatEvents(chatId: $c, after: $a) { __typename cursor } }";
const TYPING: &str = "subscription($c: ID!) { typing(chatId: $c) { users { id } } }";

/// Sends `bodies` in order; their cursors.
async fn send_all(app: &TestApp, sender: &Account, chat: &str, bodies: &[&str]) -> Vec<String> {
    let mut cursors = Vec::new();
    for body in bodies {
        let sent = app.send(sender, chat, body).await;
        cursors.push(sent["cursor"].as_str().unwrap().to_owned());
    }
    cursors
}

fn body(result: &Value) -> &str {
    result["data"]["messageCreated"]["body"]
        .as_str()
        .expect("a body")
}

/// `Last-Event-ID` resumes right after its cursor, even when `after`
/// names another one; then the stream goes live.
async fn last_event_id_resumes_after_it_over_after(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let cursors = send_all(&app, &ada, &chat, &["1", "2", "3", "4", "5"]).await;
    let open = Open {
        token: Some(&ada.token),
        headers: vec![("last-event-id", cursors[1].clone())],
        ..Open::default()
    };

    // Act
    let mut stream = open
        .send(&app, MESSAGES, json!({ "c": chat, "a": cursors[3] }))
        .await
        .unwrap();
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let (result, id) = stream.next().await;
        replayed.push((body(&result).to_owned(), id.unwrap()));
    }
    let live = app.send(&ada, &chat, "6").await;
    let (live_result, live_id) = stream.next().await;

    // Assert
    let expected: Vec<(String, String)> = ["3", "4", "5"]
        .iter()
        .zip(&cursors[2..])
        .map(|(b, c)| ((*b).to_owned(), c.clone()))
        .collect();
    assert_eq!(replayed, expected);
    assert_eq!(body(&live_result), "6");
    assert_eq!(live_id.as_deref(), live["cursor"].as_str());
}

/// A client whose stream is cut reconnects with the last id it got:
/// the events sent meanwhile arrive, none twice (`chatEvents`, whose ids
/// are its events' cursors).
async fn a_reconnect_with_the_last_id_misses_nothing(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let open = Open::bearer(&bob.token);
    let mut stream = open.send(&app, EVENTS, json!({ "c": chat })).await.unwrap();
    send_all(&app, &ada, &chat, &["1", "2"]).await;
    let (_, first_id) = stream.next().await;
    let (second, second_id) = stream.next().await;
    assert_eq!(
        second["data"]["chatEvents"]["cursor"].as_str(),
        second_id.as_deref()
    );

    // Act: the connection drops; more happens; the client comes back.
    drop(stream);
    let later = send_all(&app, &ada, &chat, &["3", "4"]).await;
    let again = Open {
        token: Some(&bob.token),
        headers: vec![("last-event-id", second_id.clone().unwrap())],
        ..Open::default()
    };
    let mut resumed = again
        .send(&app, EVENTS, json!({ "c": chat }))
        .await
        .unwrap();
    let (_, third_id) = resumed.next().await;
    let (_, fourth_id) = resumed.next().await;

    // Assert
    assert_ne!(first_id, second_id);
    assert_eq!(vec![third_id.unwrap(), fourth_id.unwrap()], later);
    resumed.silent_for(Duration::from_millis(300)).await;
}

/// A malformed `Last-Event-ID` is 400 BAD_USER_INPUT and an expired one
/// 410 CURSOR_EXPIRED, before any stream; on an operation that cannot
/// resume, it is ignored.
async fn bad_last_event_ids_are_refused_before_the_stream(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.event_retention = 2).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let cursors = send_all(&app, &ada, &chat, &["1", "2", "3", "4"]).await;
    let with_id = |id: &str| Open {
        token: Some(&ada.token),
        headers: vec![("last-event-id", id.to_owned())],
        ..Open::default()
    };

    // Act
    let malformed = with_id("not a cursor")
        .send(&app, MESSAGES, json!({ "c": chat }))
        .await;
    let expired = with_id(&cursors[0])
        .send(&app, MESSAGES, json!({ "c": chat }))
        .await;
    let typing = with_id("not a cursor")
        .send(&app, TYPING, json!({ "c": chat }))
        .await;

    // Assert
    let malformed = malformed.err().expect("a stream after a malformed id");
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
    assert_eq!(refusal_code(&malformed), "BAD_USER_INPUT");
    let expired = expired.err().expect("a stream after an expired id");
    assert_eq!(expired.0, StatusCode::GONE);
    assert_eq!(refusal_code(&expired), "CURSOR_EXPIRED");
    let (first, id) = typing.expect("typing ignores Last-Event-ID").next().await;
    assert_eq!(first["data"]["typing"]["users"], json!([]));
    assert_eq!(id, None);
}

crate::on_both_backends!(
    last_event_id_resumes_after_it_over_after,
    a_reconnect_with_the_last_id_misses_nothing,
    bad_last_event_ids_are_refused_before_the_stream,
);
