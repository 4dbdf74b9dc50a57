//! The memory store's sessions: the same rules the Redis scripts apply,
//! as plain data under the store's lock.

use std::collections::{HashMap, HashSet};

use tokio::sync::broadcast;

use crate::domain::{SessionId, UserId};

use super::{Ended, Millis, RefreshHash, Rotation};

/// Notices kept for watchers that fall behind before they must re-read.
const NOTICE_BUFFER: usize = 1024;

struct Session {
    user: UserId,
    refresh: String,
    expires_at: Millis,
    /// Refresh hashes this session has used up: presenting one again ends it.
    used: HashSet<String>,
}

/// Every session, the ended ones until their tokens lapse, and the channel
/// that announces endings.
pub struct SessionBook {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
    ended: HashMap<SessionId, Millis>,
    notices: broadcast::Sender<Ended>,
}

impl Default for SessionBook {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            by_user: HashMap::new(),
            ended: HashMap::new(),
            notices: broadcast::Sender::new(NOTICE_BUFFER),
        }
    }
}

impl SessionBook {
    pub fn start(&mut self, user: &UserId, session: &SessionId, refresh: RefreshHash<'_>) {
        self.sessions.insert(
            session.clone(),
            Session {
                user: user.clone(),
                refresh: refresh.hash.to_owned(),
                expires_at: refresh.expires_at,
                used: HashSet::new(),
            },
        );
        self.by_user
            .entry(user.clone())
            .or_default()
            .insert(session.clone());
    }

    pub fn rotate(
        &mut self,
        id: &SessionId,
        presented: &str,
        next: RefreshHash<'_>,
        now: Millis,
        tokens_until: Millis,
    ) -> Rotation {
        let Some(session) = self.sessions.get_mut(id) else {
            return Rotation::Refused;
        };
        if session.expires_at <= now {
            self.forget(id);
            return Rotation::Refused;
        }
        if session.refresh == presented {
            let used = std::mem::replace(&mut session.refresh, next.hash.to_owned());
            session.used.insert(used);
            session.expires_at = next.expires_at;
            return Rotation::Rotated {
                user: session.user.clone(),
            };
        }
        if session.used.contains(presented) {
            self.end(id, tokens_until, now);
            return Rotation::Reused;
        }
        Rotation::Refused
    }

    /// Ends `id` when it is `user`'s.
    pub fn end_one(
        &mut self,
        user: &UserId,
        id: &SessionId,
        tokens_until: Millis,
        now: Millis,
    ) -> Vec<Ended> {
        if self.sessions.get(id).is_some_and(|s| s.user == *user) {
            vec![self.end(id, tokens_until, now)]
        } else {
            Vec::new()
        }
    }

    pub fn end_all(&mut self, user: &UserId, tokens_until: Millis, now: Millis) -> Vec<Ended> {
        let ids: Vec<SessionId> = self
            .by_user
            .get(user)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        ids.iter()
            .map(|id| self.end(id, tokens_until, now))
            .collect()
    }

    pub fn ended(&mut self, now: Millis) -> Vec<Ended> {
        self.ended.retain(|_, until| *until > now);
        self.ended
            .iter()
            .map(|(session, until)| Ended {
                session: session.clone(),
                until: *until,
            })
            .collect()
    }

    pub fn is_ended(&self, id: &SessionId, now: Millis) -> bool {
        self.ended.get(id).is_some_and(|until| *until > now)
    }

    pub fn notices(&self) -> broadcast::Receiver<Ended> {
        self.notices.subscribe()
    }

    fn end(&mut self, id: &SessionId, tokens_until: Millis, now: Millis) -> Ended {
        self.forget(id);
        self.ended.retain(|_, until| *until > now);
        let until = self.ended.entry(id.clone()).or_insert(tokens_until);
        *until = (*until).max(tokens_until);
        let ended = Ended {
            session: id.clone(),
            until: *until,
        };
        let _ = self.notices.send(ended.clone());
        ended
    }

    fn forget(&mut self, id: &SessionId) {
        if let Some(session) = self.sessions.remove(id)
            && let Some(ids) = self.by_user.get_mut(&session.user)
        {
            ids.remove(id);
        }
    }
}
