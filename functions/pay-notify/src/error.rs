//! Every way a notification is not acknowledged, and the one place where they become WeChat Pay's
//! answers (`{"code": "FAIL", "message": ...}` with a non-2xx status, so that it retries) and log
//! lines. The messages are fixed per variant: no internal error text reaches the answer.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orders::ports::StoreError;
use orders::services::{RefundNotificationError, SettleError};
use serde_json::json;
use wxpay::verify::VerifyError;
use wxpay::{NotificationError, RefundNotification, TransactionNotification};

use crate::metrics::{Outcome, Refusal};

/// The `alert` field of the log lines of notifications refused as not genuine, malformed, or
/// wrong for us (counted in `NotificationsRefused`, [`Refusal`]).
pub const VERIFICATION_FAILED_ALERT: &str = "notify_verification_failed";

/// Why a notification was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The body could not be read (e.g. over the limit) [the rejection's status, 413].
    #[error("request body rejected: {0}")]
    Body(#[from] BytesRejection),
    /// A `WECHATPAY/SIGNTEST` probe: WeChat Pay checking that we verify; it re-sends a genuine
    /// one [401, no alert].
    #[error("WECHATPAY/SIGNTEST probe refused")]
    SignTestProbe,
    /// The platform certificates could not be loaded: we cannot verify now [503, no alert].
    #[error("platform certificates unavailable: {0}")]
    CertificatesUnavailable(String),
    /// The signature or its headers were refused [401].
    #[error("notification signature refused: {0}")]
    Signature(VerifyError),
    /// Verified, but not a payment notification we can decrypt and read [400].
    #[error("notification refused: {0}")]
    Malformed(NotificationError),
    /// The store failed while settling or applying a refund; WeChat Pay retries [500].
    #[error("store failed while recording for {out_trade_no}: {source}")]
    Store {
        /// The order named by the notification.
        out_trade_no: String,
        /// What failed.
        source: StoreError,
    },
    /// Genuinely signed by WeChat Pay, yet wrong for us (mismatch, unknown order, not paid):
    /// nothing settled, the evidence stored by the settle [400].
    #[error("notification does not match the order: {source}")]
    Mismatch {
        /// The notification, for the alert's fields.
        notification: Box<TransactionNotification>,
        /// Why the settle refused it.
        source: SettleError,
    },
    /// A genuinely signed refund notification that is wrong for us (another merchant, a number
    /// that cannot be ours, an unknown order or status): nothing applied, the evidence kept [400].
    #[error("refund notification refused: {source}")]
    RefundRefused {
        /// The notification, for the alert's fields.
        notification: Box<RefundNotification>,
        /// Why it was refused.
        source: RefundNotificationError,
    },
    /// Handling took longer than the deadline; WeChat Pay retries [503].
    #[error("notification handling exceeded its deadline")]
    DeadlineExceeded,
}

impl From<NotificationError> for NotifyError {
    fn from(error: NotificationError) -> Self {
        match error {
            NotificationError::Verify(VerifyError::SignTestProbe) => Self::SignTestProbe,
            NotificationError::Verify(VerifyError::CertificatesUnavailable(reason)) => {
                Self::CertificatesUnavailable(reason)
            }
            NotificationError::Verify(error) => Self::Signature(error),
            error => Self::Malformed(error),
        }
    }
}

impl NotifyError {
    /// The settle's refusal of `notification`.
    pub fn settle(notification: TransactionNotification, error: SettleError) -> Self {
        match error {
            SettleError::Store(source) => Self::Store {
                out_trade_no: notification.transaction.out_trade_no,
                source,
            },
            source => Self::Mismatch {
                notification: Box::new(notification),
                source,
            },
        }
    }

    /// The refusal of a refund `notification`.
    pub fn refund(notification: RefundNotification, error: RefundNotificationError) -> Self {
        match error {
            RefundNotificationError::Store(source) => Self::Store {
                out_trade_no: notification.refund.out_trade_no,
                source,
            },
            source => Self::RefundRefused {
                notification: Box::new(notification),
                source,
            },
        }
    }

    /// The answer's status and message.
    fn status_and_message(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Body(rejection) => (rejection.status(), "request body rejected"),
            Self::SignTestProbe | Self::Signature(_) => {
                (StatusCode::UNAUTHORIZED, "signature verification failed")
            }
            Self::CertificatesUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot verify now, retry later",
            ),
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed notification"),
            Self::Store { .. } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "temporarily unable to record, retry later",
            ),
            Self::Mismatch { .. } | Self::RefundRefused { .. } => (
                StatusCode::BAD_REQUEST,
                "notification does not match the order",
            ),
            Self::DeadlineExceeded => (StatusCode::SERVICE_UNAVAILABLE, "timed out, retry later"),
        }
    }

    /// Counts the notification: a refusal by its reason, else its outcome.
    fn count(&self) {
        match self {
            Self::Body(_) => Refusal::Body.count(),
            Self::SignTestProbe => Outcome::Probe.count(),
            Self::Signature(_) => Refusal::Signature.count(),
            Self::Malformed(_) => Refusal::Malformed.count(),
            Self::Mismatch { .. } => Refusal::Mismatch.count(),
            Self::RefundRefused { .. } => Refusal::RefundMismatch.count(),
            Self::CertificatesUnavailable(_) | Self::Store { .. } | Self::DeadlineExceeded => {
                Outcome::RetryLater.count()
            }
        }
    }

    /// The log line of the refusal (with the alert field where the metric counts it).
    fn log(&self) {
        match self {
            Self::Body(rejection) => {
                tracing::warn!(alert = VERIFICATION_FAILED_ALERT, reason = "body", error = %rejection, "notification body rejected");
            }
            Self::SignTestProbe => tracing::info!("WECHATPAY/SIGNTEST probe refused"),
            Self::CertificatesUnavailable(reason) => {
                tracing::error!(reason = %reason, "platform certificates unavailable");
            }
            Self::Signature(error) => {
                tracing::warn!(alert = VERIFICATION_FAILED_ALERT, reason = %error, "notification signature refused");
            }
            Self::Malformed(error) => {
                tracing::warn!(alert = VERIFICATION_FAILED_ALERT, reason = %error, "notification refused");
            }
            Self::Store {
                out_trade_no,
                source,
            } => {
                tracing::error!(out_trade_no, error = %source, "store failed while recording a notification");
            }
            Self::Mismatch {
                notification,
                source,
            } => {
                let transaction = &notification.transaction;
                tracing::error!(
                    alert = VERIFICATION_FAILED_ALERT,
                    reason = %source,
                    out_trade_no = transaction.out_trade_no.as_str(),
                    notification_id = %notification.id,
                    transaction_id = transaction.transaction_id.as_deref().unwrap_or(""),
                    mchid = %transaction.mchid,
                    appid = %transaction.appid,
                    amount_total = ?transaction.amount.as_ref().and_then(|a| a.total),
                    trade_state = transaction.trade_state.as_str(),
                    "notification does not match the order; nothing settled"
                );
            }
            Self::RefundRefused {
                notification,
                source,
            } => {
                let refund = &notification.refund;
                tracing::error!(
                    alert = VERIFICATION_FAILED_ALERT,
                    reason = %source,
                    out_trade_no = refund.out_trade_no.as_str(),
                    out_refund_no = refund.out_refund_no.as_str(),
                    notification_id = %notification.id,
                    refund_id = refund.refund_id.as_str(),
                    mchid = %refund.mchid,
                    refund_status = refund.refund_status.as_str(),
                    amount_refund = refund.amount.refund,
                    "refund notification refused; nothing applied"
                );
            }
            Self::DeadlineExceeded => {
                tracing::error!("notification handling exceeded its deadline")
            }
        }
    }
}

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        self.log();
        self.count();
        let (status, message) = self.status_and_message();
        (status, Json(json!({ "code": "FAIL", "message": message }))).into_response()
    }
}
