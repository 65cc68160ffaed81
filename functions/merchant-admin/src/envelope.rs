//! The admin API's answer shape, `{"code": 0, "message": "...", "data": {...}}` with the matching
//! HTTP status, and the one place where errors become answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful answer with `status` (200, 201, 202) and business `code` 0.
pub fn ok(status: StatusCode, message: &str, data: impl Serialize) -> Response {
    (
        status,
        Json(Envelope {
            code: 0,
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

/// Every way an admin request fails. Messages are safe to show: no internal error text reaches
/// the answer (it is logged instead).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Malformed input; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// No authenticated principal on the request.
    #[error("authentication required")]
    Unauthenticated,
    /// No such order.
    #[error("order not found")]
    OrderNotFound,
    /// No such product.
    #[error("product not found")]
    ProductNotFound,
    /// The rules or WeChat Pay refuse it; the message says why.
    #[error("{0}")]
    Conflict(String),
    /// Our store failed.
    #[error("service unavailable, please try again")]
    Unavailable,
}

impl AdminError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::OrderNotFound | Self::ProductNotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        (
            status,
            Json(Envelope {
                code: i32::from(status.as_u16()),
                message: &self.to_string(),
                data: (),
            }),
        )
            .into_response()
    }
}
