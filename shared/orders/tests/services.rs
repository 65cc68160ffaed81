#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The services against the embedded store, an in-memory WeChat Pay and a fixed clock.

mod fake_wechat_pay;

use std::sync::Arc;

use fake_wechat_pay::FakeWeChatPay;
use orders::OrdersConfig;
use orders::domain::{BuyerHash, Order, OrderNo, OrderNoGenerator, OrderStatus, OsRandom, Product};
use orders::ports::{GatewayError, OrderReader, PaymentRecordReader, ProductCatalog};
use orders::services::settle::settle_queried_transaction;
use orders::services::{
    CancelError, CancelResult, Mismatch, PlaceOrderError, PlaceOrderRequest, ReconcileReport,
    SettleError, SettleResult, cancel_order, place_native_order, reconcile_pending,
    settle_transaction,
};
use orders::store::EmbeddedOrderStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wxpay::models::TradeState;
use wxpay::{Clock, FixedClock};

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

struct World {
    store: EmbeddedOrderStore,
    wechat: FakeWeChatPay,
    clock: Arc<FixedClock>,
    ids: OrderNoGenerator<OsRandom>,
    config: OrdersConfig,
}

fn buyer(n: u8) -> BuyerHash {
    BuyerHash::from_token(&format!("storefront-buyer-token-{n:03}")).unwrap()
}

async fn world() -> World {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let store = EmbeddedOrderStore::open(dir).await.unwrap();
    store
        .put_product(&Product::new("1", "Java 课程", 1).unwrap())
        .await
        .unwrap();
    store
        .put_product(&Product::new("2", "Rust 课程", 2999).unwrap())
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    World {
        store,
        wechat: FakeWeChatPay::new(Arc::clone(&clock)),
        clock,
        ids: OrderNoGenerator::new(OsRandom),
        config: OrdersConfig::new(
            "wxd678efh567hg6787",
            "1900007291",
            "https://shop.example/api/wx-pay/native/notify",
        ),
    }
}

fn request(product: &str, buyer: Option<BuyerHash>, key: Option<&str>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        product_id: product.into(),
        buyer,
        idempotency_key: key.map(str::to_owned),
    }
}

impl World {
    async fn place(
        &self,
        req: &PlaceOrderRequest,
    ) -> Result<orders::services::PlacedOrder, PlaceOrderError> {
        place_native_order(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.ids,
            &self.config,
            req,
        )
        .await
    }

    async fn placed(&self, product: &str, buyer: Option<BuyerHash>) -> Order {
        self.place(&request(product, buyer, None))
            .await
            .unwrap()
            .order
    }

    async fn stored(&self, order_no: &OrderNo) -> Order {
        self.store.get_order(order_no).await.unwrap().unwrap()
    }

    async fn notify(&self, order: &Order) -> Result<SettleResult, SettleError> {
        let tx = self.wechat.transaction(order.order_no.as_str()).unwrap();
        settle_transaction(&self.store, &*self.clock, &self.config, &tx).await
    }

    async fn cancel(&self, order: &Order, who: &BuyerHash) -> Result<CancelResult, CancelError> {
        cancel_order(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.config,
            &order.order_no,
            who,
        )
        .await
    }

    async fn sweep(&self, deadline: OffsetDateTime) -> ReconcileReport {
        reconcile_pending(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.config,
            deadline,
        )
        .await
        .unwrap()
    }
}

// ---- place_native_order ----

#[tokio::test]
async fn order_is_priced_from_catalog_and_prepaid_with_china_time_expiry() {
    let w = world().await;
    let placed = w.place(&request("2", Some(buyer(1)), None)).await.unwrap();
    let order = &placed.order;
    assert_eq!(order.total_fee, 2999);
    assert_eq!(order.title, "Rust 课程");
    assert_eq!(order.order_status, OrderStatus::Notpay);
    assert_eq!(order.expires_at, T0 + Duration::seconds(300));
    assert!(!placed.replayed);
    let prepay = w.wechat.last_prepay(order.order_no.as_str()).unwrap();
    assert_eq!(prepay.amount.total, 2999);
    assert_eq!(prepay.description, "Rust 课程");
    assert_eq!(
        prepay.time_expire.as_deref(),
        Some("2024-05-01T08:05:00+08:00")
    );
    assert_eq!(prepay.notify_url, w.config.notify_url);
    assert_eq!(
        (prepay.appid.as_str(), prepay.mchid.as_str()),
        ("wxd678efh567hg6787", "1900007291")
    );
    assert_eq!(w.stored(&order.order_no).await, placed.order);
    assert_eq!(order.code_url.as_deref(), Some(placed.code_url.as_str()));
}

#[tokio::test]
async fn unknown_product_is_refused_before_anything_is_written() {
    let w = world().await;
    let result = w.place(&request("404", None, None)).await;
    assert!(
        matches!(result, Err(PlaceOrderError::UnknownProduct)),
        "{result:?}"
    );
    assert_eq!(w.wechat.prepays(), 0);
}

#[tokio::test]
async fn prepay_timeout_leaves_a_notpay_order_without_link_that_the_sweep_closes() {
    let w = world().await;
    w.wechat.fail_prepays_with(Some(GatewayError::Timeout));
    let result = w.place(&request("1", Some(buyer(1)), None)).await;
    let Err(PlaceOrderError::PrepayTimeout { order_no }) = result else {
        panic!("expected PrepayTimeout, got {result:?}");
    };
    let order_no = OrderNo::parse(&order_no).unwrap();
    let stored = w.stored(&order_no).await;
    assert_eq!(
        (stored.order_status, stored.code_url.clone()),
        (OrderStatus::Notpay, None)
    );

    w.clock.advance(Duration::seconds(301));
    let report = w.sweep(w.clock.now() + Duration::minutes(1)).await;
    assert_eq!(report.closed_never_prepaid, 1, "{report:?}");
    assert_eq!(w.stored(&order_no).await.order_status, OrderStatus::Closed);
}

#[tokio::test]
async fn prepay_rejection_is_a_prepay_failure_with_the_code() {
    let w = world().await;
    let rejection = GatewayError::Rejected {
        status: 400,
        code: "PARAM_ERROR".into(),
        message: "bad".into(),
    };
    w.wechat.fail_prepays_with(Some(rejection.clone()));
    let result = w.place(&request("1", None, None)).await;
    assert!(
        matches!(&result, Err(PlaceOrderError::PrepayFailed { source, .. }) if *source == rejection),
        "{result:?}"
    );
}

#[tokio::test]
async fn same_idempotency_key_returns_the_same_order_without_a_second_prepay() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-123"));
    let first = w.place(&req).await.unwrap();
    w.clock.advance(Duration::seconds(3));
    let again = w.place(&req).await.unwrap();
    assert_eq!(again.order, first.order);
    assert!(again.replayed);
    assert_eq!(w.wechat.prepays(), 1);
    let other_buyer = w
        .place(&request("1", Some(buyer(2)), Some("key-123")))
        .await
        .unwrap();
    assert_ne!(
        other_buyer.order.order_no, first.order.order_no,
        "keys are scoped to the buyer"
    );
}

#[tokio::test]
async fn retry_with_same_key_after_prepay_timeout_prepays_the_same_order_again() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-retry"));
    w.wechat.fail_prepays_with(Some(GatewayError::Timeout));
    assert!(w.place(&req).await.is_err());
    w.wechat.fail_prepays_with(None);
    let retried = w.place(&req).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(
        w.stored(&retried.order.order_no).await.code_url,
        Some(retried.code_url)
    );
}

#[tokio::test]
async fn invalid_idempotency_key_is_refused() {
    let w = world().await;
    for key in ["", "has space", &"k".repeat(129)] {
        let result = w.place(&request("1", None, Some(key))).await;
        assert!(
            matches!(result, Err(PlaceOrderError::InvalidIdempotencyKey)),
            "{key:?}: {result:?}"
        );
    }
}

// ---- settle_transaction ----

#[tokio::test]
async fn notification_settles_once_and_a_duplicate_is_already_settled() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    let tx_id = w.wechat.pay(order.order_no.as_str());
    let first = w.notify(&order).await.unwrap();
    let SettleResult::Settled(settled) = first else {
        panic!("{first:?}")
    };
    assert_eq!(settled.transaction_id.as_deref(), Some(tx_id.as_str()));
    assert_eq!(
        settled.success_time,
        Some(datetime!(2024-05-01 00:02:03 UTC))
    );
    assert_eq!(
        settled.payer_openid.as_deref(),
        Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    );
    let again = w.notify(&order).await.unwrap();
    assert!(
        matches!(again, SettleResult::AlreadySettled(_)),
        "{again:?}"
    );
    let records = w.store.payment_records(&order.order_no).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].transaction,
        w.wechat.transaction(order.order_no.as_str()).unwrap()
    );
}

#[tokio::test]
async fn amount_mismatch_settles_nothing() {
    let w = world().await;
    let order = w.placed("2", None).await;
    w.wechat.pay_amount(order.order_no.as_str(), 1);
    let result = w.notify(&order).await;
    assert!(
        matches!(
            result,
            Err(SettleError::Mismatch(Mismatch::Amount {
                expected: 2999,
                got: Some(1)
            }))
        ),
        "{result:?}"
    );
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Notpay
    );
    assert!(
        w.store
            .payment_records(&order.order_no)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn foreign_merchant_or_app_settles_nothing() {
    let w = world().await;
    let order = w.placed("1", None).await;
    w.wechat.pay(order.order_no.as_str());
    let mut tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    tx.mchid = "1900000002".into();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx).await;
    assert!(
        matches!(result, Err(SettleError::Mismatch(Mismatch::Mchid { .. }))),
        "{result:?}"
    );
    let mut tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    tx.appid = "wx0000000000000000".into();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx).await;
    assert!(
        matches!(result, Err(SettleError::Mismatch(Mismatch::Appid { .. }))),
        "{result:?}"
    );
    let tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    let other = OrderNo::parse("someotherorder1").unwrap();
    let result = settle_queried_transaction(&w.store, &*w.clock, &w.config, &other, &tx).await;
    assert!(
        matches!(
            result,
            Err(SettleError::Mismatch(Mismatch::OutTradeNo { .. }))
        ),
        "{result:?}"
    );
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Notpay
    );
}

#[tokio::test]
async fn unpaid_or_unknown_transactions_settle_nothing() {
    let w = world().await;
    let order = w.placed("1", None).await;
    let unpaid = w.wechat.transaction(order.order_no.as_str()).unwrap();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &unpaid).await;
    assert!(
        matches!(result, Err(SettleError::NotPaid(ref s)) if s == "NOTPAY"),
        "{result:?}"
    );
    w.wechat.pay(order.order_no.as_str());
    let mut tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    tx.out_trade_no = "20240501000000000neverplaced".into();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx).await;
    assert!(
        matches!(result, Err(SettleError::UnknownOrder(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn payment_of_a_cancelled_order_is_an_alert_not_a_settle() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    w.wechat.pay(order.order_no.as_str());
    let tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    // The shop cancelled locally (e.g. the close raced the payment); then the payment arrives.
    use orders::ports::{CloseReason, OrderCloser};
    w.store
        .close_order(&order.order_no, CloseReason::CancelledByBuyer, T0)
        .await
        .unwrap();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx).await;
    assert!(
        matches!(result, Err(SettleError::NotPending(_))),
        "{result:?}"
    );
    let mut other = tx.clone();
    other.transaction_id = Some("4200000000000000000000000999".into());
    let paid = w.placed("1", None).await;
    w.wechat.pay(paid.order_no.as_str());
    w.notify(&paid).await.unwrap();
    let mut twice = w.wechat.transaction(paid.order_no.as_str()).unwrap();
    twice.transaction_id = other.transaction_id;
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &twice).await;
    assert!(
        matches!(result, Err(SettleError::Conflict(_))),
        "{result:?}"
    );
}

// ---- cancel_order ----

#[tokio::test]
async fn cancel_closes_at_wechat_pay_first_then_cancels() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    let result = w.cancel(&order, &buyer(1)).await.unwrap();
    let CancelResult::Cancelled(cancelled) = result else {
        panic!("{result:?}")
    };
    assert_eq!(cancelled.order_status, OrderStatus::Cancelled);
    assert_eq!(
        w.wechat.state_of(order.order_no.as_str()),
        Some(TradeState::Closed)
    );
    let again = w.cancel(&order, &buyer(1)).await.unwrap();
    assert!(
        matches!(again, CancelResult::AlreadyCancelled(_)),
        "{again:?}"
    );
}

#[tokio::test]
async fn cancel_of_an_order_paid_meanwhile_settles_it_instead() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    w.wechat.pay(order.order_no.as_str());
    let result = w.cancel(&order, &buyer(1)).await.unwrap();
    let CancelResult::Paid(paid) = result else {
        panic!("{result:?}")
    };
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Success
    );
    assert_eq!(
        w.store
            .payment_records(&order.order_no)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn only_the_buyer_who_placed_an_order_can_cancel_it() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    let result = w.cancel(&order, &buyer(2)).await;
    assert!(matches!(result, Err(CancelError::NotFound)), "{result:?}");
    let anonymous = w.placed("1", None).await;
    let result = w.cancel(&anonymous, &buyer(1)).await;
    assert!(matches!(result, Err(CancelError::NotFound)), "{result:?}");
    assert_eq!(w.wechat.closes(), 0);
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Notpay
    );
}

#[tokio::test]
async fn cancel_with_wechat_pay_down_changes_nothing() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    w.wechat.fail_closes_with(Some(GatewayError::Timeout));
    let result = w.cancel(&order, &buyer(1)).await;
    assert!(
        matches!(result, Err(CancelError::GatewayTimeout)),
        "{result:?}"
    );
    w.wechat
        .fail_closes_with(Some(GatewayError::Unavailable("503".into())));
    let result = w.cancel(&order, &buyer(1)).await;
    assert!(matches!(result, Err(CancelError::Gateway(_))), "{result:?}");
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Notpay
    );
}

// ---- reconcile_pending ----

#[tokio::test]
async fn sweep_settles_paid_closes_expired_and_leaves_the_rest() {
    let w = world().await;
    let paid = w.placed("2", None).await;
    let expired = w.placed("1", None).await;
    w.wechat.fail_prepays_with(Some(GatewayError::Timeout));
    let _ = w.place(&request("1", None, None)).await;
    w.wechat.fail_prepays_with(None);
    let broken = w.placed("1", None).await;
    let tampered = w.placed("2", None).await;
    w.clock.advance(Duration::seconds(240));
    let young_but_due = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(70));
    let too_young = w.placed("1", None).await;

    w.wechat.pay(paid.order_no.as_str());
    w.wechat.pay_amount(tampered.order_no.as_str(), 5);
    w.wechat.fail_queries_of(
        broken.order_no.as_str(),
        GatewayError::Unavailable("500".into()),
    );

    let report = w.sweep(w.clock.now() + Duration::minutes(1)).await;
    assert_eq!(
        report,
        ReconcileReport {
            examined: 6,
            settled: 1,
            closed: 1,
            closed_never_prepaid: 1,
            still_pending: 1,
            failed: 1,
            alerts: 1,
            ..ReconcileReport::default()
        }
    );
    assert_eq!(
        w.stored(&paid.order_no).await.order_status,
        OrderStatus::Success
    );
    assert_eq!(
        w.stored(&expired.order_no).await.order_status,
        OrderStatus::Closed
    );
    assert_eq!(
        w.wechat.state_of(expired.order_no.as_str()),
        Some(TradeState::Closed)
    );
    assert_eq!(
        w.stored(&broken.order_no).await.order_status,
        OrderStatus::Notpay
    );
    assert_eq!(
        w.stored(&tampered.order_no).await.order_status,
        OrderStatus::Notpay
    );
    assert_eq!(
        w.stored(&young_but_due.order_no).await.order_status,
        OrderStatus::Notpay
    );
    assert_eq!(
        w.stored(&too_young.order_no).await.order_status,
        OrderStatus::Notpay
    );
}

#[tokio::test]
async fn sweep_settles_an_expired_order_whose_close_says_paid() {
    let w = world().await;
    let order = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(400));
    // The query still sees NOTPAY; the shopper pays just before the close arrives.
    w.wechat.pay_during_close(order.order_no.as_str());
    let report = w.sweep(w.clock.now() + Duration::minutes(1)).await;
    assert_eq!((report.settled, report.closed), (1, 0), "{report:?}");
    assert_eq!(w.wechat.closes(), 1);
    assert_eq!(
        w.stored(&order.order_no).await.order_status,
        OrderStatus::Success
    );
    assert_eq!(
        w.store
            .payment_records(&order.order_no)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sweep_keeps_at_most_the_configured_queries_in_flight() {
    let mut w = world().await;
    w.config.reconcile_concurrency = 3;
    for _ in 0..24 {
        w.placed("1", None).await;
    }
    w.clock.advance(Duration::seconds(90));
    let report = w.sweep(w.clock.now() + Duration::minutes(1)).await;
    assert_eq!((report.examined, report.still_pending), (24, 24));
    assert_eq!(w.wechat.max_in_flight(), 3);
}

#[tokio::test]
async fn sweep_starts_no_work_after_its_deadline() {
    let mut w = world().await;
    w.config.reconcile_concurrency = 1;
    let mut placed = Vec::new();
    for _ in 0..12 {
        placed.push(w.placed("1", None).await);
    }
    w.clock.advance(Duration::seconds(400));
    for order in &placed {
        w.wechat.pay(order.order_no.as_str());
    }
    w.wechat.advance_clock_per_query(Duration::seconds(1));
    let report = w.sweep(w.clock.now() + Duration::seconds(5)).await;
    assert!(report.deadline_reached, "{report:?}");
    assert_eq!(report.settled, 5, "{report:?}");
    assert_eq!(w.wechat.queries(), 5);
    let mut pending = 0;
    for order in &placed {
        if w.stored(&order.order_no).await.order_status == OrderStatus::Notpay {
            pending += 1;
        }
    }
    assert_eq!(pending, 7, "left for the next run");
}

#[tokio::test]
async fn sweep_of_nothing_is_empty() {
    let w = world().await;
    let report = w.sweep(w.clock.now() + Duration::minutes(1)).await;
    assert_eq!(report, ReconcileReport::default());
}
