//! Time formats: fixed-width UTC RFC 3339 with milliseconds in storage (so that strings sort like
//! instants), and RFC 3339 at `+08:00` with whole seconds towards WeChat Pay.

use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, UtcOffset};

/// China Standard Time, the offset WeChat Pay expects in `time_expire`.
pub const CHINA_STANDARD_TIME: UtcOffset = offset!(+8);

/// A time that cannot be written in the fixed formats (year outside 0000–9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {0} cannot be formatted as RFC 3339 with a four-digit year")]
pub struct TimeOutOfRange(pub String);

/// Drops everything below the millisecond, the precision kept in storage.
pub fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let millis = at.millisecond();
    at.replace_nanosecond(u32::from(millis) * 1_000_000)
        .unwrap_or(at)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC: always 24 characters, so that lexical order is time order.
pub fn to_storage(at: OffsetDateTime) -> Result<String, TimeOutOfRange> {
    let utc = at.to_offset(UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .map_err(|_| TimeOutOfRange(at.to_string()))
}

/// Parses any RFC 3339 time (as written by [`to_storage`] or received from WeChat Pay).
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// `YYYY-MM-DDTHH:MM:SS+08:00`, the form WeChat Pay documents for `time_expire` (sub-seconds dropped,
/// so the deadline given to WeChat Pay is never later than ours).
pub fn to_wechat(at: OffsetDateTime) -> Result<String, TimeOutOfRange> {
    let cst = at.to_offset(CHINA_STANDARD_TIME);
    cst.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]+08:00"
    ))
    .map_err(|_| TimeOutOfRange(at.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn storage_format_is_fixed_width_utc_and_round_trips() {
        let at = datetime!(2024-01-01 08:00:00.5 +08:00);
        let text = to_storage(at).unwrap();
        assert_eq!(text, "2024-01-01T00:00:00.500Z");
        assert_eq!(parse_rfc3339(&text).unwrap(), at);
        assert_eq!(
            to_storage(datetime!(2024-01-01 00:00:00 UTC))
                .unwrap()
                .len(),
            24
        );
    }

    #[test]
    fn wechat_format_is_china_time_with_whole_seconds() {
        let at = datetime!(2024-01-01 00:05:00.999 UTC);
        assert_eq!(to_wechat(at).unwrap(), "2024-01-01T08:05:00+08:00");
    }

    #[test]
    fn truncation_keeps_milliseconds_only() {
        let at = datetime!(2024-01-01 00:00:00.123456789 UTC);
        assert_eq!(
            truncate_to_millis(at),
            datetime!(2024-01-01 00:00:00.123 UTC)
        );
    }
}
