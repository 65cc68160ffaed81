//! Test harness: a simulator on a real loopback listener, merchant clients configured from its
//! `sandbox.env` like a real merchant, hand-signed requests, and a merchant notification endpoint
//! that verifies and decrypts with `wxpay::NotificationParser`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use url::Url;
use wxpay::clock::{Clock, SystemClock};
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::models::NativePrepayRequest;
use wxpay::random::OsRandom;
use wxpay::sign::MerchantSigner;
use wxpay::{
    ApiV3Key, Client, ClientConfig, Notification, NotificationParser, RefundNotification,
    TransactionNotification, Verification,
};
use wxpay_sim::{SimConfig, Simulator};

/// How the merchant verifies WeChat Pay's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PublicKey,
    Certificates,
    Combined,
}

pub struct Harness {
    pub sim: Simulator,
    pub base: Url,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    server: JoinHandle<()>,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
}

/// A simulator on 127.0.0.1:0 with a fresh sandbox and the given tweaks.
pub async fn start_with(tweak: impl FnOnce(SimConfig) -> SimConfig) -> Harness {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let mut harness = start_in(&dir, tweak).await;
    harness._tmp = Some(tmp);
    harness
}

/// A simulator with real time and a fast retry ladder (time scale 100).
pub async fn start() -> Harness {
    start_with(|c| c.with_time_scale(100.0)).await
}

/// A simulator on a given state directory (kept by the caller).
pub async fn start_in(dir: &Path, tweak: impl FnOnce(SimConfig) -> SimConfig) -> Harness {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let config = tweak(SimConfig::new(dir, base.clone()));
    let clock = config.clock.clone();
    let sim = Simulator::open(config).await.unwrap();
    let router = sim.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Harness {
        sim,
        base,
        dir: dir.to_owned(),
        _tmp: None,
        server,
        clock,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

impl Harness {
    pub fn env(&self) -> HashMap<String, String> {
        read_env(&self.dir.join("sandbox.env"))
    }

    pub fn mchid(&self) -> String {
        self.env()["WXPAY_MCHID"].clone()
    }

    pub fn appid(&self) -> String {
        self.env()["WXPAY_APPID"].clone()
    }

    pub fn client(&self) -> Client {
        self.client_with(Mode::PublicKey, Duration::from_secs(5))
    }

    /// A merchant client configured only from sandbox.env and the files it names.
    pub fn client_with(&self, mode: Mode, timeout: Duration) -> Client {
        let env = self.env();
        let key = merchant_key(&env);
        let public = || {
            PublicKey::from_pem(&std::fs::read_to_string(&env["WXPAY_PUBLIC_KEY_FILE"]).unwrap())
                .unwrap()
        };
        let id = env["WXPAY_PUBLIC_KEY_ID"].clone();
        let verification = match mode {
            Mode::PublicKey => Verification::PublicKey { id, key: public() },
            Mode::Certificates => Verification::PlatformCertificates,
            Mode::Combined => Verification::Combined { id, key: public() },
        };
        let config = ClientConfig {
            base_url: Url::parse(&env["WXPAY_BASE_URL"]).unwrap(),
            mchid: env["WXPAY_MCHID"].clone(),
            merchant_serial: env["WXPAY_MERCHANT_SERIAL"].clone(),
            merchant_key: key,
            apiv3_key: env["WXPAY_APIV3_KEY"].parse::<ApiV3Key>().unwrap(),
            verification,
            timeout,
            connect_timeout: Duration::from_secs(2),
        };
        Client::new(config, self.clock.clone(), Arc::new(OsRandom)).unwrap()
    }

    pub fn signer(&self) -> MerchantSigner {
        let env = self.env();
        MerchantSigner::new(
            env["WXPAY_MCHID"].clone(),
            env["WXPAY_MERCHANT_SERIAL"].clone(),
            merchant_key(&env),
        )
    }

    /// A request with a valid Authorization for exactly `target` and `body`.
    pub fn signed(&self, method: &str, target: &str, body: &str) -> reqwest::RequestBuilder {
        let ts = self.clock.now().unix_timestamp();
        let nonce = wxpay::random::alphanumeric(&OsRandom, 32);
        let auth = self
            .signer()
            .authorization(method, target, body.as_bytes(), ts, &nonce)
            .unwrap();
        self.with_auth(method, target, body, &auth)
    }

    /// A request with the given Authorization header and the usual other headers.
    pub fn with_auth(
        &self,
        method: &str,
        target: &str,
        body: &str,
        authorization: &str,
    ) -> reqwest::RequestBuilder {
        self.raw(method, target)
            .header("Authorization", authorization)
            .header("User-Agent", "wxpay-sim-tests")
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    }

    pub fn raw(&self, method: &str, target: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base.as_str().trim_end_matches('/'), target);
        self.http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
    }

    pub fn prepay(&self, out_trade_no: &str, notify_url: &str) -> NativePrepayRequest {
        NativePrepayRequest::new(
            self.appid(),
            self.mchid(),
            "Image形象店-深圳腾大-QQ公仔",
            out_trade_no,
            notify_url,
            100,
        )
        .with_attach("cart=7")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.raw("GET", path).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.raw("POST", path).json(body).send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Orders `out_trade_no` (notifications to `notify_url`) and has the shopper pay it: the scan's
    /// answer.
    pub async fn order_and_pay(&self, out_trade_no: &str, notify_url: &str) -> (StatusCode, Value) {
        let code = self
            .client()
            .native_prepay(&self.prepay(out_trade_no, notify_url))
            .await
            .unwrap();
        self.scan(&code.code_url).await
    }

    pub async fn scan(&self, code_url: &str) -> (StatusCode, Value) {
        self.post_json("/sim/scan", &json!({ "code_url": code_url }))
            .await
    }

    pub async fn set_faults(&self, faults: Value) {
        let (status, body) = self.post_json("/sim/faults", &faults).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn notifications(&self, out_trade_no: &str) -> Vec<Value> {
        let body = self
            .get_json(&format!("/sim/notifications?out_trade_no={out_trade_no}"))
            .await;
        body["notifications"].as_array().unwrap().clone()
    }

    /// Waits until the notification of `out_trade_no` has `status`.
    pub async fn wait_for_status(
        &self,
        out_trade_no: &str,
        status: &str,
        within: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let records = self.notifications(out_trade_no).await;
            if let Some(record) = records.first()
                && record["status"] == status
            {
                return record.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!("notification of {out_trade_no} not {status} in time: {records:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the notification of `out_trade_no` has at least `count` attempts in the
    /// simulator's notification log, and returns its record: how a test sees that a delivery was
    /// tried (and, for a dropped one, that nothing reached the merchant) without sleeping.
    pub async fn wait_for_attempts(
        &self,
        out_trade_no: &str,
        count: usize,
        within: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let records = self.notifications(out_trade_no).await;
            if let Some(record) = records.first()
                && record["attempts"]
                    .as_array()
                    .is_some_and(|a| a.len() >= count)
            {
                return record.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "notification of {out_trade_no} not tried {count} times in time: {records:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.sim.shutdown().await;
        self.server.abort();
    }
}

fn merchant_key(env: &HashMap<String, String>) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read_to_string(&env["WXPAY_MERCHANT_KEY_FILE"]).unwrap())
        .unwrap()
}

/// The variables of a `sandbox.env` file.
pub fn read_env(path: &Path) -> HashMap<String, String> {
    envfile::parse(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .collect()
}

/// What the merchant's notification endpoint saw.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Received {
    Verified {
        notification: TransactionNotification,
        headers: HeaderMap,
        body: Bytes,
    },
    Refund {
        notification: RefundNotification,
        headers: HeaderMap,
        body: Bytes,
    },
    Rejected {
        error: String,
        headers: HeaderMap,
    },
}

pub struct MerchantState {
    parser: NotificationParser,
    pub received: Mutex<Vec<(tokio::time::Instant, Received)>>,
    /// Answer 500 to this many verified notifications first.
    pub fail_first: AtomicUsize,
    /// Wait `slow_by` before answering this many verified notifications first.
    pub slow_first: AtomicUsize,
    pub slow_by: Duration,
}

/// The merchant's notify endpoint on its own listener.
pub struct Merchant {
    pub url: String,
    pub state: Arc<MerchantState>,
    server: JoinHandle<()>,
}

impl Merchant {
    pub async fn start(parser: NotificationParser) -> Self {
        Self::start_with(parser, 0, 0, Duration::ZERO).await
    }

    pub async fn start_with(
        parser: NotificationParser,
        fail_first: usize,
        slow_first: usize,
        slow_by: Duration,
    ) -> Self {
        let state = Arc::new(MerchantState {
            parser,
            received: Mutex::new(Vec::new()),
            fail_first: AtomicUsize::new(fail_first),
            slow_first: AtomicUsize::new(slow_first),
            slow_by,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/api/wx-pay/native/notify",
            listener.local_addr().unwrap()
        );
        let app = Router::new()
            .route("/api/wx-pay/native/notify", post(notify))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state, server }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn arrival_times(&self) -> Vec<tokio::time::Instant> {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }

    pub fn verified(&self) -> Vec<TransactionNotification> {
        self.received()
            .into_iter()
            .filter_map(|r| match r {
                Received::Verified { notification, .. } => Some(notification),
                _ => None,
            })
            .collect()
    }

    pub fn rejected(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter_map(|r| match r {
                Received::Rejected { error, .. } => Some(error),
                _ => None,
            })
            .collect()
    }

    /// The verified refund notifications, in arrival order.
    pub fn refunds(&self) -> Vec<RefundNotification> {
        self.received()
            .into_iter()
            .filter_map(|r| match r {
                Received::Refund { notification, .. } => Some(notification),
                _ => None,
            })
            .collect()
    }

    /// Waits for at least `count` verified refund notifications.
    pub async fn wait_refunds(&self, count: usize, within: Duration) -> Vec<RefundNotification> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let refunds = self.refunds();
            if refunds.len() >= count {
                return refunds;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {count} refund notifications, got {:?}",
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_verified(
        &self,
        count: usize,
        within: Duration,
    ) -> Vec<TransactionNotification> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let verified = self.verified();
            if verified.len() >= count {
                return verified;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {count} verified notifications, got {:?}",
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Merchant {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn notify(
    State(state): State<Arc<MerchantState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let now = SystemClock.now();
    let result = state.parser.parse(&headers, &body, now).await;
    let at = tokio::time::Instant::now();
    match result {
        Ok(notification) => {
            let received = match notification {
                Notification::Transaction(notification) => Received::Verified {
                    notification,
                    headers,
                    body,
                },
                Notification::Refund(notification) => Received::Refund {
                    notification,
                    headers,
                    body,
                },
            };
            state.received.lock().unwrap().push((at, received));
            let take = |n: &AtomicUsize| {
                n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                    .is_ok()
            };
            if take(&state.slow_first) {
                tokio::time::sleep(state.slow_by).await;
            }
            if take(&state.fail_first) {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"code":"FAIL","message":"not yet"}"#.into(),
                );
            }
            (
                StatusCode::OK,
                r#"{"code":"SUCCESS","message":"成功"}"#.into(),
            )
        }
        Err(error) => {
            state.received.lock().unwrap().push((
                at,
                Received::Rejected {
                    error: error.to_string(),
                    headers,
                },
            ));
            (
                StatusCode::UNAUTHORIZED,
                r#"{"code":"FAIL","message":"失败"}"#.into(),
            )
        }
    }
}

/// A unique out_trade_no.
pub fn trade_no(prefix: &str) -> String {
    format!("{prefix}{}", wxpay::random::alphanumeric(&OsRandom, 12))
}

/// Two numeric fields of each delivery attempt in a notification log record, in order.
pub fn attempt_pairs(record: &Value, first: &str, second: &str) -> Vec<(u64, u64)> {
    record["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a[first].as_u64().unwrap(), a[second].as_u64().unwrap()))
        .collect()
}
