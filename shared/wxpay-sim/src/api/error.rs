//! Error answers of the merchant API, in WeChat Pay's shape (§9):
//! `{"code": "…", "message": "…", "detail": {…}}`, unsigned, as production may send them.

use crate::auth::SignFailure;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde_json::{Value, json};

/// The numeric error code WeChat Pay appends to `Request-ID` (`…-268443699`), 0 on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorNumber(pub u32);

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `code`.
    pub code: &'static str,
    /// `message`.
    pub message: String,
    /// `detail`, when there is one.
    pub detail: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// 400 `PARAM_ERROR` about `field` (a JSON pointer for the body, a name for path or query).
    pub fn param(field: &str, location: &str, issue: impl Into<String>) -> Self {
        let issue = issue.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            format!("参数错误：{field} {issue}"),
        )
        .with_detail(json!({"field": field, "location": location, "issue": issue}))
    }

    /// 400 `INVALID_REQUEST`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 413 `INVALID_REQUEST`: the body is larger than `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "INVALID_REQUEST",
            format!("request body larger than {limit} bytes, or unreadable"),
        )
    }

    /// 401 `SIGN_ERROR`, in the shape merchants observe (§1.5).
    pub fn sign(failure: SignFailure) -> Self {
        let mut detail = json!({
            "field": failure.field,
            "location": "authorization",
            "detail": {"issue": failure.issue},
        });
        if let (Some(info), Some(map)) = (failure.sign_information, detail.as_object_mut()) {
            map.insert("sign_information".into(), json!(info));
        }
        Self::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", failure.message).with_detail(detail)
    }

    /// 400 `APPID_MCHID_NOT_MATCH`.
    pub fn appid_mchid_not_match() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mchid不匹配，请检查appid是否已绑定到该商户号",
        )
        .with_detail(json!({"field": "/appid", "location": "body"}))
    }

    /// 400 `INVALID_REQUEST`: the body's mchid is not the header's.
    pub fn mchid_mismatch() -> Self {
        Self::invalid_request("http header中的mchid与post payload中的mchid不匹配")
            .with_detail(json!({"field": "/mchid", "location": "body"}))
    }

    /// 403 `OUT_TRADE_NO_USED`.
    pub fn out_trade_no_used() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "OUT_TRADE_NO_USED",
            "商户订单号重复：请求重入时，参数与首次请求时不一致",
        )
    }

    /// 403 `ORDERPAID`.
    pub fn order_paid() -> Self {
        Self::new(StatusCode::FORBIDDEN, "ORDERPAID", "订单已支付")
    }

    /// 400 `ORDER_CLOSED`.
    pub fn order_closed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ORDER_CLOSED",
            "订单已关闭，请使用新的商户订单号",
        )
    }

    /// 404 `ORDER_NOT_EXIST`.
    pub fn order_not_exist() -> Self {
        Self::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }

    /// 404 `RESOURCE_NOT_EXISTS` (refund APIs: no such order or refund).
    pub fn resource_not_exists(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", message)
    }

    /// 403 `RULE_LIMIT`: a business rule refuses the call.
    pub fn rule_limit(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "RULE_LIMIT", message)
    }

    /// 404 `NOT_FOUND` for a path the simulator does not serve.
    pub fn no_such_api() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such API in the simulator (Native payments and refunds only)",
        )
    }

    /// 400 `STATEMENT_CREATING`: the bill is being generated.
    pub fn statement_creating() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "STATEMENT_CREATING", "账单生成中")
    }

    /// 400 `NO_STATEMENT_EXIST`: no bill for the day.
    pub fn no_statement_exist() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NO_STATEMENT_EXIST",
            "账单文件不存在",
        )
    }

    /// 500 `SYSTEM_ERROR`.
    pub fn system_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统繁忙，请稍后重试",
        )
    }

    /// 429 `FREQUENCY_LIMITED`.
    pub fn frequency_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "FREQUENCY_LIMITED",
            "频率超限，请降低请求频率",
        )
    }

    /// The number WeChat Pay puts after the last `-` of `Request-ID` for this error.
    pub fn number(&self) -> u32 {
        match self.code {
            "SIGN_ERROR" => 268_443_699,
            "PARAM_ERROR" => 268_435_461,
            "ORDER_NOT_EXIST" | "RESOURCE_NOT_EXISTS" => 268_512_771,
            "ORDERPAID" => 268_449_538,
            "FREQUENCY_LIMITED" => 268_447_840,
            "OUT_TRADE_NO_USED" => 268_498_688,
            "APPID_MCHID_NOT_MATCH" => 268_445_527,
            "ORDER_CLOSED" => 268_447_914,
            _ => 268_435_456,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let number = self.number();
        let mut body = json!({"code": self.code, "message": self.message});
        if let (Some(detail), Some(map)) = (self.detail, body.as_object_mut()) {
            map.insert("detail".into(), detail);
        }
        let mut response = (
            self.status,
            [(CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response();
        response.extensions_mut().insert(ErrorNumber(number));
        response
    }
}
