//! The caps on placing new orders: open unpaid orders per buyer token, and orders without buyer
//! token per minute. Replays of an existing order never reach them (see
//! [`place_native_order`](super::place_native_order)).

use time::{Duration, OffsetDateTime};

use crate::OrdersConfig;
use crate::domain::{BuyerHash, OrderStatus};
use crate::ports::{BuyerOrderLister, PageRequest, RateCounter, RateWindow, StoreError};
use crate::services::PlaceOrderError;

/// The window of `ANONYMOUS_ORDERS_PER_MINUTE`.
const ANONYMOUS_WINDOW: Duration = Duration::MINUTE;
/// The stored name of the anonymous orders' counter (`LIMIT#anonymous-orders#{start}`).
const ANONYMOUS_ORDERS: &str = "anonymous-orders";
/// Newest orders of a buyer read beyond the cap, so paid or closed orders among the newest do not
/// hide open ones below them.
const BUYER_READ_SLACK: u32 = 10;
/// Most orders of a buyer read for the cap.
const MAX_BUYER_READ: u32 = 50;

/// Refuses a new order when the buyer (with a buyer token) already has
/// `max_open_orders_per_buyer` unpaid, unexpired orders, or (without one) when this minute's
/// `anonymous_orders_per_minute` were already placed. A cap of 0 is off.
///
/// The per-buyer cap is soft: it reads the buyer's newest orders (one page of the `byBuyer`
/// index, at most `cap + 10`, which DynamoDB updates with a short lag) and then writes, so
/// concurrent requests of one buyer can each pass it, and open orders older than the page read are
/// not seen. It bounds a shopper's (or a script's) pile of unpaid orders; it does not count
/// exactly. The anonymous cap is exact: each order takes one slot of its minute by a conditional
/// atomic increment (fixed windows, so up to twice the cap can pass across a minute boundary).
pub async fn check<S: BuyerOrderLister + RateCounter>(
    store: &S,
    config: &OrdersConfig,
    buyer: Option<&BuyerHash>,
    now: OffsetDateTime,
) -> Result<(), PlaceOrderError> {
    match buyer {
        Some(buyer) => open_orders(store, config.max_open_orders_per_buyer, buyer, now).await,
        None => anonymous(store, config.anonymous_orders_per_minute, now).await,
    }
}

async fn open_orders<S: BuyerOrderLister>(
    store: &S,
    cap: u32,
    buyer: &BuyerHash,
    now: OffsetDateTime,
) -> Result<(), PlaceOrderError> {
    if cap == 0 {
        return Ok(());
    }
    let read = cap.saturating_add(BUYER_READ_SLACK).min(MAX_BUYER_READ);
    let page = store
        .list_buyer_orders(buyer, &PageRequest::first(read))
        .await?;
    let open: Vec<OffsetDateTime> = page
        .items
        .iter()
        .filter(|o| o.order_status == OrderStatus::Notpay && !o.is_expired_at(now))
        .map(|o| o.expires_at)
        .collect();
    let count = u32::try_from(open.len()).unwrap_or(u32::MAX);
    if count < cap {
        return Ok(());
    }
    let first_expiry = open.iter().min().copied().unwrap_or(now);
    Err(PlaceOrderError::TooManyOpenOrders {
        open: count,
        retry_after_secs: seconds_until(now, first_expiry),
    })
}

async fn anonymous<S: RateCounter>(
    store: &S,
    cap: u32,
    now: OffsetDateTime,
) -> Result<(), PlaceOrderError> {
    if cap == 0 {
        return Ok(());
    }
    let window = window_of(now, cap)?;
    if store.admit(&window).await? {
        return Ok(());
    }
    Err(PlaceOrderError::TooManyAnonymousOrders {
        retry_after_secs: seconds_until(now, window.start + window.length),
    })
}

/// The minute `now` falls in.
fn window_of(now: OffsetDateTime, limit: u32) -> Result<RateWindow, StoreError> {
    let length = ANONYMOUS_WINDOW.whole_seconds();
    let unix = now.unix_timestamp();
    let start = OffsetDateTime::from_unix_timestamp(unix - unix.rem_euclid(length))
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(RateWindow {
        name: ANONYMOUS_ORDERS,
        start,
        length: ANONYMOUS_WINDOW,
        limit,
    })
}

/// Whole seconds from `now` to `then`, at least 1.
fn seconds_until(now: OffsetDateTime, then: OffsetDateTime) -> u64 {
    let seconds = (then - now).as_seconds_f64().ceil();
    if seconds >= 1.0 {
        // Bounded by the order TTL or one minute.
        seconds as u64
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_are_clock_minutes() {
        let window = window_of(datetime!(2024-05-01 10:00:59.9 UTC), 3).unwrap();
        assert_eq!(window.start, datetime!(2024-05-01 10:00:00 UTC));
        assert_eq!(window.limit, 3);
        let next = window_of(datetime!(2024-05-01 10:01:00 UTC), 3).unwrap();
        assert_eq!(next.start, datetime!(2024-05-01 10:01:00 UTC));
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let now = datetime!(2024-05-01 10:00:00.5 UTC);
        assert_eq!(seconds_until(now, datetime!(2024-05-01 10:01:00 UTC)), 60);
        assert_eq!(seconds_until(now, now), 1);
        assert_eq!(seconds_until(now, now - Duration::SECOND), 1);
    }
}
