#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The storefront API's router, without Lambda: every HTTP status and envelope `code` it answers,
//! over the embedded store (in memory, wrapped so that it can fail) and the in-memory WeChat Pay.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use lambda_init::testing::LogCapture;
use native_order::envelope::{TOO_MANY_ANONYMOUS_ORDERS, TOO_MANY_OPEN_ORDERS};
use native_order::handlers::{BUYER_TOKEN, IDEMPOTENCY_KEY};
use native_order::state::MAX_BODY_BYTES;
use native_order::{Deps, router};
use orders::adapters::EmbeddedOrderStore;
use orders::domain::RefundOrigin;
use orders::domain::{CloseReason, CloseRequest, OrderNo, OrderNoGenerator, Product};
use orders::ports::{CloseOutcome, GatewayError, OrderCloser, OrderReader, ProductWriter};
use orders::services::refund::{answer_report, apply_report};
use orders::services::{RefundCommand, SettleResult, request_refund, settle_transaction};
use orders::testing::{FakeWeChatPay, FaultyStore, PrepayTimeout};
use orders::{NotifyUrl, OrdersConfig};
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;
use wxpay::{Clock, FixedClock};

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);
const ORIGIN: &str = "https://shop.example";
const NOTIFY_URL: &str = "https://shop.example/api/wx-pay/native/notify";
const ALICE: &str = "storefront-buyer-token-alice";
const BOB: &str = "storefront-buyer-token-bob";

type Store = FaultyStore<EmbeddedOrderStore>;
type State = Deps<Store, FakeWeChatPay, Arc<FixedClock>>;

struct Api {
    state: Arc<State>,
    router: Router,
}

impl Api {
    async fn new() -> Self {
        Self::with_caps(0, 0).await
    }

    /// With `MAX_OPEN_ORDERS_PER_BUYER` and `ANONYMOUS_ORDERS_PER_MINUTE` set.
    async fn with_caps(per_buyer: u32, anonymous: u32) -> Self {
        let store = FaultyStore::new(EmbeddedOrderStore::in_memory().unwrap());
        for product in [
            Product::new("1", "Java 课程", 1).unwrap(),
            Product::new("2", "Rust 课程", 2999).unwrap(),
        ] {
            store.put_product(&product).await.unwrap();
        }
        let clock = Arc::new(FixedClock::new(T0));
        let state = Arc::new(Deps {
            store,
            gateway: FakeWeChatPay::new(Arc::clone(&clock)),
            clock,
            config: OrdersConfig {
                max_open_orders_per_buyer: per_buyer,
                anonymous_orders_per_minute: anonymous,
                ..OrdersConfig::new("wxd678efh567hg6787", "1900007291")
            },
            notify_url: NotifyUrl::parse(NOTIFY_URL).unwrap(),
            order_numbers: OrderNoGenerator::default(),
        });
        let router = router(Arc::clone(&state), Some(HeaderValue::from_static(ORIGIN)));
        Self { state, router }
    }

    fn wechat(&self) -> &FakeWeChatPay {
        &self.state.gateway
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    async fn get(&self, uri: &str, buyer: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::get(uri);
        if let Some(token) = buyer {
            request = request.header(BUYER_TOKEN, token);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn place(
        &self,
        product: &str,
        buyer: Option<&str>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post(format!("/api/wx-pay/native/{product}"));
        if let Some(token) = buyer {
            request = request.header(BUYER_TOKEN, token);
        }
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Places an order that gets its QR code; returns its number.
    async fn placed(&self, buyer: Option<&str>, key: Option<&str>) -> String {
        let (status, body) = self.place("2", buyer, key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["orderNo"].as_str().unwrap().to_owned()
    }

    async fn status_of(&self, order_no: &str) -> (StatusCode, Value) {
        self.get(
            &format!("/api/order-info/query-order-status/{order_no}"),
            None,
        )
        .await
    }

    async fn cancel(&self, order_no: &str, buyer: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post(format!("/api/wx-pay/cancel/{order_no}"));
        if let Some(token) = buyer {
            request = request.header(BUYER_TOKEN, token);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// The shopper pays at WeChat Pay and the notification settles the order.
    async fn pay_and_settle(&self, order_no: &str) {
        self.wechat().pay(order_no).unwrap();
        let transaction = self.wechat().transaction(order_no).unwrap();
        let result = settle_transaction(
            self.state.store.inner(),
            &self.state.clock,
            &self.state.config,
            &transaction,
        )
        .await
        .unwrap();
        assert!(matches!(result, SettleResult::Settled(_)), "{result:?}");
    }

    /// Closes the order in our store as the sweep does once WeChat Pay confirmed it.
    async fn close_expired(&self, order_no: &str) {
        let no = OrderNo::parse(order_no).unwrap();
        let store = self.state.store.inner();
        let order = store.get_order(&no).await.unwrap().unwrap();
        let request = CloseRequest {
            reason: CloseReason::Expired,
            prepay_seen: order.prepay_started_at,
            at: self.state.clock.now(),
        };
        let outcome = store.close_order(&no, &request).await.unwrap();
        assert!(matches!(outcome, CloseOutcome::Closed(_)), "{outcome:?}");
    }
}

/// The envelope's `code` and `message`, checked against the HTTP status.
fn assert_answer(answer: &(StatusCode, Value), status: StatusCode, code: i64) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
    if code != 0 && status != StatusCode::OK {
        assert_eq!(body["data"], Value::Null, "errors carry no data: {body}");
    }
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The fields of the public order view (the storefront, the tests and the tutorial's front end
/// read them): nothing more, nothing less.
const ORDER_VIEW: [&str; 9] = [
    "createdAt",
    "expiresAt",
    "orderNo",
    "orderStatus",
    "productId",
    "refundedFee",
    "successTime",
    "title",
    "totalFee",
];

fn assert_order_view(view: &Value) {
    assert_eq!(keys(view), ORDER_VIEW, "{view}");
}

// ---- products ----

#[tokio::test]
async fn product_list_has_server_side_prices() {
    let api = Api::new().await;
    let answer = api.get("/api/product/list", None).await;
    assert_answer(&answer, StatusCode::OK, 0);
    let list = answer.1["data"]["productList"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["id"], "2");
    assert_eq!(list[1]["title"], "Rust 课程");
    assert_eq!(list[1]["price"], 2999);
}

#[tokio::test]
async fn a_failing_store_answers_503_on_every_route() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    api.state.store.fail(true);
    for answer in [
        api.get("/api/product/list", None).await,
        api.place("2", None, None).await,
        api.status_of(&order_no).await,
        api.get("/api/order-info/list", Some(ALICE)).await,
        api.cancel(&order_no, Some(ALICE)).await,
    ] {
        assert_answer(&answer, StatusCode::SERVICE_UNAVAILABLE, 503);
        assert_eq!(answer.1["message"], "service unavailable, please try again");
    }
}

// ---- placing an order ----

#[tokio::test]
async fn placing_an_order_answers_its_qr_code_and_view() {
    let api = Api::new().await;
    let answer = api.place("2", None, None).await;
    assert_answer(&answer, StatusCode::OK, 0);
    let data = &answer.1["data"];
    let mut expected: Vec<&str> = ORDER_VIEW
        .iter()
        .copied()
        .chain(["codeUrl", "qrSvg", "replayed"])
        .collect();
    expected.sort_unstable();
    assert_eq!(keys(data), expected, "{data}");
    assert_eq!(data["orderStatus"], "NOTPAY");
    assert_eq!(data["productId"], "2");
    assert_eq!(data["title"], "Rust 课程");
    assert_eq!(data["totalFee"], 2999);
    assert_eq!(data["replayed"], false);
    assert_eq!(data["successTime"], Value::Null);
    assert_eq!(data["createdAt"], "2024-05-01T08:00:00+08:00");
    assert_eq!(data["expiresAt"], "2024-05-01T08:05:00+08:00");
    let order_no = data["orderNo"].as_str().unwrap();
    assert_eq!(
        data["codeUrl"].as_str(),
        api.wechat().current_code_url(order_no).as_deref()
    );
    assert!(data["qrSvg"].as_str().unwrap().contains("<svg"));
    let prepay = api.wechat().last_prepay(order_no).unwrap();
    assert_eq!(prepay.notify_url, NOTIFY_URL);
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order() {
    let (logs, _guard) = LogCapture::start();
    let api = Api::new().await;
    let first = api.place("2", Some(ALICE), Some("key-1")).await;
    assert_answer(&first, StatusCode::OK, 0);
    let again = api.place("2", Some(ALICE), Some("key-1")).await;
    assert_answer(&again, StatusCode::OK, 0);
    assert_eq!(again.1["data"]["orderNo"], first.1["data"]["orderNo"]);
    assert_eq!(again.1["data"]["replayed"], true);
    // Another buyer's key of the same text names another order.
    let bob = api.place("2", Some(BOB), Some("key-1")).await;
    assert_answer(&bob, StatusCode::OK, 0);
    assert_ne!(bob.1["data"]["orderNo"], first.1["data"]["orderNo"]);
    assert_eq!(bob.1["data"]["replayed"], false);
    // Two orders placed (Alice's and Bob's), one answered again.
    assert_eq!(logs.metric_total("OrdersPlaced", None), 2);
    assert_eq!(logs.metric_total("OrderReplays", None), 1);
}

#[tokio::test]
async fn replaying_a_paid_cancelled_or_expired_order_is_a_conflict() {
    let api = Api::new().await;
    let paid = api.placed(Some(ALICE), Some("paid")).await;
    api.pay_and_settle(&paid).await;
    let answer = api.place("2", Some(ALICE), Some("paid")).await;
    assert_answer(&answer, StatusCode::CONFLICT, 409);
    assert_eq!(
        answer.1["message"],
        "the order for this Idempotency-Key is SUCCESS"
    );

    let cancelled = api.placed(Some(ALICE), Some("cancelled")).await;
    assert_answer(
        &api.cancel(&cancelled, Some(ALICE)).await,
        StatusCode::OK,
        0,
    );
    let answer = api.place("2", Some(ALICE), Some("cancelled")).await;
    assert_answer(&answer, StatusCode::CONFLICT, 409);
    assert_eq!(
        answer.1["message"],
        "the order for this Idempotency-Key is CANCELLED"
    );

    let expired = api.placed(Some(ALICE), Some("expired")).await;
    api.state.clock.advance(Duration::seconds(300));
    let answer = api.place("2", Some(ALICE), Some("expired")).await;
    assert_answer(&answer, StatusCode::CONFLICT, 409);
    assert_eq!(
        answer.1["message"],
        "the order for this Idempotency-Key has expired"
    );
    assert_eq!(api.status_of(&expired).await.1["code"], 101);
}

#[tokio::test]
async fn unknown_or_malformed_products_are_refused() {
    let api = Api::new().await;
    let answer = api.place("99", None, None).await;
    assert_answer(&answer, StatusCode::NOT_FOUND, 404);
    assert_eq!(answer.1["message"], "product not found");
    let answer = api.place("no%20such", None, None).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "malformed product id");
    assert_eq!(api.wechat().prepays(), 0);
}

#[tokio::test]
async fn invalid_idempotency_keys_and_buyer_tokens_are_bad_requests() {
    let api = Api::new().await;
    for key in ["a b", &"k".repeat(129)] {
        let answer = api.place("2", None, Some(key)).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
        assert_eq!(
            answer.1["message"],
            "Idempotency-Key must be 1–128 visible ASCII characters"
        );
    }
    let request = Request::post("/api/wx-pay/native/2")
        .header(
            IDEMPOTENCY_KEY,
            HeaderValue::from_bytes(b"cl\xc3\xa9").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "Idempotency-Key must be visible ASCII");

    let answer = api.place("2", Some("short"), None).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .starts_with("X-Buyer-Token: "),
        "{}",
        answer.1
    );
    let request = Request::post("/api/wx-pay/native/2")
        .header(
            BUYER_TOKEN,
            HeaderValue::from_bytes(b"\xe4\xb9\xb0\xe5\xae\xb6-token-123456").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "X-Buyer-Token must be visible ASCII");
    assert_eq!(api.wechat().prepays(), 0);
}

#[tokio::test]
async fn prepay_timeouts_answer_504_and_failures_502() {
    let api = Api::new().await;
    api.wechat()
        .time_out_prepays(Some(PrepayTimeout::AnswerLost));
    let answer = api.place("2", None, None).await;
    assert_answer(&answer, StatusCode::GATEWAY_TIMEOUT, 504);
    assert_eq!(
        answer.1["message"],
        "WeChat Pay did not answer in time, please try again"
    );

    api.wechat().time_out_prepays(None);
    for fault in [
        GatewayError::Unavailable("503".into()),
        GatewayError::Throttled("429".into()),
        GatewayError::Rejected {
            status: 400,
            code: "PARAM_ERROR".into(),
            message: "m".into(),
        },
    ] {
        api.wechat().fail_prepays_with(Some(fault));
        let answer = api.place("2", None, None).await;
        assert_answer(&answer, StatusCode::BAD_GATEWAY, 502);
        assert_eq!(
            answer.1["message"],
            "WeChat Pay is unavailable, please try again"
        );
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let api = Api::new().await;
    let request = Request::post("/api/wx-pay/native/2")
        .header(header::CONTENT_LENGTH, MAX_BODY_BYTES + 1)
        .body(Body::from(vec![b'x'; MAX_BODY_BYTES + 1]))
        .unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api.wechat().prepays(), 0);
    // A body within the limit is ignored (price and title come from the catalog).
    let request = Request::post("/api/wx-pay/native/2")
        .body(Body::from(r#"{"price": 1}"#))
        .unwrap();
    let answer = api.send(request).await;
    assert_answer(&answer, StatusCode::OK, 0);
    assert_eq!(answer.1["data"]["totalFee"], 2999);
}

// ---- order status ----

#[tokio::test]
async fn refunds_show_in_the_status_with_the_amount_refunded() {
    let api = Api::new().await;
    let paid = api.placed(None, None).await;
    api.pay_and_settle(&paid).await;
    let order_no = OrderNo::parse(&paid).unwrap();
    let command = RefundCommand {
        amount: 999,
        reason: None,
        origin: RefundOrigin::Merchant,
        requested_by: None,
        idempotency_key: Some("k".into()),
    };
    let asked = request_refund(
        api.state.store.inner(),
        api.wechat(),
        &api.state.clock,
        &api.state.notify_url,
        &order_no,
        &command,
    )
    .await
    .unwrap();
    let answer = api.status_of(&paid).await;
    assert_answer(&answer, StatusCode::OK, 104);
    assert_eq!(answer.1["message"], "退款中");
    assert_order_view(&answer.1["data"]);
    assert_eq!(answer.1["data"]["refundedFee"], 999);

    api.wechat()
        .finish_refunds(wxpay::refund::RefundStatus::Success);
    let ended = api
        .wechat()
        .refund_of(asked.refund.out_refund_no.as_str())
        .unwrap();
    let report = answer_report(&ended, api.state.clock.now()).unwrap();
    apply_report(
        api.state.store.inner(),
        &order_no,
        &asked.refund.out_refund_no,
        &report,
    )
    .await
    .unwrap()
    .unwrap();
    let answer = api.status_of(&paid).await;
    assert_answer(&answer, StatusCode::OK, 107);
    assert_eq!(answer.1["message"], "部分退款");
    assert_eq!(answer.1["data"]["orderStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(answer.1["data"]["refundedFee"], 999);
}

#[tokio::test]
async fn order_status_answers_the_tutorials_codes() {
    let api = Api::new().await;
    let unpaid = api.placed(None, None).await;
    let answer = api.status_of(&unpaid).await;
    assert_answer(&answer, StatusCode::OK, 101);
    assert_eq!(answer.1["message"], "支付中");
    assert_order_view(&answer.1["data"]);
    assert_eq!(answer.1["data"]["orderStatus"], "NOTPAY");

    let paid = api.placed(None, None).await;
    api.pay_and_settle(&paid).await;
    let answer = api.status_of(&paid).await;
    assert_answer(&answer, StatusCode::OK, 0);
    assert_eq!(answer.1["message"], "支付成功");
    assert_order_view(&answer.1["data"]);
    assert_eq!(answer.1["data"]["orderStatus"], "SUCCESS");
    assert_eq!(answer.1["data"]["successTime"], "2024-05-01T08:02:03+08:00");

    let cancelled = api.placed(Some(ALICE), None).await;
    api.cancel(&cancelled, Some(ALICE)).await;
    let answer = api.status_of(&cancelled).await;
    assert_answer(&answer, StatusCode::OK, 103);
    assert_eq!(answer.1["message"], "订单已取消");

    let closed = api.placed(None, None).await;
    api.state.clock.advance(Duration::seconds(400));
    api.close_expired(&closed).await;
    let answer = api.status_of(&closed).await;
    assert_answer(&answer, StatusCode::OK, 102);
    assert_eq!(answer.1["message"], "订单已关闭");
    assert_eq!(answer.1["data"]["orderStatus"], "CLOSED");
}

#[tokio::test]
async fn order_status_of_unknown_or_malformed_numbers() {
    let api = Api::new().await;
    let order_no = api.placed(None, None).await;
    let mut unknown = order_no.clone();
    let last = unknown.pop().unwrap();
    unknown.push(if last == '0' { '1' } else { '0' });
    let answer = api.status_of(&unknown).await;
    assert_answer(&answer, StatusCode::NOT_FOUND, 404);
    assert_eq!(answer.1["message"], "order not found");
    let answer = api.status_of("abc").await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
}

// ---- the buyer's orders ----

#[tokio::test]
async fn the_buyer_lists_only_their_own_orders_newest_first_in_pages() {
    let api = Api::new().await;
    let first = api.placed(Some(ALICE), None).await;
    api.state.clock.advance(Duration::seconds(1));
    let second = api.placed(Some(ALICE), None).await;
    api.placed(Some(BOB), None).await;

    let answer = api.get("/api/order-info/list", Some(ALICE)).await;
    assert_answer(&answer, StatusCode::OK, 0);
    let data = &answer.1["data"];
    assert_eq!(keys(data), ["list", "nextCursor"]);
    let list = data["list"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["orderNo"], second.as_str());
    assert_eq!(list[1]["orderNo"], first.as_str());
    assert_order_view(&list[0]);
    assert_eq!(data["nextCursor"], Value::Null);

    let answer = api.get("/api/order-info/list?limit=1", Some(ALICE)).await;
    assert_answer(&answer, StatusCode::OK, 0);
    assert_eq!(answer.1["data"]["list"][0]["orderNo"], second.as_str());
    let cursor = answer.1["data"]["nextCursor"].as_str().unwrap().to_owned();
    let answer = api
        .get(
            &format!("/api/order-info/list?limit=1&cursor={cursor}"),
            Some(ALICE),
        )
        .await;
    assert_answer(&answer, StatusCode::OK, 0);
    assert_eq!(answer.1["data"]["list"][0]["orderNo"], first.as_str());
}

#[tokio::test]
async fn listing_needs_a_valid_token_and_cursor() {
    let api = Api::new().await;
    let answer = api.get("/api/order-info/list", None).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "X-Buyer-Token header is required");
    let answer = api.get("/api/order-info/list", Some("short")).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    let answer = api
        .get("/api/order-info/list?cursor=garbage", Some(ALICE))
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "invalid cursor");
    let long = "c".repeat(1025);
    let answer = api
        .get(&format!("/api/order-info/list?cursor={long}"), Some(ALICE))
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "cursor too long");
}

// ---- cancel ----

#[tokio::test]
async fn the_buyer_cancels_their_unpaid_order_once_or_twice() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    let answer = api.cancel(&order_no, Some(ALICE)).await;
    assert_answer(&answer, StatusCode::OK, 0);
    assert_eq!(answer.1["message"], "订单已取消");
    assert_order_view(&answer.1["data"]);
    assert_eq!(answer.1["data"]["orderStatus"], "CANCELLED");
    let again = api.cancel(&order_no, Some(ALICE)).await;
    assert_answer(&again, StatusCode::OK, 0);
    assert_eq!(again.1["data"]["orderStatus"], "CANCELLED");
}

#[tokio::test]
async fn cancel_of_someone_elses_or_an_unknown_order_is_not_found() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    let answer = api.cancel(&order_no, Some(BOB)).await;
    assert_answer(&answer, StatusCode::NOT_FOUND, 404);
    assert_eq!(answer.1["message"], "order not found");
    let anonymous = api.placed(None, None).await;
    assert_answer(
        &api.cancel(&anonymous, Some(ALICE)).await,
        StatusCode::NOT_FOUND,
        404,
    );
    let mut unknown = order_no.clone();
    let last = unknown.pop().unwrap();
    unknown.push(if last == '0' { '1' } else { '0' });
    assert_answer(
        &api.cancel(&unknown, Some(ALICE)).await,
        StatusCode::NOT_FOUND,
        404,
    );
    assert_eq!(api.status_of(&order_no).await.1["code"], 101);
}

#[tokio::test]
async fn cancel_needs_a_token_and_a_well_formed_number() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    let answer = api.cancel(&order_no, None).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(answer.1["message"], "X-Buyer-Token header is required");
    let answer = api.cancel("abc", Some(ALICE)).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, 400);
    assert_eq!(api.wechat().closes(), 0);
}

#[tokio::test]
async fn cancel_of_a_paid_or_closed_order_is_a_conflict() {
    let api = Api::new().await;
    // Paid at WeChat Pay, not yet known here: the cancel finds out and settles it.
    let paid = api.placed(Some(ALICE), None).await;
    api.wechat().pay(&paid).unwrap();
    let answer = api.cancel(&paid, Some(ALICE)).await;
    assert_answer(&answer, StatusCode::CONFLICT, 409);
    assert_eq!(
        answer.1["message"],
        "the order is already paid and cannot be cancelled"
    );
    assert_eq!(
        api.status_of(&paid).await.1["data"]["orderStatus"],
        "SUCCESS"
    );

    let closed = api.placed(Some(ALICE), None).await;
    api.state.clock.advance(Duration::seconds(400));
    api.close_expired(&closed).await;
    let answer = api.cancel(&closed, Some(ALICE)).await;
    assert_answer(&answer, StatusCode::CONFLICT, 409);
    assert_eq!(
        answer.1["message"],
        "the order is CLOSED and cannot be cancelled"
    );
}

#[tokio::test]
async fn cancel_answers_502_or_504_when_wechat_pay_fails() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    api.wechat().fail_closes_with(Some(GatewayError::Timeout));
    let answer = api.cancel(&order_no, Some(ALICE)).await;
    assert_answer(&answer, StatusCode::GATEWAY_TIMEOUT, 504);
    api.wechat()
        .fail_closes_with(Some(GatewayError::Unavailable("503".into())));
    let answer = api.cancel(&order_no, Some(ALICE)).await;
    assert_answer(&answer, StatusCode::BAD_GATEWAY, 502);
    assert_eq!(
        api.status_of(&order_no).await.1["data"]["orderStatus"],
        "NOTPAY"
    );
}

// ---- CORS and routing ----

#[tokio::test]
async fn cors_allows_exactly_the_configured_origin() {
    let api = Api::new().await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/wx-pay/native/2")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "x-buyer-token,idempotency-key",
            )
            .body(Body::empty())
            .unwrap()
    };
    let response = api.router.clone().oneshot(preflight(ORIGIN)).await.unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed.contains("x-buyer-token") && allowed.contains("idempotency-key"));
    assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "600");

    let response = api
        .router
        .clone()
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    // The one allowed origin is answered whoever asks (`AllowOrigin::exact`): a browser on
    // another origin refuses it; the asking origin is never echoed.
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        ORIGIN
    );

    let request = Request::get("/api/product/list")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        ORIGIN
    );
    // The storefront's clock correction reads `Date`, and its back-off `Retry-After`, which a
    // browser hides cross-origin unless they are exposed.
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap()
            .to_ascii_lowercase(),
        "date,retry-after"
    );
}

#[tokio::test]
async fn without_an_origin_there_is_no_cors() {
    let api = Api::new().await;
    let same_origin = router(Arc::clone(&api.state), None);
    let request = Request::get("/api/product/list")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = same_origin.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let api = Api::new().await;
    let (status, _) = api.get("/api/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get("/api/wx-pay/native/2", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_admin_api_is_not_routed_on_the_storefront_api() {
    let api = Api::new().await;
    let order_no = api.placed(Some(ALICE), None).await;
    for (method, uri) in [
        (Method::GET, "/admin/orders?status=REFUNDED".to_owned()),
        (Method::GET, format!("/admin/orders/{order_no}")),
        (Method::POST, format!("/admin/orders/{order_no}/refunds")),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("authorization", "Bearer anything")
            .header(IDEMPOTENCY_KEY, "k")
            .body(Body::from(r#"{"amount": 1}"#))
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(api.wechat().refund_calls(), 0);
}

/// Places an order of product 2 and answers the status, the `Retry-After` header and the body.
async fn place_with_headers(
    api: &Api,
    buyer: Option<&str>,
    key: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::post("/api/wx-pay/native/2").header(header::ORIGIN, ORIGIN);
    if let Some(token) = buyer {
        request = request.header(BUYER_TOKEN, token);
    }
    if let Some(key) = key {
        request = request.header(IDEMPOTENCY_KEY, key);
    }
    let response = api
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    if status == StatusCode::TOO_MANY_REQUESTS {
        let exposed = headers
            .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .unwrap_or_default();
        assert!(exposed.contains("retry-after"), "{exposed:?}");
    }
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, retry_after, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_buyer_over_the_open_order_cap_gets_429_but_replays_pass() {
    let (logs, _guard) = LogCapture::start();
    let api = Api::with_caps(2, 0).await;
    let first = api.placed(Some(ALICE), Some("k1")).await;
    api.state.clock.advance(Duration::seconds(20));
    api.placed(Some(ALICE), None).await;

    let (status, retry_after, body) = place_with_headers(&api, Some(ALICE), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], TOO_MANY_OPEN_ORDERS);
    assert_eq!(
        body["message"],
        "you have 2 unpaid orders: pay or cancel one of them, or wait until one expires"
    );
    assert_eq!(retry_after.as_deref(), Some("280"));
    assert_eq!(
        logs.metric_total("OrdersRefused", Some(("Reason", "open_orders"))),
        1
    );
    let listed = api.get("/api/order-info/list", Some(ALICE)).await;
    assert_eq!(
        listed.1["data"]["list"].as_array().unwrap().len(),
        2,
        "nothing written"
    );

    let (status, _, body) = place_with_headers(&api, Some(ALICE), Some("k1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["orderNo"], first.as_str());
    assert_eq!(body["data"]["replayed"], true);
    api.placed(Some(BOB), None).await;

    let (status, _) = api.cancel(&first, Some(ALICE)).await;
    assert_eq!(status, StatusCode::OK);
    api.placed(Some(ALICE), None).await;
}

#[tokio::test]
async fn anonymous_orders_over_the_minute_cap_get_429_but_replays_pass() {
    let (logs, _guard) = LogCapture::start();
    let api = Api::with_caps(0, 2).await;
    api.state.clock.advance(Duration::seconds(50));
    let first = api.placed(None, Some("a1")).await;
    api.placed(None, None).await;

    let (status, retry_after, body) = place_with_headers(&api, None, Some("a2")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], TOO_MANY_ANONYMOUS_ORDERS);
    assert_eq!(
        body["message"],
        "too many orders right now, please try again in a minute"
    );
    assert_eq!(retry_after.as_deref(), Some("10"));
    assert_eq!(
        logs.metric_total("OrdersRefused", Some(("Reason", "anonymous_rate"))),
        1
    );

    let (status, _, body) = place_with_headers(&api, None, Some("a1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["orderNo"], first.as_str());
    api.placed(Some(ALICE), None).await;

    api.state.clock.advance(Duration::seconds(10));
    api.placed(None, Some("a2")).await;
}
