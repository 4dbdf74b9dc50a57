//! Chats and membership: createChat, addMember, leaveChat, `chat`, `chats`,
//! and the rule that a chat is NOT_FOUND to anyone but its members.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ADD_MEMBER, Account, Backend, LEAVE_CHAT, TestApp, data, error_code, utc_millis,
};

const CREATE: &str = "mutation($i: CreateChatInput!) { createChat(input: $i) { id title createdAt createdBy { id } members { id } } }";
const CHAT: &str = "query($id: ID!) { chat(id: $id) { id title members { id } } }";
const SEND: &str = "mutation($c: ID!) { sendMessage(input: { chatId: $c, body: \"hi\" }) { id } }";
const CHATS: &str = "query($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }";

/// Pauses long enough for the next write to get a later millisecond, so
/// activity times differ and the `chats` order is fully determined.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

/// Ids of `chat.members` as `viewer` sees them.
async fn member_ids(app: &TestApp, viewer: &Account, chat: &str) -> Vec<String> {
    let response = app
        .graphql(Some(&viewer.token), CHAT, json!({ "id": chat }))
        .await;
    ids(&data(&response, "chat")["members"])
}

/// The `id` of every object in a JSON array.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Chat ids of one `chats` page, with the raw page.
async fn chats_page(
    app: &TestApp,
    viewer: &Account,
    first: Option<i64>,
    after: Option<&str>,
) -> (Vec<String>, Value) {
    let response = app
        .graphql(
            Some(&viewer.token),
            CHATS,
            json!({ "first": first, "after": after }),
        )
        .await;
    let page = data(&response, "chats").clone();
    let ids = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page)
}

/// Every chat `viewer` can list (one page of 100 is plenty here).
async fn all_chats(app: &TestApp, viewer: &Account) -> Vec<String> {
    chats_page(app, viewer, Some(100), None).await.0
}

/// A response with `path` and `locations` removed from its errors: what is
/// left is everything a client could use to tell two failures apart.
fn without_positions(mut response: Value) -> Value {
    for error in response["errors"].as_array_mut().into_iter().flatten() {
        if let Some(error) = error.as_object_mut() {
            error.remove("path");
            error.remove("locations");
        }
    }
    response
}

/// The creator of a chat is its first and only member unless others are named.
async fn create_chat_makes_the_creator_a_member(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;

    // Act
    let response = app
        .graphql(
            Some(&ada.token),
            CREATE,
            json!({ "i": { "title": "Plans" } }),
        )
        .await;

    // Assert
    let chat = data(&response, "createChat");
    assert_eq!(chat["title"], "Plans");
    assert_eq!(chat["createdBy"]["id"], ada.id.as_str());
    assert_eq!(ids(&chat["members"]), [ada.id.as_str()]);
    utc_millis(chat["createdAt"].as_str().unwrap());
    let id = chat["id"].as_str().unwrap();
    assert_eq!(member_ids(&app, &ada, id).await, [ada.id.as_str()]);
    assert_eq!(all_chats(&app, &ada).await, [id.to_owned()]);
}

/// memberIds are de-duplicated, and the creator's own id adds nothing.
async fn create_chat_deduplicates_member_ids(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let member_ids = [&bob.id, &cat.id, &bob.id, &ada.id, &cat.id];

    // Act
    let response = app
        .graphql(
            Some(&ada.token),
            CREATE,
            json!({ "i": { "title": "dups", "memberIds": member_ids } }),
        )
        .await;

    // Assert
    let members = ids(&data(&response, "createChat")["members"]);
    assert_eq!(members, [ada.id.as_str(), bob.id.as_str(), cat.id.as_str()]);
}

/// Titles are stored trimmed; a 200-character title is accepted.
async fn create_chat_trims_the_title(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let longest = "t".repeat(200);

    for (given, stored) in [
        ("  Weekend plans \t\n", "Weekend plans"),
        (&format!(" {longest} ") as &str, &longest as &str),
    ] {
        // Act
        let response = app
            .graphql(Some(&ada.token), CREATE, json!({ "i": { "title": given } }))
            .await;

        // Assert
        assert_eq!(data(&response, "createChat")["title"], stored);
    }
}

/// Empty, whitespace-only and 201-character titles are BAD_USER_INPUT and write nothing.
async fn create_chat_refuses_bad_titles(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let head = app.log_head().await;

    for title in ["", "   \t\n\u{3000}", &"t".repeat(201)] {
        // Act
        let response = app
            .graphql(Some(&ada.token), CREATE, json!({ "i": { "title": title } }))
            .await;

        // Assert
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{title:?}");
    }
    assert_eq!(app.log_head().await, head);
    assert!(all_chats(&app, &ada).await.is_empty());
}

/// createChat naming an unknown user is NOT_FOUND and writes nothing.
async fn create_chat_with_an_unknown_member_is_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let existing = app.create_chat(&ada, &[]).await;
    let head = app.log_head().await;

    // A chat id is well formed but names no user; "nobody" is not an id at all.
    for unknown in [existing.as_str(), "nobody"] {
        // Act
        let response = app
            .graphql(
                Some(&ada.token),
                CREATE,
                json!({ "i": { "title": "t", "memberIds": [bob.id, unknown] } }),
            )
            .await;

        // Assert
        assert_eq!(error_code(&response), "NOT_FOUND", "{unknown}");
    }
    assert_eq!(app.log_head().await, head);
    assert_eq!(all_chats(&app, &ada).await, [existing]);
    assert!(all_chats(&app, &bob).await.is_empty());
}

/// Members are in join order: creator, memberIds as given, later joins; a re-added member goes last.
async fn members_are_in_join_order(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat, dan) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&cat, &bob]).await;

    // Act
    app.add_member(&ada, &chat, &dan.id).await;
    let after_join = member_ids(&app, &ada, &chat).await;
    app.leave(&cat, &chat).await;
    app.add_member(&bob, &chat, &cat.id).await;
    let after_rejoin = member_ids(&app, &ada, &chat).await;

    // Assert
    let (a, b, c, d) = (&ada.id, &bob.id, &cat.id, &dan.id);
    assert_eq!(after_join, [a, c, b, d].map(String::as_str));
    assert_eq!(after_rejoin, [a, b, d, c].map(String::as_str));
}

/// Any member, not only the creator, may add a user, who then sees the chat.
async fn any_member_may_add_a_member(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob]).await;

    // Act
    let response = app.add_member_response(&bob, &chat, &cat.id).await;

    // Assert
    let members = ids(&data(&response, "addMember")["members"]);
    assert_eq!(members, [ada.id.as_str(), bob.id.as_str(), cat.id.as_str()]);
    assert_eq!(member_ids(&app, &cat, &chat).await, members);
    assert_eq!(all_chats(&app, &cat).await, [chat]);
}

/// Adding a current member again changes nothing and appends no event.
async fn adding_a_member_twice_is_a_no_op(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob, cat) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&ada, &[&bob]).await;
    app.add_member(&ada, &chat, &cat.id).await;
    let head = app.log_head().await;

    for user in [&cat, &bob, &ada] {
        // Act
        let response = app.add_member_response(&ada, &chat, &user.id).await;

        // Assert
        let members = ids(&data(&response, "addMember")["members"]);
        assert_eq!(members, [ada.id.as_str(), bob.id.as_str(), cat.id.as_str()]);
    }
    assert_eq!(app.log_head().await, head, "a no-op appended an event");
}

/// addMember naming an unknown user is NOT_FOUND and writes nothing.
async fn add_member_with_an_unknown_user_is_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let head = app.log_head().await;

    for unknown in [chat.as_str(), "nobody"] {
        // Act
        let response = app.add_member_response(&ada, &chat, unknown).await;

        // Assert
        assert_eq!(error_code(&response), "NOT_FOUND", "{unknown}");
    }
    assert_eq!(app.log_head().await, head);
    assert_eq!(member_ids(&app, &ada, &chat).await, [ada.id.as_str()]);
}

/// To a non-member a chat is NOT_FOUND everywhere, exactly like a missing or malformed id.
async fn a_non_member_cannot_tell_a_chat_from_a_missing_one(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, eve) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    // A user id is well formed but names no chat.
    let probes = [chat.as_str(), eve.id.as_str(), "not-a-chat"];
    let head = app.log_head().await;

    for (operation, query) in [
        ("chat", CHAT),
        ("addMember", ADD_MEMBER),
        ("leaveChat", LEAVE_CHAT),
        ("sendMessage", SEND),
    ] {
        // Act
        let mut answers = Vec::new();
        for id in probes {
            let variables = json!({ "id": id, "c": id, "u": eve.id });
            let response = app.graphql(Some(&eve.token), query, variables).await;
            assert_eq!(error_code(&response), "NOT_FOUND", "{operation} on {id}");
            answers.push(without_positions(response));
        }

        // Assert
        assert_eq!(answers[0], answers[1], "{operation}: existing vs missing");
        assert_eq!(answers[0], answers[2], "{operation}: existing vs malformed");
    }
    assert_eq!(
        app.log_head().await,
        head,
        "a refused probe wrote something"
    );
    assert_eq!(member_ids(&app, &ada, &chat).await, [ada.id.as_str()]);
}

/// An invisible `chat` is null with NOT_FOUND at its path, and its siblings still resolve.
async fn an_invisible_chat_is_null_beside_its_siblings(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, eve) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[]).await;
    let query = "query($id: ID!) { me { id } chat(id: $id) { id } }";

    // Act
    let response = app
        .graphql(Some(&eve.token), query, json!({ "id": chat }))
        .await;

    // Assert
    assert_eq!(error_code(&response), "NOT_FOUND");
    assert_eq!(response["errors"][0]["path"], json!(["chat"]));
    let expected = json!({ "me": { "id": eve.id }, "chat": null });
    assert_eq!(response["data"], expected, "{response:#}");
}

/// leaveChat returns true; afterwards the chat is NOT_FOUND to the leaver.
async fn leave_chat_returns_true_then_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;

    // Act
    let left = app.leave_response(&bob, &chat).await;
    let again = app.leave_response(&bob, &chat).await;
    let seen = app
        .graphql(Some(&bob.token), CHAT, json!({ "id": chat }))
        .await;

    // Assert
    assert_eq!(left["data"], json!({ "leaveChat": true }), "{left:#}");
    assert_eq!(error_code(&again), "NOT_FOUND");
    assert_eq!(error_code(&seen), "NOT_FOUND");
    assert!(all_chats(&app, &bob).await.is_empty());
    assert_eq!(member_ids(&app, &ada, &chat).await, [ada.id.as_str()]);
}

/// A chat whose last member left is visible to no one, not even its creator.
async fn a_chat_left_by_everyone_is_visible_to_no_one(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;

    // Act
    for member in [&ada, &bob] {
        let left = app.leave_response(member, &chat).await;
        assert_eq!(left["data"], json!({ "leaveChat": true }), "{left:#}");
    }

    // Assert
    for member in [&ada, &bob] {
        let seen = app
            .graphql(Some(&member.token), CHAT, json!({ "id": chat }))
            .await;
        assert_eq!(error_code(&seen), "NOT_FOUND");
        assert!(all_chats(&app, member).await.is_empty());
        let rejoin = app.add_member_response(member, &chat, &member.id).await;
        assert_eq!(error_code(&rejoin), "NOT_FOUND");
    }
}

/// `chats` orders by last activity (joins do not count) and pages each chat exactly once.
async fn chats_are_ordered_by_activity_and_paged_without_gaps(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.create_chat(&ada, &[]).await);
        next_millisecond().await;
    }
    app.send(&ada, &created[1], "wake up").await;
    next_millisecond().await;
    app.add_member(&ada, &created[0], &bob.id).await;
    let expected = [1, 4, 3, 2, 0].map(|i| created[i].clone());

    // Act
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (ids, page) = chats_page(&app, &ada, Some(2), after.as_deref()).await;
        let info = page["pageInfo"].clone();
        pages.push((ids, page));
        if info["hasNextPage"] != true {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
        assert!(pages.len() < 10, "paging does not end");
    }

    // Assert
    let listed: Vec<String> = pages.iter().flat_map(|(ids, _)| ids.clone()).collect();
    assert_eq!(listed, expected);
    assert_eq!(pages.len(), 3);
    for (index, (ids, page)) in pages.iter().enumerate() {
        let edges = page["edges"].as_array().unwrap();
        let info = &page["pageInfo"];
        assert_eq!(ids.len(), if index < 2 { 2 } else { 1 });
        assert_eq!(info["hasPreviousPage"], index > 0, "page {index}");
        assert_eq!(info["hasNextPage"], index < 2, "page {index}");
        assert_eq!(info["startCursor"], edges[0]["cursor"], "page {index}");
        assert_eq!(
            info["endCursor"],
            edges[edges.len() - 1]["cursor"],
            "page {index}"
        );
    }
}

/// Without `first`, `chats` returns pages of 20.
async fn chats_default_to_pages_of_twenty(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    for _ in 0..21 {
        app.create_chat(&ada, &[]).await;
    }

    // Act
    let (ids, page) = chats_page(&app, &ada, None, None).await;

    // Assert
    assert_eq!(ids.len(), 20);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
}

/// `first` outside 1–100 is BAD_USER_INPUT; 1 and 100 are accepted.
async fn chats_first_must_be_between_1_and_100(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    app.create_chat(&ada, &[]).await;

    for (first, accepted) in [
        (0, false),
        (101, false),
        (-1, false),
        (1, true),
        (100, true),
    ] {
        // Act
        let response = app
            .graphql(Some(&ada.token), CHATS, json!({ "first": first }))
            .await;

        // Assert
        if accepted {
            data(&response, "chats");
        } else {
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "first: {first}");
        }
    }
}

/// A message cursor or a string the server never made is refused as `after`.
async fn chats_refuse_foreign_cursors(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let message_cursor = app.send(&ada, &chat, "hello").await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    for after in [message_cursor.as_str(), "garbage", "", "bDE6eHh4"] {
        // Act
        let response = app
            .graphql(Some(&ada.token), CHATS, json!({ "after": after }))
            .await;

        // Assert
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "after: {after:?}");
    }
}

/// A `chats` cursor from another log (another server's) is CURSOR_EXPIRED.
async fn a_chats_cursor_from_another_log_is_expired(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    app.create_chat(&ada, &[]).await;
    let other = TestApp::spawn(backend).await;
    let stranger = other.sign_up().await;
    other.create_chat(&stranger, &[]).await;
    let (_, page) = chats_page(&other, &stranger, None, None).await;
    let foreign = page["edges"][0]["cursor"].as_str().unwrap();

    // Act
    let response = app
        .graphql(Some(&ada.token), CHATS, json!({ "after": foreign }))
        .await;

    // Assert
    assert_eq!(error_code(&response), "CURSOR_EXPIRED", "{response:#}");
}

crate::on_both_backends!(
    create_chat_makes_the_creator_a_member,
    create_chat_deduplicates_member_ids,
    create_chat_trims_the_title,
    create_chat_refuses_bad_titles,
    create_chat_with_an_unknown_member_is_not_found,
    members_are_in_join_order,
    any_member_may_add_a_member,
    adding_a_member_twice_is_a_no_op,
    add_member_with_an_unknown_user_is_not_found,
    a_non_member_cannot_tell_a_chat_from_a_missing_one,
    an_invisible_chat_is_null_beside_its_siblings,
    leave_chat_returns_true_then_not_found,
    a_chat_left_by_everyone_is_visible_to_no_one,
    chats_are_ordered_by_activity_and_paged_without_gaps,
    chats_default_to_pages_of_twenty,
    chats_first_must_be_between_1_and_100,
    chats_refuse_foreign_cursors,
    a_chats_cursor_from_another_log_is_expired,
);
