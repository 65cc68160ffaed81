//! The merchant's store as the simulation sees it: the real embedded store (in memory), with
//! seeded write failures (before or after the write took effect, as when DynamoDB times out after
//! committing) and a monitor that checks every transition as it happens.

use std::sync::{Arc, Mutex};

use orders::domain::{
    CloseRequest, Order, OrderNo, PrepayAnswer, PrepayClaim, Product, Settlement,
};
use orders::ports::{
    AnswerOutcome, ClaimOutcome, CloseOutcome, CreateOutcome, Evidence, EvidenceRecorder,
    IdempotencyClaim, OrderCloser, OrderCreator, OrderReader, OrderSettler, Page, PageRequest,
    PendingOrderLister, PrepayRecorder, ProductCatalog, SettleOutcome, StoreError,
    SweepFailureRecorder,
};
use orders::store::EmbeddedOrderStore;
use time::OffsetDateTime;
use wxpay::Clock;
use wxpay_sim::order::OrderState;

use super::clock::VirtualClock;
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

#[derive(Clone)]
pub struct SimStore {
    pub inner: EmbeddedOrderStore,
    rng: Rng,
    faults_on: Arc<Mutex<bool>>,
    wechat: WeChat,
    clock: VirtualClock,
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
    pub fn new(rng: Rng, wechat: WeChat, clock: VirtualClock, violations: Violations) -> Self {
        Self {
            inner: EmbeddedOrderStore::in_memory().unwrap(),
            rng,
            faults_on: Arc::new(Mutex::new(true)),
            wechat,
            clock,
            violations,
            created: Arc::default(),
        }
    }

    /// Every order number written (including those whose caller saw an injected failure).
    pub fn created(&self) -> Vec<OrderNo> {
        self.created.lock().unwrap().clone()
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
        let before = self.inner.get_order(order_no).await.unwrap();
        let result = op.await;
        let after = self.inner.get_order(order_no).await.unwrap();
        if let (Some(before), Some(after)) = (&before, &after) {
            let (from, to) = (before.order_status, after.order_status);
            if from != to && !from.can_become(to) {
                self.violations
                    .push(format!("{order_no} moved backward: {from} → {to}"));
            }
            if from.is_pending() && !to.is_pending() && to != orders::domain::OrderStatus::Success {
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
        let now = self.clock.now();
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

impl ProductCatalog for SimStore {
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        self.inner.list_products().await
    }
    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        self.inner.get_product(id).await
    }
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        self.inner.put_product(product).await
    }
}

impl OrderCreator for SimStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome, StoreError> {
        let result = self
            .write(&order.order_no, self.inner.create_order(order, idempotency))
            .await;
        if self.inner.get_order(&order.order_no).await?.is_some() {
            self.created.lock().unwrap().push(order.order_no.clone());
        }
        result
    }
}

impl OrderReader for SimStore {
    async fn get_order(&self, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
        self.inner.get_order(order_no).await
    }
}

impl PrepayRecorder for SimStore {
    async fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(order_no, self.inner.claim_prepay(order_no, claim))
            .await
    }
    async fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> Result<AnswerOutcome, StoreError> {
        self.write(order_no, self.inner.answer_prepay(order_no, answer))
            .await
    }
}

impl OrderSettler for SimStore {
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        self.write(order_no, self.inner.settle_order(order_no, settlement))
            .await
    }
}

impl OrderCloser for SimStore {
    async fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> Result<CloseOutcome, StoreError> {
        self.write(order_no, self.inner.close_order(order_no, request))
            .await
    }
}

impl SweepFailureRecorder for SimStore {
    async fn record_sweep_failure(&self, order_no: &OrderNo) -> Result<(), StoreError> {
        self.write(order_no, self.inner.record_sweep_failure(order_no))
            .await
    }
}

impl EvidenceRecorder for SimStore {
    async fn record_evidence(&self, evidence: &Evidence) -> Result<(), StoreError> {
        self.inner.record_evidence(evidence).await
    }
    async fn evidence_for(&self, out_trade_no: &str) -> Result<Vec<Evidence>, StoreError> {
        self.inner.evidence_for(out_trade_no).await
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
        self.inner.list_pending_orders(created_before, page).await
    }
}
