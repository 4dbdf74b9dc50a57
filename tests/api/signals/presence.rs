//! Presence: online while a connection is open, offline soon after the
//! last one closes, `lastSeenAt`, and nothing at all for users who share
//! no chat with the subject.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{SIG, connect, next_presence, watch_presence};
use crate::helpers::{Account, Backend, Endpoint, TestApp, data, utc_millis};

/// `online` and `lastSeenAt` of `subject` as `viewer` queries them.
async fn queried(app: &Endpoint, viewer: &Account, subject: &Account) -> (bool, Value) {
    let response = app
        .graphql(
            Some(&viewer.token),
            "query($n: String!) { user(username: $n) { online lastSeenAt } }",
            json!({ "n": subject.username }),
        )
        .await;
    let user = data(&response, "user");
    (
        user["online"].as_bool().expect("online"),
        user["lastSeenAt"].clone(),
    )
}

/// The current state first; online when a connection opens; offline,
/// with `lastSeenAt`, soon after the last one closes (a second
/// connection keeps the user online); queries agree.
async fn presence_follows_connections(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    app.create_chat(&ada, &[&bob]).await;
    let mut watcher = watch_presence(&app, &bob, &[&ada.id]).await;
    let first = next_presence(&mut watcher).await;

    // Act
    let phone = connect(&app, &ada).await;
    let online = next_presence(&mut watcher).await;
    let online_queried = queried(&app, &bob, &ada).await;
    let laptop = connect(&app, &ada).await;
    drop(laptop);
    watcher.expect_silence(Duration::from_millis(500)).await;
    let closed = Instant::now();
    phone.close().await;
    let offline = next_presence(&mut watcher).await;
    let took = closed.elapsed();
    let offline_queried = queried(&app, &bob, &ada).await;

    // Assert
    assert_eq!(first, (ada.id.clone(), false, Value::Null));
    assert_eq!(online, (ada.id.clone(), true, Value::Null));
    assert_eq!(online_queried, (true, Value::Null));
    assert_eq!((offline.0.as_str(), offline.1), (ada.id.as_str(), false));
    assert!(took < Duration::from_secs(2), "offline after {took:?}");
    let seen = utc_millis(offline.2.as_str().expect("a lastSeenAt"));
    assert!(seen > 0);
    assert_eq!(offline_queried, (false, offline.2.clone()));
}

/// A user who shares no chat with the subject sees it offline and never
/// seen, in queries and in the first state, and gets no change at all,
/// while a user sharing a chat gets both.
async fn unrelated_users_learn_nothing(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, eve) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    app.create_chat(&ada, &[&bob]).await;
    let mut friend = watch_presence(&app, &bob, &[&ada.id]).await;
    let mut stranger = watch_presence(&app, &eve, &[&ada.id]).await;
    next_presence(&mut friend).await;
    let stranger_first = next_presence(&mut stranger).await;

    // Act
    let socket = connect(&app, &ada).await;
    let friend_online = next_presence(&mut friend).await;
    let stranger_query = queried(&app, &eve, &ada).await;
    socket.close().await;
    let friend_offline = next_presence(&mut friend).await;
    let stranger_query_after = queried(&app, &eve, &ada).await;

    // Assert
    assert!(friend_online.1);
    assert!(!friend_offline.1);
    assert_eq!(stranger_first, (ada.id.clone(), false, Value::Null));
    assert_eq!(stranger_query, (false, Value::Null));
    assert_eq!(stranger_query_after, (false, Value::Null));
    stranger.expect_silence(Duration::from_millis(500)).await;
}

/// States come first in the order given; repeated ids once; ids naming no
/// user skipped; 0 or more than 500 ids refused; a user sees itself.
async fn ids_are_taken_in_order_and_checked(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    app.create_chat(&ada, &[&bob]).await;
    let nobody = "0123456789abcdef0123456789abcdef";
    let too_many: Vec<String> = (0..501).map(|_| nobody.to_owned()).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();

    // Act
    let mut watcher = watch_presence(
        &app,
        &ada,
        &[&bob.id, "malformed", nobody, &ada.id, &bob.id],
    )
    .await;
    let first = next_presence(&mut watcher).await;
    let second = next_presence(&mut watcher).await;
    let mut none = watch_presence(&app, &ada, &[]).await;
    let none_error = none.expect_error(SIG).await;
    let mut many = watch_presence(&app, &ada, &too_many).await;
    let many_error = many.expect_error(SIG).await;

    // Assert
    assert_eq!(first.0, bob.id);
    assert_eq!(
        second,
        (ada.id.clone(), true, Value::Null),
        "ada's own socket is open"
    );
    watcher.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(none_error[0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(many_error[0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// `presence` subscriptions are limited per user (RATE_PRESENCE).
async fn presence_subscriptions_are_rate_limited(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.rate_presence = "1/1m".parse().unwrap()).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);

    // Act
    let mut first = watch_presence(&app, &ada, &[&bob.id]).await;
    let allowed = next_presence(&mut first).await;
    let mut second = watch_presence(&app, &ada, &[&bob.id]).await;
    let refused = second.expect_error(SIG).await;

    // Assert
    assert_eq!(allowed.0, bob.id);
    assert_eq!(
        refused[0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
}

/// A change is shown as visibility is when it happens: after the chat
/// they shared is left, the next change is not sent; after one is shared
/// again, it is.
async fn changes_follow_visibility_at_the_time(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let mut watcher = watch_presence(&app, &bob, &[&ada.id]).await;
    next_presence(&mut watcher).await;
    app.leave(&ada, &chat).await;

    // Act
    let hidden = connect(&app, &ada).await;
    let while_unrelated = watcher.recv_within(Duration::from_millis(500)).await;
    hidden.close().await;
    watcher.expect_silence(Duration::from_millis(300)).await;
    app.create_chat(&bob, &[&ada]).await;
    let _shown = connect(&app, &ada).await;
    let while_related = next_presence(&mut watcher).await;

    // Assert
    assert!(while_unrelated.is_none(), "{while_unrelated:?}");
    assert_eq!(while_related, (ada.id.clone(), true, Value::Null));
}

crate::on_both_backends!(
    presence_follows_connections,
    unrelated_users_learn_nothing,
    ids_are_taken_in_order_and_checked,
    presence_subscriptions_are_rate_limited,
    changes_follow_visibility_at_the_time,
);
