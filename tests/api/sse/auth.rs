//! Who may open a stream, and until when: a stream ends (with an
//! UNAUTHENTICATED result, then `complete`) when its token expires or its
//! session ends; stream tokens open GET streams and nothing else.

use reqwest::StatusCode;
use serde_json::json;

use super::{Open, refusal_code};
use crate::helpers::{Account, Backend, Endpoint, TestApp, data, error_code};

const TYPING: &str = "subscription($c: ID!) { typing(chatId: $c) { users { id } } }";

/// A stream token for `who`.
async fn stream_token(app: &Endpoint, who: &Account) -> String {
    let response = app
        .graphql(
            Some(&who.token),
            "mutation { createStreamToken { token expiresAt } }",
            json!({}),
        )
        .await;
    data(&response, "createStreamToken")["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// A GET stream opened with a stream token in the URL.
async fn open_with_stream_token(
    app: &Endpoint,
    token: &str,
    chat: &str,
) -> Result<super::SseStream, (StatusCode, serde_json::Value)> {
    let path = format!("/graphql/stream?token={token}");
    Open {
        path: &path,
        get: true,
        ..Open::default()
    }
    .send(app, TYPING, json!({ "c": chat }))
    .await
}

/// The stream's last result is UNAUTHENTICATED, then it completes.
async fn ends_unauthenticated(stream: &mut super::SseStream) {
    let (result, _) = stream.next().await;
    assert_eq!(
        result["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{result}"
    );
    stream.complete().await;
}

/// A stream opened with a 2-second token ends when the token expires.
async fn a_stream_ends_when_its_token_expires(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.token_ttl_secs = 2).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let open = Open::bearer(&ada.token);
    let mut stream = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();
    stream.next().await;

    // Act and assert
    ends_unauthenticated(&mut stream).await;
}

/// Signing out ends the session's streams, those opened with a stream
/// token too, and its stream tokens open nothing more.
async fn a_stream_ends_with_its_session(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let token = stream_token(&app, &ada).await;
    let open = Open::bearer(&ada.token);
    let mut by_header = open.send(&app, TYPING, json!({ "c": chat })).await.unwrap();
    let mut by_url = open_with_stream_token(&app, &token, &chat).await.unwrap();
    by_header.next().await;
    by_url.next().await;

    // Act
    let signed_out = app
        .graphql(Some(&ada.token), "mutation { signOut }", json!({}))
        .await;
    assert_eq!(data(&signed_out, "signOut"), &json!(true));

    // Assert
    ends_unauthenticated(&mut by_header).await;
    ends_unauthenticated(&mut by_url).await;
    let refused = open_with_stream_token(&app, &token, &chat).await;
    assert_eq!(refused.err().expect("a stream").0, StatusCode::UNAUTHORIZED);
}

/// A stream token opens a GET stream from the URL and does nothing else:
/// not as a bearer token on `/graphql`, nor on a POST stream.
async fn stream_tokens_open_get_streams_only(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let token = stream_token(&app, &ada).await;

    // Act
    let opened = open_with_stream_token(&app, &token, &chat).await;
    let as_bearer = app
        .graphql(Some(&token), "query { me { id } }", json!({}))
        .await;
    let posted = Open::bearer(&token)
        .send(&app, TYPING, json!({ "c": chat }))
        .await;
    let access_token_in_url = open_with_stream_token(&app, &ada.token, &chat).await;

    // Assert
    let (first, _) = opened
        .expect("a GET stream with a stream token")
        .next()
        .await;
    assert_eq!(first["data"]["typing"]["users"], json!([]));
    assert_eq!(error_code(&as_bearer), "UNAUTHENTICATED");
    let posted = posted.err().expect("a POST stream with a stream token");
    assert_eq!(posted.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refusal_code(&posted), "UNAUTHENTICATED");
    let in_url = access_token_in_url
        .err()
        .expect("an access token in the URL opened a stream");
    assert_eq!(in_url.0, StatusCode::UNAUTHORIZED);
}

crate::on_both_backends!(
    a_stream_ends_when_its_token_expires,
    a_stream_ends_with_its_session,
    stream_tokens_open_get_streams_only,
);
