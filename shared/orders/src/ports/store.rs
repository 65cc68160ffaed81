//! Storage capabilities. Every state change is a conditional write on the current state, so that it
//! happens once whoever races (notification, sweep, cancel).

use std::future::Future;

use time::OffsetDateTime;

use super::page::{Page, PageRequest};
use crate::domain::{BuyerHash, Order, OrderNo, OrderStatus, PaymentRecord, Product};

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

/// What settles an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The verified transaction, kept as the payment record.
    pub record: PaymentRecord,
    /// When it was paid.
    pub success_time: Option<OffsetDateTime>,
    /// The payer's openid.
    pub payer_openid: Option<String>,
    /// Time of the change (`updatedAt`).
    pub settled_at: OffsetDateTime,
}

/// Result of [`OrderSettler::settle_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// `NOTPAY → SUCCESS` happened now, and the payment record was written with it.
    Settled(Order),
    /// Already `SUCCESS` with this same transaction: nothing written.
    AlreadySettled(Order),
    /// Already `SUCCESS` with another transaction: nothing written (a double payment to look at).
    Conflict(Order),
    /// In another state (`CLOSED`, `CANCELLED`, …): nothing written.
    NotPending(Order),
    /// No such order.
    NotFound,
}

/// The final state of a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Expired: `CLOSED`.
    Expired,
    /// Cancelled by the shopper: `CANCELLED`.
    CancelledByBuyer,
}

impl CloseReason {
    /// The state the order ends in.
    pub fn target(self) -> OrderStatus {
        match self {
            Self::Expired => OrderStatus::Closed,
            Self::CancelledByBuyer => OrderStatus::Cancelled,
        }
    }
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
    /// No such order.
    NotFound,
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
}

/// Reads orders by number (strongly consistent).
pub trait OrderReader: Send + Sync {
    /// The order, if it exists.
    fn get_order(
        &self,
        order_no: &OrderNo,
    ) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;
}

/// Stores the prepay's payment link.
pub trait CodeUrlWriter: Send + Sync {
    /// Sets `codeUrl` of an existing order; [`StoreError::OrderNotFound`] if there is none.
    fn set_code_url(
        &self,
        order_no: &OrderNo,
        code_url: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Settles orders: `NOTPAY → SUCCESS` plus the payment record, atomically.
pub trait OrderSettler: Send + Sync {
    /// Settles if and only if the order is `NOTPAY`; see [`SettleOutcome`] for every other case.
    fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> impl Future<Output = Result<SettleOutcome, StoreError>> + Send;
}

/// Closes or cancels orders: `NOTPAY → CLOSED | CANCELLED`.
pub trait OrderCloser: Send + Sync {
    /// Closes if and only if the order is `NOTPAY`; see [`CloseOutcome`] for every other case.
    fn close_order(
        &self,
        order_no: &OrderNo,
        reason: CloseReason,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<CloseOutcome, StoreError>> + Send;
}

/// Reads the payment records of an order.
pub trait PaymentRecordReader: Send + Sync {
    /// Every payment record of the order (one at most, by construction).
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

/// The product catalog (server-side prices).
pub trait ProductCatalog: Send + Sync {
    /// Every product, by id.
    fn list_products(&self) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
    /// One product.
    fn get_product(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Product>, StoreError>> + Send;
    /// Adds or replaces a product.
    fn put_product(&self, product: &Product)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}
