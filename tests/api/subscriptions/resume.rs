//! Resuming subscriptions with `after`: the replay is exactly what was
//! missed, judged by the viewer's membership at each event's position, then
//! live events follow with no gap and no duplicate; and the cursors `after`
//! refuses (malformed, of the chats kind, older than the retained log).

use serde_json::json;

use super::{EVENTS, MESSAGES, QUIET, messages, next_summaries, refusal, subscribe_live, summary};
use crate::helpers::{Backend, TestApp, data};
use crate::ws_client::{SUB, WsClient, WsProtocol, event, subscribe, vars};

/// After a disconnect, `after` the cursor of message k delivers exactly the n messages missed, in order, then live ones, none twice.
async fn resume_delivers_exactly_the_missed_then_live(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for query in [MESSAGES, EVENTS] {
        // Arrange: bob receives m1..m3 live, notes the last cursor, drops off.
        let (ada, bob) = (app.sign_up().await, app.sign_up().await);
        let chat = app.create_chat(&ada, &[&bob]).await;
        let protocol = WsProtocol::TransportWs;
        let mut client = subscribe_live(&app, protocol, &bob, query, vars(None, None), &chat).await;
        for body in ["m1", "m2", "m3"] {
            app.send(&ada, &chat, body).await;
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(client.expect_next(SUB).await);
        }
        assert_eq!(
            seen.iter().map(summary).collect::<Vec<_>>(),
            messages(&["m1", "m2", "m3"])
        );
        let cursor = event(&seen[2])["cursor"].as_str().unwrap().to_owned();
        drop(client);

        // Act
        for body in ["m4", "m5", "m6", "m7", "m8"] {
            app.send(&ada, &chat, body).await;
        }
        let mut client = subscribe(&app, &bob, query, vars(None, Some(&cursor))).await;

        // Assert
        let missed = messages(&["m4", "m5", "m6", "m7", "m8"]);
        assert_eq!(next_summaries(&mut client, 5).await, missed);
        app.send(&ada, &chat, "live 1").await;
        app.send(&ada, &chat, "live 2").await;
        let live = messages(&["live 1", "live 2"]);
        assert_eq!(next_summaries(&mut client, 2).await, live);
        client.expect_silence(QUIET).await;
    }
}

/// The endCursor of a history page resumes right after the page: messages sent since are replayed, then live ones.
async fn resume_after_the_end_cursor_of_a_history_page(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    for body in ["m1", "m2", "m3"] {
        app.send(&ada, &chat, body).await;
    }
    let page = app.history(&bob, &chat, Some(2), None).await;
    let end = page["pageInfo"]["endCursor"].clone();
    let end = end.as_str().expect("an endCursor");
    app.send(&ada, &chat, "m4").await;
    app.send(&ada, &chat, "m5").await;

    // Act
    let mut client = subscribe(&app, &bob, MESSAGES, vars(Some(&chat), Some(end))).await;
    let replayed = next_summaries(&mut client, 2).await;
    app.send(&ada, &chat, "m6").await;

    // Assert
    assert_eq!(replayed, messages(&["m4", "m5"]));
    assert_eq!(next_summaries(&mut client, 1).await, messages(&["m6"]));
    client.expect_silence(QUIET).await;
}

/// A viewer who left after the cursor gets the replay up to and including its own MemberLeft, and nothing of that chat after it.
async fn replay_ends_at_a_leave_after_the_cursor(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, vic) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&vic]).await;
    let own = app.create_chat(&vic, &[]).await;
    let cursor = app.send(&ada, &chat, "m0").await["cursor"].clone();
    let all_after = app.all_chats_after(cursor.as_str().unwrap()).await;
    app.send(&ada, &chat, "m1").await;
    app.leave(&vic, &chat).await;
    app.send(&ada, &chat, "after the leave").await;
    app.send(&vic, &own, "marker").await;
    let after = vars(None, Some(&all_after));

    // Act
    let mut events = subscribe(&app, &vic, EVENTS, after.clone()).await;
    let mut messages_only = subscribe(&app, &vic, MESSAGES, after).await;

    // Assert
    let left = format!("left {}", vic.username);
    let expected = ["message m1".to_owned(), left, "message marker".to_owned()];
    assert_eq!(next_summaries(&mut events, 3).await, expected);
    let expected = messages(&["m1", "marker"]);
    assert_eq!(next_summaries(&mut messages_only, 2).await, expected);
    events.expect_silence(QUIET).await;
    messages_only.expect_silence(QUIET).await;
}

/// A viewer added after the cursor gets that chat's events only from its own MemberJoined on; a chat created with it after the cursor, from its ChatCreated (showing the chat as it is now).
async fn replay_starts_at_a_join_after_the_cursor(backend: Backend) {
    // Arrange: the cursor comes from a chat vic is not in yet.
    let app = TestApp::spawn(backend).await;
    let (ada, vic, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[]).await;
    let cursor = app.send(&ada, &chat, "m0").await["cursor"].clone();
    let all_after = app.all_chats_after(cursor.as_str().unwrap()).await;
    app.send(&ada, &chat, "before the join").await;
    app.add_member(&ada, &chat, &vic.id).await;
    app.send(&ada, &chat, "after the join").await;
    let later = app.create_chat(&ada, &[&vic]).await;
    app.add_member(&ada, &later, &cat.id).await;
    let after = vars(None, Some(&all_after));

    // Act
    let mut events = subscribe(&app, &vic, EVENTS, after.clone()).await;
    let mut messages_only = subscribe(&app, &vic, MESSAGES, after).await;
    let only = vars(Some(&chat), cursor.as_str());
    let mut filtered = subscribe(&app, &vic, EVENTS, only).await;

    // Assert
    let joined = format!("joined {} by {}", vic.username, ada.username);
    let expected = [joined, "message after the join".to_owned()];
    assert_eq!(next_summaries(&mut filtered, 2).await, expected);
    assert_eq!(next_summaries(&mut events, 2).await, expected);
    let created = events.expect_next(SUB).await;
    assert_eq!(summary(&created), "created test chat");
    let members = &event(&created)["chat"]["members"];
    let names = [&ada, &vic, &cat].map(|user| json!({ "username": user.username }));
    assert_eq!(*members, json!(names), "the chat as it is at delivery");
    let added = format!("joined {} by {}", cat.username, ada.username);
    assert_eq!(next_summaries(&mut events, 1).await, [added]);
    let expected = messages(&["after the join"]);
    assert_eq!(next_summaries(&mut messages_only, 1).await, expected);
    for client in [&mut events, &mut messages_only, &mut filtered] {
        client.expect_silence(QUIET).await;
    }
}

/// A chatId replay that reaches the viewer's own MemberLeft delivers it and completes, though the viewer was added back later.
async fn a_filtered_replay_completes_at_the_viewers_leave(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, vic) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&vic]).await;
    let cursor = app.send(&ada, &chat, "m0").await["cursor"].clone();
    app.send(&ada, &chat, "m1").await;
    app.leave(&vic, &chat).await;
    app.send(&ada, &chat, "while away").await;
    app.add_member(&ada, &chat, &vic.id).await;
    app.send(&ada, &chat, "back").await;

    // Act
    let mut client = subscribe(&app, &vic, EVENTS, vars(Some(&chat), cursor.as_str())).await;

    // Assert
    let expected = ["message m1".to_owned(), format!("left {}", vic.username)];
    assert_eq!(next_summaries(&mut client, 2).await, expected);
    client.expect_complete(SUB).await;
    client.expect_silence(QUIET).await;
}

/// An `after` the server did not make, or a cursor of the chats listing, is BAD_USER_INPUT.
async fn foreign_cursors_are_bad_user_input(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    app.send(&ada, &chat, "hello").await;
    let listing = "{ chats(first: 1) { pageInfo { endCursor } } }";
    let response = app.graphql(Some(&ada.token), listing, json!({})).await;
    let chats_cursor = data(&response, "chats")["pageInfo"]["endCursor"].clone();
    let chats_cursor = chats_cursor.as_str().expect("a chats cursor");
    let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &ada).await;

    // Act / Assert
    for query in [MESSAGES, EVENTS] {
        for chat in [None, Some(chat.as_str())] {
            for after in ["not a cursor", "", "bDE6eHl6", chats_cursor] {
                let code = refusal(&mut client, query, vars(chat, Some(after))).await;
                assert_eq!(
                    code, "BAD_USER_INPUT",
                    "after {after:?} in {chat:?}: {query}"
                );
            }
        }
    }
}

/// With a retention of 5 events, `after` a trimmed-away event is CURSOR_EXPIRED, while a retained one still resumes.
async fn a_cursor_older_than_the_retained_log_is_expired(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.event_retention = 5).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let early = app.send(&ada, &chat, "m0").await["cursor"].clone();
    let early_all = app.all_chats_after(early.as_str().unwrap()).await;
    let mut fifth_all = String::new();
    for i in 1..=6 {
        let cursor = app.send(&ada, &chat, &format!("m{i}")).await["cursor"].clone();
        if i == 5 {
            fifth_all = app.all_chats_after(cursor.as_str().unwrap()).await;
        }
    }
    let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &ada).await;

    // Act / Assert: the early cursor is expired, with or without chatId.
    for query in [MESSAGES, EVENTS] {
        for chat in [None, Some(chat.as_str())] {
            let early = match chat {
                Some(_) => early.as_str(),
                None => Some(early_all.as_str()),
            };
            let code = refusal(&mut client, query, vars(chat, early)).await;
            assert_eq!(code, "CURSOR_EXPIRED", "in {chat:?}: {query}");
        }
    }

    // Act / Assert: the cursor of m5 is retained and resumes with m6.
    client
        .subscribe(SUB, MESSAGES, vars(None, Some(&fifth_all)))
        .await;
    assert_eq!(next_summaries(&mut client, 1).await, messages(&["m6"]));
    client.expect_silence(QUIET).await;
}

crate::on_both_backends!(
    resume_delivers_exactly_the_missed_then_live,
    resume_after_the_end_cursor_of_a_history_page,
    replay_ends_at_a_leave_after_the_cursor,
    replay_starts_at_a_join_after_the_cursor,
    a_filtered_replay_completes_at_the_viewers_leave,
    foreign_cursors_are_bad_user_input,
    a_cursor_older_than_the_retained_log_is_expired,
);
