//! WeChat Pay's time format: RFC 3339 at China Standard Time (`+08:00`) with whole seconds, as in
//! `2018-06-08T10:34:56+08:00`. Any RFC 3339 time is accepted on input.

use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::{OffsetDateTime, UtcOffset};

/// China Standard Time, the offset WeChat Pay writes every time in.
pub const CST: UtcOffset = offset!(+8);

/// A time that cannot be written as RFC 3339 (a year outside 0000–9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {0} cannot be written as RFC 3339 with a four-digit year")]
pub struct TimeOutOfRange(pub String);

/// `YYYY-MM-DDTHH:MM:SS+08:00`. Sub-seconds are dropped, never rounded up, so a deadline written
/// this way is never later than the instant given.
pub fn format(at: OffsetDateTime) -> Result<String, TimeOutOfRange> {
    let whole_seconds = at.to_offset(CST).replace_nanosecond(0);
    whole_seconds
        .ok()
        .and_then(|cst| cst.format(&Rfc3339).ok())
        .ok_or_else(|| TimeOutOfRange(at.to_string()))
}

/// Parses any RFC 3339 time (any offset, optional fraction).
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// Serde adapter for an [`OffsetDateTime`] field: writes [`format()`], reads [`parse()`].
///
/// `#[serde(with = "wxpay::time::wechat")]`; for an `Option`, `wxpay::time::wechat::option`.
pub mod wechat {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes `at` in WeChat Pay's form.
    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        let text = super::format(*at).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Reads any RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse(&text).map_err(|_| D::Error::custom("must be an RFC 3339 time with offset"))
    }

    /// The same for an optional field (absent or `null` reads as `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        /// Writes `at` in WeChat Pay's form, `None` as `null` (pair it with
        /// `skip_serializing_if = "Option::is_none"` to omit it).
        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional RFC 3339 time.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] OffsetDateTime);
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(at)| at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use time::macros::datetime;

    #[test]
    fn times_are_written_in_china_standard_time_without_fractions() {
        let at = datetime!(2018-06-08 02:34:56.999 UTC);
        assert_eq!(format(at).unwrap(), "2018-06-08T10:34:56+08:00");
        assert_eq!(
            format(datetime!(2024-01-01 00:05:00 UTC)).unwrap(),
            "2024-01-01T08:05:00+08:00"
        );
    }

    #[test]
    fn a_year_outside_four_digits_cannot_be_written() {
        assert!(format(datetime!(-0001-01-01 00:00:00 UTC)).is_err());
    }

    #[test]
    fn any_rfc3339_time_parses_as_the_same_instant() {
        let cst = parse("2025-06-15T23:06:40+08:00").unwrap();
        assert_eq!(parse("2025-06-15T15:06:40Z").unwrap(), cst);
        assert_eq!(parse("2025-06-15T15:06:40.000Z").unwrap(), cst);
        assert!(parse("2025-06-15 23:06:40").is_err());
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Times {
        #[serde(with = "wechat")]
        at: OffsetDateTime,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "wechat::option"
        )]
        maybe: Option<OffsetDateTime>,
    }

    #[test]
    fn the_serde_adapter_writes_wechat_form_and_reads_any_rfc3339() {
        let times = Times {
            at: datetime!(2018-06-08 02:34:56 UTC),
            maybe: Some(datetime!(2018-06-08 02:34:57 UTC)),
        };
        let json = serde_json::to_string(&times).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2018-06-08T10:34:56+08:00","maybe":"2018-06-08T10:34:57+08:00"}"#
        );
        assert_eq!(serde_json::from_str::<Times>(&json).unwrap(), times);
        let utc: Times = serde_json::from_str(r#"{"at":"2018-06-08T02:34:56Z"}"#).unwrap();
        assert_eq!(utc.at, times.at);
        assert_eq!(utc.maybe, None);
        assert_eq!(
            serde_json::to_string(&utc).unwrap(),
            r#"{"at":"2018-06-08T10:34:56+08:00"}"#
        );
        let null: Times =
            serde_json::from_str(r#"{"at":"2018-06-08T02:34:56Z","maybe":null}"#).unwrap();
        assert_eq!(null.maybe, None);
        assert!(serde_json::from_str::<Times>(r#"{"at":"2018-06-08 10:34:56"}"#).is_err());
    }
}
