//! The Redis throttle: limits shared by every process on one Redis.
//!
//! One script runs the whole check so concurrent requests on different
//! processes cannot both take the last unit of an allowance, and it reads
//! the clock from Redis (`TIME`) so processes with skewed clocks agree.

use std::sync::Arc;

use crate::store::redis::Connection;
use async_trait::async_trait;
use redis::Script;

use super::backend::{Throttle, ThrottleError};
use super::rate::Rate;
use super::verdict::{Mode, Verdict};

/// A throttle keeping each key's TAT in a string that expires when the
/// allowance is full again.
pub struct RedisThrottle {
    conn: Connection,
    prefix: String,
    script: Script,
    /// Whatever keeps `conn`'s driver running (the store's Redis thread),
    /// held as long as this throttle is.
    _driver: Arc<dyn Send + Sync>,
}

impl RedisThrottle {
    /// Keys are `{prefix}throttle:{key}`.
    pub fn new(conn: Connection, prefix: &str, driver: Arc<dyn Send + Sync>) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}throttle:"),
            script: Script::new(include_str!("throttle.lua")),
            _driver: driver,
        }
    }
}

fn unavailable(error: redis::RedisError) -> ThrottleError {
    ThrottleError(error.to_string())
}

#[async_trait]
impl Throttle for RedisThrottle {
    async fn check(&self, key: &str, rate: Rate, mode: Mode) -> Result<Verdict, ThrottleError> {
        let Some(cell) = rate.cell() else {
            return Ok(Verdict::Allowed);
        };
        let wait_ms: u64 = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(cell.interval_ms)
            .arg(cell.tolerance_ms)
            .arg(u8::from(mode == Mode::Count))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(if wait_ms == 0 {
            Verdict::Allowed
        } else {
            Verdict::Limited(std::time::Duration::from_millis(wait_ms))
        })
    }

    async fn reset(&self, key: &str) -> Result<(), ThrottleError> {
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }
}
