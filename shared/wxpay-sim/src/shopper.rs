//! The sandbox's own endpoints under `/sim`: the shopper who scans and pays, the order and
//! notification logs, and the fault switches. They are not signed and need no `Authorization`:
//! they stand for what happens inside WeChat, not for the merchant API.

use crate::faults::Faults;
use crate::ids;
use crate::json;
use crate::notify::log::NotificationRecord;
use crate::order::{CODE_URL_PREFIX, ScanError};
use crate::page;
use crate::state::SimState;
use crate::store::PayError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;
use wxpay::models::Transaction;
use wxpay::refund::Refund;

/// Largest body accepted by `/sim` endpoints.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most orders or notifications listed at once.
const MAX_LISTED: usize = 1000;

/// The `/sim` routes.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/sim", get(home))
        .route("/sim/scan", post(scan))
        .route("/sim/orders", get(orders))
        .route("/sim/notifications", get(notifications))
        .route(
            "/sim/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .with_state(state)
}

/// An error of a `/sim` endpoint: `{"code": "…", "message": "…"}`.
#[derive(Debug)]
pub struct ShopperError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ShopperError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ShopperError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    body: Body,
) -> Result<T, ShopperError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ShopperError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_REQUEST",
                format!("body larger than {MAX_BODY_BYTES} bytes, or unreadable"),
            )
        })?;
    json::parse(&bytes).map_err(|e| {
        ShopperError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            format!("{}: {}", e.pointer, e.issue),
        )
    })
}

/// Body of `POST /sim/scan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The `code_url` the merchant showed.
    pub code_url: String,
    /// The payer's openid; a random one if absent.
    #[serde(default)]
    pub openid: Option<String>,
}

/// Answer of `POST /sim/scan`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScanResponse {
    /// The paid order as the query API now shows it.
    pub transaction: Transaction,
    /// Id of the notification scheduled for it.
    pub notification_id: String,
}

/// `POST /sim/scan`: a shopper scans a `code_url` and pays.
async fn scan(State(state): State<Arc<SimState>>, body: Body) -> Result<Response, ShopperError> {
    let request: ScanRequest = read_json(body).await?;
    let token = request
        .code_url
        .strip_prefix(CODE_URL_PREFIX)
        .map(|rest| rest.split('&').next().unwrap_or(rest))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ShopperError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_CODE_URL",
                format!("code_url must start with {CODE_URL_PREFIX}"),
            )
        })?;
    let openid = match request.openid {
        None => ids::openid(),
        Some(id)
            if (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            id
        }
        Some(_) => {
            return Err(ShopperError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "openid must be 1 to 128 characters of [A-Za-z0-9_-]",
            ));
        }
    };
    let now = state.now();
    let order = state.store.pay(token, openid, now).map_err(|e| {
        let (status, code, message) = match e {
            PayError::UnknownCode => (
                StatusCode::NOT_FOUND,
                "CODE_URL_NOT_FOUND",
                "no order has this code_url",
            ),
            PayError::Scan(ScanError::Replaced) => (
                StatusCode::GONE,
                "CODE_URL_REPLACED",
                "a newer code_url was issued for this order; this one no longer works",
            ),
            PayError::Scan(ScanError::Stale) => (
                StatusCode::GONE,
                "CODE_URL_EXPIRED",
                "this code_url is more than 2 hours old; the merchant must prepay again",
            ),
            PayError::Scan(ScanError::Paid) => (
                StatusCode::CONFLICT,
                "ORDERPAID",
                "the order is already paid",
            ),
            PayError::Scan(ScanError::Closed) => {
                (StatusCode::CONFLICT, "ORDER_CLOSED", "the order is closed")
            }
            PayError::Scan(ScanError::Expired) => (
                StatusCode::CONFLICT,
                "ORDER_EXPIRED",
                "the order's time_expire has passed; it can no longer be paid",
            ),
            PayError::Persist(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                "the payment could not be saved",
            ),
        };
        ShopperError::new(status, code, message)
    })?;
    let notification_id = state
        .notifier
        .schedule(&state.sandbox.apiv3_key, &order, now)
        .map_err(|e| {
            ShopperError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                e.to_string(),
            )
        })?;
    tracing::info!(out_trade_no = %order.out_trade_no(), "paid by the shopper");
    Ok(axum::Json(ScanResponse {
        transaction: order.transaction(),
        notification_id,
    })
    .into_response())
}

/// Query of the list endpoints.
#[derive(Debug, Deserialize)]
struct ListQuery {
    out_trade_no: Option<String>,
    limit: Option<usize>,
}

/// One order as `GET /sim/orders` lists it.
#[derive(Debug, Serialize)]
struct OrderView {
    transaction: Transaction,
    description: String,
    code_url: String,
    #[serde(serialize_with = "wxpay::time::wechat::serialize")]
    created_at: OffsetDateTime,
    #[serde(serialize_with = "wxpay::time::wechat::serialize")]
    time_expire: OffsetDateTime,
    expired: bool,
    /// Its refunds as the query API shows them, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refunds: Vec<RefundView>,
}

/// One refund as `GET /sim/orders` lists it.
#[derive(Debug, Serialize)]
struct RefundView {
    #[serde(flatten)]
    refund: Refund,
    /// Made by hand in the merchant platform.
    platform: bool,
}

/// The body of `GET /sim/orders`.
#[derive(Debug, Serialize)]
struct OrderList {
    orders: Vec<OrderView>,
}

/// `GET /sim/orders`: newest first.
async fn orders(
    State(state): State<Arc<SimState>>,
    Query(query): Query<ListQuery>,
) -> impl IntoResponse {
    let now = state.now();
    let limit = query.limit.unwrap_or(100).min(MAX_LISTED);
    let orders: Vec<OrderView> = match query.out_trade_no {
        Some(no) => state.store.by_out_trade_no(&no).into_iter().collect(),
        None => state.store.newest(limit),
    }
    .into_iter()
    .map(|order| OrderView {
        transaction: order.transaction(),
        description: order.request.description.clone(),
        code_url: order.code.url(),
        created_at: order.created_at,
        time_expire: order.time_expire,
        expired: order.is_expired(now),
        refunds: order
            .refunds
            .iter()
            .map(|r| RefundView {
                refund: r.answer(&order),
                platform: r.external,
            })
            .collect(),
    })
    .collect();
    axum::Json(OrderList { orders })
}

/// `GET /sim/notifications`: newest first, each with its attempts.
async fn notifications(
    State(state): State<Arc<SimState>>,
    Query(query): Query<ListQuery>,
) -> impl IntoResponse {
    let limit = query.limit.unwrap_or(100).min(MAX_LISTED);
    let records: Vec<NotificationRecord> = state
        .notifier
        .log()
        .newest(query.out_trade_no.as_deref(), limit);
    axum::Json(NotificationList {
        notifications: records,
    })
}

/// The body of `GET /sim/notifications`.
#[derive(Debug, Serialize)]
struct NotificationList {
    notifications: Vec<NotificationRecord>,
}

/// `GET /sim/faults`.
async fn get_faults(State(state): State<Arc<SimState>>) -> impl IntoResponse {
    axum::Json(state.faults.current())
}

/// `POST /sim/faults`: replaces the switches; answers the switches now in force.
async fn set_faults(
    State(state): State<Arc<SimState>>,
    body: Body,
) -> Result<Response, ShopperError> {
    let faults: Faults = read_json(body).await?;
    state
        .faults
        .set(faults)
        .map_err(|m| ShopperError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", m))?;
    tracing::info!(faults = ?state.faults.current(), "fault switches set");
    Ok(axum::Json(state.faults.current()).into_response())
}

/// `DELETE /sim/faults`: everything off.
async fn clear_faults(State(state): State<Arc<SimState>>) -> StatusCode {
    state.faults.clear();
    tracing::info!("fault switches cleared");
    StatusCode::NO_CONTENT
}

/// `GET /sim`: the shopper's page.
async fn home(State(state): State<Arc<SimState>>) -> Html<String> {
    let now = state.now();
    Html(page::render(
        &state.sandbox,
        &state.store.newest(100),
        &state.notifier.log().newest(None, 50),
        &state.faults.current(),
        now,
    ))
}
