//! The two bill endpoints (§8): `GET /v3/bill/tradebill` (a signed answer with the file's hash
//! and a short-lived `download_url`) and `GET /v3/billdownload/file?token=…` (the file itself,
//! for a signed request, in an unsigned answer).
//!
//! `bill_date` must be `yyyy-MM-dd`, before today and at most three calendar months back (§8)
//! in China Standard Time; today's bill answers 400 `STATEMENT_CREATING` (it is generated after
//! the day ends), a day without activity 400 `NO_STATEMENT_EXIST`, a later or earlier date
//! 400 `INVALID_REQUEST` (assumption: the codes come from WeChat Pay's error tables, which do not
//! say which one a date out of range gets). Only `bill_type=ALL` (the default) is simulated;
//! the other documented types answer `PARAM_ERROR`. `tar_type` is `GZIP` or absent (plain text).
//! An unknown or expired token answers 400 `INVALID_REQUEST` (assumption).

use super::Unsigned;
use super::error::ApiError;
use super::handlers::json_ok;
use crate::bill;
use crate::state::SimState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use time::Date;
use wxpay::bill::{TradeBillAnswer, parse_bill_date, sha1_hex};
use wxpay::time::CST;

/// `GET /v3/bill/tradebill`.
pub(super) async fn trade_bill(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(name) = query
        .keys()
        .find(|k| !matches!(k.as_str(), "bill_date" | "bill_type" | "tar_type"))
    {
        return Err(ApiError::param(
            name,
            "query",
            "is not a parameter of this API",
        ));
    }
    let date = query
        .get("bill_date")
        .ok_or_else(|| ApiError::param("bill_date", "query", "is required"))?;
    let date = parse_bill_date(date)
        .ok_or_else(|| ApiError::param("bill_date", "query", "must be yyyy-MM-dd"))?;
    match query.get("bill_type").map(String::as_str) {
        None | Some("ALL") => {}
        Some(
            "SUCCESS" | "REFUND" | "RECHARGE_REFUND" | "ALL_SPECIAL" | "SUC_SPECIAL"
            | "REF_SPECIAL",
        ) => {
            return Err(ApiError::param(
                "bill_type",
                "query",
                "only ALL is simulated",
            ));
        }
        Some(_) => return Err(ApiError::param("bill_type", "query", "is not a bill type")),
    }
    let gzip = match query.get("tar_type").map(String::as_str) {
        None => false,
        Some("GZIP") => true,
        Some(_) => return Err(ApiError::param("tar_type", "query", "must be GZIP")),
    };
    let now = state.now();
    let today = now.to_offset(CST).date();
    if date > today || date < three_months_before(today) {
        return Err(ApiError::invalid_request(
            "请检查 bill_date：只能下载三个月以内、今天以前的账单",
        ));
    }
    let faults = state.faults.current();
    if date == today || faults.bill_not_ready {
        return Err(ApiError::statement_creating());
    }
    let text = bill::trade_bill(&state.store.all(), date, state.bills.fee_rate_bp())
        .ok_or_else(ApiError::no_statement_exist)?;
    let mut hash_value = sha1_hex(text.as_bytes());
    if faults.bill_hash_mismatch {
        hash_value = sha1_hex(format!("{text}tampered").as_bytes());
    }
    let body = if gzip {
        gzip_bytes(text.as_bytes())?
    } else {
        Bytes::from(text)
    };
    json_ok(&TradeBillAnswer {
        hash_type: wxpay::bill::SHA1.to_owned(),
        hash_value,
        download_url: state.bills.issue(body, gzip, now),
    })
}

/// `GET /v3/billdownload/file?token=…`.
pub(super) async fn download(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let token = query
        .get("token")
        .ok_or_else(|| ApiError::param("token", "query", "is required"))?;
    let file = state
        .bills
        .fetch(token, state.now())
        .ok_or_else(|| ApiError::invalid_request("下载链接已失效，请重新申请账单"))?;
    let content_type = if file.gzip {
        "application/x-gzip"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = (StatusCode::OK, [(CONTENT_TYPE, content_type)], file.body).into_response();
    response.extensions_mut().insert(Unsigned);
    Ok(response)
}

fn gzip_bytes(bytes: &[u8]) -> Result<Bytes, ApiError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .map_err(|_| ApiError::system_error())
}

/// The same day three calendar months earlier (the last day of that month when it is shorter).
fn three_months_before(day: Date) -> Date {
    let (mut year, mut month) = (day.year(), day.month() as i32 - 3);
    if month < 1 {
        month += 12;
        year -= 1;
    }
    let month =
        time::Month::try_from(u8::try_from(month).unwrap_or(1)).unwrap_or(time::Month::January);
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.day().min(last)).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn three_months_back_is_calendar_months() {
        assert_eq!(
            three_months_before(date!(2026 - 05 - 31)),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            three_months_before(date!(2026 - 02 - 15)),
            date!(2025 - 11 - 15)
        );
        assert_eq!(
            three_months_before(date!(2024 - 05 - 30)),
            date!(2024 - 02 - 29)
        );
    }
}
