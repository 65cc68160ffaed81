//! An in-memory WeChat Pay for service tests, modelled on the simulator (`shared/wxpay-sim`):
//! orders go `NOTPAY` → `SUCCESS` | `CLOSED`; a re-prepay with identical parameters issues a fresh
//! `code_url` and retires the previous one; a re-prepay of a paid order answers `ORDERPAID`, of a
//! closed or expired one `ORDER_CLOSED`; queries keep showing `NOTPAY` past `time_expire` until the
//! merchant closes the order; unknown orders are not found. Closing a paid order or an unknown
//! `out_trade_no` answers what the switches say (`ORDERPAID` / `ORDER_NOT_EXIST` by default, or a
//! 204 as production may), and never changes the order.
//!
//! Fault switches: prepays failing before they reach WeChat Pay, or timing out after landing (the
//! answer lost) or before landing (the request lands later, when the test says so); prepay latency;
//! failing or throttled queries; failing closes; a payment racing the close. A concurrency gauge,
//! call counters and logs let tests see what the services did. The fake shares the tests'
//! [`FixedClock`] (its idea of "now") and may advance it per query, to test deadlines.
//!
//! The test drivers ([`FakeWeChatPay::pay`], [`FakeWeChatPay::refund`]) answer a [`FakeError`]
//! when asked for something WeChat Pay would not do, instead of panicking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::ports::{GatewayError, PaymentGateway, RefundGateway};
use time::OffsetDateTime;
use wxpay::models::{NativePrepayRequest, Payer, TradeState, Transaction, TransactionAmount};
use wxpay::refund::{Refund, RefundAmount, RefundRequest, RefundStatus};
use wxpay::{Clock, FixedClock};

/// What closing a paid order answers. Either way the order stays paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClosePaidAnswer {
    /// 403 `ORDERPAID` ([`GatewayError::OrderPaid`]).
    #[default]
    OrderPaid,
    /// A 204, as if the close had succeeded (`Ok(())`).
    NoContent,
}

/// What closing an `out_trade_no` WeChat Pay has no order for answers. Either way none is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CloseUnknownAnswer {
    /// 404 `ORDER_NOT_EXIST` ([`GatewayError::OrderNotFound`]).
    #[default]
    NotFound,
    /// A 204, as if the close had succeeded (`Ok(())`).
    NoContent,
}

/// A test driver asked the fake for something WeChat Pay would not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FakeError {
    /// No prepay created this `out_trade_no`.
    #[error("WeChat Pay has no order {0}")]
    UnknownOrder(String),
    /// The order is not in the state the action needs (only `NOTPAY` orders are paid, only
    /// `SUCCESS` ones refunded).
    #[error("order {out_trade_no} is {state}")]
    WrongState {
        /// The order.
        out_trade_no: String,
        /// Its trade state.
        state: String,
    },
}

/// How a prepay times out ([`GatewayError::Timeout`] either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrepayTimeout {
    /// WeChat Pay processed it (the order exists there with a fresh `code_url`); the answer was lost.
    AnswerLost,
    /// It has not reached WeChat Pay yet: it lands when [`FakeWeChatPay::land_late_prepays`] is called.
    LandsLate,
}

#[derive(Debug, Clone)]
struct FakeOrder {
    request: NativePrepayRequest,
    time_expire: Option<OffsetDateTime>,
    state: TradeState,
    code_url: String,
    retired_codes: Vec<String>,
    transaction_id: Option<String>,
    paid_total: i64,
}

impl FakeOrder {
    fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.state == TradeState::Notpay && self.time_expire.is_some_and(|expiry| now > expiry)
    }
}

/// One query as WeChat Pay received it.
#[derive(Debug, Clone)]
pub struct QueryRecord {
    /// The `out_trade_no` queried.
    pub out_trade_no: String,
    /// When it arrived, in tokio time (for backoff).
    pub at: tokio::time::Instant,
    /// Whether it was throttled.
    pub throttled: bool,
}

/// One prepay as WeChat Pay processed it.
#[derive(Debug, Clone)]
pub struct PrepayRecord {
    /// The `out_trade_no` prepaid.
    pub out_trade_no: String,
    /// When it was processed, by the shared clock.
    pub at: OffsetDateTime,
    /// The answer.
    pub result: Result<String, GatewayError>,
}

#[derive(Debug, Default)]
struct State {
    orders: HashMap<String, FakeOrder>,
    prepay_fault: Option<GatewayError>,
    prepay_timeout: Option<PrepayTimeout>,
    late_prepays: Vec<NativePrepayRequest>,
    prepay_latency: std::time::Duration,
    query_faults: HashMap<String, GatewayError>,
    throttled_queries: usize,
    close_fault: Option<GatewayError>,
    close_paid_answer: ClosePaidAnswer,
    close_unknown_answer: CloseUnknownAnswer,
    pay_during_close: Vec<String>,
    prepays: usize,
    queries: usize,
    closes: usize,
    next_id: u64,
    next_code: u64,
    prepay_log: Vec<PrepayRecord>,
    query_log: Vec<QueryRecord>,
    refunds: HashMap<String, FakeRefund>,
    refund_fault: Option<GatewayError>,
    refund_answers_lost: bool,
    refund_calls: usize,
}

/// A refund as WeChat Pay holds it.
#[derive(Debug, Clone)]
struct FakeRefund {
    request: RefundRequest,
    out_trade_no: String,
    transaction_id: String,
    refund_id: String,
    status: RefundStatus,
    created_at: OffsetDateTime,
}

/// The fake. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct FakeWeChatPay {
    state: Arc<Mutex<State>>,
    clock: Arc<FixedClock>,
    /// Each query moves the clock this much (to test deadlines).
    advance_per_query: Arc<Mutex<time::Duration>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl FakeWeChatPay {
    /// A WeChat Pay with no orders, no faults, telling time by `clock`.
    pub fn new(clock: Arc<FixedClock>) -> Self {
        Self {
            state: Arc::default(),
            clock,
            advance_per_query: Arc::new(Mutex::new(time::Duration::ZERO)),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- switches ----

    /// Prepays fail with `fault` before reaching WeChat Pay (nothing is created there).
    pub fn fail_prepays_with(&self, fault: Option<GatewayError>) {
        self.lock().prepay_fault = fault;
    }

    /// Prepays time out the given way (see [`PrepayTimeout`]); `None` answers normally.
    pub fn time_out_prepays(&self, how: Option<PrepayTimeout>) {
        self.lock().prepay_timeout = how;
    }

    /// Each prepay takes this long (tokio time) before WeChat Pay processes it.
    pub fn delay_prepays(&self, by: std::time::Duration) {
        self.lock().prepay_latency = by;
    }

    /// Queries of `out_trade_no` fail with `fault`.
    pub fn fail_queries_of(&self, out_trade_no: &str, fault: GatewayError) {
        self.lock().query_faults.insert(out_trade_no.into(), fault);
    }

    /// Queries of `out_trade_no` answer normally again.
    pub fn heal_queries_of(&self, out_trade_no: &str) {
        self.lock().query_faults.remove(out_trade_no);
    }

    /// The next `count` queries (of any order) are throttled: 429 `FREQUENCY_LIMITED`.
    pub fn throttle_queries(&self, count: usize) {
        self.lock().throttled_queries = count;
    }

    /// Closes fail with `fault` before WeChat Pay acts on them (nothing changes there).
    pub fn fail_closes_with(&self, fault: Option<GatewayError>) {
        self.lock().close_fault = fault;
    }

    /// What closing a paid order answers.
    pub fn answer_close_of_paid(&self, answer: ClosePaidAnswer) {
        self.lock().close_paid_answer = answer;
    }

    /// What closing an unknown `out_trade_no` answers.
    pub fn answer_close_of_unknown(&self, answer: CloseUnknownAnswer) {
        self.lock().close_unknown_answer = answer;
    }

    /// The shopper pays `out_trade_no` just before the merchant's close reaches WeChat Pay.
    pub fn pay_during_close(&self, out_trade_no: &str) {
        self.lock().pay_during_close.push(out_trade_no.into());
    }

    /// Each query moves the shared clock forward by `by` (to test deadlines).
    pub fn advance_clock_per_query(&self, by: time::Duration) {
        *self
            .advance_per_query
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = by;
    }

    /// Refund requests fail with `fault` before WeChat Pay acts on them (nothing is created).
    pub fn fail_refunds_with(&self, fault: Option<GatewayError>) {
        self.lock().refund_fault = fault;
    }

    /// Refund requests are processed but their answers lost ([`GatewayError::Timeout`]).
    pub fn lose_refund_answers(&self, lost: bool) {
        self.lock().refund_answers_lost = lost;
    }

    // ---- WeChat Pay's side of the world ----

    /// Ends every `PROCESSING` refund with `outcome` (`SUCCESS`, `CLOSED` or `ABNORMAL`), as
    /// WeChat Pay does after a while; returns how many ended.
    pub fn finish_refunds(&self, outcome: RefundStatus) -> usize {
        let mut state = self.lock();
        let mut ended = 0;
        for refund in state.refunds.values_mut() {
            if refund.status == RefundStatus::Processing {
                refund.status = outcome.clone();
                ended += 1;
            }
        }
        ended
    }

    /// WeChat Pay's view of a refund, as query and notification carry it.
    pub fn refund_of(&self, out_refund_no: &str) -> Option<Refund> {
        self.lock().refunds.get(out_refund_no).map(to_refund)
    }

    /// Fen refunded at WeChat Pay for `out_trade_no`: refunds that are not `CLOSED`.
    pub fn refunded_total(&self, out_trade_no: &str) -> i64 {
        refunded_locked(&self.lock(), out_trade_no)
    }

    /// Refund requests received (including refused and failed ones).
    pub fn refund_calls(&self) -> usize {
        self.lock().refund_calls
    }

    /// Prepays that timed out with [`PrepayTimeout::LandsLate`] reach WeChat Pay now.
    pub fn land_late_prepays(&self) {
        let now = self.clock.now();
        let mut state = self.lock();
        for request in std::mem::take(&mut state.late_prepays) {
            let result = process_prepay(&mut state, &request, now);
            log_prepay(&mut state, &request, now, result);
        }
    }

    /// The shopper pays the full amount; returns the transaction id. A test driver: it does not
    /// check `time_expire` (WeChat Pay's clock may lag ours). Only a prepaid `NOTPAY` order can be
    /// paid.
    pub fn pay(&self, out_trade_no: &str) -> Result<String, FakeError> {
        let mut state = self.lock();
        let total = state
            .orders
            .get(out_trade_no)
            .map(|order| order.request.amount.total)
            .ok_or_else(|| FakeError::UnknownOrder(out_trade_no.into()))?;
        pay_locked(&mut state, out_trade_no, total)
    }

    /// The shopper pays `total` fen (a tampered amount, for mismatch tests).
    pub fn pay_amount(&self, out_trade_no: &str, total: i64) -> Result<String, FakeError> {
        pay_locked(&mut self.lock(), out_trade_no, total)
    }

    /// The merchant refunds the paid order through WeChat Pay (e.g. on the merchant platform):
    /// queries then show `REFUND`. Only a paid order can be refunded.
    pub fn refund(&self, out_trade_no: &str) -> Result<(), FakeError> {
        let mut state = self.lock();
        let order = state
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(|| FakeError::UnknownOrder(out_trade_no.into()))?;
        if order.state != TradeState::Success {
            return Err(FakeError::WrongState {
                out_trade_no: out_trade_no.into(),
                state: order.state.as_str().into(),
            });
        }
        order.state = TradeState::Refund;
        Ok(())
    }

    // ---- observations ----

    /// WeChat Pay's view of the order, as query and notification carry it.
    pub fn transaction(&self, out_trade_no: &str) -> Option<Transaction> {
        self.lock().orders.get(out_trade_no).map(to_transaction)
    }

    /// WeChat Pay's trade state of the order, if it knows it.
    pub fn state_of(&self, out_trade_no: &str) -> Option<TradeState> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.state.clone())
    }

    /// The one `code_url` of the order a shopper can still pay with (older ones are retired).
    pub fn current_code_url(&self, out_trade_no: &str) -> Option<String> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.code_url.clone())
    }

    /// `code_url`s of the order that a later prepay replaced.
    pub fn retired_code_urls(&self, out_trade_no: &str) -> Vec<String> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.retired_codes.clone())
            .unwrap_or_default()
    }

    /// The prepay request the order was last (re)created with.
    pub fn last_prepay(&self, out_trade_no: &str) -> Option<NativePrepayRequest> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.request.clone())
    }

    /// Prepay calls received (including failed ones).
    pub fn prepays(&self) -> usize {
        self.lock().prepays
    }

    /// Prepays WeChat Pay processed, in order.
    pub fn prepay_log(&self) -> Vec<PrepayRecord> {
        self.lock().prepay_log.clone()
    }

    /// Query calls received (including failed and throttled ones).
    pub fn queries(&self) -> usize {
        self.lock().queries
    }

    /// Queries received, in order.
    pub fn query_log(&self) -> Vec<QueryRecord> {
        self.lock().query_log.clone()
    }

    /// Close calls received (including failed ones).
    pub fn closes(&self) -> usize {
        self.lock().closes
    }

    /// The most queries that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// The shopper pays `total` fen for `out_trade_no`, with the state already locked.
fn pay_locked(state: &mut State, out_trade_no: &str, total: i64) -> Result<String, FakeError> {
    let Some(order) = state.orders.get_mut(out_trade_no) else {
        return Err(FakeError::UnknownOrder(out_trade_no.into()));
    };
    if order.state != TradeState::Notpay {
        return Err(FakeError::WrongState {
            out_trade_no: out_trade_no.into(),
            state: order.state.as_str().into(),
        });
    }
    state.next_id += 1;
    let id = format!("42000000002024050100{:08}", state.next_id);
    if let Some(order) = state.orders.get_mut(out_trade_no) {
        order.state = TradeState::Success;
        order.transaction_id = Some(id.clone());
        order.paid_total = total;
    }
    Ok(id)
}

/// What WeChat Pay does with a prepay that reaches it at `now` (the simulator's rules).
fn process_prepay(
    state: &mut State,
    request: &NativePrepayRequest,
    now: OffsetDateTime,
) -> Result<String, GatewayError> {
    state.next_code += 1;
    let code_url = format!("weixin://wxpay/bizpayurl?pr=fake{}", state.next_code);
    match state.orders.get_mut(&request.out_trade_no) {
        None => {
            state.orders.insert(
                request.out_trade_no.clone(),
                FakeOrder {
                    request: request.clone(),
                    time_expire: request.time_expire,
                    state: TradeState::Notpay,
                    code_url: code_url.clone(),
                    retired_codes: Vec::new(),
                    transaction_id: None,
                    paid_total: 0,
                },
            );
            Ok(code_url)
        }
        Some(existing) => match existing.state {
            TradeState::Success | TradeState::Refund => Err(GatewayError::OrderPaid),
            TradeState::Notpay if !existing.is_expired(now) => {
                if existing.request != *request {
                    return Err(GatewayError::Rejected {
                        status: 403,
                        code: "OUT_TRADE_NO_USED".into(),
                        message: "商户订单号重复".into(),
                    });
                }
                let old = std::mem::replace(&mut existing.code_url, code_url.clone());
                existing.retired_codes.push(old);
                Ok(code_url)
            }
            _ => Err(GatewayError::OrderClosed),
        },
    }
}

fn log_prepay(
    state: &mut State,
    request: &NativePrepayRequest,
    at: OffsetDateTime,
    result: Result<String, GatewayError>,
) {
    state.prepay_log.push(PrepayRecord {
        out_trade_no: request.out_trade_no.clone(),
        at,
        result,
    });
}

/// Fen of the order's refunds that are not `CLOSED`.
fn refunded_locked(state: &State, out_trade_no: &str) -> i64 {
    state
        .refunds
        .values()
        .filter(|r| r.out_trade_no == out_trade_no && r.status != RefundStatus::Closed)
        .map(|r| r.request.amount.refund)
        .sum()
}

fn refused(status: u16, code: &str, message: &str) -> GatewayError {
    GatewayError::Rejected {
        status,
        code: code.into(),
        message: message.into(),
    }
}

/// What WeChat Pay does with a refund request (the simulator's rules): the same number with the
/// same parameters is the same refund; only paid orders, within what is left, 50 at most, a
/// minute at least after the order's last refund.
fn process_refund(
    state: &mut State,
    request: &RefundRequest,
    now: OffsetDateTime,
) -> Result<Refund, GatewayError> {
    if let Some(existing) = state.refunds.get(&request.out_refund_no) {
        if existing.request == *request {
            return Ok(to_refund(existing));
        }
        return Err(refused(400, "INVALID_REQUEST", "重入参数不一致"));
    }
    let order = state.orders.values().find(|order| {
        match (&request.transaction_id, &request.out_trade_no) {
            (Some(id), _) => order.transaction_id.as_deref() == Some(id.as_str()),
            (None, Some(number)) => order.request.out_trade_no == *number,
            (None, None) => false,
        }
    });
    let Some(order) = order else {
        return Err(refused(404, "RESOURCE_NOT_EXISTS", "订单不存在"));
    };
    if !matches!(order.state, TradeState::Success | TradeState::Refund) {
        return Err(refused(400, "INVALID_REQUEST", "订单状态不正确"));
    }
    if request.amount.total != order.paid_total {
        return Err(refused(400, "PARAM_ERROR", "订单金额与原订单不一致"));
    }
    let out_trade_no = order.request.out_trade_no.clone();
    let transaction_id = order.transaction_id.clone().unwrap_or_default();
    let count = state
        .refunds
        .values()
        .filter(|r| r.out_trade_no == out_trade_no)
        .count();
    if count >= 50 {
        return Err(refused(403, "RULE_LIMIT", "退款次数超过限制"));
    }
    let last = state
        .refunds
        .values()
        .filter(|r| r.out_trade_no == out_trade_no)
        .map(|r| r.created_at)
        .max();
    if last.is_some_and(|last| now - last < time::Duration::minutes(1)) {
        return Err(GatewayError::Throttled(
            "429 FREQUENCY_LIMITED: 频率超限".into(),
        ));
    }
    if request.amount.refund > order.paid_total - refunded_locked(state, &out_trade_no) {
        return Err(refused(
            400,
            "INVALID_REQUEST",
            "申请退款金额超过订单可退金额",
        ));
    }
    state.next_id += 1;
    let refund = FakeRefund {
        request: request.clone(),
        out_trade_no: out_trade_no.clone(),
        transaction_id,
        refund_id: format!("5030000000202405010{:010}", state.next_id),
        status: RefundStatus::Processing,
        created_at: now,
    };
    let answer = to_refund(&refund);
    state.refunds.insert(request.out_refund_no.clone(), refund);
    if let Some(order) = state.orders.get_mut(&out_trade_no) {
        order.state = TradeState::Refund;
    }
    Ok(answer)
}

fn to_refund(refund: &FakeRefund) -> Refund {
    Refund {
        refund_id: refund.refund_id.clone(),
        out_refund_no: refund.request.out_refund_no.clone(),
        transaction_id: refund.transaction_id.clone(),
        out_trade_no: refund.out_trade_no.clone(),
        channel: Some("ORIGINAL".into()),
        user_received_account: Some("支付用户零钱".into()),
        success_time: (refund.status == RefundStatus::Success)
            .then(|| "2024-05-01T09:00:00+08:00".into()),
        create_time: Some("2024-05-01T08:30:00+08:00".into()),
        status: refund.status.clone(),
        funds_account: Some("AVAILABLE".into()),
        amount: RefundAmount {
            total: refund.request.amount.total,
            refund: refund.request.amount.refund,
            payer_total: Some(refund.request.amount.total),
            payer_refund: Some(refund.request.amount.refund),
            settlement_refund: None,
            settlement_total: None,
            discount_refund: None,
            currency: Some("CNY".into()),
            refund_fee: None,
            from: None,
        },
        promotion_detail: None,
        extra: Default::default(),
    }
}

fn to_transaction(order: &FakeOrder) -> Transaction {
    let paid = order.state.is_paid();
    let desc = match order.state {
        TradeState::Success => "支付成功",
        TradeState::Closed => "订单已关闭",
        _ => "未支付",
    };
    Transaction {
        appid: order.request.appid.clone(),
        mchid: order.request.mchid.clone(),
        out_trade_no: order.request.out_trade_no.clone(),
        transaction_id: order.transaction_id.clone(),
        trade_type: Some("NATIVE".into()),
        trade_state: order.state.clone(),
        trade_state_desc: desc.into(),
        bank_type: paid.then(|| "OTHERS".into()),
        attach: None,
        success_time: paid.then_some(time::macros::datetime!(2024-05-01 08:02:03 +8)),
        payer: paid.then(|| Payer {
            openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
        }),
        amount: Some(TransactionAmount {
            total: Some(if paid {
                order.paid_total
            } else {
                order.request.amount.total
            }),
            payer_total: paid.then_some(order.paid_total),
            currency: Some("CNY".into()),
            payer_currency: paid.then(|| "CNY".into()),
        }),
        scene_info: None,
        promotion_detail: None,
        extra: Default::default(),
    }
}

struct InFlight<'a>(&'a AtomicUsize);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PaymentGateway for FakeWeChatPay {
    async fn native_prepay(&self, request: &NativePrepayRequest) -> Result<String, GatewayError> {
        let latency = {
            let mut state = self.lock();
            state.prepays += 1;
            if let Some(fault) = state.prepay_fault.clone() {
                return Err(fault);
            }
            state.prepay_latency
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let now = self.clock.now();
        let mut state = self.lock();
        match state.prepay_timeout {
            Some(PrepayTimeout::LandsLate) => {
                state.late_prepays.push(request.clone());
                Err(GatewayError::Timeout)
            }
            Some(PrepayTimeout::AnswerLost) => {
                let result = process_prepay(&mut state, request, now);
                log_prepay(&mut state, request, now, result);
                Err(GatewayError::Timeout)
            }
            None => {
                let result = process_prepay(&mut state, request, now);
                log_prepay(&mut state, request, now, result.clone());
                result
            }
        }
    }

    async fn query_order(&self, out_trade_no: &str) -> Result<Option<Transaction>, GatewayError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = InFlight(&self.in_flight);
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let arrived = tokio::time::Instant::now();
        let advance = *self
            .advance_per_query
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.clock.advance(advance);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut state = self.lock();
        state.queries += 1;
        let throttled = state.throttled_queries > 0;
        state.query_log.push(QueryRecord {
            out_trade_no: out_trade_no.into(),
            at: arrived,
            throttled,
        });
        if throttled {
            state.throttled_queries -= 1;
            return Err(GatewayError::Throttled(
                "429 FREQUENCY_LIMITED: 频率超限".into(),
            ));
        }
        if let Some(fault) = state.query_faults.get(out_trade_no) {
            return Err(fault.clone());
        }
        Ok(state.orders.get(out_trade_no).map(to_transaction))
    }

    async fn close_order(&self, out_trade_no: &str) -> Result<(), GatewayError> {
        let mut state = self.lock();
        state.closes += 1;
        if let Some(fault) = state.close_fault.clone() {
            return Err(fault);
        }
        if state.pay_during_close.iter().any(|n| n == out_trade_no) {
            state.pay_during_close.retain(|n| n != out_trade_no);
            let total = state
                .orders
                .get(out_trade_no)
                .map(|order| order.request.amount.total);
            if let Some(total) = total {
                // An order that cannot be paid (already paid or closed) just stays as it is.
                let _ = pay_locked(&mut state, out_trade_no, total);
            }
        }
        let (paid_answer, unknown_answer) = (state.close_paid_answer, state.close_unknown_answer);
        let Some(order) = state.orders.get_mut(out_trade_no) else {
            return match unknown_answer {
                CloseUnknownAnswer::NotFound => Err(GatewayError::OrderNotFound),
                CloseUnknownAnswer::NoContent => Ok(()),
            };
        };
        match order.state {
            TradeState::Notpay => {
                order.state = TradeState::Closed;
                Ok(())
            }
            TradeState::Closed => Ok(()),
            // Paid (and perhaps refunded since): it stays as it is.
            _ => match paid_answer {
                ClosePaidAnswer::OrderPaid => Err(GatewayError::OrderPaid),
                ClosePaidAnswer::NoContent => Ok(()),
            },
        }
    }
}

impl RefundGateway for FakeWeChatPay {
    async fn refund(&self, request: &RefundRequest) -> Result<Refund, GatewayError> {
        let mut state = self.lock();
        state.refund_calls += 1;
        if let Some(fault) = state.refund_fault.clone() {
            return Err(fault);
        }
        let answer = process_refund(&mut state, request, self.clock.now());
        if state.refund_answers_lost {
            return Err(GatewayError::Timeout);
        }
        answer
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, GatewayError> {
        Ok(self.lock().refunds.get(out_refund_no).map(to_refund))
    }
}
