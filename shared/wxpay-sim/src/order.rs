//! An order as WeChat Pay keeps it, and the rules of its life: creation and re-submission (§3.3),
//! payment through a `code_url`, closing (§5), and what the query API shows (§4): `REFUND` once the
//! paid order has a refund (the refund rules are in [`crate::refund`]).
//!
//! Expiry: once `time_expire` has passed, an unpaid order can no longer be paid and a re-submission
//! answers `ORDER_CLOSED`, but queries keep showing `NOTPAY` until the merchant closes it, as the
//! protocol reference describes for production. Everything here is pure: times come in as
//! arguments.

use crate::refund::RefundRecord;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use wxpay::models::{
    CNY, NativePrepayRequest, Payer, TradeState, Transaction, TransactionAmount,
    TransactionSceneInfo,
};

/// How long a `code_url` can be scanned.
pub const CODE_URL_VALIDITY: Duration = Duration::hours(2);
/// Payment window when the request gives no `time_expire`.
pub const DEFAULT_EXPIRY: Duration = Duration::days(7);
/// The earliest `time_expire` honoured, after the order's creation.
pub const MIN_EXPIRY: Duration = Duration::minutes(1);
/// The latest `time_expire` honoured, after the order's creation.
pub const MAX_EXPIRY: Duration = Duration::days(90);
/// Old `code_url`s remembered per order, so scanning one says "replaced" rather than "unknown".
const RETIRED_CODES_KEPT: usize = 8;
/// Prefix of every `code_url`.
pub const CODE_URL_PREFIX: &str = "weixin://wxpay/bizpayurl?pr=";

/// A `code_url` token and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeUrl {
    /// The `pr` value.
    pub token: String,
    /// When it was handed out.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

impl CodeUrl {
    /// The full `weixin://wxpay/bizpayurl?pr=…` URL.
    pub fn url(&self) -> String {
        format!("{CODE_URL_PREFIX}{}", self.token)
    }
}

/// What happened to an order after its creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    /// Not paid yet.
    Notpay,
    /// Paid.
    Success(Payment),
    /// Closed by the merchant.
    Closed {
        /// When it was closed.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// The payment of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// 28-digit WeChat Pay order number.
    pub transaction_id: String,
    /// When it was paid.
    #[serde(with = "time::serde::rfc3339")]
    pub success_time: OffsetDateTime,
    /// The payer's openid.
    pub openid: String,
    /// The payer's bank code.
    pub bank_type: String,
}

/// A Native order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The first request, normalised (`currency` filled in, `time_expire` as given).
    pub request: NativePrepayRequest,
    /// When the order was first created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last moment it can be paid, after clamping.
    #[serde(with = "time::serde::rfc3339")]
    pub time_expire: OffsetDateTime,
    /// The `code_url` currently valid.
    pub code: CodeUrl,
    /// Tokens of earlier `code_url`s, newest last.
    #[serde(default)]
    pub retired_codes: Vec<String>,
    /// Its state.
    pub state: OrderState,
    /// Its refunds, oldest first (see [`crate::refund`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<RefundRecord>,
}

/// Why a prepay for an existing `out_trade_no` is refused (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResubmitError {
    /// Already paid: `ORDERPAID`.
    Paid,
    /// Closed, or past `time_expire`: `ORDER_CLOSED`.
    Closed,
    /// Parameters differ from the first submission: `OUT_TRADE_NO_USED`.
    DifferentParameters,
}

/// Why a `code_url` cannot be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// A newer `code_url` replaced it.
    Replaced,
    /// Issued more than two hours ago.
    Stale,
    /// The order is already paid.
    Paid,
    /// The merchant closed the order.
    Closed,
    /// The order's `time_expire` has passed.
    Expired,
}

/// Why an order cannot be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseError {
    /// It is paid: `ORDERPAID` (refund instead).
    Paid,
}

/// Fills in what the protocol defaults, so equal requests compare equal.
pub fn normalise(mut request: NativePrepayRequest) -> NativePrepayRequest {
    if request.amount.currency.is_none() {
        request.amount.currency = Some(CNY.to_owned());
    }
    request
}

/// The honoured `time_expire` of an order created at `created_at`: the requested one (default
/// 7 days), raised to at least 1 minute and clamped to at most 90 days after creation.
pub fn effective_expiry(
    requested: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
) -> OffsetDateTime {
    let wanted = requested.unwrap_or(created_at + DEFAULT_EXPIRY);
    wanted.clamp(created_at + MIN_EXPIRY, created_at + MAX_EXPIRY)
}

impl Order {
    /// A new unpaid order. `request` must be validated and normalised.
    pub fn new(request: NativePrepayRequest, now: OffsetDateTime, token: String) -> Self {
        Self {
            time_expire: effective_expiry(request.time_expire, now),
            request,
            created_at: now,
            code: CodeUrl {
                token,
                issued_at: now,
            },
            retired_codes: Vec::new(),
            state: OrderState::Notpay,
            refunds: Vec::new(),
        }
    }

    /// The merchant order number.
    pub fn out_trade_no(&self) -> &str {
        &self.request.out_trade_no
    }

    /// Whether an unpaid order can no longer be paid because `time_expire` passed.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        matches!(self.state, OrderState::Notpay) && now > self.time_expire
    }

    /// Handles a prepay with the same `out_trade_no`. On success the order carries a fresh
    /// `code_url` (`token`) and the previous one is retired; returns the tokens no longer kept.
    pub fn resubmit(
        &mut self,
        request: &NativePrepayRequest,
        now: OffsetDateTime,
        token: String,
    ) -> Result<Vec<String>, ResubmitError> {
        match self.state {
            OrderState::Success(_) => return Err(ResubmitError::Paid),
            OrderState::Closed { .. } => return Err(ResubmitError::Closed),
            OrderState::Notpay if self.is_expired(now) => return Err(ResubmitError::Closed),
            OrderState::Notpay => {}
        }
        if !same_parameters(&self.request, request) {
            return Err(ResubmitError::DifferentParameters);
        }
        let old = std::mem::replace(
            &mut self.code,
            CodeUrl {
                token,
                issued_at: now,
            },
        );
        self.retired_codes.push(old.token);
        let excess = self.retired_codes.len().saturating_sub(RETIRED_CODES_KEPT);
        Ok(self.retired_codes.drain(..excess).collect())
    }

    /// Pays the order through the `code_url` token `token`.
    pub fn pay(
        &mut self,
        token: &str,
        now: OffsetDateTime,
        payment: Payment,
    ) -> Result<(), ScanError> {
        match self.state {
            OrderState::Success(_) => return Err(ScanError::Paid),
            OrderState::Closed { .. } => return Err(ScanError::Closed),
            OrderState::Notpay => {}
        }
        if self.code.token != token {
            return Err(ScanError::Replaced);
        }
        if self.is_expired(now) {
            return Err(ScanError::Expired);
        }
        if now - self.code.issued_at > CODE_URL_VALIDITY {
            return Err(ScanError::Stale);
        }
        self.state = OrderState::Success(payment);
        Ok(())
    }

    /// Closes the order; closing a closed order succeeds again. Returns whether it changed.
    pub fn close(&mut self, now: OffsetDateTime) -> Result<bool, CloseError> {
        match self.state {
            OrderState::Success(_) => Err(CloseError::Paid),
            OrderState::Closed { .. } => Ok(false),
            OrderState::Notpay => {
                self.state = OrderState::Closed { at: now };
                Ok(true)
            }
        }
    }

    /// The transaction id, once paid.
    pub fn transaction_id(&self) -> Option<&str> {
        match &self.state {
            OrderState::Success(payment) => Some(&payment.transaction_id),
            _ => None,
        }
    }

    /// The order as the query API and the notification show it (§4.1).
    pub fn transaction(&self) -> Transaction {
        let request = &self.request;
        let currency = request
            .amount
            .currency
            .clone()
            .unwrap_or_else(|| CNY.to_owned());
        let (trade_state, desc) = match &self.state {
            OrderState::Notpay => (TradeState::Notpay, "订单未支付"),
            OrderState::Success(_) if !self.refunds.is_empty() => (TradeState::Refund, "转入退款"),
            OrderState::Success(_) => (TradeState::Success, "支付成功"),
            OrderState::Closed { .. } => (TradeState::Closed, "订单已关闭"),
        };
        let mut tx = Transaction {
            appid: request.appid.clone(),
            mchid: request.mchid.clone(),
            out_trade_no: request.out_trade_no.clone(),
            transaction_id: None,
            trade_type: None,
            trade_state,
            trade_state_desc: desc.to_owned(),
            bank_type: None,
            attach: None,
            success_time: None,
            payer: None,
            amount: Some(TransactionAmount {
                total: Some(request.amount.total),
                payer_total: None,
                currency: Some(currency.clone()),
                payer_currency: Some(currency.clone()),
            }),
            scene_info: request
                .scene_info
                .as_ref()
                .and_then(|s| s.device_id.clone())
                .map(|device_id| TransactionSceneInfo {
                    device_id: Some(device_id),
                }),
            promotion_detail: None,
            extra: Default::default(),
        };
        if let OrderState::Success(payment) = &self.state {
            tx.transaction_id = Some(payment.transaction_id.clone());
            tx.trade_type = Some("NATIVE".to_owned());
            tx.bank_type = Some(payment.bank_type.clone());
            tx.attach = Some(request.attach.clone().unwrap_or_default());
            tx.success_time = Some(payment.success_time);
            tx.payer = Some(Payer {
                openid: Some(payment.openid.clone()),
            });
            tx.amount = Some(TransactionAmount {
                total: Some(request.amount.total),
                payer_total: Some(request.amount.total),
                currency: Some(currency.clone()),
                payer_currency: Some(currency),
            });
        }
        tx
    }
}

/// Whether two prepay requests carry the same parameters; `time_expire` is compared as an instant
/// (`+08:00` and `Z` spellings of one moment are the same parameter), as `OffsetDateTime`
/// equality does.
pub fn same_parameters(first: &NativePrepayRequest, again: &NativePrepayRequest) -> bool {
    first == again
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000 + secs).unwrap()
    }

    fn request() -> NativePrepayRequest {
        normalise(
            NativePrepayRequest::new(
                "wx1",
                "1900000001",
                "d",
                "T000001",
                "https://example.com/n",
                100,
            )
            .with_attach("a")
            .with_currency(None),
        )
    }

    fn payment() -> Payment {
        Payment {
            transaction_id: "4200".into(),
            success_time: at(10),
            openid: "o1".into(),
            bank_type: "OTHERS".into(),
        }
    }

    #[test]
    fn expiry_defaults_to_seven_days_and_is_clamped_to_one_minute_and_ninety_days() {
        assert_eq!(effective_expiry(None, at(0)), at(0) + Duration::days(7));
        assert_eq!(effective_expiry(Some(at(10)), at(0)), at(60));
        assert_eq!(effective_expiry(Some(at(-100)), at(0)), at(60));
        assert_eq!(effective_expiry(Some(at(600)), at(0)), at(600));
        assert_eq!(
            effective_expiry(Some(at(0) + Duration::days(100)), at(0)),
            at(0) + Duration::days(90)
        );
    }

    #[test]
    fn same_parameters_refresh_the_code_url_and_retire_the_old_one() {
        let mut order = Order::new(request(), at(0), "A".into());
        order.resubmit(&request(), at(5), "B".into()).unwrap();
        assert_eq!(order.code.token, "B");
        assert_eq!(order.pay("A", at(6), payment()), Err(ScanError::Replaced));
        order.pay("B", at(6), payment()).unwrap();
    }

    #[test]
    fn only_the_last_few_retired_codes_are_kept() {
        let mut order = Order::new(request(), at(0), "T0".into());
        let mut dropped = Vec::new();
        for i in 1..=10 {
            dropped.extend(order.resubmit(&request(), at(i), format!("T{i}")).unwrap());
        }
        assert_eq!(dropped, ["T0", "T1"]);
        assert_eq!(order.retired_codes.len(), RETIRED_CODES_KEPT);
    }

    #[test]
    fn resubmission_rules_follow_the_order_state() {
        let mut changed = request();
        changed.amount.total = 101;
        let mut order = Order::new(request(), at(0), "A".into());
        assert_eq!(
            order.resubmit(&changed, at(1), "B".into()),
            Err(ResubmitError::DifferentParameters)
        );
        order.close(at(2)).unwrap();
        assert_eq!(
            order.resubmit(&request(), at(3), "C".into()),
            Err(ResubmitError::Closed)
        );
        let mut paid = Order::new(request(), at(0), "A".into());
        paid.pay("A", at(1), payment()).unwrap();
        assert_eq!(
            paid.resubmit(&changed, at(3), "C".into()),
            Err(ResubmitError::Paid)
        );
        let mut expired = Order::new(request().with_time_expire(at(120)), at(0), "A".into());
        assert_eq!(
            expired.resubmit(&request(), at(121), "C".into()),
            Err(ResubmitError::Closed)
        );
    }

    #[test]
    fn time_expire_is_compared_as_an_instant() {
        let a = request().with_time_expire(time::macros::datetime!(2025-06-15 23:06:40 +8));
        let b = request().with_time_expire(time::macros::datetime!(2025-06-15 15:06:40 UTC));
        assert!(same_parameters(&a, &b));
        let later = request().with_time_expire(time::macros::datetime!(2025-06-15 15:06:41 UTC));
        assert!(!same_parameters(&a, &later));
    }

    #[test]
    fn scans_are_refused_when_stale_expired_closed_or_paid() {
        let mut order = Order::new(request(), at(0), "A".into());
        let two_hours = CODE_URL_VALIDITY.whole_seconds();
        assert_eq!(
            order.pay("A", at(two_hours + 1), payment()),
            Err(ScanError::Stale)
        );
        let mut expiring = Order::new(request().with_time_expire(at(300)), at(0), "A".into());
        assert_eq!(
            expiring.pay("A", at(301), payment()),
            Err(ScanError::Expired)
        );
        expiring.close(at(302)).unwrap();
        assert_eq!(
            expiring.pay("A", at(303), payment()),
            Err(ScanError::Closed)
        );
        order.pay("A", at(10), payment()).unwrap();
        assert_eq!(order.pay("A", at(11), payment()), Err(ScanError::Paid));
    }

    #[test]
    fn close_is_reentrant_but_refused_once_paid() {
        let mut order = Order::new(request(), at(0), "A".into());
        assert_eq!(order.close(at(1)), Ok(true));
        assert_eq!(order.close(at(2)), Ok(false));
        let mut paid = Order::new(request(), at(0), "A".into());
        paid.pay("A", at(1), payment()).unwrap();
        assert_eq!(paid.close(at(2)), Err(CloseError::Paid));
    }

    #[test]
    fn the_transaction_shows_payment_fields_only_once_paid() {
        let mut order = Order::new(request(), at(0), "A".into());
        let unpaid = order.transaction();
        assert_eq!(unpaid.trade_state, TradeState::Notpay);
        assert!(unpaid.transaction_id.is_none() && unpaid.attach.is_none());
        order.pay("A", at(10), payment()).unwrap();
        let paid = order.transaction();
        assert_eq!(paid.trade_state, TradeState::Success);
        assert_eq!(paid.trade_type.as_deref(), Some("NATIVE"));
        assert_eq!(paid.attach.as_deref(), Some("a"));
        assert_eq!(paid.amount.unwrap().payer_total, Some(100));
        assert_eq!(paid.success_time, Some(at(10)));
    }
}
