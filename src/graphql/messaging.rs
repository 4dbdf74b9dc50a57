//! Writing messages: `sendMessage`, `editMessage`, `deleteMessage`,
//! `addReaction` and `removeReaction`.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::{ChatId, ClientMessageId, Emoji, MessageBody};
use crate::store::NewMessage;
use crate::throttle::Action;

use super::context::{policy, store, viewer};
use super::error::{ApiError, ApiResult};
use super::message::MessageNode;
use super::message_id::MessageId;

#[derive(InputObject)]
pub struct SendMessageInput {
    chat_id: ID,
    body: String,
    /// Idempotency key: a retry with the same key in the same chat by the same sender returns the first message and creates nothing.
    client_message_id: Option<String>,
    /// A message of the same chat that this one answers.
    reply_to_id: Option<ID>,
}

#[derive(InputObject)]
pub struct EditMessageInput {
    message_id: ID,
    body: String,
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> ApiResult<MessageNode> {
        let sender = viewer(ctx)?;
        policy(ctx)?.write(Action::SendMessage, &sender).await?;
        let body = MessageBody::parse(&input.body)?;
        let key = input
            .client_message_id
            .as_deref()
            .map(ClientMessageId::parse)
            .transpose()?;
        let chat = ChatId::parse(&input.chat_id).ok_or(ApiError::NotFound)?;
        // A reply names a message of the same chat; any other id names
        // nothing this message may answer.
        let reply_to = match input.reply_to_id {
            Some(id) => {
                let target = MessageId::parse(&id)?;
                if target.chat != chat {
                    return Err(ApiError::NotFound);
                }
                Some(target.id)
            }
            None => None,
        };
        let new = NewMessage {
            body: &body,
            client_message_id: key.as_ref(),
            reply_to,
        };
        let sent = store(ctx)?.send_message(&chat, &sender, new).await?;
        Ok(MessageNode::current(sent.message, sent.epoch))
    }

    /// The sender changes a message's body. FORBIDDEN for anyone else; CONFLICT once deleted.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        input: EditMessageInput,
    ) -> ApiResult<MessageNode> {
        let editor = viewer(ctx)?;
        policy(ctx)?.write(Action::ChangeMessage, &editor).await?;
        let body = MessageBody::parse(&input.body)?;
        let target = MessageId::parse(&input.message_id)?;
        let store = store(ctx)?;
        let changed = store
            .edit_message(&target.chat, &editor, target.id, &body)
            .await?;
        Ok(MessageNode::current(changed.message, changed.epoch))
    }

    /// The sender deletes a message, leaving a tombstone in history. FORBIDDEN for anyone else; idempotent.
    async fn delete_message(&self, ctx: &Context<'_>, message_id: ID) -> ApiResult<MessageNode> {
        let by = viewer(ctx)?;
        policy(ctx)?.write(Action::ChangeMessage, &by).await?;
        let target = MessageId::parse(&message_id)?;
        let store = store(ctx)?;
        let changed = store.delete_message(&target.chat, &by, target.id).await?;
        Ok(MessageNode::current(changed.message, changed.epoch))
    }

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
    Ok(MessageNode::current(changed.message, changed.epoch))
}
