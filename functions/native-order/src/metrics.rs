//! What the storefront counts ([`emf`] records).

use emf::Record;

/// Counts one answered `POST /api/wx-pay/native/{productId}`: a new order (`OrdersPlaced`), or the
/// same order again for a repeated `Idempotency-Key` (`OrderReplays`).
pub fn order_answered(replayed: bool) {
    let name = if replayed {
        "OrderReplays"
    } else {
        "OrdersPlaced"
    };
    Record::new().count(name, 1).emit();
}

/// Counts one order refused by a cap (`OrdersRefused`, by `Reason`: `open_orders`, a buyer token
/// holding too many unpaid orders; `anonymous_rate`, too many orders without a token this minute).
pub fn order_refused(reason: &'static str) {
    Record::by("Reason", reason)
        .count("OrdersRefused", 1)
        .emit();
}
