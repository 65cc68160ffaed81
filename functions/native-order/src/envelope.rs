//! The storefront API's answer shape, `{"code": 0, "message": "...", "data": {...}}` with the
//! matching HTTP status, and the one place where errors become answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful answer: `code` 0 unless a legacy code is asked for (the tutorial's status poll
/// answers 101 "支付中" while an order is unpaid).
pub fn ok(message: &str, data: impl Serialize) -> Response {
    with_code(StatusCode::OK, 0, message, data)
}

/// An answer with an explicit business `code`.
pub fn with_code(status: StatusCode, code: i32, message: &str, data: impl Serialize) -> Response {
    (
        status,
        Json(Envelope {
            code,
            message,
            data,
        }),
    )
        .into_response()
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i32,
    message: &'a str,
    data: T,
}

/// Every way a storefront request fails. The message is fixed per variant and safe to show: no
/// internal error text reaches the answer (it is logged instead).
#[derive(Debug, thiserror::Error)]
pub enum StorefrontError {
    /// Malformed input; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// No such product.
    #[error("product not found")]
    ProductNotFound,
    /// No such order (or not the caller's).
    #[error("order not found")]
    OrderNotFound,
    /// The order is in a state that does not allow the operation.
    #[error("{0}")]
    Conflict(String),
    /// WeChat Pay refused or failed.
    #[error("WeChat Pay is unavailable, please try again")]
    PaymentProviderFailed,
    /// WeChat Pay did not answer in time.
    #[error("WeChat Pay did not answer in time, please try again")]
    PaymentProviderTimeout,
    /// Our store failed.
    #[error("service unavailable, please try again")]
    Unavailable,
}

impl StorefrontError {
    fn status_and_code(&self) -> (StatusCode, i32) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
            Self::ProductNotFound | Self::OrderNotFound => (StatusCode::NOT_FOUND, 404),
            Self::Conflict(_) => (StatusCode::CONFLICT, 409),
            Self::PaymentProviderFailed => (StatusCode::BAD_GATEWAY, 502),
            Self::PaymentProviderTimeout => (StatusCode::GATEWAY_TIMEOUT, 504),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, 503),
        }
    }
}

impl IntoResponse for StorefrontError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        with_code(status, code, &self.to_string(), ())
    }
}
