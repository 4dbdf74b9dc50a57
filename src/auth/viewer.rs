//! Who is making a request.

use crate::domain::UserId;

/// The caller of one request or socket, as established from its token.
/// Resolvers that need a user ask for [`Viewer::user`]; `signUp` and
/// `signIn` ignore the viewer entirely, so a stale token does not block them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No token was presented.
    Anonymous,
    /// A token was presented but refused (forged, expired, malformed, or
    /// of an ended session).
    Invalid,
    /// A genuine token whose session could not be checked (the store did
    /// not answer): neither accepted nor called bad.
    Unchecked,
    /// A verified user.
    User(UserId),
}

impl Viewer {
    /// The verified user, if any.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Viewer::User(id) => Some(id),
            Viewer::Anonymous | Viewer::Invalid | Viewer::Unchecked => None,
        }
    }
}
