//! The order (ARCHITECTURE §4).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::truncate_to_millis;
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
    /// Paid at WeChat Pay after it had been closed or cancelled here: WeChat Pay holds the money,
    /// so the order shows paid, and the merchant refunds it or delivers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paid_after_close: bool,
    /// When the latest prepay was claimed (sent right after). Only a holder of the latest claim
    /// may store its `code_url`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub prepay_started_at: Option<OffsetDateTime>,
    /// While a prepay is in flight: until when its claim holds (see
    /// [`OrdersConfig::prepay_lease`](crate::OrdersConfig::prepay_lease)).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub prepay_lease_until: Option<OffsetDateTime>,
    /// Sweep runs that examined the order and could not finish it (WeChat Pay or store errors,
    /// alerts); the sweep serves orders with fewer first, so that these never starve the rest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sweep_failures: u32,
    /// Fen of the refunds that hold money (all but `CLOSED` and `REJECTED`; see
    /// [`refund`](super::refund)).
    #[serde(default, skip_serializing_if = "is_zero_fee")]
    pub refunded_fee: i64,
    /// Refunds we asked for; numbers them and caps them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refund_count: u32,
    /// Refunds in flight (`SUBMITTING`, `PROCESSING`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunds_open: u32,
    /// Refunds stuck `ABNORMAL`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunds_abnormal: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_zero_fee(value: &i64) -> bool {
    *value == 0
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
            paid_after_close: false,
            prepay_started_at: None,
            prepay_lease_until: None,
            sweep_failures: 0,
            refunded_fee: 0,
            refund_count: 0,
            refunds_open: 0,
            refunds_abnormal: 0,
        }
    }

    /// Whether the order's payment window has passed at `now` (by our clock).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Whether WeChat Pay, whose clock may differ from ours by up to
    /// [`CLOCK_SKEW_ALLOWANCE`](crate::config::CLOCK_SKEW_ALLOWANCE), can no longer accept a
    /// payment of this order at `now`. Holds only because no prepay is sent after the prepay
    /// cutoff, so WeChat Pay's `time_expire` is ours.
    pub fn is_unpayable_at(&self, now: OffsetDateTime) -> bool {
        now > self.expires_at + crate::config::CLOCK_SKEW_ALLOWANCE
    }

    /// Whether a prepay claimed for this order may still be in flight at `now` (its lease holds).
    pub fn prepay_in_flight_at(&self, now: OffsetDateTime) -> bool {
        self.prepay_lease_until.is_some_and(|until| now < until)
    }

    /// Fen of the payment not yet refunded.
    pub fn refundable_fee(&self) -> i64 {
        self.total_fee.saturating_sub(self.refunded_fee).max(0)
    }

    /// Whether `buyer` is the shopper who placed the order (orders placed without a token belong to nobody).
    pub fn belongs_to(&self, buyer: &BuyerHash) -> bool {
        self.buyer_hash.as_ref() == Some(buyer)
    }
}
