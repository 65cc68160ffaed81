//! The admin API's response bodies (the envelope's `data`): the JSON contract `wxpay-admin` reads.
//! Times are WeChat Pay's format (`2024-05-01T08:00:00+08:00`), `null` when absent.

use orders::domain::{Order, PaymentRecord, Refund};
use serde::Serialize;
use time::OffsetDateTime;

fn wechat_time(at: OffsetDateTime) -> Option<String> {
    wxpay::time::format(at).ok()
}

/// One refund.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView<'a> {
    /// Our number (`out_refund_no`).
    pub out_refund_no: &'a str,
    /// `SUBMITTING`, `PROCESSING`, `SUCCESS`, `CLOSED`, `ABNORMAL`, `REJECTED`.
    pub status: &'static str,
    /// Fen.
    pub amount: i64,
    /// Shown to the payer.
    pub reason: Option<&'a str>,
    /// `MERCHANT`, `LATE_PAYMENT` or `EXTERNAL`.
    pub origin: &'static str,
    /// Who asked (an IAM ARN, `local-admin`).
    pub requested_by: Option<&'a str>,
    /// WeChat Pay's refund id, once it answered.
    pub refund_id: Option<&'a str>,
    /// The account credited, once known.
    pub user_received_account: Option<&'a str>,
    /// Why WeChat Pay refused it.
    pub failure: Option<&'a str>,
    /// When it was asked for.
    pub created_at: Option<String>,
    /// Its last change.
    pub updated_at: Option<String>,
    /// When the money reached the payer.
    pub success_time: Option<String>,
}

impl<'a> From<&'a Refund> for RefundView<'a> {
    fn from(refund: &'a Refund) -> Self {
        Self {
            out_refund_no: refund.out_refund_no.as_str(),
            status: refund.state.as_str(),
            amount: refund.amount,
            reason: refund.reason.as_deref(),
            origin: refund.origin.as_str(),
            requested_by: refund.requested_by.as_deref(),
            refund_id: refund.refund_id.as_deref(),
            user_received_account: refund.user_received_account.as_deref(),
            failure: refund.failure.as_deref(),
            created_at: wechat_time(refund.created_at),
            updated_at: wechat_time(refund.updated_at),
            success_time: refund.success_time.and_then(wechat_time),
        }
    }
}

/// `data` of `POST /admin/orders/{orderNo}/refunds`.
#[derive(Debug, Serialize)]
pub struct RefundAnswer<'a> {
    /// The refund.
    pub refund: RefundView<'a>,
    /// The order with its totals after it.
    pub order: OrderView<'a>,
}

/// An order as the merchant sees it (with the payer's openid and the refund totals).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView<'a> {
    /// The merchant order number (`out_trade_no`).
    pub order_no: &'a str,
    /// The product's title when ordered.
    pub title: &'a str,
    /// The product's catalog id.
    pub product_id: &'a str,
    /// Amount paid, in fen.
    pub total_fee: i64,
    /// `NOTPAY`, `SUCCESS`, `REFUND_PROCESSING`, `PARTIALLY_REFUNDED`, `REFUNDED`, …
    pub order_status: &'static str,
    /// Paid at WeChat Pay after it was closed here.
    pub paid_after_close: bool,
    /// Fen refunded or being refunded.
    pub refunded_fee: i64,
    /// Fen still refundable.
    pub refundable_fee: i64,
    /// Refunds asked for.
    pub refund_count: u32,
    /// WeChat Pay's transaction id, once paid.
    pub transaction_id: Option<&'a str>,
    /// The payer's openid, once paid.
    pub payer_openid: Option<&'a str>,
    /// When it was placed.
    pub created_at: Option<String>,
    /// When it was paid.
    pub success_time: Option<String>,
}

impl<'a> From<&'a Order> for OrderView<'a> {
    fn from(order: &'a Order) -> Self {
        Self {
            order_no: order.order_no.as_str(),
            title: &order.title,
            product_id: &order.product_id,
            total_fee: order.total_fee,
            order_status: order.order_status.as_str(),
            paid_after_close: order.paid_after_close,
            refunded_fee: order.refunded_fee,
            refundable_fee: if order.order_status.is_paid() {
                order.total_fee.saturating_sub(order.refunded_fee).max(0)
            } else {
                0
            },
            refund_count: order.refund_count,
            transaction_id: order.transaction_id.as_deref(),
            payer_openid: order.payer_openid.as_deref(),
            created_at: wechat_time(order.created_at),
            success_time: order.success_time.and_then(wechat_time),
        }
    }
}

/// One payment record: the transaction as WeChat Pay sent it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView<'a> {
    /// WeChat Pay's transaction id.
    pub transaction_id: &'a str,
    /// When we received it.
    pub received_at: Option<String>,
    /// The transaction as received.
    pub transaction: &'a wxpay::models::Transaction,
}

impl<'a> From<&'a PaymentRecord> for PaymentView<'a> {
    fn from(record: &'a PaymentRecord) -> Self {
        Self {
            transaction_id: &record.transaction_id,
            received_at: wechat_time(record.received_at),
            transaction: &record.transaction,
        }
    }
}

/// `data` of `GET /admin/orders/{orderNo}`.
#[derive(Debug, Serialize)]
pub struct OrderDetail<'a> {
    /// The order.
    pub order: OrderView<'a>,
    /// Its payment records (more than one after a double payment).
    pub payments: Vec<PaymentView<'a>>,
    /// Its refunds.
    pub refunds: Vec<RefundView<'a>>,
}

/// `data` of `GET /admin/orders`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage<'a> {
    /// The listing read (`REFUND_ABNORMAL`, `PAID_AFTER_CLOSE`, …).
    pub status: &'static str,
    /// Its orders, newest first.
    pub list: Vec<OrderView<'a>>,
    /// The cursor of the next page, `null` on the last.
    pub next_cursor: Option<&'a str>,
}
