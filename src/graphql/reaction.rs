//! The `ReactionGroup` type. (`addReaction` and `removeReaction` are with
//! the other message mutations.)

use async_graphql::{Context, Object};
use futures_util::future::try_join_all;

use crate::domain::PageSize;
use crate::store::ReactionGroup;

use super::account::{UserNode, load_user};
use super::error::ApiResult;
use super::limits::page_cost;

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
