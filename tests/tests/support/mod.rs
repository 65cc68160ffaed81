//! The harness of the local-stack tests: the whole stack in-process on a free port with its own
//! data directory, a merchant clock the test moves, and HTTP helpers for the storefront API, the
//! admin API and the simulator. Each test binary uses part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use env_config::{FlowSettings, MapEnv, MerchantSecrets, WxPaySettings, wxpay_client};
use orders::domain::OrderNo;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use wxpay::keys::PrivateKey;
use wxpay::models::TradeState;
use wxpay::{ApiV3Key, Clock};
use wxpay_local::{Stack, StackConfig};

pub const BUYER: &str = "0123456789abcdef0123456789abcdef";
pub const OTHER_BUYER: &str = "fedcba9876543210fedcba9876543210";

/// The merchant side's clock: real time plus an offset the test moves forward.
#[derive(Default)]
pub struct OffsetClock(Mutex<time::Duration>);

impl OffsetClock {
    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.0.lock().unwrap()
    }
}

pub struct Harness {
    pub stack: Stack,
    pub clock: Arc<OffsetClock>,
    pub http: reqwest::Client,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    pub async fn start_with(orders_table: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(OffsetClock::default());
        let flow = FlowSettings {
            order_ttl_secs: 90,
            sweep_after_secs: 30,
            sweep_concurrency: 4,
            late_payment_policy: orders::LatePaymentPolicy::Honor,
            // The system tests place many orders quickly; the caps have their own tests in
            // orders and native-order.
            max_open_orders_per_buyer: 0,
            anonymous_orders_per_minute: 0,
        };
        let stack = Stack::start(StackConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            storefront_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/storefront").into(),
            sim_time_scale: 1000.0,
            sweep_every: Duration::from_secs(3600),
            flow,
            orders_table,
            clock: clock.clone(),
        })
        .await
        .unwrap();
        let base = stack.base_url().as_str().trim_end_matches('/').to_owned();
        Self {
            stack,
            clock,
            http: reqwest::Client::new(),
            base,
            dir,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("X-Buyer-Token", token);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("X-Buyer-Token", token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Places an order for `product` as `BUYER`; returns (orderNo, codeUrl).
    pub async fn order(&self, product: &str) -> (String, String) {
        let (status, body) = self
            .post(
                &format!("/api/wx-pay/native/{product}"),
                Some(BUYER),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        assert!(data["qrSvg"].as_str().unwrap().contains("<svg"));
        (
            data["orderNo"].as_str().unwrap().to_owned(),
            data["codeUrl"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn status(&self, order_no: &str) -> String {
        let (_, body) = self
            .get(
                &format!("/api/order-info/query-order-status/{order_no}"),
                None,
            )
            .await;
        body["data"]["orderStatus"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn wait_for_status(&self, order_no: &str, expected: &str) {
        for _ in 0..100 {
            if self.status(order_no).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "order {order_no} never became {expected} (is {})",
            self.status(order_no).await
        );
    }

    pub async fn scan(&self, code_url: &str) -> (u16, Value) {
        self.post(
            "/sim/scan",
            None,
            None,
            Some(json!({ "code_url": code_url })),
        )
        .await
    }

    pub async fn faults(&self, faults: Value) {
        let (status, body) = self.post("/sim/faults", None, None, Some(faults)).await;
        assert!(status < 300, "{body}");
    }

    pub async fn clear_faults(&self) {
        let status = self
            .http
            .delete(format!("{}/sim/faults", self.base))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
    }

    /// Polls the simulator's notification log until the record of `order_no`'s notification
    /// satisfies `done`, and returns it: how a test learns which deliveries were tried (or
    /// dropped) before asserting that nothing else happened, instead of sleeping a fixed time.
    pub async fn wait_for_notification(
        &self,
        order_no: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..250 {
            if let Some(record) = self.notifications_for(order_no).await.into_iter().next()
                && done(&record)
            {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the notification of {order_no} never {what}: {:?}",
            self.notifications_for(order_no).await
        );
    }

    pub async fn notifications_for(&self, order_no: &str) -> Vec<Value> {
        let (_, body) = self.get("/sim/notifications", None).await;
        body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["out_trade_no"] == order_no)
            .cloned()
            .collect()
    }

    pub async fn payment_records(&self, order_no: &str) -> usize {
        self.stack
            .payment_records(&OrderNo::parse(order_no).unwrap())
            .await
            .unwrap()
            .len()
    }

    pub fn sandbox(&self) -> MapEnv {
        MapEnv::parse_dotenv(&std::fs::read_to_string(self.dir.path().join("sandbox.env")).unwrap())
    }

    /// The merchant's own client, to ask WeChat Pay (the simulator) what it knows.
    pub async fn wechat_state(&self, order_no: &str) -> TradeState {
        let settings = WxPaySettings::from_env(&self.sandbox()).unwrap();
        let secrets = MerchantSecrets::load(&settings.secrets, None)
            .await
            .unwrap();
        let client = wxpay_client(&settings, secrets).unwrap();
        client
            .query_by_out_trade_no(order_no)
            .await
            .unwrap()
            .trade_state
    }

    /// Posts a notification to our notify URL signed with WeChat Pay's (the simulator's) key, or
    /// another, at `timestamp`; `tamper` may change the body after signing.
    pub async fn post_notification(
        &self,
        transaction: Value,
        signer: &PrivateKey,
        timestamp: i64,
        tamper: impl FnOnce(Vec<u8>) -> Vec<u8>,
    ) -> u16 {
        let vars = self.sandbox();
        let key: ApiV3Key = vars.0["WXPAY_APIV3_KEY"].parse().unwrap();
        let signed = wxpay::testing::signed_notification(
            signer,
            &vars.0["WXPAY_PUBLIC_KEY_ID"],
            &key,
            &uuid::Uuid::new_v4().to_string(),
            transaction.to_string().as_bytes(),
            time::OffsetDateTime::from_unix_timestamp(timestamp).unwrap(),
        )
        .unwrap();
        self.http
            .post(format!("{}/api/wx-pay/native/notify", self.base))
            .headers(signed.headers)
            .header("Content-Type", "application/json")
            .body(tamper(signed.body))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub fn wechat_signing_key(&self) -> PrivateKey {
        PrivateKey::from_pem(
            &std::fs::read_to_string(self.dir.path().join("sim/wechatpay_private_key.pem"))
                .unwrap(),
        )
        .unwrap()
    }

    pub fn paid_transaction(&self, order_no: &str, total: i64) -> Value {
        let vars = self.sandbox();
        json!({
            "appid": vars.0["WXPAY_APPID"], "mchid": vars.0["WXPAY_MCHID"], "out_trade_no": order_no,
            "transaction_id": "4200000000202401010000000001", "trade_type": "NATIVE",
            "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "success_time": "2025-06-15T23:06:40+08:00", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
        })
    }

    /// Places an order for `product` as `BUYER`, pays it at the simulator and waits until the
    /// notification marked it paid; returns its number.
    pub async fn paid_order(&self, product: &str) -> String {
        let (order_no, code_url) = self.order(product).await;
        let (status, body) = self.scan(&code_url).await;
        assert_eq!(status, 200, "{body}");
        self.wait_for_status(&order_no, "SUCCESS").await;
        order_no
    }

    /// `GET /admin{path}` with the stack's bearer token.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/admin{path}", self.base))
            .bearer_auth(self.stack.admin_token().expose())
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// `POST /admin/orders/{order_no}/refunds` of `amount` fen under `key`, with the token.
    pub async fn refund(&self, order_no: &str, key: &str, amount: i64) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/admin/orders/{order_no}/refunds", self.base))
            .bearer_auth(self.stack.admin_token().expose())
            .header("Idempotency-Key", key)
            .json(&json!({ "amount": amount, "reason": "test refund" }))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// `data` of `GET /admin/orders/{order_no}`: `{order, payments, refunds}`.
    pub async fn admin_order(&self, order_no: &str) -> Value {
        let (status, body) = self.admin_get(&format!("/orders/{order_no}")).await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    /// Polls the admin API until `order_no`'s detail satisfies `done`, and returns it.
    pub async fn wait_for_admin(
        &self,
        order_no: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..250 {
            let detail = self.admin_order(order_no).await;
            if done(&detail) {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "order {order_no} never {what}: {}",
            self.admin_order(order_no).await
        );
    }

    /// Polls the simulator's notification log until the record of the refund `out_refund_no`'s
    /// notification satisfies `done`, and returns it.
    pub async fn wait_for_refund_notification(
        &self,
        out_refund_no: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let find = || async {
            let (_, body) = self.get("/sim/notifications", None).await;
            body["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["out_refund_no"] == out_refund_no)
                .cloned()
        };
        for _ in 0..250 {
            if let Some(record) = find().await
                && done(&record)
            {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the notification of refund {out_refund_no} never {what}: {:?}",
            find().await
        );
    }

    /// The refunds WeChat Pay (the simulator's ledger, `GET /sim/orders`) holds for `order_no`.
    pub async fn sim_refunds(&self, order_no: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/sim/orders?out_trade_no={order_no}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["orders"][0]["refunds"].as_array().unwrap().clone()
    }
}
