//! Counting what a store reads, to show that the sweep reads only pending orders. Only with the
//! `read-stats` feature (this crate's tests and benchmarks): without it the counter is empty and
//! does nothing, and DynamoDB is not asked for consumed capacity, so deployed functions pay for
//! neither a lock nor a larger answer on every read.

#[cfg(feature = "read-stats")]
use std::sync::Mutex;

/// Items read (and, for DynamoDB, read capacity consumed) since the store was made or last reset.
#[cfg(feature = "read-stats")]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadStats {
    /// Items examined by reads (DynamoDB `ScannedCount`, or 1 per item fetched).
    pub items_read: u64,
    /// Read capacity units reported by DynamoDB (`ConsumedCapacity`); 0 where not reported.
    pub capacity_units: f64,
}

/// Shared counter behind [`ReadStats`].
#[cfg(feature = "read-stats")]
#[derive(Debug, Default)]
pub(crate) struct ReadCounter(Mutex<ReadStats>);

/// Without the `read-stats` feature: counts nothing.
#[cfg(not(feature = "read-stats"))]
#[derive(Debug)]
pub(crate) struct ReadCounter;

#[cfg(feature = "read-stats")]
impl ReadCounter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add(&self, items: u64, capacity_units: f64) {
        let mut stats = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        stats.items_read += items;
        stats.capacity_units += capacity_units;
    }

    pub(crate) fn snapshot(&self) -> ReadStats {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn reset(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ReadStats::default();
    }
}

#[cfg(not(feature = "read-stats"))]
impl ReadCounter {
    pub(crate) fn new() -> Self {
        Self
    }

    #[inline]
    pub(crate) fn add(&self, _items: u64, _capacity_units: f64) {}
}
