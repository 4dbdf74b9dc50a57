//! Typing indicators: `setTyping` and the `typing(chatId)` subscription.
//!
//! Not events of the log (see `signals`): the subscription sends the
//! chat's typing set as it is, then again each time its members change,
//! from this process's room for the chat, at most once and never replayed.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject, Subscription};
use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::watch;

use crate::domain::{ChatId, UserId};
use crate::metrics::SubscriptionGuard;
use crate::realtime::hub::{Hub, Memberships};
use crate::signals::rooms::Room;
use crate::store::{EventKind, LogId};
use crate::throttle::Action;

use super::account::UserNode;
use super::context::{metrics, policy, rooms, store, viewer};
use super::error::{ApiError, ApiResult};

/// Who is typing in a chat.
#[derive(SimpleObject)]
#[graphql(name = "TypingState")]
pub struct TypingState {
    chat_id: ID,
    /// Members typing now, the viewer excluded, in the order they started.
    users: Vec<UserNode>,
}

#[derive(Default)]
pub struct TypingMutation;

#[Object]
impl TypingMutation {
    /// Says the viewer is (or stops) typing in a chat; `true` lapses after a few seconds unless renewed.
    async fn set_typing(&self, ctx: &Context<'_>, chat_id: ID, typing: bool) -> ApiResult<bool> {
        let user = viewer(ctx)?;
        policy(ctx)?.write(Action::SetTyping, &user).await?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        store(ctx)?.set_typing(&chat, &user, typing).await?;
        Ok(true)
    }
}

#[derive(Default)]
pub struct TypingSubscription;

#[Subscription]
impl TypingSubscription {
    /// The chat's typing set: the current set first, then the whole set again at every change. Not in the log; no cursor.
    async fn typing(
        &self,
        ctx: &Context<'_>,
        chat_id: ID,
    ) -> Result<BoxStream<'static, ApiResult<TypingState>>, ApiError> {
        let viewer = viewer(ctx)?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        let hub = ctx
            .data::<Hub>()
            .map_err(|e| ApiError::internal(e.message))?;
        let (rooms, metrics) = (rooms(ctx)?, metrics(ctx)?);
        let store = store(ctx)?.clone();
        // Listening for leaves first, then the snapshot with its log
        // position: a leave after the snapshot reaches the watcher, and
        // one at or before it is already in the snapshot.
        let memberships = hub.memberships(viewer.clone());
        let (chats, heads) = store.membership_snapshot(&viewer).await?;
        let at = heads.get(store.partition_of(&chat));
        if !chats.contains(&chat) {
            return Err(ApiError::NotFound);
        }
        let room = rooms.typing(&chat);
        let watch = Watch {
            states: room.states(),
            _room: room,
            memberships,
            at,
            chat: chat.clone(),
            viewer: viewer.clone(),
            shown: None,
            _running: metrics.subscription_started(),
        };
        let sets = futures_util::stream::unfold(watch, |mut watch| async move {
            let users = watch.next().await?;
            Some((users, watch))
        });
        let chat_id = ID(chat.to_string());
        // Users are loaded per delivery: a set is a handful of people, and
        // an account that vanished meanwhile is simply left out.
        Ok(sets
            .then(move |users| {
                let store = store.clone();
                let chat_id = chat_id.clone();
                async move {
                    let mut nodes = Vec::with_capacity(users.len());
                    for user in &users {
                        if let Some(user) = store.user(user).await? {
                            nodes.push(UserNode(user));
                        }
                    }
                    Ok(TypingState {
                        chat_id,
                        users: nodes,
                    })
                }
            })
            .boxed())
    }
}

/// One `typing` subscription's view of its chat's room.
struct Watch {
    states: watch::Receiver<Option<Arc<Vec<UserId>>>>,
    _room: Arc<Room<Vec<UserId>>>,
    memberships: Memberships,
    /// The position in the chat's partition of the membership snapshot the
    /// subscription started from.
    at: LogId,
    chat: ChatId,
    viewer: UserId,
    /// The set last sent, the viewer left out.
    shown: Option<Vec<UserId>>,
    _running: SubscriptionGuard,
}

impl Watch {
    /// The next set to send; `None` when the viewer left the chat.
    async fn next(&mut self) -> Option<Vec<UserId>> {
        loop {
            if let Some(state) = self.states.borrow_and_update().clone() {
                let users: Vec<UserId> = state
                    .iter()
                    .filter(|u| **u != self.viewer)
                    .cloned()
                    .collect();
                if self.shown.as_ref() != Some(&users) {
                    self.shown = Some(users.clone());
                    return Some(users);
                }
            }
            tokio::select! {
                changed = self.states.changed() => changed.ok()?,
                event = self.memberships.recv() => {
                    let event = event?;
                    let left = matches!(&event.kind, EventKind::MemberLeft { user } if *user == self.viewer);
                    if left && event.chat_id == self.chat && event.id > self.at {
                        return None;
                    }
                }
            }
        }
    }
}
