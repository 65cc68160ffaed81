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
