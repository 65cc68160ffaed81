//! One conformance suite for every store: the same behaviours, run against the embedded store and
//! against DynamoDB (moto). Each function takes a fresh, empty store. The rules every store follows
//! are those of `orders::domain::transition`.

pub mod caps;
pub mod listings;
pub mod refunds;

use std::collections::BTreeSet;
use wxpay::random::OsRandom;

use orders::domain::transition::{
    self, AnswerDecision, ClaimDecision, CloseDecision, SettleDecision,
};
use orders::domain::{
    BuyerHash, Order, OrderNo, OrderNoGenerator, OrderStatus, PaymentRecord, Product,
};
use orders::ports::{
    AnswerOutcome, BuyerOrderLister, ClaimOutcome, CloseOutcome, CloseReason, CloseRequest,
    CreateOutcome, Cursor, Evidence, EvidenceRecorder, IdempotencyClaim, OrderCloser, OrderCreator,
    OrderReader, OrderSettler, PageRequest, PaymentRecordReader, PendingOrderLister, PrepayAnswer,
    PrepayClaim, PrepayRecorder, ProductReader, ProductWriter, Reported, SettleOutcome, Settlement,
    StoreError, SweepFailureRecorder,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wxpay::models::{Payer, TradeState, Transaction, TransactionAmount};

/// Everything a store offers.
pub trait Store:
    OrderCreator
    + OrderReader
    + PrepayRecorder
    + OrderSettler
    + OrderCloser
    + SweepFailureRecorder
    + EvidenceRecorder
    + PaymentRecordReader
    + BuyerOrderLister
    + PendingOrderLister
    + ProductReader
    + ProductWriter
    + Clone
    + 'static
{
}
impl<T> Store for T where
    T: OrderCreator
        + OrderReader
        + PrepayRecorder
        + OrderSettler
        + OrderCloser
        + SweepFailureRecorder
        + EvidenceRecorder
        + PaymentRecordReader
        + BuyerOrderLister
        + PendingOrderLister
        + ProductReader
        + ProductWriter
        + Clone
        + 'static
{
}

/// Generates one `#[tokio::test]` per conformance behaviour, each with a fresh store from `$make`;
/// with `when $can_run`, a test whose `$can_run` is false returns at once (a store that needs a
/// server that is not there).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!($make, when true);
    };
    ($make:expr, when $can_run:expr) => {
        $crate::conformance_tests!(@each [$crate::conformance] $make, $can_run;
            created_order_reads_back_unchanged,
            duplicate_order_number_is_refused,
            missing_order_has_no_transitions,
            settle_from_notpay_writes_order_and_one_payment_record,
            payment_record_keeps_a_malformed_success_time_as_received,
            settle_after_close_and_cancel_pays_the_order,
            second_transaction_is_a_double_payment_and_its_record_is_kept,
            close_and_cancel_from_notpay_leave_pending,
            close_is_refused_once_another_prepay_was_claimed,
            refused_transitions_change_nothing,
            prepay_claim_holds_until_its_lease_passes,
            prepay_claim_is_refused_past_the_cutoff_and_once_not_pending,
            concurrent_prepay_claims_have_one_winner,
            prepay_answer_is_stored_only_for_the_latest_claim,
            refused_prepay_releases_the_claim_without_a_link,
            prepay_answer_after_settle_or_close_is_not_stored,
            sweep_failures_count_only_on_pending_orders,
            evidence_is_kept_once_per_transaction_and_reason,
            concurrent_settles_with_same_transaction_settle_once,
            concurrent_settles_with_different_transactions_have_one_winner,
            settle_racing_close_and_cancel_ends_paid_once,
            close_racing_a_prepay_claim_has_one_winner,
            pending_listing_returns_only_old_notpay_orders_across_pages,
            same_idempotency_key_returns_same_order,
            concurrent_creates_with_same_idempotency_key_make_one_order,
            expired_idempotency_key_makes_a_new_order,
            buyer_listing_is_newest_first_paged_and_never_another_buyers,
            foreign_cursor_is_refused,
            catalog_puts_gets_and_lists_products,
            catalog_remove_takes_a_product_off_and_keeps_its_orders,
            concurrent_catalog_puts_and_removes_lose_nothing,
        );
    };
    // One test per behaviour `$name` of module `$module` (shared with `refund_conformance_tests`).
    (@each [$module:path] $make:expr, $can_run:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if !$can_run {
                    return;
                }
                use $module as behaviours;
                let store = $make.await;
                behaviours::$name(store).await;
            }
        )*
    };
}

pub const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

/// The lease of the prepay claims made here.
pub const LEASE: Duration = Duration::seconds(4);

const LINK_A: &str = "weixin://wxpay/bizpayurl?pr=aaaaaaa";
const LINK_B: &str = "weixin://wxpay/bizpayurl?pr=bbbbbbb";

pub fn product() -> Product {
    Product::new("p1", "Rust 课程", 1999).unwrap()
}

pub fn buyer(n: u8) -> BuyerHash {
    BuyerHash::from_token(&format!("buyer-token-{n:04}-xxxxxxxxxxxx")).unwrap()
}

pub fn new_order(buyer: Option<BuyerHash>, created_at: OffsetDateTime) -> Order {
    let number = OrderNoGenerator::new(OsRandom)
        .generate(created_at)
        .unwrap();
    Order::new_pending(number, &product(), buyer, created_at, Duration::minutes(5))
}

pub fn settlement(order: &Order, transaction_id: &str) -> Settlement {
    let transaction = Transaction {
        appid: "wx1".into(),
        mchid: "1900000001".into(),
        out_trade_no: order.order_no.to_string(),
        transaction_id: Some(transaction_id.into()),
        trade_type: Some("NATIVE".into()),
        trade_state: TradeState::Success,
        trade_state_desc: "支付成功".into(),
        bank_type: Some("OTHERS".into()),
        attach: None,
        success_time: Some(time::macros::datetime!(2024-05-01 08:01:00 +8)),
        payer: Some(Payer {
            openid: Some("openid-1".into()),
        }),
        amount: Some(TransactionAmount {
            total: Some(order.total_fee),
            payer_total: Some(order.total_fee),
            currency: Some("CNY".into()),
            payer_currency: Some("CNY".into()),
        }),
        scene_info: None,
        promotion_detail: None,
        extra: Default::default(),
    };
    Settlement {
        record: PaymentRecord {
            order_no: order.order_no.clone(),
            transaction_id: transaction_id.into(),
            received_at: order.created_at + Duration::seconds(61),
            transaction,
        },
        success_time: Some(order.created_at + Duration::seconds(60)),
        payer_openid: Some("openid-1".into()),
        settled_at: order.created_at + Duration::seconds(61),
    }
}

/// The last moment a prepay may start for `order` (a minute and the lease before it expires).
pub fn prepay_cutoff(order: &Order) -> OffsetDateTime {
    order.expires_at - Duration::minutes(1) - LEASE
}

/// A prepay claim of `order` at `at`.
pub fn prepay_claim(order: &Order, at: OffsetDateTime) -> PrepayClaim {
    PrepayClaim {
        at,
        lease_until: at + LEASE,
        cutoff: prepay_cutoff(order),
    }
}

/// The answer of the prepay claimed at `started_at`.
pub fn prepay_answer(
    started_at: OffsetDateTime,
    code_url: Option<&str>,
    at: OffsetDateTime,
) -> PrepayAnswer {
    PrepayAnswer {
        started_at,
        code_url: code_url.map(str::to_owned),
        at,
    }
}

pub fn close_request(
    reason: CloseReason,
    prepay_seen: Option<OffsetDateTime>,
    at: OffsetDateTime,
) -> CloseRequest {
    CloseRequest {
        reason,
        prepay_seen,
        at,
    }
}

async fn created<S: Store>(store: &S, order: &Order) -> Order {
    match store.create_order(order, None).await.unwrap() {
        CreateOutcome::Created(order) => order,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn stored<S: Store>(store: &S, number: &OrderNo) -> Order {
    store.get_order(number).await.unwrap().unwrap()
}

/// Claims the prepay of `order` at `at`, which must succeed; the order as claimed.
async fn claimed<S: Store>(store: &S, order: &Order, at: OffsetDateTime) -> Order {
    let claim = prepay_claim(order, at);
    match store.claim_prepay(&order.order_no, &claim).await.unwrap() {
        ClaimOutcome::Claimed(claimed) => {
            assert_eq!(claimed.prepay_started_at, Some(claim.at));
            assert_eq!(claimed.prepay_lease_until, Some(claim.lease_until));
            claimed
        }
        other => panic!("expected Claimed at {at}, got {other:?}"),
    }
}

/// Brings a fresh order into `status` through the store's own transitions.
async fn order_in<S: Store>(store: &S, status: OrderStatus, at: OffsetDateTime) -> Order {
    let order = created(store, &new_order(Some(buyer(1)), at)).await;
    match status {
        OrderStatus::Notpay => {}
        OrderStatus::Success => {
            let outcome = store
                .settle_order(&order.order_no, &settlement(&order, "tx-first"))
                .await
                .unwrap();
            assert!(matches!(outcome, SettleOutcome::Settled(_)), "{outcome:?}");
        }
        OrderStatus::Closed | OrderStatus::Cancelled => {
            let reason = if status == OrderStatus::Closed {
                CloseReason::Expired
            } else {
                CloseReason::CancelledByBuyer
            };
            let request = close_request(reason, order.prepay_started_at, at + Duration::seconds(1));
            let outcome = store.close_order(&order.order_no, &request).await.unwrap();
            assert!(matches!(outcome, CloseOutcome::Closed(_)), "{outcome:?}");
        }
        other => panic!("no store operation reaches {other}"),
    }
    stored(store, &order.order_no).await
}

async fn all_pending<S: Store>(store: &S, before: OffsetDateTime, limit: u32) -> Vec<Order> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store.list_pending_orders(before, &page).await.unwrap();
        assert!(got.items.len() <= limit as usize);
        all.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest::after(limit, cursor),
            None => return all,
        }
    }
}

fn numbers(orders: &[Order]) -> BTreeSet<String> {
    orders.iter().map(|o| o.order_no.to_string()).collect()
}

fn by_transaction(mut records: Vec<PaymentRecord>) -> Vec<PaymentRecord> {
    records.sort_by(|a, b| a.transaction_id.cmp(&b.transaction_id));
    records
}

/// What the rules say a settle does to `order` (the order to expect, and whether after a close).
fn settled_by_the_rules(order: &Order, settlement: &Settlement) -> (Order, bool) {
    match transition::settle(order, settlement) {
        SettleDecision::Settle(new) => (new, false),
        SettleDecision::SettleAfterClose(new) => (new, true),
        other => panic!("the rules do not settle {}: {other:?}", order.order_no),
    }
}

pub async fn created_order_reads_back_unchanged<S: Store>(store: S) {
    let order = new_order(Some(buyer(1)), T0);
    let outcome = store.create_order(&order, None).await.unwrap();
    assert_eq!(outcome, CreateOutcome::Created(order.clone()));
    assert_eq!(
        store.get_order(&order.order_no).await.unwrap(),
        Some(order.clone())
    );
    let anonymous = new_order(None, T0);
    created(&store, &anonymous).await;
    assert_eq!(
        store.get_order(&anonymous.order_no).await.unwrap(),
        Some(anonymous.clone())
    );

    // Every optional attribute, with millisecond times: a pending order created already claimed
    // (as placing does), with a link and failed sweeps…
    let placed_at = T0 + Duration::milliseconds(1_517);
    let mut claimed = new_order(Some(buyer(2)), placed_at);
    claimed.code_url = Some(LINK_A.into());
    claimed.prepay_started_at = Some(placed_at);
    claimed.prepay_lease_until = Some(placed_at + LEASE);
    claimed.sweep_failures = 3;
    assert_eq!(
        store.create_order(&claimed, None).await.unwrap(),
        CreateOutcome::Created(claimed.clone())
    );
    assert_eq!(
        store.get_order(&claimed.order_no).await.unwrap(),
        Some(claimed.clone())
    );
    // …and an order paid after it was closed.
    let mut paid = new_order(None, T0 + Duration::milliseconds(2_250));
    paid.order_status = OrderStatus::Success;
    paid.transaction_id = Some("4200000000000000000000000009".into());
    paid.success_time = Some(T0 + Duration::milliseconds(70_123));
    paid.payer_openid = Some("openid-9".into());
    paid.updated_at = T0 + Duration::milliseconds(70_999);
    paid.paid_after_close = true;
    paid.prepay_started_at = Some(T0 + Duration::milliseconds(2_250));
    paid.code_url = Some(LINK_B.into());
    paid.sweep_failures = 1;
    assert_eq!(
        store.create_order(&paid, None).await.unwrap(),
        CreateOutcome::Created(paid.clone())
    );
    assert_eq!(
        store.get_order(&paid.order_no).await.unwrap(),
        Some(paid.clone())
    );

    let pending = all_pending(&store, T0 + Duration::hours(1), 10).await;
    assert_eq!(
        numbers(&pending),
        numbers(&[order, anonymous, claimed]),
        "a paid order is never pending"
    );
}

pub async fn duplicate_order_number_is_refused<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let mut twin = new_order(Some(buyer(2)), T0);
    twin.order_no = order.order_no.clone();
    let result = store.create_order(&twin, None).await;
    assert!(
        matches!(result, Err(StoreError::DuplicateOrderNo)),
        "{result:?}"
    );
    assert_eq!(store.get_order(&order.order_no).await.unwrap(), Some(order));
}

pub async fn missing_order_has_no_transitions<S: Store>(store: S) {
    let ghost = new_order(None, T0);
    let settle = store
        .settle_order(&ghost.order_no, &settlement(&ghost, "tx1"))
        .await
        .unwrap();
    assert_eq!(settle, SettleOutcome::NotFound);
    for reason in [CloseReason::Expired, CloseReason::CancelledByBuyer] {
        for seen in [None, Some(T0)] {
            let close = store
                .close_order(&ghost.order_no, &close_request(reason, seen, T0))
                .await
                .unwrap();
            assert_eq!(close, CloseOutcome::NotFound);
        }
    }
    let claim = store
        .claim_prepay(&ghost.order_no, &prepay_claim(&ghost, T0))
        .await
        .unwrap();
    assert_eq!(claim, ClaimOutcome::NotFound);
    let late = store
        .claim_prepay(
            &ghost.order_no,
            &prepay_claim(&ghost, T0 + Duration::hours(1)),
        )
        .await
        .unwrap();
    assert_eq!(late, ClaimOutcome::NotFound);
    for link in [Some(LINK_A), None] {
        let answer = store
            .answer_prepay(&ghost.order_no, &prepay_answer(T0, link, T0))
            .await
            .unwrap();
        assert_eq!(answer, AnswerOutcome::NotFound);
    }
    store.record_sweep_failure(&ghost.order_no).await.unwrap();
    assert_eq!(store.get_order(&ghost.order_no).await.unwrap(), None);
    assert!(
        store
            .payment_records(&ghost.order_no)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        all_pending(&store, T0 + Duration::hours(1), 10)
            .await
            .is_empty()
    );
}

pub async fn settle_from_notpay_writes_order_and_one_payment_record<S: Store>(store: S) {
    let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
    let order = claimed(&store, &order, T0 + Duration::seconds(1)).await;
    let settle = settlement(&order, "4200000000000000000000000001");
    let outcome = store.settle_order(&order.order_no, &settle).await.unwrap();
    let SettleOutcome::Settled(settled) = outcome else {
        panic!("expected Settled, got {outcome:?}");
    };
    assert_eq!(settled.order_status, OrderStatus::Success);
    assert_eq!(
        settled.transaction_id.as_deref(),
        Some("4200000000000000000000000001")
    );
    assert_eq!(settled.success_time, settle.success_time);
    assert_eq!(settled.payer_openid.as_deref(), Some("openid-1"));
    assert_eq!(settled.updated_at, settle.settled_at);
    assert_eq!(settled.total_fee, order.total_fee);
    assert!(!settled.paid_after_close);
    assert_eq!(settled.prepay_lease_until, None, "the claim is released");
    assert_eq!(settled.prepay_started_at, order.prepay_started_at);
    assert_eq!(
        settled_by_the_rules(&order, &settle),
        (settled.clone(), false)
    );
    assert_eq!(
        store.get_order(&order.order_no).await.unwrap(),
        Some(settled)
    );
    assert_eq!(
        store.payment_records(&order.order_no).await.unwrap(),
        vec![settle.record]
    );
}

pub async fn payment_record_keeps_a_malformed_success_time_as_received<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let mut settle = settlement(&order, "4200000000000000000000000001");
    let mut json = serde_json::to_value(&settle.record.transaction).unwrap();
    json["success_time"] = "2024-05-01 08:01:00".into();
    settle.record.transaction = serde_json::from_value(json).unwrap();
    settle.success_time = None;
    let outcome = store.settle_order(&order.order_no, &settle).await.unwrap();
    assert!(
        matches!(outcome, SettleOutcome::Settled(ref settled) if settled.success_time.is_none()),
        "{outcome:?}"
    );
    let records = store.payment_records(&order.order_no).await.unwrap();
    assert_eq!(records, vec![settle.record]);
    assert_eq!(
        records[0].transaction.unparsed_success_time(),
        Some(&serde_json::Value::from("2024-05-01 08:01:00"))
    );
}

pub async fn settle_after_close_and_cancel_pays_the_order<S: Store>(store: S) {
    for (status, prepaid) in [
        (OrderStatus::Closed, false),
        (OrderStatus::Cancelled, false),
        (OrderStatus::Closed, true),
        (OrderStatus::Cancelled, true),
    ] {
        let order = if prepaid {
            // Closed while its prepay's lease still held.
            let fresh = created(&store, &new_order(Some(buyer(1)), T0)).await;
            let holding = claimed(&store, &fresh, T0 + Duration::seconds(1)).await;
            let reason = if status == OrderStatus::Closed {
                CloseReason::Expired
            } else {
                CloseReason::CancelledByBuyer
            };
            let request =
                close_request(reason, holding.prepay_started_at, T0 + Duration::seconds(2));
            let outcome = store.close_order(&fresh.order_no, &request).await.unwrap();
            let CloseOutcome::Closed(closed) = outcome else {
                panic!("expected Closed, got {outcome:?}");
            };
            assert!(closed.prepay_lease_until.is_some());
            closed
        } else {
            order_in(&store, status, T0).await
        };
        assert_eq!(order.order_status, status);
        let settle = settlement(&order, "tx-after-close");
        let outcome = store.settle_order(&order.order_no, &settle).await.unwrap();
        let SettleOutcome::SettledAfterClose(paid) = outcome else {
            panic!("{status}: expected SettledAfterClose, got {outcome:?}");
        };
        assert_eq!(paid.order_status, OrderStatus::Success, "{status}");
        assert!(paid.paid_after_close, "{status}");
        assert_eq!(paid.transaction_id.as_deref(), Some("tx-after-close"));
        assert_eq!(paid.success_time, settle.success_time);
        assert_eq!(paid.payer_openid.as_deref(), Some("openid-1"));
        assert_eq!(paid.updated_at, settle.settled_at);
        assert_eq!(paid.created_at, order.created_at);
        assert_eq!(paid.expires_at, order.expires_at);
        assert_eq!(paid.prepay_started_at, order.prepay_started_at);
        assert_eq!(
            paid.prepay_lease_until, None,
            "{status}: the claim is released"
        );
        assert_eq!(settled_by_the_rules(&order, &settle), (paid.clone(), true));
        assert_eq!(
            store.get_order(&order.order_no).await.unwrap(),
            Some(paid.clone())
        );
        assert_eq!(
            store.payment_records(&order.order_no).await.unwrap(),
            vec![settle.record.clone()],
            "{status}: the payment record is written with the order"
        );

        // From now on it is a settled order like any other.
        let again = store.settle_order(&order.order_no, &settle).await.unwrap();
        assert_eq!(again, SettleOutcome::AlreadySettled(paid.clone()));
        for reason in [CloseReason::Expired, CloseReason::CancelledByBuyer] {
            let request = close_request(reason, paid.prepay_started_at, T0 + Duration::minutes(9));
            let close = store.close_order(&order.order_no, &request).await.unwrap();
            assert_eq!(close, CloseOutcome::NotPending(paid.clone()), "{status}");
        }
        let other = settlement(&order, "tx-other");
        let double = store.settle_order(&order.order_no, &other).await.unwrap();
        assert_eq!(double, SettleOutcome::DoublePayment(paid.clone()));
        assert_eq!(
            store.get_order(&order.order_no).await.unwrap(),
            Some(paid.clone())
        );
        assert_eq!(
            by_transaction(store.payment_records(&order.order_no).await.unwrap()),
            by_transaction(vec![settle.record, other.record])
        );
    }
    assert!(
        all_pending(&store, T0 + Duration::hours(1), 10)
            .await
            .is_empty()
    );
}

pub async fn second_transaction_is_a_double_payment_and_its_record_is_kept<S: Store>(store: S) {
    let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
    let first = settlement(&order, "tx-A");
    let outcome = store.settle_order(&order.order_no, &first).await.unwrap();
    let SettleOutcome::Settled(paid) = outcome else {
        panic!("expected Settled, got {outcome:?}");
    };
    let mut second = settlement(&order, "tx-B");
    second.record.received_at += Duration::seconds(30);
    second.settled_at += Duration::seconds(30);
    second.payer_openid = Some("openid-2".into());
    let double = store.settle_order(&order.order_no, &second).await.unwrap();
    assert_eq!(double, SettleOutcome::DoublePayment(paid.clone()));
    assert_eq!(
        store.get_order(&order.order_no).await.unwrap(),
        Some(paid.clone()),
        "the order keeps its first payment"
    );
    let both = by_transaction(vec![first.record.clone(), second.record.clone()]);
    assert_eq!(
        by_transaction(store.payment_records(&order.order_no).await.unwrap()),
        both,
        "the second payment's record is kept, for a refund"
    );

    // Redelivered, either transaction changes nothing more.
    let double_again = store.settle_order(&order.order_no, &second).await.unwrap();
    assert_eq!(double_again, SettleOutcome::DoublePayment(paid.clone()));
    let first_again = store.settle_order(&order.order_no, &first).await.unwrap();
    assert_eq!(first_again, SettleOutcome::AlreadySettled(paid.clone()));
    assert_eq!(
        by_transaction(store.payment_records(&order.order_no).await.unwrap()),
        both
    );
    assert_eq!(store.get_order(&order.order_no).await.unwrap(), Some(paid));
}

pub async fn close_and_cancel_from_notpay_leave_pending<S: Store>(store: S) {
    for reason in [CloseReason::Expired, CloseReason::CancelledByBuyer] {
        let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
        let at = T0 + Duration::seconds(30);
        let request = close_request(reason, None, at);
        let outcome = store.close_order(&order.order_no, &request).await.unwrap();
        let CloseOutcome::Closed(closed) = outcome else {
            panic!("expected Closed, got {outcome:?}");
        };
        assert_eq!(closed.order_status, reason.target());
        assert_eq!(closed.updated_at, at);
        assert_eq!(
            transition::close(&order, &request),
            CloseDecision::Close(closed.clone())
        );
        assert_eq!(
            store.get_order(&order.order_no).await.unwrap(),
            Some(closed.clone())
        );
        let again = store.close_order(&order.order_no, &request).await.unwrap();
        assert_eq!(again, CloseOutcome::AlreadyClosed(closed));
    }
    assert!(
        all_pending(&store, T0 + Duration::hours(1), 10)
            .await
            .is_empty()
    );
}

pub async fn close_is_refused_once_another_prepay_was_claimed<S: Store>(store: S) {
    for reason in [CloseReason::Expired, CloseReason::CancelledByBuyer] {
        // Never prepaid: a close that saw a prepay does not hold.
        let fresh = created(&store, &new_order(None, T0)).await;
        let close = store
            .close_order(
                &fresh.order_no,
                &close_request(reason, Some(T0), T0 + Duration::minutes(6)),
            )
            .await
            .unwrap();
        assert_eq!(close, CloseOutcome::PrepayMoved(fresh.clone()));
        assert_eq!(stored(&store, &fresh.order_no).await, fresh);

        let order = created(&store, &new_order(None, T0)).await;
        let first = claimed(&store, &order, T0 + Duration::seconds(1)).await;
        let at = T0 + Duration::minutes(6);
        for seen in [None, Some(T0), Some(T0 + Duration::milliseconds(999))] {
            let close = store
                .close_order(&order.order_no, &close_request(reason, seen, at))
                .await
                .unwrap();
            assert_eq!(close, CloseOutcome::PrepayMoved(first.clone()), "{seen:?}");
        }
        assert_eq!(stored(&store, &order.order_no).await, first);

        // Claimed again after WeChat Pay was asked about the first claim: that answer is stale.
        let second = claimed(&store, &order, first.prepay_lease_until.unwrap()).await;
        let stale = store
            .close_order(
                &order.order_no,
                &close_request(reason, first.prepay_started_at, at),
            )
            .await
            .unwrap();
        assert_eq!(stale, CloseOutcome::PrepayMoved(second.clone()));
        assert_eq!(stored(&store, &order.order_no).await, second);
        assert!(
            numbers(&all_pending(&store, T0 + Duration::hours(1), 10).await)
                .contains(order.order_no.as_str()),
            "still pending"
        );

        // Asked about the latest claim: it closes.
        let request = close_request(reason, second.prepay_started_at, at);
        let outcome = store.close_order(&order.order_no, &request).await.unwrap();
        let CloseOutcome::Closed(closed) = outcome else {
            panic!("expected Closed, got {outcome:?}");
        };
        assert_eq!(closed.order_status, reason.target());
        assert_eq!(closed.updated_at, at);
        assert_eq!(closed.prepay_started_at, second.prepay_started_at);
        assert_eq!(
            transition::close(&second, &request),
            CloseDecision::Close(closed.clone())
        );
        assert_eq!(stored(&store, &order.order_no).await, closed);
    }
}

pub async fn refused_transitions_change_nothing<S: Store>(store: S) {
    for from in [
        OrderStatus::Success,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ] {
        let order = order_in(&store, from, T0).await;
        let later = T0 + Duration::minutes(1);
        let records_before = store.payment_records(&order.order_no).await.unwrap();

        let close = store
            .close_order(
                &order.order_no,
                &close_request(CloseReason::Expired, None, later),
            )
            .await
            .unwrap();
        let cancel = store
            .close_order(
                &order.order_no,
                &close_request(CloseReason::CancelledByBuyer, None, later),
            )
            .await
            .unwrap();
        let claim = store
            .claim_prepay(&order.order_no, &prepay_claim(&order, later))
            .await
            .unwrap();
        let answer = store
            .answer_prepay(&order.order_no, &prepay_answer(later, Some(LINK_A), later))
            .await
            .unwrap();
        store.record_sweep_failure(&order.order_no).await.unwrap();
        assert_eq!(claim, ClaimOutcome::NotPending(order.clone()), "{from}");
        assert_eq!(answer, AnswerOutcome::NotPending(order.clone()), "{from}");

        match from {
            OrderStatus::Success => {
                let same = store
                    .settle_order(&order.order_no, &settlement(&order, "tx-first"))
                    .await
                    .unwrap();
                assert_eq!(same, SettleOutcome::AlreadySettled(order.clone()));
                assert_eq!(close, CloseOutcome::NotPending(order.clone()));
                assert_eq!(cancel, CloseOutcome::NotPending(order.clone()));
            }
            OrderStatus::Closed => {
                assert_eq!(close, CloseOutcome::AlreadyClosed(order.clone()));
                assert_eq!(cancel, CloseOutcome::NotPending(order.clone()));
            }
            _ => {
                assert_eq!(close, CloseOutcome::NotPending(order.clone()));
                assert_eq!(cancel, CloseOutcome::AlreadyClosed(order.clone()));
            }
        }
        assert_eq!(
            store.get_order(&order.order_no).await.unwrap(),
            Some(order.clone()),
            "{from}"
        );
        assert_eq!(
            store.payment_records(&order.order_no).await.unwrap(),
            records_before,
            "{from}"
        );
    }
}

pub async fn prepay_claim_holds_until_its_lease_passes<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let first = prepay_claim(&order, T0 + Duration::seconds(1));
    let outcome = store.claim_prepay(&order.order_no, &first).await.unwrap();
    let ClaimOutcome::Claimed(holding) = outcome else {
        panic!("expected Claimed, got {outcome:?}");
    };
    assert_eq!(holding.prepay_started_at, Some(first.at));
    assert_eq!(holding.prepay_lease_until, Some(first.lease_until));
    assert_eq!(
        transition::claim_prepay(&order, &first),
        ClaimDecision::Claim(holding.clone())
    );
    assert_eq!(
        Order {
            prepay_started_at: None,
            prepay_lease_until: None,
            ..holding.clone()
        },
        order,
        "a claim changes nothing else"
    );
    assert_eq!(stored(&store, &order.order_no).await, holding);

    // Busy from its start up to the last millisecond of its lease.
    for at in [
        first.at,
        first.at + Duration::seconds(2),
        first.lease_until - Duration::milliseconds(1),
    ] {
        let busy = store
            .claim_prepay(&order.order_no, &prepay_claim(&order, at))
            .await
            .unwrap();
        assert_eq!(busy, ClaimOutcome::Busy(holding.clone()), "at {at}");
    }
    assert_eq!(stored(&store, &order.order_no).await, holding);

    // Once the lease has run out (its end included) the next claim is ours.
    let second = claimed(&store, &order, first.lease_until).await;
    assert_eq!(stored(&store, &order.order_no).await, second);
    let third = claimed(&store, &order, first.lease_until + Duration::seconds(30)).await;
    assert_eq!(stored(&store, &order.order_no).await, third);
}

pub async fn prepay_claim_is_refused_past_the_cutoff_and_once_not_pending<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let cutoff = prepay_cutoff(&order);
    // A claim at the cutoff itself is still allowed…
    let last = claimed(&store, &order, cutoff).await;
    // …none after it, whether the lease holds or has run out.
    for at in [
        cutoff + Duration::milliseconds(1),
        cutoff + LEASE + Duration::seconds(1),
        order.expires_at + Duration::minutes(1),
    ] {
        let late = store
            .claim_prepay(&order.order_no, &prepay_claim(&order, at))
            .await
            .unwrap();
        assert_eq!(late, ClaimOutcome::WindowClosed(last.clone()), "at {at}");
    }
    let untouched = created(&store, &new_order(None, T0)).await;
    let late = store
        .claim_prepay(
            &untouched.order_no,
            &prepay_claim(&untouched, cutoff + Duration::milliseconds(1)),
        )
        .await
        .unwrap();
    assert_eq!(late, ClaimOutcome::WindowClosed(untouched.clone()));
    assert_eq!(stored(&store, &order.order_no).await, last);
    assert_eq!(stored(&store, &untouched.order_no).await, untouched);

    // Settled or closed: never again, in the window or not.
    for status in [
        OrderStatus::Success,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ] {
        let done = order_in(&store, status, T0).await;
        for at in [T0 + Duration::seconds(10), cutoff + Duration::seconds(1)] {
            let claim = store
                .claim_prepay(&done.order_no, &prepay_claim(&done, at))
                .await
                .unwrap();
            assert_eq!(
                claim,
                ClaimOutcome::NotPending(done.clone()),
                "{status} at {at}"
            );
        }
        assert_eq!(stored(&store, &done.order_no).await, done);
    }

    let missing = new_order(None, T0);
    let claim = store
        .claim_prepay(&missing.order_no, &prepay_claim(&missing, T0))
        .await
        .unwrap();
    assert_eq!(claim, ClaimOutcome::NotFound);
    assert_eq!(store.get_order(&missing.order_no).await.unwrap(), None);
}

pub async fn concurrent_prepay_claims_have_one_winner<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let mut at = T0 + Duration::seconds(2);
    for round in 0..2 {
        let claim = prepay_claim(&order, at);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (store, number, claim) = (store.clone(), order.order_no.clone(), claim.clone());
                tokio::spawn(async move { store.claim_prepay(&number, &claim).await.unwrap() })
            })
            .collect();
        let mut winners = Vec::new();
        let mut busy = 0;
        for task in tasks {
            match task.await.unwrap() {
                ClaimOutcome::Claimed(o) => winners.push(o),
                ClaimOutcome::Busy(o) => {
                    assert_eq!(o.prepay_started_at, Some(claim.at), "round {round}");
                    busy += 1;
                }
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(busy, 9, "round {round}");
        assert_eq!(winners[0].prepay_started_at, Some(claim.at));
        assert_eq!(winners[0].prepay_lease_until, Some(claim.lease_until));
        assert_eq!(stored(&store, &order.order_no).await, winners[0]);
        // The next round starts once this lease has run out.
        at = claim.lease_until;
    }
}

pub async fn prepay_answer_is_stored_only_for_the_latest_claim<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let first = claimed(&store, &order, T0 + Duration::seconds(1)).await;
    let first_at = first.prepay_started_at.unwrap();

    let answer = prepay_answer(first_at, Some(LINK_A), T0 + Duration::seconds(2));
    let outcome = store.answer_prepay(&order.order_no, &answer).await.unwrap();
    let AnswerOutcome::Stored(linked) = outcome else {
        panic!("expected Stored, got {outcome:?}");
    };
    assert_eq!(linked.code_url.as_deref(), Some(LINK_A));
    assert_eq!(linked.order_status, OrderStatus::Notpay);
    assert_eq!(linked.updated_at, answer.at);
    assert_eq!(linked.prepay_started_at, Some(first_at));
    assert_eq!(
        linked.prepay_lease_until, None,
        "the answer releases the claim"
    );
    assert_eq!(
        transition::answer_prepay(&first, &answer),
        AnswerDecision::Store(linked.clone())
    );
    assert_eq!(stored(&store, &order.order_no).await, linked);

    // A later claim: the first claim's (late) answer is no longer stored.
    let second = claimed(&store, &order, T0 + Duration::seconds(3)).await;
    assert_eq!(
        second.code_url.as_deref(),
        Some(LINK_A),
        "kept until replaced"
    );
    let late = store
        .answer_prepay(
            &order.order_no,
            &prepay_answer(first_at, Some(LINK_B), T0 + Duration::seconds(4)),
        )
        .await
        .unwrap();
    assert_eq!(late, AnswerOutcome::Superseded(second.clone()));
    let late_refusal = store
        .answer_prepay(
            &order.order_no,
            &prepay_answer(first_at, None, T0 + Duration::seconds(4)),
        )
        .await
        .unwrap();
    assert_eq!(late_refusal, AnswerOutcome::Superseded(second.clone()));
    assert_eq!(stored(&store, &order.order_no).await, second, "unchanged");

    // An answer for a claim that was never made is no better.
    let unknown = store
        .answer_prepay(
            &order.order_no,
            &prepay_answer(
                T0 + Duration::seconds(5),
                Some(LINK_B),
                T0 + Duration::seconds(5),
            ),
        )
        .await
        .unwrap();
    assert_eq!(unknown, AnswerOutcome::Superseded(second.clone()));

    // The latest claim's answer replaces the link, even once its lease has run out (no claim
    // came after it).
    let second_at = second.prepay_started_at.unwrap();
    let answer = prepay_answer(second_at, Some(LINK_B), T0 + Duration::seconds(20));
    let outcome = store.answer_prepay(&order.order_no, &answer).await.unwrap();
    let AnswerOutcome::Stored(relinked) = outcome else {
        panic!("expected Stored, got {outcome:?}");
    };
    assert_eq!(relinked.code_url.as_deref(), Some(LINK_B));
    assert_eq!(relinked.updated_at, answer.at);
    assert_eq!(relinked.prepay_lease_until, None);
    assert_eq!(stored(&store, &order.order_no).await, relinked);

    let missing = new_order(None, T0);
    let answer = store
        .answer_prepay(&missing.order_no, &prepay_answer(T0, Some(LINK_A), T0))
        .await
        .unwrap();
    assert_eq!(answer, AnswerOutcome::NotFound);
    assert_eq!(store.get_order(&missing.order_no).await.unwrap(), None);
}

pub async fn refused_prepay_releases_the_claim_without_a_link<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let holding = claimed(&store, &order, T0 + Duration::seconds(1)).await;
    let started_at = holding.prepay_started_at.unwrap();
    let refusal = prepay_answer(started_at, None, T0 + Duration::seconds(2));
    let outcome = store
        .answer_prepay(&order.order_no, &refusal)
        .await
        .unwrap();
    let AnswerOutcome::Stored(released) = outcome else {
        panic!("expected Stored, got {outcome:?}");
    };
    assert_eq!(
        released,
        Order {
            prepay_lease_until: None,
            ..holding.clone()
        },
        "released, nothing else changed (no link, same updatedAt)"
    );
    assert_eq!(released.code_url, None);
    assert_eq!(released.updated_at, order.updated_at);
    assert_eq!(stored(&store, &order.order_no).await, released);

    // The next claim need not wait for the released lease.
    let next = claimed(&store, &order, refusal.at).await;
    assert!(next.prepay_started_at.unwrap() < holding.prepay_lease_until.unwrap());

    // Releasing an order that has a link keeps the link.
    let linked = store
        .answer_prepay(
            &order.order_no,
            &prepay_answer(refusal.at, Some(LINK_A), T0 + Duration::seconds(3)),
        )
        .await
        .unwrap();
    assert!(matches!(linked, AnswerOutcome::Stored(_)), "{linked:?}");
    let again = claimed(&store, &order, T0 + Duration::seconds(4)).await;
    let outcome = store
        .answer_prepay(
            &order.order_no,
            &prepay_answer(T0 + Duration::seconds(4), None, T0 + Duration::seconds(5)),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        AnswerOutcome::Stored(Order {
            prepay_lease_until: None,
            ..again
        })
    );
    let now = stored(&store, &order.order_no).await;
    assert_eq!(now.code_url.as_deref(), Some(LINK_A));
    assert_eq!(now.updated_at, T0 + Duration::seconds(3));
}

pub async fn prepay_answer_after_settle_or_close_is_not_stored<S: Store>(store: S) {
    for status in [
        OrderStatus::Success,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ] {
        let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
        let holding = claimed(&store, &order, T0 + Duration::seconds(1)).await;
        let started_at = holding.prepay_started_at.unwrap();
        let done = match status {
            OrderStatus::Success => {
                let outcome = store
                    .settle_order(&order.order_no, &settlement(&order, "tx-1"))
                    .await
                    .unwrap();
                let SettleOutcome::Settled(paid) = outcome else {
                    panic!("expected Settled, got {outcome:?}");
                };
                assert_eq!(paid.prepay_lease_until, None);
                paid
            }
            _ => {
                let reason = if status == OrderStatus::Closed {
                    CloseReason::Expired
                } else {
                    CloseReason::CancelledByBuyer
                };
                let request = close_request(reason, Some(started_at), T0 + Duration::seconds(2));
                let outcome = store.close_order(&order.order_no, &request).await.unwrap();
                let CloseOutcome::Closed(closed) = outcome else {
                    panic!("expected Closed, got {outcome:?}");
                };
                closed
            }
        };
        for link in [Some(LINK_A), None] {
            let answer = store
                .answer_prepay(
                    &order.order_no,
                    &prepay_answer(started_at, link, T0 + Duration::seconds(3)),
                )
                .await
                .unwrap();
            assert_eq!(answer, AnswerOutcome::NotPending(done.clone()), "{status}");
        }
        let now = stored(&store, &order.order_no).await;
        assert_eq!(now, done, "{status}");
        assert_eq!(now.code_url, None, "{status}: a link must never be shown");
    }
}

pub async fn sweep_failures_count_only_on_pending_orders<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    store.record_sweep_failure(&order.order_no).await.unwrap();
    assert_eq!(stored(&store, &order.order_no).await.sweep_failures, 1);
    store.record_sweep_failure(&order.order_no).await.unwrap();
    let counted = stored(&store, &order.order_no).await;
    assert_eq!(
        counted,
        Order {
            sweep_failures: 2,
            ..order.clone()
        },
        "only the count changes"
    );
    let pending = all_pending(&store, T0 + Duration::hours(1), 10).await;
    assert_eq!(
        pending,
        vec![counted.clone()],
        "still pending, count listed"
    );

    // Settled, the count stays as it was and no longer grows.
    let outcome = store
        .settle_order(&order.order_no, &settlement(&order, "tx-1"))
        .await
        .unwrap();
    let SettleOutcome::Settled(paid) = outcome else {
        panic!("expected Settled, got {outcome:?}");
    };
    assert_eq!(paid.sweep_failures, 2);
    store.record_sweep_failure(&order.order_no).await.unwrap();
    assert_eq!(stored(&store, &order.order_no).await, paid);

    for status in [
        OrderStatus::Success,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ] {
        let done = order_in(&store, status, T0).await;
        store.record_sweep_failure(&done.order_no).await.unwrap();
        assert_eq!(stored(&store, &done.order_no).await, done, "{status}");
    }
}

fn evidence(
    out_trade_no: &str,
    transaction_id: &str,
    reason: &str,
    received_at: OffsetDateTime,
) -> Evidence {
    let mut transaction = settlement(&new_order(None, T0), "unused")
        .record
        .transaction;
    transaction.out_trade_no = out_trade_no.into();
    transaction.transaction_id = (!transaction_id.is_empty()).then(|| transaction_id.into());
    transaction.mchid = "1900000999".into();
    transaction
        .extra
        .insert("device_id".into(), serde_json::json!("013467007045764"));
    Evidence {
        out_trade_no: out_trade_no.into(),
        transaction_id: transaction_id.into(),
        reason: reason.into(),
        received_at,
        reported: Reported::Transaction(transaction),
    }
}

fn sorted_evidence(mut found: Vec<Evidence>) -> Vec<Evidence> {
    found.sort_by(|a, b| {
        (&a.transaction_id, &a.reason, a.received_at).cmp(&(
            &b.transaction_id,
            &b.reason,
            b.received_at,
        ))
    });
    found
}

pub async fn evidence_is_kept_once_per_transaction_and_reason<S: Store>(store: S) {
    assert!(store.evidence_for("X1-order").await.unwrap().is_empty());
    let at = T0 + Duration::milliseconds(1_234);
    let amount = evidence("X1-order", "tx-1", "amount mismatch", at);
    let second = evidence(
        "X1-order",
        "tx-2",
        "amount mismatch",
        at + Duration::seconds(1),
    );
    let merchant = evidence(
        "X1-order",
        "tx-1",
        "merchant mismatch",
        at + Duration::seconds(2),
    );
    let anonymous = evidence(
        "X1-order",
        "",
        "no transaction id",
        at + Duration::seconds(3),
    );
    let longer = evidence("X1-order0", "tx-3", "amount mismatch", at);
    let other = evidence("Y2-order", "tx-4", "amount mismatch", at);
    for kept in [
        &amount, &second, &merchant, &anonymous, &longer, &other, &amount,
    ] {
        store.record_evidence(kept).await.unwrap();
    }
    assert_eq!(
        sorted_evidence(store.evidence_for("X1-order").await.unwrap()),
        sorted_evidence(vec![
            amount.clone(),
            second.clone(),
            merchant.clone(),
            anonymous.clone()
        ]),
        "each transaction and reason once, as received"
    );
    assert_eq!(store.evidence_for("X1-order0").await.unwrap(), vec![longer]);
    assert_eq!(store.evidence_for("Y2-order").await.unwrap(), vec![other]);
    assert!(store.evidence_for("X1").await.unwrap().is_empty());

    // The same transaction refused again for the same reason (a redelivery) is still one.
    let redelivered = evidence(
        "X1-order",
        "tx-1",
        "amount mismatch",
        at + Duration::minutes(5),
    );
    store.record_evidence(&redelivered).await.unwrap();
    let found = store.evidence_for("X1-order").await.unwrap();
    assert_eq!(found.len(), 4);
    assert_eq!(
        found
            .iter()
            .filter(|e| e.transaction_id == "tx-1" && e.reason == "amount mismatch")
            .count(),
        1
    );
}

pub async fn concurrent_settles_with_same_transaction_settle_once<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let settle = settlement(&order, "tx-same");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, number, settle) = (store.clone(), order.order_no.clone(), settle.clone());
            tokio::spawn(async move { store.settle_order(&number, &settle).await.unwrap() })
        })
        .collect();
    let mut settled = 0;
    for task in tasks {
        match task.await.unwrap() {
            SettleOutcome::Settled(_) => settled += 1,
            SettleOutcome::AlreadySettled(o) => {
                assert_eq!(o.transaction_id.as_deref(), Some("tx-same"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(settled, 1);
    assert_eq!(
        store.payment_records(&order.order_no).await.unwrap(),
        vec![settle.record]
    );
    let paid = stored(&store, &order.order_no).await;
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert!(!paid.paid_after_close);
}

pub async fn concurrent_settles_with_different_transactions_have_one_winner<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, number) = (store.clone(), order.order_no.clone());
            let settle = settlement(&order, &format!("tx-{i:02}"));
            tokio::spawn(async move { store.settle_order(&number, &settle).await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    let mut doubles = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            SettleOutcome::Settled(o) => winners.push(o.transaction_id.unwrap()),
            SettleOutcome::DoublePayment(o) => doubles.push(o.transaction_id.unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(doubles.len(), 49);
    assert!(
        doubles.iter().all(|tx| tx == &winners[0]),
        "every double payment reports the winner's order"
    );
    let records = store.payment_records(&order.order_no).await.unwrap();
    let recorded: BTreeSet<String> = records.iter().map(|r| r.transaction_id.clone()).collect();
    let all: BTreeSet<String> = (0..50).map(|i| format!("tx-{i:02}")).collect();
    assert_eq!(records.len(), 50, "one record per transaction");
    assert_eq!(recorded, all);
    let paid = stored(&store, &order.order_no).await;
    assert_eq!(paid.order_status, OrderStatus::Success);
    assert_eq!(paid.transaction_id.as_ref(), Some(&winners[0]));
}

pub async fn settle_racing_close_and_cancel_ends_paid_once<S: Store>(store: S) {
    for round in 0..8 {
        let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
        let at = T0 + Duration::minutes(10);
        let settle = {
            let (store, number, s) = (
                store.clone(),
                order.order_no.clone(),
                settlement(&order, "tx-race"),
            );
            tokio::spawn(async move { store.settle_order(&number, &s).await.unwrap() })
        };
        let closers: Vec<_> = [CloseReason::Expired, CloseReason::CancelledByBuyer]
            .into_iter()
            .map(|reason| {
                let (store, number) = (store.clone(), order.order_no.clone());
                let request = close_request(reason, None, at);
                tokio::spawn(async move { store.close_order(&number, &request).await.unwrap() })
            })
            .collect();
        let settled = settle.await.unwrap();
        let mut closed = 0;
        for closer in closers {
            match closer.await.unwrap() {
                CloseOutcome::Closed(_) => closed += 1,
                CloseOutcome::NotPending(_) => {}
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        let after_close = match &settled {
            SettleOutcome::Settled(_) => false,
            SettleOutcome::SettledAfterClose(_) => true,
            other => panic!("round {round}: unexpected {other:?}"),
        };
        // Either the settle came first and no close happened, or one close came first and the
        // settle paid the closed order.
        assert_eq!(closed, usize::from(after_close), "round {round}");
        let paid = stored(&store, &order.order_no).await;
        assert_eq!(paid.order_status, OrderStatus::Success, "round {round}");
        assert_eq!(paid.transaction_id.as_deref(), Some("tx-race"));
        assert_eq!(paid.paid_after_close, after_close, "round {round}");
        let records = store.payment_records(&order.order_no).await.unwrap();
        assert_eq!(records.len(), 1, "round {round}");
        assert_eq!(records[0].transaction_id, "tx-race");
    }
    assert!(
        all_pending(&store, T0 + Duration::hours(1), 10)
            .await
            .is_empty()
    );
}

pub async fn close_racing_a_prepay_claim_has_one_winner<S: Store>(store: S) {
    for round in 0..8 {
        let order = created(&store, &new_order(None, T0)).await;
        let claim = prepay_claim(&order, T0 + Duration::seconds(1));
        let claimer = {
            let (store, number, claim) = (store.clone(), order.order_no.clone(), claim.clone());
            tokio::spawn(async move { store.claim_prepay(&number, &claim).await.unwrap() })
        };
        // The sweep read the order before the claim, so it saw no prepay.
        let closer = {
            let (store, number) = (store.clone(), order.order_no.clone());
            let request = close_request(CloseReason::Expired, None, T0 + Duration::seconds(1));
            tokio::spawn(async move { store.close_order(&number, &request).await.unwrap() })
        };
        let (claimed, closed) = (claimer.await.unwrap(), closer.await.unwrap());
        let now = stored(&store, &order.order_no).await;
        match (&claimed, &closed) {
            (ClaimOutcome::Claimed(o), CloseOutcome::PrepayMoved(_)) => {
                assert_eq!(&now, o, "round {round}");
                assert_eq!(now.order_status, OrderStatus::Notpay);
            }
            (ClaimOutcome::NotPending(_), CloseOutcome::Closed(o)) => {
                assert_eq!(&now, o, "round {round}");
                assert_eq!(now.prepay_started_at, None, "round {round}");
            }
            other => panic!("round {round}: both or neither won: {other:?}"),
        }
    }
}

pub async fn pending_listing_returns_only_old_notpay_orders_across_pages<S: Store>(store: S) {
    let cutoff = T0 + Duration::minutes(30);
    let mut expected = BTreeSet::new();
    let mut to_finish = Vec::new();
    let mut at_or_after_cutoff = 1; // the one made exactly at the cutoff, below
    for i in 0..23 {
        let at = T0 + Duration::seconds(i * 97);
        let order = created(&store, &new_order(Some(buyer((i % 3) as u8)), at)).await;
        if at >= cutoff {
            at_or_after_cutoff += 1;
            continue;
        }
        match i % 4 {
            // settled
            0 => {
                let outcome = store
                    .settle_order(&order.order_no, &settlement(&order, &format!("tx{i}")))
                    .await
                    .unwrap();
                assert!(matches!(outcome, SettleOutcome::Settled(_)), "{outcome:?}");
            }
            // closed, and some of them paid after that
            1 => {
                let outcome = store
                    .close_order(
                        &order.order_no,
                        &close_request(CloseReason::Expired, None, cutoff),
                    )
                    .await
                    .unwrap();
                assert!(matches!(outcome, CloseOutcome::Closed(_)), "{outcome:?}");
                if i % 8 == 1 {
                    let outcome = store
                        .settle_order(&order.order_no, &settlement(&order, &format!("tx{i}")))
                        .await
                        .unwrap();
                    assert!(
                        matches!(outcome, SettleOutcome::SettledAfterClose(_)),
                        "{outcome:?}"
                    );
                }
            }
            // still pending: prepaid with a link and a failed sweep…
            2 => {
                let holding = claimed(&store, &order, at + Duration::seconds(1)).await;
                let answer = prepay_answer(
                    holding.prepay_started_at.unwrap(),
                    Some(LINK_A),
                    at + Duration::seconds(2),
                );
                let outcome = store.answer_prepay(&order.order_no, &answer).await.unwrap();
                assert!(matches!(outcome, AnswerOutcome::Stored(_)), "{outcome:?}");
                store.record_sweep_failure(&order.order_no).await.unwrap();
                expected.insert(order.order_no.to_string());
                to_finish.push(stored(&store, &order.order_no).await);
            }
            // …or with a prepay in flight
            _ => {
                let holding = claimed(&store, &order, at + Duration::seconds(1)).await;
                expected.insert(order.order_no.to_string());
                to_finish.push(holding);
            }
        }
    }
    // exactly at the cutoff is not older than the cutoff
    created(&store, &new_order(None, cutoff)).await;
    assert!(expected.len() >= 8, "{}", expected.len());

    for limit in [3, 5, 100] {
        let listed = all_pending(&store, cutoff, limit).await;
        assert_eq!(listed.len(), expected.len(), "limit {limit}: no duplicates");
        assert_eq!(numbers(&listed), expected, "limit {limit}");
        assert!(
            listed
                .iter()
                .all(|o| o.order_status == OrderStatus::Notpay && o.created_at < cutoff)
        );
    }
    // Listed as they are.
    let mut listed = all_pending(&store, cutoff, 100).await;
    listed.sort_by(|a, b| a.order_no.as_str().cmp(b.order_no.as_str()));
    let mut current = to_finish.clone();
    current.sort_by(|a, b| a.order_no.as_str().cmp(b.order_no.as_str()));
    assert_eq!(listed, current);

    for (i, order) in to_finish.iter().enumerate() {
        if i % 2 == 0 {
            let outcome = store
                .settle_order(&order.order_no, &settlement(order, "tx-late"))
                .await
                .unwrap();
            assert!(matches!(outcome, SettleOutcome::Settled(_)), "{outcome:?}");
        } else {
            let request = close_request(
                CloseReason::CancelledByBuyer,
                order.prepay_started_at,
                cutoff,
            );
            let outcome = store.close_order(&order.order_no, &request).await.unwrap();
            assert!(matches!(outcome, CloseOutcome::Closed(_)), "{outcome:?}");
        }
    }
    assert!(all_pending(&store, cutoff, 4).await.is_empty());
    let later = all_pending(&store, cutoff + Duration::hours(1), 4).await;
    assert_eq!(
        later.len(),
        at_or_after_cutoff,
        "only orders not older than the cutoff remain"
    );
    assert!(later.iter().all(|o| o.created_at >= cutoff));
}

pub async fn same_idempotency_key_returns_same_order<S: Store>(store: S) {
    let claim = IdempotencyClaim {
        key: "buyer1-p1-key-A".into(),
        expires_at: T0 + Duration::days(1),
    };
    let first = new_order(Some(buyer(1)), T0);
    let again = new_order(Some(buyer(1)), T0 + Duration::seconds(5));
    assert_eq!(
        store.create_order(&first, Some(&claim)).await.unwrap(),
        CreateOutcome::Created(first.clone())
    );
    assert_eq!(
        store.create_order(&again, Some(&claim)).await.unwrap(),
        CreateOutcome::Existing(first.clone())
    );
    assert_eq!(
        store.get_order(&again.order_no).await.unwrap(),
        None,
        "nothing written"
    );
    let other_claim = IdempotencyClaim {
        key: "buyer1-p1-key-B".into(),
        ..claim
    };
    assert_eq!(
        store
            .create_order(&again, Some(&other_claim))
            .await
            .unwrap(),
        CreateOutcome::Created(again.clone())
    );
}

pub async fn concurrent_creates_with_same_idempotency_key_make_one_order<S: Store>(store: S) {
    let claim = IdempotencyClaim {
        key: "buyer1-p1-concurrent".into(),
        expires_at: T0 + Duration::days(1),
    };
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, claim) = (store.clone(), claim.clone());
            let order = new_order(Some(buyer(1)), T0);
            tokio::spawn(async move { store.create_order(&order, Some(&claim)).await.unwrap() })
        })
        .collect();
    let mut created_numbers = Vec::new();
    let mut existing_numbers = BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            CreateOutcome::Created(o) => created_numbers.push(o.order_no),
            CreateOutcome::Existing(o) => {
                existing_numbers.insert(o.order_no);
            }
        }
    }
    assert_eq!(created_numbers.len(), 1);
    assert!(existing_numbers.iter().all(|n| n == &created_numbers[0]));
    let listed = store
        .list_buyer_orders(&buyer(1), &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

pub async fn expired_idempotency_key_makes_a_new_order<S: Store>(store: S) {
    let claim = IdempotencyClaim {
        key: "buyer1-p1-short-lived".into(),
        expires_at: T0 + Duration::seconds(10),
    };
    let first = new_order(None, T0);
    store.create_order(&first, Some(&claim)).await.unwrap();
    let later = new_order(None, T0 + Duration::seconds(11));
    let renewed = IdempotencyClaim {
        expires_at: later.created_at + Duration::seconds(10),
        ..claim.clone()
    };
    assert_eq!(
        store.create_order(&later, Some(&renewed)).await.unwrap(),
        CreateOutcome::Created(later.clone())
    );
    let again = new_order(None, T0 + Duration::seconds(12));
    assert_eq!(
        store.create_order(&again, Some(&renewed)).await.unwrap(),
        CreateOutcome::Existing(later)
    );
}

pub async fn buyer_listing_is_newest_first_paged_and_never_another_buyers<S: Store>(store: S) {
    let mut mine = Vec::new();
    for i in 0..11 {
        let at = T0 + Duration::seconds(i * 10);
        mine.push(created(&store, &new_order(Some(buyer(1)), at)).await);
        created(
            &store,
            &new_order(Some(buyer(2)), at + Duration::seconds(1)),
        )
        .await;
        created(&store, &new_order(None, at + Duration::seconds(2))).await;
    }
    store
        .settle_order(&mine[3].order_no, &settlement(&mine[3], "tx3"))
        .await
        .unwrap();

    let mut listed = Vec::new();
    let mut page = PageRequest::first(4);
    let mut pages = 0;
    loop {
        let got = store.list_buyer_orders(&buyer(1), &page).await.unwrap();
        pages += 1;
        assert!(got.items.len() <= 4);
        listed.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest::after(4, cursor),
            None => break,
        }
    }
    assert!(pages >= 3);
    let mut expected: Vec<String> = mine.iter().rev().map(|o| o.order_no.to_string()).collect();
    expected.dedup();
    let got: Vec<String> = listed.iter().map(|o| o.order_no.to_string()).collect();
    assert_eq!(got, expected, "newest first, all of mine, nobody else's");
    assert!(listed.iter().all(|o| o.belongs_to(&buyer(1))));
    assert_eq!(
        listed
            .iter()
            .find(|o| o.order_no == mine[3].order_no)
            .unwrap()
            .order_status,
        OrderStatus::Success
    );
    let nobody = store
        .list_buyer_orders(&buyer(9), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(nobody.items.is_empty() && nobody.next.is_none());
}

pub async fn foreign_cursor_is_refused<S: Store>(store: S) {
    created(&store, &new_order(Some(buyer(1)), T0)).await;
    for token in ["not base64 !", "Zm9vYmFy", ""] {
        let page = PageRequest::after(5, Cursor::from_token(token));
        let pending = store
            .list_pending_orders(T0 + Duration::hours(1), &page)
            .await;
        assert!(
            matches!(pending, Err(StoreError::InvalidCursor)),
            "{token}: {pending:?}"
        );
        let mine = store.list_buyer_orders(&buyer(1), &page).await;
        assert!(
            matches!(mine, Err(StoreError::InvalidCursor)),
            "{token}: {mine:?}"
        );
    }
}

pub async fn catalog_puts_gets_and_lists_products<S: Store>(store: S) {
    assert!(store.list_products().await.unwrap().is_empty());
    let a = Product::new("a1", "Java 课程", 1).unwrap();
    let b = Product::new("b2", "Rust 课程", 2999).unwrap();
    store.put_product(&b).await.unwrap();
    store.put_product(&a).await.unwrap();
    assert_eq!(store.get_product("a1").await.unwrap(), Some(a.clone()));
    assert_eq!(store.get_product("zz").await.unwrap(), None);
    let repriced = Product::new("b2", "Rust 课程", 3999).unwrap();
    store.put_product(&repriced).await.unwrap();
    assert_eq!(store.list_products().await.unwrap(), vec![a, repriced]);
}

pub async fn catalog_remove_takes_a_product_off_and_keeps_its_orders<S: Store>(store: S) {
    let a = Product::new("a1", "Java 课程", 1).unwrap();
    let b = Product::new("b2", "Rust 课程", 2999).unwrap();
    store.put_product(&a).await.unwrap();
    store.put_product(&b).await.unwrap();
    let order = Order::new_pending(
        OrderNoGenerator::new(OsRandom).generate(T0).unwrap(),
        &b,
        None,
        T0,
        Duration::minutes(5),
    );
    store.create_order(&order, None).await.unwrap();

    assert!(store.remove_product("b2").await.unwrap());
    assert_eq!(store.get_product("b2").await.unwrap(), None);
    assert_eq!(store.list_products().await.unwrap(), vec![a.clone()]);
    assert!(!store.remove_product("b2").await.unwrap(), "already gone");
    assert!(!store.remove_product("a#1").await.unwrap(), "not an id");
    let kept = store.get_order(&order.order_no).await.unwrap().unwrap();
    assert_eq!((kept.title.as_str(), kept.total_fee), ("Rust 课程", 2999));

    assert!(store.remove_product("a1").await.unwrap());
    assert!(
        store.list_products().await.unwrap().is_empty(),
        "empty again"
    );
    store.put_product(&b).await.unwrap();
    assert_eq!(store.list_products().await.unwrap(), vec![b]);
}

pub async fn concurrent_catalog_puts_and_removes_lose_nothing<S: Store>(store: S) {
    let doomed: Vec<Product> = (0..6)
        .map(|i| Product::new(format!("old{i}"), "旧课程", 1).unwrap())
        .collect();
    for product in &doomed {
        store.put_product(product).await.unwrap();
    }
    let fresh: Vec<Product> = (0..12)
        .map(|i| Product::new(format!("new{i:02}"), "新课程", 100 + i).unwrap())
        .collect();
    let puts = futures::future::join_all(fresh.iter().map(|p| store.put_product(p)));
    let removes = futures::future::join_all(doomed.iter().map(|p| store.remove_product(&p.id)));
    let (puts, removes) = futures::join!(puts, removes);
    assert!(puts.into_iter().all(|r| r.is_ok()));
    assert!(removes.into_iter().all(|r| r.unwrap()));
    assert_eq!(store.list_products().await.unwrap(), fresh);
}
