//! A refund as WeChat Pay keeps it, and the rules of refunding an order (§7.1): only paid orders,
//! `amount.total` equal to the order's total, at most what is left (the sum of the refunds that
//! are not `CLOSED`), at most [`MAX_REFUNDS`] per order, at least a minute between two refunds of
//! one order. A refund starts `PROCESSING` and later ends in the outcome chosen when it was created
//! ([`RefundOutcome`]). Everything here is pure: times come in as arguments.

use crate::order::{Order, OrderState};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use wxpay::refund::{
    CNY, Refund, RefundAmount, RefundRequest, RefundRequestAmount, RefundResource,
    RefundResourceAmount, RefundStatus,
};

/// Most refunds of one order.
pub const MAX_REFUNDS: usize = 50;
/// The shortest time between two refunds of one order, before scaling.
pub const MIN_INTERVAL: Duration = Duration::minutes(1);
/// Where the simulator says the money went.
const RECEIVED_ACCOUNT: &str = "支付用户零钱";

/// How a refund ends once it leaves `PROCESSING`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOutcome {
    /// `SUCCESS`: the money reached the payer (the default).
    #[default]
    Success,
    /// `ABNORMAL`: the money could not reach the payer.
    Abnormal,
    /// `CLOSED`: nothing was refunded; its amount is released.
    Closed,
}

impl RefundOutcome {
    /// The final status.
    pub fn status(self) -> RefundStatus {
        match self {
            Self::Success => RefundStatus::Success,
            Self::Abnormal => RefundStatus::Abnormal,
            Self::Closed => RefundStatus::Closed,
        }
    }
}

/// One refund of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    /// The request as first received (for a refund made in the merchant platform, as if the
    /// platform had sent it).
    pub request: RefundRequest,
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Where it stands.
    pub status: RefundStatus,
    /// When it left `PROCESSING`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// How it will end (chosen at creation by the `refund_outcome` fault switch).
    pub outcome: RefundOutcome,
    /// Where its notification goes: the request's `notify_url`, or the merchant's configured URL.
    pub notify_url: String,
    /// Made by hand in the merchant platform, under a number the merchant never issued.
    #[serde(default)]
    pub external: bool,
}

impl RefundRecord {
    /// The merchant's refund number.
    pub fn out_refund_no(&self) -> &str {
        &self.request.out_refund_no
    }

    /// Fen refunded.
    pub fn amount(&self) -> i64 {
        self.request.amount.refund
    }

    /// Leaves `PROCESSING` for its outcome at `now`; returns whether it changed.
    pub fn finish(&mut self, now: OffsetDateTime) -> bool {
        if self.status != RefundStatus::Processing {
            return false;
        }
        self.status = self.outcome.status();
        self.finished_at = Some(now);
        true
    }

    fn success_time(&self) -> Option<String> {
        match self.status {
            RefundStatus::Success => self.finished_at.and_then(|at| wxpay::time::format(at).ok()),
            _ => None,
        }
    }

    /// The refund as the create and query APIs answer it (§7.2), for the paid `order`.
    pub fn answer(&self, order: &Order) -> Refund {
        let total = order.request.amount.total;
        Refund {
            refund_id: self.refund_id.clone(),
            out_refund_no: self.out_refund_no().to_owned(),
            transaction_id: order.transaction_id().unwrap_or_default().to_owned(),
            out_trade_no: order.out_trade_no().to_owned(),
            channel: Some("ORIGINAL".to_owned()),
            user_received_account: Some(RECEIVED_ACCOUNT.to_owned()),
            success_time: self.success_time(),
            create_time: wxpay::time::format(self.created_at).ok(),
            status: self.status.clone(),
            funds_account: Some("AVAILABLE".to_owned()),
            amount: RefundAmount {
                total,
                refund: self.amount(),
                payer_total: Some(total),
                payer_refund: Some(self.amount()),
                settlement_refund: Some(self.amount()),
                settlement_total: Some(total),
                discount_refund: Some(0),
                currency: Some(CNY.to_owned()),
                refund_fee: Some(0),
                from: None,
            },
            promotion_detail: None,
            extra: Default::default(),
        }
    }

    /// The decrypted resource of its notification (§7.4), once final, for the paid `order` of
    /// merchant `mchid`.
    pub fn resource(&self, order: &Order) -> RefundResource {
        let total = order.request.amount.total;
        RefundResource {
            mchid: order.request.mchid.clone(),
            transaction_id: order.transaction_id().unwrap_or_default().to_owned(),
            out_trade_no: order.out_trade_no().to_owned(),
            refund_id: self.refund_id.clone(),
            out_refund_no: self.out_refund_no().to_owned(),
            refund_status: self.status.clone(),
            success_time: self.success_time(),
            user_received_account: Some(RECEIVED_ACCOUNT.to_owned()),
            amount: RefundResourceAmount {
                total,
                refund: self.amount(),
                payer_total: Some(total),
                payer_refund: Some(self.amount()),
            },
            extra: Default::default(),
        }
    }
}

/// Why an order cannot be refunded as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundError {
    /// The order is not paid.
    NotPaid,
    /// `amount.total` is not the order's total.
    TotalMismatch,
    /// More than is left.
    Exceeds,
    /// The order already has [`MAX_REFUNDS`] refunds.
    TooMany,
    /// The last refund of the order is less than the minimum interval old.
    TooSoon,
}

/// What a new refund needs besides the request.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// How it will end.
    pub outcome: RefundOutcome,
    /// The shortest time since the order's last refund (`None`: no limit, as for a refund made by
    /// hand in the merchant platform).
    pub min_interval: Option<Duration>,
    /// Made in the merchant platform.
    pub external: bool,
}

impl NewRefund {
    /// A refund asked through the API: at least `min_interval` after the order's last refund.
    pub fn api(refund_id: String, outcome: RefundOutcome, min_interval: Duration) -> Self {
        Self {
            refund_id,
            outcome,
            min_interval: Some(min_interval),
            external: false,
        }
    }

    /// A refund made by hand in the merchant platform: no interval applies.
    pub fn platform(refund_id: String, outcome: RefundOutcome) -> Self {
        Self {
            refund_id,
            outcome,
            min_interval: None,
            external: true,
        }
    }
}

/// The request a refund made by hand in the merchant platform stands for: `amount` fen of `order`
/// (what is left if `None`) under `out_refund_no`, with no `notify_url` (the order's applies).
pub fn platform_request(
    order: &Order,
    out_refund_no: String,
    amount: Option<i64>,
    reason: Option<String>,
) -> RefundRequest {
    RefundRequest {
        transaction_id: None,
        out_trade_no: Some(order.out_trade_no().to_owned()),
        out_refund_no,
        reason,
        notify_url: None,
        funds_account: None,
        amount: RefundRequestAmount {
            refund: amount.unwrap_or_else(|| order.refundable()),
            total: order.request.amount.total,
            currency: CNY.to_owned(),
            from: None,
        },
        goods_detail: None,
    }
}

impl Order {
    /// Fen that can still be refunded: the total minus the refunds that are not `CLOSED`.
    pub fn refundable(&self) -> i64 {
        let held: i64 = self
            .refunds
            .iter()
            .filter(|r| r.status != RefundStatus::Closed)
            .map(RefundRecord::amount)
            .sum();
        self.request.amount.total - held
    }

    /// Adds a `PROCESSING` refund of `request` at `now` (the one place of the rules of §7.1);
    /// returns it. `request` must be validated and name this order.
    pub fn refund(
        &mut self,
        request: RefundRequest,
        now: OffsetDateTime,
        new: NewRefund,
    ) -> Result<RefundRecord, RefundError> {
        if !matches!(self.state, OrderState::Success(_)) {
            return Err(RefundError::NotPaid);
        }
        if request.amount.total != self.request.amount.total {
            return Err(RefundError::TotalMismatch);
        }
        if self.refunds.len() >= MAX_REFUNDS {
            return Err(RefundError::TooMany);
        }
        let last = self.refunds.iter().map(|r| r.created_at).max();
        if let (Some(last), Some(interval)) = (last, new.min_interval)
            && now - last < interval
        {
            return Err(RefundError::TooSoon);
        }
        if request.amount.refund > self.refundable() {
            return Err(RefundError::Exceeds);
        }
        let notify_url = request
            .notify_url
            .clone()
            .unwrap_or_else(|| self.request.notify_url.clone());
        let record = RefundRecord {
            request,
            refund_id: new.refund_id,
            created_at: now,
            status: RefundStatus::Processing,
            finished_at: None,
            outcome: new.outcome,
            notify_url,
            external: new.external,
        };
        self.refunds.push(record.clone());
        Ok(record)
    }

    /// The refund `out_refund_no` of this order.
    pub fn refund_record(&self, out_refund_no: &str) -> Option<&RefundRecord> {
        self.refunds
            .iter()
            .find(|r| r.out_refund_no() == out_refund_no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Payment, normalise};
    use wxpay::models::NativePrepayRequest;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000 + secs).unwrap()
    }

    fn paid(total: i64) -> Order {
        let request = normalise(NativePrepayRequest::new(
            "wx1",
            "1900000001",
            "d",
            "T000001",
            "https://example.com/n",
            total,
        ));
        let mut order = Order::new(request, at(0), "A".into());
        let payment = Payment {
            transaction_id: "4200".into(),
            success_time: at(1),
            openid: "o1".into(),
            bank_type: "OTHERS".into(),
        };
        order.pay("A", at(1), payment).unwrap();
        order
    }

    fn ask(no: &str, refund: i64, total: i64) -> RefundRequest {
        RefundRequest::of_transaction("4200", no, refund, total)
    }

    fn new(outcome: RefundOutcome) -> NewRefund {
        NewRefund::api("50".into(), outcome, MIN_INTERVAL)
    }

    #[test]
    fn only_paid_orders_with_their_own_total_are_refunded() {
        let mut unpaid = paid(100);
        unpaid.state = OrderState::Notpay;
        let ok = RefundOutcome::Success;
        assert_eq!(
            unpaid.refund(ask("R1", 10, 100), at(2), new(ok)),
            Err(RefundError::NotPaid)
        );
        let mut order = paid(100);
        assert_eq!(
            order.refund(ask("R1", 10, 99), at(2), new(ok)),
            Err(RefundError::TotalMismatch)
        );
        assert!(order.refunds.is_empty());
    }

    #[test]
    fn refunds_never_exceed_what_is_left_and_a_closed_one_releases_its_amount() {
        let mut order = paid(100);
        let closed = RefundOutcome::Closed;
        order
            .refund(ask("R1", 60, 100), at(2), new(closed))
            .unwrap();
        assert_eq!(order.refundable(), 40);
        assert_eq!(
            order.refund(ask("R2", 41, 100), at(70), new(closed)),
            Err(RefundError::Exceeds)
        );
        assert!(order.refunds[0].finish(at(80)));
        assert!(!order.refunds[0].finish(at(81)));
        assert_eq!(order.refunds[0].status, RefundStatus::Closed);
        assert_eq!(order.refundable(), 100);
        order
            .refund(ask("R2", 100, 100), at(140), new(closed))
            .unwrap();
        assert_eq!(order.refundable(), 0);
        // Without an amount, the platform refunds what is left: here nothing, which validation
        // refuses.
        let rest = platform_request(&order, "MP1".into(), None, None);
        assert_eq!(rest.amount.refund, 0);
        assert!(wxpay::validate::refund(&rest).is_err());
    }

    #[test]
    fn refunds_of_one_order_are_a_minute_apart_unless_made_in_the_platform() {
        let mut order = paid(100);
        let ok = RefundOutcome::Success;
        order.refund(ask("R1", 1, 100), at(2), new(ok)).unwrap();
        assert_eq!(
            order.refund(ask("R2", 1, 100), at(61), new(ok)),
            Err(RefundError::TooSoon)
        );
        let asked = platform_request(&order, "MP1".into(), Some(1), None);
        let platform = NewRefund::platform("51".into(), ok);
        let made = order.refund(asked, at(3), platform).unwrap();
        assert!(made.external && made.notify_url == "https://example.com/n");
        assert_eq!(made.request.out_trade_no.as_deref(), Some("T000001"));
        order.refund(ask("R3", 1, 100), at(63), new(ok)).unwrap();
    }

    #[test]
    fn at_most_fifty_refunds_per_order() {
        let mut order = paid(1000);
        let free = NewRefund::platform("50".into(), RefundOutcome::Success);
        for i in 0..MAX_REFUNDS {
            order
                .refund(ask(&format!("R{i}"), 1, 1000), at(2), free.clone())
                .unwrap();
        }
        assert_eq!(
            order.refund(ask("R50", 1, 1000), at(2), free),
            Err(RefundError::TooMany)
        );
    }

    #[test]
    fn answers_show_success_time_only_once_succeeded_and_the_notification_reads_refund_status() {
        let mut order = paid(100);
        let mut record = order
            .refund(ask("R1", 30, 100), at(2), new(RefundOutcome::Success))
            .unwrap();
        let answer = record.answer(&order);
        assert_eq!(answer.status, RefundStatus::Processing);
        assert!(answer.success_time.is_none());
        assert_eq!((answer.amount.total, answer.amount.refund), (100, 30));
        assert_eq!(record.notify_url, "https://example.com/n");
        record.finish(at(5));
        let resource = record.resource(&order);
        assert_eq!(resource.refund_status, RefundStatus::Success);
        assert!(resource.success_time.is_some());
        let json = serde_json::to_value(&resource).unwrap();
        assert!(json.get("status").is_none() && json["refund_status"] == "SUCCESS");
        order.refunds[0] = record;
        let again = order.refund_record("R1").unwrap().answer(&order);
        assert_eq!(again.status, RefundStatus::Success);
    }
}
