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
    /// The buyer token has as many unpaid orders as `MAX_OPEN_ORDERS_PER_BUYER` allows; the
    /// first of them expires in `retry_after_secs`.
    #[error("you have {open} unpaid orders: pay or cancel one of them, or wait until one expires")]
    TooManyOpenOrders {
        /// Unpaid orders found.
        open: u32,
        /// Seconds until the first expires (`Retry-After`).
        retry_after_secs: u64,
    },
    /// `ANONYMOUS_ORDERS_PER_MINUTE` orders without buyer token were placed this minute.
    #[error("too many orders right now, please try again in a minute")]
    TooManyAnonymousOrders {
        /// Seconds until the next minute (`Retry-After`).
        retry_after_secs: u64,
    },
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
            Self::TooManyOpenOrders { .. } => (StatusCode::TOO_MANY_REQUESTS, TOO_MANY_OPEN_ORDERS),
            Self::TooManyAnonymousOrders { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, TOO_MANY_ANONYMOUS_ORDERS)
            }
            Self::PaymentProviderFailed => (StatusCode::BAD_GATEWAY, 502),
            Self::PaymentProviderTimeout => (StatusCode::GATEWAY_TIMEOUT, 504),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, 503),
        }
    }
}

/// `code` of a 429 for `MAX_OPEN_ORDERS_PER_BUYER` (the buyer's own unpaid orders).
pub const TOO_MANY_OPEN_ORDERS: i32 = 4291;
/// `code` of a 429 for `ANONYMOUS_ORDERS_PER_MINUTE` (orders without buyer token).
pub const TOO_MANY_ANONYMOUS_ORDERS: i32 = 4292;

impl IntoResponse for StorefrontError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = match &self {
            Self::TooManyOpenOrders {
                retry_after_secs, ..
            }
            | Self::TooManyAnonymousOrders { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let mut response = with_code(status, code, &self.to_string(), ());
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
