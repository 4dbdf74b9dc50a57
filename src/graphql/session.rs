//! Sessions: signing up and in, refreshing, signing out, changing the
//! password, and the `AuthPayload` they answer with.
//!
//! A sign-up or sign-in starts a session: a short-lived access token (a JWT
//! naming the session) and a refresh token, which `refreshSession`
//! exchanges, once, for a new pair. Ending a session (sign-out, a reused
//! refresh token, a password change) takes effect in this process before
//! the mutation returns, and reaches every other process through the
//! store's notices (see `sessions`).

use async_graphql::{Context, Object};

use crate::auth::{BadRefreshToken, RefreshToken, hash_password, verify_password};
use crate::domain::{Password, SessionId, UserId, Username};
use crate::store::{Ended, RefreshHash, Rotation, User, now_ms};
use crate::throttle::Action;

use super::account::UserNode;
use super::context::{caller_session, client_address, policy, revocations, store, tokens, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// A new token pair with the user it authenticates.
pub struct AuthPayload {
    token: String,
    expires_at: u64,
    refresh_token: RefreshToken,
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

    /// When `token` expires.
    async fn expires_at(&self) -> DateTime {
        DateTime(self.expires_at)
    }

    /// Exchanges for a new pair with refreshSession; each refresh token works once.
    async fn refresh_token(&self) -> String {
        self.refresh_token.text()
    }
}

/// Starts a session for `user`: stores its first refresh token and issues
/// the pair.
async fn start(ctx: &Context<'_>, user: User) -> ApiResult<AuthPayload> {
    let session = SessionId::generate();
    let refresh = new_refresh_token(&session)?;
    let expires_at = refresh_expiry(ctx)?;
    store(ctx)?
        .start_session(
            &user.id,
            &session,
            RefreshHash {
                hash: &refresh.hash(),
                expires_at,
            },
        )
        .await?;
    pair(ctx, user, session, refresh)
}

/// The access token for `session` with `refresh`.
fn pair(
    ctx: &Context<'_>,
    user: User,
    session: SessionId,
    refresh: RefreshToken,
) -> ApiResult<AuthPayload> {
    let issued = tokens(ctx)?
        .issue(&user.id, &session)
        .map_err(ApiError::internal)?;
    Ok(AuthPayload {
        token: issued.token,
        expires_at: issued.expires_at,
        refresh_token: refresh,
        user,
    })
}

fn new_refresh_token(session: &SessionId) -> ApiResult<RefreshToken> {
    RefreshToken::generate(session).map_err(ApiError::internal)
}

/// When a refresh token issued now expires.
fn refresh_expiry(ctx: &Context<'_>) -> ApiResult<u64> {
    let lifetime = tokens(ctx)?.refresh_lifetime();
    Ok(now_ms() + lifetime.as_millis() as u64)
}

/// Until when an ending's access tokens must be refused: the latest `exp`
/// a token issued by now can have.
fn tokens_until(ctx: &Context<'_>) -> ApiResult<u64> {
    let lifetime = tokens(ctx)?.lifetime();
    Ok(now_ms() + lifetime.as_millis() as u64 + 1000)
}

/// Applies endings in this process at once (see the module docs).
fn ended_here(ctx: &Context<'_>, endings: Vec<Ended>) -> ApiResult<()> {
    let revocations = revocations(ctx)?;
    for ended in endings {
        revocations.ended_here(ended);
    }
    Ok(())
}

/// The user whose password `password` is, checked against the stored hash
/// in the same time whether or not `user` exists.
async fn password_matches(
    ctx: &Context<'_>,
    user: Option<&UserId>,
    password: &str,
) -> ApiResult<bool> {
    let hash = match user {
        Some(user) => store(ctx)?.password_hash(user).await?,
        None => None,
    };
    Ok(verify_password(password, hash).await)
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
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
        start(ctx, user).await
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
        let user = match Username::parse(&username) {
            Ok(name) => store(ctx)?.user_by_name(&name).await?,
            Err(_) => None,
        };
        // Always verify (against a dummy hash for unknown users) so the
        // answer takes as long whether or not the username exists.
        let matches = password_matches(ctx, user.as_ref().map(|u| &u.id), &password).await?;
        match user {
            Some(user) if matches => {
                policy.sign_in_succeeded(&username).await?;
                start(ctx, user).await
            }
            _ => Err(WRONG),
        }
    }

    /// A new token pair for a refresh token (which is used up). Reusing a used one revokes the whole session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        const REFUSED: ApiError =
            ApiError::Unauthenticated("the refresh token is unknown, expired or used up");
        let policy = policy(ctx)?;
        policy
            .from_address(Action::RefreshSession, client_address(ctx))
            .await?;
        let presented = match RefreshToken::parse(&refresh_token) {
            Ok(token) => token,
            Err(BadRefreshToken::TooLong(why)) => return Err(why.into()),
            Err(BadRefreshToken::Malformed) => return Err(REFUSED),
        };
        let session = presented.session.clone();
        policy
            .count(Action::RefreshSession, session.as_str())
            .await?;
        let next = new_refresh_token(&session)?;
        let store = store(ctx)?;
        let rotation = store
            .rotate_session(
                &session,
                &presented.hash(),
                RefreshHash {
                    hash: &next.hash(),
                    expires_at: refresh_expiry(ctx)?,
                },
                now_ms(),
                tokens_until(ctx)?,
            )
            .await?;
        match rotation {
            Rotation::Rotated { user } => {
                let user = store
                    .user(&user)
                    .await?
                    .ok_or(ApiError::Unauthenticated("the session's user is gone"))?;
                pair(ctx, user, session, next)
            }
            Rotation::Reused => {
                tracing::warn!(%session, "a used refresh token came back: session ended");
                let until = tokens_until(ctx)?;
                ended_here(ctx, vec![Ended { session, until }])?;
                Err(REFUSED)
            }
            Rotation::Refused => Err(REFUSED),
        }
    }

    /// Ends the session of the token that calls it, everywhere it is in use.
    async fn sign_out(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let user = viewer(ctx)?;
        // A token minted elsewhere has no session: nothing to end.
        let Some(session) = caller_session(ctx) else {
            return Ok(true);
        };
        let endings = store(ctx)?
            .end_session(&user, session, tokens_until(ctx)?)
            .await?;
        ended_here(ctx, endings)?;
        Ok(true)
    }

    /// Ends every session of the viewer, on every device.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let user = viewer(ctx)?;
        let endings = store(ctx)?.end_sessions(&user, tokens_until(ctx)?).await?;
        ended_here(ctx, endings)?;
        Ok(true)
    }

    /// Checks the current password, sets the new one, ends every other session, and returns a fresh pair.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> ApiResult<AuthPayload> {
        let user = viewer(ctx)?;
        let policy = policy(ctx)?;
        policy
            .from_address(Action::ChangePassword, client_address(ctx))
            .await?;
        policy.write(Action::ChangePassword, &user).await?;
        if !password_matches(ctx, Some(&user), &current_password).await? {
            return Err(ApiError::Unauthenticated("the current password is wrong"));
        }
        let password = Password::parse(&new_password)?;
        let hash = hash_password(&password).await.map_err(ApiError::internal)?;
        let store = store(ctx)?;
        let endings = store
            .change_password(&user, &hash, tokens_until(ctx)?)
            .await?;
        ended_here(ctx, endings)?;
        let user = store
            .user(&user)
            .await?
            .ok_or(ApiError::Unauthenticated("the token names an unknown user"))?;
        start(ctx, user).await
    }
}
