//! Order numbers (`out_trade_no`): 29 characters of `[0-9A-Za-z_-]`, a 17-digit UTC timestamp
//! (`yyyyMMddHHmmssSSS`, so they sort by creation time) followed by 72 random bits in base64url.
//! Knowing an order number is what lets one read its status, hence the randomness.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;
use wxpay::random::{OsRandom, RandomSource};

/// Bytes of randomness in a generated order number (72 bits).
pub const RANDOM_BYTES: usize = 9;

/// Why no order number could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderNoError {
    /// The creation time is outside years 0000–9999.
    #[error("creation time out of range")]
    TimeOutOfRange,
}

/// A string that is not a valid order number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order numbers are 6–32 characters of [0-9A-Za-z_-]")]
pub struct InvalidOrderNo;

/// A merchant order number, valid for WeChat Pay (6–32 characters; this crate never uses `|` or `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNo(String);

impl OrderNo {
    /// Validates an order number received from outside (a path parameter, a notification).
    pub fn parse(text: &str) -> Result<Self, InvalidOrderNo> {
        let ok = (6..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidOrderNo)
        }
    }

    /// The order number as sent to WeChat Pay.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderNo {
    type Error = InvalidOrderNo;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OrderNo> for String {
    fn from(value: OrderNo) -> Self {
        value.0
    }
}

impl std::fmt::Display for OrderNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Makes order numbers from a creation time and a [`RandomSource`] (the OS's by default).
#[derive(Debug, Clone, Default)]
pub struct OrderNoGenerator<R = OsRandom> {
    random: R,
}

impl<R: RandomSource> OrderNoGenerator<R> {
    /// A generator drawing from `random`.
    pub fn new(random: R) -> Self {
        Self { random }
    }

    /// A fresh order number for an order created at `created_at`.
    pub fn generate(&self, created_at: OffsetDateTime) -> Result<OrderNo, OrderNoError> {
        let utc = created_at.to_offset(time::UtcOffset::UTC);
        if !(0..=9999).contains(&utc.year()) {
            return Err(OrderNoError::TimeOutOfRange);
        }
        let stamp = utc
            .format(format_description!(
                "[year][month][day][hour][minute][second][subsecond digits:3]"
            ))
            .map_err(|_| OrderNoError::TimeOutOfRange)?;
        let mut bytes = [0u8; RANDOM_BYTES];
        self.random.fill(&mut bytes);
        let text = format!("{stamp}{}", URL_SAFE_NO_PAD.encode(bytes));
        OrderNo::parse(&text).map_err(|_| OrderNoError::TimeOutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    use wxpay::random::FixedRandom;

    #[test]
    fn numbers_are_valid_and_sort_by_creation_time() {
        let ids = OrderNoGenerator::new(FixedRandom::new([200; RANDOM_BYTES]));
        let early = ids
            .generate(datetime!(2024-01-01 00:00:00.001 UTC))
            .unwrap();
        let later = ids
            .generate(datetime!(2024-01-01 00:00:00.002 UTC))
            .unwrap();
        assert_eq!(early.as_str().len(), 29);
        assert!(early.as_str().starts_with("20240101000000001"));
        assert!(early < later, "{early} {later}");
        assert!(OrderNo::parse(early.as_str()).is_ok());
    }

    #[test]
    fn os_random_numbers_differ() {
        let ids = OrderNoGenerator::new(OsRandom);
        let at = datetime!(2024-01-01 00:00:00 UTC);
        assert_ne!(ids.generate(at).unwrap(), ids.generate(at).unwrap());
    }

    #[test]
    fn parse_refuses_bad_numbers() {
        assert!(OrderNo::parse("abc").is_err());
        assert!(OrderNo::parse("abcdef|").is_err());
        assert!(OrderNo::parse(&"a".repeat(33)).is_err());
        assert!(OrderNo::parse("ORDER_2024-01").is_ok());
    }
}
