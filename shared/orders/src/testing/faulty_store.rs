//! A store that fails on demand: it wraps another store and, while its switch is on, answers every
//! call with [`StoreError::Unavailable`] without touching the wrapped store. For testing how the
//! services and the functions answer a store outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use time::OffsetDateTime;

use crate::domain::refund::{RefundAsk, RefundReport};
use crate::domain::{BuyerHash, Order, OrderNo, PaymentRecord, Product, Refund, RefundNo};
use crate::ports::{
    AnswerOutcome, AskOutcome, BuyerOrderLister, ClaimOutcome, CloseOutcome, CloseRequest,
    CreateOutcome, Evidence, EvidenceRecorder, IdempotencyClaim, OpenRefundLister, OrderCloser,
    OrderCreator, OrderReader, OrderSettler, Page, PageRequest, PaymentRecordReader,
    PendingOrderLister, PrepayAnswer, PrepayClaim, PrepayRecorder, ProductReader, ProductWriter,
    RateCounter, RateWindow, RefundReader, RefundRecorder, RefundRequester, RejectOutcome,
    ReportOutcome, SettleOutcome, Settlement, StoreError, SweepFailureRecorder,
};

/// The message of the injected failure.
pub const INJECTED_FAILURE: &str = "injected store failure";

/// A store that fails on demand. Clones share the wrapped store and the switch.
#[derive(Debug, Clone)]
pub struct FaultyStore<S> {
    inner: Arc<S>,
    failing: Arc<AtomicBool>,
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`; calls go through until [`FaultyStore::fail`] turns the switch on.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            failing: Arc::default(),
        }
    }

    /// The wrapped store (never failing), to seed or inspect.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// While `failing`, every call answers [`StoreError::Unavailable`].
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<&S, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(INJECTED_FAILURE.into()))
        } else {
            Ok(&self.inner)
        }
    }
}

impl<S: OrderCreator> OrderCreator for FaultyStore<S> {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome, StoreError> {
        self.check()?.create_order(order, idempotency).await
    }

    async fn claimed_order(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Order>, StoreError> {
        self.check()?.claimed_order(key, now).await
    }
}

impl<S: RateCounter> RateCounter for FaultyStore<S> {
    async fn admit(&self, window: &RateWindow) -> Result<bool, StoreError> {
        self.check()?.admit(window).await
    }
}

impl<S: OrderReader> OrderReader for FaultyStore<S> {
    async fn get_order(&self, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
        self.check()?.get_order(order_no).await
    }
}

impl<S: PrepayRecorder> PrepayRecorder for FaultyStore<S> {
    async fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        self.check()?.claim_prepay(order_no, claim).await
    }

    async fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> Result<AnswerOutcome, StoreError> {
        self.check()?.answer_prepay(order_no, answer).await
    }
}

impl<S: OrderSettler> OrderSettler for FaultyStore<S> {
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        self.check()?.settle_order(order_no, settlement).await
    }
}

impl<S: OrderCloser> OrderCloser for FaultyStore<S> {
    async fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> Result<CloseOutcome, StoreError> {
        self.check()?.close_order(order_no, request).await
    }
}

impl<S: SweepFailureRecorder> SweepFailureRecorder for FaultyStore<S> {
    async fn record_sweep_failure(&self, order_no: &OrderNo) -> Result<(), StoreError> {
        self.check()?.record_sweep_failure(order_no).await
    }
}

impl<S: EvidenceRecorder> EvidenceRecorder for FaultyStore<S> {
    async fn record_evidence(&self, evidence: &Evidence) -> Result<(), StoreError> {
        self.check()?.record_evidence(evidence).await
    }

    async fn evidence_for(&self, out_trade_no: &str) -> Result<Vec<Evidence>, StoreError> {
        self.check()?.evidence_for(out_trade_no).await
    }
}

impl<S: PaymentRecordReader> PaymentRecordReader for FaultyStore<S> {
    async fn payment_records(&self, order_no: &OrderNo) -> Result<Vec<PaymentRecord>, StoreError> {
        self.check()?.payment_records(order_no).await
    }
}

impl<S: BuyerOrderLister> BuyerOrderLister for FaultyStore<S> {
    async fn list_buyer_orders(
        &self,
        buyer: &BuyerHash,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        self.check()?.list_buyer_orders(buyer, page).await
    }
}

impl<S: PendingOrderLister> PendingOrderLister for FaultyStore<S> {
    async fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        self.check()?
            .list_pending_orders(created_before, page)
            .await
    }
}

impl<S: ProductReader> ProductReader for FaultyStore<S> {
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        self.check()?.list_products().await
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        self.check()?.get_product(id).await
    }
}

impl<S: ProductWriter> ProductWriter for FaultyStore<S> {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        self.check()?.put_product(product).await
    }

    async fn remove_product(&self, id: &str) -> Result<bool, StoreError> {
        self.check()?.remove_product(id).await
    }
}

impl<S: RefundRequester> RefundRequester for FaultyStore<S> {
    async fn ask_refund(
        &self,
        order_no: &OrderNo,
        ask: &RefundAsk,
    ) -> Result<AskOutcome, StoreError> {
        self.check()?.ask_refund(order_no, ask).await
    }

    async fn reject_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        failure: &str,
        at: OffsetDateTime,
    ) -> Result<RejectOutcome, StoreError> {
        self.check()?
            .reject_refund(order_no, out_refund_no, failure, at)
            .await
    }
}

impl<S: RefundRecorder> RefundRecorder for FaultyStore<S> {
    async fn apply_refund_report(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        report: &RefundReport,
    ) -> Result<ReportOutcome, StoreError> {
        self.check()?
            .apply_refund_report(order_no, out_refund_no, report)
            .await
    }
}

impl<S: RefundReader> RefundReader for FaultyStore<S> {
    async fn get_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        self.check()?.get_refund(order_no, out_refund_no).await
    }

    async fn refunds_of(&self, order_no: &OrderNo) -> Result<Vec<Refund>, StoreError> {
        self.check()?.refunds_of(order_no).await
    }
}

impl<S: OpenRefundLister> OpenRefundLister for FaultyStore<S> {
    async fn list_open_refunds(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        self.check()?.list_open_refunds(created_before, page).await
    }
}
