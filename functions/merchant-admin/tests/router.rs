#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The admin API's router, without Lambda: every HTTP status and envelope `code` it answers, over
//! the embedded store (in memory) and the in-memory WeChat Pay.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use lambda_init::testing::LogCapture;
use merchant_admin::handlers::IDEMPOTENCY_KEY;
use merchant_admin::state::MAX_BODY_BYTES;
use merchant_admin::{Deps, Principal, router};
use orders::adapters::EmbeddedOrderStore;
use orders::domain::{Order, OrderNoGenerator, Product};
use orders::ports::{GatewayError, OrderReader, ProductReader, ProductWriter, RefundReader};
use orders::services::{PlaceOrderRequest, place_native_order, settle_transaction};
use orders::testing::FakeWeChatPay;
use orders::{NotifyUrl, OrdersConfig};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;
use wxpay::FixedClock;
use wxpay::random::OsRandom;

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);
const NOTIFY_URL: &str = "https://shop.example/api/wx-pay/native/notify";
const ADMIN: &str = "arn:aws:iam::123456789012:user/refunds-clerk";

type State = Deps<EmbeddedOrderStore, FakeWeChatPay, Arc<FixedClock>>;

struct Api {
    state: Arc<State>,
    config: OrdersConfig,
    /// The router as a host serves it once it authenticated the caller as [`ADMIN`].
    router: Router,
}

impl Api {
    async fn new() -> Self {
        let store = EmbeddedOrderStore::in_memory().unwrap();
        store
            .put_product(&Product::new("2", "Rust 课程", 2999).unwrap())
            .await
            .unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let state = Arc::new(Deps {
            store,
            gateway: FakeWeChatPay::new(Arc::clone(&clock)),
            clock,
            notify_url: NotifyUrl::parse(NOTIFY_URL).unwrap(),
        });
        let router = router(Arc::clone(&state)).layer(axum::middleware::from_fn(
            |mut request: axum::extract::Request, next: axum::middleware::Next| async move {
                request.extensions_mut().insert(Principal(ADMIN.into()));
                next.run(request).await
            },
        ));
        Self {
            state,
            config: OrdersConfig::new("wxd678efh567hg6787", "1900007291"),
            router,
        }
    }

    /// An order placed at WeChat Pay, unpaid.
    async fn placed(&self) -> Order {
        place_native_order(
            &self.state.store,
            &self.state.gateway,
            &*self.state.clock,
            &OrderNoGenerator::new(OsRandom),
            &self.config,
            &self.state.notify_url,
            &PlaceOrderRequest {
                product_id: "2".into(),
                buyer: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap()
        .order
    }

    /// A paid order of 2999 fen.
    async fn paid(&self) -> Order {
        let order = self.placed().await;
        let number = order.order_no.to_string();
        self.state.gateway.pay(&number).unwrap();
        let transaction = self.state.gateway.transaction(&number).unwrap();
        settle_transaction(
            &self.state.store,
            &*self.state.clock,
            &self.config,
            &transaction,
        )
        .await
        .unwrap();
        order
    }

    async fn send_to(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        Self::send_to(&self.router, Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn send(&self, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        Self::send_to(&self.router, request).await
    }

    async fn refund(&self, order: &str, key: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("/admin/orders/{order}/refunds"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        Self::send_to(
            &self.router,
            request.body(Body::from(body.to_owned())).unwrap(),
        )
        .await
    }
}

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, message_has: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], i64::from(status.as_u16()), "{}", answer.1);
    let message = answer.1["message"].as_str().unwrap();
    assert!(
        message.contains(message_has),
        "{message:?} lacks {message_has:?}"
    );
}

#[tokio::test]
async fn a_refund_is_created_then_replayed_for_the_same_key() {
    let (logs, _guard) = LogCapture::start();
    let api = Api::new().await;
    let order = api.paid().await;
    let number = order.order_no.as_str();
    let body = r#"{"amount": 1000, "reason": "课程取消"}"#;

    let (status, first) = api.refund(number, Some("key-1"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["code"], 0);
    let refund = &first["data"]["refund"];
    assert_eq!(refund["outRefundNo"], format!("{number}R01"));
    assert_eq!(refund["status"], "PROCESSING");
    assert_eq!(refund["amount"], 1000);
    assert_eq!(refund["reason"], "课程取消");
    assert_eq!(refund["origin"], "MERCHANT");
    assert_eq!(refund["requestedBy"], ADMIN);
    assert!(refund["refundId"].is_string());
    assert_eq!(first["data"]["order"]["orderStatus"], "REFUND_PROCESSING");
    assert_eq!(first["data"]["order"]["refundableFee"], 1999);
    assert_eq!(api.state.gateway.refunded_total(number), 1000);

    let (status, again) = api.refund(number, Some("key-1"), body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["data"]["refund"]["outRefundNo"],
        refund["outRefundNo"]
    );
    assert_eq!(
        api.state.gateway.refunded_total(number),
        1000,
        "refunded once"
    );
    assert_eq!(api.state.gateway.refund_calls(), 1);

    let reused = api
        .refund(
            number,
            Some("key-1"),
            r#"{"amount": 999, "reason": "课程取消"}"#,
        )
        .await;
    assert_error(&reused, StatusCode::CONFLICT, "Idempotency-Key");

    let stored = api.state.store.refunds_of(&order.order_no).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].requested_by.as_deref(), Some(ADMIN));
    // Recorded once asked (SUBMITTING) and once accepted (PROCESSING); the replay records nothing.
    assert_eq!(logs.metric_total("RefundsRecorded", None), 2);
    assert_eq!(
        logs.metric_total("RefundsRecorded", Some(("State", "PROCESSING"))),
        1
    );
}

#[tokio::test]
async fn refunds_beyond_the_payment_or_of_unpaid_or_unknown_orders_are_refused() {
    let api = Api::new().await;
    let order = api.paid().await;
    let number = order.order_no.as_str();
    let (status, _) = api
        .refund(number, Some("a"), r#"{"amount": 2000, "reason": "部分"}"#)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let over = api
        .refund(number, Some("b"), r#"{"amount": 1000, "reason": "再退"}"#)
        .await;
    assert_error(&over, StatusCode::CONFLICT, "only 999 fen");
    assert_eq!(api.state.gateway.refunded_total(number), 2000);

    let unpaid = api.placed().await;
    let refused = api
        .refund(unpaid.order_no.as_str(), Some("c"), r#"{"amount": 1}"#)
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "not paid");

    let unknown = api
        .refund(
            "20240501000000000000000000000000",
            Some("d"),
            r#"{"amount": 1}"#,
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "order not found");
    let malformed = api.refund("x!", Some("d"), r#"{"amount": 1}"#).await;
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn malformed_refund_requests_are_answered_400_or_413() {
    let api = Api::new().await;
    let order = api.paid().await;
    let number = order.order_no.as_str();
    let no_key = api.refund(number, None, r#"{"amount": 1}"#).await;
    assert_error(&no_key, StatusCode::BAD_REQUEST, "Idempotency-Key");
    let bad_key = api
        .refund(number, Some("has space"), r#"{"amount": 1}"#)
        .await;
    assert_error(&bad_key, StatusCode::BAD_REQUEST, "Idempotency-Key");
    for body in [
        "",
        "{",
        r#"{"amount": "1"}"#,
        r#"{"amount": 1, "extra": 2}"#,
    ] {
        let answer = api.refund(number, Some("k"), body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "JSON");
    }
    for body in [r#"{"amount": 0}"#, r#"{"amount": -5}"#] {
        let answer = api.refund(number, Some("k"), body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "amount");
    }
    let long = json!({"amount": 1, "reason": "退".repeat(81)}).to_string();
    let answer = api.refund(number, Some("k"), &long).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "80 characters");
    let blank = api
        .refund(number, Some("k"), r#"{"amount": 1, "reason": " "}"#)
        .await;
    assert_error(&blank, StatusCode::BAD_REQUEST, "reason");

    let huge = format!(
        r#"{{"amount": 1, "reason": "{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (status, _) = api.refund(number, Some("k"), &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        api.state.gateway.refund_calls(),
        0,
        "nothing reached WeChat Pay"
    );
    assert!(
        api.state
            .store
            .refunds_of(&order.order_no)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unanswered_refund_is_accepted_202_and_a_refused_one_is_409_with_the_code() {
    let (logs, _guard) = LogCapture::start();
    let api = Api::new().await;
    let order = api.paid().await;
    let number = order.order_no.as_str();
    api.state
        .gateway
        .fail_refunds_with(Some(GatewayError::Timeout));
    let (status, body) = api.refund(number, Some("slow"), r#"{"amount": 100}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["data"]["refund"]["status"], "SUBMITTING");

    api.state
        .gateway
        .fail_refunds_with(Some(GatewayError::Rejected {
            status: 403,
            code: "NOT_ENOUGH".into(),
            message: "基本账户余额不足".into(),
        }));
    let refused = api.refund(number, Some("poor"), r#"{"amount": 100}"#).await;
    assert_error(&refused, StatusCode::CONFLICT, "NOT_ENOUGH");
    let held = api
        .state
        .store
        .get_order(&order.order_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        held.refunded_fee, 100,
        "only the unanswered refund holds money"
    );
    assert_eq!(
        logs.metric_total("RefundsRecorded", Some(("State", "SUBMITTING"))),
        2
    );
    assert_eq!(
        logs.metric_total("RefundsRecorded", Some(("State", "REJECTED"))),
        1
    );
    assert_eq!(logs.metric_total("RefundsNeedingAttention", None), 0);
}

#[tokio::test]
async fn an_order_is_shown_with_its_payment_and_refunds() {
    let api = Api::new().await;
    let order = api.paid().await;
    let number = order.order_no.as_str();
    api.refund(number, Some("a"), r#"{"amount": 500, "reason": "一"}"#)
        .await;
    api.refund(number, Some("b"), r#"{"amount": 700}"#).await;

    let (status, body) = api.get(&format!("/admin/orders/{number}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["order"]["orderNo"], number);
    assert_eq!(data["order"]["totalFee"], 2999);
    assert_eq!(data["order"]["refundedFee"], 1200);
    assert_eq!(data["order"]["refundCount"], 2);
    let payments = data["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["transaction"]["out_trade_no"], number);
    let refunds = data["refunds"].as_array().unwrap();
    let amounts: Vec<i64> = refunds
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [500, 700]);

    let missing = api
        .get("/admin/orders/20240501000000000000000000000000")
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "order not found");
    let malformed = api.get("/admin/orders/x!").await;
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn orders_are_listed_by_status_in_pages() {
    let api = Api::new().await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let order = api.paid().await;
        api.refund(order.order_no.as_str(), Some("k"), r#"{"amount": 1}"#)
            .await;
        numbers.push(order.order_no.to_string());
    }
    api.paid().await; // paid, not refunded: in no listing

    let mut seen = Vec::new();
    let mut uri = "/admin/orders?status=REFUND_PROCESSING&limit=2".to_owned();
    loop {
        let (status, body) = api.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["status"], "REFUND_PROCESSING");
        for order in body["data"]["list"].as_array().unwrap() {
            seen.push(order["orderNo"].as_str().unwrap().to_owned());
        }
        match body["data"]["nextCursor"].as_str() {
            Some(cursor) => {
                uri = format!("/admin/orders?status=REFUND_PROCESSING&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    seen.sort();
    numbers.sort();
    assert_eq!(seen, numbers);

    let (status, late) = api.get("/admin/orders?paidAfterClose=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(late["data"]["status"], "PAID_AFTER_CLOSE");
    assert_eq!(late["data"]["list"], json!([]));

    for uri in [
        "/admin/orders",
        "/admin/orders?status=SUCCESS",
        "/admin/orders?status=REFUNDED&paidAfterClose=true",
        "/admin/orders?paidAfterClose=yes",
        "/admin/orders?status=REFUNDED&limit=0",
        "/admin/orders?status=REFUNDED&limit=101",
        "/admin/orders?status=REFUNDED&cursor=bm9wZQ",
    ] {
        let answer = api.get(uri).await;
        assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{uri}: {}", answer.1);
        assert_eq!(answer.1["code"], 400);
    }
}

#[tokio::test]
async fn every_route_answers_401_without_a_principal() {
    let api = Api::new().await;
    let order = api.paid().await;
    let bare = router(Arc::clone(&api.state));
    let number = order.order_no.as_str();
    for request in [
        Request::get("/admin/orders?status=REFUNDED")
            .body(Body::empty())
            .unwrap(),
        Request::get(format!("/admin/orders/{number}"))
            .body(Body::empty())
            .unwrap(),
        Request::post(format!("/admin/orders/{number}/refunds"))
            .header(IDEMPOTENCY_KEY, "k")
            .body(Body::from(r#"{"amount": 1}"#))
            .unwrap(),
        Request::get("/admin/products").body(Body::empty()).unwrap(),
        Request::put("/admin/products/9")
            .body(Body::from(r#"{"id": "9", "title": "t", "price": 1}"#))
            .unwrap(),
        Request::delete("/admin/products/2")
            .body(Body::empty())
            .unwrap(),
    ] {
        let answer = Api::send_to(&bare, request).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "authentication");
    }
    assert_eq!(api.state.gateway.refund_calls(), 0);
    assert_eq!(api.state.store.list_products().await.unwrap().len(), 1);
}

#[tokio::test]
async fn products_are_added_replaced_listed_and_removed() {
    let api = Api::new().await;
    let added = api
        .send(
            Method::PUT,
            "/admin/products/go-101",
            r#"{"id": "go-101", "title": "Go 课程", "price": 1999, "currency": "CNY"}"#,
        )
        .await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    assert_eq!(
        added.1["data"],
        json!({"id": "go-101", "title": "Go 课程", "price": 1999})
    );
    let replaced = api
        .send(
            Method::PUT,
            "/admin/products/go-101",
            r#"{"id": "go-101", "title": "Go 课程", "price": 2999}"#,
        )
        .await;
    assert_eq!(replaced.0, StatusCode::OK, "{}", replaced.1);
    let (status, body) = api.get("/admin/products").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["list"],
        json!([
            {"id": "2", "title": "Rust 课程", "price": 2999},
            {"id": "go-101", "title": "Go 课程", "price": 2999},
        ])
    );

    let removed = api.send(Method::DELETE, "/admin/products/go-101", "").await;
    assert_eq!(removed.0, StatusCode::OK, "{}", removed.1);
    assert_eq!(api.state.store.get_product("go-101").await.unwrap(), None);
    let again = api.send(Method::DELETE, "/admin/products/go-101", "").await;
    assert_error(&again, StatusCode::NOT_FOUND, "product not found");
}

#[tokio::test]
async fn a_removed_product_keeps_its_orders() {
    let api = Api::new().await;
    let order = api.paid().await;
    let removed = api.send(Method::DELETE, "/admin/products/2", "").await;
    assert_eq!(removed.0, StatusCode::OK, "{}", removed.1);
    let (status, body) = api.get(&format!("/admin/orders/{}", order.order_no)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["order"]["title"], "Rust 课程");
    let refund = api
        .refund(
            order.order_no.as_str(),
            Some("k1"),
            r#"{"amount": 100, "reason": "r"}"#,
        )
        .await;
    assert_eq!(refund.0, StatusCode::CREATED, "{}", refund.1);
}

#[tokio::test]
async fn invalid_products_are_refused_400_and_nothing_is_written() {
    let api = Api::new().await;
    let cases = [
        (
            "a#b",
            r#"{"id": "a#b", "title": "t", "price": 1}"#,
            "product id",
        ),
        (
            "x",
            r#"{"id": "y", "title": "t", "price": 1}"#,
            "the one in the path",
        ),
        ("x", r#"{"id": "x", "title": "", "price": 1}"#, "title"),
        (
            "x",
            r#"{"id": "x", "title": "cake 🎂", "price": 1}"#,
            "emoji",
        ),
        ("x", r#"{"id": "x", "title": "t", "price": 0}"#, "price"),
        (
            "x",
            r#"{"id": "x", "title": "t", "price": 100000001}"#,
            "price",
        ),
        ("x", r#"{"id": "x", "title": "t", "price": 1.5}"#, "JSON"),
        (
            "x",
            r#"{"id": "x", "title": "t", "price": 1, "currency": "USD"}"#,
            "CNY",
        ),
        (
            "x",
            r#"{"id": "x", "title": "t", "price": 1, "colour": "red"}"#,
            "JSON",
        ),
        ("x", "not json", "JSON"),
    ];
    for (id, body, message) in cases {
        let answer = api
            .send(
                Method::PUT,
                &format!("/admin/products/{}", id.replace('#', "%23")),
                body,
            )
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, message);
    }
    let long = format!(
        r#"{{"id": "x", "title": "{}", "price": 1}}"#,
        "t".repeat(MAX_BODY_BYTES)
    );
    let answer = api.send(Method::PUT, "/admin/products/x", &long).await;
    assert_eq!(answer.0, StatusCode::PAYLOAD_TOO_LARGE);
    let removed = api.send(Method::DELETE, "/admin/products/a%23b", "").await;
    assert_error(&removed, StatusCode::BAD_REQUEST, "product id");
    assert_eq!(api.state.store.list_products().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_full_catalog_refuses_new_products_but_not_replacements() {
    let api = Api::new().await;
    for i in 1..orders::domain::product::MAX_PRODUCTS {
        let product = Product::new(format!("p{i:03}"), "课程", 100).unwrap();
        api.state.store.put_product(&product).await.unwrap();
    }
    let new = api
        .send(
            Method::PUT,
            "/admin/products/extra",
            r#"{"id": "extra", "title": "t", "price": 1}"#,
        )
        .await;
    assert_error(
        &new,
        StatusCode::CONFLICT,
        "the catalog is full (200 products)",
    );
    let replaced = api
        .send(
            Method::PUT,
            "/admin/products/p001",
            r#"{"id": "p001", "title": "新课程", "price": 200}"#,
        )
        .await;
    assert_eq!(replaced.0, StatusCode::OK, "{}", replaced.1);
    assert_eq!(api.state.store.list_products().await.unwrap().len(), 200);
}
