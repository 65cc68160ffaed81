//! The services every function calls. They are generic over the store ports they use, a
//! [`PaymentGateway`](crate::ports::PaymentGateway) and a [`Clock`](wxpay::Clock), and take their
//! settings as an [`OrdersConfig`](crate::OrdersConfig) value.

pub mod cancel;
pub mod caps;
pub mod close;
pub mod place;
pub mod refund;
pub mod refund_notification;
pub mod refund_sweep;
pub mod settle;
pub mod sweep;

pub use cancel::{CancelError, CancelResult, cancel_order};
pub use close::{CloseError, Confirmed, close_confirmed};
pub use place::{PlaceOrderError, PlaceOrderRequest, PlacedOrder, place_native_order};
pub use refund::{RefundCommand, RefundError, RefundResult, request_refund};
pub use refund_notification::{RefundNotificationError, apply_refund_notification};
pub use refund_sweep::{RefundSweepReport, sweep_refunds};
pub use settle::{Mismatch, SettleError, SettleResult, settle_transaction};
pub use sweep::{SweepReport, sweep_pending};

/// The clock's time at the millisecond precision kept in storage, so that what a service returns
/// equals what a store reads back.
pub(crate) fn now<C: wxpay::Clock + ?Sized>(clock: &C) -> time::OffsetDateTime {
    crate::domain::truncate_to_millis(clock.now().to_offset(time::UtcOffset::UTC))
}
