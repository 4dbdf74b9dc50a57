//! Presence: `User.online` / `User.lastSeenAt` and the `presence(userIds)`
//! subscription.
//!
//! Shown only to users who share a chat with its subject (or are it): to
//! anyone else every user looks offline and never seen, and the
//! subscription sends them no change at all, so not even the timing of
//! updates says anything. Visibility is checked at each change, as it is
//! then.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures_util::future::try_join_all;
use futures_util::stream::{self, BoxStream, SelectAll, StreamExt};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

use crate::domain::UserId;
use crate::signals::rooms::{Room, Seen};
use crate::signals::visibility::{may_see, presence_seen_by};
use crate::store::User;
use crate::throttle::Action;

use super::account::UserNode;
use super::context::{metrics, policy, rooms, store, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// Most users one `presence` subscription may watch.
pub const MAX_PRESENCE_USERS: usize = 500;

/// A user's presence, as the viewer may see it.
#[derive(SimpleObject)]
pub struct PresenceChange {
    user: UserNode,
    online: bool,
    last_seen_at: Option<DateTime>,
}

impl PresenceChange {
    fn new(user: &User, seen: Seen) -> Self {
        Self {
            user: UserNode(user.clone()),
            online: seen.online,
            last_seen_at: seen.last_seen.map(DateTime),
        }
    }
}

#[derive(Default)]
pub struct PresenceSubscription;

#[Subscription]
impl PresenceSubscription {
    /// The current state of each listed user first, then each change. 1-500 ids; not in the log; no cursor.
    async fn presence(
        &self,
        ctx: &Context<'_>,
        user_ids: Vec<ID>,
    ) -> Result<BoxStream<'static, ApiResult<PresenceChange>>, ApiError> {
        let viewer = viewer(ctx)?;
        if user_ids.is_empty() || user_ids.len() > MAX_PRESENCE_USERS {
            return Err(ApiError::BadUserInput(format!(
                "userIds takes 1 to {MAX_PRESENCE_USERS} ids"
            )));
        }
        policy(ctx)?.write(Action::Presence, &viewer).await?;
        let (rooms, metrics) = (rooms(ctx)?, metrics(ctx)?);
        let store = store(ctx)?.clone();
        // Ids naming no user are skipped, repeats watched once.
        let mut wanted = HashSet::new();
        let ids: Vec<UserId> = user_ids
            .iter()
            .filter_map(|id| UserId::parse(id))
            .filter(|id| wanted.insert(id.clone()))
            .collect();
        let users: Vec<User> = try_join_all(ids.iter().map(|id| store.user(id)))
            .await?
            .into_iter()
            .flatten()
            .collect();
        let mut first = Vec::with_capacity(users.len());
        let mut changes = SelectAll::new();
        for user in users {
            let room = rooms.presence(&user.id);
            let mut states = room.states();
            let Some(now) = states
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|state| state.as_deref().copied())
            else {
                return Err(ApiError::internal("a presence room stopped"));
            };
            let user = Arc::new(user);
            first.push(
                presence_seen_by(store.as_ref(), &viewer, &user.id)
                    .await
                    .map(|seen| PresenceChange::new(&user, seen))
                    .map_err(ApiError::from),
            );
            changes.push(flips(user, room, states, now.online));
        }
        let running = metrics.subscription_started();
        let later = changes.filter_map(move |(user, seen)| {
            let store = store.clone();
            let viewer = viewer.clone();
            // The stream holds the gauge's guard for as long as it runs.
            let _running = &running;
            async move {
                // Shown as visibility is now; to anyone else, nothing.
                match may_see(store.as_ref(), &viewer, &user.id).await {
                    Ok(true) => Some(Ok(PresenceChange::new(&user, seen))),
                    Ok(false) => None,
                    Err(error) => Some(Err(ApiError::from(error))),
                }
            }
        });
        Ok(stream::iter(first).chain(later).boxed())
    }
}

/// The states of `user` whose `online` differs from the one before,
/// starting from `online`.
fn flips(
    user: Arc<User>,
    room: Arc<Room<Seen>>,
    states: watch::Receiver<Option<Arc<Seen>>>,
    online: bool,
) -> Flips {
    let changes = WatchStream::from_changes(states);
    stream::unfold(
        (changes, online, room),
        move |(mut changes, mut online, room)| {
            let user = user.clone();
            async move {
                loop {
                    let seen = *changes.next().await?.as_deref()?;
                    if seen.online != online {
                        online = seen.online;
                        return Some(((user, seen), (changes, online, room)));
                    }
                }
            }
        },
    )
    .boxed()
}

/// One watched user's flips, tagged with the user.
type Flips = BoxStream<'static, (Arc<User>, Seen)>;
