//! Accounts: the `User` type, sign-up and sign-in, `me` and `user`.

use async_graphql::{Context, ID, Object};

use crate::auth::{hash_password, verify_password};
use crate::domain::{Password, UserId, Username};
use crate::store::User;

use super::context::{client_address, policy, store, tokens, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// A user as any other user sees them.
pub struct UserNode(pub User);

#[Object(name = "User")]
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

/// A bearer token with the user it authenticates.
pub struct AuthPayload {
    token: String,
    user: User,
}

#[Object]
impl AuthPayload {
    /// A bearer token for the Authorization header or the connection_init payload.
    async fn token(&self) -> &str {
        &self.token
    }

    async fn user(&self) -> UserNode {
        UserNode(self.user.clone())
    }
}

fn payload(ctx: &Context<'_>, user: User) -> ApiResult<AuthPayload> {
    let token = tokens(ctx)?.issue(&user.id).map_err(ApiError::internal)?;
    Ok(AuthPayload { token, user })
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

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Create an account. Usernames are unique (CONFLICT otherwise).
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> ApiResult<AuthPayload> {
        let username = Username::parse(&username)?;
        let password = Password::parse(&password)?;
        let store = store(ctx)?;
        // Refuse a taken name before paying for the hash; the store's atomic
        // insert still decides races between two sign-ups.
        if store.user_by_name(&username).await?.is_some() {
            return Err(ApiError::Conflict("username is taken".to_owned()));
        }
        let hash = hash_password(&password).await.map_err(ApiError::internal)?;
        let user = store.create_user(&username, &hash).await?;
        payload(ctx, user)
    }

    /// Exchange credentials for a token (UNAUTHENTICATED on a wrong pair).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> ApiResult<AuthPayload> {
        const WRONG: ApiError = ApiError::Unauthenticated("wrong username or password");
        let policy = policy(ctx)?;
        policy
            .sign_in_attempt(&username, client_address(ctx))
            .await?;
        let store = store(ctx)?;
        let user = match Username::parse(&username) {
            Ok(name) => store.user_by_name(&name).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(user) => store.password_hash(&user.id).await?,
            None => None,
        };
        // Always verify (against a dummy hash for unknown users) so the
        // answer takes as long whether or not the username exists.
        let matches = verify_password(&password, hash).await;
        match user {
            Some(user) if matches => {
                policy.sign_in_succeeded(&username).await?;
                payload(ctx, user)
            }
            _ => Err(WRONG),
        }
    }
}
