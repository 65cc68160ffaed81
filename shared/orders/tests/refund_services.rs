#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The refund service against the embedded store (in memory) and the in-memory WeChat Pay: a
//! refund is reserved, sent once under our number, and released only when WeChat Pay confirms it
//! holds none.

use std::sync::Arc;

use orders::adapters::EmbeddedOrderStore;
use orders::domain::refund::RefundRefusal;
use orders::domain::{Order, OrderStatus, Product, RefundOrigin, RefundState};
use orders::ports::{GatewayError, OrderReader, ProductWriter, RefundReader};
use orders::services::refund::{answer_report, apply_report};
use orders::services::{RefundCommand, RefundError, request_refund, settle_transaction};
use orders::testing::{FakeWeChatPay, place_prepaid};
use orders::{NotifyUrl, OrdersConfig};
use time::OffsetDateTime;
use time::macros::datetime;
use wxpay::FixedClock;
use wxpay::refund::RefundStatus;

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);
const NOTIFY: &str = "https://shop.example/api/wx-pay/native/notify";

struct World {
    store: EmbeddedOrderStore,
    wechat: FakeWeChatPay,
    clock: Arc<FixedClock>,
    config: OrdersConfig,
    notify_url: NotifyUrl,
}

async fn world() -> World {
    let store = EmbeddedOrderStore::in_memory().unwrap();
    store
        .put_product(&Product::new("2", "Rust 课程", 2999).unwrap())
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    World {
        store,
        wechat: FakeWeChatPay::new(Arc::clone(&clock)),
        clock,
        config: OrdersConfig::new("wxd678efh567hg6787", "1900007291"),
        notify_url: NotifyUrl::parse(NOTIFY).unwrap(),
    }
}

fn command(amount: i64, key: &str) -> RefundCommand {
    RefundCommand {
        amount,
        reason: Some("课程取消".into()),
        origin: RefundOrigin::Merchant,
        requested_by: Some("local-admin".into()),
        idempotency_key: Some(key.into()),
    }
}

impl World {
    /// A paid order of 2999 fen.
    async fn paid(&self) -> Order {
        let placed = place_prepaid(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.config,
            &self.notify_url,
            "2",
        )
        .await
        .unwrap();
        let number = placed.order_no.to_string();
        self.wechat.pay(&number).unwrap();
        let transaction = self.wechat.transaction(&number).unwrap();
        settle_transaction(&self.store, &*self.clock, &self.config, &transaction)
            .await
            .unwrap();
        self.store
            .get_order(&placed.order_no)
            .await
            .unwrap()
            .unwrap()
    }

    async fn refund(
        &self,
        order: &Order,
        command: &RefundCommand,
    ) -> Result<orders::services::RefundResult, RefundError> {
        request_refund(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.notify_url,
            &order.order_no,
            command,
        )
        .await
    }

    async fn order(&self, order: &Order) -> Order {
        self.store
            .get_order(&order.order_no)
            .await
            .unwrap()
            .unwrap()
    }
}

#[tokio::test]
async fn a_refund_is_accepted_then_finished_by_what_wechat_pay_reports() {
    let w = world().await;
    let order = w.paid().await;
    let result = w.refund(&order, &command(1000, "k1")).await.unwrap();
    assert_eq!(result.refund.state, RefundState::Processing);
    assert!(result.refund.refund_id.is_some());
    assert_eq!(result.order.order_status, OrderStatus::RefundProcessing);
    assert_eq!(w.wechat.refunded_total(order.order_no.as_str()), 1000);

    w.wechat.finish_refunds(RefundStatus::Success);
    let answer = w
        .wechat
        .refund_of(result.refund.out_refund_no.as_str())
        .unwrap();
    let report = answer_report(&answer, T0).unwrap();
    let done = apply_report(
        &w.store,
        &order.order_no,
        &result.refund.out_refund_no,
        &report,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.refund.state, RefundState::Success);
    assert_eq!(done.order.order_status, OrderStatus::PartiallyRefunded);

    // WeChat Pay takes a refund of one order a minute at most; sooner, it throttles (429) and the
    // refund stays SUBMITTING for the sweep.
    let too_soon = w.refund(&order, &command(1999, "k2")).await.unwrap();
    assert_eq!(too_soon.refund.state, RefundState::Submitting);
    w.clock.advance(time::Duration::minutes(1));
    let rest = w.refund(&order, &command(1999, "k2")).await.unwrap();
    assert_eq!(rest.refund.out_refund_no, too_soon.refund.out_refund_no);
    w.wechat.finish_refunds(RefundStatus::Success);
    let answer = w
        .wechat
        .refund_of(rest.refund.out_refund_no.as_str())
        .unwrap();
    let done = apply_report(
        &w.store,
        &order.order_no,
        &rest.refund.out_refund_no,
        &answer_report(&answer, T0).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.order.order_status, OrderStatus::Refunded);
    assert_eq!(w.wechat.refunded_total(order.order_no.as_str()), 2999);
}

#[tokio::test]
async fn the_same_key_gives_the_same_refund_and_refunds_once() {
    let w = world().await;
    let order = w.paid().await;
    let first = w.refund(&order, &command(500, "same")).await.unwrap();
    let again = w.refund(&order, &command(500, "same")).await.unwrap();
    assert_eq!(first.refund.out_refund_no, again.refund.out_refund_no);
    assert_eq!(
        w.wechat.refund_calls(),
        1,
        "a processed refund is not sent again"
    );
    let other = w.refund(&order, &command(600, "same")).await;
    assert!(
        matches!(other, Err(RefundError::KeyReused { amount: 500 })),
        "{other:?}"
    );
    assert_eq!(w.order(&order).await.refunded_fee, 500);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_refund_submitting_and_a_retry_refunds_once() {
    let w = world().await;
    let order = w.paid().await;
    w.wechat.lose_refund_answers(true);
    let first = w.refund(&order, &command(700, "lost")).await.unwrap();
    assert_eq!(first.refund.state, RefundState::Submitting);
    assert_eq!(
        w.order(&order).await.refunded_fee,
        700,
        "the amount stays reserved"
    );
    w.wechat.lose_refund_answers(false);
    let retried = w.refund(&order, &command(700, "lost")).await.unwrap();
    assert_eq!(retried.refund.state, RefundState::Processing);
    assert_eq!(
        w.wechat.refund_calls(),
        2,
        "sent again, under the same number"
    );
    assert_eq!(
        w.wechat.refunded_total(order.order_no.as_str()),
        700,
        "refunded once"
    );
}

#[tokio::test]
async fn a_failure_before_wechat_pay_leaves_it_submitting() {
    let w = world().await;
    let order = w.paid().await;
    w.wechat
        .fail_refunds_with(Some(GatewayError::Unavailable("503".into())));
    let first = w.refund(&order, &command(100, "k")).await.unwrap();
    assert_eq!(first.refund.state, RefundState::Submitting);
    w.wechat.fail_refunds_with(None);
    let retried = w.refund(&order, &command(100, "k")).await.unwrap();
    assert_eq!(retried.refund.state, RefundState::Processing);
}

#[tokio::test]
async fn a_refusal_confirmed_by_a_query_releases_the_amount() {
    let w = world().await;
    let order = w.paid().await;
    // Refunded by hand at WeChat Pay meanwhile: WeChat Pay has less left than we think.
    w.wechat.fail_refunds_with(Some(GatewayError::Rejected {
        status: 400,
        code: "INVALID_REQUEST".into(),
        message: "申请退款金额超过订单可退金额".into(),
    }));
    let refused = w.refund(&order, &command(2999, "k")).await;
    assert!(
        matches!(&refused, Err(RefundError::Rejected { code, .. }) if code == "INVALID_REQUEST"),
        "{refused:?}"
    );
    let held = w.order(&order).await;
    assert_eq!(held.refunded_fee, 0);
    assert_eq!(held.order_status, OrderStatus::Success);
    let refunds = w.store.refunds_of(&order.order_no).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].state, RefundState::Rejected);
}

#[tokio::test]
async fn a_refusal_of_a_refund_wechat_pay_holds_records_it_instead() {
    let w = world().await;
    let order = w.paid().await;
    w.wechat.lose_refund_answers(true);
    let first = w.refund(&order, &command(300, "k")).await.unwrap();
    w.wechat.lose_refund_answers(false);
    // The retry is refused (e.g. a parameter check) although WeChat Pay holds the refund.
    w.wechat.fail_refunds_with(Some(GatewayError::Rejected {
        status: 403,
        code: "RULE_LIMIT".into(),
        message: "m".into(),
    }));
    let retried = w.refund(&order, &command(300, "k")).await.unwrap();
    assert_eq!(retried.refund.out_refund_no, first.refund.out_refund_no);
    assert_eq!(
        retried.refund.state,
        RefundState::Processing,
        "the query showed it"
    );
    assert_eq!(w.order(&order).await.refunded_fee, 300);
}

#[tokio::test]
async fn the_rules_refuse_before_anything_is_sent() {
    let w = world().await;
    let order = w.paid().await;
    let over = w.refund(&order, &command(3000, "k")).await;
    assert!(matches!(
        over,
        Err(RefundError::Refused(RefundRefusal::ExceedsRemaining {
            remaining: 2999
        }))
    ));
    let mut long = command(1, "k2");
    long.reason = Some("字".repeat(81));
    assert!(matches!(
        w.refund(&order, &long).await,
        Err(RefundError::InvalidReason)
    ));
    assert_eq!(w.wechat.refund_calls(), 0);
}

mod sweep {
    use super::*;
    use orders::services::{RefundSweepReport, sweep_refunds};
    use time::Duration;
    use wxpay::Clock;

    impl World {
        async fn sweep(&self) -> RefundSweepReport {
            let deadline = self.clock.now() + Duration::minutes(5);
            sweep_refunds(
                &self.store,
                &self.wechat,
                &*self.clock,
                &self.config,
                &self.notify_url,
                deadline,
            )
            .await
            .unwrap()
        }
    }

    #[tokio::test]
    async fn a_lost_refund_notification_is_recovered_by_the_sweep() {
        let w = world().await;
        let order = w.paid().await;
        let asked = w.refund(&order, &command(1000, "k")).await.unwrap();
        w.wechat.finish_refunds(RefundStatus::Success);
        // Too young: left alone.
        assert_eq!(w.sweep().await.listed, 0);
        w.clock.advance(Duration::minutes(2));
        let report = w.sweep().await;
        assert_eq!((report.listed, report.finished), (1, 1), "{report:?}");
        let held = w
            .store
            .get_refund(&order.order_no, &asked.refund.out_refund_no)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(held.state, RefundState::Success);
        assert_eq!(
            w.order(&order).await.order_status,
            OrderStatus::PartiallyRefunded
        );
        assert_eq!(
            w.sweep().await.listed,
            0,
            "a finished refund leaves the index"
        );
    }

    #[tokio::test]
    async fn an_unanswered_refund_is_sent_again_and_refunds_once() {
        let w = world().await;
        let order = w.paid().await;
        w.wechat.fail_refunds_with(Some(GatewayError::Timeout));
        let asked = w.refund(&order, &command(400, "k")).await.unwrap();
        assert_eq!(asked.refund.state, RefundState::Submitting);
        w.clock.advance(Duration::minutes(2));
        let report = w.sweep().await;
        assert_eq!(report.unanswered, 1, "still failing: left SUBMITTING");
        w.wechat.fail_refunds_with(None);
        w.wechat.lose_refund_answers(true);
        assert_eq!(w.sweep().await.unanswered, 1, "processed, answer lost");
        w.wechat.lose_refund_answers(false);
        let report = w.sweep().await;
        assert_eq!(report.processing, 1, "{report:?}");
        assert_eq!(
            w.wechat.refunded_total(order.order_no.as_str()),
            400,
            "refunded once"
        );
        w.wechat.finish_refunds(RefundStatus::Closed);
        let report = w.sweep().await;
        assert_eq!(report.finished, 1);
        let held = w.order(&order).await;
        assert_eq!(held.refunded_fee, 0, "a closed refund releases its amount");
        assert_eq!(held.order_status, OrderStatus::Success);
    }

    #[tokio::test]
    async fn abnormal_refunds_end_the_sweep_and_show_on_the_order() {
        let w = world().await;
        let order = w.paid().await;
        w.refund(&order, &command(2999, "k")).await.unwrap();
        w.wechat.finish_refunds(RefundStatus::Abnormal);
        w.clock.advance(Duration::minutes(2));
        assert_eq!(w.sweep().await.finished, 1);
        assert_eq!(
            w.order(&order).await.order_status,
            OrderStatus::RefundAbnormal
        );
    }
}

mod late_payments {
    use super::*;
    use orders::LatePaymentPolicy;
    use orders::domain::{CloseReason, CloseRequest};
    use orders::ports::{OrderCloser, RefundReader};
    use orders::services::{SettleResult, sweep_refunds};
    use time::Duration;
    use wxpay::Clock;

    /// An order closed here (as a stale sweep might have), then paid at WeChat Pay.
    async fn paid_after_close(w: &World) -> (Order, wxpay::models::Transaction) {
        let order = place_prepaid(
            &w.store,
            &w.wechat,
            &*w.clock,
            &w.config,
            &w.notify_url,
            "2",
        )
        .await
        .unwrap();
        w.store
            .close_order(
                &order.order_no,
                &CloseRequest {
                    reason: CloseReason::Expired,
                    prepay_seen: order.prepay_started_at,
                    at: w.clock.now(),
                },
            )
            .await
            .unwrap();
        w.wechat.pay(order.order_no.as_str()).unwrap();
        let tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
        (order, tx)
    }

    #[tokio::test]
    async fn under_the_refund_policy_a_late_payment_is_refunded_once_in_full() {
        let mut w = world().await;
        w.config.late_payment_policy = LatePaymentPolicy::Refund;
        let (order, tx) = paid_after_close(&w).await;
        let settled = settle_transaction(&w.store, &*w.clock, &w.config, &tx)
            .await
            .unwrap();
        assert!(matches!(settled, SettleResult::SettledAfterClose(_)));
        // A redelivered notification reserves nothing more.
        settle_transaction(&w.store, &*w.clock, &w.config, &tx)
            .await
            .unwrap();
        let refunds = w.store.refunds_of(&order.order_no).await.unwrap();
        assert_eq!(refunds.len(), 1, "{refunds:?}");
        assert_eq!(refunds[0].origin, RefundOrigin::LatePayment);
        assert_eq!(refunds[0].amount, 2999);
        assert_eq!(
            refunds[0].reason.as_deref(),
            Some(orders::config::LATE_PAYMENT_REFUND_REASON)
        );
        assert_eq!(refunds[0].state, RefundState::Submitting);

        // The refund sweep sends it; WeChat Pay refunds it.
        w.clock.advance(Duration::minutes(2));
        let deadline = w.clock.now() + Duration::minutes(1);
        sweep_refunds(
            &w.store,
            &w.wechat,
            &*w.clock,
            &w.config,
            &w.notify_url,
            deadline,
        )
        .await
        .unwrap();
        assert_eq!(w.wechat.refunded_total(order.order_no.as_str()), 2999);
        let held = w.order(&order).await;
        assert!(held.paid_after_close);
        assert_eq!(held.order_status, OrderStatus::RefundProcessing);
    }

    #[tokio::test]
    async fn under_the_default_policy_a_late_payment_is_honoured() {
        let w = world().await;
        let (order, tx) = paid_after_close(&w).await;
        settle_transaction(&w.store, &*w.clock, &w.config, &tx)
            .await
            .unwrap();
        assert!(
            w.store
                .refunds_of(&order.order_no)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(w.order(&order).await.order_status, OrderStatus::Success);
    }
}
