//! Refund behaviours every store follows (the rules are those of `orders::domain::refund`): the
//! totals hold under concurrency, reports apply once and never move a refund back, and WeChat
//! Pay's word is recorded whatever the totals.

use std::collections::BTreeSet;

use orders::domain::refund::{RefundAsk, RefundRefusal, RefundReport};
use orders::domain::{Order, OrderStatus, RefundNo, RefundOrigin, RefundState};
use orders::ports::{
    AskOutcome, OpenRefundLister, PageRequest, RefundReader, RefundRecorder, RefundRequester,
    RejectOutcome, ReportOutcome, SettleOutcome,
};
use time::{Duration, OffsetDateTime};

use super::{Store, T0, new_order, settlement};

/// Everything a store offers, refunds included.
pub trait RefundStore:
    Store + RefundRequester + RefundRecorder + RefundReader + OpenRefundLister
{
}
impl<T> RefundStore for T where
    T: Store + RefundRequester + RefundRecorder + RefundReader + OpenRefundLister
{
}

/// Generates one `#[tokio::test]` per refund behaviour, each with a fresh store from `$make`.
#[macro_export]
macro_rules! refund_conformance_tests {
    ($make:expr) => {
        $crate::refund_conformance_tests!($make, when true);
    };
    ($make:expr, when $can_run:expr) => {
        $crate::conformance_tests!(@each [$crate::conformance::refunds] $make, $can_run;
            a_refund_is_reserved_against_the_paid_order,
            refunds_beyond_the_payment_or_of_unpaid_orders_are_refused,
            the_same_idempotency_key_gives_the_same_refund,
            concurrent_refunds_never_exceed_the_payment,
            concurrent_asks_with_one_key_make_one_refund,
            reports_apply_once_and_never_move_a_refund_back,
            a_closed_refund_releases_its_amount,
            an_abnormal_refund_keeps_its_amount_until_resolved,
            a_refund_we_never_asked_for_is_recorded,
            only_a_submitting_refund_can_be_rejected,
            open_refunds_are_listed_by_age_across_pages,
            reports_for_unknown_orders_write_nothing,
            concurrent_reports_apply_once,
            a_refund_reported_before_the_payment_shows_once_settled,
        );
    };
}

/// A paid order of 1999 fen.
async fn paid_order<S: RefundStore>(store: &S, created_at: OffsetDateTime) -> Order {
    let order = new_order(None, created_at);
    store.create_order(&order, None).await.unwrap();
    let outcome = store
        .settle_order(&order.order_no, &settlement(&order, "4200000001"))
        .await
        .unwrap();
    let SettleOutcome::Settled(paid) = outcome else {
        panic!("not settled: {outcome:?}");
    };
    paid
}

fn asking(amount: i64, key: Option<&str>) -> RefundAsk {
    RefundAsk {
        amount,
        reason: Some("课程取消".into()),
        origin: RefundOrigin::Merchant,
        requested_by: Some("admin".into()),
        idempotency_key: key.map(str::to_owned),
        at: T0 + Duration::hours(1),
    }
}

fn reported(state: RefundState, amount: i64) -> RefundReport {
    RefundReport {
        state,
        amount,
        refund_id: "50000000382019052709732678859".into(),
        success_time: (state == RefundState::Success).then_some(T0 + Duration::hours(2)),
        user_received_account: Some("支付用户零钱".into()),
        at: T0 + Duration::hours(2),
    }
}

async fn reserve<S: RefundStore>(store: &S, order: &Order, amount: i64) -> orders::domain::Refund {
    match store
        .ask_refund(&order.order_no, &asking(amount, None))
        .await
        .unwrap()
    {
        AskOutcome::Reserved { refund, .. } => refund,
        other => panic!("not reserved: {other:?}"),
    }
}

async fn order_now<S: RefundStore>(store: &S, order: &Order) -> Order {
    store.get_order(&order.order_no).await.unwrap().unwrap()
}

pub async fn a_refund_is_reserved_against_the_paid_order<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 500).await;
    assert_eq!(refund.state, RefundState::Submitting);
    assert_eq!(refund.amount, 500);
    let held = order_now(&store, &order).await;
    assert_eq!(held.refunded_fee, 500);
    assert_eq!(held.refunds_open, 1);
    assert_eq!(held.order_status, OrderStatus::RefundProcessing);
    assert_eq!(
        store
            .get_refund(&order.order_no, &refund.out_refund_no)
            .await
            .unwrap(),
        Some(refund.clone())
    );
    assert_eq!(
        store.refunds_of(&order.order_no).await.unwrap(),
        vec![refund]
    );
}

pub async fn refunds_beyond_the_payment_or_of_unpaid_orders_are_refused<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    reserve(&store, &order, 1000).await;
    let outcome = store
        .ask_refund(&order.order_no, &asking(1000, None))
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            AskOutcome::Refused {
                why: RefundRefusal::ExceedsRemaining { remaining: 999 },
                ..
            }
        ),
        "{outcome:?}"
    );
    let unpaid = new_order(None, T0);
    store.create_order(&unpaid, None).await.unwrap();
    let outcome = store
        .ask_refund(&unpaid.order_no, &asking(1, None))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        AskOutcome::Refused {
            why: RefundRefusal::NotPaid(OrderStatus::Notpay),
            ..
        }
    ));
    assert!(store.refunds_of(&unpaid.order_no).await.unwrap().is_empty());
    assert_eq!(order_now(&store, &order).await.refunded_fee, 1000);
    let missing = new_order(None, T0);
    assert_eq!(
        store
            .ask_refund(&missing.order_no, &asking(1, None))
            .await
            .unwrap(),
        AskOutcome::NotFound
    );
}

pub async fn the_same_idempotency_key_gives_the_same_refund<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let AskOutcome::Reserved { refund, .. } = store
        .ask_refund(&order.order_no, &asking(300, Some("key-1")))
        .await
        .unwrap()
    else {
        panic!("not reserved");
    };
    let again = store
        .ask_refund(&order.order_no, &asking(300, Some("key-1")))
        .await
        .unwrap();
    assert_eq!(again, AskOutcome::Existing(refund.clone()));
    let other = store
        .ask_refund(&order.order_no, &asking(300, Some("key-2")))
        .await
        .unwrap();
    assert!(matches!(other, AskOutcome::Reserved { .. }));
    assert_eq!(order_now(&store, &order).await.refunded_fee, 600);
}

pub async fn concurrent_refunds_never_exceed_the_payment<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let asks = (0..10).map(|i| {
        let store = store.clone();
        let order_no = order.order_no.clone();
        tokio::spawn(async move {
            store
                .ask_refund(&order_no, &asking(600, Some(&format!("k{i}"))))
                .await
        })
    });
    let mut reserved = BTreeSet::new();
    for ask in asks {
        match ask.await.unwrap() {
            Ok(AskOutcome::Reserved { refund, .. }) => {
                reserved.insert(refund.out_refund_no);
            }
            Ok(AskOutcome::Refused {
                why: RefundRefusal::ExceedsRemaining { .. },
                ..
            }) => {}
            // DynamoDB gives up after repeated conflicts; the caller retries.
            Err(orders::ports::StoreError::Contention) => {}
            other => panic!("{other:?}"),
        }
    }
    let held = order_now(&store, &order).await;
    let refunds = store.refunds_of(&order.order_no).await.unwrap();
    let sum: i64 = refunds.iter().map(|r| r.amount).sum();
    assert!(reserved.len() <= 3, "1999 fen hold three refunds of 600");
    assert!(!reserved.is_empty());
    assert_eq!(refunds.len(), reserved.len());
    assert_eq!(sum, held.refunded_fee);
    assert!(sum <= order.total_fee);
    assert_eq!(held.refund_count as usize, refunds.len());
}

pub async fn concurrent_asks_with_one_key_make_one_refund<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let asks = (0..6).map(|_| {
        let store = store.clone();
        let order_no = order.order_no.clone();
        tokio::spawn(async move {
            store
                .ask_refund(&order_no, &asking(100, Some("same")))
                .await
        })
    });
    let mut numbers = BTreeSet::new();
    for ask in asks {
        match ask.await.unwrap() {
            Ok(AskOutcome::Reserved { refund, .. }) | Ok(AskOutcome::Existing(refund)) => {
                numbers.insert(refund.out_refund_no);
            }
            Err(orders::ports::StoreError::Contention) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(numbers.len(), 1);
    assert_eq!(store.refunds_of(&order.order_no).await.unwrap().len(), 1);
    assert_eq!(order_now(&store, &order).await.refunded_fee, 100);
}

pub async fn reports_apply_once_and_never_move_a_refund_back<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 1999).await;
    let number = &refund.out_refund_no;
    let processing = store
        .apply_refund_report(
            &order.order_no,
            number,
            &reported(RefundState::Processing, 1999),
        )
        .await
        .unwrap();
    assert!(matches!(
        processing,
        ReportOutcome::Applied {
            before: RefundState::Submitting,
            ..
        }
    ));
    let success = store
        .apply_refund_report(
            &order.order_no,
            number,
            &reported(RefundState::Success, 1999),
        )
        .await
        .unwrap();
    let ReportOutcome::Applied {
        order: done,
        refund: done_refund,
        ..
    } = success
    else {
        panic!("{success:?}");
    };
    assert_eq!(done.order_status, OrderStatus::Refunded);
    assert_eq!(done_refund.state, RefundState::Success);
    assert!(done_refund.success_time.is_some());
    for stale in [RefundState::Success, RefundState::Processing] {
        let outcome = store
            .apply_refund_report(&order.order_no, number, &reported(stale, 1999))
            .await
            .unwrap();
        assert!(
            matches!(
                (stale, &outcome),
                (RefundState::Success, ReportOutcome::Unchanged(_))
                    | (RefundState::Processing, ReportOutcome::Conflict(_))
            ),
            "{stale}: {outcome:?}"
        );
    }
    assert_eq!(order_now(&store, &order).await, done);
    let listed = store
        .list_open_refunds(T0 + Duration::days(1), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        listed.items.is_empty(),
        "a finished refund leaves the index"
    );
}

pub async fn a_closed_refund_releases_its_amount<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 1999).await;
    store
        .apply_refund_report(
            &order.order_no,
            &refund.out_refund_no,
            &reported(RefundState::Closed, 1999),
        )
        .await
        .unwrap();
    let held = order_now(&store, &order).await;
    assert_eq!(held.order_status, OrderStatus::Success);
    assert_eq!(held.refunded_fee, 0);
    // The amount can be refunded again, under a new number.
    let again = reserve(&store, &order, 1999).await;
    assert_ne!(again.out_refund_no, refund.out_refund_no);
}

pub async fn an_abnormal_refund_keeps_its_amount_until_resolved<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 999).await;
    store
        .apply_refund_report(
            &order.order_no,
            &refund.out_refund_no,
            &reported(RefundState::Abnormal, 999),
        )
        .await
        .unwrap();
    let held = order_now(&store, &order).await;
    assert_eq!(held.order_status, OrderStatus::RefundAbnormal);
    assert_eq!(held.refunded_fee, 999);
    store
        .apply_refund_report(
            &order.order_no,
            &refund.out_refund_no,
            &reported(RefundState::Success, 999),
        )
        .await
        .unwrap();
    assert_eq!(
        order_now(&store, &order).await.order_status,
        OrderStatus::PartiallyRefunded
    );
}

pub async fn a_refund_we_never_asked_for_is_recorded<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let number = RefundNo::parse("MANUAL-2024-0001").unwrap();
    let outcome = store
        .apply_refund_report(
            &order.order_no,
            &number,
            &reported(RefundState::Success, 1999),
        )
        .await
        .unwrap();
    let ReportOutcome::RecordedExternal {
        order: held,
        refund,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(refund.origin, RefundOrigin::External);
    assert_eq!(held.order_status, OrderStatus::Refunded);
    let again = store
        .apply_refund_report(
            &order.order_no,
            &number,
            &reported(RefundState::Success, 1999),
        )
        .await
        .unwrap();
    assert!(matches!(again, ReportOutcome::Unchanged(_)), "{again:?}");
    assert_eq!(order_now(&store, &order).await.refunded_fee, 1999);
}

pub async fn only_a_submitting_refund_can_be_rejected<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 500).await;
    let at = T0 + Duration::hours(1);
    let outcome = store
        .reject_refund(&order.order_no, &refund.out_refund_no, "NOT_ENOUGH", at)
        .await
        .unwrap();
    let RejectOutcome::Rejected {
        order: held,
        refund: rejected,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(held.refunded_fee, 0);
    assert_eq!(held.order_status, OrderStatus::Success);
    assert_eq!(rejected.failure.as_deref(), Some("NOT_ENOUGH"));
    assert!(matches!(
        store
            .reject_refund(&order.order_no, &refund.out_refund_no, "again", at)
            .await
            .unwrap(),
        RejectOutcome::NotSubmitting(_)
    ));
    let other = reserve(&store, &order, 500).await;
    store
        .apply_refund_report(
            &order.order_no,
            &other.out_refund_no,
            &reported(RefundState::Processing, 500),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .reject_refund(&order.order_no, &other.out_refund_no, "late", at)
            .await
            .unwrap(),
        RejectOutcome::NotSubmitting(_)
    ));
    let unknown = RefundNo::parse("NOPE").unwrap();
    assert_eq!(
        store
            .reject_refund(&order.order_no, &unknown, "x", at)
            .await
            .unwrap(),
        RejectOutcome::NotFound
    );
}

pub async fn open_refunds_are_listed_by_age_across_pages<S: RefundStore>(store: S) {
    let mut open = BTreeSet::new();
    for i in 0..5 {
        let order = paid_order(&store, T0 + Duration::seconds(i)).await;
        let refund = reserve(&store, &order, 10).await;
        open.insert(refund.out_refund_no);
        // A finished refund on the same order stays out of the listing.
        let done = reserve(&store, &order, 10).await;
        store
            .apply_refund_report(
                &order.order_no,
                &done.out_refund_no,
                &reported(RefundState::Success, 10),
            )
            .await
            .unwrap();
    }
    let mut seen = BTreeSet::new();
    let mut page = PageRequest::first(2);
    loop {
        let listed = store
            .list_open_refunds(T0 + Duration::days(1), &page)
            .await
            .unwrap();
        assert!(listed.items.len() <= 2);
        seen.extend(listed.items.into_iter().map(|r| r.out_refund_no));
        match listed.next {
            Some(cursor) => page = PageRequest::after(2, cursor),
            None => break,
        }
    }
    assert_eq!(seen, open);
    let none_yet = store
        .list_open_refunds(T0, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        none_yet.items.is_empty(),
        "asked at T0 + 1 h, so none is older than T0"
    );
}

pub async fn reports_for_unknown_orders_write_nothing<S: RefundStore>(store: S) {
    let missing = new_order(None, T0);
    let number = RefundNo::parse("R1").unwrap();
    assert_eq!(
        store
            .apply_refund_report(
                &missing.order_no,
                &number,
                &reported(RefundState::Success, 1)
            )
            .await
            .unwrap(),
        ReportOutcome::OrderNotFound
    );
    assert!(
        store
            .refunds_of(&missing.order_no)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn concurrent_reports_apply_once<S: RefundStore>(store: S) {
    let order = paid_order(&store, T0).await;
    let refund = reserve(&store, &order, 700).await;
    let reports = (0..6).map(|i| {
        let store = store.clone();
        let order_no = order.order_no.clone();
        let number = refund.out_refund_no.clone();
        let state = if i % 2 == 0 {
            RefundState::Success
        } else {
            RefundState::Processing
        };
        tokio::spawn(async move {
            store
                .apply_refund_report(&order_no, &number, &reported(state, 700))
                .await
        })
    });
    for report in reports {
        match report.await.unwrap() {
            Ok(_) | Err(orders::ports::StoreError::Contention) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let held = order_now(&store, &order).await;
    let stored = store
        .get_refund(&order.order_no, &refund.out_refund_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.state,
        RefundState::Success,
        "some SUCCESS report won"
    );
    assert_eq!(held.refunded_fee, 700);
    assert_eq!(held.refunds_open, 0);
    assert_eq!(held.order_status, OrderStatus::PartiallyRefunded);
}

pub async fn a_refund_reported_before_the_payment_shows_once_settled<S: RefundStore>(store: S) {
    let order = new_order(None, T0);
    store.create_order(&order, None).await.unwrap();
    let number = RefundNo::parse("MANUAL-EARLY").unwrap();
    let outcome = store
        .apply_refund_report(
            &order.order_no,
            &number,
            &reported(RefundState::Processing, 500),
        )
        .await
        .unwrap();
    let ReportOutcome::RecordedExternal { order: held, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(held.order_status, OrderStatus::Notpay, "not paid here yet");
    let settled = store
        .settle_order(&order.order_no, &settlement(&order, "4200000009"))
        .await
        .unwrap();
    let SettleOutcome::Settled(paid) = settled else {
        panic!("{settled:?}");
    };
    assert_eq!(paid.order_status, OrderStatus::RefundProcessing);
    assert_eq!(paid.refunded_fee, 500);
    assert_eq!(order_now(&store, &order).await, paid);
}
