//! Order states and the transitions allowed between them (ARCHITECTURE §4).

use serde::{Deserialize, Serialize};

/// The state of an order. Spelled on the wire and in storage as `NOTPAY`, `SUCCESS`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Created, waiting for payment. The only state the sweep looks at.
    Notpay,
    /// Paid.
    Success,
    /// Expired and closed at WeChat Pay.
    Closed,
    /// Cancelled by the shopper.
    Cancelled,
    /// Paid, and at least one refund is in flight.
    RefundProcessing,
    /// Paid and refunded in full.
    Refunded,
    /// Paid, and a refund could not reach the payer (handled by hand).
    RefundAbnormal,
    /// Paid and refunded in part.
    PartiallyRefunded,
}

impl OrderStatus {
    /// Every state, for exhaustive tests.
    pub const ALL: [OrderStatus; 8] = [
        Self::Notpay,
        Self::Success,
        Self::Closed,
        Self::Cancelled,
        Self::RefundProcessing,
        Self::Refunded,
        Self::RefundAbnormal,
        Self::PartiallyRefunded,
    ];

    /// The states of a paid order: `SUCCESS` and the refund states, derived from its refunds
    /// ([`paid_status`](super::refund::paid_status)).
    pub const PAID: [OrderStatus; 5] = [
        Self::Success,
        Self::RefundProcessing,
        Self::Refunded,
        Self::RefundAbnormal,
        Self::PartiallyRefunded,
    ];

    /// The storage and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notpay => "NOTPAY",
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
            Self::Cancelled => "CANCELLED",
            Self::RefundProcessing => "REFUND_PROCESSING",
            Self::Refunded => "REFUNDED",
            Self::RefundAbnormal => "REFUND_ABNORMAL",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether `self → next` is an allowed transition: `NOTPAY → CLOSED | CANCELLED`, a payment
    /// `NOTPAY | CLOSED | CANCELLED → paid` (after a close: `paidAfterClose`), and refunds moving
    /// a paid order between the paid states, except out of `REFUNDED`. "Paid" is any of
    /// [`PAID`](Self::PAID): usually `SUCCESS`, or a refund state if WeChat Pay reported a refund
    /// before the payment was recorded. Nothing else, not even `x → x`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        if self == next {
            return false;
        }
        match self {
            Self::Notpay => next.is_paid() || matches!(next, Self::Closed | Self::Cancelled),
            Self::Closed | Self::Cancelled => next.is_paid(),
            Self::Refunded => false,
            _ => next.is_paid(),
        }
    }

    /// Whether the order is paid (whatever its refunds).
    pub fn is_paid(self) -> bool {
        Self::PAID.contains(&self)
    }

    /// Whether the order still waits for payment.
    pub fn is_pending(self) -> bool {
        self == Self::Notpay
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        use OrderStatus::*;
        let allowed = |from: OrderStatus| -> Vec<OrderStatus> {
            OrderStatus::ALL
                .into_iter()
                .filter(|to| from.can_become(*to))
                .collect()
        };
        let paid_but = |except: OrderStatus| -> Vec<OrderStatus> {
            OrderStatus::PAID
                .into_iter()
                .filter(|s| *s != except)
                .collect()
        };
        let mut from_notpay = vec![Success, Closed, Cancelled];
        from_notpay.extend(paid_but(Success));
        from_notpay.sort_by_key(|s| s.as_str());
        let mut got = allowed(Notpay);
        got.sort_by_key(|s| s.as_str());
        assert_eq!(got, from_notpay);
        assert_eq!(allowed(Closed), OrderStatus::PAID.to_vec());
        assert_eq!(allowed(Cancelled), OrderStatus::PAID.to_vec());
        assert_eq!(allowed(Refunded), vec![]);
        for paid in [Success, RefundProcessing, RefundAbnormal, PartiallyRefunded] {
            assert_eq!(allowed(paid), paid_but(paid), "{paid}");
        }
    }

    #[test]
    fn spelling_round_trips() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(OrderStatus::parse("PAID"), None);
    }
}
