//! One conformance suite for every store: the same behaviours, run against the embedded store and
//! against DynamoDB (moto). Each function takes a fresh, empty store.

use std::collections::BTreeSet;

use orders::domain::{
    BuyerHash, Order, OrderNo, OrderNoGenerator, OrderStatus, OsRandom, PaymentRecord, Product,
};
use orders::ports::{
    BuyerOrderLister, CloseOutcome, CloseReason, CodeUrlWriter, CreateOutcome, Cursor,
    IdempotencyClaim, OrderCloser, OrderCreator, OrderReader, OrderSettler, PageRequest,
    PaymentRecordReader, PendingOrderLister, ProductCatalog, SettleOutcome, Settlement, StoreError,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wxpay::models::{Payer, TradeState, Transaction, TransactionAmount};

/// Everything a store offers.
pub trait Store:
    OrderCreator
    + OrderReader
    + CodeUrlWriter
    + OrderSettler
    + OrderCloser
    + PaymentRecordReader
    + BuyerOrderLister
    + PendingOrderLister
    + ProductCatalog
    + Clone
    + 'static
{
}
impl<T> Store for T where
    T: OrderCreator
        + OrderReader
        + CodeUrlWriter
        + OrderSettler
        + OrderCloser
        + PaymentRecordReader
        + BuyerOrderLister
        + PendingOrderLister
        + ProductCatalog
        + Clone
        + 'static
{
}

/// Generates one `#[tokio::test]` per conformance behaviour, each with a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            created_order_reads_back_unchanged,
            duplicate_order_number_is_refused,
            code_url_is_stored,
            missing_order_has_no_transitions,
            settle_from_notpay_writes_order_and_one_payment_record,
            close_and_cancel_from_notpay_leave_pending,
            refused_transitions_change_nothing,
            concurrent_settles_with_same_transaction_settle_once,
            concurrent_settles_with_different_transactions_have_one_winner,
            settle_racing_close_and_cancel_has_one_winner,
            pending_listing_returns_only_old_notpay_orders_across_pages,
            same_idempotency_key_returns_same_order,
            concurrent_creates_with_same_idempotency_key_make_one_order,
            expired_idempotency_key_makes_a_new_order,
            buyer_listing_is_newest_first_paged_and_never_another_buyers,
            foreign_cursor_is_refused,
            catalog_puts_gets_and_lists_products,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = $make.await;
                conformance::$name(store).await;
            }
        )*
    };
}

pub const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

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
        success_time: Some("2024-05-01T08:01:00+08:00".into()),
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

async fn created<S: Store>(store: &S, order: &Order) -> Order {
    match store.create_order(order, None).await.unwrap() {
        CreateOutcome::Created(order) => order,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn status_of<S: Store>(store: &S, number: &OrderNo) -> OrderStatus {
    store.get_order(number).await.unwrap().unwrap().order_status
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
            let outcome = store
                .close_order(&order.order_no, reason, at + Duration::seconds(1))
                .await
                .unwrap();
            assert!(matches!(outcome, CloseOutcome::Closed(_)), "{outcome:?}");
        }
        other => panic!("no store operation reaches {other}"),
    }
    store.get_order(&order.order_no).await.unwrap().unwrap()
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
        Some(anonymous)
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

pub async fn code_url_is_stored<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let at = T0 + Duration::seconds(1);
    store
        .set_code_url(&order.order_no, "weixin://wxpay/bizpayurl?pr=abc", at)
        .await
        .unwrap();
    let read = store.get_order(&order.order_no).await.unwrap().unwrap();
    assert_eq!(
        read.code_url.as_deref(),
        Some("weixin://wxpay/bizpayurl?pr=abc")
    );
    assert_eq!(read.order_status, OrderStatus::Notpay);
    let missing = OrderNo::parse("missing-order-1").unwrap();
    let result = store.set_code_url(&missing, "weixin://x", at).await;
    assert!(
        matches!(result, Err(StoreError::OrderNotFound)),
        "{result:?}"
    );
    assert_eq!(store.get_order(&missing).await.unwrap(), None);
}

pub async fn missing_order_has_no_transitions<S: Store>(store: S) {
    let ghost = new_order(None, T0);
    let settle = store
        .settle_order(&ghost.order_no, &settlement(&ghost, "tx1"))
        .await
        .unwrap();
    assert_eq!(settle, SettleOutcome::NotFound);
    for reason in [CloseReason::Expired, CloseReason::CancelledByBuyer] {
        let close = store
            .close_order(&ghost.order_no, reason, T0)
            .await
            .unwrap();
        assert_eq!(close, CloseOutcome::NotFound);
    }
    assert_eq!(store.get_order(&ghost.order_no).await.unwrap(), None);
    assert!(
        store
            .payment_records(&ghost.order_no)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn settle_from_notpay_writes_order_and_one_payment_record<S: Store>(store: S) {
    let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
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
    assert_eq!(
        store.get_order(&order.order_no).await.unwrap(),
        Some(settled)
    );
    assert_eq!(
        store.payment_records(&order.order_no).await.unwrap(),
        vec![settle.record]
    );
}

pub async fn close_and_cancel_from_notpay_leave_pending<S: Store>(store: S) {
    for (reason, target) in [
        (CloseReason::Expired, OrderStatus::Closed),
        (CloseReason::CancelledByBuyer, OrderStatus::Cancelled),
    ] {
        let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
        let at = T0 + Duration::seconds(30);
        let outcome = store
            .close_order(&order.order_no, reason, at)
            .await
            .unwrap();
        let CloseOutcome::Closed(closed) = outcome else {
            panic!("expected Closed, got {outcome:?}");
        };
        assert_eq!(closed.order_status, target);
        assert_eq!(closed.updated_at, at);
        assert_eq!(
            store.get_order(&order.order_no).await.unwrap(),
            Some(closed)
        );
    }
    assert!(
        all_pending(&store, T0 + Duration::hours(1), 10)
            .await
            .is_empty()
    );
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

        let same = store
            .settle_order(&order.order_no, &settlement(&order, "tx-first"))
            .await
            .unwrap();
        let other = store
            .settle_order(&order.order_no, &settlement(&order, "tx-other"))
            .await
            .unwrap();
        let close = store
            .close_order(&order.order_no, CloseReason::Expired, later)
            .await
            .unwrap();
        let cancel = store
            .close_order(&order.order_no, CloseReason::CancelledByBuyer, later)
            .await
            .unwrap();

        match from {
            OrderStatus::Success => {
                assert_eq!(same, SettleOutcome::AlreadySettled(order.clone()));
                assert_eq!(other, SettleOutcome::Conflict(order.clone()));
                assert_eq!(close, CloseOutcome::NotPending(order.clone()));
                assert_eq!(cancel, CloseOutcome::NotPending(order.clone()));
            }
            OrderStatus::Closed => {
                assert_eq!(same, SettleOutcome::NotPending(order.clone()));
                assert_eq!(other, SettleOutcome::NotPending(order.clone()));
                assert_eq!(close, CloseOutcome::AlreadyClosed(order.clone()));
                assert_eq!(cancel, CloseOutcome::NotPending(order.clone()));
            }
            _ => {
                assert_eq!(same, SettleOutcome::NotPending(order.clone()));
                assert_eq!(other, SettleOutcome::NotPending(order.clone()));
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
        store.payment_records(&order.order_no).await.unwrap().len(),
        1
    );
    assert_eq!(
        status_of(&store, &order.order_no).await,
        OrderStatus::Success
    );
}

pub async fn concurrent_settles_with_different_transactions_have_one_winner<S: Store>(store: S) {
    let order = created(&store, &new_order(None, T0)).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, number) = (store.clone(), order.order_no.clone());
            let settle = settlement(&order, &format!("tx-{i}"));
            tokio::spawn(async move { store.settle_order(&number, &settle).await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            SettleOutcome::Settled(o) => winners.push(o.transaction_id.unwrap()),
            SettleOutcome::Conflict(_) => conflicts += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(conflicts, 49);
    let records = store.payment_records(&order.order_no).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].transaction_id, winners[0]);
    let stored = store.get_order(&order.order_no).await.unwrap().unwrap();
    assert_eq!(stored.transaction_id.as_ref(), Some(&winners[0]));
}

pub async fn settle_racing_close_and_cancel_has_one_winner<S: Store>(store: S) {
    for round in 0..8 {
        let order = created(&store, &new_order(Some(buyer(1)), T0)).await;
        let at = T0 + Duration::minutes(10);
        let settle = {
            let (store, number, s) = (
                store.clone(),
                order.order_no.clone(),
                settlement(&order, "tx-race"),
            );
            tokio::spawn(async move {
                matches!(
                    store.settle_order(&number, &s).await.unwrap(),
                    SettleOutcome::Settled(_)
                )
            })
        };
        let closers: Vec<_> = [CloseReason::Expired, CloseReason::CancelledByBuyer]
            .into_iter()
            .map(|reason| {
                let (store, number) = (store.clone(), order.order_no.clone());
                tokio::spawn(async move {
                    matches!(
                        store.close_order(&number, reason, at).await.unwrap(),
                        CloseOutcome::Closed(_)
                    )
                })
            })
            .collect();
        let settled = settle.await.unwrap();
        let mut wins = usize::from(settled);
        for closer in closers {
            wins += usize::from(closer.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}");
        let status = status_of(&store, &order.order_no).await;
        let records = store.payment_records(&order.order_no).await.unwrap();
        if settled {
            assert_eq!(status, OrderStatus::Success);
            assert_eq!(records.len(), 1);
        } else {
            assert!(
                matches!(status, OrderStatus::Closed | OrderStatus::Cancelled),
                "{status}"
            );
            assert!(records.is_empty());
        }
    }
}

pub async fn pending_listing_returns_only_old_notpay_orders_across_pages<S: Store>(store: S) {
    let cutoff = T0 + Duration::minutes(30);
    let mut expected = BTreeSet::new();
    let mut to_settle = Vec::new();
    let mut at_or_after_cutoff = 1; // the one made exactly at the cutoff, below
    for i in 0..23 {
        let at = T0 + Duration::seconds(i * 97);
        let order = created(&store, &new_order(Some(buyer((i % 3) as u8)), at)).await;
        if at >= cutoff {
            at_or_after_cutoff += 1;
        } else {
            match i % 4 {
                0 => {
                    store
                        .settle_order(&order.order_no, &settlement(&order, &format!("tx{i}")))
                        .await
                        .unwrap();
                }
                1 => {
                    store
                        .close_order(&order.order_no, CloseReason::Expired, cutoff)
                        .await
                        .unwrap();
                }
                _ => {
                    expected.insert(order.order_no.to_string());
                    to_settle.push(order);
                }
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

    for (i, order) in to_settle.iter().enumerate() {
        if i % 2 == 0 {
            store
                .settle_order(&order.order_no, &settlement(order, "tx-late"))
                .await
                .unwrap();
        } else {
            store
                .close_order(&order.order_no, CloseReason::CancelledByBuyer, cutoff)
                .await
                .unwrap();
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
