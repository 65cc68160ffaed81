//! Storage capabilities. Every state change is a conditional write on the current state, so that it
//! happens once whoever races (notification, sweep, cancel).

use std::future::Future;

use time::OffsetDateTime;

use super::page::{Page, PageRequest};
use crate::domain::{BuyerHash, Order, OrderListing, OrderNo, PaymentRecord, Product};
pub use crate::domain::{CloseReason, CloseRequest, PrepayAnswer, PrepayClaim, Settlement};

/// A storage failure. Domain outcomes (already settled, conflict, …) are not errors; see the outcome enums.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The order does not exist (for operations that need one).
    #[error("order not found")]
    OrderNotFound,
    /// The order number is already taken by another order.
    #[error("order number already exists")]
    DuplicateOrderNo,
    /// The cursor was not made by this store.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Concurrent transactions kept conflicting; retrying later may succeed.
    #[error("write contention, retry later")]
    Contention,
    /// A stored item could not be decoded.
    #[error("corrupt stored item: {0}")]
    Corrupt(String),
    /// The value cannot be stored (e.g. a time outside years 0000–9999).
    #[error("value cannot be stored: {0}")]
    Invalid(String),
    /// The database could not be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// An idempotency key claimed together with a new order: the same key (until it expires) yields the
/// same order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The key, already scoped by the caller (e.g. hashed with the buyer and product).
    pub key: String,
    /// When the key may be forgotten (stored as the TTL attribute).
    pub expires_at: OffsetDateTime,
}

/// Result of [`OrderCreator::create_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The order was written.
    Created(Order),
    /// The idempotency key was already claimed: this is the order it names (nothing was written).
    Existing(Order),
}

/// Result of [`OrderSettler::settle_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// `NOTPAY → SUCCESS` happened now, and the payment record was written with it.
    Settled(Order),
    /// `CLOSED | CANCELLED → SUCCESS` with `paidAfterClose` happened now, with the payment record.
    SettledAfterClose(Order),
    /// Already settled by this same transaction: nothing written.
    AlreadySettled(Order),
    /// Already settled by another transaction: the payment record was kept, the order left as is.
    DoublePayment(Order),
    /// No such order.
    NotFound,
}

/// Result of [`OrderCloser::close_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// `NOTPAY → CLOSED | CANCELLED` happened now.
    Closed(Order),
    /// Already in the requested state: nothing written.
    AlreadyClosed(Order),
    /// In another state (paid, or closed the other way): nothing written.
    NotPending(Order),
    /// A prepay was claimed since WeChat Pay was asked: nothing written.
    PrepayMoved(Order),
    /// No such order.
    NotFound,
}

/// Result of [`PrepayRecorder::claim_prepay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The claim is ours: prepay now.
    Claimed(Order),
    /// Another prepay is in flight.
    Busy(Order),
    /// No longer `NOTPAY`.
    NotPending(Order),
    /// Too close to expiry to prepay.
    WindowClosed(Order),
    /// No such order.
    NotFound,
}

/// Result of [`PrepayRecorder::answer_prepay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Stored (the link, or the claim's release).
    Stored(Order),
    /// No longer `NOTPAY`: nothing stored.
    NotPending(Order),
    /// A later claim exists: nothing stored.
    Superseded(Order),
    /// No such order.
    NotFound,
}

/// A genuinely signed transaction or refund that changed nothing because it does not match the
/// order or the merchant: kept as evidence for a person to look at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The `out_trade_no` it names.
    pub out_trade_no: String,
    /// Its `transaction_id` (empty if it had none).
    pub transaction_id: String,
    /// Why it was refused (for a refund, naming its `out_refund_no`).
    pub reason: String,
    /// When it was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// What WeChat Pay reported, as received.
    #[serde(flatten)]
    pub reported: Reported,
}

/// What a piece of [`Evidence`] holds: `{"transaction": …}` or `{"refund": …}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reported {
    /// A transaction (payment notification or query).
    Transaction(wxpay::models::Transaction),
    /// A refund notification's resource.
    Refund(wxpay::refund::RefundResource),
}

/// Creates orders.
pub trait OrderCreator: Send + Sync {
    /// Writes a new order (conditional on its number being unused). With `idempotency`, the key is
    /// claimed in the same atomic write; if it is already claimed (and unexpired) nothing is written
    /// and the order it names is returned as [`CreateOutcome::Existing`].
    fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;
    /// The order the idempotency `key` names, if it is claimed and unexpired at `now` (the order
    /// [`create_order`](Self::create_order) would return as [`CreateOutcome::Existing`]).
    fn claimed_order(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;
}

/// One fixed window of a rate limit: at most `limit` events from `start` for `length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    /// What is counted (part of the stored key), e.g. `anonymous-orders`.
    pub name: &'static str,
    /// When the window began (a multiple of `length` since the Unix epoch).
    pub start: OffsetDateTime,
    /// How long it lasts.
    pub length: time::Duration,
    /// Events admitted in it at most.
    pub limit: u32,
}

/// Counts events in fixed windows, each count one conditional atomic increment (the cap on
/// anonymous orders). Stored under `LIMIT#…` keys that expire after their window.
pub trait RateCounter: Send + Sync {
    /// Counts one event in `window` unless `limit` were already counted there; `false` (nothing
    /// counted) once the window is full.
    fn admit(&self, window: &RateWindow) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reads orders by number (strongly consistent).
pub trait OrderReader: Send + Sync {
    /// The order, if it exists.
    fn get_order(
        &self,
        order_no: &OrderNo,
    ) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;
}

/// Keeps one prepay in flight per order, and stores its link only for the latest claim.
pub trait PrepayRecorder: Send + Sync {
    /// Claims the order's prepay (see [`transition::claim_prepay`](crate::domain::transition::claim_prepay)).
    fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;

    /// Stores a prepay's answer for the claim that sent it (see
    /// [`transition::answer_prepay`](crate::domain::transition::answer_prepay)).
    fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> impl Future<Output = Result<AnswerOutcome, StoreError>> + Send;
}

/// Settles orders: the order's new state plus the payment record, atomically.
pub trait OrderSettler: Send + Sync {
    /// Applies [`transition::settle`](crate::domain::transition::settle) to the order as it is,
    /// with one conditional write; see [`SettleOutcome`].
    fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> impl Future<Output = Result<SettleOutcome, StoreError>> + Send;
}

/// Closes or cancels orders: `NOTPAY → CLOSED | CANCELLED`.
pub trait OrderCloser: Send + Sync {
    /// Applies [`transition::close`](crate::domain::transition::close) to the order as it is, with
    /// one conditional write; see [`CloseOutcome`].
    fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> impl Future<Output = Result<CloseOutcome, StoreError>> + Send;
}

/// Counts the sweep runs that could not finish an order, so the sweep serves others first.
pub trait SweepFailureRecorder: Send + Sync {
    /// Adds one to `sweepFailures` if the order is still `NOTPAY` (nothing otherwise).
    fn record_sweep_failure(
        &self,
        order_no: &OrderNo,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Keeps the evidence of transactions that were refused.
pub trait EvidenceRecorder: Send + Sync {
    /// Stores `evidence` (idempotent for the same transaction and reason).
    fn record_evidence(
        &self,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every piece of evidence kept for `out_trade_no`.
    fn evidence_for(
        &self,
        out_trade_no: &str,
    ) -> impl Future<Output = Result<Vec<Evidence>, StoreError>> + Send;
}

/// Reads the payment records of an order.
pub trait PaymentRecordReader: Send + Sync {
    /// Every payment record of the order: one, or more after a double payment.
    fn payment_records(
        &self,
        order_no: &OrderNo,
    ) -> impl Future<Output = Result<Vec<PaymentRecord>, StoreError>> + Send;
}

/// Lists a buyer's own orders.
pub trait BuyerOrderLister: Send + Sync {
    /// The buyer's orders, newest first, paged. Never another buyer's.
    fn list_buyer_orders(
        &self,
        buyer: &BuyerHash,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Order>, StoreError>> + Send;
}

/// Lists the orders of one operator listing (the sparse `byStatus` index), reading only those.
pub trait ListedOrderLister: Send + Sync {
    /// The orders in `listing`, newest first, paged. The index may lag a write briefly in
    /// DynamoDB: the orders returned are read from the index's copy, so a caller that acts on one
    /// reads it again.
    fn list_orders_in(
        &self,
        listing: OrderListing,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Order>, StoreError>> + Send;
}

/// Lists orders still waiting for payment, reading only those (the sparse `pending` index).
pub trait PendingOrderLister: Send + Sync {
    /// `NOTPAY` orders created strictly before `created_before`, paged (no particular order across
    /// pages beyond the cursor's). The index may lag a write briefly in DynamoDB; every action taken
    /// on a listed order is a conditional write, so a stale entry does no harm.
    fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Order>, StoreError>> + Send;
}

/// Reads the product catalog (server-side prices): all a function that takes orders needs.
pub trait ProductReader: Send + Sync {
    /// Every product, by id.
    fn list_products(&self) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
    /// One product.
    fn get_product(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;
}

/// Writes the product catalog (the admin API, seeding): only merchant-admin is granted it. Each
/// write changes the product and the catalog's list of ids in one atomic step, so concurrent puts
/// and removes never lose a product from the list nor leave an id without its product.
pub trait ProductWriter: Send + Sync {
    /// Adds or replaces a product.
    fn put_product(&self, product: &Product)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes a product off the catalog: it is no longer listed nor orderable. Orders already placed
    /// keep their own title and price and are unaffected. `false` if there was no such product.
    fn remove_product(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the sweep uses: the pending index, reads, settles, confirmed closes, evidence of
/// refused transactions, its failure counts, and the automatic refund of late payments.
pub trait SweepStore:
    PendingOrderLister
    + OrderReader
    + OrderSettler
    + OrderCloser
    + EvidenceRecorder
    + SweepFailureRecorder
    + super::RefundRequester
{
}

impl<T> SweepStore for T where
    T: PendingOrderLister
        + OrderReader
        + OrderSettler
        + OrderCloser
        + EvidenceRecorder
        + SweepFailureRecorder
        + super::RefundRequester
{
}
