//! Typing and presence in Redis: hashes whose entries carry deadlines on
//! Redis's clock (so lapses need no writer), changed by scripts that
//! `PUBLISH` on the state's channel when its members change.
//!
//! Channels are classic pub/sub, named like the key they announce (so on
//! a cluster a channel and its key share a slot). The redis crate offers
//! sharded pub/sub (`SSUBSCRIBE`) only on its cluster connection; classic
//! channels reach every subscriber on one Redis, which is what this backend
//! serves.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::future::try_join_all;
use redis::aio::{PubSubSink, PubSubStream};

use crate::domain::{ChatId, UserId};
use crate::store::signals::{
    Presence, Signal, SignalControl, SignalNotices, Signals, TYPING_LAPSE, Typing,
};
use crate::store::{Millis, StoreError, StoreResult};

use super::keys::Keys;
use super::log::backend;
use super::{RedisStore, unexpected};

#[async_trait]
impl Signals for RedisStore {
    async fn set_typing(&self, chat: &ChatId, user: &UserId, typing: bool) -> StoreResult<()> {
        let mut invocation = self.scripts.set_typing.prepare_invoke();
        invocation
            .key(self.keys.members(chat))
            .key(self.keys.typing(chat))
            .arg(user.as_str())
            .arg(if typing { "1" } else { "0" })
            .arg(TYPING_LAPSE.as_millis() as u64);
        let status: String = self.run(&invocation).await?;
        match status.as_str() {
            "ok" => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn typing(&self, chat: &ChatId) -> StoreResult<Typing> {
        let mut invocation = self.scripts.typing.prepare_invoke();
        invocation.key(self.keys.typing(chat));
        let (now, typists): (Millis, Vec<(String, Millis)>) = self.run(&invocation).await?;
        Ok(Typing {
            holds_for: typists
                .iter()
                .map(|(_, until)| until)
                .min()
                .map(|until| remaining(*until, now)),
            users: typists
                .into_iter()
                .map(|(user, _)| UserId::from_stored(user))
                .collect(),
        })
    }

    async fn hold_presence(
        &self,
        holder: &str,
        users: &[UserId],
        ttl: Duration,
    ) -> StoreResult<()> {
        // One script per user (each user's keys may live on another node
        // later); the multiplexed connection pipelines them.
        try_join_all(users.iter().map(|user| {
            let mut invocation = self.scripts.hold_presence.prepare_invoke();
            invocation
                .key(self.keys.presence(user))
                .arg(holder)
                .arg(ttl.as_millis() as u64);
            async move { self.run::<String>(&invocation).await }
        }))
        .await?;
        Ok(())
    }

    async fn release_presence(&self, holder: &str, users: &[UserId]) -> StoreResult<()> {
        try_join_all(users.iter().map(|user| {
            let mut invocation = self.scripts.release_presence.prepare_invoke();
            invocation.key(self.keys.presence(user)).arg(holder);
            async move { self.run::<String>(&invocation).await }
        }))
        .await?;
        Ok(())
    }

    async fn presence(&self, user: &UserId) -> StoreResult<Presence> {
        let mut invocation = self.scripts.presence.prepare_invoke();
        invocation.key(self.keys.presence(user));
        let (now, until, seen): (Millis, Millis, Millis) = self.run(&invocation).await?;
        Ok(if until > 0 {
            Presence {
                online: true,
                last_seen: None,
                holds_for: Some(remaining(until, now)),
            }
        } else {
            Presence {
                online: false,
                last_seen: (seen > 0).then_some(seen),
                holds_for: None,
            }
        })
    }

    /// One `SINTERCARD … LIMIT 1` per partition (the two users' indexes of
    /// one partition share its slot), all at once.
    async fn share_a_chat(&self, a: &UserId, b: &UserId) -> StoreResult<bool> {
        let shared = try_join_all(self.partitions.all().map(|partition| {
            let mut intersect = redis::cmd("SINTERCARD");
            intersect
                .arg(2)
                .arg(self.keys.user_chats(a, partition))
                .arg(self.keys.user_chats(b, partition))
                .arg("LIMIT")
                .arg(1);
            let mut conn = self.conn();
            async move {
                intersect
                    .query_async::<u64>(&mut conn)
                    .await
                    .map_err(backend)
            }
        }))
        .await?;
        Ok(shared.iter().any(|n| *n > 0))
    }

    /// A subscribed connection of its own (it can do nothing else), opened
    /// on the store's I/O thread.
    async fn listen(&self) -> StoreResult<(Box<dyn SignalControl>, Box<dyn SignalNotices>)> {
        let deployment = self.deployment.clone();
        let (sink, stream) = self
            .io
            .spawn(async move { deployment.pubsub().await.map(|p| p.split()) })
            .await
            .map_err(StoreError::backend)?
            .map_err(backend)?;
        Ok((
            Box::new(RedisControl {
                sink,
                keys: self.keys.clone(),
            }),
            Box::new(RedisNotices {
                stream,
                keys: self.keys.clone(),
            }),
        ))
    }
}

/// How long a deadline is ahead of `now` (both on Redis's clock).
fn remaining(until: Millis, now: Millis) -> Duration {
    Duration::from_millis(until.saturating_sub(now))
}

struct RedisControl {
    sink: PubSubSink,
    keys: Keys,
}

#[async_trait]
impl SignalControl for RedisControl {
    async fn add(&mut self, signal: &Signal) -> StoreResult<()> {
        self.sink
            .subscribe(self.keys.channel(signal))
            .await
            .map_err(backend)
    }

    async fn remove(&mut self, signal: &Signal) -> StoreResult<()> {
        self.sink
            .unsubscribe(self.keys.channel(signal))
            .await
            .map_err(backend)
    }
}

struct RedisNotices {
    stream: PubSubStream,
    keys: Keys,
}

#[async_trait]
impl SignalNotices for RedisNotices {
    async fn next(&mut self) -> StoreResult<Signal> {
        loop {
            let message = self
                .stream
                .next()
                .await
                .ok_or_else(|| StoreError::backend("the signals connection closed"))?;
            match self.keys.signal(message.get_channel_name()) {
                Some(signal) => return Ok(signal),
                None => tracing::warn!(
                    channel = message.get_channel_name(),
                    "a notice on a channel this server does not use"
                ),
            }
        }
    }
}
