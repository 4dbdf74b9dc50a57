//! Password hashing with argon2id.
//!
//! Hashing is deliberately slow (tens of milliseconds) and memory-hard
//! (argon2's default 19 MiB per hash), so it runs on the blocking thread
//! pool — on the async runtime a burst of sign-ins would stall every other
//! request on the same worker — and at most one hash per core but one runs at once:
//! a burst of 200 sign-ins then queues instead of starting 200 threads that
//! would hold 4 GiB between them and starve the runtime of CPU.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::Password;

/// Hashing failed, which only happens when the runtime or the OS random
/// source fails; callers report it as an internal error.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The hashes that may run at once: one per core but one, so a core is
/// always left for the runtime that serves everything else.
fn hashing() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Runs `work` on the blocking pool once a hashing permit is free.
async fn run_hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = hashing().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Hashes a password to a PHC string (`$argon2id$v=19$...`) with a fresh salt.
pub async fn hash_password(password: &Password) -> Result<String, HashError> {
    let password = password.clone();
    run_hashing(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .ok_or_else(|| HashError("the hashing task failed".to_owned()))?
}

/// Checks a password against a stored hash. With `None` (no such user) it
/// verifies against a fixed dummy hash and answers `false`, so that sign-in
/// takes as long for an unknown username as for a wrong password and its
/// timing does not reveal which usernames exist.
pub async fn verify_password(password: &str, stored: Option<String>) -> bool {
    let password = password.to_owned();
    run_hashing(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, made once per process with the same
/// parameters as real hashes.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Argon2::default()
            .hash_password(random.as_bytes())
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let password = Password::parse("correct horse").unwrap();
        let hash = hash_password(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(hash.clone())).await);
        assert!(!verify_password("wrong horse!", Some(hash)).await);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify_password("anything at all", None).await);
    }
}
