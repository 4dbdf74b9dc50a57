//! The generic cell rate algorithm, as a pure function of the stored
//! "theoretical arrival time" (TAT) and the clock.
//!
//! A rate of `count` per `period` spaces events `interval = period / count`
//! apart and tolerates bursts of `count` by letting the TAT run up to
//! `period - interval` ahead of now. One number per key, no windows, no
//! boundary bursts. The Redis backend runs the same arithmetic in Lua
//! (`scripts/throttle.lua`); the unit tests here pin it down.

use std::time::Duration;

use super::verdict::{Mode, Verdict};

/// A rate in the algorithm's terms, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// Spacing between events at the sustained rate.
    pub interval_ms: u64,
    /// How far ahead of now the TAT may run: the burst allowance.
    pub tolerance_ms: u64,
}

/// Decides one event at `now_ms` for a key whose stored TAT is `tat_ms`
/// (`None`: no history). Returns the verdict and, when the event is
/// counted, the new TAT to store.
pub fn decide(cell: Cell, tat_ms: Option<u64>, now_ms: u64, mode: Mode) -> (Verdict, Option<u64>) {
    let tat = tat_ms.unwrap_or(now_ms).max(now_ms);
    let ahead = tat - now_ms;
    if ahead > cell.tolerance_ms {
        let wait = ahead - cell.tolerance_ms;
        return (Verdict::Limited(Duration::from_millis(wait)), None);
    }
    match mode {
        Mode::Count => (Verdict::Allowed, Some(tat + cell.interval_ms)),
        Mode::Peek => (Verdict::Allowed, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 per 3 s: one per second, bursts of 3.
    const CELL: Cell = Cell {
        interval_ms: 1000,
        tolerance_ms: 2000,
    };

    /// Counts events at the given instants, returning each verdict.
    fn run(instants: &[u64]) -> Vec<Verdict> {
        let mut tat = None;
        instants
            .iter()
            .map(|&now| {
                let (verdict, next) = decide(CELL, tat, now, Mode::Count);
                tat = next.or(tat);
                verdict
            })
            .collect()
    }

    #[test]
    fn a_burst_of_the_rate_count_passes_then_one_per_interval() {
        let verdicts = run(&[0, 0, 0, 0, 1000, 1000]);
        assert_eq!(
            verdicts,
            vec![
                Verdict::Allowed,
                Verdict::Allowed,
                Verdict::Allowed,
                Verdict::Limited(Duration::from_millis(1000)),
                Verdict::Allowed,
                Verdict::Limited(Duration::from_millis(1000)),
            ]
        );
    }

    #[test]
    fn the_allowance_refills_while_idle() {
        let verdicts = run(&[0, 0, 0, 10_000, 10_000, 10_000]);
        assert!(verdicts.iter().all(|v| *v == Verdict::Allowed));
    }

    #[test]
    fn a_refused_event_is_not_counted() {
        let verdicts = run(&[0, 0, 0, 500, 500, 500, 1000]);
        assert_eq!(verdicts[3], Verdict::Limited(Duration::from_millis(500)));
        assert_eq!(verdicts[6], Verdict::Allowed);
    }

    #[test]
    fn peeking_uses_nothing() {
        let mut tat = None;
        for _ in 0..10 {
            let (verdict, next) = decide(CELL, tat, 0, Mode::Peek);
            assert_eq!(verdict, Verdict::Allowed);
            assert_eq!(next, None);
            tat = next.or(tat);
        }
    }
}
