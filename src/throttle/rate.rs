//! A configured rate: `COUNT/PERIOD`, e.g. `30/10s`, `5/1m`, or `off`.

use std::str::FromStr;
use std::time::Duration;

use super::gcra::Cell;

/// At most `count` events per `period`, in bursts of up to `count`;
/// `None` inside [`Rate`] means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(Option<(u32, Duration)>);

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate(None);

    pub fn per(count: u32, period: Duration) -> Self {
        if count == 0 || period.is_zero() {
            Self::OFF
        } else {
            Self(Some((count, period)))
        }
    }

    /// The algorithm's parameters, or `None` when unlimited.
    pub fn cell(self) -> Option<Cell> {
        let (count, period) = self.0?;
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
        let interval_ms = (period_ms / u64::from(count)).max(1);
        Some(Cell {
            interval_ms,
            tolerance_ms: period_ms.saturating_sub(interval_ms),
        })
    }
}

/// Why a rate does not parse.
#[derive(Debug, thiserror::Error)]
#[error("a rate is COUNT/PERIOD with a unit (e.g. 30/10s, 5/1m, 100/1h) or `off`, not {0:?}")]
pub struct BadRate(String);

impl FromStr for Rate {
    type Err = BadRate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadRate(text.to_owned());
        if text == "off" || text == "0" {
            return Ok(Self::OFF);
        }
        let (count, period) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let split = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (amount, unit) = period.split_at(split);
        let amount: u64 = amount.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "ms" => return Ok(Self::per(count, Duration::from_millis(amount))),
            "s" => amount,
            "m" => amount.checked_mul(60).ok_or_else(bad)?,
            "h" => amount.checked_mul(3600).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        Ok(Self::per(count, Duration::from_secs(seconds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_per_period() {
        assert_eq!(
            "30/10s".parse::<Rate>().unwrap(),
            Rate::per(30, Duration::from_secs(10))
        );
        assert_eq!(
            "5/1m".parse::<Rate>().unwrap(),
            Rate::per(5, Duration::from_secs(60))
        );
        assert_eq!(
            "100/1h".parse::<Rate>().unwrap(),
            Rate::per(100, Duration::from_secs(3600))
        );
        assert_eq!(
            "2/500ms".parse::<Rate>().unwrap(),
            Rate::per(2, Duration::from_millis(500))
        );
        assert_eq!("off".parse::<Rate>().unwrap(), Rate::OFF);
        assert_eq!("0/1s".parse::<Rate>().unwrap(), Rate::OFF);
    }

    #[test]
    fn refuses_what_is_not_a_rate() {
        for text in ["", "30", "30/", "/10s", "30/10", "30/10d", "-1/1s", "x/1s"] {
            assert!(text.parse::<Rate>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn spaces_events_over_the_period() {
        let cell = Rate::per(30, Duration::from_secs(10)).cell().unwrap();
        assert_eq!(cell.interval_ms, 333);
        assert_eq!(cell.tolerance_ms, 9667);
        assert_eq!(Rate::OFF.cell(), None);
    }
}
