//! redb tables of the embedded store.

use redb::TableDefinition;

/// `orderNo` → order (JSON).
pub(super) const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders");
/// `{orderNo}#{transactionId}` → payment record (JSON).
pub(super) const PAYMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("payments");
/// `{createdAt}#{orderNo}` → `orderNo`, only for `NOTPAY` orders (the `pending` index).
pub(super) const PENDING: TableDefinition<&str, &str> = TableDefinition::new("pending");
/// `{buyerHash}#{createdAt}#{orderNo}` → `orderNo` (the `byBuyer` index).
pub(super) const BY_BUYER: TableDefinition<&str, &str> = TableDefinition::new("by_buyer");
/// product id → product (JSON).
pub(super) const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products");
/// scoped key → `{orderNo, ttl}` (JSON).
pub(super) const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
/// `{outTradeNo}#{transactionId}#{reason}` → evidence of a refused transaction (JSON).
pub(super) const EVIDENCE: TableDefinition<&str, &[u8]> = TableDefinition::new("evidence");
