//! `setTyping` and `typing(chatId)`: the whole set first and at every
//! change, the viewer left out, renewals silent, lapses after six seconds,
//! and removal on `false`, on sending and on leaving.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{
    PATIENCE, SIG, metric, next_typists, set_typing, typing, watch_presence, watch_typing,
};
use crate::helpers::{Backend, TestApp, error_code};

/// The set comes first, then again at each change, in start order and
/// without the viewer; a renewal and the viewer's own typing send nothing;
/// `false` and sending a message take a typist out.
async fn the_set_is_sent_first_and_at_every_change(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cy) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob, &cy]).await;
    let mut watcher = watch_typing(&app, &cy, &chat).await;
    assert_eq!(next_typists(&mut watcher).await, Vec::<String>::new());

    // Act and assert, change by change
    typing(&app, &ada, &chat, true).await;
    assert_eq!(next_typists(&mut watcher).await, vec![ada.id.clone()]);
    typing(&app, &bob, &chat, true).await;
    assert_eq!(
        next_typists(&mut watcher).await,
        vec![ada.id.clone(), bob.id.clone()]
    );
    typing(&app, &ada, &chat, true).await;
    typing(&app, &cy, &chat, true).await;
    watcher.expect_silence(Duration::from_millis(500)).await;
    typing(&app, &ada, &chat, false).await;
    assert_eq!(next_typists(&mut watcher).await, vec![bob.id.clone()]);
    app.send(&bob, &chat, "done typing").await;
    assert_eq!(next_typists(&mut watcher).await, Vec::<String>::new());
    typing(&app, &ada, &chat, false).await;
    watcher.expect_silence(Duration::from_millis(300)).await;
}

/// A typist who stops renewing is taken out six seconds after the last
/// `setTyping(true)`, and the set is sent again.
async fn a_typist_lapses_after_six_seconds(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let mut watcher = watch_typing(&app, &bob, &chat).await;
    assert!(next_typists(&mut watcher).await.is_empty());

    // Act
    typing(&app, &ada, &chat, true).await;
    let started = Instant::now();
    assert_eq!(next_typists(&mut watcher).await, vec![ada.id.clone()]);
    // (The client gives up on a silence of 5 s, so the wait is in two.)
    watcher.expect_silence(Duration::from_millis(4_500)).await;
    let lapsed = watcher
        .recv_within(Duration::from_millis(3_500))
        .await
        .expect("the typist never lapsed");

    // Assert
    let waited = started.elapsed();
    assert_eq!(lapsed["payload"]["data"]["typing"]["users"], json!([]));
    assert!(
        waited >= Duration::from_millis(5_900) && waited < Duration::from_secs(8),
        "lapsed after {waited:?}"
    );
}

/// Leaving takes the leaver out of the set at once; a subscriber who
/// leaves gets `complete`.
async fn leaving_takes_a_typist_out_and_ends_the_leavers_subscription(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let mut watcher = watch_typing(&app, &bob, &chat).await;
    assert!(next_typists(&mut watcher).await.is_empty());
    typing(&app, &ada, &chat, true).await;
    assert_eq!(next_typists(&mut watcher).await, vec![ada.id.clone()]);

    // Act
    app.leave(&ada, &chat).await;
    let after_ada_left = next_typists(&mut watcher).await;
    app.leave(&bob, &chat).await;

    // Assert
    assert!(after_ada_left.is_empty());
    watcher.expect_complete(SIG).await;
}

/// Only members may type or watch: NOT_FOUND for a chat the viewer is not
/// in (or that does not exist), when the subscription starts.
async fn non_members_get_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, eve) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;

    // Act
    let typed = set_typing(&app, &eve, &chat, true).await;
    let malformed = set_typing(&app, &eve, "not-a-chat", true).await;
    let mut watcher = watch_typing(&app, &eve, &chat).await;
    let refused = watcher.expect_error(SIG).await;

    // Assert
    assert_eq!(error_code(&typed), "NOT_FOUND");
    assert_eq!(error_code(&malformed), "NOT_FOUND");
    assert_eq!(refused[0]["extensions"]["code"], "NOT_FOUND", "{refused}");
}

/// `setTyping` is limited per user (RATE_SET_TYPING).
async fn set_typing_is_rate_limited(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.rate_set_typing = "2/1m".parse().unwrap()).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;

    // Act
    typing(&app, &ada, &chat, true).await;
    typing(&app, &ada, &chat, false).await;
    let third = set_typing(&app, &ada, &chat, true).await;

    // Assert
    assert_eq!(error_code(&third), "RATE_LIMITED", "{third}");
}

/// A process listens to a chat's typing channel and a user's presence
/// channel only while a subscription here watches them, once however many
/// do, and lets go when the last one ends.
async fn channels_are_held_only_while_watched(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    let before = metric(&app, "chat_signal_channels").await;

    // Act
    let mut first = watch_typing(&app, &ada, &chat).await;
    let mut second = watch_typing(&app, &bob, &chat).await;
    let mut people = watch_presence(&app, &ada, &[&bob.id]).await;
    for client in [&mut first, &mut second, &mut people] {
        client.recv_within(PATIENCE).await.expect("a first state");
    }
    let watched = metric(&app, "chat_signal_channels").await;
    for client in [&mut first, &mut second, &mut people] {
        client.complete(SIG).await;
    }
    let deadline = Instant::now() + PATIENCE;
    let mut after = metric(&app, "chat_signal_channels").await;
    while after != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = metric(&app, "chat_signal_channels").await;
    }

    // Assert
    assert_eq!(before, 0);
    assert_eq!(
        watched, 2,
        "one typing channel for the chat, one presence channel for bob"
    );
    assert_eq!(
        after, 0,
        "channels still held after every subscription ended"
    );
}

crate::on_both_backends!(
    the_set_is_sent_first_and_at_every_change,
    a_typist_lapses_after_six_seconds,
    leaving_takes_a_typist_out_and_ends_the_leavers_subscription,
    non_members_get_not_found,
    set_typing_is_rate_limited,
    channels_are_held_only_while_watched,
);
