//! Which limits apply to which operation, and the keys they count under.
//!
//! - Writes (`sendMessage`, `createChat`, `addMember`) count per user.
//! - Sign-in attempts count per account name (any attempt; a success
//!   clears the name's count, so in effect it counts failures) and per
//!   client address (every attempt, so one address cannot cycle through
//!   names). Both are checked before the password is, so a locked-out
//!   guesser learns nothing, and both key on the name as typed, so the
//!   answer is the same whether or not the account exists.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::UserId;

use super::backend::{Throttle, ThrottleError};
use super::rate::Rate;
use super::verdict::{Mode, Verdict};

/// A write limited per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SendMessage,
    CreateChat,
    AddMember,
    /// `editMessage` and `deleteMessage`.
    ChangeMessage,
    /// `addReaction` and `removeReaction`.
    React,
    MarkRead,
    /// `refreshSession`, counted per session (its user is known only
    /// once the token is looked up).
    RefreshSession,
    ChangePassword,
    SetTyping,
    /// `presence` subscriptions started.
    Presence,
}

impl Action {
    fn key(self) -> &'static str {
        match self {
            Action::SendMessage => "send_message",
            Action::CreateChat => "create_chat",
            Action::AddMember => "add_member",
            Action::ChangeMessage => "change_message",
            Action::React => "react",
            Action::MarkRead => "mark_read",
            Action::RefreshSession => "refresh_session",
            Action::ChangePassword => "change_password",
            Action::SetTyping => "set_typing",
            Action::Presence => "presence",
        }
    }
}

/// The configured rates.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub send_message: Rate,
    pub create_chat: Rate,
    pub add_member: Rate,
    pub change_message: Rate,
    pub react: Rate,
    pub mark_read: Rate,
    pub refresh_session: Rate,
    pub change_password: Rate,
    pub set_typing: Rate,
    pub presence: Rate,
    /// Credential checks (sign-in, refresh, password change) per client
    /// address, each kind counted apart.
    pub credentials_per_address: Rate,
    pub sign_in_per_account: Rate,
    pub sign_in_per_address: Rate,
}

impl Rates {
    fn of(&self, action: Action) -> Rate {
        match action {
            Action::SendMessage => self.send_message,
            Action::CreateChat => self.create_chat,
            Action::AddMember => self.add_member,
            Action::ChangeMessage => self.change_message,
            Action::React => self.react,
            Action::MarkRead => self.mark_read,
            Action::RefreshSession => self.refresh_session,
            Action::ChangePassword => self.change_password,
            Action::SetTyping => self.set_typing,
            Action::Presence => self.presence,
        }
    }
}

/// Why an operation may not go ahead.
#[derive(Debug)]
pub enum Refusal {
    /// Over a limit; retry after this long.
    Limited(Duration),
    /// The limiter's state cannot be read, so the operation is refused
    /// rather than let through unchecked.
    Unavailable(ThrottleError),
}

impl From<ThrottleError> for Refusal {
    fn from(error: ThrottleError) -> Self {
        Refusal::Unavailable(error)
    }
}

fn verdict(verdict: Verdict) -> Result<(), Refusal> {
    match verdict {
        Verdict::Allowed => Ok(()),
        Verdict::Limited(wait) => Err(Refusal::Limited(wait)),
    }
}

/// The limits applied by the resolvers.
#[derive(Clone)]
pub struct Policy {
    throttle: Arc<dyn Throttle>,
    rates: Rates,
}

impl Policy {
    pub fn new(throttle: Arc<dyn Throttle>, rates: Rates) -> Self {
        Self { throttle, rates }
    }

    /// Counts one `action` by `user`.
    pub async fn write(&self, action: Action, user: &UserId) -> Result<(), Refusal> {
        self.count(action, user.as_str()).await
    }

    /// Counts one `action` by whoever `who` (a user or session id) names.
    pub async fn count(&self, action: Action, who: &str) -> Result<(), Refusal> {
        let key = format!("{}:{who}", action.key());
        let rate = self.rates.of(action);
        verdict(self.throttle.check(&key, rate, Mode::Count).await?)
    }

    /// Counts one `action` from `address` (nothing when the transport
    /// cannot tell), against the per-address rate of credential checks.
    pub async fn from_address(
        &self,
        action: Action,
        address: Option<IpAddr>,
    ) -> Result<(), Refusal> {
        let Some(address) = address else {
            return Ok(());
        };
        let key = format!("{}_address:{address}", action.key());
        let rate = self.rates.credentials_per_address;
        verdict(self.throttle.check(&key, rate, Mode::Count).await?)
    }

    /// Counts one sign-in attempt for `username` from `address` (unknown
    /// when the transport cannot tell).
    pub async fn sign_in_attempt(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Refusal> {
        let account = account_key(username);
        let rate = self.rates.sign_in_per_account;
        verdict(self.throttle.check(&account, rate, Mode::Count).await?)?;
        if let Some(address) = address {
            let key = format!("sign_in_address:{address}");
            let rate = self.rates.sign_in_per_address;
            verdict(self.throttle.check(&key, rate, Mode::Count).await?)?;
        }
        Ok(())
    }

    /// Clears `username`'s attempts after a successful sign-in.
    pub async fn sign_in_succeeded(&self, username: &str) -> Result<(), Refusal> {
        Ok(self.throttle.reset(&account_key(username)).await?)
    }
}

/// The per-account key: the name as typed, lowercased (names are unique
/// ignoring case) and bounded, whether or not such an account exists.
fn account_key(username: &str) -> String {
    let name: String = username.chars().take(64).collect();
    format!("sign_in_account:{}", name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::super::memory::MemoryThrottle;
    use super::*;

    fn policy(rates: Rates) -> Policy {
        Policy::new(Arc::new(MemoryThrottle::new()), rates)
    }

    fn rates() -> Rates {
        let one_per_minute = Rate::per(1, Duration::from_secs(60));
        Rates {
            send_message: one_per_minute,
            create_chat: Rate::OFF,
            add_member: one_per_minute,
            change_message: one_per_minute,
            react: one_per_minute,
            mark_read: one_per_minute,
            refresh_session: one_per_minute,
            change_password: one_per_minute,
            set_typing: one_per_minute,
            presence: one_per_minute,
            credentials_per_address: one_per_minute,
            sign_in_per_account: one_per_minute,
            sign_in_per_address: Rate::per(2, Duration::from_secs(60)),
        }
    }

    #[tokio::test]
    async fn each_action_and_user_has_its_own_allowance() {
        let policy = policy(rates());
        let (alice, bob) = (UserId::generate(), UserId::generate());
        assert!(policy.write(Action::SendMessage, &alice).await.is_ok());
        assert!(matches!(
            policy.write(Action::SendMessage, &alice).await,
            Err(Refusal::Limited(_))
        ));
        assert!(policy.write(Action::SendMessage, &bob).await.is_ok());
        assert!(policy.write(Action::AddMember, &alice).await.is_ok());
        for _ in 0..10 {
            assert!(policy.write(Action::CreateChat, &alice).await.is_ok());
        }
    }

    #[tokio::test]
    async fn sign_in_counts_names_ignoring_case_and_success_clears_them() {
        let policy = policy(rates());
        assert!(policy.sign_in_attempt("Alice", None).await.is_ok());
        assert!(policy.sign_in_attempt("alice", None).await.is_err());
        policy.sign_in_succeeded("ALICE").await.unwrap();
        assert!(policy.sign_in_attempt("alice", None).await.is_ok());
    }

    #[tokio::test]
    async fn one_address_cannot_cycle_through_names() {
        let policy = policy(rates());
        let address = Some("10.0.0.7".parse().unwrap());
        assert!(policy.sign_in_attempt("a1", address).await.is_ok());
        assert!(policy.sign_in_attempt("a2", address).await.is_ok());
        assert!(policy.sign_in_attempt("a3", address).await.is_err());
        let other = Some("10.0.0.8".parse().unwrap());
        assert!(policy.sign_in_attempt("a4", other).await.is_ok());
    }
}
