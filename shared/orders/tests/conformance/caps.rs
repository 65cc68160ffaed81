//! The order caps, on every store: the rate counter and the idempotency lookup they rely on, and
//! `place_native_order` refusing with them (the real service, the in-memory WeChat Pay).

use std::sync::Arc;

use orders::domain::{Order, OrderNoGenerator, Product};
use orders::ports::{CloseOutcome, CloseReason, IdempotencyClaim, RateCounter, RateWindow};
use orders::services::{PlaceOrderError, PlaceOrderRequest, PlacedOrder, place_native_order};
use orders::testing::FakeWeChatPay;
use orders::{NotifyUrl, OrdersConfig};
use time::Duration;
use wxpay::random::OsRandom;
use wxpay::{Clock, FixedClock};

use super::{Store, T0, buyer, close_request, new_order};

/// Everything a store offers, the rate counter included.
pub trait CapStore: Store + RateCounter {}
impl<T> CapStore for T where T: Store + RateCounter {}

/// Generates one `#[tokio::test]` per cap behaviour, each with a fresh store from `$make`.
#[macro_export]
macro_rules! cap_conformance_tests {
    ($make:expr) => {
        $crate::cap_conformance_tests!($make, when true);
    };
    ($make:expr, when $can_run:expr) => {
        $crate::conformance_tests!(@each [$crate::conformance::caps] $make, $can_run;
            the_rate_counter_admits_the_limit_per_window_under_concurrency,
            a_claimed_key_names_its_order_until_it_expires,
            a_buyer_with_the_cap_of_open_orders_is_refused_but_replays_pass,
            anonymous_orders_are_capped_per_minute_but_replays_pass,
        );
    };
}

fn window(start_secs: i64, limit: u32) -> RateWindow {
    RateWindow {
        name: "test-orders",
        start: T0 + Duration::seconds(start_secs),
        length: Duration::MINUTE,
        limit,
    }
}

pub async fn the_rate_counter_admits_the_limit_per_window_under_concurrency<S: CapStore>(store: S) {
    let first = window(0, 3);
    let admitted = futures::future::join_all((0..10).map(|_| store.admit(&first))).await;
    let admitted = admitted
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(admitted, 3);
    assert!(!store.admit(&first).await.unwrap());
    let next = window(60, 3);
    assert!(
        store.admit(&next).await.unwrap(),
        "a new window starts empty"
    );
    let other = RateWindow {
        name: "other-orders",
        ..first
    };
    assert!(store.admit(&other).await.unwrap(), "each name counts alone");
}

pub async fn a_claimed_key_names_its_order_until_it_expires<S: CapStore>(store: S) {
    let order = new_order(Some(buyer(1)), T0);
    let claim = IdempotencyClaim {
        key: "scoped-key-1".into(),
        expires_at: T0 + Duration::hours(1),
    };
    store.create_order(&order, Some(&claim)).await.unwrap();
    let found = store.claimed_order("scoped-key-1", T0).await.unwrap();
    assert_eq!(found.map(|o| o.order_no), Some(order.order_no));
    assert_eq!(store.claimed_order("scoped-key-2", T0).await.unwrap(), None);
    let later = T0 + Duration::hours(1);
    assert_eq!(
        store.claimed_order("scoped-key-1", later).await.unwrap(),
        None
    );
}

struct Shop<S> {
    store: S,
    wechat: FakeWeChatPay,
    clock: Arc<FixedClock>,
    config: OrdersConfig,
}

impl<S: CapStore> Shop<S> {
    async fn new(store: S, per_buyer: u32, anonymous: u32) -> Self {
        store
            .put_product(&Product::new("1", "Java 课程", 100).unwrap())
            .await
            .unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let mut config = OrdersConfig::new("wxd678efh567hg6787", "1900007291");
        config.max_open_orders_per_buyer = per_buyer;
        config.anonymous_orders_per_minute = anonymous;
        Self {
            store,
            wechat: FakeWeChatPay::new(Arc::clone(&clock)),
            clock,
            config,
        }
    }

    async fn place(
        &self,
        buyer: Option<u8>,
        key: Option<&str>,
    ) -> Result<PlacedOrder, PlaceOrderError> {
        place_native_order(
            &self.store,
            &self.wechat,
            &*self.clock,
            &OrderNoGenerator::new(OsRandom),
            &self.config,
            &NotifyUrl::parse("https://shop.example/notify").unwrap(),
            &PlaceOrderRequest {
                product_id: "1".into(),
                buyer: buyer.map(super::buyer),
                idempotency_key: key.map(str::to_owned),
            },
        )
        .await
    }

    async fn placed(&self, buyer: Option<u8>, key: Option<&str>) -> Order {
        self.place(buyer, key).await.unwrap().order
    }
}

pub async fn a_buyer_with_the_cap_of_open_orders_is_refused_but_replays_pass<S: CapStore>(
    store: S,
) {
    let shop = Shop::new(store, 2, 0).await;
    let first = shop.placed(Some(1), Some("k1")).await;
    shop.clock.advance(Duration::seconds(10));
    shop.placed(Some(1), Some("k2")).await;
    let refused = shop.place(Some(1), Some("k3")).await;
    let Err(PlaceOrderError::TooManyOpenOrders {
        open,
        retry_after_secs,
    }) = refused
    else {
        panic!("expected TooManyOpenOrders, got {refused:?}");
    };
    assert_eq!(open, 2);
    // The first order expires 300 s after it was placed, 10 s ago.
    assert_eq!(retry_after_secs, 290);

    let replay = shop.place(Some(1), Some("k1")).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.order.order_no, first.order_no);
    shop.placed(Some(2), None).await;

    // Once one of them is no longer open, the buyer may order again.
    let closed = shop
        .store
        .close_order(
            &first.order_no,
            &close_request(
                CloseReason::CancelledByBuyer,
                first.prepay_started_at,
                shop.clock.now(),
            ),
        )
        .await
        .unwrap();
    assert!(matches!(closed, CloseOutcome::Closed(_)), "{closed:?}");
    shop.placed(Some(1), Some("k3")).await;
    assert!(shop.place(Some(1), None).await.is_err());
    // And once the open ones expired.
    shop.clock.advance(Duration::seconds(300));
    shop.placed(Some(1), None).await;
}

pub async fn anonymous_orders_are_capped_per_minute_but_replays_pass<S: CapStore>(store: S) {
    let shop = Shop::new(store, 1, 2).await;
    shop.clock.advance(Duration::seconds(15));
    let first = shop.placed(None, Some("a1")).await;
    shop.placed(None, None).await;
    let refused = shop.place(None, Some("a2")).await;
    let Err(PlaceOrderError::TooManyAnonymousOrders { retry_after_secs }) = refused else {
        panic!("expected TooManyAnonymousOrders, got {refused:?}");
    };
    assert_eq!(retry_after_secs, 45);
    let replay = shop.place(None, Some("a1")).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.order.order_no, first.order_no);
    // Buyers with a token are not counted here.
    shop.placed(Some(3), None).await;

    shop.clock.advance(Duration::seconds(45));
    shop.placed(None, Some("a2")).await;

    // A replay neither needs the product still in the catalog.
    assert!(shop.store.remove_product("1").await.unwrap());
    let replay = shop.place(None, Some("a1")).await.unwrap();
    assert_eq!(replay.order.order_no, first.order_no);
    assert!(matches!(
        shop.place(None, Some("a3")).await,
        Err(PlaceOrderError::UnknownProduct)
    ));
}
