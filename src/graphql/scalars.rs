//! Custom scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::Millis;

/// An instant, shown as an RFC 3339 string in UTC with millisecond precision
/// (e.g. `2026-11-28T13:01:55.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub Millis);

/// An RFC 3339 date-time string in UTC, e.g. "2026-11-28T13:01:55.123Z".
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(InputValueError::custom)?;
        let ms = at.unix_timestamp_nanos() / 1_000_000;
        u64::try_from(ms)
            .map(DateTime)
            .map_err(|_| InputValueError::custom("dates before 1970 are not supported"))
    }

    fn to_value(&self) -> Value {
        Value::String(format_millis(self.0))
    }
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC.
fn format_millis(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (date, time) = (at.date(), at.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        date.year(),
        u8::from(date.month()),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_utc_with_milliseconds() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_795_871_715_123), "2026-11-28T13:15:15.123Z");
    }

    #[test]
    fn parses_what_it_prints() {
        let value = DateTime(1_795_871_715_123).to_value();
        assert_eq!(DateTime::parse(value).unwrap(), DateTime(1_795_871_715_123));
    }
}
