//! The simulator's clock: the configured clock plus the skew set by the `clock_skew_secs` fault.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};
use wxpay::clock::Clock;

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

#[cfg(test)]
mod tests {
    use super::*;

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
