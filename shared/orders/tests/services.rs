#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The services against the embedded store (in memory), an in-memory WeChat Pay modelled on the
//! simulator, and a fixed clock.
//!
//! Timing: the services sleep on tokio time (`PREPAY_POLL` while another prepay is in flight, the
//! sweep's backoff after a throttle), while deadlines, leases and expiry follow the shared
//! [`FixedClock`], which only moves when a test (or the fake, per query) moves it. This crate does
//! not enable tokio's `test-util`, so the few tests that sleep do so in real time (well under a
//! second or two each).

use std::sync::Arc;
use wxpay::random::OsRandom;

use orders::adapters::EmbeddedOrderStore;
use orders::domain::{BuyerHash, Order, OrderNo, OrderNoGenerator, OrderStatus, Product};
use orders::ports::{
    CloseOutcome, CloseReason, CloseRequest, EvidenceRecorder, GatewayError, OrderCloser,
    OrderReader, PaymentRecordReader, ProductReader, ProductWriter, Reported,
};
use orders::services::settle::settle_queried_transaction;
use orders::services::sweep::{FIRST_BACKOFF, slowest_order};
use orders::services::{
    CancelError, CancelResult, CloseError, Mismatch, PlaceOrderError, PlaceOrderRequest,
    PlacedOrder, SettleError, SettleResult, SweepReport, cancel_order, place_native_order,
    settle_transaction, sweep_pending,
};
use orders::testing::{ClosePaidAnswer, CloseUnknownAnswer, FakeWeChatPay, PrepayTimeout};
use orders::{NotifyUrl, OrdersConfig};
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
    notify_url: NotifyUrl,
}

const NOTIFY_URL: &str = "https://shop.example/api/wx-pay/native/notify";

fn buyer(n: u8) -> BuyerHash {
    BuyerHash::from_token(&format!("storefront-buyer-token-{n:03}")).unwrap()
}

async fn world() -> World {
    let store = EmbeddedOrderStore::in_memory().unwrap();
    store
        .put_product(&Product::new("1", "Java 课程", 1).unwrap())
        .await
        .unwrap();
    store
        .put_product(&Product::new("2", "Rust 课程", 2999).unwrap())
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let config = OrdersConfig::new("wxd678efh567hg6787", "1900007291");
    // The timings every test below counts with: a 4 s prepay lease, the cutoff 64 s before expiry,
    // and 11 s for the slowest order of a sweep.
    assert_eq!(config.prepay_lease(), Duration::seconds(4));
    assert_eq!(
        config.prepay_cutoff(T0 + Duration::seconds(300)),
        T0 + Duration::seconds(236)
    );
    assert_eq!(slowest_order(&config), Duration::seconds(11));
    World {
        store,
        wechat: FakeWeChatPay::new(Arc::clone(&clock)),
        clock,
        ids: OrderNoGenerator::new(OsRandom),
        config,
        notify_url: NotifyUrl::parse(NOTIFY_URL).unwrap(),
    }
}

fn request(product: &str, buyer: Option<BuyerHash>, key: Option<&str>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        product_id: product.into(),
        buyer,
        idempotency_key: key.map(str::to_owned),
    }
}

/// The `PrepayTimeout` a placement is expected to end in, as the order number.
fn timed_out(result: Result<PlacedOrder, PlaceOrderError>) -> OrderNo {
    let Err(PlaceOrderError::PrepayTimeout { order_no }) = result else {
        panic!("expected PrepayTimeout, got {result:?}");
    };
    OrderNo::parse(&order_no).unwrap()
}

impl World {
    async fn place(&self, req: &PlaceOrderRequest) -> Result<PlacedOrder, PlaceOrderError> {
        place_native_order(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.ids,
            &self.config,
            &self.notify_url,
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

    async fn status(&self, order_no: &OrderNo) -> OrderStatus {
        self.stored(order_no).await.order_status
    }

    async fn records(&self, order_no: &OrderNo) -> usize {
        self.store.payment_records(order_no).await.unwrap().len()
    }

    async fn evidence(&self, out_trade_no: &str) -> Vec<orders::ports::Evidence> {
        self.store.evidence_for(out_trade_no).await.unwrap()
    }

    /// A `NOTPAY` order of product 1 created at `created_at`, written as `edit` leaves it, as
    /// another instance (or an earlier version) could have left it.
    async fn seed(&self, created_at: OffsetDateTime, edit: impl FnOnce(&mut Order)) -> Order {
        let product = self.store.get_product("1").await.unwrap().unwrap();
        let mut order = Order::new_pending(
            self.ids.generate(created_at).unwrap(),
            &product,
            None,
            created_at,
            self.config.order_ttl(),
        );
        edit(&mut order);
        self.store.seed_orders(vec![order.clone()]).await.unwrap();
        order
    }

    /// Closes the order here only, as a confirmed close would have (the payment then races in).
    async fn close_locally(&self, order: &Order, reason: CloseReason) -> Order {
        let request = CloseRequest {
            reason,
            prepay_seen: order.prepay_started_at,
            at: self.clock.now(),
        };
        match self
            .store
            .close_order(&order.order_no, &request)
            .await
            .unwrap()
        {
            CloseOutcome::Closed(closed) => closed,
            other => panic!("not closed: {other:?}"),
        }
    }

    async fn notify(&self, order: &Order) -> Result<SettleResult, SettleError> {
        let tx = self.wechat.transaction(order.order_no.as_str()).unwrap();
        settle_transaction(&self.store, &*self.clock, &self.config, &tx).await
    }

    async fn cancel(
        &self,
        order_no: &OrderNo,
        who: &BuyerHash,
    ) -> Result<CancelResult, CancelError> {
        cancel_order(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.config,
            order_no,
            who,
        )
        .await
    }

    async fn sweep(&self, deadline: OffsetDateTime) -> SweepReport {
        sweep_pending(
            &self.store,
            &self.wechat,
            &*self.clock,
            &self.config,
            deadline,
        )
        .await
        .unwrap()
    }

    /// A sweep with time to spare.
    async fn sweep_now(&self) -> SweepReport {
        self.sweep(self.clock.now() + Duration::minutes(1)).await
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
    assert_eq!(prepay.time_expire, Some(T0 + Duration::seconds(300)));
    assert_eq!(
        serde_json::to_value(&prepay).unwrap()["time_expire"],
        "2024-05-01T08:05:00+08:00"
    );
    assert_eq!(prepay.notify_url, NOTIFY_URL);
    assert_eq!(
        (prepay.appid.as_str(), prepay.mchid.as_str()),
        ("wxd678efh567hg6787", "1900007291")
    );
    assert_eq!(w.stored(&order.order_no).await, placed.order);
    assert_eq!(order.code_url.as_deref(), Some(placed.code_url.as_str()));
    assert_eq!(
        w.wechat.current_code_url(order.order_no.as_str()),
        Some(placed.code_url.clone())
    );
    assert_eq!(order.prepay_started_at, Some(T0));
    assert_eq!(
        order.prepay_lease_until, None,
        "the answer releases the claim"
    );
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
    let order_no = timed_out(w.place(&request("1", Some(buyer(1)), None)).await);
    let stored = w.stored(&order_no).await;
    assert_eq!(
        (stored.order_status, stored.code_url.clone()),
        (OrderStatus::Notpay, None)
    );
    assert_eq!(
        stored.prepay_lease_until,
        Some(T0 + w.config.prepay_lease()),
        "the claim holds until the prepay can no longer land"
    );

    w.clock.advance(Duration::seconds(301));
    let report = w.sweep_now().await;
    assert_eq!(report.closed_never_prepaid, 1, "{report:?}");
    assert_eq!(w.status(&order_no).await, OrderStatus::Closed);
}

#[tokio::test]
async fn prepay_rejection_is_a_prepay_failure_with_the_code_and_releases_the_claim() {
    let w = world().await;
    let rejection = GatewayError::Rejected {
        status: 400,
        code: "PARAM_ERROR".into(),
        message: "bad".into(),
    };
    w.wechat.fail_prepays_with(Some(rejection.clone()));
    let result = w.place(&request("1", None, None)).await;
    let Err(PlaceOrderError::PrepayFailed { order_no, source }) = result else {
        panic!("{result:?}");
    };
    assert_eq!(source, rejection);
    let stored = w.stored(&OrderNo::parse(&order_no).unwrap()).await;
    assert_eq!(stored.prepay_lease_until, None);
    assert_eq!(stored.code_url, None);
}

#[tokio::test]
async fn same_idempotency_key_returns_the_same_order_without_a_second_prepay() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-123"));
    let first = w.place(&req).await.unwrap();
    w.clock.advance(Duration::seconds(3));
    let again = w.place(&req).await.unwrap();
    assert_eq!(again.order, first.order);
    assert_eq!(again.code_url, first.code_url);
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
    let order_no = timed_out(w.place(&req).await);
    w.wechat.fail_prepays_with(None);
    w.clock.advance(w.config.prepay_lease());
    let retried = w.place(&req).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.order.order_no, order_no);
    assert_eq!(w.wechat.prepays(), 2);
    assert_eq!(
        w.stored(&order_no).await.code_url,
        Some(retried.code_url.clone())
    );
    assert_eq!(
        w.wechat.current_code_url(order_no.as_str()),
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

/// Before: each replay of an order without a link prepaid it, so concurrent replays each sent a
/// prepay, each re-prepay made WeChat Pay retire the previous link, and each replay returned (and
/// stored) its own link: at most one of them could still be paid.
#[tokio::test]
async fn concurrent_replays_after_a_timed_out_prepay_send_one_prepay_and_show_the_current_code_url()
{
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-join"));
    w.wechat.time_out_prepays(Some(PrepayTimeout::AnswerLost));
    let order_no = timed_out(w.place(&req).await);
    w.wechat.time_out_prepays(None);
    let lost_code = w.wechat.current_code_url(order_no.as_str()).unwrap();
    w.clock.advance(w.config.prepay_lease());
    w.wechat.delay_prepays(std::time::Duration::from_millis(50));

    let (a, b) = tokio::join!(w.place(&req), w.place(&req));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(w.wechat.prepays(), 2, "the timed-out one and one replay");
    assert_eq!(a.code_url, b.code_url);
    let current = w.wechat.current_code_url(order_no.as_str()).unwrap();
    assert_eq!(a.code_url, current, "the link shown can be paid");
    assert_ne!(current, lost_code);
    assert_eq!(w.stored(&order_no).await.code_url, Some(current));
    assert!(a.replayed && b.replayed);
}

/// Before: a replay prepaid at once, while the timed-out prepay could still land and replace the
/// link it returned.
#[tokio::test]
async fn replay_during_the_lease_of_a_timed_out_prepay_waits_for_it_then_prepays_once() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-wait"));
    w.wechat.time_out_prepays(Some(PrepayTimeout::LandsLate));
    let order_no = timed_out(w.place(&req).await);
    w.wechat.time_out_prepays(None);
    let lease_until = w.stored(&order_no).await.prepay_lease_until.unwrap();

    let (replay, ()) = tokio::join!(w.place(&req), async {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        // The timed-out prepay lands within its lease; then the lease runs out.
        w.wechat.land_late_prepays();
        w.clock.advance(w.config.prepay_lease());
    });
    let replay = replay.unwrap();
    let log = w.wechat.prepay_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].at, T0, "the late landing");
    assert!(
        log[1].at >= lease_until,
        "the replay prepaid at {} within the lease (until {lease_until})",
        log[1].at
    );
    assert_eq!(
        w.wechat.current_code_url(order_no.as_str()),
        Some(replay.code_url.clone())
    );
    assert_eq!(w.stored(&order_no).await.code_url, Some(replay.code_url));
}

/// Before: the first request stored and returned its own link after a later prepay had replaced
/// it at WeChat Pay.
#[tokio::test]
async fn a_prepay_answered_after_a_later_claim_shows_the_later_code_url() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-slow"));
    w.wechat
        .delay_prepays(std::time::Duration::from_millis(200));
    let (first, second) = tokio::join!(w.place(&req), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // The first prepay outlives its lease; a replay claims the order again.
        w.clock
            .advance(w.config.prepay_lease() + Duration::seconds(1));
        w.place(&req).await
    });
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(w.wechat.prepays(), 2);
    let current = w.wechat.current_code_url(first.order.order_no.as_str());
    assert_eq!(Some(first.code_url.clone()), current);
    assert_eq!(Some(second.code_url), current);
    assert_eq!(w.stored(&first.order.order_no).await.code_url, current);
}

/// Before: any replayed order with a link returned the link, whatever its state.
#[tokio::test]
async fn replay_of_a_cancelled_or_paid_order_is_not_payable_even_though_it_has_a_code_url() {
    let w = world().await;
    let cancelled = request("1", Some(buyer(1)), Some("key-cancelled"));
    let placed = w.place(&cancelled).await.unwrap();
    let result = w.cancel(&placed.order.order_no, &buyer(1)).await.unwrap();
    assert!(matches!(result, CancelResult::Cancelled(_)), "{result:?}");
    assert!(w.stored(&placed.order.order_no).await.code_url.is_some());
    let again = w.place(&cancelled).await;
    assert!(
        matches!(
            again,
            Err(PlaceOrderError::NotPayable(OrderStatus::Cancelled))
        ),
        "{again:?}"
    );

    let paid = request("1", Some(buyer(1)), Some("key-paid"));
    let placed = w.place(&paid).await.unwrap();
    w.wechat.pay(placed.order.order_no.as_str()).unwrap();
    w.notify(&placed.order).await.unwrap();
    let again = w.place(&paid).await;
    assert!(
        matches!(
            again,
            Err(PlaceOrderError::NotPayable(OrderStatus::Success))
        ),
        "{again:?}"
    );
    assert_eq!(w.wechat.prepays(), 2, "no replay prepaid");
}

/// Before: the expired order's link was returned, though it can no longer be paid.
#[tokio::test]
async fn replay_of_an_expired_order_is_expired_and_shows_no_code_url() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-expired"));
    let placed = w.place(&req).await.unwrap();
    w.clock.advance(Duration::seconds(300));
    let again = w.place(&req).await;
    assert!(matches!(again, Err(PlaceOrderError::Expired)), "{again:?}");
    assert_eq!(w.status(&placed.order.order_no).await, OrderStatus::Notpay);
    assert_eq!(w.wechat.prepays(), 1);
}

/// Before: a replay prepaid any unexpired order without a link; one sent this late could land
/// less than a minute before `time_expire`, and WeChat Pay would push the expiry past ours.
#[tokio::test]
async fn replay_after_the_prepay_cutoff_sends_no_prepay() {
    let w = world().await;
    let req = request("1", Some(buyer(1)), Some("key-late"));
    w.wechat
        .fail_prepays_with(Some(GatewayError::Unavailable("503".into())));
    let result = w.place(&req).await;
    assert!(
        matches!(result, Err(PlaceOrderError::PrepayFailed { .. })),
        "{result:?}"
    );
    w.wechat.fail_prepays_with(None);
    w.clock.advance(Duration::seconds(237));
    let again = w.place(&req).await;
    assert!(matches!(again, Err(PlaceOrderError::Expired)), "{again:?}");
    assert_eq!(w.wechat.prepays(), 1, "no prepay after the cutoff");
    assert!(w.wechat.prepay_log().is_empty());
}

// ---- settle_transaction ----

#[tokio::test]
async fn notification_settles_once_and_a_duplicate_is_already_settled() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    let tx_id = w.wechat.pay(order.order_no.as_str()).unwrap();
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
    assert!(!settled.paid_after_close);
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

/// A genuine transaction is never refused for an odd `success_time`: the order settles without
/// one, and the payment record keeps the value as WeChat Pay sent it.
#[tokio::test]
async fn a_transaction_with_a_malformed_success_time_still_settles() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    let tx_id = w.wechat.pay(order.order_no.as_str()).unwrap();
    let mut json =
        serde_json::to_value(w.wechat.transaction(order.order_no.as_str()).unwrap()).unwrap();
    json["success_time"] = "2024-05-01 08:02:03".into();
    let tx: wxpay::models::Transaction = serde_json::from_value(json).unwrap();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx)
        .await
        .unwrap();
    let SettleResult::Settled(settled) = result else {
        panic!("{result:?}")
    };
    assert_eq!(settled.transaction_id.as_deref(), Some(tx_id.as_str()));
    assert_eq!(settled.order_status, OrderStatus::Success);
    assert_eq!(settled.success_time, None);
    let records = w.store.payment_records(&order.order_no).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].transaction, tx);
    assert_eq!(
        records[0].transaction.unparsed_success_time(),
        Some(&serde_json::Value::from("2024-05-01 08:02:03"))
    );
}

/// Before: nothing was kept of a genuine transaction that was refused.
#[tokio::test]
async fn amount_mismatch_settles_nothing_and_keeps_the_evidence() {
    let w = world().await;
    let order = w.placed("2", None).await;
    let tx_id = w.wechat.pay_amount(order.order_no.as_str(), 1).unwrap();
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
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
    assert_eq!(w.records(&order.order_no).await, 0);
    let evidence = w.evidence(order.order_no.as_str()).await;
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0].transaction_id, tx_id);
    assert_eq!(
        evidence[0].reported,
        Reported::Transaction(w.wechat.transaction(order.order_no.as_str()).unwrap())
    );
    assert!(evidence[0].reason.contains("amount"), "{evidence:?}");
    // A redelivery keeps one piece of evidence.
    assert!(w.notify(&order).await.is_err());
    assert_eq!(w.evidence(order.order_no.as_str()).await.len(), 1);
}

#[tokio::test]
async fn foreign_merchant_app_or_order_settles_nothing_and_keeps_the_evidence() {
    let w = world().await;
    let order = w.placed("1", None).await;
    w.wechat.pay(order.order_no.as_str()).unwrap();
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
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
    assert_eq!(w.records(&order.order_no).await, 0);
    assert_eq!(w.evidence(order.order_no.as_str()).await.len(), 3);
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
    assert!(w.evidence(order.order_no.as_str()).await.is_empty());
    w.wechat.pay(order.order_no.as_str()).unwrap();
    let mut tx = w.wechat.transaction(order.order_no.as_str()).unwrap();
    tx.out_trade_no = "20240501000000000neverplaced".into();
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &tx).await;
    assert!(
        matches!(result, Err(SettleError::UnknownOrder(_))),
        "{result:?}"
    );
    let evidence = w.evidence("20240501000000000neverplaced").await;
    assert_eq!(evidence.len(), 1, "an unknown order's payment is kept");
    assert_eq!(evidence[0].reported, Reported::Transaction(tx));
}

/// Before: `Err(NotPending)`: the payment WeChat Pay holds was recorded nowhere.
#[tokio::test]
async fn notification_for_a_cancelled_order_settles_it_after_close() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    let tx_id = w.wechat.pay(order.order_no.as_str()).unwrap();
    w.close_locally(&order, CloseReason::CancelledByBuyer).await;
    w.clock.advance(Duration::seconds(10));
    let result = w.notify(&order).await.unwrap();
    let SettleResult::SettledAfterClose(paid) = result else {
        panic!("{result:?}");
    };
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert!(paid.paid_after_close);
    assert_eq!(paid.transaction_id.as_deref(), Some(tx_id.as_str()));
    assert_eq!(w.stored(&order.order_no).await, paid);
    let records = w.store.payment_records(&order.order_no).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].transaction_id, tx_id);
    let again = w.notify(&order).await.unwrap();
    assert!(
        matches!(again, SettleResult::AlreadySettled(_)),
        "{again:?}"
    );
    assert_eq!(w.records(&order.order_no).await, 1);
}

/// Before: `Err(NotPending)`, as for a cancelled order.
#[tokio::test]
async fn notification_for_a_closed_order_settles_it_after_close() {
    let w = world().await;
    let order = w.placed("1", None).await;
    let tx_id = w.wechat.pay(order.order_no.as_str()).unwrap();
    w.clock.advance(Duration::seconds(340));
    w.close_locally(&order, CloseReason::Expired).await;
    let result = w.notify(&order).await.unwrap();
    let SettleResult::SettledAfterClose(paid) = result else {
        panic!("{result:?}");
    };
    assert_eq!(
        (paid.order_status, paid.paid_after_close),
        (OrderStatus::Success, true)
    );
    assert_eq!(paid.transaction_id.as_deref(), Some(tx_id.as_str()));
    assert_eq!(w.records(&order.order_no).await, 1);
}

/// Before: `Err(Conflict)` and the second payment's record was not kept.
#[tokio::test]
async fn a_second_transaction_for_a_settled_order_is_a_double_payment_whose_record_is_kept() {
    let w = world().await;
    let order = w.placed("1", None).await;
    let first_id = w.wechat.pay(order.order_no.as_str()).unwrap();
    w.notify(&order).await.unwrap();
    let mut twice = w.wechat.transaction(order.order_no.as_str()).unwrap();
    twice.transaction_id = Some("4200000000000000000000000999".into());
    let result = settle_transaction(&w.store, &*w.clock, &w.config, &twice).await;
    let Ok(SettleResult::DoublePayment(kept)) = result else {
        panic!("{result:?}");
    };
    assert_eq!(kept.transaction_id.as_deref(), Some(first_id.as_str()));
    assert_eq!(w.stored(&order.order_no).await, kept);
    let mut ids: Vec<String> = w
        .store
        .payment_records(&order.order_no)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.transaction_id)
        .collect();
    let mut expected = [first_id, "4200000000000000000000000999".to_owned()];
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
}

// ---- cancel_order ----

#[tokio::test]
async fn cancel_closes_at_wechat_pay_first_then_cancels() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    let result = w.cancel(&order.order_no, &buyer(1)).await.unwrap();
    let CancelResult::Cancelled(cancelled) = result else {
        panic!("{result:?}")
    };
    assert_eq!(cancelled.order_status, OrderStatus::Cancelled);
    assert_eq!(
        w.wechat.state_of(order.order_no.as_str()),
        Some(TradeState::Closed)
    );
    let again = w.cancel(&order.order_no, &buyer(1)).await.unwrap();
    assert!(
        matches!(again, CancelResult::AlreadyCancelled(_)),
        "{again:?}"
    );
}

#[tokio::test]
async fn cancel_of_an_order_paid_meanwhile_settles_it_instead() {
    let w = world().await;
    let order = w.placed("2", Some(buyer(1))).await;
    w.wechat.pay(order.order_no.as_str()).unwrap();
    let result = w.cancel(&order.order_no, &buyer(1)).await.unwrap();
    let CancelResult::Paid(paid) = result else {
        panic!("{result:?}")
    };
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Success);
    assert_eq!(w.records(&order.order_no).await, 1);
}

/// Before: a 204 to the close was taken as closed, and the paid order was cancelled here.
#[tokio::test]
async fn cancel_of_a_paid_order_whose_close_answers_ok_settles_it() {
    let w = world().await;
    w.wechat.answer_close_of_paid(ClosePaidAnswer::NoContent);
    let order = w.placed("2", Some(buyer(1))).await;
    let tx_id = w.wechat.pay(order.order_no.as_str()).unwrap();
    let result = w.cancel(&order.order_no, &buyer(1)).await.unwrap();
    let CancelResult::Paid(paid) = result else {
        panic!("{result:?}")
    };
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert_eq!(paid.transaction_id.as_deref(), Some(tx_id.as_str()));
    assert!(!paid.paid_after_close);
    assert_eq!(w.stored(&order.order_no).await, paid);
    assert_eq!(w.records(&order.order_no).await, 1);
    assert_eq!(
        w.wechat.state_of(order.order_no.as_str()),
        Some(TradeState::Success)
    );
}

/// Before: `ORDER_CLOSED` / `ORDER_NOT_EXIST` to the close cancelled the order here although WeChat
/// Pay could still take its payment.
#[tokio::test]
async fn cancel_is_not_confirmed_by_a_close_answer_alone() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    for answer in [
        GatewayError::OrderClosed,
        GatewayError::OrderNotFound,
        GatewayError::OrderPaid,
        GatewayError::Rejected {
            status: 400,
            code: "INVALID_REQUEST".into(),
            message: "m".into(),
        },
    ] {
        w.wechat.fail_closes_with(Some(answer.clone()));
        let result = w.cancel(&order.order_no, &buyer(1)).await;
        assert!(
            matches!(result, Err(CancelError::Close(CloseError::StillPayable(_)))),
            "{answer:?}: {result:?}"
        );
        assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
    }
    assert_eq!(
        w.wechat.state_of(order.order_no.as_str()),
        Some(TradeState::Notpay),
        "WeChat Pay can still take the payment"
    );
    assert_eq!(w.wechat.queries(), 4, "every close answer was checked");
}

/// Before: an unknown order (404, or a 204 to the close) was cancelled here at once, though the
/// prepay that timed out could still land and leave a payable order at WeChat Pay.
#[tokio::test]
async fn cancel_while_a_prepay_may_still_land_is_refused_whatever_the_close_answers() {
    for answer in [CloseUnknownAnswer::NotFound, CloseUnknownAnswer::NoContent] {
        let w = world().await;
        w.wechat.answer_close_of_unknown(answer);
        w.wechat.time_out_prepays(Some(PrepayTimeout::LandsLate));
        let order_no = timed_out(w.place(&request("1", Some(buyer(1)), None)).await);
        w.wechat.time_out_prepays(None);
        let result = w.cancel(&order_no, &buyer(1)).await;
        assert!(
            matches!(result, Err(CancelError::Close(CloseError::StillPayable(_)))),
            "{answer:?}: {result:?}"
        );
        assert_eq!(w.status(&order_no).await, OrderStatus::Notpay);

        // The prepay lands: WeChat Pay now holds a payable order, which the next cancel closes.
        w.wechat.land_late_prepays();
        assert_eq!(
            w.wechat.state_of(order_no.as_str()),
            Some(TradeState::Notpay)
        );
        w.clock.advance(w.config.prepay_lease());
        let result = w.cancel(&order_no, &buyer(1)).await.unwrap();
        assert!(matches!(result, CancelResult::Cancelled(_)), "{result:?}");
        assert_eq!(
            w.wechat.state_of(order_no.as_str()),
            Some(TradeState::Closed)
        );

        // A prepay that never landed: once its lease is over, the query decides (unknown, no link).
        w.wechat.fail_prepays_with(Some(GatewayError::Timeout));
        let never = timed_out(w.place(&request("1", Some(buyer(1)), None)).await);
        w.wechat.fail_prepays_with(None);
        w.clock.advance(w.config.prepay_lease());
        let result = w.cancel(&never, &buyer(1)).await.unwrap();
        assert!(matches!(result, CancelResult::Cancelled(_)), "{result:?}");
        assert_eq!(w.wechat.state_of(never.as_str()), None);
    }
}

#[tokio::test]
async fn only_the_buyer_who_placed_an_order_can_cancel_it() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    let result = w.cancel(&order.order_no, &buyer(2)).await;
    assert!(matches!(result, Err(CancelError::NotFound)), "{result:?}");
    let anonymous = w.placed("1", None).await;
    let result = w.cancel(&anonymous.order_no, &buyer(1)).await;
    assert!(matches!(result, Err(CancelError::NotFound)), "{result:?}");
    assert_eq!(w.wechat.closes(), 0);
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
}

#[tokio::test]
async fn cancel_with_wechat_pay_down_changes_nothing() {
    let w = world().await;
    let order = w.placed("1", Some(buyer(1))).await;
    w.wechat.fail_closes_with(Some(GatewayError::Timeout));
    let result = w.cancel(&order.order_no, &buyer(1)).await;
    assert!(
        matches!(result, Err(CancelError::GatewayTimeout)),
        "{result:?}"
    );
    w.wechat
        .fail_closes_with(Some(GatewayError::Unavailable("503".into())));
    let result = w.cancel(&order.order_no, &buyer(1)).await;
    assert!(
        matches!(
            result,
            Err(CancelError::Close(CloseError::Gateway(
                GatewayError::Unavailable(_)
            )))
        ),
        "{result:?}"
    );
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);

    // Closed at WeChat Pay, but the confirming query times out: still nothing here, until a retry.
    w.wechat.fail_closes_with(None);
    w.wechat
        .fail_queries_of(order.order_no.as_str(), GatewayError::Timeout);
    let result = w.cancel(&order.order_no, &buyer(1)).await;
    assert!(
        matches!(result, Err(CancelError::GatewayTimeout)),
        "{result:?}"
    );
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
    w.wechat.heal_queries_of(order.order_no.as_str());
    let result = w.cancel(&order.order_no, &buyer(1)).await.unwrap();
    assert!(matches!(result, CancelResult::Cancelled(_)), "{result:?}");
}

// ---- sweep_pending ----

#[tokio::test]
async fn sweep_settles_paid_closes_expired_and_leaves_the_rest() {
    let w = world().await;
    let paid = w.placed("2", None).await;
    let expired = w.placed("1", None).await;
    w.wechat.fail_prepays_with(Some(GatewayError::Timeout));
    let never_prepaid = timed_out(w.place(&request("1", None, None)).await);
    w.wechat.fail_prepays_with(None);
    let broken = w.placed("1", None).await;
    let tampered = w.placed("2", None).await;
    w.clock.advance(Duration::seconds(240));
    let young_but_due = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(70));
    let too_young = w.placed("1", None).await;

    w.wechat.pay(paid.order_no.as_str()).unwrap();
    w.wechat.pay_amount(tampered.order_no.as_str(), 5).unwrap();
    w.wechat.fail_queries_of(
        broken.order_no.as_str(),
        GatewayError::Unavailable("500".into()),
    );

    let report = w.sweep_now().await;
    assert_eq!(
        report,
        SweepReport {
            listed: 6,
            examined: 6,
            settled: 1,
            closed: 1,
            closed_never_prepaid: 1,
            still_pending: 1,
            failed: 1,
            alerts: 1,
            oldest_pending_secs: 310,
            ..SweepReport::default()
        }
    );
    assert_eq!(w.status(&paid.order_no).await, OrderStatus::Success);
    assert_eq!(w.status(&expired.order_no).await, OrderStatus::Closed);
    assert_eq!(
        w.wechat.state_of(expired.order_no.as_str()),
        Some(TradeState::Closed)
    );
    assert_eq!(w.status(&never_prepaid).await, OrderStatus::Closed);
    for (pending, failures) in [
        (&broken, 1),
        (&tampered, 1),
        (&young_but_due, 0),
        (&too_young, 0),
    ] {
        let stored = w.stored(&pending.order_no).await;
        assert_eq!(
            (stored.order_status, stored.sweep_failures),
            (OrderStatus::Notpay, failures)
        );
    }
    assert_eq!(w.evidence(tampered.order_no.as_str()).await.len(), 1);
}

#[tokio::test]
async fn sweep_settles_an_expired_order_whose_close_says_paid() {
    let w = world().await;
    let order = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(400));
    // The shopper pays just before the close arrives.
    w.wechat.pay_during_close(order.order_no.as_str());
    let report = w.sweep_now().await;
    assert_eq!((report.settled, report.closed), (1, 0), "{report:?}");
    assert_eq!(w.wechat.closes(), 1);
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Success);
    assert_eq!(w.records(&order.order_no).await, 1);
}

/// Before: the sweep queried first (`NOTPAY`), closed, took the 204 as closed and closed the order
/// here: WeChat Pay held the money of a `CLOSED` order.
#[tokio::test]
async fn sweep_settles_an_expired_order_paid_before_a_close_that_answers_ok() {
    let w = world().await;
    w.wechat.answer_close_of_paid(ClosePaidAnswer::NoContent);
    let order = w.placed("2", None).await;
    w.clock.advance(Duration::seconds(400));
    w.wechat.pay_during_close(order.order_no.as_str());
    let report = w.sweep_now().await;
    assert_eq!((report.settled, report.closed), (1, 0), "{report:?}");
    let stored = w.stored(&order.order_no).await;
    assert_eq!(stored.order_status, OrderStatus::Success);
    assert!(!stored.paid_after_close);
    assert_eq!(w.records(&order.order_no).await, 1);
    assert_eq!(
        w.wechat.state_of(order.order_no.as_str()),
        Some(TradeState::Success)
    );
}

/// Before: any expired order unknown at WeChat Pay was closed here (`closed_never_prepaid`), even
/// with a prepay still in flight that could land and be paid.
#[tokio::test]
async fn sweep_does_not_close_an_unknown_order_whose_prepay_lease_is_in_flight() {
    for answer in [CloseUnknownAnswer::NotFound, CloseUnknownAnswer::NoContent] {
        let w = world().await;
        w.wechat.answer_close_of_unknown(answer);
        let now = T0 + Duration::seconds(400);
        // An order whose lease outlives its expiry (claimed by an instance whose clock lagged),
        // and one whose prepay timed out long ago.
        let in_flight = w
            .seed(T0, |o| {
                o.prepay_started_at = Some(now - Duration::seconds(2));
                o.prepay_lease_until = Some(now + Duration::seconds(2));
            })
            .await;
        let never_prepaid = w
            .seed(T0, |o| {
                o.prepay_started_at = Some(T0);
                o.prepay_lease_until = Some(T0 + Duration::seconds(4));
            })
            .await;
        w.clock.set(now);
        let report = w.sweep_now().await;
        assert_eq!(
            report,
            SweepReport {
                listed: 2,
                examined: 2,
                closed_never_prepaid: 1,
                still_pending: 1,
                stale_pending: 1,
                oldest_pending_secs: 400,
                ..SweepReport::default()
            },
            "{answer:?}"
        );
        assert_eq!(w.status(&in_flight.order_no).await, OrderStatus::Notpay);
        assert_eq!(w.status(&never_prepaid.order_no).await, OrderStatus::Closed);

        // Its lease over, the prepay has landed or never will: unknown now means never prepaid.
        w.clock.advance(Duration::seconds(3));
        let report = w.sweep_now().await;
        assert_eq!(report.closed_never_prepaid, 1, "{answer:?}: {report:?}");
        assert_eq!(w.status(&in_flight.order_no).await, OrderStatus::Closed);
    }
}

/// Before: an expired order unknown at WeChat Pay was closed here even though WeChat Pay had issued
/// its `code_url` (so the unknown answer cannot be trusted).
#[tokio::test]
async fn sweep_leaves_an_order_with_a_code_url_that_wechat_pay_does_not_know_pending_as_an_alert() {
    for answer in [CloseUnknownAnswer::NotFound, CloseUnknownAnswer::NoContent] {
        let w = world().await;
        w.wechat.answer_close_of_unknown(answer);
        let order = w
            .seed(T0, |o| {
                o.code_url = Some("weixin://wxpay/bizpayurl?pr=issued".into());
                o.prepay_started_at = Some(T0);
            })
            .await;
        w.clock.advance(Duration::seconds(400));
        let report = w.sweep_now().await;
        assert_eq!(
            report,
            SweepReport {
                listed: 1,
                examined: 1,
                alerts: 1,
                stale_pending: 1,
                oldest_pending_secs: 400,
                ..SweepReport::default()
            },
            "{answer:?}"
        );
        let stored = w.stored(&order.order_no).await;
        assert_eq!(
            (stored.order_status, stored.sweep_failures),
            (OrderStatus::Notpay, 1)
        );
    }
}

/// Before: a `NOTPAY` expired order whose close was refused stayed pending for ever (`failed`).
#[tokio::test]
async fn sweep_closes_an_order_wechat_pay_still_shows_notpay_only_past_the_clock_skew_allowance() {
    let w = world().await;
    let order = w.placed("1", None).await;
    w.wechat.fail_closes_with(Some(GatewayError::Rejected {
        status: 400,
        code: "INVALID_REQUEST".into(),
        message: "m".into(),
    }));
    w.clock.advance(Duration::seconds(330));
    let report = w.sweep_now().await;
    assert_eq!((report.still_pending, report.closed), (1, 0), "{report:?}");
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Notpay);
    w.clock.advance(Duration::milliseconds(1));
    let report = w.sweep_now().await;
    assert_eq!((report.still_pending, report.closed), (0, 1), "{report:?}");
    assert_eq!(w.status(&order.order_no).await, OrderStatus::Closed);
}

#[tokio::test]
async fn sweep_keeps_at_most_the_configured_queries_in_flight() {
    let mut w = world().await;
    w.config.sweep_concurrency = 3;
    for _ in 0..24 {
        w.placed("1", None).await;
    }
    w.clock.advance(Duration::seconds(90));
    let report = w.sweep_now().await;
    assert_eq!(
        (report.listed, report.examined, report.still_pending),
        (24, 24, 24)
    );
    assert_eq!(w.wechat.max_in_flight(), 3);
}

/// Before: orders were started until the deadline itself, so the last ones could run past it, and
/// the orders left were not counted.
#[tokio::test]
async fn sweep_starts_no_order_later_than_its_slowest_order_before_the_deadline() {
    let mut w = world().await;
    w.config.sweep_concurrency = 1;
    let mut placed = Vec::new();
    for _ in 0..12 {
        let order = w.placed("1", None).await;
        w.wechat.pay(order.order_no.as_str()).unwrap();
        placed.push(order);
    }
    w.clock.advance(Duration::seconds(400));
    w.wechat.advance_clock_per_query(Duration::seconds(1));
    let deadline = w.clock.now() + slowest_order(&w.config) + Duration::seconds(5);
    let report = w.sweep(deadline).await;
    assert_eq!(
        report,
        SweepReport {
            listed: 12,
            examined: 5,
            settled: 5,
            stale_pending: 7,
            deadline_reached: true,
            oldest_pending_secs: 400,
            ..SweepReport::default()
        }
    );
    assert_eq!(w.wechat.queries(), 5);
    let mut pending = 0;
    for order in &placed {
        if w.status(&order.order_no).await == OrderStatus::Notpay {
            pending += 1;
        }
    }
    assert_eq!(pending, 7, "left for the next run");
}

/// Before: orders were served in the pending index's order (oldest first) whatever happened to
/// them before, so a backlog of failing orders was re-queried ahead of everything at every run.
#[tokio::test]
async fn sweep_serves_orders_that_failed_before_after_the_others() {
    let mut w = world().await;
    w.config.sweep_concurrency = 1;
    let mut failing = Vec::new();
    for _ in 0..3 {
        let order = w.placed("1", None).await;
        w.wechat.fail_queries_of(
            order.order_no.as_str(),
            GatewayError::Unavailable("500".into()),
        );
        failing.push(order.order_no);
    }
    w.clock.advance(Duration::seconds(70));
    let report = w.sweep_now().await;
    assert_eq!((report.listed, report.failed), (3, 3), "{report:?}");
    for order_no in &failing {
        assert_eq!(w.stored(order_no).await.sweep_failures, 1);
    }

    w.clock.advance(Duration::seconds(10));
    let mut fresh = Vec::new();
    for _ in 0..3 {
        fresh.push(w.placed("1", None).await.order_no.to_string());
    }
    w.clock.advance(Duration::seconds(70));
    let before = w.wechat.queries();
    w.wechat.advance_clock_per_query(Duration::seconds(1));
    let deadline = w.clock.now() + slowest_order(&w.config) + Duration::seconds(3);
    let report = w.sweep(deadline).await;
    assert_eq!(
        report,
        SweepReport {
            listed: 6,
            examined: 3,
            still_pending: 3,
            deadline_reached: true,
            oldest_pending_secs: 150,
            ..SweepReport::default()
        }
    );
    let mut served: Vec<String> = w.wechat.query_log()[before..]
        .iter()
        .map(|q| q.out_trade_no.clone())
        .collect();
    served.sort();
    fresh.sort();
    assert_eq!(served, fresh, "the fresh orders first");
}

/// Before: a 429 was one more failure; the sweep went on querying at full speed.
#[tokio::test]
async fn sweep_backs_off_when_wechat_pay_throttles() {
    let mut w = world().await;
    w.config.sweep_concurrency = 1;
    for _ in 0..4 {
        w.placed("1", None).await;
    }
    w.clock.advance(Duration::seconds(70));
    w.wechat.throttle_queries(2);
    let report = w.sweep_now().await;
    assert_eq!(
        report,
        SweepReport {
            listed: 4,
            examined: 4,
            throttled: 2,
            still_pending: 2,
            oldest_pending_secs: 70,
            ..SweepReport::default()
        }
    );
    let log = w.wechat.query_log();
    assert_eq!(
        log.iter().map(|q| q.throttled).collect::<Vec<_>>(),
        [true, true, false, false]
    );
    let first_pause = log[1].at - log[0].at;
    let second_pause = log[2].at - log[1].at;
    assert!(first_pause >= FIRST_BACKOFF, "{first_pause:?}");
    assert!(
        second_pause >= 2 * FIRST_BACKOFF,
        "doubled after a second throttle in a row: {second_pause:?}"
    );
    for query in &log[..2] {
        let order_no = OrderNo::parse(&query.out_trade_no).unwrap();
        assert_eq!(
            w.stored(&order_no).await.sweep_failures,
            0,
            "a throttle is not the order's failure"
        );
    }
}

#[tokio::test]
async fn stale_pending_counts_orders_long_expired_and_still_pending_after_the_sweep() {
    let w = world().await;
    let broken = w.placed("1", None).await;
    let closable = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(200));
    let unexpired = w.placed("1", None).await;
    w.clock.advance(Duration::seconds(200));
    w.wechat.fail_queries_of(
        broken.order_no.as_str(),
        GatewayError::Unavailable("500".into()),
    );
    let report = w.sweep_now().await;
    assert_eq!(
        report,
        SweepReport {
            listed: 3,
            examined: 3,
            closed: 1,
            failed: 1,
            still_pending: 1,
            stale_pending: 1,
            oldest_pending_secs: 400,
            ..SweepReport::default()
        }
    );
    assert_eq!(w.status(&closable.order_no).await, OrderStatus::Closed);
    assert_eq!(w.status(&unexpired.order_no).await, OrderStatus::Notpay);
}

/// An order paid and then refunded at WeChat Pay (by hand, in the merchant platform) whose payment
/// notification was lost: WeChat Pay took money for an order that is `NOTPAY` here. `REFUND` is a
/// paid state, so the sweep records the payment (the refund's own notification records the
/// refund), whether or not the order has expired.
#[tokio::test]
async fn sweep_settles_an_order_paid_then_refunded_at_wechat_pay_while_notpay_here() {
    let w = world().await;
    let expired = w.placed("1", None).await;
    w.wechat.pay(expired.order_no.as_str()).unwrap();
    w.wechat.refund(expired.order_no.as_str()).unwrap();
    w.clock.advance(Duration::seconds(200));
    let unexpired = w.placed("1", None).await;
    w.wechat.pay(unexpired.order_no.as_str()).unwrap();
    w.wechat.refund(unexpired.order_no.as_str()).unwrap();
    w.clock.advance(Duration::seconds(200));
    let report = w.sweep_now().await;
    assert_eq!((report.settled, report.alerts), (2, 0), "{report:?}");
    for order in [&expired, &unexpired] {
        assert_eq!(w.status(&order.order_no).await, OrderStatus::Success);
        assert_eq!(w.records(&order.order_no).await, 1);
    }
}

#[tokio::test]
async fn sweep_of_nothing_is_empty() {
    let w = world().await;
    let report = w.sweep_now().await;
    assert_eq!(report, SweepReport::default());
}
