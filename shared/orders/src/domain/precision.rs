//! The precision orders keep their times at: the millisecond.

use time::OffsetDateTime;

/// Drops everything below the millisecond, the precision orders keep (and storage round-trips).
pub fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let millis = at.millisecond();
    at.replace_nanosecond(u32::from(millis) * 1_000_000)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn truncation_keeps_milliseconds_only() {
        let at = datetime!(2024-01-01 00:00:00.123456789 UTC);
        assert_eq!(
            truncate_to_millis(at),
            datetime!(2024-01-01 00:00:00.123 UTC)
        );
    }
}
