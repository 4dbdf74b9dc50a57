//! Identifiers of users and chats.
//!
//! Ids are opaque to clients. They are generated here as 32 lowercase hex
//! digits (a random UUID), which makes them fixed-width: comparing two ids as
//! strings orders them the same way everywhere, which the `chats` tie-break
//! relies on. Ids arriving from clients are only checked for shape; an id of
//! the right shape that names nothing is NOT_FOUND, one of the wrong shape
//! cannot name anything and is treated the same way.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string())
            }

            /// Accepts a client-supplied id when it has the shape of one we
            /// generate; `None` means it cannot name anything.
            pub fn parse(raw: &str) -> Option<Self> {
                let ok = raw.len() == 32
                    && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                ok.then(|| Self(raw.to_owned()))
            }

            /// Wraps an id read back from storage, which we wrote ourselves.
            pub fn from_stored(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The id of an account.
    UserId
);
id_type!(
    /// The id of a chat.
    ChatId
);
id_type!(
    /// The id of a session: one sign-in (or sign-up) and the refreshes
    /// that follow it.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for raw in ["", "abc", &"g".repeat(32), &"A".repeat(32), &"0".repeat(33)] {
            assert_eq!(ChatId::parse(raw), None, "{raw:?}");
        }
    }
}
