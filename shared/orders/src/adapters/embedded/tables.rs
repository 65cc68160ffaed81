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
/// `STATUS#{listing}#{createdAt}#{orderNo}` → `orderNo`, only for orders in an operator listing
/// (the `byStatus` index).
pub(super) const BY_STATUS: TableDefinition<&str, &str> = TableDefinition::new("by_status");
/// product id → product (JSON).
pub(super) const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products");
/// scoped key → `{orderNo, ttl}` (JSON).
pub(super) const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
/// rate-limit name → its current window `{start, count}` (JSON); a new window replaces the old.
pub(super) const LIMITS: TableDefinition<&str, &[u8]> = TableDefinition::new("limits");
/// `{outTradeNo}#{transactionId}#{reason}` → evidence of a refused transaction (JSON).
pub(super) const EVIDENCE: TableDefinition<&str, &[u8]> = TableDefinition::new("evidence");
/// `{orderNo}#{outRefundNo}` → refund (JSON).
pub(super) const REFUNDS: TableDefinition<&str, &[u8]> = TableDefinition::new("refunds");
/// `{orderNo}#{idempotencyKey}` → `outRefundNo`.
pub(super) const REFUND_KEYS: TableDefinition<&str, &str> = TableDefinition::new("refund_keys");
/// `{createdAt}#{orderNo}#{outRefundNo}` → `{orderNo}#{outRefundNo}`, only for open refunds (the
/// `refunding` index).
pub(super) const OPEN_REFUNDS: TableDefinition<&str, &str> = TableDefinition::new("open_refunds");
