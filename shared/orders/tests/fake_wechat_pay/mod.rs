//! An in-memory WeChat Pay for service tests: it keeps orders through `NOTPAY`, `SUCCESS` and
//! `CLOSED` like the real one (re-prepay with identical parameters, `ORDERPAID` on closing a paid
//! order, unknown orders not found), with fault switches and a concurrency gauge.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use orders::ports::{GatewayError, PaymentGateway};
use wxpay::FixedClock;
use wxpay::models::{NativePrepayRequest, Payer, TradeState, Transaction, TransactionAmount};

#[derive(Debug, Clone)]
struct FakeOrder {
    request: NativePrepayRequest,
    state: TradeState,
    transaction_id: Option<String>,
    paid_total: i64,
}

#[derive(Debug, Default)]
struct State {
    orders: HashMap<String, FakeOrder>,
    prepay_fault: Option<GatewayError>,
    query_faults: HashMap<String, GatewayError>,
    close_fault: Option<GatewayError>,
    pay_during_close: Vec<String>,
    prepays: usize,
    queries: usize,
    closes: usize,
    next_id: u64,
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
        self.state.lock().unwrap()
    }

    pub fn fail_prepays_with(&self, fault: Option<GatewayError>) {
        self.lock().prepay_fault = fault;
    }

    pub fn fail_queries_of(&self, out_trade_no: &str, fault: GatewayError) {
        self.lock().query_faults.insert(out_trade_no.into(), fault);
    }

    pub fn fail_closes_with(&self, fault: Option<GatewayError>) {
        self.lock().close_fault = fault;
    }

    /// The shopper pays `out_trade_no` just before the merchant's close reaches WeChat Pay.
    pub fn pay_during_close(&self, out_trade_no: &str) {
        self.lock().pay_during_close.push(out_trade_no.into());
    }

    pub fn advance_clock_per_query(&self, by: time::Duration) {
        *self.advance_per_query.lock().unwrap() = by;
    }

    /// The shopper pays the full amount; returns the transaction id.
    pub fn pay(&self, out_trade_no: &str) -> String {
        let total = self.lock().orders[out_trade_no].request.amount.total;
        self.pay_amount(out_trade_no, total)
    }

    /// The shopper pays `total` fen (a tampered amount, for mismatch tests).
    pub fn pay_amount(&self, out_trade_no: &str, total: i64) -> String {
        let mut state = self.lock();
        state.next_id += 1;
        let id = format!("42000000002024050100{:08}", state.next_id);
        let order = state.orders.get_mut(out_trade_no).expect("prepaid order");
        assert_eq!(
            order.state,
            TradeState::Notpay,
            "only unpaid orders can be paid"
        );
        order.state = TradeState::Success;
        order.transaction_id = Some(id.clone());
        order.paid_total = total;
        id
    }

    /// WeChat Pay's view of the order, as query and notification carry it.
    pub fn transaction(&self, out_trade_no: &str) -> Option<Transaction> {
        self.lock().orders.get(out_trade_no).map(to_transaction)
    }

    pub fn state_of(&self, out_trade_no: &str) -> Option<TradeState> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.state.clone())
    }

    pub fn last_prepay(&self, out_trade_no: &str) -> Option<NativePrepayRequest> {
        self.lock()
            .orders
            .get(out_trade_no)
            .map(|o| o.request.clone())
    }

    pub fn prepays(&self) -> usize {
        self.lock().prepays
    }

    pub fn queries(&self) -> usize {
        self.lock().queries
    }

    pub fn closes(&self) -> usize {
        self.lock().closes
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

fn to_transaction(order: &FakeOrder) -> Transaction {
    let paid = order.state == TradeState::Success;
    Transaction {
        appid: order.request.appid.clone(),
        mchid: order.request.mchid.clone(),
        out_trade_no: order.request.out_trade_no.clone(),
        transaction_id: order.transaction_id.clone(),
        trade_type: Some("NATIVE".into()),
        trade_state: order.state.clone(),
        trade_state_desc: if paid { "支付成功" } else { "未支付" }.into(),
        bank_type: paid.then(|| "OTHERS".into()),
        attach: None,
        success_time: paid.then(|| "2024-05-01T08:02:03+08:00".into()),
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
        let mut state = self.lock();
        state.prepays += 1;
        if let Some(fault) = state.prepay_fault.clone() {
            return Err(fault);
        }
        let code_url = format!("weixin://wxpay/bizpayurl?pr=fake{}", state.prepays);
        match state.orders.get(&request.out_trade_no) {
            None => {
                state.orders.insert(
                    request.out_trade_no.clone(),
                    FakeOrder {
                        request: request.clone(),
                        state: TradeState::Notpay,
                        transaction_id: None,
                        paid_total: 0,
                    },
                );
                Ok(code_url)
            }
            Some(existing) if existing.request != *request => Err(GatewayError::Rejected {
                status: 403,
                code: "OUT_TRADE_NO_USED".into(),
                message: "商户订单号重复".into(),
            }),
            Some(existing) => match existing.state {
                TradeState::Notpay => Ok(code_url),
                TradeState::Success => Err(GatewayError::OrderPaid),
                _ => Err(GatewayError::OrderClosed),
            },
        }
    }

    async fn query_order(&self, out_trade_no: &str) -> Result<Option<Transaction>, GatewayError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = InFlight(&self.in_flight);
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let advance = *self.advance_per_query.lock().unwrap();
        self.clock.advance(advance);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut state = self.lock();
        state.queries += 1;
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
            drop(state);
            self.pay(out_trade_no);
            state = self.lock();
        }
        let order = state
            .orders
            .get_mut(out_trade_no)
            .ok_or(GatewayError::OrderNotFound)?;
        match order.state {
            TradeState::Success => Err(GatewayError::OrderPaid),
            _ => {
                order.state = TradeState::Closed;
                Ok(())
            }
        }
    }
}
