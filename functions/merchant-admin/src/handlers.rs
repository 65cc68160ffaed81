//! One handler per route: parse and validate the request, call one service or port, map the result
//! to the envelope. Internal errors are logged here and answered with fixed messages.

use crate::envelope::{self, AdminError};
use crate::principal::Principal;
use crate::state::{AdminStore, Deps};
use crate::view::{OrderDetail, OrderPage, OrderView, PaymentView, RefundAnswer, RefundView};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use orders::domain::refund::RefundRefusal;
use orders::domain::{OrderListing, OrderNo, RefundOrigin, RefundState};
use orders::ports::{Cursor, PageRequest, RefundGateway, StoreError};
use orders::services::place::MAX_IDEMPOTENCY_KEY_LEN;
use orders::services::{RefundCommand, RefundError, request_refund};
use serde::Deserialize;
use std::sync::Arc;
use wxpay::Clock;

/// The idempotency key header: the same key on the same order gives the same refund.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Default and largest page of a listing.
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;
/// Longest cursor accepted.
const MAX_CURSOR_LEN: usize = 1024;

type Shared<S, G, C> = State<Arc<Deps<S, G, C>>>;

fn store_failure(error: &StoreError) -> AdminError {
    tracing::error!(error = %error, "order store failed");
    AdminError::Unavailable
}

fn order_no(raw: &str) -> Result<OrderNo, AdminError> {
    OrderNo::parse(raw).map_err(|e| AdminError::BadRequest(e.to_string()))
}

/// The required `Idempotency-Key`: 1–128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, AdminError> {
    let value = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| AdminError::BadRequest("the Idempotency-Key header is required".into()))?;
    let key = value.to_str().unwrap_or_default();
    let valid = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(AdminError::BadRequest(format!(
            "Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(key.to_owned())
}

/// Body of `POST /admin/orders/{orderNo}/refunds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    /// Fen to refund.
    amount: i64,
    /// Shown to the payer.
    reason: Option<String>,
}

fn refund_body(body: &[u8]) -> Result<RefundBody, AdminError> {
    let body: RefundBody = serde_json::from_slice(body).map_err(|_| {
        AdminError::BadRequest(
            "the body must be JSON {\"amount\": fen, \"reason\": \"...\"}".into(),
        )
    })?;
    if body.amount < 1 {
        return Err(AdminError::BadRequest(
            "amount must be a whole number of fen, at least 1".into(),
        ));
    }
    if body.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(AdminError::BadRequest("reason must not be empty".into()));
    }
    Ok(body)
}

/// `POST /admin/orders/{orderNo}/refunds`: asks for a refund of `amount` fen. 201 once WeChat Pay
/// accepted it (`PROCESSING`, `SUCCESS`), 202 while it is still `SUBMITTING` (WeChat Pay did not
/// answer; the sweep sends it again under the same number), 200 for a repeat of the same
/// `Idempotency-Key`.
pub async fn refund<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let order_no = order_no(&raw)?;
    let key = idempotency_key(&headers)?;
    let body = refund_body(&body)?;
    // A refund this key already made: the answer is a replay (200), whatever its state.
    let replay = state
        .store
        .refunds_of(&order_no)
        .await
        .map_err(|e| store_failure(&e))?
        .iter()
        .any(|refund| refund.idempotency_key.as_deref() == Some(key.as_str()));
    let command = RefundCommand {
        amount: body.amount,
        reason: body.reason,
        origin: RefundOrigin::Merchant,
        requested_by: Some(principal.0.clone()),
        idempotency_key: Some(key),
    };
    let result = request_refund(
        &state.store,
        &state.gateway,
        &state.clock,
        &state.notify_url,
        &order_no,
        &command,
    )
    .await
    .map_err(|e| refund_error(&order_no, e))?;
    let refund = &result.refund;
    tracing::info!(
        out_trade_no = %order_no,
        out_refund_no = %refund.out_refund_no,
        amount = refund.amount,
        status = refund.state.as_str(),
        requested_by = %principal.0,
        replay,
        "refund asked"
    );
    let (status, message) = match refund.state {
        _ if replay => (StatusCode::OK, "the refund this Idempotency-Key made"),
        RefundState::Submitting => (
            StatusCode::ACCEPTED,
            "WeChat Pay did not answer yet; the refund will be sent again under the same number",
        ),
        _ => (StatusCode::CREATED, "refund accepted by WeChat Pay"),
    };
    let data = RefundAnswer {
        refund: RefundView::from(refund),
        order: OrderView::from(&result.order),
    };
    Ok(envelope::ok(status, message, data))
}

fn refund_error(order_no: &OrderNo, error: RefundError) -> AdminError {
    match error {
        RefundError::OrderNotFound => AdminError::OrderNotFound,
        RefundError::Refused(RefundRefusal::InvalidAmount) | RefundError::InvalidReason => {
            AdminError::BadRequest(error.to_string())
        }
        RefundError::Refused(_) | RefundError::KeyReused { .. } => {
            AdminError::Conflict(error.to_string())
        }
        RefundError::Rejected { .. } => {
            tracing::warn!(out_trade_no = %order_no, error = %error, "WeChat Pay refused a refund");
            AdminError::Conflict(error.to_string())
        }
        RefundError::Store(e) => store_failure(&e),
    }
}

/// `GET /admin/orders/{orderNo}`: the order with its payment records and its refunds.
pub async fn order<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let order_no = order_no(&raw)?;
    let order = state
        .store
        .get_order(&order_no)
        .await
        .map_err(|e| store_failure(&e))?
        .ok_or(AdminError::OrderNotFound)?;
    let payments = state
        .store
        .payment_records(&order_no)
        .await
        .map_err(|e| store_failure(&e))?;
    let refunds = state
        .store
        .refunds_of(&order_no)
        .await
        .map_err(|e| store_failure(&e))?;
    let data = OrderDetail {
        order: OrderView::from(&order),
        payments: payments.iter().map(PaymentView::from).collect(),
        refunds: refunds.iter().map(RefundView::from).collect(),
    };
    Ok(envelope::ok(StatusCode::OK, "ok", data))
}

/// Query of `GET /admin/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    status: Option<String>,
    paid_after_close: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

fn listing(query: &ListQuery) -> Result<OrderListing, AdminError> {
    let names = OrderListing::ALL.map(OrderListing::as_str).join(", ");
    match (query.status.as_deref(), query.paid_after_close.as_deref()) {
        (Some(status), None) => OrderListing::parse(status)
            .ok_or_else(|| AdminError::BadRequest(format!("status must be one of {names}"))),
        (None, Some("true")) => Ok(OrderListing::PaidAfterClose),
        _ => Err(AdminError::BadRequest(format!(
            "give either status (one of {names}) or paidAfterClose=true"
        ))),
    }
}

/// `GET /admin/orders?status=…&limit=…&cursor=…` (or `paidAfterClose=true`): one operator
/// listing, newest first, paged.
pub async fn list_orders<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    let listing = listing(&query)?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| AdminError::BadRequest(format!("limit must be 1–{MAX_PAGE}")))?,
    };
    let page = match query.cursor.filter(|c| !c.is_empty()) {
        None => PageRequest::first(limit),
        Some(token) if token.len() <= MAX_CURSOR_LEN => {
            PageRequest::after(limit, Cursor::from_token(token))
        }
        Some(_) => return Err(AdminError::BadRequest("cursor too long".into())),
    };
    let page = match state.store.list_orders_in(listing, &page).await {
        Ok(page) => page,
        Err(StoreError::InvalidCursor) => {
            return Err(AdminError::BadRequest("invalid cursor".into()));
        }
        Err(e) => return Err(store_failure(&e)),
    };
    let data = OrderPage {
        status: listing.as_str(),
        list: page.items.iter().map(OrderView::from).collect(),
        next_cursor: page.next.as_ref().map(Cursor::as_token),
    };
    Ok(envelope::ok(StatusCode::OK, "ok", data))
}
