//! The simulator's clock: the configured clock plus the skew set by the `clock_skew_secs` fault.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime, UtcOffset};
use wxpay::clock::Clock;

/// China Standard Time, the offset WeChat Pay writes every time in.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// A clock shifted by an adjustable number of seconds.
pub struct SkewedClock {
    base: Arc<dyn Clock>,
    skew_secs: AtomicI64,
}

impl SkewedClock {
    /// `base` with no skew.
    pub fn new(base: Arc<dyn Clock>) -> Self {
        Self {
            base,
            skew_secs: AtomicI64::new(0),
        }
    }

    /// Sets the skew in seconds (positive: the simulator runs ahead).
    pub fn set_skew(&self, secs: i64) {
        self.skew_secs.store(secs, Ordering::Relaxed);
    }
}

impl Clock for SkewedClock {
    fn now(&self) -> OffsetDateTime {
        let skew = Duration::seconds(self.skew_secs.load(Ordering::Relaxed));
        self.base.now().saturating_add(skew)
    }
}

/// RFC 3339 in `+08:00`, as WeChat Pay writes times (`2018-06-08T10:34:56+08:00`).
pub fn format_cst(at: OffsetDateTime) -> String {
    let at = at.to_offset(CST);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_china_standard_time_without_fractions() {
        let at = OffsetDateTime::from_unix_timestamp(1_528_425_296).unwrap()
            + Duration::milliseconds(250);
        assert_eq!(format_cst(at), "2018-06-08T10:34:56+08:00");
    }

    #[test]
    fn skew_moves_the_clock_both_ways() {
        let base = Arc::new(wxpay::FixedClock::at_unix(1_000_000));
        let clock = SkewedClock::new(base);
        clock.set_skew(-400);
        assert_eq!(clock.now().unix_timestamp(), 999_600);
        clock.set_skew(30);
        assert_eq!(clock.now().unix_timestamp(), 1_000_030);
    }
}
