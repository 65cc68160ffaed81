//! The merchant-facing API under `/v3/…`, guarded like WeChat Pay.
//!
//! Every call passes, in order: the `User-Agent`/`Accept` check (400 `INVALID_REQUEST`), the body
//! limit (64 KiB, 413), the API fault switch (500 `SYSTEM_ERROR`, 429 `FREQUENCY_LIMITED`, or a
//! hang), the `Authorization` check (401 `SIGN_ERROR`), the handler, and finally the signing of
//! every 2xx answer, 204 included, but for the bill download, which WeChat Pay does not sign. Every answer carries a `Request-ID` whose suffix is 0 or the
//! error's number.

mod bills;
pub mod error;
mod handlers;
mod refunds;

use crate::auth::{self, Authenticated};
use crate::config::SigningMode;
use crate::faults::ApiFaultKind;
use crate::state::SimState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::{ApiError, ErrorNumber};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, USER_AGENT};
use http::{HeaderValue, request::Parts};
use std::sync::Arc;
use std::time::Duration;
use wxpay::random::{self, OsRandom};

/// Largest request body of the merchant API.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Forces the key a handler's answer is signed with, whatever the request asked for and whatever
/// the `sign_with_other_key` fault says: the certificate list is signed by a listed certificate
/// (the only key a downloader can check it with) unless the request names the public key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignWith(pub SigningMode);

/// Marks a 2xx answer that WeChat Pay does not sign (the bill download, §8).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsigned;

/// The `/v3` routes.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v3/pay/transactions/native", post(handlers::native_prepay))
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(handlers::query_by_out_trade_no),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(handlers::close),
        )
        .route(
            "/v3/pay/transactions/id/{transaction_id}",
            get(handlers::query_by_transaction_id),
        )
        .route("/v3/refund/domestic/refunds", post(refunds::create))
        .route(
            "/v3/refund/domestic/refunds/{out_refund_no}",
            get(refunds::query),
        )
        .route("/v3/certificates", get(handlers::certificates))
        .route(wxpay::bill::TRADE_BILL_PATH, get(bills::trade_bill))
        .route(wxpay::bill::DOWNLOAD_PATH, get(bills::download))
        .route("/v3/{*rest}", axum::routing::any(handlers::no_such_api))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Runs the checks around the handler and signs its answer.
async fn guard(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let request_id = random::upper_hex(&OsRandom, 44);
    let mut response = match checked(state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let number = response
        .extensions()
        .get::<ErrorNumber>()
        .map_or(0, |n| n.0);
    if let Ok(value) = HeaderValue::from_str(&format!("{request_id}-{number}")) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

async fn checked(state: Arc<SimState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let present = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty())
    };
    if !present(USER_AGENT) || !present(ACCEPT) {
        return Err(ApiError::invalid_request("Http头缺少Accept或User-Agent"));
    }
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::too_large(MAX_BODY_BYTES))?;
    match state.faults.api_fault_for(parts.uri.path()) {
        None => authorized(state, parts, body, next).await,
        Some(fault) => match fault.kind {
            ApiFaultKind::SystemError => Err(ApiError::system_error()),
            ApiFaultKind::FrequencyLimited => Err(ApiError::frequency_limited()),
            ApiFaultKind::Hang => {
                // Processed even if the client gives up meanwhile, as a slow WeChat Pay would.
                let task = tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(fault.hang_ms)).await;
                    authorized(state, parts, body, next).await
                });
                task.await.unwrap_or_else(|_| Err(ApiError::system_error()))
            }
        },
    }
}

async fn authorized(
    state: Arc<SimState>,
    mut parts: Parts,
    body: bytes::Bytes,
    next: Next,
) -> Result<Response, ApiError> {
    // The signature covers the path and query exactly as sent (the router is mounted at the root).
    let canonical = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let authorization = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authenticated: Authenticated = auth::authenticate(
        &state.sandbox,
        parts.method.as_str(),
        &canonical,
        authorization,
        &body,
        state.now(),
    )
    .map_err(ApiError::sign)?;
    let requested_serial = parts
        .headers
        .get("wechatpay-serial")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    parts.extensions.insert(authenticated);
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    if !response.status().is_success() || response.extensions().get::<Unsigned>().is_some() {
        return Ok(response);
    }
    sign_response(&state, requested_serial.as_deref(), response).await
}

/// Adds the `Wechatpay-*` headers to a 2xx answer.
async fn sign_response(
    state: &SimState,
    requested_serial: Option<&str>,
    response: Response,
) -> Result<Response, ApiError> {
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::system_error())?;
    let flip = state.faults.current().sign_with_other_key;
    let mode = match parts.extensions.get::<SignWith>() {
        Some(SignWith(mode)) => *mode,
        None => state.signer.mode_for(requested_serial, flip),
    };
    let headers = state
        .signer
        .sign(
            mode,
            state.now().unix_timestamp(),
            random::hex(&OsRandom, 32),
            &body,
        )
        .map_err(|_| ApiError::system_error())?;
    headers.write_to(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::from(body)))
}
