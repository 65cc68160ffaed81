//! Key layout shared by the stores (ARCHITECTURE §4).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::{Order, OrderListing, OrderNo, Refund, RefundNo};
use crate::ports::StoreError;

/// Number of `PENDING#{shard}` partitions of the `pending` index. Writers and readers must agree:
/// changing it needs a migration of the pending orders' `pendingPk`.
pub const PENDING_SHARDS: u32 = 4;

/// Storage form of a time: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, always 24 characters, so that
/// lexical order is time order.
pub fn time_key(at: OffsetDateTime) -> Result<String, StoreError> {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .map_err(|_| {
            StoreError::Invalid(format!(
                "time {at} cannot be stored as RFC 3339 with a four-digit year"
            ))
        })
}

/// Reads a stored time: what [`time_key`] writes (any RFC 3339 time is accepted).
pub fn parse_time_key(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// `ORDER#{orderNo}`.
pub fn order_pk(order_no: &OrderNo) -> String {
    format!("ORDER#{order_no}")
}

/// `PAYMENT#{transactionId}`.
pub fn payment_sk(transaction_id: &str) -> String {
    format!("PAYMENT#{transaction_id}")
}

/// `PRODUCT#{id}`.
pub fn product_pk(id: &str) -> String {
    format!("PRODUCT#{id}")
}

/// `LIMIT#{name}#{windowStartUnixSeconds}`: one fixed window of a rate limit.
pub fn limit_pk(name: &str, start: time::OffsetDateTime) -> String {
    format!("LIMIT#{name}#{}", start.unix_timestamp())
}

/// `IDEMPOTENCY#{key}`.
pub fn idempotency_pk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

/// The pending shard of an order (FNV-1a of its number).
pub fn pending_shard(order_no: &OrderNo) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in order_no.as_str().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % PENDING_SHARDS
}

/// `PENDING#{shard}`.
pub fn pending_pk(shard: u32) -> String {
    format!("PENDING#{shard}")
}

/// `{createdAt}#{orderNo}`.
pub fn pending_sk(order: &Order) -> Result<String, StoreError> {
    Ok(format!(
        "{}#{}",
        time_key(order.created_at)?,
        order.order_no
    ))
}

/// `STATUS#{listing}`: the `byStatus` partition of an operator listing.
pub fn listing_pk(listing: OrderListing) -> String {
    format!("STATUS#{listing}")
}

/// The `byStatus` keys of `order` (partition, `{createdAt}#{orderNo}`), if it is in a listing.
pub fn listing_keys(order: &Order) -> Result<Option<(String, String)>, StoreError> {
    OrderListing::of(order)
        .map(|listing| Ok((listing_pk(listing), pending_sk(order)?)))
        .transpose()
}

/// Splits a `{createdAt}#{orderNo}` key.
pub fn split_time_order(key: &str) -> Result<(&str, OrderNo), StoreError> {
    let (created, order_no) = key.split_once('#').ok_or(StoreError::InvalidCursor)?;
    let order_no = OrderNo::parse(order_no).map_err(|_| StoreError::InvalidCursor)?;
    Ok((created, order_no))
}

/// `REFUND#{outRefundNo}`: a refund's sort key under its order.
pub fn refund_sk(out_refund_no: &RefundNo) -> String {
    format!("REFUND#{out_refund_no}")
}

/// `REFUNDKEY#{idempotencyKey}`: the sort key, under the order, naming the refund a key made.
pub fn refund_key_sk(idempotency_key: &str) -> String {
    format!("REFUNDKEY#{idempotency_key}")
}

/// `REFUNDING#{shard}`: open refunds are spread over as many shards as pending orders, by order.
pub fn refunding_pk(shard: u32) -> String {
    format!("REFUNDING#{shard}")
}

/// `{orderNo}#{outRefundNo}` (`#` is in neither alphabet).
pub fn refund_key(order_no: &OrderNo, out_refund_no: &RefundNo) -> String {
    format!("{order_no}#{out_refund_no}")
}

/// `{createdAt}#{orderNo}#{outRefundNo}`: where an open refund sorts in the `refunding` index.
pub fn open_refund_sk(refund: &Refund) -> Result<String, StoreError> {
    Ok(format!(
        "{}#{}",
        time_key(refund.created_at)?,
        refund_key(&refund.order_no, &refund.out_refund_no)
    ))
}

/// Splits a `{createdAt}#{orderNo}#{outRefundNo}` key.
pub fn split_open_refund(key: &str) -> Result<(&str, OrderNo, RefundNo), StoreError> {
    let (created, rest) = key.split_once('#').ok_or(StoreError::InvalidCursor)?;
    let (order_no, out_refund_no) = rest.split_once('#').ok_or(StoreError::InvalidCursor)?;
    let order_no = OrderNo::parse(order_no).map_err(|_| StoreError::InvalidCursor)?;
    let out_refund_no = RefundNo::parse(out_refund_no).map_err(|_| StoreError::InvalidCursor)?;
    Ok((created, order_no, out_refund_no))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_times_are_fixed_width_utc_and_round_trip() {
        let at = datetime!(2024-01-01 08:00:00.5 +08:00);
        let text = time_key(at).unwrap();
        assert_eq!(text, "2024-01-01T00:00:00.500Z");
        assert_eq!(parse_time_key(&text).unwrap(), at);
        assert_eq!(
            time_key(datetime!(2024-01-01 00:00:00 UTC)).unwrap().len(),
            24
        );
    }
}
