//! Read receipts: the `ReadReceipt` type and what `Chat.readReceipts`
//! reads. (A member's own read state is `Chat.unreadCount` and
//! `readCursor`; `markRead` is with the other chat mutations.)

use async_graphql::{Context, ID, Object};

use crate::cursor::Cursor;
use crate::domain::{ChatId, UserId};
use crate::store::ReadPosition;

use super::account::{UserNode, load_user};
use super::context::store;
use super::error::ApiResult;
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
    async fn cursor(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let partition = store(ctx)?.partition_of(&self.chat);
        Ok(Cursor::log(&self.epoch, partition, self.position.message))
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
    let epoch = store.epoch_of(chat).await?;
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
