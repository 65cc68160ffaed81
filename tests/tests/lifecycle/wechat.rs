//! WeChat Pay's side: the simulator's own order rules and close answers (`wxpay_sim`), called in
//! process over a network with seeded latency, errors, throttling and timeouts (including calls
//! that time out on our side after they took effect), the shopper who scans a code, and
//! notification delivery on the retry ladder with drops, duplicates and delays, signed and
//! encrypted as the simulator sends them, into the real `pay-notify` router.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::Request;
use orders::ports::{GatewayError, PaymentGateway};
use tower::ServiceExt;
use wxpay::Clock;
use wxpay::models::{NativePrepayRequest, Transaction};
use wxpay_sim::config::SigningMode;
use wxpay_sim::notify::RETRY_LADDER_SECS;
use wxpay_sim::order::{CODE_URL_PREFIX, OrderState, ResubmitError};
use wxpay_sim::sandbox::Sandbox;
use wxpay_sim::signing::ResponseSigner;
use wxpay_sim::store::{CloseAnswer, OrderStore, PrepayError};
use wxpay_sim::{ClosePaidAnswer, CloseUnknownAnswer, Faults};

use super::clock::VirtualClock;
use super::rng::Rng;

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
    /// Every payment WeChat Pay takes, for its notification to be delivered.
    payments: tokio::sync::mpsc::UnboundedSender<Transaction>,
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
        payments: tokio::sync::mpsc::UnboundedSender<Transaction>,
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
            payments,
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
        let _ = self.payments.send(transaction.clone());
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
    pub async fn deliver_owned(self, transaction: Transaction, notify: Router) {
        self.deliver(transaction, notify).await;
    }

    /// Delivers the `TRANSACTION.SUCCESS` notification of `transaction` on the retry ladder until
    /// `notify` acknowledges it, with drops, duplicates and delays while faults are on.
    pub async fn deliver(&self, transaction: Transaction, notify: Router) {
        let envelope = wxpay_sim::notify::envelope::transaction_success(
            &self.sandbox.apiv3_key,
            &transaction,
            self.now(),
        )
        .unwrap();
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
