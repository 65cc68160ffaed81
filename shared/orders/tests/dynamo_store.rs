#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite against DynamoDB, through the DynamoDB API server named by
//! `AWS_ENDPOINT_URL_DYNAMODB` (moto in server mode). Fails, never skips, when it is unset.

mod conformance;
mod dynamo_support;

use dynamo_support::fresh_store;

conformance_tests!(fresh_store());
refund_conformance_tests!(fresh_store());

#[tokio::test]
async fn pending_and_buyer_listings_use_query_not_scan() {
    use orders::ports::{OrderCreator, PageRequest, PendingOrderLister};
    let store = fresh_store().await;
    for i in 0..6 {
        let at = conformance::T0 + time::Duration::seconds(i);
        let order = conformance::new_order(None, at);
        store.create_order(&order, None).await.unwrap();
    }
    store.reset_read_stats();
    let page = store
        .list_pending_orders(
            conformance::T0 + time::Duration::hours(1),
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 6);
    assert_eq!(
        store.read_stats().items_read,
        6,
        "reads only the pending index entries"
    );
}

#[tokio::test]
async fn refused_writes_are_told_apart_from_the_failed_write_alone() {
    use orders::ports::{
        AnswerOutcome, ClaimOutcome, CloseOutcome, CloseReason, OrderCloser, OrderCreator,
        OrderSettler, PrepayRecorder, SettleOutcome,
    };
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
