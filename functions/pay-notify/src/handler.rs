//! The notification handler and the mapping of every outcome to WeChat Pay's expected answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orders::OrdersConfig;
use orders::ports::{EvidenceRecorder, OrderReader, OrderSettler};
use orders::services::{SettleError, SettleResult, settle_transaction};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wxpay::verify::VerifyError;
use wxpay::{Clock, NotificationError, NotificationParser};

/// The notification path (contract).
pub const NOTIFY_PATH: &str = "/api/wx-pay/native/notify";
/// Largest notification body accepted; real ones are about 1 KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// WeChat Pay waits 5 s; answer well within that.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(4000);

/// What the handler needs; built once per cold start.
pub struct NotifyState<S, C> {
    /// Verifies and decrypts notifications.
    pub parser: NotificationParser,
    /// Reads and settles orders.
    pub store: S,
    /// Time, for the signature window and the settle.
    pub clock: C,
    /// Merchant identity checked against each transaction.
    pub config: OrdersConfig,
    /// Bound on the whole handling (verification, certificate refresh, store).
    pub deadline: Duration,
}

/// The notification route with its body limit.
pub fn router<S, C>(state: Arc<NotifyState<S, C>>) -> Router
where
    S: OrderReader + OrderSettler + EvidenceRecorder + 'static,
    C: Clock + 'static,
{
    Router::new()
        .route(NOTIFY_PATH, post(notify::<S, C>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

fn fail(status: StatusCode, message: &str) -> Response {
    answer(status, "FAIL", message)
}

async fn notify<S, C>(
    State(state): State<Arc<NotifyState<S, C>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    S: OrderReader + OrderSettler + EvidenceRecorder,
    C: Clock,
{
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            tracing::warn!(alert = "notify_verification_failed", reason = "body", error = %rejection, "notification body rejected");
            return fail(rejection.status(), "request body rejected");
        }
    };
    match tokio::time::timeout(state.deadline, handle(&state, &headers, &body)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("notification handling exceeded its deadline");
            fail(StatusCode::SERVICE_UNAVAILABLE, "timed out, retry later")
        }
    }
}

async fn handle<S, C>(state: &NotifyState<S, C>, headers: &HeaderMap, body: &[u8]) -> Response
where
    S: OrderReader + OrderSettler + EvidenceRecorder,
    C: Clock,
{
    let now = state.clock.now();
    let notification = match state.parser.parse_transaction(headers, body, now).await {
        Ok(notification) => notification,
        Err(NotificationError::Verify(VerifyError::SignTestProbe)) => {
            // WeChat Pay checking that we verify: refuse, and it re-sends a genuine one.
            tracing::info!("WECHATPAY/SIGNTEST probe refused");
            return fail(StatusCode::UNAUTHORIZED, "signature verification failed");
        }
        Err(NotificationError::Verify(VerifyError::CertificatesUnavailable(reason))) => {
            tracing::error!(reason = %reason, "platform certificates unavailable");
            return fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot verify now, retry later",
            );
        }
        Err(NotificationError::Verify(error)) => {
            tracing::warn!(alert = "notify_verification_failed", reason = %error, "notification signature refused");
            return fail(StatusCode::UNAUTHORIZED, "signature verification failed");
        }
        Err(error) => {
            tracing::warn!(alert = "notify_verification_failed", reason = %error, "notification refused");
            return fail(StatusCode::BAD_REQUEST, "malformed notification");
        }
    };
    let transaction = &notification.transaction;
    let out_trade_no = transaction.out_trade_no.as_str();
    match settle_transaction(&state.store, &state.clock, &state.config, transaction).await {
        Ok(SettleResult::Settled(_)) => {
            tracing::info!(out_trade_no, notification_id = %notification.id, "order settled by notification");
            answer(StatusCode::OK, "SUCCESS", "成功")
        }
        Ok(SettleResult::AlreadySettled(_)) => {
            tracing::info!(out_trade_no, notification_id = %notification.id, "duplicate notification");
            answer(StatusCode::OK, "SUCCESS", "成功")
        }
        Ok(SettleResult::SettledAfterClose(_) | SettleResult::DoublePayment(_)) => {
            // Recorded durably with an alert (logged by the settle): WeChat Pay holds the money
            // whatever we answer, so retries would change nothing.
            tracing::info!(out_trade_no, notification_id = %notification.id, "payment of a closed or settled order recorded");
            answer(StatusCode::OK, "SUCCESS", "成功")
        }
        Err(SettleError::Store(error)) => {
            tracing::error!(out_trade_no, error = %error, "store failed while settling");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "temporarily unable to record, retry later",
            )
        }
        Err(error) => {
            // Genuinely signed by WeChat Pay, yet wrong for us: nothing settled, the evidence is
            // stored (by the settle) and logged.
            tracing::error!(
                alert = "notify_verification_failed",
                reason = %error,
                out_trade_no,
                notification_id = %notification.id,
                transaction_id = transaction.transaction_id.as_deref().unwrap_or(""),
                mchid = %transaction.mchid,
                appid = %transaction.appid,
                amount_total = ?transaction.amount.as_ref().and_then(|a| a.total),
                trade_state = transaction.trade_state.as_str(),
                "notification does not match the order; nothing settled"
            );
            fail(
                StatusCode::BAD_REQUEST,
                "notification does not match the order",
            )
        }
    }
}
