//! Refunds (ARCHITECTURE §4, protocol §7): one record per refund under its order, and the rules
//! that keep the order's running totals right. The totals live on the order so that one conditional
//! write on it decides whether a refund fits, however many requests race:
//!
//! - `refundedFee`: the fen of every refund that holds money (all but `CLOSED` and `REJECTED`), so
//!   it never exceeds `totalFee` for refunds we ask for;
//! - `refundCount`: refunds we asked for, which numbers them (`{orderNo}R01`, …) and caps them at 50;
//! - `refundsOpen`, `refundsAbnormal`: refunds still in flight, and refunds stuck `ABNORMAL`.
//!
//! The order's state follows from them ([`paid_status`]). WeChat Pay is the source of truth: a refund
//! it reports that we never asked for is recorded whatever the totals say.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{Order, OrderNo, OrderStatus};

/// WeChat Pay's limit of refunds per order.
pub const MAX_REFUNDS_PER_ORDER: u32 = 50;
/// How long after payment WeChat Pay accepts refunds.
pub const REFUND_WINDOW: Duration = Duration::days(365);

/// A merchant refund number (`out_refund_no`): 1–64 characters of `[0-9A-Za-z_-|*@]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RefundNo(String);

/// A string that is not a valid refund number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refund numbers are 1–64 characters of [0-9A-Za-z_-|*@]")]
pub struct InvalidRefundNo;

impl RefundNo {
    /// Validates a refund number received from outside (a notification, a path).
    pub fn parse(text: &str) -> Result<Self, InvalidRefundNo> {
        wxpay::validate::out_refund_no(text)
            .map(|()| Self(text.to_owned()))
            .map_err(|_| InvalidRefundNo)
    }

    /// The number of the `n`th refund we ask for on `order_no`: `{orderNo}R{n:02}`. Order numbers
    /// are at most 32 characters of a subset of the refund alphabet, so this is always valid.
    pub fn nth(order_no: &OrderNo, n: u32) -> Self {
        Self(format!("{order_no}R{n:02}"))
    }

    /// The number as sent to WeChat Pay.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RefundNo {
    type Error = InvalidRefundNo;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RefundNo> for String {
    fn from(value: RefundNo) -> Self {
        value.0
    }
}

impl std::fmt::Display for RefundNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a refund stands. Spelled `SUBMITTING`, `PROCESSING`, … in storage and the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundState {
    /// Reserved here; WeChat Pay has not (knowingly) accepted it yet. It is sent, and re-sent with
    /// the same number until WeChat Pay answers.
    Submitting,
    /// Accepted by WeChat Pay, in progress.
    Processing,
    /// The money reached the payer.
    Success,
    /// Closed by WeChat Pay: nothing was refunded, the amount is free again.
    Closed,
    /// WeChat Pay could not reach the payer; the merchant handles it by hand. The amount stays
    /// reserved (a later `SUCCESS` or `CLOSED` settles it).
    Abnormal,
    /// WeChat Pay refused the request and confirmed it holds no refund by that number: the
    /// amount is free again.
    Rejected,
}

impl RefundState {
    /// Every state, for exhaustive tests.
    pub const ALL: [RefundState; 6] = [
        Self::Submitting,
        Self::Processing,
        Self::Success,
        Self::Closed,
        Self::Abnormal,
        Self::Rejected,
    ];

    /// The storage and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitting => "SUBMITTING",
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
            Self::Abnormal => "ABNORMAL",
            Self::Rejected => "REJECTED",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// WeChat Pay's status as a state; `None` for a status this crate does not know.
    pub fn from_wechat(status: &wxpay::refund::RefundStatus) -> Option<Self> {
        use wxpay::refund::RefundStatus;
        match status {
            RefundStatus::Processing => Some(Self::Processing),
            RefundStatus::Success => Some(Self::Success),
            RefundStatus::Closed => Some(Self::Closed),
            RefundStatus::Abnormal => Some(Self::Abnormal),
            RefundStatus::Other(_) => None,
        }
    }

    /// Whether its amount counts in `refundedFee`.
    pub fn holds_money(self) -> bool {
        !matches!(self, Self::Closed | Self::Rejected)
    }

    /// Whether it is still in flight (the sweep follows it).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitting | Self::Processing)
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Closed | Self::Rejected)
    }

    /// How far along it is: a report never moves a refund back (a query answered `PROCESSING`
    /// may arrive after the notification of `SUCCESS`).
    fn progress(self) -> u8 {
        match self {
            Self::Submitting => 0,
            Self::Processing => 1,
            Self::Abnormal => 2,
            Self::Success | Self::Closed | Self::Rejected => 3,
        }
    }
}

impl std::fmt::Display for RefundState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asked for a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundOrigin {
    /// The merchant, through the admin API.
    Merchant,
    /// The late-payment policy, for a payment that arrived after the order was closed.
    LatePayment,
    /// Nobody here: WeChat Pay reported a refund made elsewhere (the merchant platform).
    External,
}

impl RefundOrigin {
    /// The storage and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "MERCHANT",
            Self::LatePayment => "LATE_PAYMENT",
            Self::External => "EXTERNAL",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Merchant, Self::LatePayment, Self::External]
            .into_iter()
            .find(|origin| origin.as_str() == text)
    }
}

/// One refund of an order (`REFUND#{outRefundNo}` under the order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// The order refunded.
    pub order_no: OrderNo,
    /// Our number for it (WeChat Pay's `out_refund_no`).
    pub out_refund_no: RefundNo,
    /// Fen refunded.
    pub amount: i64,
    /// Shown to the payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where it stands.
    pub state: RefundState,
    /// Who asked.
    pub origin: RefundOrigin,
    /// The principal who asked, when known (an IAM ARN, `local-admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The `Idempotency-Key` it was asked with: the same key gives the same refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// WeChat Pay's refund id, once it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// The account credited, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// When it was asked for (or, for an external refund, first reported).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Time of the last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the money reached the payer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub success_time: Option<OffsetDateTime>,
    /// Why WeChat Pay refused it (`REJECTED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The state of a paid order, from its refund totals: `REFUND_PROCESSING` while any refund is in
/// flight, else `REFUND_ABNORMAL` while any is stuck, else `REFUNDED` once the whole amount is
/// refunded, else `PARTIALLY_REFUNDED` once some is, else `SUCCESS`.
pub fn paid_status(order: &Order) -> OrderStatus {
    if order.refunds_open > 0 {
        OrderStatus::RefundProcessing
    } else if order.refunds_abnormal > 0 {
        OrderStatus::RefundAbnormal
    } else if order.refunded_fee >= order.total_fee && order.refunded_fee > 0 {
        OrderStatus::Refunded
    } else if order.refunded_fee > 0 {
        OrderStatus::PartiallyRefunded
    } else {
        OrderStatus::Success
    }
}

/// Moves `refund` from `from` to `to` in `order`'s totals, and the order's state with them when
/// it is paid. An order not paid here (its payment not yet recorded) keeps its state; settling it
/// later derives the state from the totals.
fn account(order: &mut Order, amount: i64, from: Option<RefundState>, to: RefundState) {
    let counts = |state: Option<RefundState>| {
        state.map_or((0, 0, 0), |s| {
            (
                if s.holds_money() { amount } else { 0 },
                u32::from(s.is_open()),
                u32::from(s == RefundState::Abnormal),
            )
        })
    };
    let (old_fee, old_open, old_abnormal) = counts(from);
    let (new_fee, new_open, new_abnormal) = counts(Some(to));
    order.refunded_fee = order
        .refunded_fee
        .saturating_sub(old_fee)
        .saturating_add(new_fee);
    order.refunds_open = order
        .refunds_open
        .saturating_sub(old_open)
        .saturating_add(new_open);
    order.refunds_abnormal = order
        .refunds_abnormal
        .saturating_sub(old_abnormal)
        .saturating_add(new_abnormal);
    if order.order_status.is_paid() {
        order.order_status = paid_status(order);
    }
}

/// A refund asked for here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAsk {
    /// Fen to refund.
    pub amount: i64,
    /// Shown to the payer.
    pub reason: Option<String>,
    /// Who asks.
    pub origin: RefundOrigin,
    /// The principal, when known.
    pub requested_by: Option<String>,
    /// The `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
    /// Now.
    pub at: OffsetDateTime,
}

/// Why a refund cannot be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    /// The order is not paid.
    #[error("the order is {0}, not paid: nothing to refund")]
    NotPaid(OrderStatus),
    /// Less than 1 fen.
    #[error("a refund is at least 1 fen")]
    InvalidAmount,
    /// More than what is left.
    #[error("only {remaining} fen of the payment are left to refund")]
    ExceedsRemaining {
        /// Fen left to refund.
        remaining: i64,
    },
    /// WeChat Pay's limit of refunds per order is reached.
    #[error("the order already has {MAX_REFUNDS_PER_ORDER} refunds, WeChat Pay's limit")]
    TooMany,
    /// Paid more than a year ago.
    #[error("the payment is more than 365 days old: WeChat Pay no longer refunds it")]
    TooOld,
}

/// What a refund request does to an order.
// Short-lived and matched at once: boxing would only add an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskDecision {
    /// Write this order and this new `SUBMITTING` refund together, then send it.
    Reserve {
        /// The order with the refund reserved.
        order: Order,
        /// The refund.
        refund: Refund,
    },
    /// Refused; nothing is written.
    Refused(RefundRefusal),
}

/// Decides whether `ask` fits `order`.
pub fn ask(order: &Order, ask: &RefundAsk) -> AskDecision {
    if !order.order_status.is_paid() {
        return AskDecision::Refused(RefundRefusal::NotPaid(order.order_status));
    }
    if ask.amount < 1 {
        return AskDecision::Refused(RefundRefusal::InvalidAmount);
    }
    let remaining = order.total_fee.saturating_sub(order.refunded_fee).max(0);
    if ask.amount > remaining {
        return AskDecision::Refused(RefundRefusal::ExceedsRemaining { remaining });
    }
    if order.refund_count >= MAX_REFUNDS_PER_ORDER {
        return AskDecision::Refused(RefundRefusal::TooMany);
    }
    let paid_at = order.success_time.unwrap_or(order.updated_at);
    if ask.at > paid_at + REFUND_WINDOW {
        return AskDecision::Refused(RefundRefusal::TooOld);
    }
    let mut new = order.clone();
    new.refund_count += 1;
    new.updated_at = ask.at;
    account(&mut new, ask.amount, None, RefundState::Submitting);
    let refund = Refund {
        order_no: order.order_no.clone(),
        out_refund_no: RefundNo::nth(&order.order_no, new.refund_count),
        amount: ask.amount,
        reason: ask.reason.clone(),
        state: RefundState::Submitting,
        origin: ask.origin,
        requested_by: ask.requested_by.clone(),
        idempotency_key: ask.idempotency_key.clone(),
        refund_id: None,
        user_received_account: None,
        created_at: ask.at,
        updated_at: ask.at,
        success_time: None,
        failure: None,
    };
    AskDecision::Reserve { order: new, refund }
}

/// What WeChat Pay reports of a refund (a create or query answer, or a notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    /// Its state at WeChat Pay (never `SUBMITTING` or `REJECTED`).
    pub state: RefundState,
    /// Fen refunded, as WeChat Pay says.
    pub amount: i64,
    /// WeChat Pay's refund id.
    pub refund_id: String,
    /// When the money reached the payer.
    pub success_time: Option<OffsetDateTime>,
    /// The account credited.
    pub user_received_account: Option<String>,
    /// Now.
    pub at: OffsetDateTime,
}

/// What a report does to a refund we know.
// Short-lived and matched at once: boxing would only add an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportDecision {
    /// Write this order and this refund together.
    Apply {
        /// The order with its totals moved.
        order: Order,
        /// The refund in its new state.
        refund: Refund,
    },
    /// Nothing new (a duplicate, or a stale `PROCESSING`): write nothing.
    Unchanged,
    /// The report contradicts what we hold: a final state reported differently, or a different
    /// amount. Write nothing and raise an alert; the merchant looks at it.
    Conflict,
}

/// Decides what `report` does to `refund` of `order`.
pub fn report(order: &Order, refund: &Refund, report: &RefundReport) -> ReportDecision {
    if report.amount != refund.amount
        || refund
            .refund_id
            .as_deref()
            .is_some_and(|id| id != report.refund_id)
    {
        return ReportDecision::Conflict;
    }
    if report.state == refund.state {
        return ReportDecision::Unchanged;
    }
    if refund.state.is_final() && refund.state != RefundState::Rejected {
        return ReportDecision::Conflict;
    }
    if refund.state != RefundState::Rejected && report.state.progress() <= refund.state.progress() {
        return ReportDecision::Unchanged;
    }
    // A refund we marked REJECTED that WeChat Pay reports after all: WeChat Pay is the source of
    // truth, so it counts again (and is an alert for the caller, who sees the origin state).
    let mut new_order = order.clone();
    new_order.updated_at = report.at;
    account(
        &mut new_order,
        refund.amount,
        Some(refund.state),
        report.state,
    );
    let mut new_refund = refund.clone();
    new_refund.state = report.state;
    new_refund.refund_id = Some(report.refund_id.clone());
    new_refund.success_time = report.success_time.or(refund.success_time);
    new_refund.user_received_account = report
        .user_received_account
        .clone()
        .or_else(|| refund.user_received_account.clone());
    new_refund.updated_at = report.at;
    ReportDecision::Apply {
        order: new_order,
        refund: new_refund,
    }
}

/// Records a refund WeChat Pay reports that we never asked for (made in the merchant platform):
/// the order and the new `EXTERNAL` refund to write together, whatever the totals say.
pub fn record_external(
    order: &Order,
    out_refund_no: RefundNo,
    report: &RefundReport,
) -> (Order, Refund) {
    let mut new_order = order.clone();
    new_order.updated_at = report.at;
    account(&mut new_order, report.amount, None, report.state);
    let refund = Refund {
        order_no: order.order_no.clone(),
        out_refund_no,
        amount: report.amount,
        reason: None,
        state: report.state,
        origin: RefundOrigin::External,
        requested_by: None,
        idempotency_key: None,
        refund_id: Some(report.refund_id.clone()),
        user_received_account: report.user_received_account.clone(),
        created_at: report.at,
        updated_at: report.at,
        success_time: report.success_time,
        failure: None,
    };
    (new_order, refund)
}

/// Marks a `SUBMITTING` refund `REJECTED` once WeChat Pay refused it and confirmed (by query) it
/// holds no refund by that number, releasing its amount. `None` if it is no longer `SUBMITTING`.
pub fn reject(
    order: &Order,
    refund: &Refund,
    failure: &str,
    at: OffsetDateTime,
) -> Option<(Order, Refund)> {
    if refund.state != RefundState::Submitting {
        return None;
    }
    let mut new_order = order.clone();
    new_order.updated_at = at;
    account(
        &mut new_order,
        refund.amount,
        Some(refund.state),
        RefundState::Rejected,
    );
    let mut new_refund = refund.clone();
    new_refund.state = RefundState::Rejected;
    new_refund.failure = Some(failure.to_owned());
    new_refund.updated_at = at;
    Some((new_order, new_refund))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Product;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

    fn paid(total: i64) -> Order {
        let product = Product::new("1", "课程", total).unwrap();
        let mut order = Order::new_pending(
            OrderNo::parse("20240501000000000AbCdEfGh").unwrap(),
            &product,
            None,
            T0,
            Duration::minutes(5),
        );
        order.order_status = OrderStatus::Success;
        order.transaction_id = Some("4200000001".into());
        order.success_time = Some(T0 + Duration::minutes(1));
        order
    }

    fn asking(amount: i64, at: OffsetDateTime) -> RefundAsk {
        RefundAsk {
            amount,
            reason: Some("不想要了".into()),
            origin: RefundOrigin::Merchant,
            requested_by: Some("local-admin".into()),
            idempotency_key: Some("k1".into()),
            at,
        }
    }

    fn reserve(order: &Order, amount: i64) -> (Order, Refund) {
        match ask(order, &asking(amount, T0 + Duration::hours(1))) {
            AskDecision::Reserve { order, refund } => (order, refund),
            AskDecision::Refused(why) => panic!("refused: {why}"),
        }
    }

    fn reported(state: RefundState, amount: i64) -> RefundReport {
        RefundReport {
            state,
            amount,
            refund_id: "50000001".into(),
            success_time: (state == RefundState::Success).then_some(T0 + Duration::hours(2)),
            user_received_account: Some("支付用户零钱".into()),
            at: T0 + Duration::hours(2),
        }
    }

    fn apply(order: &Order, refund: &Refund, state: RefundState) -> (Order, Refund) {
        match report(order, refund, &reported(state, refund.amount)) {
            ReportDecision::Apply { order, refund } => (order, refund),
            other => panic!("{state}: {other:?}"),
        }
    }

    #[test]
    fn refund_numbers_are_per_order_and_valid() {
        let order = paid(100);
        let number = RefundNo::nth(&order.order_no, 7);
        assert_eq!(number.as_str(), "20240501000000000AbCdEfGhR07");
        assert_eq!(RefundNo::parse(number.as_str()), Ok(number));
        let longest = OrderNo::parse(&"a".repeat(32)).unwrap();
        assert!(RefundNo::parse(RefundNo::nth(&longest, MAX_REFUNDS_PER_ORDER).as_str()).is_ok());
        assert_eq!(RefundNo::parse("a b"), Err(InvalidRefundNo));
    }

    #[test]
    fn a_reserved_refund_holds_its_amount_and_shows_processing() {
        let (order, refund) = reserve(&paid(100), 30);
        assert_eq!(order.refunded_fee, 30);
        assert_eq!(order.refund_count, 1);
        assert_eq!(order.refunds_open, 1);
        assert_eq!(order.order_status, OrderStatus::RefundProcessing);
        assert_eq!(refund.state, RefundState::Submitting);
        assert_eq!(
            refund.out_refund_no.as_str(),
            "20240501000000000AbCdEfGhR01"
        );
    }

    #[test]
    fn the_sum_of_refunds_never_exceeds_the_payment() {
        let (order, _) = reserve(&paid(100), 70);
        assert_eq!(
            ask(&order, &asking(31, T0)),
            AskDecision::Refused(RefundRefusal::ExceedsRemaining { remaining: 30 })
        );
        let (order, _) = reserve(&order, 30);
        assert_eq!(order.refunded_fee, 100);
        assert_eq!(
            ask(&order, &asking(1, T0)),
            AskDecision::Refused(RefundRefusal::ExceedsRemaining { remaining: 0 })
        );
        assert_eq!(
            ask(&paid(100), &asking(0, T0)),
            AskDecision::Refused(RefundRefusal::InvalidAmount)
        );
    }

    #[test]
    fn unpaid_old_and_over_counted_orders_are_refused() {
        let mut order = paid(100);
        for status in [
            OrderStatus::Notpay,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
        ] {
            order.order_status = status;
            assert_eq!(
                ask(&order, &asking(1, T0)),
                AskDecision::Refused(RefundRefusal::NotPaid(status))
            );
        }
        let order = paid(100);
        let late = T0 + Duration::minutes(1) + REFUND_WINDOW + Duration::seconds(1);
        assert_eq!(
            ask(&order, &asking(1, late)),
            AskDecision::Refused(RefundRefusal::TooOld)
        );
        let mut order = paid(100);
        order.refund_count = MAX_REFUNDS_PER_ORDER;
        assert_eq!(
            ask(&order, &asking(1, T0)),
            AskDecision::Refused(RefundRefusal::TooMany)
        );
    }

    #[test]
    fn outcomes_move_the_totals_and_the_order_state() {
        let (order, refund) = reserve(&paid(100), 30);
        let (order, processing) = apply(&order, &refund, RefundState::Processing);
        assert_eq!(order.order_status, OrderStatus::RefundProcessing);
        let (done, _) = apply(&order, &processing, RefundState::Success);
        assert_eq!(done.order_status, OrderStatus::PartiallyRefunded);
        assert_eq!((done.refunded_fee, done.refunds_open), (30, 0));

        let (closed, _) = apply(&order, &processing, RefundState::Closed);
        assert_eq!(closed.order_status, OrderStatus::Success);
        assert_eq!(
            closed.refunded_fee, 0,
            "a closed refund releases its amount"
        );

        let (abnormal, stuck) = apply(&order, &processing, RefundState::Abnormal);
        assert_eq!(abnormal.order_status, OrderStatus::RefundAbnormal);
        assert_eq!(
            abnormal.refunded_fee, 30,
            "an abnormal refund keeps its amount"
        );
        let (resolved, _) = apply(&abnormal, &stuck, RefundState::Success);
        assert_eq!(resolved.order_status, OrderStatus::PartiallyRefunded);
        assert_eq!(resolved.refunds_abnormal, 0);

        let (whole, refund) = reserve(&paid(100), 100);
        let (whole, _) = apply(&whole, &refund, RefundState::Success);
        assert_eq!(whole.order_status, OrderStatus::Refunded);
    }

    #[test]
    fn reports_never_move_a_refund_back_and_contradictions_are_conflicts() {
        let (order, refund) = reserve(&paid(100), 30);
        let (order, done) = apply(&order, &refund, RefundState::Success);
        assert_eq!(
            report(&order, &done, &reported(RefundState::Success, 30)),
            ReportDecision::Unchanged
        );
        assert_eq!(
            report(&order, &done, &reported(RefundState::Processing, 30)),
            ReportDecision::Conflict
        );
        assert_eq!(
            report(&order, &done, &reported(RefundState::Closed, 30)),
            ReportDecision::Conflict
        );
        let (order, refund) = reserve(&paid(100), 30);
        let (order, abnormal) = apply(&order, &refund, RefundState::Abnormal);
        assert_eq!(
            report(&order, &abnormal, &reported(RefundState::Processing, 30)),
            ReportDecision::Unchanged
        );
        assert_eq!(
            report(&order, &refund, &reported(RefundState::Success, 31)),
            ReportDecision::Conflict
        );
    }

    #[test]
    fn rejection_releases_only_a_submitting_refund() {
        let (order, refund) = reserve(&paid(100), 30);
        let (released, rejected) = reject(&order, &refund, "NOT_ENOUGH", T0).unwrap();
        assert_eq!(released.order_status, OrderStatus::Success);
        assert_eq!((released.refunded_fee, released.refund_count), (0, 1));
        assert_eq!(rejected.state, RefundState::Rejected);
        assert!(reject(&released, &rejected, "again", T0).is_none());
        // WeChat Pay reporting it after all: it counts again.
        let (recounted, _) = apply(&released, &rejected, RefundState::Success);
        assert_eq!(recounted.refunded_fee, 30);
    }

    #[test]
    fn external_refunds_are_recorded_whatever_the_totals() {
        let (order, _) = reserve(&paid(100), 100);
        let number = RefundNo::parse("MANUAL-1").unwrap();
        let (order, refund) = record_external(&order, number, &reported(RefundState::Success, 50));
        assert_eq!(refund.origin, RefundOrigin::External);
        assert_eq!(
            order.refunded_fee, 150,
            "recorded as reported; the over-refund is visible"
        );
        let mut unpaid = paid(100);
        unpaid.order_status = OrderStatus::Notpay;
        let (unpaid, _) = record_external(
            &unpaid,
            RefundNo::parse("MANUAL-2").unwrap(),
            &reported(RefundState::Success, 10),
        );
        assert_eq!(
            unpaid.order_status,
            OrderStatus::Notpay,
            "settling derives it later"
        );
        assert_eq!(unpaid.refunded_fee, 10);
    }

    #[test]
    fn spellings_round_trip() {
        for state in RefundState::ALL {
            assert_eq!(RefundState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
        }
        for origin in [
            RefundOrigin::Merchant,
            RefundOrigin::LatePayment,
            RefundOrigin::External,
        ] {
            assert_eq!(RefundOrigin::parse(origin.as_str()), Some(origin));
        }
    }
}
