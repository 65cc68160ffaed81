//! One handler per route: parse and validate the request, call one service or port, map the result
//! to the envelope. Internal errors are logged here and answered with fixed messages.

use crate::envelope::{self, StorefrontError};
use crate::qr;
use crate::state::{Deps, StorefrontStore};
use crate::view::{OrderPage, OrderView, PlacedOrderView, ProductList, ProductView};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orders::domain::{BuyerHash, OrderNo, OrderStatus};
use orders::ports::{Cursor, PageRequest, PaymentGateway, StoreError};
use orders::services::{
    CancelError, CancelResult, PlaceOrderError, PlaceOrderRequest, cancel_order, place_native_order,
};
use serde::Deserialize;
use std::sync::Arc;
use wxpay::Clock;

/// The buyer token header (ARCHITECTURE §3).
pub const BUYER_TOKEN: &str = "x-buyer-token";
/// The idempotency key header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Default and largest page of the buyer's order list.
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

type Shared<S, G, C> = State<Arc<Deps<S, G, C>>>;

fn store_failure(error: &StoreError) -> StorefrontError {
    tracing::error!(error = %error, "order store failed");
    StorefrontError::Unavailable
}

/// The buyer from `X-Buyer-Token`: `None` if absent, an error if malformed.
fn buyer(headers: &HeaderMap) -> Result<Option<BuyerHash>, StorefrontError> {
    let Some(value) = headers.get(BUYER_TOKEN) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .map_err(|_| StorefrontError::BadRequest("X-Buyer-Token must be visible ASCII".into()))?;
    BuyerHash::from_token(token)
        .map(Some)
        .map_err(|e| StorefrontError::BadRequest(format!("X-Buyer-Token: {e}")))
}

fn required_buyer(headers: &HeaderMap) -> Result<BuyerHash, StorefrontError> {
    buyer(headers)?
        .ok_or_else(|| StorefrontError::BadRequest("X-Buyer-Token header is required".into()))
}

fn order_no(raw: &str) -> Result<OrderNo, StorefrontError> {
    OrderNo::parse(raw).map_err(|e| StorefrontError::BadRequest(e.to_string()))
}

/// `GET /api/product/list`: `data.productList` with server-side prices in fen.
pub async fn list_products<S: StorefrontStore, G: PaymentGateway, C: Clock>(
    State(state): Shared<S, G, C>,
) -> Result<Response, StorefrontError> {
    let products = state
        .store
        .list_products()
        .await
        .map_err(|e| store_failure(&e))?;
    let list = ProductList {
        product_list: products.iter().map(ProductView::from).collect(),
    };
    Ok(envelope::ok("ok", list))
}

/// `POST /api/wx-pay/native/{productId}`: places (or, with the same `Idempotency-Key`, returns
/// again) a Native order. The body is never read: price and title come from the catalog.
pub async fn place_order<S: StorefrontStore, G: PaymentGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(product_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, StorefrontError> {
    if !orders::domain::product::valid_product_id(&product_id) {
        return Err(StorefrontError::BadRequest("malformed product id".into()));
    }
    let idempotency_key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| {
                    StorefrontError::BadRequest("Idempotency-Key must be visible ASCII".into())
                })?
                .to_owned(),
        ),
    };
    let request = PlaceOrderRequest {
        product_id,
        buyer: buyer(&headers)?,
        idempotency_key,
    };
    let placed = place_native_order(
        &state.store,
        &state.gateway,
        &state.clock,
        &state.order_numbers,
        &state.config,
        &state.notify_url,
        &request,
    )
    .await
    .map_err(place_error)?;
    let order = &placed.order;
    tracing::info!(out_trade_no = %order.order_no.as_str(), replayed = placed.replayed, "native order placed");
    crate::metrics::order_answered(placed.replayed);
    let qr_svg = qr::svg_for(&placed.code_url).ok_or_else(|| {
        tracing::error!(out_trade_no = %order.order_no.as_str(), "code_url cannot be encoded as a QR code");
        StorefrontError::PaymentProviderFailed
    })?;
    let data = PlacedOrderView {
        order: OrderView::from(order),
        code_url: &placed.code_url,
        qr_svg,
        replayed: placed.replayed,
    };
    Ok(envelope::ok("ok", data))
}

fn place_error(error: PlaceOrderError) -> StorefrontError {
    match error {
        PlaceOrderError::UnknownProduct => StorefrontError::ProductNotFound,
        PlaceOrderError::InvalidIdempotencyKey => StorefrontError::BadRequest(
            "Idempotency-Key must be 1–128 visible ASCII characters".into(),
        ),
        PlaceOrderError::NotPayable(status) => StorefrontError::Conflict(format!(
            "the order for this Idempotency-Key is {}",
            status.as_str()
        )),
        PlaceOrderError::Expired => {
            StorefrontError::Conflict("the order for this Idempotency-Key has expired".into())
        }
        PlaceOrderError::PrepayTimeout { order_no } => {
            tracing::warn!(out_trade_no = %order_no, "prepay timed out");
            StorefrontError::PaymentProviderTimeout
        }
        PlaceOrderError::PrepayFailed { order_no, source } => {
            tracing::warn!(out_trade_no = %order_no, error = %source, "prepay failed");
            StorefrontError::PaymentProviderFailed
        }
        PlaceOrderError::TooManyOpenOrders {
            open,
            retry_after_secs,
        } => {
            crate::metrics::order_refused("open_orders");
            StorefrontError::TooManyOpenOrders {
                open,
                retry_after_secs,
            }
        }
        PlaceOrderError::TooManyAnonymousOrders { retry_after_secs } => {
            tracing::warn!(retry_after_secs, "anonymous order cap reached");
            crate::metrics::order_refused("anonymous_rate");
            StorefrontError::TooManyAnonymousOrders { retry_after_secs }
        }
        PlaceOrderError::OrderNumber(e) => {
            tracing::error!(error = %e, "no order number");
            StorefrontError::Unavailable
        }
        PlaceOrderError::Store(e) => store_failure(&e),
    }
}

/// The tutorial's status codes: 0 "支付成功" once paid, 101 "支付中" while unpaid.
fn status_code(status: OrderStatus) -> (i32, &'static str) {
    match status {
        OrderStatus::Success => (0, "支付成功"),
        OrderStatus::Notpay => (101, "支付中"),
        OrderStatus::Closed => (102, "订单已关闭"),
        OrderStatus::Cancelled => (103, "订单已取消"),
        OrderStatus::RefundProcessing => (104, "退款中"),
        OrderStatus::Refunded => (105, "已退款"),
        OrderStatus::RefundAbnormal => (106, "退款异常"),
        OrderStatus::PartiallyRefunded => (107, "部分退款"),
    }
}

/// `GET /api/order-info/query-order-status/{orderNo}`: the status from our store (never from
/// WeChat Pay). Knowing the number (≥ 64 random bits) is what allows reading it.
pub async fn order_status<S: StorefrontStore, G: PaymentGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
) -> Result<Response, StorefrontError> {
    let order_no = order_no(&raw)?;
    let order = state
        .store
        .get_order(&order_no)
        .await
        .map_err(|e| store_failure(&e))?
        .ok_or(StorefrontError::OrderNotFound)?;
    let (code, message) = status_code(order.order_status);
    Ok(envelope::with_code(
        StatusCode::OK,
        code,
        message,
        OrderView::from(&order),
    ))
}

/// Query of the buyer's order list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/order-info/list`: the caller's own orders (by `X-Buyer-Token`), newest first.
pub async fn list_orders<S: StorefrontStore, G: PaymentGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, StorefrontError> {
    let buyer = required_buyer(&headers)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let page = match query.cursor.filter(|c| !c.is_empty()) {
        None => PageRequest::first(limit),
        Some(token) if token.len() <= 1024 => PageRequest::after(limit, Cursor::from_token(token)),
        Some(_) => return Err(StorefrontError::BadRequest("cursor too long".into())),
    };
    let page = match state.store.list_buyer_orders(&buyer, &page).await {
        Ok(page) => page,
        Err(StoreError::InvalidCursor) => {
            return Err(StorefrontError::BadRequest("invalid cursor".into()));
        }
        Err(e) => return Err(store_failure(&e)),
    };
    let data = OrderPage {
        list: page.items.iter().map(OrderView::from).collect(),
        next_cursor: page.next.as_ref().map(|c| c.as_token()),
    };
    Ok(envelope::ok("ok", data))
}

/// `POST /api/wx-pay/cancel/{orderNo}`: only the buyer token that created the order may cancel it;
/// closes at WeChat Pay, then `CANCELLED`.
pub async fn cancel<S: StorefrontStore, G: PaymentGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, StorefrontError> {
    let order_no = order_no(&raw)?;
    let buyer = required_buyer(&headers)?;
    let result = cancel_order(
        &state.store,
        &state.gateway,
        &state.clock,
        &state.config,
        &order_no,
        &buyer,
    )
    .await
    .map_err(|e| cancel_error(&order_no, e))?;
    match result {
        CancelResult::Cancelled(order) | CancelResult::AlreadyCancelled(order) => {
            Ok(envelope::ok("订单已取消", OrderView::from(&order)))
        }
        CancelResult::Paid(_) => Err(StorefrontError::Conflict(
            "the order is already paid and cannot be cancelled".into(),
        )),
    }
}

fn cancel_error(order_no: &OrderNo, error: CancelError) -> StorefrontError {
    match error {
        CancelError::NotFound => StorefrontError::OrderNotFound,
        CancelError::NotCancellable(order) => StorefrontError::Conflict(format!(
            "the order is {} and cannot be cancelled",
            order.order_status.as_str()
        )),
        CancelError::GatewayTimeout => StorefrontError::PaymentProviderTimeout,
        CancelError::Close(e) => {
            tracing::warn!(out_trade_no = %order_no.as_str(), error = %e, "close not confirmed at WeChat Pay");
            StorefrontError::PaymentProviderFailed
        }
        CancelError::Store(e) => store_failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_status_has_its_tutorial_code() {
        let codes: Vec<(i32, &str)> = [
            OrderStatus::Success,
            OrderStatus::Notpay,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
            OrderStatus::RefundProcessing,
            OrderStatus::Refunded,
            OrderStatus::RefundAbnormal,
            OrderStatus::PartiallyRefunded,
        ]
        .into_iter()
        .map(status_code)
        .collect();
        assert_eq!(
            codes,
            [
                (0, "支付成功"),
                (101, "支付中"),
                (102, "订单已关闭"),
                (103, "订单已取消"),
                (104, "退款中"),
                (105, "已退款"),
                (106, "退款异常"),
                (107, "部分退款"),
            ]
        );
    }
}
