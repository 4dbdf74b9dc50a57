//! Who may see whose presence: users who share a chat with its subject,
//! and the subject itself. To anyone else a user looks offline and never
//! seen, the same answer as for a user who never connected, so asking
//! reveals nothing.

use crate::domain::UserId;
use crate::store::{Store, StoreResult};

use super::rooms::Seen;

/// Whether `viewer` may see `subject`'s presence now.
pub async fn may_see(store: &dyn Store, viewer: &UserId, subject: &UserId) -> StoreResult<bool> {
    Ok(viewer == subject || store.share_a_chat(viewer, subject).await?)
}

/// `subject`'s presence as `viewer` may see it now.
pub async fn presence_seen_by(
    store: &dyn Store,
    viewer: &UserId,
    subject: &UserId,
) -> StoreResult<Seen> {
    if !may_see(store, viewer, subject).await? {
        return Ok(Seen::default());
    }
    let presence = store.presence(subject).await?;
    Ok(Seen {
        online: presence.online,
        last_seen: presence.last_seen,
    })
}
