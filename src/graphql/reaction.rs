//! Reactions: the `ReactionGroup` type, `addReaction` and `removeReaction`.

use async_graphql::{Context, ID, Object};
use futures_util::future::try_join_all;

use crate::domain::{Emoji, PageSize};
use crate::store::ReactionGroup;
use crate::throttle::Action;

use super::account::{UserNode, load_user};
use super::context::{policy, store, viewer};
use super::error::ApiResult;
use super::limits::page_cost;
use super::message::MessageNode;
use super::message_id::MessageId;

/// Default of `ReactionGroup.users(first:)`.
const DEFAULT_REACTION_USERS: usize = 10;

/// The reactions to a message with one emoji, as the viewer sees them.
pub struct ReactionGroupNode(pub ReactionGroup);

#[Object(name = "ReactionGroup")]
impl ReactionGroupNode {
    async fn emoji(&self) -> &str {
        &self.0.emoji
    }

    async fn count(&self) -> i32 {
        i32::try_from(self.0.count).unwrap_or(i32::MAX)
    }

    /// Whether the viewer is one of those who reacted with this emoji.
    async fn reacted_by_me(&self) -> bool {
        self.0.includes_viewer
    }

    /// Who reacted with this emoji, earliest first. `first` defaults to 10, 1-100.
    #[graphql(complexity = "page_cost(first, DEFAULT_REACTION_USERS, child_complexity)")]
    async fn users(&self, ctx: &Context<'_>, first: Option<i32>) -> ApiResult<Vec<UserNode>> {
        let size = PageSize::parse("first", first, DEFAULT_REACTION_USERS)?;
        let ids = self.0.users.iter().take(size.get());
        try_join_all(ids.map(|id| load_user(ctx, id))).await
    }
}

/// Which way a reaction call goes.
#[derive(Clone, Copy)]
enum Direction {
    Add,
    Remove,
}

/// Adds or removes the viewer's reaction after checking the input.
async fn react(
    ctx: &Context<'_>,
    message_id: &str,
    emoji: &str,
    direction: Direction,
) -> ApiResult<MessageNode> {
    let user = viewer(ctx)?;
    policy(ctx)?.write(Action::React, &user).await?;
    let emoji = Emoji::parse(emoji)?;
    let target = MessageId::parse(message_id)?;
    let store = store(ctx)?;
    let changed = match direction {
        Direction::Add => {
            store
                .add_reaction(&target.chat, &user, target.id, &emoji)
                .await?
        }
        Direction::Remove => {
            store
                .remove_reaction(&target.chat, &user, target.id, &emoji)
                .await?
        }
    };
    Ok(MessageNode::current(changed.message, store.epoch().await?))
}

#[derive(Default)]
pub struct ReactionMutation;

#[Object]
impl ReactionMutation {
    /// Idempotent per (viewer, message, emoji).
    async fn add_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> ApiResult<MessageNode> {
        react(ctx, &message_id, &emoji, Direction::Add).await
    }

    /// Idempotent; removing a reaction the viewer has not made is a no-op.
    async fn remove_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> ApiResult<MessageNode> {
        react(ctx, &message_id, &emoji, Direction::Remove).await
    }
}
