//! Payment records: the transaction as received, kept next to the order it settled.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wxpay::models::Transaction;

use super::OrderNo;

/// The (verified, decrypted) transaction that settled an order, as received from WeChat Pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// The order it settled.
    pub order_no: OrderNo,
    /// WeChat Pay's transaction id.
    pub transaction_id: String,
    /// When we received it (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The transaction as received.
    pub transaction: Transaction,
}
