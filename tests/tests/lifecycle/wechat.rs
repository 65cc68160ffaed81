//! WeChat Pay's side: the simulator's own order and refund rules and close answers (`wxpay_sim`),
//! called in process over a network with seeded latency, errors, throttling and timeouts
//! (including calls that time out on our side after they took effect), the shopper who scans a
//! code, refunds that end after a while (mostly `SUCCESS`, some `ABNORMAL` or `CLOSED`), refunds
//! the merchant makes by hand in the merchant platform, and notification delivery (payments and
//! refunds) on the retry ladder with drops, duplicates and delays, signed and encrypted as the
//! simulator sends them, into the real `pay-notify` router.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::Request;
use orders::ports::{GatewayError, PaymentGateway, RefundGateway};
use tower::ServiceExt;
use wxpay::Clock;
use wxpay::models::{NativePrepayRequest, Transaction};
use wxpay::notify::RefundEvent;
use wxpay::refund::{Refund, RefundRequest, RefundResource};
use wxpay_sim::config::SigningMode;
use wxpay_sim::notify::RETRY_LADDER_SECS;
use wxpay_sim::order::{CODE_URL_PREFIX, OrderState, ResubmitError};
use wxpay_sim::refund::{MIN_INTERVAL, NewRefund, RefundError, RefundOutcome, platform_request};
use wxpay_sim::sandbox::Sandbox;
use wxpay_sim::signing::ResponseSigner;
use wxpay_sim::store::{CloseAnswer, OrderStore, PrepayError, RefundStoreError};
use wxpay_sim::{ClosePaidAnswer, CloseUnknownAnswer, Faults};

use super::clock::VirtualClock;
use super::rng::Rng;

/// The longest a refund stays `PROCESSING` at WeChat Pay here.
pub const REFUND_TAKES_UP_TO: Duration = Duration::from_secs(120);

/// The merchant client's timeout (`WXPAY_TIMEOUT_MS`).
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(3000);

struct Network {
    faults_on: bool,
    /// Percent of calls that go wrong while faults are on (drawn per seed).
    intensity: u64,
}

/// The assumptions a seed breaks.
#[derive(Clone, Copy, Debug)]
pub struct Broken {
    /// How far WeChat Pay's clock is behind ours.
    pub clock_behind: time::Duration,
}

/// What WeChat Pay notifies the merchant of.
pub enum Event {
    /// A payment (`TRANSACTION.SUCCESS`).
    Paid(Transaction),
    /// A refund that ended (`REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`).
    RefundEnded(RefundResource),
}

/// WeChat Pay, as the merchant's gateway and as the shopper's app. Cheap to clone.
#[derive(Clone)]
pub struct WeChat {
    ledger: Arc<OrderStore>,
    faults: Faults,
    network: Arc<Mutex<Network>>,
    rng: Rng,
    clock: VirtualClock,
    sandbox: Arc<Sandbox>,
    signer: ResponseSigner,
    /// Orders whose shopper pays just before the merchant's close reaches WeChat Pay.
    pay_during_close: Arc<Mutex<Vec<(String, String)>>>,
    /// In a tenth of the seeds, two of the assumptions the code rests on are broken on purpose:
    /// WeChat Pay's clock is behind ours by more than the skew allowance, and a close of an unpaid
    /// order answers 204 without closing it. Money must still never be lost.
    broken: Option<Broken>,
    /// Every prepay WeChat Pay accepted: `out_trade_no` and when.
    accepted: Arc<Mutex<Vec<(String, time::OffsetDateTime)>>>,
    /// Every payment WeChat Pay takes and every refund that ends, for its notification.
    events: tokio::sync::mpsc::UnboundedSender<Event>,
}

/// An error answer as the `wxpay` client reports it; mapped to what the services see by the real
/// `orders::adapters::wxpay::gateway_error`, so the simulation exercises that mapping too.
fn api(status: u16, code: &str, message: &str) -> GatewayError {
    orders::adapters::wxpay::gateway_error(wxpay::ClientError::Api {
        status,
        code: code.into(),
        message: message.into(),
        detail: None,
    })
}

/// How one call fares on the network.
enum Fate {
    /// Processed and answered.
    Answered,
    /// Refused before processing (by WeChat Pay, or by a proxy on the way).
    Failed(GatewayError),
    /// Processed (or lost), answered too late: the client times out.
    TimedOut { processed: bool },
}

impl WeChat {
    pub fn new(
        rng: Rng,
        clock: VirtualClock,
        sandbox: Arc<Sandbox>,
        events: tokio::sync::mpsc::UnboundedSender<Event>,
    ) -> Self {
        let faults = Faults {
            close_paid_answer: if rng.chance(0.5) {
                ClosePaidAnswer::OrderPaid
            } else {
                ClosePaidAnswer::NoContent
            },
            close_unknown_answer: if rng.chance(0.5) {
                CloseUnknownAnswer::NotFound
            } else {
                CloseUnknownAnswer::NoContent
            },
            ..Faults::default()
        };
        let broken = rng.chance(0.1).then(|| Broken {
            clock_behind: time::Duration::seconds(i64::try_from(rng.range(31, 120)).unwrap()),
        });
        Self {
            broken,
            ledger: Arc::new(OrderStore::in_memory()),
            faults,
            network: Arc::new(Mutex::new(Network {
                faults_on: true,
                intensity: rng.range(0, 30),
            })),
            signer: ResponseSigner::new(sandbox.clone(), SigningMode::PublicKey),
            rng,
            clock,
            sandbox,
            pay_during_close: Arc::default(),
            accepted: Arc::default(),
            events,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "close_paid_answer {:?}, close_unknown_answer {:?}, {}% of calls faulted, assumptions broken: {:?}",
            self.faults.close_paid_answer,
            self.faults.close_unknown_answer,
            self.network.lock().unwrap().intensity,
            self.broken
        )
    }

    pub fn ledger(&self) -> &OrderStore {
        &self.ledger
    }

    /// When WeChat Pay accepted prepays of `out_trade_no`.
    pub fn accepted_prepays(&self, out_trade_no: &str) -> Vec<time::OffsetDateTime> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|(no, _)| no == out_trade_no)
            .map(|(_, at)| *at)
            .collect()
    }

    pub fn stop_faults(&self) {
        self.network.lock().unwrap().faults_on = false;
    }

    fn faults_on(&self) -> bool {
        self.network.lock().unwrap().faults_on
    }

    /// WeChat Pay's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        match self.broken {
            Some(broken) => self.clock.now() - broken.clock_behind,
            None => self.clock.now(),
        }
    }

    /// The assumptions this seed breaks, if any.
    pub fn broken(&self) -> Option<Broken> {
        self.broken
    }

    async fn fate(&self) -> Fate {
        tokio::time::sleep(self.rng.millis(5, 150)).await;
        let (on, intensity) = {
            let network = self.network.lock().unwrap();
            (network.faults_on, network.intensity)
        };
        let draw = self.rng.range(0, 99);
        if !on || draw >= intensity {
            return Fate::Answered;
        }
        match draw % 6 {
            0 | 1 => Fate::TimedOut {
                processed: self.rng.chance(0.6),
            },
            2 => Fate::Failed(api(429, "FREQUENCY_LIMITED", "频率超限")),
            3 => Fate::Failed(api(500, "SYSTEM_ERROR", "系统错误")),
            // A proxy's or load balancer's answer, with no WeChat Pay error body.
            4 => Fate::Failed(api(404, "", "")),
            _ => Fate::Failed(api(502, "", "")),
        }
    }

    /// Runs `call` as WeChat Pay would receive it over this network.
    async fn over_network<T>(
        &self,
        call: impl FnOnce() -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        match self.fate().await {
            Fate::Answered => {
                let answer = call();
                tokio::time::sleep(self.rng.millis(5, 150)).await;
                answer
            }
            Fate::Failed(err) => Err(err),
            Fate::TimedOut { processed } => {
                let landed = self.rng.millis(0, 2900);
                tokio::time::sleep(landed).await;
                if processed {
                    let _ = call();
                }
                tokio::time::sleep(CLIENT_TIMEOUT - landed).await;
                Err(GatewayError::Timeout)
            }
        }
    }

    /// The shopper scans `code_url` and pays; returns the paid transaction, if WeChat Pay took it.
    pub fn scan_and_pay(&self, code_url: &str) -> Option<Transaction> {
        let token = code_url.strip_prefix(CODE_URL_PREFIX)?;
        let paid = self
            .ledger
            .pay(
                token,
                format!("o{}", self.rng.range(1, 999_999)),
                self.now(),
            )
            .ok()?;
        let transaction = paid.transaction();
        let _ = self.events.send(Event::Paid(transaction.clone()));
        Some(transaction)
    }

    /// The shopper of `out_trade_no` will pay with `code_url` just before a close arrives.
    pub fn pay_before_close(&self, out_trade_no: &str, code_url: &str) {
        self.pay_during_close
            .lock()
            .unwrap()
            .push((out_trade_no.to_owned(), code_url.to_owned()));
    }

    /// As [`Self::deliver`], owning its WeChat Pay (for `tokio::spawn`).
    pub async fn deliver_owned(self, event: Event, notify: Router) {
        self.deliver(event, notify).await;
    }

    /// Delivers the notification of `event` on the retry ladder until `notify` acknowledges it,
    /// with drops, duplicates and delays while faults are on.
    pub async fn deliver(&self, event: Event, notify: Router) {
        let envelope = match &event {
            Event::Paid(transaction) => wxpay_sim::notify::envelope::transaction_success(
                &self.sandbox.apiv3_key,
                transaction,
                self.now(),
            )
            .unwrap(),
            Event::RefundEnded(resource) => wxpay::notify::seal_refund(
                &self.sandbox.apiv3_key,
                format!("{:032x}", self.rng.next_u64()),
                wxpay::time::format(self.now()).unwrap(),
                &format!("{:012x}", self.rng.next_u64() & 0xffff_ffff_ffff),
                RefundEvent::of(&resource.refund_status).unwrap(),
                &serde_json::to_vec(resource).unwrap(),
            )
            .unwrap(),
        };
        let body = serde_json::to_vec(&envelope).unwrap();
        for wait in std::iter::once(0).chain(RETRY_LADDER_SECS) {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            let faults = self.faults_on();
            if faults && self.rng.chance(0.3) {
                continue;
            }
            let copies = if faults && self.rng.chance(0.3) {
                self.rng.range(2, 3)
            } else {
                1
            };
            let sends = (0..copies).map(|_| {
                let delay = if faults {
                    self.rng.millis(0, 20_000)
                } else {
                    Duration::ZERO
                };
                self.send(body.clone(), notify.clone(), delay)
            });
            let answers = futures::future::join_all(sends).await;
            if answers.into_iter().any(|ok| ok) {
                return;
            }
        }
    }

    /// How the next refund ends: mostly `SUCCESS`, sometimes `ABNORMAL` or `CLOSED`.
    fn refund_outcome(&self) -> RefundOutcome {
        match self.rng.range(0, 9) {
            0 => RefundOutcome::Abnormal,
            1 => RefundOutcome::Closed,
            _ => RefundOutcome::Success,
        }
    }

    /// A fresh refund id, in WeChat Pay's shape.
    fn refund_id(&self) -> String {
        format!("50300{:015}", self.rng.range(0, 999_999_999_999_999))
    }

    /// Ends the refund `out_refund_no` after a while (as WeChat Pay does), then notifies it.
    fn finish_later(&self, out_refund_no: String) {
        let wechat = self.clone();
        tokio::spawn(async move {
            let takes = u64::try_from(REFUND_TAKES_UP_TO.as_millis()).unwrap();
            tokio::time::sleep(wechat.rng.millis(1_000, takes)).await;
            if let Ok(Some(ended)) = wechat.ledger.finish_refund(&out_refund_no, wechat.now()) {
                let resource = ended.refund.resource(&ended.order);
                let _ = wechat.events.send(Event::RefundEnded(resource));
            }
        });
    }

    /// The merchant refunds `amount` fen of the paid `out_trade_no` by hand in the merchant
    /// platform, under a number the services never issued; `false` if WeChat Pay refuses.
    pub fn refund_by_hand(&self, out_trade_no: &str, out_refund_no: String, amount: i64) -> bool {
        let Some(order) = self.ledger.by_out_trade_no(out_trade_no) else {
            return false;
        };
        let request = platform_request(&order, out_refund_no, Some(amount), None);
        let new = NewRefund::platform(self.refund_id(), self.refund_outcome());
        match self.ledger.refund(request, self.now(), new) {
            Ok((of, true)) => {
                self.finish_later(of.refund.out_refund_no().to_owned());
                true
            }
            _ => false,
        }
    }

    async fn send(&self, body: Vec<u8>, notify: Router, delay: Duration) -> bool {
        tokio::time::sleep(delay).await;
        let now = self.now();
        let headers = self
            .signer
            .sign(
                SigningMode::PublicKey,
                now.unix_timestamp(),
                format!("{:032x}", self.rng.next_u64()),
                &body,
            )
            .unwrap();
        let mut request = Request::post(pay_notify::NOTIFY_PATH)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        headers.write_to(request.headers_mut());
        let response = notify.oneshot(request).await.unwrap();
        response.status().is_success()
    }
}

impl PaymentGateway for WeChat {
    async fn native_prepay(&self, request: &NativePrepayRequest) -> Result<String, GatewayError> {
        let request = request.clone();
        self.over_network(|| {
            wxpay::validate::native_prepay(&request)
                .map_err(|e| api(400, "PARAM_ERROR", &e.issue))?;
            let out_trade_no = request.out_trade_no.clone();
            match self.ledger.prepay(request, self.now()) {
                Ok(code) => {
                    self.accepted
                        .lock()
                        .unwrap()
                        .push((out_trade_no, self.now()));
                    Ok(code.url())
                }
                Err(PrepayError::Resubmit(ResubmitError::Paid)) => {
                    Err(api(403, "ORDERPAID", "订单已支付"))
                }
                Err(PrepayError::Resubmit(ResubmitError::Closed)) => {
                    Err(api(400, "ORDER_CLOSED", "订单已关闭"))
                }
                Err(PrepayError::Resubmit(ResubmitError::DifferentParameters)) => {
                    Err(api(403, "OUT_TRADE_NO_USED", "商户订单号重复"))
                }
                Err(_) => Err(api(500, "SYSTEM_ERROR", "系统错误")),
            }
        })
        .await
    }

    async fn query_order(&self, out_trade_no: &str) -> Result<Option<Transaction>, GatewayError> {
        let answer = self
            .over_network(|| match self.ledger.by_out_trade_no(out_trade_no) {
                Some(order) => Ok(order.transaction()),
                None => Err(api(404, "ORDER_NOT_EXIST", "订单不存在")),
            })
            .await;
        // As the `wxpay` client adapter does: only ORDER_NOT_EXIST means "unknown".
        match answer {
            Ok(transaction) => Ok(Some(transaction)),
            Err(GatewayError::OrderNotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn close_order(&self, out_trade_no: &str) -> Result<(), GatewayError> {
        self.over_network(|| {
            let armed = {
                let mut armed = self.pay_during_close.lock().unwrap();
                let found = armed.iter().position(|(no, _)| no == out_trade_no);
                found.map(|index| armed.remove(index))
            };
            if let Some((_, code_url)) = armed {
                self.scan_and_pay(&code_url);
            }
            let now = self.now();
            let unpaid = self
                .ledger
                .by_out_trade_no(out_trade_no)
                .is_some_and(|order| matches!(order.state, OrderState::Notpay));
            if self.broken.is_some() && unpaid {
                return Ok(());
            }
            match self.ledger.close_answer(out_trade_no, now, &self.faults) {
                Ok(CloseAnswer::NoContent) => Ok(()),
                Ok(CloseAnswer::OrderPaid) => Err(api(403, "ORDERPAID", "订单已支付")),
                Ok(CloseAnswer::OrderNotExist) => Err(api(404, "ORDER_NOT_EXIST", "订单不存在")),
                Err(_) => Err(api(500, "SYSTEM_ERROR", "系统错误")),
            }
        })
        .await
    }
}

impl RefundGateway for WeChat {
    async fn refund(&self, request: &RefundRequest) -> Result<Refund, GatewayError> {
        let request = request.clone();
        self.over_network(|| {
            wxpay::validate::refund(&request).map_err(|e| api(400, "PARAM_ERROR", &e.issue))?;
            let new = NewRefund::api(self.refund_id(), self.refund_outcome(), MIN_INTERVAL);
            match self.ledger.refund(request.clone(), self.now(), new) {
                Ok((of, created)) => {
                    if created {
                        self.finish_later(of.refund.out_refund_no().to_owned());
                    }
                    Ok(of.refund.answer(&of.order))
                }
                Err(RefundStoreError::UnknownOrder) => {
                    Err(api(404, "RESOURCE_NOT_EXISTS", "订单不存在"))
                }
                Err(RefundStoreError::Reused) => Err(api(400, "INVALID_REQUEST", "重入参数不一致")),
                Err(RefundStoreError::Rule(RefundError::NotPaid)) => {
                    Err(api(400, "INVALID_REQUEST", "订单状态不正确"))
                }
                Err(RefundStoreError::Rule(RefundError::TotalMismatch)) => {
                    Err(api(400, "PARAM_ERROR", "订单金额与原订单不一致"))
                }
                Err(RefundStoreError::Rule(RefundError::Exceeds)) => {
                    Err(api(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额"))
                }
                Err(RefundStoreError::Rule(RefundError::TooMany)) => {
                    Err(api(403, "RULE_LIMIT", "退款次数超过限制"))
                }
                Err(RefundStoreError::Rule(RefundError::TooSoon)) => {
                    Err(api(429, "FREQUENCY_LIMITED", "频率超限"))
                }
                Err(_) => Err(api(500, "SYSTEM_ERROR", "系统错误")),
            }
        })
        .await
    }

    async fn query_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, GatewayError> {
        let answer = self
            .over_network(|| match self.ledger.by_out_refund_no(out_refund_no) {
                Some(of) => Ok(of.refund.answer(&of.order)),
                None => Err(api(404, "RESOURCE_NOT_EXISTS", "退款单不存在")),
            })
            .await;
        // As the `wxpay` client adapter does: only RESOURCE_NOT_EXISTS on a 404 means "unknown".
        match answer {
            Ok(refund) => Ok(Some(refund)),
            Err(GatewayError::Rejected {
                status: 404, code, ..
            }) if code == "RESOURCE_NOT_EXISTS" => Ok(None),
            Err(err) => Err(err),
        }
    }
}
