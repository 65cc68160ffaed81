//! What the services need from WeChat Pay.

use std::future::Future;

use wxpay::models::{NativePrepayRequest, Transaction};
use wxpay::refund::{Refund, RefundRequest};

/// A failed call to WeChat Pay, sorted by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// No answer in time: the call may or may not have taken effect (API: 504).
    #[error("WeChat Pay timed out")]
    Timeout,
    /// Unreachable or failing on its side (5xx, `SYSTEM_ERROR`); retry later (API: 502).
    #[error("WeChat Pay unavailable: {0}")]
    Unavailable(String),
    /// Throttled (429, `FREQUENCY_LIMITED`): slow down, retry later (API: 502).
    #[error("WeChat Pay throttled the call: {0}")]
    Throttled(String),
    /// The order is already paid (`ORDERPAID`): query it and settle instead.
    #[error("order already paid at WeChat Pay")]
    OrderPaid,
    /// The order is closed at WeChat Pay (`ORDER_CLOSED`).
    #[error("order closed at WeChat Pay")]
    OrderClosed,
    /// WeChat Pay does not know the order: a 404 whose body says `ORDER_NOT_EXIST` (any other 404,
    /// such as a proxy's or a wrong base URL's, is [`GatewayError::Rejected`]).
    #[error("order not found at WeChat Pay")]
    OrderNotFound,
    /// Refused with a business or parameter error (API: 502; look at the code).
    #[error("WeChat Pay refused ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// WeChat Pay error code, e.g. `PARAM_ERROR`.
        code: String,
        /// WeChat Pay's message.
        message: String,
    },
    /// The request could not be made here (invalid request, signing, configuration) [API: 502].
    #[error("request not sent: {0}")]
    NotSent(String),
    /// The answer could not be trusted or understood (signature, shape).
    #[error("invalid answer from WeChat Pay: {0}")]
    InvalidResponse(String),
}

/// The WeChat Pay operations the order services use.
pub trait PaymentGateway: Send + Sync {
    /// Native prepay; returns the `code_url`.
    fn native_prepay(
        &self,
        request: &NativePrepayRequest,
    ) -> impl Future<Output = Result<String, GatewayError>> + Send;

    /// Queries an order by `out_trade_no`; `Ok(None)` when WeChat Pay does not know it.
    fn query_order(
        &self,
        out_trade_no: &str,
    ) -> impl Future<Output = Result<Option<Transaction>, GatewayError>> + Send;

    /// Asks WeChat Pay to close an order. The answer proves nothing by itself (a paid order may
    /// answer [`GatewayError::OrderPaid`] or succeed, an unknown one
    /// [`GatewayError::OrderNotFound`] or succeed): confirm every close by a query.
    fn close_order(
        &self,
        out_trade_no: &str,
    ) -> impl Future<Output = Result<(), GatewayError>> + Send;
}

/// The WeChat Pay refund operations (§7).
pub trait RefundGateway: Send + Sync {
    /// Asks for a refund. Success means accepted (usually `PROCESSING`). A retry with the same
    /// `out_refund_no` refunds once.
    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<Refund, GatewayError>> + Send;

    /// Queries a refund by `out_refund_no`; `Ok(None)` when WeChat Pay has none by that number (a
    /// 404 whose body says `RESOURCE_NOT_EXISTS`).
    fn query_refund(
        &self,
        out_refund_no: &str,
    ) -> impl Future<Output = Result<Option<Refund>, GatewayError>> + Send;
}
