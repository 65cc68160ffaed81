//! The API's response bodies (the envelope's `data`), as types: the JSON contract the storefront,
//! the tutorial's front end and the tests read. Fields are only ever added.

use orders::domain::{Order, Product};
use serde::Serialize;
use time::OffsetDateTime;

/// One product of `GET /api/product/list`.
#[derive(Debug, Serialize)]
pub struct ProductView<'a> {
    /// Catalog id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Server-side price in fen.
    pub price: i64,
}

impl<'a> From<&'a Product> for ProductView<'a> {
    fn from(product: &'a Product) -> Self {
        Self {
            id: &product.id,
            title: &product.title,
            price: product.price,
        }
    }
}

/// `data` of `GET /api/product/list`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductList<'a> {
    /// Every product, by id.
    pub product_list: Vec<ProductView<'a>>,
}

/// The public view of an order (no buyer hash, no payer identity). Times are WeChat Pay's format
/// (`2024-05-01T08:00:00+08:00`), `null` when absent or not representable.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView<'a> {
    /// The merchant order number (`out_trade_no`).
    pub order_no: &'a str,
    /// The product's title when ordered.
    pub title: &'a str,
    /// The product's catalog id.
    pub product_id: &'a str,
    /// Amount in fen.
    pub total_fee: i64,
    /// `NOTPAY`, `SUCCESS`, `CLOSED`, `CANCELLED`, …
    pub order_status: &'static str,
    /// When the order was placed.
    pub created_at: Option<String>,
    /// When it stops being payable.
    pub expires_at: Option<String>,
    /// When it was paid.
    pub success_time: Option<String>,
    /// Fen being refunded or refunded (refunds not closed or refused); 0 without refunds.
    pub refunded_fee: i64,
}

fn wechat_time(at: OffsetDateTime) -> Option<String> {
    wxpay::time::format(at).ok()
}

impl<'a> From<&'a Order> for OrderView<'a> {
    fn from(order: &'a Order) -> Self {
        Self {
            order_no: order.order_no.as_str(),
            title: &order.title,
            product_id: &order.product_id,
            total_fee: order.total_fee,
            order_status: order.order_status.as_str(),
            created_at: wechat_time(order.created_at),
            expires_at: wechat_time(order.expires_at),
            success_time: order.success_time.and_then(wechat_time),
            refunded_fee: order.refunded_fee,
        }
    }
}

/// `data` of `POST /api/wx-pay/native/{productId}`: the order and its QR code.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacedOrderView<'a> {
    /// The order.
    #[serde(flatten)]
    pub order: OrderView<'a>,
    /// The `weixin://` link the QR code encodes.
    pub code_url: &'a str,
    /// The QR code, as SVG.
    pub qr_svg: String,
    /// Whether an earlier order is returned again for the same `Idempotency-Key`.
    pub replayed: bool,
}

/// `data` of `GET /api/order-info/list`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage<'a> {
    /// The buyer's orders, newest first.
    pub list: Vec<OrderView<'a>>,
    /// The cursor of the next page, `null` on the last.
    pub next_cursor: Option<&'a str>,
}
