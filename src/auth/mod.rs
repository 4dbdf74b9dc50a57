//! Authentication: password hashing, access tokens and refresh tokens.
//!
//! These are pure services with no storage of their own: the store keeps
//! password hashes and sessions, and access tokens are self-contained JWTs,
//! so any process that shares the secret accepts any other's tokens. (Which
//! sessions have ended is `sessions`' business.)

mod password;
mod refresh_token;
mod token;
mod viewer;

pub use password::{hash_password, verify_password};
pub use refresh_token::{BadRefreshToken, RefreshToken};
pub use token::{Grant, Issued, TokenError, Tokens};
pub use viewer::Viewer;
