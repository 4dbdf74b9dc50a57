//! Sessions in Redis: the scripts that start, rotate and end them, and the
//! pub/sub subscription that announces endings to every process.

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::PubSubStream;

use crate::domain::{SessionId, UserId};
use crate::store::{Ended, Millis, RefreshHash, Rotation, SessionNotices, StoreError, StoreResult};

use super::RedisStore;
use super::log::backend;

impl RedisStore {
    pub(super) async fn start(
        &self,
        user: &UserId,
        session: &SessionId,
        refresh: RefreshHash<'_>,
    ) -> StoreResult<()> {
        let mut invocation = self.scripts.start_session.prepare_invoke();
        invocation
            .key(self.keys.session(session))
            .key(self.keys.user_sessions(user))
            .arg(user.as_str())
            .arg(session.as_str())
            .arg(refresh.hash)
            .arg(refresh.expires_at);
        let _: String = self.run(&invocation).await?;
        Ok(())
    }

    pub(super) async fn rotate(
        &self,
        session: &SessionId,
        presented: &str,
        next: RefreshHash<'_>,
        now: Millis,
        tokens_until: Millis,
    ) -> StoreResult<Rotation> {
        let mut invocation = self.scripts.rotate_session.prepare_invoke();
        invocation
            .key(self.keys.session(session))
            .key(self.keys.session_used(session))
            .key(self.keys.ended_sessions())
            .arg(presented)
            .arg(next.hash)
            .arg(next.expires_at)
            .arg(now)
            .arg(tokens_until)
            .arg(session.as_str())
            .arg(self.keys.account_prefix())
            .arg(self.keys.sessions_channel());
        let (status, user): (String, String) = self.run(&invocation).await?;
        match status.as_str() {
            "rotated" => Ok(Rotation::Rotated {
                user: UserId::from_stored(user),
            }),
            "reused" => Ok(Rotation::Reused),
            "refused" => Ok(Rotation::Refused),
            other => Err(StoreError::backend(format!(
                "unexpected rotation status {other:?}"
            ))),
        }
    }

    /// Ends `session` of `user`, or every session of theirs when `None`.
    pub(super) async fn end(
        &self,
        user: &UserId,
        session: Option<&SessionId>,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        let mut invocation = self.scripts.end_sessions.prepare_invoke();
        invocation
            .key(self.keys.user_sessions(user))
            .key(self.keys.ended_sessions())
            .arg(tokens_until)
            .arg(crate::store::now_ms())
            .arg(self.keys.account_prefix())
            .arg(self.keys.sessions_channel())
            .arg(session.map(SessionId::as_str).unwrap_or_default());
        let ended: Vec<(String, f64)> = self.run(&invocation).await?;
        Ok(endings(ended))
    }

    pub(super) async fn set_password(
        &self,
        user: &UserId,
        password_hash: &str,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        let mut invocation = self.scripts.change_password.prepare_invoke();
        invocation
            .key(self.keys.user(user))
            .key(self.keys.user_sessions(user))
            .key(self.keys.ended_sessions())
            .arg(password_hash)
            .arg(tokens_until)
            .arg(crate::store::now_ms())
            .arg(self.keys.account_prefix())
            .arg(self.keys.sessions_channel());
        let (status, ended): (String, Vec<(String, f64)>) = self.run(&invocation).await?;
        match status.as_str() {
            "ok" => Ok(endings(ended)),
            _ => Err(StoreError::NotFound),
        }
    }

    pub(super) async fn ended(&self, now: Millis) -> StoreResult<Vec<Ended>> {
        let entries: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.ended_sessions())
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("WITHSCORES")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(endings(entries))
    }

    pub(super) async fn is_ended(&self, session: &SessionId, now: Millis) -> StoreResult<bool> {
        let until: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.keys.ended_sessions())
            .arg(session.as_str())
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(until.is_some_and(|until| until as Millis > now))
    }

    /// Subscribes to the sessions channel on a connection of its own (a
    /// subscribed connection can do nothing else), on the store's I/O
    /// thread.
    pub(super) async fn notices(&self) -> StoreResult<Box<dyn SessionNotices>> {
        let deployment = self.deployment.clone();
        let channel = self.keys.sessions_channel();
        let stream = self
            .io
            .spawn(async move {
                let mut pubsub = deployment.pubsub().await?;
                pubsub.subscribe(channel).await?;
                Ok::<_, redis::RedisError>(pubsub.into_on_message())
            })
            .await
            .map_err(StoreError::backend)?
            .map_err(backend)?;
        Ok(Box::new(RedisNotices(stream)))
    }
}

/// Endings from (id, until) pairs as Redis gives them (scores are
/// integral milliseconds).
fn endings(entries: Vec<(String, f64)>) -> Vec<Ended> {
    entries
        .into_iter()
        .map(|(session, until)| Ended {
            session: SessionId::from_stored(session),
            until: until as Millis,
        })
        .collect()
}

/// The Redis store's [`SessionNotices`]: one subscribed connection.
struct RedisNotices(PubSubStream);

#[async_trait]
impl SessionNotices for RedisNotices {
    async fn next(&mut self) -> StoreResult<Ended> {
        let message = self
            .0
            .next()
            .await
            .ok_or_else(|| StoreError::backend("the sessions subscription closed"))?;
        let text: String = message.get_payload().map_err(backend)?;
        let (session, until) = text
            .split_once(' ')
            .ok_or_else(|| StoreError::backend(format!("malformed session notice {text:?}")))?;
        let until: f64 = until
            .parse()
            .map_err(|_| StoreError::backend(format!("malformed session notice {text:?}")))?;
        Ok(Ended {
            session: SessionId::from_stored(session),
            until: until as Millis,
        })
    }
}
