//! Read state: the `ReadReceipt` type, `markRead`, and what the `Chat`
//! fields `unreadCount`, `readCursor` and `readReceipts` read.

use async_graphql::{Context, ID, Object};

use crate::cursor::Cursor;
use crate::domain::{ChatId, UserId};
use crate::store::ReadPosition;
use crate::throttle::Action;

use super::account::{UserNode, load_user};
use super::chat::ChatNode;
use super::context::{log_position, policy, store, viewer};
use super::error::{ApiError, ApiResult};
use super::message_id::MessageId;
use super::scalars::DateTime;

/// A member's read position, for "seen by" marks.
pub struct ReadReceipt {
    chat: ChatId,
    user: UserId,
    position: ReadPosition,
    epoch: String,
}

#[Object]
impl ReadReceipt {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
        load_user(ctx, &self.user).await
    }

    /// The cursor of the last message this member read (or sent).
    async fn cursor(&self) -> String {
        Cursor::log(&self.epoch, self.position.message)
    }

    async fn message_id(&self) -> ID {
        MessageId::text(&self.chat, self.position.message)
    }

    async fn at(&self) -> DateTime {
        DateTime(self.position.at)
    }
}

/// The read receipts of every current member of `chat` but `viewer`, in
/// join order; members whose position is not at a message are left out.
pub async fn receipts(
    ctx: &Context<'_>,
    chat: &ChatId,
    viewer: &UserId,
) -> ApiResult<Vec<ReadReceipt>> {
    let store = store(ctx)?;
    let receipts = store.read_receipts(chat).await?;
    let epoch = store.epoch().await?;
    Ok(receipts
        .into_iter()
        .filter(|(user, _)| user != viewer)
        .map(|(user, position)| ReadReceipt {
            chat: chat.clone(),
            user,
            position,
            epoch: epoch.clone(),
        })
        .collect())
}

#[derive(Default)]
pub struct ReadMutation;

#[Object]
impl ReadMutation {
    /// Moves the viewer's read position forward to the message `cursor` names (never backward).
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        chat_id: ID,
        cursor: String,
    ) -> ApiResult<ChatNode> {
        let user = viewer(ctx)?;
        policy(ctx)?.write(Action::MarkRead, &user).await?;
        let position = log_position(ctx, &cursor).await?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        let chat = store(ctx)?.mark_read(&chat, &user, position).await?;
        Ok(ChatNode::new(chat))
    }
}
