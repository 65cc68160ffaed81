#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite against DynamoDB, through the DynamoDB API server named by
//! `AWS_ENDPOINT_URL_DYNAMODB` (moto in server mode). Skipped, saying so, when it is unset;
//! `tests/run-all.sh` checks that it ran.

mod conformance;
mod dynamo_support;

use dynamo_support::{can_run, fresh_store};

conformance_tests!(fresh_store(), when can_run());
refund_conformance_tests!(fresh_store(), when can_run());
listing_conformance_tests!(fresh_store(), when can_run());
cap_conformance_tests!(fresh_store(), when can_run());

#[tokio::test]
async fn pending_and_buyer_listings_use_query_not_scan() {
    use orders::ports::{
        BuyerOrderLister, OrderCreator, OrderSettler, PageRequest, PendingOrderLister,
    };
    if !can_run() {
        return;
    }
    let store = fresh_store().await;
    // Orders of two buyers and of none, half of them settled (each with its payment record): a
    // Scan, or a Query over the wrong index, would read the items a listing must leave alone.
    let buyers = [
        None,
        Some(conformance::buyer(1)),
        Some(conformance::buyer(2)),
    ];
    let (mut pending, mut first_buyers) = (Vec::new(), Vec::new());
    for i in 0..12 {
        let buyer = buyers[i % 3].clone();
        let at = conformance::T0 + time::Duration::seconds(i64::try_from(i).unwrap());
        let order = conformance::new_order(buyer.clone(), at);
        store.create_order(&order, None).await.unwrap();
        if i % 2 == 0 {
            let settlement = conformance::settlement(&order, &format!("42000000{i:02}"));
            store
                .settle_order(&order.order_no, &settlement)
                .await
                .unwrap();
        } else {
            pending.push(order.order_no.clone());
        }
        if buyer == buyers[1] {
            first_buyers.push(order.order_no.clone());
        }
    }
    pending.sort();
    first_buyers.reverse(); // newest first

    store.reset_read_stats();
    let page = store
        .list_pending_orders(
            conformance::T0 + time::Duration::hours(1),
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    let mut listed: Vec<_> = page.items.iter().map(|o| o.order_no.clone()).collect();
    listed.sort();
    assert_eq!(listed, pending);
    assert_eq!(
        store.read_stats().items_read,
        6,
        "reads only the pending index entries"
    );

    store.reset_read_stats();
    let page = store
        .list_buyer_orders(buyers[1].as_ref().unwrap(), &PageRequest::first(100))
        .await
        .unwrap();
    let listed: Vec<_> = page.items.iter().map(|o| o.order_no.clone()).collect();
    assert_eq!(listed, first_buyers);
    assert_eq!(
        store.read_stats().items_read,
        4,
        "reads only the buyer's index entries"
    );
}

#[tokio::test]
async fn refused_writes_are_told_apart_from_the_failed_write_alone() {
    use orders::ports::{
        AnswerOutcome, ClaimOutcome, CloseOutcome, CloseReason, OrderCloser, OrderCreator,
        OrderSettler, PrepayRecorder, SettleOutcome,
    };
    if !can_run() {
        return;
    }
    let store = fresh_store().await;
    let t0 = conformance::T0;
    let order = conformance::new_order(None, t0);
    store.create_order(&order, None).await.unwrap();
    let first = conformance::settlement(&order, "tx-1");
    store.settle_order(&order.order_no, &first).await.unwrap();
    let pending = conformance::new_order(None, t0);
    store.create_order(&pending, None).await.unwrap();
    let claim = conformance::prepay_claim(&pending, t0 + time::Duration::seconds(1));
    store.claim_prepay(&pending.order_no, &claim).await.unwrap();

    store.reset_read_stats();
    let again = store.settle_order(&order.order_no, &first).await.unwrap();
    assert!(
        matches!(again, SettleOutcome::AlreadySettled(_)),
        "{again:?}"
    );
    let other = conformance::settlement(&order, "tx-2");
    let double = store.settle_order(&order.order_no, &other).await.unwrap();
    assert!(
        matches!(double, SettleOutcome::DoublePayment(_)),
        "{double:?}"
    );
    let close = store
        .close_order(
            &order.order_no,
            &conformance::close_request(CloseReason::Expired, None, t0),
        )
        .await
        .unwrap();
    assert!(matches!(close, CloseOutcome::NotPending(_)), "{close:?}");
    let busy = store
        .claim_prepay(
            &pending.order_no,
            &conformance::prepay_claim(&pending, claim.at),
        )
        .await
        .unwrap();
    assert!(matches!(busy, ClaimOutcome::Busy(_)), "{busy:?}");
    let superseded = store
        .answer_prepay(
            &pending.order_no,
            &conformance::prepay_answer(t0, Some("weixin://old"), claim.at),
        )
        .await
        .unwrap();
    assert!(
        matches!(superseded, AnswerOutcome::Superseded(_)),
        "{superseded:?}"
    );
    let moved = store
        .close_order(
            &pending.order_no,
            &conformance::close_request(CloseReason::Expired, None, claim.at),
        )
        .await
        .unwrap();
    assert!(matches!(moved, CloseOutcome::PrepayMoved(_)), "{moved:?}");
    assert_eq!(
        store.read_stats().items_read,
        0,
        "ALL_OLD on the failed condition carried the order: no extra read"
    );
}
