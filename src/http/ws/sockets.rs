//! The acknowledged sockets of this process, counted per user, so one
//! account cannot hold an unbounded share of the server's connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::UserId;

/// Open, acknowledged sockets by user, with the most one user may hold.
#[derive(Debug)]
pub struct UserSockets {
    limit: usize,
    open: Mutex<HashMap<UserId, usize>>,
}

/// A socket's place in the count; giving it back happens on drop, however
/// the connection ends.
#[derive(Debug)]
pub struct Admitted {
    registry: Arc<UserSockets>,
    user: UserId,
}

impl UserSockets {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts one more socket for `user`, or `None` when they already hold
    /// the limit.
    pub fn admit(self: &Arc<Self>, user: &UserId) -> Option<Admitted> {
        let mut open = self.lock();
        let count = open.entry(user.clone()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Admitted {
            registry: self.clone(),
            user: user.clone(),
        })
    }

    /// The most sockets one user may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Every acknowledged socket of this process.
    pub fn total(&self) -> usize {
        self.lock().values().sum()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, usize>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_limit_and_drops_give_back() {
        let sockets = UserSockets::new(2);
        let (alice, bob) = (UserId::generate(), UserId::generate());
        let first = sockets.admit(&alice).unwrap();
        let _second = sockets.admit(&alice).unwrap();
        assert!(sockets.admit(&alice).is_none());
        let _bobs = sockets.admit(&bob).unwrap();
        assert_eq!(sockets.total(), 3);
        drop(first);
        let _third = sockets.admit(&alice).expect("a seat given back");
        assert_eq!(sockets.total(), 3);
    }
}
