//! Fault switches: set with `POST /sim/faults`, in force until `DELETE /sim/faults`.
//!
//! The JSON body is one [`Faults`] object; every member is optional and an omitted member is off,
//! so a POST replaces the whole set (it does not merge). Unknown members are refused, so a typo
//! cannot silently switch nothing on.
//!
//! ```json
//! {
//!   "drop_notifications": false,
//!   "duplicate_notifications": 1,
//!   "delay_notifications_ms": 0,
//!   "signtest_probe": false,
//!   "api": {"kind": "system_error", "fraction": 1.0, "path_prefix": "/v3/pay/transactions/native", "hang_ms": 30000},
//!   "clock_skew_secs": 0,
//!   "sign_with_other_key": false,
//!   "close_paid_answer": "orderpaid",
//!   "close_unknown_answer": "not_found",
//!   "refund_outcome": "success",
//!   "refund_delay_ms": null,
//!   "bill_not_ready": false,
//!   "bill_hash_mismatch": false
//! }
//! ```
//!
//! The two `close_…` members choose between answers of WeChat Pay that are not confirmed: closing
//! a paid order may answer `ORDERPAID` or 204, closing an unknown `out_trade_no` may answer
//! `ORDER_NOT_EXIST` or 204. Either way a merchant must confirm every close with a query.
//!
//! `refund_outcome` and `refund_delay_ms` apply to refunds created while they are set: a refund
//! keeps the outcome and delay it was created with.
//!
//! `bill_not_ready` answers every trade bill request 400 `STATEMENT_CREATING`, as WeChat Pay does
//! before it has generated the day's bill; `bill_hash_mismatch` answers a `hash_value` that is not
//! the SHA-1 of the file served, which a merchant must refuse.

use crate::clock::SkewedClock;
pub use crate::refund::RefundOutcome;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use wxpay::random::{self, OsRandom};

/// Largest number of concurrent copies of one notification attempt.
pub const MAX_DUPLICATES: u32 = 20;
/// Longest notification delay and API hang, in milliseconds (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;
/// How long a refund stays `PROCESSING` when `refund_delay_ms` is absent, before the time scale
/// divides it (wallet refunds usually take minutes in production; a few seconds keep demos short).
pub const DEFAULT_REFUND_DELAY: std::time::Duration = std::time::Duration::from_secs(5);
/// Largest clock skew, in seconds (about ten years).
pub const MAX_SKEW_SECS: i64 = 10 * 366 * 24 * 3600;

/// The switches in force. `Faults::default()` is "everything off".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Notification attempts are not sent, as if lost on the way; each counts as a failed attempt
    /// (`"error": "dropped by fault switch"` in the log) and the retry ladder goes on, so clearing
    /// the switch lets a later retry through.
    pub drop_notifications: bool,
    /// Each notification attempt is sent this many times at once (1 = normally, at most 20); the
    /// attempt counts as delivered if any copy is acknowledged.
    pub duplicate_notifications: u32,
    /// Each notification attempt waits this long first (milliseconds, at most 600 000), on top of
    /// the retry ladder.
    pub delay_notifications_ms: u64,
    /// Before each notification attempt, a copy whose `Wechatpay-Signature` starts with
    /// `WECHATPAY/SIGNTEST/` is sent; the merchant must refuse it (non-2xx). Its answer is logged
    /// (`"kind": "signtest_probe"`) and does not count as a delivery.
    pub signtest_probe: bool,
    /// Merchant API calls (`/v3/…`) answered with an error or hung.
    pub api: Option<ApiFault>,
    /// Seconds added to the simulator's clock (negative: behind). Moves the request timestamp
    /// window, the `Wechatpay-Timestamp` of responses and notifications, and order times.
    pub clock_skew_secs: i64,
    /// Responses and notifications are signed with the other key than the one normally chosen
    /// (platform certificate instead of public key, or the reverse), as during a migration. The
    /// certificate list of `/v3/certificates` stays signed by its certificate.
    pub sign_with_other_key: bool,
    /// What closing a paid order answers: `"orderpaid"` (403 `ORDERPAID`, the default) or
    /// `"no_content"` (a signed 204; the order stays paid). WeChat Pay's answer is unconfirmed.
    pub close_paid_answer: ClosePaidAnswer,
    /// What closing an `out_trade_no` that has no order answers: `"not_found"` (404
    /// `ORDER_NOT_EXIST`, the default) or `"no_content"` (a signed 204; no order is created).
    /// Production may answer 204; WeChat Pay's answer is unconfirmed.
    pub close_unknown_answer: CloseUnknownAnswer,
    /// How refunds created from now on end after `PROCESSING`: `"success"` (the default),
    /// `"abnormal"` (`ABNORMAL`, the money could not reach the payer) or `"closed"` (`CLOSED`,
    /// nothing refunded, the amount released).
    pub refund_outcome: RefundOutcome,
    /// How long refunds created from now on stay `PROCESSING`, in milliseconds of real time (at
    /// most 600 000). Absent: [`DEFAULT_REFUND_DELAY`] divided by the time scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_delay_ms: Option<u64>,
    /// `GET /v3/bill/tradebill` answers 400 `STATEMENT_CREATING` (账单生成中) for every date, as
    /// before WeChat Pay has generated the bill.
    pub bill_not_ready: bool,
    /// `GET /v3/bill/tradebill` answers a `hash_value` that is not the SHA-1 of the file its
    /// `download_url` serves.
    pub bill_hash_mismatch: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            drop_notifications: false,
            duplicate_notifications: 1,
            delay_notifications_ms: 0,
            signtest_probe: false,
            api: None,
            clock_skew_secs: 0,
            sign_with_other_key: false,
            close_paid_answer: ClosePaidAnswer::default(),
            close_unknown_answer: CloseUnknownAnswer::default(),
            refund_outcome: RefundOutcome::default(),
            refund_delay_ms: None,
            bill_not_ready: false,
            bill_hash_mismatch: false,
        }
    }
}

/// A fault of the merchant API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFault {
    /// What the affected calls get.
    pub kind: ApiFaultKind,
    /// Share of matching calls affected, 0 to 1 (default 1: all).
    #[serde(default = "one")]
    pub fraction: f64,
    /// Only calls whose path starts with this (e.g. `/v3/pay/transactions/native`); all if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// For `hang`: how long the call hangs (milliseconds, default 30 000, at most 600 000).
    #[serde(default = "default_hang_ms")]
    pub hang_ms: u64,
}

fn one() -> f64 {
    1.0
}

fn default_hang_ms() -> u64 {
    30_000
}

/// What a faulted merchant call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFaultKind {
    /// 500 `SYSTEM_ERROR` (not processed).
    SystemError,
    /// 429 `FREQUENCY_LIMITED` (not processed).
    FrequencyLimited,
    /// No answer for `hang_ms`; then the call is processed and answered normally, as when WeChat
    /// Pay is slow: a client that gave up meanwhile cannot know whether it took effect.
    Hang,
}

/// What closing a paid order answers (the `close_paid_answer` switch). Either way the order stays
/// paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClosePaidAnswer {
    /// `"orderpaid"`: 403 `ORDERPAID` (the default).
    #[default]
    #[serde(rename = "orderpaid")]
    OrderPaid,
    /// `"no_content"`: 204 with an empty signed body, as if the close had succeeded.
    #[serde(rename = "no_content")]
    NoContent,
}

/// What closing an `out_trade_no` that has no order answers (the `close_unknown_answer` switch).
/// Either way no order is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseUnknownAnswer {
    /// `"not_found"`: 404 `ORDER_NOT_EXIST` (the default).
    #[default]
    #[serde(rename = "not_found")]
    NotFound,
    /// `"no_content"`: 204 with an empty signed body, as if the close had succeeded.
    #[serde(rename = "no_content")]
    NoContent,
}

impl Faults {
    /// Checks the ranges; the message names the member.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_DUPLICATES).contains(&self.duplicate_notifications) {
            return Err(format!(
                "duplicate_notifications must be 1 to {MAX_DUPLICATES}"
            ));
        }
        if self.delay_notifications_ms > MAX_DELAY_MS {
            return Err(format!(
                "delay_notifications_ms must be at most {MAX_DELAY_MS}"
            ));
        }
        if self.refund_delay_ms.is_some_and(|ms| ms > MAX_DELAY_MS) {
            return Err(format!("refund_delay_ms must be at most {MAX_DELAY_MS}"));
        }
        if self.clock_skew_secs.abs() > MAX_SKEW_SECS {
            return Err(format!("clock_skew_secs must be within ±{MAX_SKEW_SECS}"));
        }
        if let Some(api) = &self.api {
            if !(0.0..=1.0).contains(&api.fraction) {
                return Err("api.fraction must be between 0 and 1".into());
            }
            if api
                .path_prefix
                .as_ref()
                .is_some_and(|p| !p.starts_with('/'))
            {
                return Err("api.path_prefix must start with /".into());
            }
            if api.hang_ms > MAX_DELAY_MS {
                return Err(format!("api.hang_ms must be at most {MAX_DELAY_MS}"));
            }
        }
        Ok(())
    }
}

/// The switches of one simulator, shared by its handlers and its delivery worker.
pub struct FaultSwitches {
    current: RwLock<Faults>,
    clock: Arc<SkewedClock>,
}

impl std::fmt::Debug for FaultSwitches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultSwitches")
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl FaultSwitches {
    /// All off; `clock` receives the skew.
    pub fn new(clock: Arc<SkewedClock>) -> Self {
        Self {
            current: RwLock::new(Faults::default()),
            clock,
        }
    }

    /// The switches in force.
    pub fn current(&self) -> Faults {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the switches (validated first).
    pub fn set(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        let skew = faults.clock_skew_secs;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = faults;
        self.clock.set_skew(skew);
        Ok(())
    }

    /// Turns everything off.
    pub fn clear(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Faults::default();
        self.clock.set_skew(0);
    }

    /// The API fault to apply to a call to `path`, if the dice say so.
    pub fn api_fault_for(&self, path: &str) -> Option<ApiFault> {
        let api = self.current().api?;
        let matches = api
            .path_prefix
            .as_deref()
            .is_none_or(|prefix| path.starts_with(prefix));
        (matches && random::unit(&OsRandom) < api.fraction).then_some(api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxpay::clock::Clock as _;

    fn switches() -> (FaultSwitches, Arc<SkewedClock>) {
        let clock = Arc::new(SkewedClock::new(Arc::new(wxpay::FixedClock::at_unix(
            1_000_000,
        ))));
        (FaultSwitches::new(clock.clone()), clock)
    }

    #[test]
    fn an_empty_object_means_everything_off_and_unknown_members_are_refused() {
        let faults: Faults = serde_json::from_str("{}").unwrap();
        assert_eq!(faults, Faults::default());
        assert!(serde_json::from_str::<Faults>(r#"{"drop_notification":true}"#).is_err());
        let api: Faults = serde_json::from_str(r#"{"api":{"kind":"hang"}}"#).unwrap();
        let api = api.api.unwrap();
        assert_eq!((api.fraction, api.hang_ms), (1.0, 30_000));
    }

    #[test]
    fn close_answers_default_to_the_errors_and_take_only_their_named_values() {
        let faults = Faults::default();
        assert_eq!(faults.close_paid_answer, ClosePaidAnswer::OrderPaid);
        assert_eq!(faults.close_unknown_answer, CloseUnknownAnswer::NotFound);
        let json = serde_json::to_value(&faults).unwrap();
        assert_eq!(json["close_paid_answer"], "orderpaid");
        assert_eq!(json["close_unknown_answer"], "not_found");
        let both: Faults = serde_json::from_str(
            r#"{"close_paid_answer":"no_content","close_unknown_answer":"no_content"}"#,
        )
        .unwrap();
        assert_eq!(both.close_paid_answer, ClosePaidAnswer::NoContent);
        assert_eq!(both.close_unknown_answer, CloseUnknownAnswer::NoContent);
        for bad in [
            r#"{"close_paid_answer":"not_found"}"#,
            r#"{"close_paid_answer":"NoContent"}"#,
            r#"{"close_unknown_answer":"orderpaid"}"#,
            r#"{"close_unknown_answer":null}"#,
            r#"{"close_unknown_answer":true}"#,
        ] {
            assert!(serde_json::from_str::<Faults>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refund_switches_default_to_success_and_take_only_their_named_values() {
        let faults = Faults::default();
        assert_eq!(faults.refund_outcome, RefundOutcome::Success);
        assert_eq!(faults.refund_delay_ms, None);
        let json = serde_json::to_value(&faults).unwrap();
        assert_eq!(json["refund_outcome"], "success");
        assert!(json.get("refund_delay_ms").is_none());
        for (text, outcome) in [
            ("abnormal", RefundOutcome::Abnormal),
            ("closed", RefundOutcome::Closed),
        ] {
            let set: Faults = serde_json::from_str(&format!(
                r#"{{"refund_outcome":"{text}","refund_delay_ms":250}}"#
            ))
            .unwrap();
            assert_eq!(
                (set.refund_outcome, set.refund_delay_ms),
                (outcome, Some(250))
            );
        }
        for bad in [
            r#"{"refund_outcome":"ABNORMAL"}"#,
            r#"{"refund_outcome":"close"}"#,
            r#"{"refund_delay_ms":-1}"#,
        ] {
            assert!(serde_json::from_str::<Faults>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let (switches, _) = switches();
        let bad = [
            r#"{"duplicate_notifications":0}"#,
            r#"{"duplicate_notifications":21}"#,
            r#"{"delay_notifications_ms":600001}"#,
            r#"{"api":{"kind":"system_error","fraction":1.5}}"#,
            r#"{"api":{"kind":"system_error","path_prefix":"v3"}}"#,
            r#"{"refund_delay_ms":600001}"#,
        ];
        for json in bad {
            let faults: Faults = serde_json::from_str(json).unwrap();
            assert!(switches.set(faults).is_err(), "{json}");
        }
        assert_eq!(switches.current(), Faults::default());
    }

    #[test]
    fn path_prefix_and_fraction_select_the_calls() {
        let (switches, _) = switches();
        let faults: Faults = serde_json::from_str(
            r#"{"api":{"kind":"frequency_limited","path_prefix":"/v3/pay/transactions/native"}}"#,
        )
        .unwrap();
        switches.set(faults).unwrap();
        assert!(
            switches
                .api_fault_for("/v3/pay/transactions/native")
                .is_some()
        );
        assert!(switches.api_fault_for("/v3/certificates").is_none());
        let none: Faults =
            serde_json::from_str(r#"{"api":{"kind":"system_error","fraction":0}}"#).unwrap();
        switches.set(none).unwrap();
        assert!((0..100).all(|_| switches.api_fault_for("/v3/x").is_none()));
    }

    #[test]
    fn skew_reaches_the_clock_and_clearing_resets_it() {
        let (switches, clock) = switches();
        let faults: Faults = serde_json::from_str(r#"{"clock_skew_secs":-600}"#).unwrap();
        switches.set(faults).unwrap();
        assert_eq!(clock.now().unix_timestamp(), 999_400);
        switches.clear();
        assert_eq!(clock.now().unix_timestamp(), 1_000_000);
    }
}
