//! The merchant's store as the simulation sees it: the real embedded store (in memory), with
//! seeded write failures (before or after the write took effect, as when DynamoDB times out after
//! committing) and a monitor that checks every transition as it happens.

use std::sync::{Arc, Mutex};

use orders::adapters::{DynamoOrderStore, EmbeddedOrderStore};
use orders::domain::refund::{RefundAsk, RefundReport};
use orders::domain::{
    BuyerHash, CloseRequest, Order, OrderNo, PaymentRecord, PrepayAnswer, PrepayClaim, Product,
    Refund, RefundNo, Settlement,
};
use orders::ports::{
    AnswerOutcome, AskOutcome, BuyerOrderLister, ClaimOutcome, CloseOutcome, CreateOutcome,
    Evidence, EvidenceRecorder, IdempotencyClaim, OpenRefundLister, OrderCloser, OrderCreator,
    OrderReader, OrderSettler, Page, PageRequest, PaymentRecordReader, PendingOrderLister,
    PrepayRecorder, ProductReader, ProductWriter, RateCounter, RateWindow, RefundReader,
    RefundRecorder, RefundRequester, RejectOutcome, ReportOutcome, SettleOutcome, StoreError,
    SweepFailureRecorder,
};
use time::OffsetDateTime;
use wxpay_sim::order::OrderState;

use super::rng::Rng;
use super::wechat::WeChat;

/// What the monitor saw go wrong, as it happened.
#[derive(Clone, Default)]
pub struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    pub fn push(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// The store under test: the embedded store in memory (deterministic), or DynamoDB (moto) for a
/// sample of seeds. DynamoDB calls run one at a time on a real-time runtime, inside
/// `spawn_blocking`, which stops the paused clock from advancing while they are in flight: the
/// schedule stays the seed's, though a replay is only as exact as moto's answers.
#[derive(Clone)]
pub enum Backend {
    Embedded(EmbeddedOrderStore),
    Dynamo {
        store: DynamoOrderStore,
        runtime: tokio::runtime::Handle,
        one_at_a_time: Arc<tokio::sync::Mutex<()>>,
    },
}

/// Runs `$call` on the backend: `$store` names the store inside; the arguments it uses must be
/// owned clones (the DynamoDB arm moves them to another runtime).
macro_rules! on_backend {
    ($backend:expr, |$store:ident| $call:expr) => {
        match $backend {
            Backend::Embedded($store) => $call.await,
            Backend::Dynamo {
                store,
                runtime,
                one_at_a_time,
            } => {
                let $store = store.clone();
                let runtime = runtime.clone();
                let _turn = one_at_a_time.lock().await;
                tokio::task::spawn_blocking(move || runtime.block_on(async move { $call.await }))
                    .await
                    .unwrap()
            }
        }
    };
}

#[derive(Clone)]
pub struct SimStore {
    backend: Backend,
    rng: Rng,
    faults_on: Arc<Mutex<bool>>,
    wechat: WeChat,
    pub violations: Violations,
    created: Arc<Mutex<Vec<OrderNo>>>,
}

/// Where an injected failure strikes.
enum Fault {
    None,
    Before,
    After,
}

impl SimStore {
    pub fn new(backend: Backend, rng: Rng, wechat: WeChat, violations: Violations) -> Self {
        Self {
            backend,
            rng,
            faults_on: Arc::new(Mutex::new(true)),
            wechat,
            violations,
            created: Arc::default(),
        }
    }

    /// Every order number written (including those whose caller saw an injected failure).
    pub fn created(&self) -> Vec<OrderNo> {
        self.created.lock().unwrap().clone()
    }

    /// The order as stored (no fault injected).
    pub async fn order(&self, order_no: &OrderNo) -> Option<Order> {
        let no = order_no.clone();
        on_backend!(&self.backend, |s| s.get_order(&no)).unwrap()
    }

    /// The payment records of an order (no fault injected).
    pub async fn records(&self, order_no: &OrderNo) -> Vec<PaymentRecord> {
        let no = order_no.clone();
        on_backend!(&self.backend, |s| s.payment_records(&no)).unwrap()
    }

    /// The evidence kept for an order (no fault injected).
    pub async fn evidence(&self, order_no: &OrderNo) -> Vec<Evidence> {
        let no = order_no.to_string();
        on_backend!(&self.backend, |s| s.evidence_for(&no)).unwrap()
    }

    /// The refunds of an order (no fault injected).
    pub async fn refunds(&self, order_no: &OrderNo) -> Vec<Refund> {
        let no = order_no.clone();
        on_backend!(&self.backend, |s| s.refunds_of(&no)).unwrap()
    }

    /// Seeds the catalog.
    pub async fn add_product(&self, product: Product) {
        on_backend!(&self.backend, |s| s.put_product(&product)).unwrap();
    }

    pub fn stop_faults(&self) {
        *self.faults_on.lock().unwrap() = false;
    }

    fn fault(&self) -> Fault {
        if !*self.faults_on.lock().unwrap() {
            return Fault::None;
        }
        match self.rng.range(0, 99) {
            0..=2 => Fault::Before,
            3..=4 => Fault::After,
            _ => Fault::None,
        }
    }

    fn injected() -> StoreError {
        StoreError::Unavailable("injected store failure".into())
    }

    /// Runs a write of `order_no` with a possible injected failure, checking that the order never
    /// moves backward. The embedded store runs inline, so nothing interleaves with the reads.
    async fn write<T>(
        &self,
        order_no: &OrderNo,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let fault = self.fault();
        if matches!(fault, Fault::Before) {
            return Err(Self::injected());
        }
        let before = self.order(order_no).await;
        let result = op.await;
        let after = self.order(order_no).await;
        if let (Some(before), Some(after)) = (&before, &after) {
            let (from, to) = (before.order_status, after.order_status);
            if from != to && !from.can_become(to) {
                self.violations
                    .push(format!("{order_no} moved backward: {from} → {to}"));
            }
            if from.is_pending() && !to.is_pending() && !to.is_paid() {
                self.check_closed_while_unpayable(after);
            }
        }
        match fault {
            Fault::After => Err(Self::injected()),
            _ => result,
        }
    }

    /// No order is CLOSED or CANCELLED while WeChat Pay could still accept its payment.
    fn check_closed_while_unpayable(&self, order: &Order) {
        if self.wechat.broken().is_some() {
            // The seed breaks the assumptions this rests on; the money invariants still hold.
            return;
        }
        let now = self.wechat.now();
        let Some(theirs) = self
            .wechat
            .ledger()
            .by_out_trade_no(order.order_no.as_str())
        else {
            return;
        };
        let unpayable = match theirs.state {
            OrderState::Closed { .. } => true,
            OrderState::Notpay => theirs.is_expired(now),
            OrderState::Success(_) => false,
        };
        if !unpayable {
            self.violations.push(format!(
                "{} became {} at {now} while WeChat Pay could still take its payment ({:?})",
                order.order_no, order.order_status, theirs.state
            ));
        }
    }
}

impl ProductReader for SimStore {
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        on_backend!(&self.backend, |s| s.list_products())
    }
    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        let id = id.to_owned();
        on_backend!(&self.backend, |s| s.get_product(&id))
    }
}

impl ProductWriter for SimStore {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        let product = product.clone();
        on_backend!(&self.backend, |s| s.put_product(&product))
    }

    async fn remove_product(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        on_backend!(&self.backend, |s| s.remove_product(&id))
    }
}

impl OrderCreator for SimStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome, StoreError> {
        let (o, claim) = (order.clone(), idempotency.cloned());
        let result = self
            .write(&order.order_no, async {
                on_backend!(&self.backend, |s| s.create_order(&o, claim.as_ref()))
            })
            .await;
        if self.order(&order.order_no).await.is_some() {
            self.created.lock().unwrap().push(order.order_no.clone());
        }
        result
    }

    async fn claimed_order(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Order>, StoreError> {
        let key = key.to_owned();
        on_backend!(&self.backend, |s| s.claimed_order(&key, now))
    }
}

// The simulation runs without order caps (`OrdersConfig::new`); these only satisfy the bound.
impl BuyerOrderLister for SimStore {
    async fn list_buyer_orders(
        &self,
        buyer: &BuyerHash,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let (buyer, page) = (buyer.clone(), page.clone());
        on_backend!(&self.backend, |s| s.list_buyer_orders(&buyer, &page))
    }
}

impl RateCounter for SimStore {
    async fn admit(&self, window: &RateWindow) -> Result<bool, StoreError> {
        let window = window.clone();
        on_backend!(&self.backend, |s| s.admit(&window))
    }
}

impl OrderReader for SimStore {
    async fn get_order(&self, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
        let no = order_no.clone();
        on_backend!(&self.backend, |s| s.get_order(&no))
    }
}

impl PrepayRecorder for SimStore {
    async fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        let (no, claim) = (order_no.clone(), claim.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.claim_prepay(&no, &claim))
        })
        .await
    }
    async fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> Result<AnswerOutcome, StoreError> {
        let (no, answer) = (order_no.clone(), answer.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.answer_prepay(&no, &answer))
        })
        .await
    }
}

impl OrderSettler for SimStore {
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        let (no, settlement) = (order_no.clone(), settlement.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.settle_order(&no, &settlement))
        })
        .await
    }
}

impl OrderCloser for SimStore {
    async fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> Result<CloseOutcome, StoreError> {
        let (no, request) = (order_no.clone(), request.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.close_order(&no, &request))
        })
        .await
    }
}

impl SweepFailureRecorder for SimStore {
    async fn record_sweep_failure(&self, order_no: &OrderNo) -> Result<(), StoreError> {
        let no = order_no.clone();
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.record_sweep_failure(&no))
        })
        .await
    }
}

impl EvidenceRecorder for SimStore {
    async fn record_evidence(&self, evidence: &Evidence) -> Result<(), StoreError> {
        let evidence = evidence.clone();
        on_backend!(&self.backend, |s| s.record_evidence(&evidence))
    }
    async fn evidence_for(&self, out_trade_no: &str) -> Result<Vec<Evidence>, StoreError> {
        let no = out_trade_no.to_owned();
        on_backend!(&self.backend, |s| s.evidence_for(&no))
    }
}

impl PendingOrderLister for SimStore {
    async fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        if matches!(self.fault(), Fault::Before) {
            return Err(Self::injected());
        }
        let page = page.clone();
        on_backend!(&self.backend, |s| s
            .list_pending_orders(created_before, &page))
    }
}

impl RefundRequester for SimStore {
    async fn ask_refund(
        &self,
        order_no: &OrderNo,
        ask: &RefundAsk,
    ) -> Result<AskOutcome, StoreError> {
        let (no, ask) = (order_no.clone(), ask.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s.ask_refund(&no, &ask))
        })
        .await
    }

    async fn reject_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        failure: &str,
        at: OffsetDateTime,
    ) -> Result<RejectOutcome, StoreError> {
        let (no, number, failure) = (order_no.clone(), out_refund_no.clone(), failure.to_owned());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s
                .reject_refund(&no, &number, &failure, at))
        })
        .await
    }
}

impl RefundRecorder for SimStore {
    async fn apply_refund_report(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        report: &RefundReport,
    ) -> Result<ReportOutcome, StoreError> {
        let (no, number, report) = (order_no.clone(), out_refund_no.clone(), report.clone());
        self.write(order_no, async {
            on_backend!(&self.backend, |s| s
                .apply_refund_report(&no, &number, &report))
        })
        .await
    }
}

impl RefundReader for SimStore {
    async fn get_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        let (no, number) = (order_no.clone(), out_refund_no.clone());
        on_backend!(&self.backend, |s| s.get_refund(&no, &number))
    }

    async fn refunds_of(&self, order_no: &OrderNo) -> Result<Vec<Refund>, StoreError> {
        let no = order_no.clone();
        on_backend!(&self.backend, |s| s.refunds_of(&no))
    }
}

impl OpenRefundLister for SimStore {
    async fn list_open_refunds(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        let page = page.clone();
        on_backend!(&self.backend, |s| s
            .list_open_refunds(created_before, &page))
    }
}
