//! The two refund endpoints (§7): create `POST /v3/refund/domestic/refunds` and query
//! `GET /v3/refund/domestic/refunds/{out_refund_no}`.

use super::error::ApiError;
use super::handlers::{body_error, json_ok, path_error};
use crate::ids;
use crate::json;
use crate::refund::{NewRefund, RefundError};
use crate::refund_timer;
use crate::state::SimState;
use crate::store::RefundStoreError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use std::sync::Arc;
use wxpay::refund::RefundRequest;
use wxpay::validate;

/// `POST /v3/refund/domestic/refunds`: accepts a refund (`PROCESSING`), or answers the refund
/// already made under the same `out_refund_no` with the same parameters.
pub(super) async fn create(
    State(state): State<Arc<SimState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: RefundRequest = json::parse(&body).map_err(body_error)?;
    validate::refund(&request).map_err(|e| ApiError::param(&e.field, "body", e.issue))?;
    let faults = state.faults.current();
    let now = state.now();
    let new = NewRefund::api(
        ids::refund_id(now),
        faults.refund_outcome,
        refund_timer::min_interval(&state),
    );
    let (made, created) = state
        .store
        .refund(request, now, new)
        .map_err(refund_error)?;
    if created {
        tracing::debug!(out_refund_no = %made.refund.out_refund_no(), "refund accepted");
        refund_timer::start_timer(&state, made.refund.out_refund_no(), &faults);
    }
    json_ok(&made.refund.answer(&made.order))
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
pub(super) async fn query(
    State(state): State<Arc<SimState>>,
    out_refund_no: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(out_refund_no) = out_refund_no.map_err(|r| path_error("out_refund_no", r))?;
    validate::out_refund_no(&out_refund_no)
        .map_err(|e| ApiError::param("out_refund_no", "path", e.issue))?;
    let found = state
        .store
        .by_out_refund_no(&out_refund_no)
        .ok_or_else(|| ApiError::resource_not_exists("退款单不存在"))?;
    json_ok(&found.refund.answer(&found.order))
}

/// WeChat Pay's answer to a refused refund. The codes of the unknown order and of the re-used
/// number are documented (§7.2, §9); the others follow the in-memory fake of `orders`. The answer
/// to a second refund of one order within a minute is unconfirmed: 429 `FREQUENCY_LIMITED` is the
/// code §9 documents for rate limits.
fn refund_error(error: RefundStoreError) -> ApiError {
    match error {
        RefundStoreError::UnknownOrder => ApiError::resource_not_exists("订单不存在"),
        RefundStoreError::Reused => ApiError::invalid_request("重入参数不一致"),
        RefundStoreError::Rule(RefundError::NotPaid) => ApiError::invalid_request("订单状态不正确"),
        RefundStoreError::Rule(RefundError::TotalMismatch) => ApiError::param(
            "/amount/total",
            "body",
            "does not equal the total of the order (订单金额与原订单不一致)",
        ),
        RefundStoreError::Rule(RefundError::Exceeds) => {
            ApiError::invalid_request("申请退款金额超过订单可退金额")
        }
        RefundStoreError::Rule(RefundError::TooMany) => ApiError::rule_limit("退款次数超过限制"),
        RefundStoreError::Rule(RefundError::TooSoon) => ApiError::frequency_limited(),
        RefundStoreError::Persist(e) => {
            tracing::error!(error = %e, "refund not saved");
            ApiError::system_error()
        }
    }
}
