//! Virtual time: the wall clock of both sides follows Tokio's paused clock, so a whole day of
//! retries and sweeps runs in milliseconds and the same seed replays exactly.

use time::OffsetDateTime;
use tokio::time::Instant;

#[derive(Clone)]
pub struct VirtualClock {
    base: OffsetDateTime,
    start: Instant,
}

impl VirtualClock {
    /// Starts at `base` now; call inside the paused runtime.
    pub fn new(base: OffsetDateTime) -> Self {
        Self {
            base,
            start: Instant::now(),
        }
    }
}

impl wxpay::Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        let elapsed = Instant::now() - self.start;
        self.base + time::Duration::try_from(elapsed).unwrap()
    }
}
