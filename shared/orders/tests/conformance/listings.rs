//! Operator listings (the sparse `byStatus` index) every store keeps: an order is listed under the
//! refund state it is in, or as paid after close while still `SUCCESS`, and nowhere once it moves
//! on; pages are newest first and never repeat an order.

use std::collections::BTreeSet;

use orders::domain::refund::{RefundAsk, RefundReport};
use orders::domain::{Order, OrderListing, OrderStatus, RefundOrigin, RefundState};
use orders::ports::{
    AskOutcome, CloseReason, Cursor, ListedOrderLister, PageRequest, SettleOutcome, StoreError,
};
use time::{Duration, OffsetDateTime};

use super::refunds::RefundStore;
use super::{T0, close_request, new_order, settlement};

/// Everything a store offers, refunds and listings included.
pub trait ListingStore: RefundStore + ListedOrderLister {}
impl<T> ListingStore for T where T: RefundStore + ListedOrderLister {}

/// Generates one `#[tokio::test]` per listing behaviour, each with a fresh store from `$make`.
#[macro_export]
macro_rules! listing_conformance_tests {
    ($make:expr) => {
        $crate::listing_conformance_tests!($make, when true);
    };
    ($make:expr, when $can_run:expr) => {
        $crate::listing_conformance_tests!(@each $make, $can_run;
            orders_move_between_listings_with_their_refunds,
            paid_after_close_orders_are_listed_until_refunded,
            listings_page_newest_first_without_repeats,
        );
    };
    (@each $make:expr, $can_run:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if !$can_run {
                    return;
                }
                let store = $make.await;
                $crate::conformance::listings::$name(store).await;
            }
        )*
    };
}

async fn paid_order<S: ListingStore>(store: &S, created_at: OffsetDateTime) -> Order {
    let order = new_order(None, created_at);
    store.create_order(&order, None).await.unwrap();
    match store
        .settle_order(&order.order_no, &settlement(&order, "4200000001"))
        .await
        .unwrap()
    {
        SettleOutcome::Settled(paid) => paid,
        other => panic!("not settled: {other:?}"),
    }
}

async fn reserve<S: ListingStore>(store: &S, order: &Order, amount: i64) -> orders::domain::Refund {
    let ask = RefundAsk {
        amount,
        reason: None,
        origin: RefundOrigin::Merchant,
        requested_by: Some("local-admin".into()),
        idempotency_key: None,
        at: T0 + Duration::hours(1),
    };
    match store.ask_refund(&order.order_no, &ask).await.unwrap() {
        AskOutcome::Reserved { refund, .. } => refund,
        other => panic!("not reserved: {other:?}"),
    }
}

async fn report<S: ListingStore>(
    store: &S,
    refund: &orders::domain::Refund,
    state: RefundState,
) -> Order {
    let report = RefundReport {
        state,
        amount: refund.amount,
        refund_id: format!("5000{}", refund.out_refund_no),
        success_time: None,
        user_received_account: None,
        at: T0 + Duration::hours(2),
    };
    store
        .apply_refund_report(&refund.order_no, &refund.out_refund_no, &report)
        .await
        .unwrap();
    store.get_order(&refund.order_no).await.unwrap().unwrap()
}

/// The listings that hold `order`, read through the index.
async fn listings_of<S: ListingStore>(store: &S, order: &Order) -> Vec<OrderListing> {
    let mut found = Vec::new();
    for listing in OrderListing::ALL {
        let page = store
            .list_orders_in(listing, &PageRequest::first(100))
            .await
            .unwrap();
        if page.items.iter().any(|o| o.order_no == order.order_no) {
            found.push(listing);
        }
    }
    found
}

pub async fn orders_move_between_listings_with_their_refunds<S: ListingStore>(store: S) {
    let order = paid_order(&store, T0).await;
    assert_eq!(listings_of(&store, &order).await, []);

    let first = reserve(&store, &order, 500).await;
    assert_eq!(
        listings_of(&store, &order).await,
        [OrderListing::RefundProcessing]
    );
    let now = report(&store, &first, RefundState::Success).await;
    assert_eq!(now.order_status, OrderStatus::PartiallyRefunded);
    assert_eq!(
        listings_of(&store, &order).await,
        [OrderListing::PartiallyRefunded]
    );
    let listed = store
        .list_orders_in(OrderListing::PartiallyRefunded, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        listed.items,
        vec![now],
        "the listing holds the order as stored"
    );

    let rest = reserve(&store, &order, order.total_fee - 500).await;
    report(&store, &rest, RefundState::Abnormal).await;
    assert_eq!(
        listings_of(&store, &order).await,
        [OrderListing::RefundAbnormal]
    );
    let done = report(&store, &rest, RefundState::Success).await;
    assert_eq!(done.order_status, OrderStatus::Refunded);
    assert_eq!(listings_of(&store, &order).await, [OrderListing::Refunded]);
}

pub async fn paid_after_close_orders_are_listed_until_refunded<S: ListingStore>(store: S) {
    let late = new_order(None, T0);
    store.create_order(&late, None).await.unwrap();
    store
        .close_order(
            &late.order_no,
            &close_request(CloseReason::Expired, None, T0 + Duration::minutes(30)),
        )
        .await
        .unwrap();
    assert_eq!(listings_of(&store, &late).await, []);
    let outcome = store
        .settle_order(&late.order_no, &settlement(&late, "4200000009"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SettleOutcome::SettledAfterClose(_)),
        "{outcome:?}"
    );
    let on_time = paid_order(&store, T0 + Duration::seconds(1)).await;
    assert_eq!(
        listings_of(&store, &late).await,
        [OrderListing::PaidAfterClose]
    );
    assert_eq!(listings_of(&store, &on_time).await, []);

    let refund = reserve(&store, &late, late.total_fee).await;
    report(&store, &refund, RefundState::Success).await;
    assert_eq!(listings_of(&store, &late).await, [OrderListing::Refunded]);
}

pub async fn listings_page_newest_first_without_repeats<S: ListingStore>(store: S) {
    let mut expected = Vec::new();
    for i in 0..5 {
        let order = paid_order(&store, T0 + Duration::minutes(i)).await;
        let refund = reserve(&store, &order, 100).await;
        report(&store, &refund, RefundState::Success).await;
        expected.push(order.order_no);
    }
    // One order elsewhere: never in this listing.
    let other = paid_order(&store, T0 + Duration::minutes(10)).await;
    reserve(&store, &other, 100).await;
    expected.reverse();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store
            .list_orders_in(OrderListing::PartiallyRefunded, &page)
            .await
            .unwrap();
        assert!(got.items.len() <= 2);
        seen.extend(got.items.into_iter().map(|o| o.order_no));
        match got.next {
            Some(next) => page = PageRequest::after(2, next),
            None => break,
        }
    }
    assert_eq!(seen, expected, "newest first, each once");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 5);

    let forged = store
        .list_orders_in(
            OrderListing::PartiallyRefunded,
            &PageRequest::after(2, Cursor::from_token("bm90LWEtY3Vyc29y")),
        )
        .await;
    assert!(
        matches!(forged, Err(StoreError::InvalidCursor)),
        "{forged:?}"
    );
}
