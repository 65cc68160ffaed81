//! The merchant platform (商户平台) as the simulator plays it: `POST /sim/refund` refunds an order
//! by hand, under an `out_refund_no` the merchant never issued, as a merchant's staff can do in
//! WeChat Pay's web console. The refund follows the same rules and timer as one made through the
//! API (except the minute between refunds, which binds the API only), and its `REFUND.*`
//! notification goes to the order's notify URL. Unsigned, like every `/sim` endpoint.

use crate::ids;
use crate::refund::{NewRefund, RefundError, platform_request};
use crate::refund_timer;
use crate::shopper::{ShopperError, read_json};
use crate::state::SimState;
use crate::store::RefundStoreError;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wxpay::refund::Refund;
use wxpay::validate;

/// The `/sim/refund` route.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/sim/refund", post(refund))
        .with_state(state)
}

/// Body of `POST /sim/refund`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformRefundRequest {
    /// The merchant's number of the paid order.
    pub out_trade_no: String,
    /// Fen to refund; what is left of the order if absent.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Shown to the payer.
    #[serde(default)]
    pub reason: Option<String>,
    /// The refund's number; a fresh `MP…` number if absent.
    #[serde(default)]
    pub out_refund_no: Option<String>,
}

/// Answer of `POST /sim/refund`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlatformRefundResponse {
    /// The refund as the query API shows it (`PROCESSING`; the notification follows when it
    /// finishes).
    pub refund: Refund,
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> ShopperError {
    ShopperError::new(status, code, message)
}

/// `POST /sim/refund`: a refund made by hand in the merchant platform.
async fn refund(State(state): State<Arc<SimState>>, body: Body) -> Result<Response, ShopperError> {
    let asked: PlatformRefundRequest = read_json(body).await?;
    let order = state
        .store
        .by_out_trade_no(&asked.out_trade_no)
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在"))?;
    let out_refund_no = asked.out_refund_no.unwrap_or_else(ids::platform_refund_no);
    let request = platform_request(&order, out_refund_no, asked.amount, asked.reason);
    validate::refund(&request).map_err(|e| {
        refused(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            format!("{}: {}", e.field, e.issue),
        )
    })?;
    let faults = state.faults.current();
    let now = state.now();
    let new = NewRefund::platform(ids::refund_id(now), faults.refund_outcome);
    let (made, created) = state
        .store
        .refund(request, now, new)
        .map_err(platform_error)?;
    if !created {
        return Err(refused(
            StatusCode::CONFLICT,
            "INVALID_REQUEST",
            "this out_refund_no already names a refund",
        ));
    }
    refund_timer::start_timer(&state, made.refund.out_refund_no(), &faults);
    tracing::info!(out_refund_no = %made.refund.out_refund_no(), "refunded in the merchant platform");
    Ok(axum::Json(PlatformRefundResponse {
        refund: made.refund.answer(&made.order),
    })
    .into_response())
}

fn platform_error(error: RefundStoreError) -> ShopperError {
    let conflict = |message| refused(StatusCode::CONFLICT, "INVALID_REQUEST", message);
    match error {
        RefundStoreError::UnknownOrder => {
            refused(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在")
        }
        RefundStoreError::Reused => conflict("this out_refund_no already names a refund"),
        RefundStoreError::Rule(RefundError::NotPaid) => conflict("the order is not paid"),
        RefundStoreError::Rule(RefundError::Exceeds) => {
            conflict("the amount is more than is left to refund")
        }
        RefundStoreError::Rule(RefundError::TooMany) => conflict("the order has 50 refunds"),
        RefundStoreError::Rule(RefundError::TotalMismatch | RefundError::TooSoon) => {
            conflict("refused by the refund rules")
        }
        RefundStoreError::Persist(_) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "the refund could not be saved",
        ),
    }
}
