//! Fixed-window rate counters: one row per limit holding its current window, replaced when a new
//! window begins (so nothing accumulates), each count one write transaction.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::tables::LIMITS;
use super::{EmbeddedOrderStore, decode, encode, unavailable};
use crate::ports::{RateCounter, RateWindow, StoreError};

/// The current window of one limit.
#[derive(Debug, Serialize, Deserialize)]
struct LimitEntry {
    /// Unix seconds of the window's start.
    start: i64,
    /// Events counted in it.
    count: u32,
}

impl RateCounter for EmbeddedOrderStore {
    async fn admit(&self, window: &RateWindow) -> Result<bool, StoreError> {
        let name = window.name;
        let start = window.start.unix_timestamp();
        let limit = window.limit;
        self.write(move |txn| {
            let mut table = txn.open_table(LIMITS).map_err(unavailable)?;
            let current: Option<LimitEntry> = table
                .get(name)
                .map_err(unavailable)?
                .map(|guard| decode(guard.value()))
                .transpose()?;
            let count = match current {
                Some(entry) if entry.start == start => entry.count,
                _ => 0,
            };
            if count >= limit {
                return Ok(false);
            }
            let entry = LimitEntry {
                start,
                count: count + 1,
            };
            table
                .insert(name, encode(&entry)?.as_slice())
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
