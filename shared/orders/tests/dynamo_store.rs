#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite against DynamoDB, through the DynamoDB API server named by
//! `AWS_ENDPOINT_URL_DYNAMODB` (moto in server mode). Fails, never skips, when it is unset.

mod conformance;
mod dynamo_support;

use dynamo_support::fresh_store;

conformance_tests!(fresh_store());

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
