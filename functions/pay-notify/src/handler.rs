//! The notification handler: verify, decrypt, then settle the payment or apply the refund; every
//! refusal is a [`NotifyError`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orders::OrdersConfig;
use orders::ports::RefundRecorder;
use orders::services::settle::SettleStore;
use orders::services::{SettleResult, apply_refund_notification, settle_transaction};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wxpay::notify::Notification;
use wxpay::{Clock, NotificationParser, RefundNotification, TransactionNotification};

use crate::error::NotifyError;
use crate::metrics::{Outcome, settle_delay};

/// The notification path (contract).
pub const NOTIFY_PATH: &str = "/api/wx-pay/native/notify";
/// Largest notification body accepted; real ones are about 1 KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// WeChat Pay waits 5 s; answer well within that.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(4000);

/// The storage capabilities the notification handler uses (and its IAM policy grants).
pub trait NotifyStore: SettleStore + RefundRecorder + 'static {}

impl<T> NotifyStore for T where T: SettleStore + RefundRecorder + 'static {}

/// What the handler needs; built once per cold start.
pub struct Deps<S, C> {
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
pub fn router<S, C>(state: Arc<Deps<S, C>>) -> Router
where
    S: NotifyStore,
    C: Clock + 'static,
{
    Router::new()
        .route(NOTIFY_PATH, post(notify::<S, C>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// WeChat Pay's acknowledgement: `200 {"code": "SUCCESS"}`, only once the payment or refund is
/// durable.
fn success() -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "code": "SUCCESS", "message": "成功" })),
    )
        .into_response()
}

async fn notify<S, C>(
    State(state): State<Arc<Deps<S, C>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, NotifyError>
where
    S: NotifyStore,
    C: Clock,
{
    let body = body?;
    tokio::time::timeout(state.deadline, handle(&state, &headers, &body))
        .await
        .map_err(|_| NotifyError::DeadlineExceeded)?
}

async fn handle<S, C>(
    state: &Deps<S, C>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, NotifyError>
where
    S: NotifyStore,
    C: Clock,
{
    let now = state.clock.now();
    match state.parser.parse(headers, body, now).await? {
        Notification::Transaction(notification) => payment(state, notification).await?,
        Notification::Refund(notification) => refund(state, notification).await?,
    }
    Ok(success())
}

async fn payment<S, C>(
    state: &Deps<S, C>,
    notification: TransactionNotification,
) -> Result<(), NotifyError>
where
    S: NotifyStore,
    C: Clock,
{
    let transaction = &notification.transaction;
    let out_trade_no = transaction.out_trade_no.as_str();
    let settled = settle_transaction(&state.store, &state.clock, &state.config, transaction).await;
    match settled {
        Ok(SettleResult::Settled(order)) => {
            tracing::info!(out_trade_no, notification_id = %notification.id, "order settled by notification");
            Outcome::Settled.count();
            settle_delay(order.success_time, state.clock.now());
        }
        Ok(SettleResult::AlreadySettled(_)) => {
            tracing::info!(out_trade_no, notification_id = %notification.id, "duplicate notification");
            Outcome::Duplicate.count();
        }
        Ok(SettleResult::SettledAfterClose(_) | SettleResult::DoublePayment(_)) => {
            // Recorded durably with an alert (logged by the settle): WeChat Pay holds the money
            // whatever we answer, so retries would change nothing.
            tracing::info!(out_trade_no, notification_id = %notification.id, "payment of a closed or settled order recorded");
            Outcome::Recorded.count();
        }
        Err(error) => return Err(NotifyError::settle(notification, error)),
    }
    Ok(())
}

async fn refund<S, C>(
    state: &Deps<S, C>,
    notification: RefundNotification,
) -> Result<(), NotifyError>
where
    S: NotifyStore,
    C: Clock,
{
    let resource = &notification.refund;
    match apply_refund_notification(&state.store, &state.clock, &state.config, resource).await {
        Ok(result) => {
            tracing::info!(
                out_trade_no = %resource.out_trade_no,
                out_refund_no = %resource.out_refund_no,
                notification_id = %notification.id,
                state = result.refund.state.as_str(),
                order_status = result.order.order_status.as_str(),
                "refund notification applied"
            );
            Outcome::RefundApplied.count();
            Ok(())
        }
        Err(error) => Err(NotifyError::refund(notification, error)),
    }
}
