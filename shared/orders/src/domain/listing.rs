//! The order listings an operator reads (the admin API's `GET /admin/orders?status=…`): the orders
//! that need a person's eye, kept in the sparse `byStatus` index. Orders in the high-volume states
//! (`NOTPAY`, `SUCCESS`, `CLOSED`, `CANCELLED`) are not in it, so the index stays small and its
//! partitions never become hot.

use super::{Order, OrderStatus};

/// One listing of the `byStatus` index; an order is in at most one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderListing {
    /// `REFUND_PROCESSING` orders.
    RefundProcessing,
    /// `PARTIALLY_REFUNDED` orders.
    PartiallyRefunded,
    /// `REFUNDED` orders.
    Refunded,
    /// `REFUND_ABNORMAL` orders (each an alert).
    RefundAbnormal,
    /// Orders paid after they were closed here (`paidAfterClose`) and still `SUCCESS`: the merchant
    /// decides to deliver or refund. Once refunded they move to the refund listings.
    PaidAfterClose,
}

impl OrderListing {
    /// Every listing.
    pub const ALL: [OrderListing; 5] = [
        Self::RefundProcessing,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::RefundAbnormal,
        Self::PaidAfterClose,
    ];

    /// The storage and API spelling: the order status, or `PAID_AFTER_CLOSE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefundProcessing => OrderStatus::RefundProcessing.as_str(),
            Self::PartiallyRefunded => OrderStatus::PartiallyRefunded.as_str(),
            Self::Refunded => OrderStatus::Refunded.as_str(),
            Self::RefundAbnormal => OrderStatus::RefundAbnormal.as_str(),
            Self::PaidAfterClose => "PAID_AFTER_CLOSE",
        }
    }

    /// Parses the spelling of [`as_str`](Self::as_str).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|listing| listing.as_str() == text)
    }

    /// The listing an order in `status`, with `paid_after_close`, belongs in (if any): the one rule
    /// both stores index by.
    pub fn of_status(status: OrderStatus, paid_after_close: bool) -> Option<Self> {
        match status {
            OrderStatus::RefundProcessing => Some(Self::RefundProcessing),
            OrderStatus::PartiallyRefunded => Some(Self::PartiallyRefunded),
            OrderStatus::Refunded => Some(Self::Refunded),
            OrderStatus::RefundAbnormal => Some(Self::RefundAbnormal),
            OrderStatus::Success if paid_after_close => Some(Self::PaidAfterClose),
            OrderStatus::Success
            | OrderStatus::Notpay
            | OrderStatus::Closed
            | OrderStatus::Cancelled => None,
        }
    }

    /// The listing `order` belongs in (if any).
    pub fn of(order: &Order) -> Option<Self> {
        Self::of_status(order.order_status, order.paid_after_close)
    }
}

impl std::fmt::Display for OrderListing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_high_volume_states_are_not_listed() {
        for listing in OrderListing::ALL {
            assert_eq!(OrderListing::parse(listing.as_str()), Some(listing));
        }
        assert_eq!(OrderListing::parse("SUCCESS"), None);
        for status in [
            OrderStatus::Notpay,
            OrderStatus::Success,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(OrderListing::of_status(status, false), None);
        }
        assert_eq!(
            OrderListing::of_status(OrderStatus::Success, true),
            Some(OrderListing::PaidAfterClose)
        );
        assert_eq!(
            OrderListing::of_status(OrderStatus::Refunded, true),
            Some(OrderListing::Refunded)
        );
    }
}
