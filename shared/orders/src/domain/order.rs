//! The order (ARCHITECTURE §4).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::timefmt::truncate_to_millis;
use super::{BuyerHash, OrderNo, OrderStatus, Product};

/// An order, with the attributes of the order item of ARCHITECTURE §4. Money is integer fen; times
/// are UTC with millisecond precision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Merchant order number (`out_trade_no`).
    pub order_no: OrderNo,
    /// Product title at the time of ordering.
    pub title: String,
    /// Catalog id of the product.
    pub product_id: String,
    /// Amount in fen, from the catalog.
    pub total_fee: i64,
    /// `weixin://…` payment link, once prepaid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_url: Option<String>,
    /// Current state.
    pub order_status: OrderStatus,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Time of the last state change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Last moment the order can be paid (`time_expire` given to WeChat Pay).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// WeChat Pay transaction id, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// When it was paid (UTC), once paid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub success_time: Option<OffsetDateTime>,
    /// The payer's openid, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_openid: Option<String>,
    /// SHA-256 of the buyer token of the shopper who placed it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_hash: Option<BuyerHash>,
}

impl Order {
    /// A new `NOTPAY` order for `product`, priced from the catalog, expiring `ttl` after `created_at`.
    pub fn new_pending(
        order_no: OrderNo,
        product: &Product,
        buyer_hash: Option<BuyerHash>,
        created_at: OffsetDateTime,
        ttl: Duration,
    ) -> Self {
        let created_at = truncate_to_millis(created_at.to_offset(time::UtcOffset::UTC));
        Self {
            order_no,
            title: product.title.clone(),
            product_id: product.id.clone(),
            total_fee: product.price,
            code_url: None,
            order_status: OrderStatus::Notpay,
            created_at,
            updated_at: created_at,
            expires_at: created_at + ttl,
            transaction_id: None,
            success_time: None,
            payer_openid: None,
            buyer_hash,
        }
    }

    /// Whether the order can no longer be paid at `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Whether `buyer` is the shopper who placed the order (orders placed without a token belong to nobody).
    pub fn belongs_to(&self, buyer: &BuyerHash) -> bool {
        self.buyer_hash.as_ref() == Some(buyer)
    }
}
