//! Page sizes for connections.

use super::invalid_input::InvalidInput;

/// How many items a page holds: 1–100. Out-of-range values are refused, not
/// clamped, so a client never silently gets less than it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    pub const MAX: usize = 100;

    /// Parses the `first`/`last` argument, using `default` when it is absent.
    pub fn parse(field: &str, raw: Option<i32>, default: usize) -> Result<Self, InvalidInput> {
        match raw {
            None => Ok(Self(default)),
            Some(n) if (1..=Self::MAX as i32).contains(&n) => Ok(Self(n as usize)),
            Some(n) => Err(InvalidInput::new(format!(
                "{field} must be between 1 and {} (got {n})",
                Self::MAX
            ))),
        }
    }

    /// The page an operation will ask for, for estimating its cost before
    /// it runs: like [`Self::parse`], but clamping what `parse` rejects.
    pub fn estimate(raw: Option<i32>, default: usize) -> usize {
        raw.map_or(default, |n| usize::try_from(n).unwrap_or(0))
            .clamp(1, Self::MAX)
    }

    pub fn get(self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_bounds() {
        assert_eq!(PageSize::parse("last", None, 50).unwrap().get(), 50);
        assert_eq!(PageSize::parse("last", Some(100), 50).unwrap().get(), 100);
        assert!(PageSize::parse("last", Some(0), 50).is_err());
        assert!(PageSize::parse("last", Some(101), 50).is_err());
        assert!(PageSize::parse("last", Some(-1), 50).is_err());
    }
}
