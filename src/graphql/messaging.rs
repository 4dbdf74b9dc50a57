//! Writing messages: `sendMessage`, `editMessage` and `deleteMessage`.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::{ChatId, ClientMessageId, MessageBody};
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
        Ok(MessageNode::current(changed.message, store.epoch().await?))
    }

    /// The sender deletes a message, leaving a tombstone in history. FORBIDDEN for anyone else; idempotent.
    async fn delete_message(&self, ctx: &Context<'_>, message_id: ID) -> ApiResult<MessageNode> {
        let by = viewer(ctx)?;
        policy(ctx)?.write(Action::ChangeMessage, &by).await?;
        let target = MessageId::parse(&message_id)?;
        let store = store(ctx)?;
        let changed = store.delete_message(&target.chat, &by, target.id).await?;
        Ok(MessageNode::current(changed.message, store.epoch().await?))
    }
}
