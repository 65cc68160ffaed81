//! What each state change does to an order, decided from the order as it is now. These are the
//! rules; the stores only read the current order, ask here, and write the answer conditionally on
//! what they read, so the two stores cannot drift apart.

use time::OffsetDateTime;

use super::{Order, OrderStatus, PaymentRecord};

/// What settles an order: the verified transaction and what it says.
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

/// What a genuine payment does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleDecision {
    /// `NOTPAY → SUCCESS`: write this order and the payment record together.
    Settle(Order),
    /// `CLOSED | CANCELLED → SUCCESS` with `paidAfterClose`: WeChat Pay took the money after we
    /// closed the order, so the payment wins. Write this order and the payment record together.
    SettleAfterClose(Order),
    /// This same transaction settled it already: write nothing.
    AlreadySettled,
    /// Settled by another transaction: keep the payment record, leave the order (an alert).
    DoublePayment,
}

/// Decides what `settlement` does to `order`.
pub fn settle(order: &Order, settlement: &Settlement) -> SettleDecision {
    let transaction_id = settlement.record.transaction_id.as_str();
    let paid = |paid_after_close: bool| {
        let mut new = order.clone();
        // `SUCCESS`, or a refund state if WeChat Pay reported refunds before the payment.
        new.order_status = OrderStatus::Success;
        new.order_status = super::refund::paid_status(&new);
        new.transaction_id = Some(transaction_id.to_owned());
        new.success_time = settlement.success_time;
        new.payer_openid = settlement.payer_openid.clone();
        new.updated_at = settlement.settled_at;
        new.paid_after_close = paid_after_close;
        new.prepay_lease_until = None;
        new
    };
    match order.order_status {
        OrderStatus::Notpay => SettleDecision::Settle(paid(false)),
        OrderStatus::Closed | OrderStatus::Cancelled => {
            SettleDecision::SettleAfterClose(paid(true))
        }
        OrderStatus::Success
        | OrderStatus::RefundProcessing
        | OrderStatus::Refunded
        | OrderStatus::RefundAbnormal
        | OrderStatus::PartiallyRefunded => {
            if order.transaction_id.as_deref() == Some(transaction_id) {
                SettleDecision::AlreadySettled
            } else {
                SettleDecision::DoublePayment
            }
        }
    }
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

/// A local close, asked for once WeChat Pay has confirmed the order can no longer be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    /// Why, and so which final state.
    pub reason: CloseReason,
    /// `prepayStartedAt` of the order as read when WeChat Pay was asked: if another prepay was
    /// claimed since, the confirmation no longer holds and nothing is written.
    pub prepay_seen: Option<OffsetDateTime>,
    /// Time of the change.
    pub at: OffsetDateTime,
}

/// What a confirmed close does to an order.
// Short-lived and matched at once: boxing the order would only add an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseDecision {
    /// `NOTPAY → CLOSED | CANCELLED`: write this order.
    Close(Order),
    /// Already in the requested state: write nothing.
    AlreadyClosed,
    /// Paid, or closed the other way: write nothing.
    NotPending,
    /// A prepay was claimed after WeChat Pay was asked: write nothing, ask again later.
    PrepayMoved,
}

/// Decides what `request` does to `order`.
pub fn close(order: &Order, request: &CloseRequest) -> CloseDecision {
    let target = request.reason.target();
    if order.order_status == target {
        return CloseDecision::AlreadyClosed;
    }
    if !order.order_status.is_pending() {
        return CloseDecision::NotPending;
    }
    if order.prepay_started_at != request.prepay_seen {
        return CloseDecision::PrepayMoved;
    }
    let mut new = order.clone();
    new.order_status = target;
    new.updated_at = request.at;
    CloseDecision::Close(new)
}

/// A claim on an order's one prepay in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepayClaim {
    /// Now: the claim's `prepayStartedAt`.
    pub at: OffsetDateTime,
    /// Until when it holds (`at` + the lease).
    pub lease_until: OffsetDateTime,
    /// The latest moment a prepay may be sent for this order
    /// ([`OrdersConfig::prepay_cutoff`](crate::OrdersConfig::prepay_cutoff)).
    pub cutoff: OffsetDateTime,
}

/// What a prepay claim does to an order.
// Short-lived and matched at once: boxing the order would only add an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Claimed: write this order, then prepay.
    Claim(Order),
    /// Another prepay is in flight: wait for its result.
    Busy,
    /// No longer `NOTPAY`: no prepay, show its state.
    NotPending,
    /// Too close to expiry for a prepay to be safe.
    WindowClosed,
}

/// Decides whether `claim` may start a prepay of `order`.
pub fn claim_prepay(order: &Order, claim: &PrepayClaim) -> ClaimDecision {
    if !order.order_status.is_pending() {
        return ClaimDecision::NotPending;
    }
    if claim.at > claim.cutoff {
        return ClaimDecision::WindowClosed;
    }
    if order.prepay_in_flight_at(claim.at) {
        return ClaimDecision::Busy;
    }
    let mut new = order.clone();
    new.prepay_started_at = Some(claim.at);
    new.prepay_lease_until = Some(claim.lease_until);
    ClaimDecision::Claim(new)
}

/// The answer of a prepay, to store for the claim that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepayAnswer {
    /// `prepayStartedAt` of the claim that sent it.
    pub started_at: OffsetDateTime,
    /// The `code_url`, or `None` when WeChat Pay refused (the claim is released).
    pub code_url: Option<String>,
    /// Time of the change.
    pub at: OffsetDateTime,
}

/// What a prepay's answer does to an order.
// Short-lived and matched at once: boxing the order would only add an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerDecision {
    /// Store it (or release the claim): write this order.
    Store(Order),
    /// No longer `NOTPAY`: the link is not stored (it must never be shown).
    NotPending,
    /// A later prepay was claimed: its link replaces ours at WeChat Pay, so ours is not stored.
    Superseded,
}

/// Decides whether `answer` is stored on `order`.
pub fn answer_prepay(order: &Order, answer: &PrepayAnswer) -> AnswerDecision {
    if !order.order_status.is_pending() {
        return AnswerDecision::NotPending;
    }
    if order.prepay_started_at != Some(answer.started_at) {
        return AnswerDecision::Superseded;
    }
    let mut new = order.clone();
    if let Some(code_url) = &answer.code_url {
        new.code_url = Some(code_url.clone());
        new.updated_at = answer.at;
    }
    new.prepay_lease_until = None;
    AnswerDecision::Store(new)
}

/// Counts a sweep run that could not finish a `NOTPAY` order; `None` if it is no longer pending.
pub fn sweep_failed(order: &Order) -> Option<Order> {
    order.order_status.is_pending().then(|| {
        let mut new = order.clone();
        new.sweep_failures = new.sweep_failures.saturating_add(1);
        new
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrderNo, Product};
    use time::Duration;
    use time::macros::datetime;
    use wxpay::models::{TradeState, Transaction};

    const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

    fn order() -> Order {
        let product = Product::new("1", "课程", 100).unwrap();
        Order::new_pending(
            OrderNo::parse("20240501000000000AbCdEfGh").unwrap(),
            &product,
            None,
            T0,
            Duration::minutes(5),
        )
    }

    fn settlement(transaction_id: &str) -> Settlement {
        let order = order();
        Settlement {
            record: PaymentRecord {
                order_no: order.order_no.clone(),
                transaction_id: transaction_id.into(),
                received_at: T0 + Duration::minutes(1),
                transaction: Transaction {
                    appid: "wx".into(),
                    mchid: "1900000001".into(),
                    out_trade_no: order.order_no.to_string(),
                    transaction_id: Some(transaction_id.into()),
                    trade_type: None,
                    trade_state: TradeState::Success,
                    trade_state_desc: String::new(),
                    bank_type: None,
                    attach: None,
                    success_time: None,
                    payer: None,
                    amount: None,
                    scene_info: None,
                    promotion_detail: None,
                    extra: Default::default(),
                },
            },
            success_time: Some(T0 + Duration::seconds(50)),
            payer_openid: Some("o1".into()),
            settled_at: T0 + Duration::minutes(1),
        }
    }

    fn with_status(status: OrderStatus, transaction_id: Option<&str>) -> Order {
        let mut order = order();
        order.order_status = status;
        order.transaction_id = transaction_id.map(str::to_owned);
        order
    }

    #[test]
    fn a_payment_settles_a_pending_order_and_wins_over_a_local_close() {
        let SettleDecision::Settle(paid) = settle(&order(), &settlement("42")) else {
            panic!("pending order not settled");
        };
        assert_eq!(paid.order_status, OrderStatus::Success);
        assert_eq!(paid.transaction_id.as_deref(), Some("42"));
        assert!(!paid.paid_after_close);
        for closed in [OrderStatus::Closed, OrderStatus::Cancelled] {
            let SettleDecision::SettleAfterClose(paid) =
                settle(&with_status(closed, None), &settlement("42"))
            else {
                panic!("{closed} order not settled");
            };
            assert_eq!(paid.order_status, OrderStatus::Success);
            assert!(paid.paid_after_close);
        }
    }

    #[test]
    fn a_settled_order_takes_its_own_transaction_again_and_no_other() {
        for status in [
            OrderStatus::Success,
            OrderStatus::RefundProcessing,
            OrderStatus::Refunded,
            OrderStatus::RefundAbnormal,
        ] {
            let order = with_status(status, Some("42"));
            assert_eq!(
                settle(&order, &settlement("42")),
                SettleDecision::AlreadySettled
            );
            assert_eq!(
                settle(&order, &settlement("43")),
                SettleDecision::DoublePayment
            );
        }
    }

    fn close_request(reason: CloseReason, prepay_seen: Option<OffsetDateTime>) -> CloseRequest {
        CloseRequest {
            reason,
            prepay_seen,
            at: T0 + Duration::minutes(6),
        }
    }

    #[test]
    fn a_close_applies_only_to_a_pending_order_whose_prepay_did_not_move() {
        let pending = order();
        let CloseDecision::Close(closed) =
            close(&pending, &close_request(CloseReason::Expired, None))
        else {
            panic!("not closed");
        };
        assert_eq!(closed.order_status, OrderStatus::Closed);
        assert_eq!(
            close(&closed, &close_request(CloseReason::Expired, None)),
            CloseDecision::AlreadyClosed
        );
        assert_eq!(
            close(&closed, &close_request(CloseReason::CancelledByBuyer, None)),
            CloseDecision::NotPending
        );
        let paid = with_status(OrderStatus::Success, Some("42"));
        assert_eq!(
            close(&paid, &close_request(CloseReason::Expired, None)),
            CloseDecision::NotPending
        );
        let mut reclaimed = order();
        reclaimed.prepay_started_at = Some(T0 + Duration::minutes(2));
        assert_eq!(
            close(
                &reclaimed,
                &close_request(CloseReason::CancelledByBuyer, Some(T0))
            ),
            CloseDecision::PrepayMoved
        );
    }

    fn claim(at: OffsetDateTime) -> PrepayClaim {
        PrepayClaim {
            at,
            lease_until: at + Duration::seconds(4),
            cutoff: T0 + Duration::seconds(236),
        }
    }

    #[test]
    fn one_prepay_at_a_time_and_none_past_the_cutoff_or_once_settled() {
        let ClaimDecision::Claim(claimed) = claim_prepay(&order(), &claim(T0)) else {
            panic!("not claimed");
        };
        assert_eq!(claimed.prepay_started_at, Some(T0));
        assert_eq!(
            claim_prepay(&claimed, &claim(T0 + Duration::seconds(3))),
            ClaimDecision::Busy
        );
        assert!(matches!(
            claim_prepay(&claimed, &claim(T0 + Duration::seconds(4))),
            ClaimDecision::Claim(_)
        ));
        assert_eq!(
            claim_prepay(&order(), &claim(T0 + Duration::seconds(237))),
            ClaimDecision::WindowClosed
        );
        assert_eq!(
            claim_prepay(&with_status(OrderStatus::Closed, None), &claim(T0)),
            ClaimDecision::NotPending
        );
    }

    #[test]
    fn only_the_latest_claim_stores_its_link_and_only_while_pending() {
        let ClaimDecision::Claim(claimed) = claim_prepay(&order(), &claim(T0)) else {
            panic!("not claimed");
        };
        let answer = |started_at, code: Option<&str>| PrepayAnswer {
            started_at,
            code_url: code.map(str::to_owned),
            at: T0 + Duration::seconds(1),
        };
        let AnswerDecision::Store(stored) =
            answer_prepay(&claimed, &answer(T0, Some("weixin://a")))
        else {
            panic!("not stored");
        };
        assert_eq!(stored.code_url.as_deref(), Some("weixin://a"));
        assert_eq!(stored.prepay_lease_until, None);
        assert!(!stored.prepay_in_flight_at(T0));
        assert_eq!(
            answer_prepay(
                &claimed,
                &answer(T0 - Duration::seconds(9), Some("weixin://old"))
            ),
            AnswerDecision::Superseded
        );
        let AnswerDecision::Store(released) = answer_prepay(&claimed, &answer(T0, None)) else {
            panic!("not released");
        };
        assert_eq!(released.code_url, None);
        assert!(!released.prepay_in_flight_at(T0));
        let mut paid = claimed;
        paid.order_status = OrderStatus::Success;
        assert_eq!(
            answer_prepay(&paid, &answer(T0, Some("weixin://a"))),
            AnswerDecision::NotPending
        );
    }

    #[test]
    fn sweep_failures_count_only_on_pending_orders() {
        assert_eq!(sweep_failed(&order()).unwrap().sweep_failures, 1);
        assert_eq!(sweep_failed(&with_status(OrderStatus::Closed, None)), None);
    }
}
