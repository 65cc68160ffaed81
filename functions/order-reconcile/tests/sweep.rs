#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One sweep over the embedded store (in memory, wrapped so that it can fail) and the in-memory
//! WeChat Pay: what it returns, what it logs, and how a failure is reported to Lambda.

use std::sync::Arc;

use lambda_init::testing::LogCapture;
use lambda_runtime::Diagnostic;
use order_reconcile::{Deps, SweepError, Trigger, run_sweep};
use orders::adapters::EmbeddedOrderStore;
use orders::domain::{OrderNo, OrderStatus, Product, RefundOrigin};
use orders::ports::{GatewayError, OrderReader, ProductWriter};
use orders::services::{RefundCommand, request_refund, settle_transaction};
use orders::testing::{FakeWeChatPay, FaultyStore, place_prepaid};
use orders::{NotifyUrl, OrdersConfig};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wxpay::refund::RefundStatus;
use wxpay::{Clock, FixedClock};

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

type TestDeps = Deps<FaultyStore<EmbeddedOrderStore>, FakeWeChatPay, Arc<FixedClock>>;

async fn deps() -> TestDeps {
    let store = FaultyStore::new(EmbeddedOrderStore::in_memory().unwrap());
    store
        .put_product(&Product::new("1", "Rust 课程", 2999).unwrap())
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    Deps {
        store,
        gateway: FakeWeChatPay::new(Arc::clone(&clock)),
        clock,
        config: OrdersConfig::new("wxd678efh567hg6787", "1900007291"),
        notify_url: NotifyUrl::parse("https://shop.example/notify").unwrap(),
    }
}

async fn place(deps: &TestDeps) -> OrderNo {
    place_prepaid(
        deps.store.inner(),
        &deps.gateway,
        &deps.clock,
        &deps.config,
        &deps.notify_url,
        "1",
    )
    .await
    .unwrap()
    .order_no
}

async fn status_of(deps: &TestDeps, order_no: &OrderNo) -> OrderStatus {
    deps.store
        .inner()
        .get_order(order_no)
        .await
        .unwrap()
        .unwrap()
        .order_status
}

fn deadline(deps: &TestDeps) -> OffsetDateTime {
    deps.clock.now() + Duration::seconds(60)
}

#[tokio::test]
async fn a_sweep_settles_the_paid_closes_the_expired_and_logs_its_report_once() {
    let (logs, _guard) = LogCapture::start();
    let deps = deps().await;
    let paid = place(&deps).await;
    let expired = place(&deps).await;
    let failing = place(&deps).await;
    deps.gateway.pay(paid.as_str()).unwrap();
    deps.gateway
        .fail_queries_of(failing.as_str(), GatewayError::Unavailable("503".into()));
    // Past expiry, the reconcile threshold and the clock-skew allowance.
    deps.clock.advance(Duration::seconds(300 + 60 + 31));

    let run = run_sweep(&deps, deadline(&deps)).await.unwrap();
    let report = &run.orders;
    assert_eq!(report.examined, 3);
    assert_eq!(report.settled, 1);
    assert_eq!(report.closed, 1);
    assert_eq!(report.failed, 1);
    assert_eq!(report.stale_pending, 1, "the order whose query failed");
    assert_eq!(status_of(&deps, &paid).await, OrderStatus::Success);
    assert_eq!(status_of(&deps, &expired).await, OrderStatus::Closed);
    assert_eq!(status_of(&deps, &failing).await, OrderStatus::Notpay);

    // What the function returns (tests/tests/binaries.rs reads these camelCase fields).
    let returned = serde_json::to_value(&run).unwrap();
    assert_eq!(returned["orders"]["settled"], 1);
    assert_eq!(returned["orders"]["closedNeverPrepaid"], 0);
    assert_eq!(returned["orders"]["stalePending"], 1);
    assert_eq!(returned["orders"]["deadlineReached"], false);
    assert_eq!(returned["refunds"]["listed"], 0);

    // One metric line for the orders: what the dashboard and the stale-pending alarm read.
    let swept = logs.metrics("SweepExamined");
    assert_eq!(swept.len(), 1, "{swept:?}");
    assert_eq!(swept[0]["SweepExamined"], 3);
    assert_eq!(swept[0]["SweepSettled"], 1);
    assert_eq!(swept[0]["SweepClosed"], 1);
    assert_eq!(swept[0]["SweepFailed"], 1);
    assert_eq!(swept[0]["StalePending"], 1);
    assert_eq!(
        swept[0]["OldestPendingAge"],
        300 + 60 + 31,
        "the failing order's age"
    );
    assert_eq!(returned["orders"]["oldestPendingSecs"], 300 + 60 + 31);

    // One log line, with `stale_pending` a top-level integer (for Logs Insights).
    let finished = logs.with_field("message", "sweep finished");
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["stale_pending"], json!(1));
    assert!(finished[0]["stale_pending"].is_u64());
    let logged: Value = serde_json::from_str(finished[0]["report"].as_str().unwrap()).unwrap();
    assert_eq!(logged, returned);
}

#[tokio::test]
async fn an_empty_sweep_still_logs_zero_stale_orders() {
    let (logs, _guard) = LogCapture::start();
    let deps = deps().await;
    let run = run_sweep(&deps, deadline(&deps)).await.unwrap();
    assert_eq!(run, Default::default());
    let finished = logs.with_field("message", "sweep finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["stale_pending"], json!(0));
    // Zeros are written too: a missing datapoint means no sweep ran (the alarm treats it so).
    assert_eq!(logs.metric_total("StalePending", None), 0);
    assert_eq!(logs.metrics("StalePending").len(), 1);
    assert_eq!(logs.metrics("OldestPendingAge")[0]["OldestPendingAge"], 0);
    assert_eq!(logs.metrics("RefundSweepListed").len(), 1);
}

#[tokio::test]
async fn a_run_follows_up_open_refunds_before_the_pending_orders() {
    let (logs, _guard) = LogCapture::start();
    let deps = deps().await;
    let order_no = place(&deps).await;
    deps.gateway.pay(order_no.as_str()).unwrap();
    let tx = deps.gateway.transaction(order_no.as_str()).unwrap();
    settle_transaction(deps.store.inner(), &deps.clock, &deps.config, &tx)
        .await
        .unwrap();
    let command = RefundCommand {
        amount: 999,
        reason: None,
        origin: RefundOrigin::Merchant,
        requested_by: None,
        idempotency_key: Some("k".into()),
    };
    request_refund(
        deps.store.inner(),
        &deps.gateway,
        &deps.clock,
        &deps.notify_url,
        &order_no,
        &command,
    )
    .await
    .unwrap();
    // WeChat Pay finishes the refund; its notification is lost.
    deps.gateway.finish_refunds(RefundStatus::Success);
    deps.clock.advance(Duration::seconds(61));
    let run = run_sweep(&deps, deadline(&deps)).await.unwrap();
    assert_eq!(
        (run.refunds.listed, run.refunds.finished),
        (1, 1),
        "{run:?}"
    );
    let order = deps
        .store
        .inner()
        .get_order(&order_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.order_status, OrderStatus::PartiallyRefunded);
    assert_eq!(order.refunded_fee, 999);
    // Refunds by state: asked (SUBMITTING), accepted (PROCESSING), then finished by the sweep.
    for state in ["SUBMITTING", "PROCESSING", "SUCCESS"] {
        assert_eq!(
            logs.metric_total("RefundsRecorded", Some(("State", state))),
            1,
            "{state}"
        );
    }
    assert_eq!(
        logs.metrics("RefundSweepFinished")[0]["RefundSweepFinished"],
        1
    );
}

#[tokio::test]
async fn a_failed_sweep_is_reported_as_sweep_failed() {
    let deps = deps().await;
    place(&deps).await;
    deps.clock.advance(Duration::seconds(400));
    deps.store.fail(true);
    let error = SweepError::from(run_sweep(&deps, deadline(&deps)).await.unwrap_err());
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "SweepFailed");
    assert!(
        diagnostic.error_message.starts_with("sweep failed: "),
        "{diagnostic:?}"
    );
}

#[test]
fn an_unrecognised_trigger_is_reported_as_such() {
    let error = SweepError::from(Trigger::parse(&json!({"detail-type": "Something"})).unwrap_err());
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "UnrecognisedTrigger");
    assert!(
        diagnostic.error_message.contains("unrecognised trigger"),
        "{diagnostic:?}"
    );
}
