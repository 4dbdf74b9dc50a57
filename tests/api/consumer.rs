//! The log consumer, driven one step at a time with `poll_once`.

use std::sync::Arc;
use std::time::Duration;

use chat_server::domain::{ChatTitle, MessageBody, Username};
use chat_server::realtime::consumer::{Consumer, ConsumerStatus};
use chat_server::realtime::hub::Hub;
use chat_server::store::redis::{RedisSettings, RedisStore};
use chat_server::store::{Event, LogId, NewMessage, Partition, Store};
use tokio::sync::broadcast::Receiver;

use crate::helpers::{Backend, TestApp, unique_name};
use crate::on_single_log_backends;
use crate::redis_server::RedisServer;

/// These tests drive one consumer: of the only partition.
const P0: Partition = Partition::FIRST;

/// Polls `consumer` until `hub` has yielded `n` events; returns their ids.
async fn collect(
    consumer: &mut Consumer,
    receiver: &mut Receiver<Arc<Event>>,
    n: usize,
) -> Vec<LogId> {
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ids.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer published {} of {n}",
            ids.len()
        );
        consumer.poll_once().await.expect("poll_once failed");
        while let Ok(event) = receiver.try_recv() {
            ids.push(event.id);
        }
    }
    ids
}

/// Every event appended after the consumer's start is published once, in log order, and nothing from before it.
async fn consumer_publishes_each_new_event_once_in_order(backend: Backend) {
    // Arrange: history before the consumer's start, which it must not publish.
    let app = TestApp::spawn(backend).await;
    let (ada, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&ada, &[&bob]).await;
    app.send(&ada, &chat, "before the start").await;
    let start = app.store.log_head(P0).await.unwrap();
    let hub = Hub::new(64);
    let mut receiver = hub.subscribe();
    let mut consumer = Consumer::new(app.store.log_tail(P0), hub, start, ConsumerStatus::new(P0));

    // Act
    for i in 0..5 {
        app.send(&bob, &chat, &format!("message {i}")).await;
    }
    let published = collect(&mut consumer, &mut receiver, 5).await;

    // Assert: exactly the log after `start`, and nothing more arrives.
    let expected: Vec<LogId> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.id)
        .filter(|id| *id > start)
        .collect();
    assert_eq!(published, expected);
    assert_eq!(consumer.position(), app.store.log_head(P0).await.unwrap());
    assert_eq!(consumer.poll_once().await.expect("idle poll"), 0);
    assert!(receiver.try_recv().is_err(), "an event was published twice");
}

on_single_log_backends!(
    consumer_publishes_each_new_event_once_in_order,
    consumer_reports_how_far_behind_it_runs,
);

/// After Redis is killed and restarted from its append-only file, the
/// consumer reports the outage, then resumes right after the last event it
/// published: none skipped, none repeated, and no failed write in the log.
#[tokio::test]
async fn consumer_resumes_exactly_after_a_redis_crash() {
    // Arrange: a durable Redis, a chat, and a consumer that has published some.
    let mut redis = RedisServer::start_durable().await;
    let store = RedisStore::connect(&redis.url(), RedisSettings::new("t:", 10_000))
        .await
        .unwrap();
    let name = Username::parse(&unique_name("crash")).unwrap();
    let user = store.create_user(&name, "not-a-real-hash").await.unwrap();
    let title = ChatTitle::parse("crash test").unwrap();
    let chat = store.create_chat(&user.id, &title, &[]).await.unwrap();
    let send = |n: usize| {
        let body = MessageBody::parse(&format!("message {n}")).unwrap();
        let (store, chat, user) = (&store, chat.id.clone(), user.id.clone());
        async move {
            let message = NewMessage {
                body: &body,
                client_message_id: None,
                reply_to: None,
            };
            store.send_message(&chat, &user, message).await
        }
    };
    let start = store.log_head(P0).await.unwrap();
    let hub = Hub::new(64);
    let mut receiver = hub.subscribe();
    let status = ConsumerStatus::new(P0);
    let mut consumer = Consumer::new(store.log_tail(P0), hub, start, status.clone());
    for n in 0..3 {
        send(n).await.unwrap();
    }
    let mut published = collect(&mut consumer, &mut receiver, 3).await;

    // Act: crash Redis; reads and writes fail while it is down.
    redis.kill();
    assert!(
        consumer.poll_once().await.is_err(),
        "a read succeeded without Redis"
    );
    assert!(!status.is_healthy());
    assert!(
        send(99).await.is_err(),
        "a write was acknowledged without Redis"
    );
    redis.restart().await;
    let mut sent_after = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sent_after < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes did not recover"
        );
        match send(3 + sent_after).await {
            Ok(_) => sent_after += 1,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    published.extend(collect(&mut consumer, &mut receiver, 3).await);

    // Assert: the consumer recovered and published exactly the log after its start.
    assert!(status.is_healthy());
    let log: Vec<LogId> = store
        .read_log(P0, start, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(published, log, "published ids differ from the log");
    assert_eq!(
        log.len(),
        6,
        "the failed write reached the log, or a write was lost"
    );
}

/// A consumer that starts behind the log reports how far behind it runs
/// (the age of the newest event it read), for `/metrics`.
async fn consumer_reports_how_far_behind_it_runs(backend: Backend) {
    // Arrange: events a consumer has not read yet, aged 400 ms.
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let start = app.store.log_head(P0).await.unwrap();
    for i in 0..3 {
        app.send(&ada, &chat, &format!("m{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = ConsumerStatus::new(P0);
    let mut consumer = Consumer::new(app.store.log_tail(P0), Hub::new(64), start, status.clone());

    // Act
    let published = consumer.poll_once().await.expect("poll_once failed");

    // Assert
    assert_eq!(published, 3);
    assert!(
        status.lag() >= Duration::from_millis(400),
        "{:?}",
        status.lag()
    );
    assert!(status.lag() < Duration::from_secs(10), "{:?}", status.lag());
}
