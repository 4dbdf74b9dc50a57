//! The in-memory throttle: one process's limits, for the memory backend.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;

use super::backend::{Throttle, ThrottleError};
use super::gcra::decide;
use super::rate::Rate;
use super::verdict::{Mode, Verdict};

/// Past this many keys, a check first drops the keys whose allowance is
/// full again (their TAT has passed), so idle keys do not pile up.
const PRUNE_ABOVE: usize = 10_000;

/// TATs by key, on a monotonic clock that starts with the throttle.
pub struct MemoryThrottle {
    started: Instant,
    cells: Mutex<HashMap<String, u64>>,
}

impl MemoryThrottle {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            cells: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn check(&self, key: &str, rate: Rate, mode: Mode) -> Result<Verdict, ThrottleError> {
        let Some(cell) = rate.cell() else {
            return Ok(Verdict::Allowed);
        };
        let now = self.now_ms();
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        if cells.len() > PRUNE_ABOVE {
            cells.retain(|_, tat| *tat > now);
        }
        let (verdict, next) = decide(cell, cells.get(key).copied(), now, mode);
        if let Some(tat) = next {
            cells.insert(key.to_owned(), tat);
        }
        Ok(verdict)
    }

    async fn reset(&self, key: &str) -> Result<(), ThrottleError> {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }
}
