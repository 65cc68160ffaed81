//! The five Native-payment endpoints, and the answers every handler shares.

use super::SignWith;
use super::error::ApiError;
use crate::auth::Authenticated;
use crate::config::SigningMode;
use crate::json;
use crate::order::ResubmitError;
use crate::sandbox::validity_strings;
use crate::state::SimState;
use crate::store::{CloseAnswer, PrepayError};
use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde::Serialize;
use std::sync::Arc;
use wxpay::certificate::CERTIFICATE_AAD;
use wxpay::models::{
    CertificateEntry, CertificatesResponse, CloseRequest, NativePrepayRequest, NativePrepayResponse,
};
use wxpay::random::{self, OsRandom};
use wxpay::validate;

/// A 200 with a JSON body.
pub(super) fn json_ok<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|_| ApiError::system_error())?;
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response())
}

pub(super) fn body_error(error: json::BodyError) -> ApiError {
    ApiError::param(&error.pointer, "body", error.issue)
}

pub(super) fn path_error(name: &str, _rejection: PathRejection) -> ApiError {
    ApiError::param(name, "path", "is not a valid path segment")
}

/// `POST /v3/pay/transactions/native`.
pub(super) async fn native_prepay(
    State(state): State<Arc<SimState>>,
    Extension(auth): Extension<Authenticated>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: NativePrepayRequest = json::parse(&body).map_err(body_error)?;
    validate::native_prepay(&request).map_err(|e| ApiError::param(&e.field, "body", e.issue))?;
    if request.mchid != auth.mchid {
        return Err(ApiError::mchid_mismatch());
    }
    if request.appid != state.sandbox.appid {
        return Err(ApiError::appid_mchid_not_match());
    }
    let out_trade_no = request.out_trade_no.clone();
    let code = state
        .store
        .prepay(request, state.now())
        .map_err(|e| match e {
            PrepayError::Resubmit(ResubmitError::Paid) => ApiError::order_paid(),
            PrepayError::Resubmit(ResubmitError::Closed) => ApiError::order_closed(),
            PrepayError::Resubmit(ResubmitError::DifferentParameters) => {
                ApiError::out_trade_no_used()
            }
            PrepayError::Persist(e) => {
                tracing::error!(error = %e, "order not saved");
                ApiError::system_error()
            }
        })?;
    tracing::debug!(%out_trade_no, "prepay");
    json_ok(&NativePrepayResponse {
        code_url: code.url(),
    })
}

/// Checks the required `mchid` query parameter against the authenticated merchant.
fn check_mchid_query(query: Option<&str>, auth: &Authenticated) -> Result<(), ApiError> {
    let mchid = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "mchid")
            .map(|(_, value)| value.into_owned())
    });
    match mchid {
        None => Err(ApiError::param("mchid", "query", "is required")),
        Some(m) if m.is_empty() => Err(ApiError::param("mchid", "query", "is required")),
        Some(m) if m != auth.mchid => Err(ApiError::param(
            "mchid",
            "query",
            "does not match the mchid of the Authorization header",
        )),
        Some(_) => Ok(()),
    }
}

/// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`.
pub(super) async fn query_by_out_trade_no(
    State(state): State<Arc<SimState>>,
    Extension(auth): Extension<Authenticated>,
    out_trade_no: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(out_trade_no) = out_trade_no.map_err(|r| path_error("out_trade_no", r))?;
    check_mchid_query(query.as_deref(), &auth)?;
    validate::out_trade_no(&out_trade_no)
        .map_err(|e| ApiError::param("out_trade_no", "path", e.issue))?;
    let order = state
        .store
        .by_out_trade_no(&out_trade_no)
        .ok_or_else(ApiError::order_not_exist)?;
    json_ok(&order.transaction())
}

/// `GET /v3/pay/transactions/id/{transaction_id}?mchid=…`.
pub(super) async fn query_by_transaction_id(
    State(state): State<Arc<SimState>>,
    Extension(auth): Extension<Authenticated>,
    transaction_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(transaction_id) = transaction_id.map_err(|r| path_error("transaction_id", r))?;
    check_mchid_query(query.as_deref(), &auth)?;
    validate::transaction_id(&transaction_id)
        .map_err(|e| ApiError::param("transaction_id", "path", e.issue))?;
    let order = state
        .store
        .by_transaction_id(&transaction_id)
        .ok_or_else(ApiError::order_not_exist)?;
    json_ok(&order.transaction())
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`.
pub(super) async fn close(
    State(state): State<Arc<SimState>>,
    Extension(auth): Extension<Authenticated>,
    out_trade_no: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path(out_trade_no) = out_trade_no.map_err(|r| path_error("out_trade_no", r))?;
    let request: CloseRequest = json::parse(&body).map_err(body_error)?;
    validate::mchid("/mchid", &request.mchid)
        .map_err(|e| ApiError::param(&e.field, "body", e.issue))?;
    if request.mchid != auth.mchid {
        return Err(ApiError::mchid_mismatch());
    }
    validate::out_trade_no(&out_trade_no)
        .map_err(|e| ApiError::param("out_trade_no", "path", e.issue))?;
    let faults = state.faults.current();
    match state
        .store
        .close_answer(&out_trade_no, state.now(), &faults)
    {
        Ok(CloseAnswer::NoContent) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(CloseAnswer::OrderPaid) => Err(ApiError::order_paid()),
        Ok(CloseAnswer::OrderNotExist) => Err(ApiError::order_not_exist()),
        Err(e) => {
            tracing::error!(error = %e, "close not saved");
            Err(ApiError::system_error())
        }
    }
}

/// `GET /v3/certificates`: the platform certificate, encrypted with the APIv3 key (AAD
/// `certificate`), signed by that certificate, unless the request names the public key ID in
/// `Wechatpay-Serial`: answers follow the key the request names (§2.6), and a merchant in
/// public-key mode checks its key on this answer.
pub(super) async fn certificates(
    State(state): State<Arc<SimState>>,
    headers: http::HeaderMap,
) -> Result<Response, ApiError> {
    let platform = &state.sandbox.platform;
    let encrypted = wxpay::aead::encrypt(
        &state.sandbox.apiv3_key,
        &random::alphanumeric(&OsRandom, 12),
        CERTIFICATE_AAD,
        platform.cert_pem.as_bytes(),
    )
    .map_err(|_| ApiError::system_error())?;
    let (effective_time, expire_time) =
        validity_strings(platform).map_err(|_| ApiError::system_error())?;
    let mut response = json_ok(&CertificatesResponse {
        data: vec![CertificateEntry {
            serial_no: platform.serial.clone(),
            effective_time,
            expire_time,
            encrypt_certificate: encrypted,
        }],
    })?;
    let names_public_key = headers
        .get(wxpay::verify::HEADER_SERIAL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|serial| serial.trim() == state.sandbox.public_key_id);
    if !names_public_key {
        response
            .extensions_mut()
            .insert(SignWith(SigningMode::Certificate));
    }
    Ok(response)
}

/// Any other `/v3/…` path.
pub(super) async fn no_such_api() -> ApiError {
    ApiError::no_such_api()
}
