//! Authentication: password hashing and bearer tokens.
//!
//! Both are pure services with no storage of their own: the store keeps the
//! password hashes, and tokens are self-contained JWTs, so any process that
//! shares the secret accepts any other's tokens.

mod password;
mod token;
mod viewer;

pub use password::{hash_password, verify_password};
pub use token::{Grant, TokenError, Tokens};
pub use viewer::Viewer;
