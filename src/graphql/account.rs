//! Accounts: the `User` type, `me` and `user`. (Signing up and in start
//! sessions: see `session`.)

use async_graphql::{Context, ID, Object};

use crate::domain::{UserId, Username};
use crate::store::User;

use crate::signals::rooms::Seen;
use crate::signals::visibility::presence_seen_by;

use super::context::{store, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// A user as any other user sees them.
pub struct UserNode(pub User);

// Its id, name and creation time never change, so an answer made of them
// may be kept for a minute (over GET; see `http::cache_policy`).
// async-graphql reads a missing hint as no opinion, not as "do not cache":
// a field that changes must say `no_cache`, which wins over this hint, and
// so must the roots of live data (`chat`, `chats`).
#[Object(name = "User", cache_control(max_age = 60))]
impl UserNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn username(&self) -> &str {
        &self.0.username
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// True while the user holds a live connection, and the viewer shares a chat with them (or is them).
    #[graphql(cache_control(no_cache))]
    async fn online(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(self.presence(ctx).await?.online)
    }

    /// When the user's last connection closed; null while online, or when the viewer shares no chat with them.
    #[graphql(cache_control(no_cache))]
    async fn last_seen_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime>> {
        Ok(self.presence(ctx).await?.last_seen.map(DateTime))
    }
}

impl UserNode {
    async fn presence(&self, ctx: &Context<'_>) -> ApiResult<Seen> {
        Ok(presence_seen_by(store(ctx)?.as_ref(), &viewer(ctx)?, &self.0.id).await?)
    }
}

/// Loads a user that the data says must exist (a chat's creator, a member,
/// a sender); its absence is an inconsistency, hence INTERNAL.
pub async fn load_user(ctx: &Context<'_>, id: &UserId) -> ApiResult<UserNode> {
    store(ctx)?
        .user(id)
        .await?
        .map(UserNode)
        .ok_or_else(|| ApiError::internal(format!("user {id} is referenced but missing")))
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The authenticated user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
        let id = viewer(ctx)?;
        // A valid token for a user the store does not know (its data was
        // lost) cannot authenticate anyone.
        store(ctx)?
            .user(&id)
            .await?
            .map(UserNode)
            .ok_or(ApiError::Unauthenticated("the token names an unknown user"))
    }

    /// Look a user up by username, to add them to a chat.
    async fn user(&self, ctx: &Context<'_>, username: String) -> ApiResult<Option<UserNode>> {
        viewer(ctx)?;
        let Ok(name) = Username::parse(&username) else {
            return Ok(None);
        };
        Ok(store(ctx)?.user_by_name(&name).await?.map(UserNode))
    }
}
