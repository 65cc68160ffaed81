#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Refund notifications at the notification URL, without Lambda: signed and encrypted as WeChat
//! Pay sends them (`wxpay::testing`), over the embedded store (in memory, wrapped so that it can
//! fail) and the in-memory WeChat Pay that took the payment and the refund.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use orders::adapters::EmbeddedOrderStore;
use orders::domain::{Order, OrderNoGenerator, OrderStatus, Product, RefundOrigin, RefundState};
use orders::ports::{EvidenceRecorder, OrderReader, ProductWriter, RefundReader, Reported};
use orders::services::{
    PlaceOrderRequest, RefundCommand, place_native_order, request_refund, settle_transaction,
};
use orders::testing::{FakeWeChatPay, FaultyStore};
use orders::{NotifyUrl, OrdersConfig};
use pay_notify::handler::DEFAULT_DEADLINE;
use pay_notify::{Deps, NOTIFY_PATH, router};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;
use wxpay::keys::PrivateKey;
use wxpay::notify::RefundEvent;
use wxpay::random::OsRandom;
use wxpay::refund::{RefundResource, RefundResourceAmount, RefundStatus};
use wxpay::testing::{SignedNotification, signed_refund_notification};
use wxpay::{ApiV3Key, Clock, FixedClock, NotificationParser, Verifier};

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);
const APPID: &str = "wxd678efh567hg6787";
const MCHID: &str = "1900007291";
const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

/// WeChat Pay's signing key, made once (key generation is slow).
fn wechat_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

fn apiv3() -> ApiV3Key {
    "0123456789ABCDEFabcdef0123456789".parse().unwrap()
}

struct World {
    store: FaultyStore<EmbeddedOrderStore>,
    wechat: FakeWeChatPay,
    clock: Arc<FixedClock>,
    config: OrdersConfig,
    notify_url: NotifyUrl,
    router: Router,
}

async fn world() -> World {
    let store = FaultyStore::new(EmbeddedOrderStore::in_memory().unwrap());
    store
        .put_product(&Product::new("1", "Rust 课程", 2999).unwrap())
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let config = OrdersConfig::new(APPID, MCHID);
    let verifier = Verifier::with_public_key(KEY_ID, wechat_key().public_key().unwrap());
    let router = router(Arc::new(Deps {
        parser: NotificationParser::new(Arc::new(verifier), apiv3()),
        store: store.clone(),
        clock: Arc::clone(&clock),
        config: config.clone(),
        deadline: DEFAULT_DEADLINE,
    }));
    World {
        store,
        wechat: FakeWeChatPay::new(Arc::clone(&clock)),
        clock,
        config,
        notify_url: NotifyUrl::parse("https://shop.example/api/wx-pay/native/notify").unwrap(),
        router,
    }
}

impl World {
    /// A paid order of 2999 fen.
    async fn paid(&self) -> Order {
        let placed = place_native_order(
            self.store.inner(),
            &self.wechat,
            &self.clock,
            &OrderNoGenerator::new(OsRandom),
            &self.config,
            &self.notify_url,
            &PlaceOrderRequest {
                product_id: "1".into(),
                buyer: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
        let number = placed.order.order_no.to_string();
        self.wechat.pay(&number).unwrap();
        let tx = self.wechat.transaction(&number).unwrap();
        settle_transaction(self.store.inner(), &self.clock, &self.config, &tx)
            .await
            .unwrap();
        self.order(&placed.order).await
    }

    async fn order(&self, order: &Order) -> Order {
        self.store
            .inner()
            .get_order(&order.order_no)
            .await
            .unwrap()
            .unwrap()
    }

    /// A refund of `amount` asked for by the merchant, accepted by WeChat Pay (`PROCESSING`).
    async fn refund(&self, order: &Order, amount: i64) -> orders::domain::Refund {
        let command = RefundCommand {
            amount,
            reason: Some("课程取消".into()),
            origin: RefundOrigin::Merchant,
            requested_by: Some("local-admin".into()),
            idempotency_key: Some(format!("key-{amount}")),
        };
        request_refund(
            self.store.inner(),
            &self.wechat,
            &self.clock,
            &self.notify_url,
            &order.order_no,
            &command,
        )
        .await
        .unwrap()
        .refund
    }

    /// WeChat Pay's notification of refund `out_refund_no` ending in `status`, signed now.
    fn notification(
        &self,
        order: &Order,
        out_refund_no: &str,
        amount: i64,
        status: RefundStatus,
    ) -> SignedNotification {
        let resource = RefundResource {
            mchid: MCHID.into(),
            transaction_id: order.transaction_id.clone().unwrap(),
            out_trade_no: order.order_no.to_string(),
            // The id WeChat Pay gave the refund when it accepted it (a made-up one otherwise).
            refund_id: self
                .wechat
                .refund_of(out_refund_no)
                .map_or_else(|| format!("5030000000{out_refund_no}"), |r| r.refund_id),
            out_refund_no: out_refund_no.into(),
            refund_status: status.clone(),
            success_time: (status == RefundStatus::Success)
                .then(|| "2024-05-01T09:00:00+08:00".into()),
            user_received_account: Some("支付用户零钱".into()),
            amount: RefundResourceAmount {
                total: order.total_fee,
                refund: amount,
                payer_total: Some(order.total_fee),
                payer_refund: Some(amount),
            },
            extra: Default::default(),
        };
        self.signed(&resource, RefundEvent::of(&status).unwrap())
    }

    fn signed(&self, resource: &RefundResource, event: RefundEvent) -> SignedNotification {
        signed_refund_notification(
            wechat_key(),
            KEY_ID,
            &apiv3(),
            &format!("EV-{}", resource.out_refund_no),
            event,
            &serde_json::to_vec(resource).unwrap(),
            self.clock.now(),
        )
        .unwrap()
    }

    async fn post(&self, signed: SignedNotification) -> (StatusCode, Value) {
        let mut request = Request::post(NOTIFY_PATH)
            .header("content-type", "application/json")
            .body(Body::from(signed.body))
            .unwrap();
        request.headers_mut().extend(signed.headers);
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}

#[tokio::test]
async fn a_refund_notification_finishes_the_refund_once() {
    let w = world().await;
    let order = w.paid().await;
    let refund = w.refund(&order, 1000).await;
    let number = refund.out_refund_no.to_string();
    let (status, body) = w
        .post(w.notification(&order, &number, 1000, RefundStatus::Success))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], "SUCCESS");
    let held = w.order(&order).await;
    assert_eq!(held.order_status, OrderStatus::PartiallyRefunded);
    assert_eq!(held.refunded_fee, 1000);
    // A duplicate is acknowledged and changes nothing.
    let (status, _) = w
        .post(w.notification(&order, &number, 1000, RefundStatus::Success))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.order(&order).await, held);
}

#[tokio::test]
async fn abnormal_and_closed_outcomes_show_on_the_order() {
    let w = world().await;
    let order = w.paid().await;
    let stuck = w.refund(&order, 1000).await;
    w.clock.advance(time::Duration::minutes(1));
    let closed = w.refund(&order, 500).await;
    let (status, _) = w
        .post(w.notification(
            &order,
            stuck.out_refund_no.as_str(),
            1000,
            RefundStatus::Abnormal,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = w
        .post(w.notification(
            &order,
            closed.out_refund_no.as_str(),
            500,
            RefundStatus::Closed,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let held = w.order(&order).await;
    assert_eq!(held.order_status, OrderStatus::RefundAbnormal);
    assert_eq!(
        held.refunded_fee, 1000,
        "the closed refund released its 500"
    );
}

#[tokio::test]
async fn a_refund_made_in_the_merchant_platform_is_recorded_as_external() {
    let w = world().await;
    let order = w.paid().await;
    let (status, _) = w
        .post(w.notification(&order, "MANUAL-20240501-01", 2999, RefundStatus::Success))
        .await;
    assert_eq!(status, StatusCode::OK);
    let refunds = w.store.inner().refunds_of(&order.order_no).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].origin, RefundOrigin::External);
    assert_eq!(refunds[0].state, RefundState::Success);
    assert_eq!(w.order(&order).await.order_status, OrderStatus::Refunded);
}

#[tokio::test]
async fn forged_and_altered_refund_notifications_change_nothing() {
    let w = world().await;
    let order = w.paid().await;
    let refund = w.refund(&order, 1000).await;
    let before = w.order(&order).await;
    let genuine = w.notification(
        &order,
        refund.out_refund_no.as_str(),
        1000,
        RefundStatus::Success,
    );

    let mut altered = genuine.clone();
    altered.body = String::from_utf8(altered.body)
        .unwrap()
        .replacen('}', " }", 1)
        .into_bytes();
    let (status, _) = w.post(altered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let forger = PrivateKey::generate().unwrap();
    let forged = signed_refund_notification(
        &forger,
        KEY_ID,
        &apiv3(),
        "EV-forged",
        RefundEvent::Success,
        br#"{"mchid":"1900007291"}"#,
        w.clock.now(),
    )
    .unwrap();
    assert_eq!(w.post(forged).await.0, StatusCode::UNAUTHORIZED);

    // Stale: signed an hour ago.
    w.clock.set(T0 - time::Duration::hours(1));
    let stale = w.notification(
        &order,
        refund.out_refund_no.as_str(),
        1000,
        RefundStatus::Success,
    );
    w.clock.set(T0);
    assert_eq!(w.post(stale).await.0, StatusCode::UNAUTHORIZED);

    assert_eq!(w.order(&order).await, before);
    let held = w
        .store
        .inner()
        .get_refund(&order.order_no, &refund.out_refund_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.state, RefundState::Processing);
}

#[tokio::test]
async fn a_genuine_refund_for_another_merchant_or_unknown_order_is_kept_as_evidence() {
    let w = world().await;
    let order = w.paid().await;
    let mut resource = RefundResource {
        mchid: "1900000999".into(),
        transaction_id: order.transaction_id.clone().unwrap(),
        out_trade_no: order.order_no.to_string(),
        refund_id: "50300001".into(),
        out_refund_no: "R-OTHER-1".into(),
        refund_status: RefundStatus::Success,
        success_time: None,
        user_received_account: None,
        amount: RefundResourceAmount {
            total: 2999,
            refund: 100,
            payer_total: None,
            payer_refund: None,
        },
        extra: Default::default(),
    };
    let (status, _) = w.post(w.signed(&resource, RefundEvent::Success)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    resource.mchid = MCHID.into();
    resource.out_trade_no = "20240501000000000NoSuchOrd".into();
    let (status, _) = w.post(w.signed(&resource, RefundEvent::Success)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let evidence = w
        .store
        .inner()
        .evidence_for(order.order_no.as_str())
        .await
        .unwrap();
    assert_eq!(evidence.len(), 1);
    assert!(matches!(&evidence[0].reported, Reported::Refund(r) if r.mchid == "1900000999"));
    let unknown = w
        .store
        .inner()
        .evidence_for("20240501000000000NoSuchOrd")
        .await
        .unwrap();
    assert_eq!(unknown.len(), 1, "the unknown order's refund is kept too");
    assert_eq!(w.order(&order).await.refunded_fee, 0);
}

#[tokio::test]
async fn a_store_outage_is_a_retryable_failure() {
    let w = world().await;
    let order = w.paid().await;
    let refund = w.refund(&order, 1000).await;
    w.store.fail(true);
    let (status, body) = w
        .post(w.notification(
            &order,
            refund.out_refund_no.as_str(),
            1000,
            RefundStatus::Success,
        ))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "FAIL");
    w.store.fail(false);
    let (status, _) = w
        .post(w.notification(
            &order,
            refund.out_refund_no.as_str(),
            1000,
            RefundStatus::Success,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "WeChat Pay's retry is applied");
    assert_eq!(
        w.order(&order).await.order_status,
        OrderStatus::PartiallyRefunded
    );
}
