//! The deployable binaries, not just the libraries: the real `native-order`, `pay-notify` and
//! `order-reconcile` executables run as processes under the Lambda Runtime API emulator, fed API
//! Gateway HTTP API (payload 2.0) and EventBridge / EventBridge Scheduler events built from the
//! JSON fixtures, against the WeChat Pay simulator (in this process, on loopback) and the DynamoDB
//! and Secrets Manager APIs of moto (`AWS_ENDPOINT_URL_DYNAMODB`; without it the tests are skipped,
//! saying so, and `tests/run-all.sh` fails if they were).
//!
//! The simulator delivers notifications to a small forwarder here that does what API Gateway does
//! for the notify route: each POST becomes a payload 2.0 event, is invoked on the `pay-notify`
//! process, and its Lambda response becomes the HTTP answer.
//!
//! Build the binaries first (same profile): `cargo build -p native-order -p pay-notify
//! -p order-reconcile`; `tests/run-all.sh` does.
//!
//! Not covered here: closing an order that expired after being placed through `native-order`
//! (ORDER_TTL_SECS is at least 60 s, too long to wait for); the expiry test seeds orders created in
//! the past into the table instead, and the in-process tests of `orders` cover the clock-driven
//! path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use env_config::{MapEnv, MerchantSecrets, WxPaySettings, wxpay_client};
use orders::adapters::DynamoOrderStore;
use orders::domain::{Order, OrderNo, Product};
use orders::ports::{OrderCreator, PaymentGateway, ProductWriter};
use orders::testing::aws_suite_can_run;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use system_tests::events::{HttpApiEvent, HttpResponse, load_fixture};
use system_tests::function_process::{
    FUNCTIONS, FunctionProcess, FunctionSpec, LambdaFunction, locate_binary,
};
use system_tests::runtime_api::{InvokeError, RuntimeApi};
use tempfile::TempDir;
use wxpay_sim::{SimConfig, Simulator};

const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";
const ORIGIN: &str = "https://shop.example.com";
const PRODUCT_ID: &str = "1";
const PRODUCT_PRICE: i64 = 1;
const READY: Duration = Duration::from_secs(15);
const CALL: Duration = Duration::from_secs(20);

/// A notification as the forwarder received it, and what `pay-notify` answered.
#[derive(Debug, Clone)]
struct Forwarded {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    status: u16,
}

/// Everything one test runs against: the simulator, a fresh table, the two HTTP functions, the
/// notify forwarder, and the variables the functions are configured with.
struct Stack {
    _dir: TempDir,
    sim: Simulator,
    sim_url: String,
    http: reqwest::Client,
    store: DynamoOrderStore,
    product: Product,
    env: Vec<(String, String)>,
    native: LambdaFunction,
    notify: Arc<LambdaFunction>,
    forwarded: Arc<Mutex<Vec<Forwarded>>>,
}

/// The AWS variables of the functions, or `None` (the test is skipped, saying so) when
/// `AWS_ENDPOINT_URL_DYNAMODB` is unset: these tests need a DynamoDB (and Secrets Manager) API
/// server, e.g. `tests/scripts/moto.sh start target/moto` with its URL exported as
/// `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SECRETS_MANAGER` (tests/run-all.sh does).
fn aws_env() -> Option<Vec<(String, String)>> {
    if !aws_suite_can_run("binaries", ENDPOINT_VAR) {
        return None;
    }
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_default();
    let secrets = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| endpoint.clone());
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let region = var("AWS_REGION", "us-east-1");
    Some(vec![
        (ENDPOINT_VAR.into(), endpoint),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), secrets),
        ("AWS_ACCESS_KEY_ID".into(), var("AWS_ACCESS_KEY_ID", "test")),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            var("AWS_SECRET_ACCESS_KEY", "test"),
        ),
        ("AWS_SESSION_TOKEN".into(), "test-session".into()),
        ("AWS_REGION".into(), region.clone()),
        ("AWS_DEFAULT_REGION".into(), region),
    ])
}

/// An AWS SDK configuration for the test process itself, from the same variables.
async fn sdk_config(env: &[(String, String)]) -> aws_config::SdkConfig {
    let get = |name: &str| {
        env.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(get("AWS_REGION")))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            get("AWS_ACCESS_KEY_ID"),
            get("AWS_SECRET_ACCESS_KEY"),
            None,
            None,
            "system-tests",
        ))
        .load()
        .await
}

fn spec(binary: &str, env: &[(String, String)]) -> FunctionSpec {
    let path = locate_binary(binary).unwrap_or_else(|e| panic!("{e:#}"));
    FunctionSpec::new(path, binary)
        .vars(env.iter().cloned())
        // The system's certificate store pointed at nothing: the functions trust compiled-in
        // roots and must start without reading it (reading it was most of their cold start).
        .var("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt")
        .var("SSL_CERT_DIR", "/nonexistent/certs")
}

impl Stack {
    /// Starts the stack, or `None` when there is no AWS API server to run it on.
    async fn start() -> Option<Self> {
        let aws = aws_env()?;
        let dir = tempfile::tempdir().unwrap();

        // The simulator, served here on loopback.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", listener.local_addr().unwrap());
        let sim = Simulator::open(SimConfig::new(
            dir.path().join("wxpay-sim"),
            url::Url::parse(&sim_url).unwrap(),
        ))
        .await
        .unwrap();
        let router = sim.router();
        tokio::spawn(async move { axum::serve(listener, router).await });

        // A fresh table with one product.
        let sdk = sdk_config(&aws).await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("orders-bin-{}", uuid::Uuid::new_v4().simple());
        orders::adapters::dynamo::create_table(&dynamo, &table)
            .await
            .unwrap_or_else(|e| panic!("cannot create table {table} at ${ENDPOINT_VAR}: {e}"));
        let store = DynamoOrderStore::new(dynamo, table.clone());
        let product = Product::new(PRODUCT_ID, "测试商品 binary", PRODUCT_PRICE).unwrap();
        store.put_product(&product).await.unwrap();

        // The merchant's variables, as the simulator wrote them, plus ours.
        let sandbox = std::fs::read_to_string(sim.env_file()).unwrap();
        let forwarder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let notify_url = format!(
            "http://{}{}",
            forwarder.local_addr().unwrap(),
            pay_notify_path()
        );
        let mut env: Vec<(String, String)> = MapEnv::parse_dotenv(&sandbox).0.into_iter().collect();
        env.extend(aws);
        env.extend([
            ("ORDERS_TABLE".to_owned(), table),
            ("WXPAY_NOTIFY_URL".to_owned(), notify_url),
            ("STOREFRONT_ORIGIN".to_owned(), ORIGIN.to_owned()),
            (
                "METRICS_NAMESPACE".to_owned(),
                "WxPayNative/binaries".to_owned(),
            ),
        ]);

        let native = LambdaFunction::start(&spec("native-order", &env), READY)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let notify = Arc::new(
            LambdaFunction::start(&spec("pay-notify", &env), READY)
                .await
                .unwrap_or_else(|e| panic!("{e:#}")),
        );
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .fallback(forward)
            .with_state((notify.clone(), forwarded.clone()));
        tokio::spawn(async move { axum::serve(forwarder, app).await });

        Some(Self {
            _dir: dir,
            sim,
            sim_url,
            http: reqwest::Client::new(),
            store,
            product,
            env,
            native,
            notify,
            forwarded,
        })
    }

    /// Invokes `native-order` with `event` (a storefront request through API Gateway).
    async fn api(&self, event: HttpApiEvent) -> (HttpResponse, Value) {
        let event = event.build().unwrap();
        let output = self
            .native
            .api
            .invoke(&event, CALL)
            .await
            .unwrap_or_else(|e| panic!("native-order: {e}\n{}", self.native.process.output_text()));
        let response = HttpResponse::from_lambda(&output).unwrap();
        let body = response.json().unwrap();
        (response, body)
    }

    async fn place_order(&self, buyer: &str) -> Value {
        let event = HttpApiEvent::from_fixture("apigw-v2/place-order.json")
            .unwrap()
            .path_param("productId", PRODUCT_ID)
            .header("x-buyer-token", buyer)
            .header("idempotency-key", &uuid::Uuid::new_v4().to_string());
        let (response, body) = self.api(event).await;
        assert_eq!(response.status, 200, "{body}");
        assert_eq!(body["code"], 0, "{body}");
        body["data"].clone()
    }

    async fn status(&self, order_no: &str) -> Value {
        let event = HttpApiEvent::from_fixture("apigw-v2/order-status.json")
            .unwrap()
            .path_param("orderNo", order_no);
        let (response, body) = self.api(event).await;
        assert_eq!(response.status, 200, "{body}");
        body
    }

    async fn wait_status(&self, order_no: &str, wanted: &str) -> Value {
        for _ in 0..150 {
            let body = self.status(order_no).await;
            if body["data"]["orderStatus"] == wanted {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "order {order_no} never became {wanted}; pay-notify output:\n{}",
            self.notify.process.output_text()
        );
    }

    async fn scan(&self, code_url: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/sim/scan", self.sim_url))
            .json(&json!({ "code_url": code_url }))
            .send()
            .await
            .unwrap()
    }

    /// Waits until the simulator's notification log shows a delivery of `order_no`'s notification
    /// dropped by the fault switch (so none can have reached `pay-notify`), instead of sleeping.
    async fn wait_for_dropped_notification(&self, order_no: &str) {
        let url = format!("{}/sim/notifications?out_trade_no={order_no}", self.sim_url);
        for _ in 0..250 {
            let log: Value = self
                .http
                .get(&url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let attempts = log["notifications"][0]["attempts"].as_array().cloned();
            if let Some(attempts) = attempts.filter(|a| !a.is_empty()) {
                assert!(
                    attempts
                        .iter()
                        .all(|a| a["error"] == "dropped by fault switch"),
                    "{log}"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the notification of {order_no} was never tried");
    }

    async fn set_faults(&self, faults: Value) {
        let response = self
            .http
            .post(format!("{}/sim/faults", self.sim_url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{faults}");
    }

    /// Places an order, pays it at the simulator and waits until the notification settled it.
    async fn paid_order(&self, buyer: &str) -> String {
        let order = self.place_order(buyer).await;
        let order_no = order["orderNo"].as_str().unwrap().to_owned();
        let scan = self.scan(order["codeUrl"].as_str().unwrap()).await;
        assert_eq!(scan.status(), 200);
        self.wait_status(&order_no, "SUCCESS").await;
        order_no
    }

    fn forwarded(&self) -> Vec<Forwarded> {
        self.forwarded.lock().unwrap().clone()
    }

    /// The first notification `pay-notify` acknowledged (the forwarder logs it once the answer
    /// is back, which may be just after the order shows as settled).
    async fn acknowledged_notification(&self) -> Forwarded {
        for _ in 0..100 {
            if let Some(f) = self.forwarded().into_iter().find(|f| f.status == 200) {
                return f;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no acknowledged notification: {:?}", self.forwarded());
    }

    /// Starts `order-reconcile` with the stack's variables and `extra`.
    async fn reconcile(&self, extra: &[(&str, &str)]) -> LambdaFunction {
        let spec = spec("order-reconcile", &self.env).vars(extra.iter().copied());
        LambdaFunction::start(&spec, READY)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// A WeChat Pay client of the sandbox merchant, for the test's own calls.
    async fn merchant_client(&self) -> wxpay::Client {
        let env = MapEnv::parse_dotenv(&std::fs::read_to_string(self.sim.env_file()).unwrap());
        let settings = WxPaySettings::from_env(&env).unwrap();
        let secrets = MerchantSecrets::load(&settings.secrets, None)
            .await
            .unwrap();
        wxpay_client(&settings, secrets).unwrap()
    }

    fn var(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }
}

fn pay_notify_path() -> String {
    load_fixture("apigw-v2/notify.json").unwrap()["rawPath"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn buyer_token() -> String {
    format!("bt_{}", uuid::Uuid::new_v4().simple())
}

/// The `pay-notify` function and the log of what was forwarded to it.
type ForwarderState = (Arc<LambdaFunction>, Arc<Mutex<Vec<Forwarded>>>);

/// What API Gateway does for the notify route: the POST becomes a payload 2.0 event for
/// `pay-notify`, whose Lambda response becomes the HTTP answer.
async fn forward(
    axum::extract::State((notify, log)): axum::extract::State<ForwarderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let event = HttpApiEvent::from_fixture("apigw-v2/notify.json")
        .unwrap()
        .headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .text_body(std::str::from_utf8(&body).unwrap())
        .build()
        .unwrap();
    let Ok(output) = notify.api.invoke(&event, CALL).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let response = HttpResponse::from_lambda(&output).unwrap();
    log.lock().unwrap().push(Forwarded {
        headers: pairs,
        body: body.to_vec(),
        status: response.status,
    });
    let mut answer = (
        StatusCode::from_u16(response.status).unwrap(),
        response.body.clone(),
    )
        .into_response();
    for (name, value) in &response.headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            answer.headers_mut().append(n, v);
        }
    }
    answer
}

/// Invokes `pay-notify` directly with a notification event (not through the forwarder).
async fn notify_directly(stack: &Stack, event: HttpApiEvent) -> (HttpResponse, Value) {
    let output = stack
        .notify
        .api
        .invoke(&event.build().unwrap(), CALL)
        .await
        .unwrap();
    let response = HttpResponse::from_lambda(&output).unwrap();
    let body = response.json().unwrap();
    (response, body)
}

#[tokio::test]
async fn a_shopper_pays_through_the_deployable_binaries() {
    // GIVEN the functions running as Lambda runs them
    let Some(stack) = Stack::start().await else {
        return;
    };
    let buyer = buyer_token();

    // WHEN the storefront lists the products
    let (response, body) = stack
        .api(HttpApiEvent::from_fixture("apigw-v2/product-list.json").unwrap())
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        body["data"]["productList"],
        json!([{"id": PRODUCT_ID, "title": stack.product.title, "price": PRODUCT_PRICE}])
    );
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));

    // AND places an order, which is unpaid
    let order = stack.place_order(&buyer).await;
    let order_no = order["orderNo"].as_str().unwrap();
    assert!(order["codeUrl"].as_str().unwrap().starts_with("weixin://"));
    assert!(order["qrSvg"].as_str().unwrap().contains("<svg"));
    let status = stack.status(order_no).await;
    assert_eq!(
        (
            status["code"].clone(),
            status["data"]["orderStatus"].clone()
        ),
        (json!(101), json!("NOTPAY"))
    );

    // AND the shopper pays
    assert_eq!(
        stack
            .scan(order["codeUrl"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // THEN the notification reaches pay-notify, which settles the order
    let status = stack.wait_status(order_no, "SUCCESS").await;
    assert_eq!(status["code"], 0);
    assert_eq!(status["message"], "支付成功");
    let acknowledged = stack.acknowledged_notification().await;
    assert!(!acknowledged.body.is_empty());

    // AND the buyer's list shows it
    let event = HttpApiEvent::from_fixture("apigw-v2/order-list.json")
        .unwrap()
        .header("x-buyer-token", &buyer)
        .query("limit=5");
    let (response, body) = stack.api(event).await;
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(body["data"]["list"][0]["orderNo"], order_no);
    assert_eq!(body["data"]["list"][0]["orderStatus"], "SUCCESS");

    // AND, as AWS_LAMBDA_LOG_FORMAT=JSON asks, native-order logged the order as one JSON object
    // per line on stdout, at INFO, inside the runtime's span that carries the request id
    let placed = stack
        .native
        .process
        .output()
        .into_iter()
        .filter_map(|line| line.strip_prefix("stdout: ").map(str::to_owned))
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .find(|entry| entry["fields"]["message"] == "native order placed")
        .unwrap_or_else(|| {
            panic!(
                "no JSON log of the order:\n{}",
                stack.native.process.output_text()
            )
        });
    assert_eq!(placed["level"], "INFO");
    assert_eq!(placed["fields"]["out_trade_no"], order_no);
    assert_eq!(placed["span"]["name"], "Lambda runtime invoke", "{placed}");
    assert!(
        placed["span"]["requestId"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{placed}"
    );

    // AND it counted the order in a bare embedded-metric-format line (the JSON object itself, not
    // nested in a log event), under METRICS_NAMESPACE, which CloudWatch Logs turns into a metric
    let metric = stack
        .native
        .process
        .output()
        .into_iter()
        .filter_map(|line| line.strip_prefix("stdout: ").map(str::to_owned))
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .find(|entry| entry["OrdersPlaced"] == 1)
        .unwrap_or_else(|| {
            panic!(
                "no metric line of the order:\n{}",
                stack.native.process.output_text()
            )
        });
    let directive = &metric["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "WxPayNative/binaries", "{metric}");
    assert_eq!(
        directive["Metrics"][0],
        serde_json::json!({ "Name": "OrdersPlaced", "Unit": "Count" })
    );
    assert!(metric["_aws"]["Timestamp"].is_u64(), "{metric}");
}

#[tokio::test]
async fn a_replayed_notification_settles_once_and_a_forged_one_is_refused() {
    // GIVEN an order paid and settled by its notification
    let Some(stack) = Stack::start().await else {
        return;
    };
    let order_no = stack.paid_order(&buyer_token()).await;
    let settled = stack.status(&order_no).await;
    let delivered = stack.acknowledged_notification().await;
    let headers = || {
        delivered
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    };

    // WHEN the same notification arrives again, base64-encoded by API Gateway this time
    let replay = HttpApiEvent::from_fixture("apigw-v2/notify-base64.json")
        .unwrap()
        .headers(headers())
        .base64_body(&delivered.body);
    let (response, body) = notify_directly(&stack, replay).await;

    // THEN it is acknowledged and changes nothing
    assert_eq!(
        (response.status, body),
        (200, json!({"code": "SUCCESS", "message": "成功"}))
    );
    assert_eq!(stack.status(&order_no).await, settled);

    // WHEN a notification with a tampered body arrives
    let mut forged = delivered.body.clone();
    let text = String::from_utf8(forged.clone()).unwrap();
    forged = text
        .replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs", 1)
        .into_bytes();
    let event = HttpApiEvent::from_fixture("apigw-v2/notify.json")
        .unwrap()
        .headers(headers())
        .text_body(std::str::from_utf8(&forged).unwrap());
    let (response, body) = notify_directly(&stack, event).await;

    // THEN it is refused, so that WeChat Pay would retry, and nothing changes
    assert_eq!(response.status, 401, "{body}");
    assert_eq!(body["code"], "FAIL");
    assert_eq!(stack.status(&order_no).await, settled);
}

#[tokio::test]
async fn only_the_buyer_cancels_and_a_cancelled_order_cannot_be_paid() {
    // GIVEN an unpaid order
    let Some(stack) = Stack::start().await else {
        return;
    };
    let buyer = buyer_token();
    let order = stack.place_order(&buyer).await;
    let order_no = order["orderNo"].as_str().unwrap();

    // WHEN someone else cancels it THEN it is refused as not theirs, and stays unpaid
    let other = buyer_token();
    let event = HttpApiEvent::from_fixture("apigw-v2/cancel.json")
        .unwrap()
        .path_param("orderNo", order_no)
        .header("x-buyer-token", &other);
    let (response, body) = stack.api(event).await;
    assert_eq!(response.status, 404, "{body}");
    assert_eq!(
        stack.status(order_no).await["data"]["orderStatus"],
        "NOTPAY"
    );

    // WHEN its buyer cancels it THEN it is cancelled, here and at WeChat Pay
    let event = HttpApiEvent::from_fixture("apigw-v2/cancel.json")
        .unwrap()
        .path_param("orderNo", order_no)
        .header("x-buyer-token", &buyer);
    let (response, body) = stack.api(event).await;
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(body["data"]["orderStatus"], "CANCELLED");
    let status = stack.status(order_no).await;
    assert_eq!(status["code"], 103);
    let scan = stack.scan(order["codeUrl"].as_str().unwrap()).await;
    assert_eq!(scan.status(), 409);
}

#[tokio::test]
async fn the_sweep_settles_paid_orders_whose_notification_was_lost_for_both_triggers() {
    // GIVEN notifications that never arrive
    let Some(stack) = Stack::start().await else {
        return;
    };
    stack.set_faults(json!({"drop_notifications": true})).await;
    let reconcile = stack
        .reconcile(&[("RECONCILE_AFTER_SECS", "0"), ("ORDER_TTL_SECS", "65")])
        .await;

    for trigger in [
        "eventbridge/scheduled-event.json",
        "eventbridge/schedule-v2-input.json",
    ] {
        // AND an order paid at WeChat Pay but still unpaid here
        let order = stack.place_order(&buyer_token()).await;
        let order_no = order["orderNo"].as_str().unwrap();
        assert_eq!(
            stack
                .scan(order["codeUrl"].as_str().unwrap())
                .await
                .status(),
            200
        );
        stack.wait_for_dropped_notification(order_no).await;
        assert_eq!(
            stack.status(order_no).await["data"]["orderStatus"],
            "NOTPAY"
        );

        // WHEN the schedule fires
        let summary = reconcile
            .api
            .invoke(&load_fixture(trigger).unwrap(), CALL)
            .await
            .unwrap_or_else(|e| panic!("{trigger}: {e}\n{}", reconcile.process.output_text()));

        // THEN the sweep settles it
        assert_eq!(summary["orders"]["settled"], 1, "{trigger}: {summary}");
        assert_eq!(summary["orders"]["stalePending"], 0, "{trigger}: {summary}");
        assert_eq!(
            stack.status(order_no).await["data"]["orderStatus"],
            "SUCCESS"
        );
    }
    assert!(stack.forwarded().is_empty());

    // AND a payload of neither shape is reported as the invocation's error
    let outcome = reconcile
        .api
        .invoke(&json!({"detail-type": "Something"}), CALL)
        .await;
    let Err(InvokeError::Function(error)) = outcome else {
        panic!("expected a function error, got {outcome:?}");
    };
    assert!(
        error
            .error_message()
            .unwrap_or_default()
            .contains("unrecognised trigger"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_sweep_closes_orders_past_their_ttl_here_and_at_wechat_pay() {
    // GIVEN two unpaid orders created ten minutes ago with a five-minute TTL (seeded into the
    // table: the binaries' clocks cannot be moved), one of them known to WeChat Pay
    let Some(stack) = Stack::start().await else {
        return;
    };
    let created = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let numbers = [
        format!("EXPA{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
        format!("EXPB{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
    ];
    for number in &numbers {
        let order = Order::new_pending(
            OrderNo::parse(number).unwrap(),
            &stack.product,
            None,
            created,
            time::Duration::minutes(5),
        );
        stack.store.create_order(&order, None).await.unwrap();
    }
    let client = stack.merchant_client().await;
    let prepay = wxpay::models::NativePrepayRequest::new(
        stack.var("WXPAY_APPID"),
        stack.var("WXPAY_MCHID"),
        stack.product.title.clone(),
        numbers[0].to_string(),
        stack.var("WXPAY_NOTIFY_URL"),
        PRODUCT_PRICE,
    )
    .with_time_expire(time::OffsetDateTime::now_utc() + time::Duration::minutes(5));
    client.native_prepay(&prepay).await.unwrap();

    // WHEN the schedule fires
    let reconcile = stack.reconcile(&[("RECONCILE_AFTER_SECS", "60")]).await;
    let summary = reconcile
        .api
        .invoke(
            &load_fixture("eventbridge/schedule-v2-input.json").unwrap(),
            CALL,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", reconcile.process.output_text()));

    // THEN both are closed here, and the one WeChat Pay knew is closed there too
    assert_eq!(
        (
            summary["orders"]["closed"].clone(),
            summary["orders"]["closedNeverPrepaid"].clone()
        ),
        (json!(1), json!(1)),
        "{summary}"
    );
    for number in &numbers {
        let status = stack.status(number).await;
        assert_eq!(status["data"]["orderStatus"], "CLOSED", "{status}");
    }
    let at_wechat_pay = PaymentGateway::query_order(&client, &numbers[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at_wechat_pay.trade_state.as_str(), "CLOSED");
}

#[tokio::test]
async fn secrets_come_from_secrets_manager_when_wxpay_secret_id_is_set() {
    // GIVEN the merchant's secrets and the WeChat Pay public key in Secrets Manager (moto), as
    // deployed, and not in the environment
    let Some(stack) = Stack::start().await else {
        return;
    };
    let sdk = sdk_config(&stack.env).await;
    let secrets_manager = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .endpoint_url(stack.var("AWS_ENDPOINT_URL_SECRETS_MANAGER"))
            .build(),
    );
    let name = format!("wxpay-native/merchant-{}", uuid::Uuid::new_v4().simple());
    let secret = json!({
        "merchant_private_key": std::fs::read_to_string(stack.var("WXPAY_MERCHANT_KEY_FILE")).unwrap(),
        "apiv3_key": stack.var("WXPAY_APIV3_KEY"),
        "wechatpay_public_key": std::fs::read_to_string(stack.var("WXPAY_PUBLIC_KEY_FILE")).unwrap(),
    });
    secrets_manager
        .create_secret()
        .name(&name)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let from_secret = spec("native-order", &stack.env)
        .without("WXPAY_MERCHANT_KEY_FILE")
        .without("WXPAY_APIV3_KEY")
        .without("WXPAY_PUBLIC_KEY_FILE")
        .var("WXPAY_SECRET_ID", &name);

    // WHEN native-order starts with WXPAY_SECRET_ID
    let native = LambdaFunction::start(&from_secret, READY)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    // THEN it signs its WeChat Pay calls with the key from the secret (the simulator verifies)
    // and verifies WeChat Pay's answers with the public key from the secret
    let event = HttpApiEvent::from_fixture("apigw-v2/place-order.json")
        .unwrap()
        .path_param("productId", PRODUCT_ID)
        .header("x-buyer-token", &buyer_token())
        .build()
        .unwrap();
    let output = native.api.invoke(&event, CALL).await.unwrap();
    let response = HttpResponse::from_lambda(&output).unwrap();
    assert_eq!(response.status, 200, "{}", native.process.output_text());

    // AND with a secret that does not exist it does not start, naming the secret
    let missing = from_secret.var("WXPAY_SECRET_ID", "wxpay-native/no-such-secret");
    let api = RuntimeApi::start("native-order").await.unwrap();
    let mut process = FunctionProcess::spawn(&missing, &api).unwrap();
    let status = process.wait_exit(READY).await.unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "{}",
        process.output_text()
    );
    assert!(
        process.output_text().contains("no-such-secret"),
        "{}",
        process.output_text()
    );
    assert_eq!(api.polls(), 0);
}

#[tokio::test]
async fn a_function_missing_configuration_fails_its_init_naming_the_variable() {
    // GIVEN each function without WXPAY_MCHID
    let Some(aws) = aws_env() else {
        return;
    };
    let env: Vec<(String, String)> = aws
        .into_iter()
        .chain([("ORDERS_TABLE".to_owned(), "orders".to_owned())])
        .collect();
    for binary in FUNCTIONS {
        let api = RuntimeApi::start(binary).await.unwrap();
        // WHEN it starts
        let mut process = FunctionProcess::spawn(&spec(binary, &env), &api).unwrap();
        let status = process.wait_exit(READY).await.unwrap();
        // THEN it exits before asking for an event, having told the Runtime API which variable
        // is missing through /init/error (Lambda's Runtime.InitError), and its log says so too
        let output = process.output_text();
        assert!(status.is_some_and(|s| !s.success()), "{binary}: {output}");
        assert_eq!(api.polls(), 0, "{binary}");
        let reported = api.init_error();
        let message = reported.as_ref().and_then(|e| e.error_message());
        assert!(
            message.is_some_and(|m| m.contains("WXPAY_MCHID")),
            "{binary}: {reported:?}\n{output}"
        );
        assert_eq!(
            reported.and_then(|e| e.error_type_header).as_deref(),
            Some("Runtime.InitError"),
            "{binary}"
        );
        assert!(output.contains("WXPAY_MCHID"), "{binary}: {output}");
    }
}

#[tokio::test]
async fn the_storefront_function_refuses_a_notify_url_wechat_pay_would_refuse_at_init() {
    // GIVEN the stack's variables with a plain-HTTP notify URL to a public host
    let Some(stack) = Stack::start().await else {
        return;
    };
    let bad = spec("native-order", &stack.env).var(
        "WXPAY_NOTIFY_URL",
        "http://shop.example/api/wx-pay/native/notify",
    );
    // WHEN native-order starts
    let api = RuntimeApi::start("native-order").await.unwrap();
    let mut process = FunctionProcess::spawn(&bad, &api).unwrap();
    let status = process.wait_exit(READY).await.unwrap();
    // THEN it fails its init naming the variable and the rule, before any order could be placed
    let output = process.output_text();
    assert!(status.is_some_and(|s| !s.success()), "{output}");
    assert_eq!(api.polls(), 0);
    let reported = api.init_error();
    let message = reported.as_ref().and_then(|e| e.error_message());
    assert!(
        message.is_some_and(|m| m.contains("WXPAY_NOTIFY_URL") && m.contains("HTTPS")),
        "{reported:?}\n{output}"
    );
}

#[tokio::test]
async fn the_admin_function_answers_iam_principals_only() {
    // GIVEN a placed order and the merchant-admin binary with the stack's variables
    let Some(stack) = Stack::start().await else {
        return;
    };
    let order_no = stack.place_order("admin-buyer-token-0001").await["orderNo"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = LambdaFunction::start(&spec("merchant-admin", &stack.env), READY)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let event = HttpApiEvent::from_fixture("apigw-v2/admin-order.json")
        .unwrap()
        .path_param("orderNo", &order_no)
        .build()
        .unwrap();
    let invoke = |event: Value| {
        let admin = &admin;
        async move {
            let output =
                admin.api.invoke(&event, CALL).await.unwrap_or_else(|e| {
                    panic!("merchant-admin: {e}\n{}", admin.process.output_text())
                });
            let response = HttpResponse::from_lambda(&output).unwrap();
            let body = response.json().unwrap();
            (response.status, body)
        }
    };
    // WHEN API Gateway passes a request it authorized with IAM
    let (status, body) = invoke(event.clone()).await;
    // THEN the order is shown
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["order"]["orderNo"], order_no.as_str());
    assert_eq!(body["data"]["order"]["orderStatus"], "NOTPAY");
    // AND without an IAM principal in the request context nothing is
    let mut unsigned = event;
    unsigned["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, body) = invoke(unsigned).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 401);
}
