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
    /// Refund requested (reserved).
    RefundProcessing,
    /// Refunded (reserved).
    Refunded,
    /// Refund failed (reserved).
    RefundAbnormal,
}

impl OrderStatus {
    /// Every state, for exhaustive tests.
    pub const ALL: [OrderStatus; 7] = [
        Self::Notpay,
        Self::Success,
        Self::Closed,
        Self::Cancelled,
        Self::RefundProcessing,
        Self::Refunded,
        Self::RefundAbnormal,
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
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether `self → next` is an allowed transition: `NOTPAY → SUCCESS | CLOSED | CANCELLED`,
    /// `CLOSED | CANCELLED → SUCCESS` (a payment WeChat Pay accepted anyway, `paidAfterClose`),
    /// `SUCCESS → REFUND_PROCESSING → REFUNDED | REFUND_ABNORMAL`. Nothing else, not even `x → x`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        matches!(
            (self, next),
            (Self::Notpay, Self::Success | Self::Closed | Self::Cancelled)
                | (Self::Closed | Self::Cancelled, Self::Success)
                | (Self::Success, Self::RefundProcessing)
                | (
                    Self::RefundProcessing,
                    Self::Refunded | Self::RefundAbnormal
                )
        )
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
        let allowed: Vec<(OrderStatus, OrderStatus)> = OrderStatus::ALL
            .into_iter()
            .flat_map(|from| OrderStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_become(*to))
            .collect();
        use OrderStatus::*;
        assert_eq!(
            allowed,
            vec![
                (Notpay, Success),
                (Notpay, Closed),
                (Notpay, Cancelled),
                (Success, RefundProcessing),
                (Closed, Success),
                (Cancelled, Success),
                (RefundProcessing, Refunded),
                (RefundProcessing, RefundAbnormal),
            ]
        );
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
