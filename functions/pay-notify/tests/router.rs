#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The notification router, without Lambda: every outcome it answers, with notifications signed
//! and encrypted as WeChat Pay sends them (the simulator's sandbox keys), over the embedded store
//! (in memory, wrapped so that it can fail) and the in-memory WeChat Pay that took the payment.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use lambda_init::testing::LogCapture;
use orders::adapters::EmbeddedOrderStore;
use orders::domain::{CloseReason, CloseRequest, OrderNo, OrderStatus, Product};
use orders::ports::{
    CloseOutcome, EvidenceRecorder, OrderCloser, OrderReader, PaymentRecordReader, ProductWriter,
    Reported,
};
use orders::testing::{FakeWeChatPay, FaultyStore, place_prepaid};
use orders::{NotifyUrl, OrdersConfig};
use pay_notify::handler::{DEFAULT_DEADLINE, MAX_BODY_BYTES};
use pay_notify::{Deps, NOTIFY_PATH, router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;
use wxpay::certificate::PlatformCertificate;
use wxpay::keys::PrivateKey;
use wxpay::models::Transaction;
use wxpay::testing::{sign_response, signed_notification, signtest_probe};
use wxpay::verify::{CertificateSource, CertificateStore, Verifier};
use wxpay::{Clock, FixedClock, NotificationParser};
use wxpay_sim::config::SigningMode;
use wxpay_sim::sandbox::Sandbox;

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);
const APPID: &str = "wxd678efh567hg6787";
const MCHID: &str = "1900007291";

/// The sandbox merchant's keys, made once for all tests (key generation is slow).
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = url::Url::parse("http://127.0.0.1:1/").unwrap();
        Sandbox::open_or_create(dir.path(), &base).unwrap()
    })
}

/// The sandbox's WeChat Pay key for `mode`, and the serial its signatures name.
fn signing_key(mode: SigningMode) -> (&'static PrivateKey, &'static str) {
    let sandbox = sandbox();
    match mode {
        SigningMode::PublicKey => (&sandbox.public_key_signer, &sandbox.public_key_id),
        SigningMode::Certificate => (&sandbox.platform.key, &sandbox.platform.serial),
    }
}

type Store = FaultyStore<EmbeddedOrderStore>;

struct Notify {
    store: Store,
    wechat: FakeWeChatPay,
    clock: Arc<FixedClock>,
    config: OrdersConfig,
    router: Router,
}

/// How the router verifies.
enum Verification {
    PublicKey,
    /// Certificate mode, with certificates that cannot be downloaded.
    CertificatesFailing,
    /// Certificate mode, with a download that never answers.
    CertificatesHanging,
}

struct FailingSource;

impl CertificateSource for FailingSource {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>> {
        Box::pin(async { Err("connection refused".to_owned()) })
    }
}

struct HangingSource;

impl CertificateSource for HangingSource {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>> {
        Box::pin(std::future::pending())
    }
}

impl Notify {
    async fn new(verification: Verification) -> Self {
        let sandbox = sandbox();
        let store = FaultyStore::new(EmbeddedOrderStore::in_memory().unwrap());
        store
            .put_product(&Product::new("1", "Rust 课程", 2999).unwrap())
            .await
            .unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let config = OrdersConfig::new(APPID, MCHID);
        let (verifier, deadline) = match verification {
            Verification::PublicKey => (
                Verifier::with_public_key(
                    sandbox.public_key_id.clone(),
                    sandbox.public_key_signer.public_key().unwrap(),
                ),
                DEFAULT_DEADLINE,
            ),
            Verification::CertificatesFailing => (
                Verifier::with_certificates(CertificateStore::new(Arc::new(FailingSource))),
                DEFAULT_DEADLINE,
            ),
            Verification::CertificatesHanging => (
                Verifier::with_certificates(CertificateStore::new(Arc::new(HangingSource))),
                Duration::from_millis(50),
            ),
        };
        let router = router(Arc::new(Deps {
            parser: NotificationParser::new(Arc::new(verifier), sandbox.apiv3_key.clone()),
            store: store.clone(),
            clock: Arc::clone(&clock),
            config: config.clone(),
            deadline,
        }));
        Self {
            store,
            wechat: FakeWeChatPay::new(Arc::clone(&clock)),
            clock,
            config,
            router,
        }
    }

    /// An order placed and prepaid (its QR code shown); returns its number.
    async fn order(&self) -> OrderNo {
        let notify_url = NotifyUrl::parse("https://shop.example/notify").unwrap();
        place_prepaid(
            self.store.inner(),
            &self.wechat,
            &self.clock,
            &self.config,
            &notify_url,
            "1",
        )
        .await
        .unwrap()
        .order_no
    }

    /// The shopper pays the order in full; returns WeChat Pay's transaction.
    fn pay(&self, order_no: &OrderNo) -> Transaction {
        self.wechat.pay(order_no.as_str()).unwrap();
        self.wechat.transaction(order_no.as_str()).unwrap()
    }

    /// The notification body of `transaction`, encrypted under the APIv3 key.
    fn body(&self, transaction: &Transaction) -> Vec<u8> {
        let (key, serial) = signing_key(SigningMode::PublicKey);
        signed_notification(
            key,
            serial,
            &sandbox().apiv3_key,
            "5a2a9a0e-8c1f-4c7e-9a53-ecf0b1a9c0de",
            &serde_json::to_vec(transaction).unwrap(),
            self.clock.now(),
        )
        .unwrap()
        .body
    }

    /// `Wechatpay-*` headers signing `body` now, with the key of `mode`.
    fn signed(&self, mode: SigningMode, body: &[u8]) -> HeaderMap {
        let (key, serial) = signing_key(mode);
        let now = self.clock.now().unix_timestamp();
        sign_response(key, serial, now, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body).unwrap()
    }

    /// An order placed and paid, and its notification (headers signed with the key of `mode`).
    async fn paid_notification(&self, mode: SigningMode) -> (OrderNo, HeaderMap, Vec<u8>) {
        let order_no = self.order().await;
        let body = self.body(&self.pay(&order_no));
        let headers = self.signed(mode, &body);
        (order_no, headers, body)
    }

    async fn post(&self, headers: HeaderMap, body: Vec<u8>) -> (StatusCode, Value) {
        let mut request = Request::post(NOTIFY_PATH)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        request.headers_mut().extend(headers);
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Posts `transaction` as WeChat Pay does: encrypted and signed with the public key.
    async fn notify(&self, transaction: &Transaction) -> (StatusCode, Value) {
        let body = self.body(transaction);
        let headers = self.signed(SigningMode::PublicKey, &body);
        self.post(headers, body).await
    }

    async fn status_of(&self, order_no: &OrderNo) -> OrderStatus {
        self.store
            .inner()
            .get_order(order_no)
            .await
            .unwrap()
            .unwrap()
            .order_status
    }
}

fn success() -> Value {
    json!({"code": "SUCCESS", "message": "成功"})
}

fn fail(message: &str) -> Value {
    json!({"code": "FAIL", "message": message})
}

/// The log lines of refused notifications (`alert = notify_verification_failed`).
fn alerts(logs: &LogCapture) -> Vec<Value> {
    logs.with_field("alert", "notify_verification_failed")
}

// ---- settled: 200 SUCCESS ----

#[tokio::test]
async fn a_genuine_notification_settles_the_order() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let mut transaction = notify.pay(&order_no);
    // WeChat Pay notifies a few seconds after the payment.
    transaction.success_time = Some(notify.clock.now());
    notify.clock.advance(time::Duration::milliseconds(2500));
    let answer = notify.notify(&transaction).await;
    assert_eq!(answer, (StatusCode::OK, success()));
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Success);
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "settled"))),
        1
    );
    let delays = logs.metrics("SettleDelay");
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_eq!(delays[0]["SettleDelay"], 2500);
    assert_eq!(logs.metric_total("NotificationsRefused", None), 0);
    let events = logs.events();
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "order settled by notification"
                && e["out_trade_no"] == order_no.as_str()),
        "{events:?}"
    );
    assert!(alerts(&logs).is_empty());
}

#[tokio::test]
async fn a_duplicate_notification_is_acknowledged_again() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let transaction = notify.pay(&order_no);
    assert_eq!(notify.notify(&transaction).await.0, StatusCode::OK);
    assert_eq!(
        notify.notify(&transaction).await,
        (StatusCode::OK, success())
    );
    let records = notify
        .store
        .inner()
        .payment_records(&order_no)
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert!(
        !logs
            .with_field("message", "duplicate notification")
            .is_empty()
    );
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "settled"))),
        1
    );
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "duplicate"))),
        1
    );
    assert_eq!(logs.metrics("SettleDelay").len(), 1, "only the settle");
}

#[tokio::test]
async fn payment_of_a_closed_order_is_recorded_and_acknowledged() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let transaction = notify.pay(&order_no);
    // Closed here (the sweep saw it expire) although the shopper paid.
    notify.clock.advance(time::Duration::seconds(400));
    let order = notify
        .store
        .inner()
        .get_order(&order_no)
        .await
        .unwrap()
        .unwrap();
    let closed = notify
        .store
        .inner()
        .close_order(
            &order_no,
            &CloseRequest {
                reason: CloseReason::Expired,
                prepay_seen: order.prepay_started_at,
                at: notify.clock.now(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(closed, CloseOutcome::Closed(_)), "{closed:?}");
    assert_eq!(
        notify.notify(&transaction).await,
        (StatusCode::OK, success())
    );
    let order = notify
        .store
        .inner()
        .get_order(&order_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.order_status, OrderStatus::Success);
    assert!(order.paid_after_close);
    assert_eq!(
        logs.metric_total(
            "PaymentsNeedingAttention",
            Some(("Reason", "paid_after_close"))
        ),
        1
    );
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "recorded"))),
        1
    );
}

#[tokio::test]
async fn a_second_payment_of_a_settled_order_is_recorded_and_acknowledged() {
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let transaction = notify.pay(&order_no);
    assert_eq!(notify.notify(&transaction).await.0, StatusCode::OK);
    let mut second = transaction.clone();
    second.transaction_id = Some("4200000000202405019999999999".into());
    assert_eq!(notify.notify(&second).await, (StatusCode::OK, success()));
    let records = notify
        .store
        .inner()
        .payment_records(&order_no)
        .await
        .unwrap();
    assert_eq!(records.len(), 2, "both payments are on record");
}

// ---- store failure: 500, retried by WeChat Pay ----

#[tokio::test]
async fn a_store_failure_asks_wechat_pay_to_retry() {
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let transaction = notify.pay(&order_no);
    notify.store.fail(true);
    assert_eq!(
        notify.notify(&transaction).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            fail("temporarily unable to record, retry later")
        )
    );
    notify.store.fail(false);
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
    assert_eq!(
        notify.notify(&transaction).await,
        (StatusCode::OK, success())
    );
}

// ---- genuinely signed, wrong for us: 400, evidence kept ----

#[tokio::test]
async fn a_mismatched_transaction_settles_nothing_keeps_evidence_and_alerts() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    notify.wechat.pay_amount(order_no.as_str(), 1).unwrap();
    let tampered = notify.wechat.transaction(order_no.as_str()).unwrap();
    assert_eq!(
        notify.notify(&tampered).await,
        (
            StatusCode::BAD_REQUEST,
            fail("notification does not match the order")
        )
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
    let evidence = notify
        .store
        .inner()
        .evidence_for(order_no.as_str())
        .await
        .unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(
        evidence[0].reported,
        Reported::Transaction(tampered.clone())
    );
    let alerts = alerts(&logs);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["out_trade_no"], order_no.as_str());
    assert_eq!(alert["mchid"], MCHID);
    assert_eq!(alert["appid"], APPID);
    assert_eq!(alert["amount_total"], "Some(1)");
    assert_eq!(alert["trade_state"], "SUCCESS");
    assert_eq!(
        alert["transaction_id"],
        tampered.transaction_id.clone().unwrap()
    );
    assert!(alert["notification_id"].is_string());
    assert!(alert["reason"].is_string());
}

#[tokio::test]
async fn a_transaction_for_another_merchant_or_an_unknown_order_is_refused() {
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let mut foreign = notify.pay(&order_no);
    foreign.mchid = "1900000000".into();
    assert_eq!(
        notify.notify(&foreign).await,
        (
            StatusCode::BAD_REQUEST,
            fail("notification does not match the order")
        )
    );
    let mut unknown = notify.wechat.transaction(order_no.as_str()).unwrap();
    unknown.out_trade_no = "N20240501000000UNKNOWN".into();
    assert_eq!(notify.notify(&unknown).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}

// ---- refused before decrypting: 401 / 400 / 413 ----

#[tokio::test]
async fn the_signtest_probe_is_refused_without_an_alert() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let body = notify.body(&notify.pay(&order_no));
    let (_, serial) = signing_key(SigningMode::PublicKey);
    let headers = signtest_probe(serial, notify.clock.now().unix_timestamp());
    assert_eq!(
        notify.post(headers, body).await,
        (
            StatusCode::UNAUTHORIZED,
            fail("signature verification failed")
        )
    );
    assert!(alerts(&logs).is_empty(), "a probe is not an attack");
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "probe"))),
        1
    );
    assert_eq!(logs.metric_total("NotificationsRefused", None), 0);
    assert!(
        !logs
            .with_field("message", "WECHATPAY/SIGNTEST probe refused")
            .is_empty()
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}

#[tokio::test]
async fn bad_signatures_are_refused_with_an_alert() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let (order_no, headers, body) = notify.paid_notification(SigningMode::PublicKey).await;

    // Tampered after signing.
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    // Signed with the platform certificate, which this public-key-only verifier does not know.
    let certificate = notify.signed(SigningMode::Certificate, &body);

    // Tampered, unsigned, signed with an unknown key.
    for (headers, body) in [
        (headers.clone(), tampered),
        (HeaderMap::new(), body.clone()),
        (certificate, body.clone()),
    ] {
        assert_eq!(
            notify.post(headers, body).await,
            (
                StatusCode::UNAUTHORIZED,
                fail("signature verification failed")
            )
        );
    }
    // Genuine, but signed ten minutes ago.
    notify.clock.advance(time::Duration::minutes(10));
    assert_eq!(
        notify.post(headers, body).await,
        (
            StatusCode::UNAUTHORIZED,
            fail("signature verification failed")
        )
    );
    let alerts = alerts(&logs);
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    assert_eq!(
        logs.metric_total("NotificationsRefused", Some(("Reason", "signature"))),
        4
    );
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "refused"))),
        4
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}

#[tokio::test]
async fn a_genuinely_signed_body_that_is_not_a_notification_is_malformed() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let order_no = notify.order().await;
    let transaction = notify.pay(&order_no);
    let not_json = b"not a notification".to_vec();
    // Encrypted under another APIv3 key: signed, yet it does not decrypt.
    let mut envelope: Value = serde_json::from_slice(&notify.body(&transaction)).unwrap();
    envelope["resource"]["ciphertext"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let undecryptable = serde_json::to_vec(&envelope).unwrap();
    let mut refund: Value = serde_json::from_slice(&notify.body(&transaction)).unwrap();
    refund["event_type"] = json!("REFUND.SUCCESS");
    let refund = serde_json::to_vec(&refund).unwrap();
    for body in [not_json, undecryptable, refund] {
        let headers = notify.signed(SigningMode::PublicKey, &body);
        assert_eq!(
            notify.post(headers, body).await,
            (StatusCode::BAD_REQUEST, fail("malformed notification"))
        );
    }
    assert_eq!(alerts(&logs).len(), 3);
    assert_eq!(
        logs.metric_total("NotificationsRefused", Some(("Reason", "malformed"))),
        3
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::PublicKey).await;
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let headers = notify.signed(SigningMode::PublicKey, &body);
    assert_eq!(
        notify.post(headers, body).await,
        (StatusCode::PAYLOAD_TOO_LARGE, fail("request body rejected"))
    );
    let alerts = alerts(&logs);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["reason"], "body");
    assert_eq!(
        logs.metric_total("NotificationsRefused", Some(("Reason", "body"))),
        1
    );
}

// ---- cannot verify now: 503, retried by WeChat Pay ----

#[tokio::test]
async fn unavailable_platform_certificates_ask_for_a_retry() {
    let (logs, _guard) = LogCapture::start();
    let notify = Notify::new(Verification::CertificatesFailing).await;
    let (order_no, headers, body) = notify.paid_notification(SigningMode::Certificate).await;
    assert_eq!(
        notify.post(headers, body).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            fail("cannot verify now, retry later")
        )
    );
    assert!(alerts(&logs).is_empty(), "our outage, not an attack");
    assert_eq!(logs.metric_total("NotificationsRefused", None), 0);
    assert_eq!(
        logs.metric_total("Notifications", Some(("Outcome", "retry_later"))),
        1
    );
    assert!(
        !logs
            .with_field("message", "platform certificates unavailable")
            .is_empty()
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}

#[tokio::test]
async fn handling_past_the_deadline_asks_for_a_retry() {
    let notify = Notify::new(Verification::CertificatesHanging).await;
    let (order_no, headers, body) = notify.paid_notification(SigningMode::Certificate).await;
    assert_eq!(
        notify.post(headers, body).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            fail("timed out, retry later")
        )
    );
    assert_eq!(notify.status_of(&order_no).await, OrderStatus::Notpay);
}
