//! Who may see which event: the exactness rule of subscriptions.
//!
//! A viewer receives an event if and only if it was a member of the event's
//! chat at that event's position in the log. [`Visibility`] holds the set of
//! chats the viewer belongs to at one position and moves it along the log
//! one event at a time, deciding for each event whether it is delivered.
//! Because it is driven only by the log, replayed and live events get the
//! same answer.

use std::collections::HashSet;

use crate::domain::{ChatId, UserId};
use crate::store::{Event, EventKind};

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not for this viewer (or outside the chat filter).
    Skip,
    /// Deliver it.
    Deliver,
    /// Deliver it, and then end the subscription: the viewer left the one
    /// chat the subscription was filtered to.
    DeliverAndEnd,
}

/// The viewer's memberships at a position in the log, and the optional
/// one-chat filter of the subscription.
#[derive(Debug, Clone)]
pub struct Visibility {
    viewer: UserId,
    chats: HashSet<ChatId>,
    only: Option<ChatId>,
}

impl Visibility {
    /// `chats` must be the viewer's memberships at the position from which
    /// events will be applied.
    pub fn new(
        viewer: UserId,
        chats: impl IntoIterator<Item = ChatId>,
        only: Option<ChatId>,
    ) -> Self {
        Self {
            viewer,
            chats: chats.into_iter().collect(),
            only,
        }
    }

    /// Whether the viewer is a member of `chat` at the current position.
    pub fn is_member(&self, chat: &ChatId) -> bool {
        self.chats.contains(chat)
    }

    /// Moves past `event`, saying whether the viewer sees it. The viewer sees
    /// its own join (the first event of a chat it was added to) and its own
    /// leave (the last event it gets from that chat).
    pub fn apply(&mut self, event: &Event) -> Verdict {
        let chat = &event.chat_id;
        let mut ends = false;
        match &event.kind {
            EventKind::ChatCreated { members } if members.contains(&self.viewer) => {
                self.chats.insert(chat.clone());
            }
            EventKind::MemberJoined { user, .. } if *user == self.viewer => {
                self.chats.insert(chat.clone());
            }
            EventKind::MemberLeft { user } if *user == self.viewer => {
                if !self.chats.remove(chat) {
                    return Verdict::Skip;
                }
                ends = self.only.as_ref() == Some(chat);
                return self.verdict_for(chat, true, ends);
            }
            _ => {}
        }
        let member = self.chats.contains(chat);
        self.verdict_for(chat, member, ends)
    }

    /// Steps back over `event`: the inverse of [`Self::apply`]'s membership
    /// change. Used to find the memberships at a past position from the
    /// current ones, before replaying from there.
    pub fn unapply(&mut self, event: &Event) {
        let chat = &event.chat_id;
        match &event.kind {
            EventKind::ChatCreated { members } if members.contains(&self.viewer) => {
                self.chats.remove(chat);
            }
            EventKind::MemberJoined { user, .. } if *user == self.viewer => {
                self.chats.remove(chat);
            }
            EventKind::MemberLeft { user } if *user == self.viewer => {
                self.chats.insert(chat.clone());
            }
            _ => {}
        }
    }

    /// Whether `event` can change this viewer's memberships (the only events
    /// [`Self::unapply`] needs).
    pub fn concerns_membership(&self, event: &Event) -> bool {
        let (joined, left) = event.kind.membership();
        joined.contains(&self.viewer) || left == Some(&self.viewer)
    }

    fn verdict_for(&self, chat: &ChatId, member: bool, ends: bool) -> Verdict {
        let in_filter = self.only.as_ref().is_none_or(|only| only == chat);
        match (member && in_filter, ends) {
            (false, _) => Verdict::Skip,
            (true, false) => Verdict::Deliver,
            (true, true) => Verdict::DeliverAndEnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LogId, Message, Partition};

    fn event(seq: u64, chat: &ChatId, kind: EventKind) -> Event {
        Event {
            partition: Partition::default(),
            id: LogId { ms: 1, seq },
            chat_id: chat.clone(),
            kind,
        }
    }

    fn message(seq: u64, chat: &ChatId, sender: &UserId) -> Event {
        let id = LogId { ms: 1, seq };
        event(
            seq,
            chat,
            EventKind::MessageCreated(Message {
                id,
                chat_id: chat.clone(),
                sender: sender.clone(),
                body: "hi".into(),
                client_message_id: None,
                reply_to: None,
                edited_at: None,
                deleted_at: None,
            }),
        )
    }

    #[test]
    fn follows_membership_through_the_log() {
        let (me, other) = (UserId::generate(), UserId::generate());
        let chat = ChatId::generate();
        let mut v = Visibility::new(me.clone(), [], None);

        assert_eq!(v.apply(&message(1, &chat, &other)), Verdict::Skip);
        let joined = EventKind::MemberJoined {
            user: me.clone(),
            added_by: other.clone(),
        };
        assert_eq!(v.apply(&event(2, &chat, joined)), Verdict::Deliver);
        assert_eq!(v.apply(&message(3, &chat, &other)), Verdict::Deliver);
        let left = EventKind::MemberLeft { user: me.clone() };
        assert_eq!(v.apply(&event(4, &chat, left)), Verdict::Deliver);
        assert_eq!(v.apply(&message(5, &chat, &other)), Verdict::Skip);
    }

    #[test]
    fn others_joining_and_leaving_are_seen_only_by_members() {
        let (me, other) = (UserId::generate(), UserId::generate());
        let (mine, theirs) = (ChatId::generate(), ChatId::generate());
        let mut v = Visibility::new(me, [mine.clone()], None);
        let left = EventKind::MemberLeft {
            user: other.clone(),
        };
        assert_eq!(v.apply(&event(1, &mine, left.clone())), Verdict::Deliver);
        assert_eq!(v.apply(&event(2, &theirs, left)), Verdict::Skip);
    }

    #[test]
    fn a_created_chat_shows_to_its_initial_members() {
        let (me, other) = (UserId::generate(), UserId::generate());
        let chat = ChatId::generate();
        let created = EventKind::ChatCreated {
            members: vec![other.clone(), me.clone()],
        };
        let mut v = Visibility::new(me.clone(), [], None);
        assert_eq!(v.apply(&event(1, &chat, created.clone())), Verdict::Deliver);
        let mut stranger = Visibility::new(UserId::generate(), [], None);
        assert_eq!(stranger.apply(&event(1, &chat, created)), Verdict::Skip);
    }

    #[test]
    fn a_filtered_subscription_ends_with_the_viewers_leave() {
        let me = UserId::generate();
        let (chat, elsewhere) = (ChatId::generate(), ChatId::generate());
        let mut v = Visibility::new(
            me.clone(),
            [chat.clone(), elsewhere.clone()],
            Some(chat.clone()),
        );
        assert_eq!(v.apply(&message(1, &elsewhere, &me)), Verdict::Skip);
        assert_eq!(v.apply(&message(2, &chat, &me)), Verdict::Deliver);
        let left_elsewhere = EventKind::MemberLeft { user: me.clone() };
        assert_eq!(
            v.apply(&event(3, &elsewhere, left_elsewhere)),
            Verdict::Skip
        );
        let left = EventKind::MemberLeft { user: me.clone() };
        assert_eq!(v.apply(&event(4, &chat, left)), Verdict::DeliverAndEnd);
    }

    #[test]
    fn unapply_inverts_apply() {
        let (me, other) = (UserId::generate(), UserId::generate());
        let (a, b) = (ChatId::generate(), ChatId::generate());
        let events = [
            event(
                1,
                &a,
                EventKind::ChatCreated {
                    members: vec![other.clone(), me.clone()],
                },
            ),
            event(
                2,
                &b,
                EventKind::MemberJoined {
                    user: me.clone(),
                    added_by: other.clone(),
                },
            ),
            event(3, &a, EventKind::MemberLeft { user: me.clone() }),
        ];
        let mut v = Visibility::new(me.clone(), [], None);
        for e in &events {
            v.apply(e);
        }
        assert!(v.is_member(&b) && !v.is_member(&a));
        for e in events.iter().rev() {
            assert!(v.concerns_membership(e));
            v.unapply(e);
        }
        assert!(!v.is_member(&a) && !v.is_member(&b));
    }
}
