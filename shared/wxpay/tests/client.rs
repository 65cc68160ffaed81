//! The client against a local HTTP server playing WeChat Pay: it signs exactly what it sends,
//! verifies every 2xx (204 included), maps error bodies, and times out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{platform_certificate, signed_headers};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use wxpay::certificate::CERTIFICATE_AAD;
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::models::{CertificateEntry, CertificatesResponse, NativePrepayRequest};
use wxpay::random::OsRandom;
use wxpay::refund::{RefundRequest, RefundStatus};
use wxpay::sign::{Authorization, request_message};
use wxpay::verify::VerifyError;
use wxpay::{ApiV3Key, Client, ClientConfig, ClientError, SystemClock, Verification, aead};

const MCHID: &str = "1900007291";
const MERCHANT_SERIAL: &str = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB";
const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const PLATFORM_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const APIV3: &str = "0123456789ABCDEFabcdef0123456789";

/// A request as the server saw it, and whether its Authorization verified.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    body: Vec<u8>,
    signature_ok: bool,
    wechatpay_serial: Option<String>,
    user_agent: Option<String>,
    accept: Option<String>,
}

struct Wechat {
    merchant_public: PublicKey,
    public_key_signer: PrivateKey,
    platform_signer: PrivateKey,
    platform_cert_pem: String,
    seen: Mutex<Vec<Seen>>,
}

impl Wechat {
    fn signed(&self, request_serial: Option<&str>, status: StatusCode, body: Vec<u8>) -> Response {
        let (key, serial) = if request_serial == Some(KEY_ID) {
            (&self.public_key_signer, KEY_ID)
        } else {
            (&self.platform_signer, PLATFORM_SERIAL)
        };
        let ts = OffsetDateTime::now_utc().unix_timestamp();
        let headers = signed_headers(key, serial, ts, "d824f2e086d3c1df967785d13fcd22ef", &body);
        (status, headers, body).into_response()
    }
}

async fn wechat(
    State(state): State<Arc<Wechat>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signature_ok = header("authorization")
        .and_then(|h| Authorization::parse(&h).ok())
        .is_some_and(|auth| {
            let message = request_message(
                method.as_str(),
                &target,
                &auth.timestamp,
                &auth.nonce_str,
                &body,
            );
            let signature =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &auth.signature)
                    .unwrap();
            auth.mchid == MCHID
                && auth.serial_no == MERCHANT_SERIAL
                && state.merchant_public.verify_sha256(&message, &signature)
        });
    let serial = header("wechatpay-serial");
    state.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        target: target.clone(),
        body: body.to_vec(),
        signature_ok,
        wechatpay_serial: serial.clone(),
        user_agent: header("user-agent"),
        accept: header("accept"),
    });
    let path = uri.path();
    if path == "/v3/certificates" {
        let apiv3: ApiV3Key = APIV3.parse().unwrap();
        let listing = CertificatesResponse {
            data: vec![CertificateEntry {
                serial_no: PLATFORM_SERIAL.into(),
                effective_time: "2025-01-01T00:00:00+08:00".into(),
                expire_time: "2030-01-01T00:00:00+08:00".into(),
                encrypt_certificate: aead::encrypt(
                    &apiv3,
                    "61f9c719728a",
                    CERTIFICATE_AAD,
                    state.platform_cert_pem.as_bytes(),
                )
                .unwrap(),
            }],
        };
        return state.signed(None, StatusCode::OK, serde_json::to_vec(&listing).unwrap());
    }
    if path.contains("UNSIGNED") {
        return (
            StatusCode::OK,
            r#"{"code_url":"weixin://wxpay/bizpayurl?pr=x"}"#,
        )
            .into_response();
    }
    if path.contains("BADSIGN") {
        let mut response = state.signed(serial.as_deref(), StatusCode::OK, b"{}".to_vec());
        response.headers_mut().insert(
            "wechatpay-signature",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                .parse()
                .unwrap(),
        );
        return response;
    }
    if path.contains("NOTFOUND") {
        return (
            StatusCode::NOT_FOUND,
            r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#,
        )
            .into_response();
    }
    if path.contains("BUSY") {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#,
        )
            .into_response();
    }
    if path.contains("SLOW") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if path.ends_with("/close") {
        if path.contains("UNSIGNED204") {
            return StatusCode::NO_CONTENT.into_response();
        }
        return state.signed(serial.as_deref(), StatusCode::NO_CONTENT, Vec::new());
    }
    if path == "/v3/pay/transactions/native" {
        let request: NativePrepayRequest = serde_json::from_slice(&body).unwrap();
        let answer = format!(
            r#"{{"code_url":"weixin://wxpay/bizpayurl?pr={}"}}"#,
            &request.out_trade_no[..6]
        );
        return state.signed(serial.as_deref(), StatusCode::OK, answer.into_bytes());
    }
    if path.starts_with("/v3/refund/domestic/refunds") {
        let (out_refund_no, amount) = if method == Method::POST {
            let request: RefundRequest = serde_json::from_slice(&body).unwrap();
            (request.out_refund_no, request.amount.refund)
        } else {
            (path.rsplit('/').next().unwrap_or_default().to_owned(), 1)
        };
        let refund = serde_json::json!({
            "refund_id": "50000000382019052709732678859", "out_refund_no": out_refund_no,
            "transaction_id": "4200000000202401010000000001", "out_trade_no": "ORDER_0001",
            "status": "PROCESSING", "amount": {"total": 100, "refund": amount}
        });
        return state.signed(
            serial.as_deref(),
            StatusCode::OK,
            serde_json::to_vec(&refund).unwrap(),
        );
    }
    let out_trade_no = path.rsplit('/').next().unwrap_or_default();
    let transaction = serde_json::json!({
        "appid": "wxd678efh567hg6787", "mchid": MCHID, "out_trade_no": out_trade_no,
        "trade_state": "NOTPAY", "trade_state_desc": "订单未支付"
    });
    state.signed(
        serial.as_deref(),
        StatusCode::OK,
        serde_json::to_vec(&transaction).unwrap(),
    )
}

struct Harness {
    state: Arc<Wechat>,
    base_url: url::Url,
    merchant_key_pem: String,
}

impl Harness {
    async fn start() -> Self {
        let merchant = PrivateKey::generate().unwrap();
        let platform_signer = PrivateKey::generate().unwrap();
        let now = OffsetDateTime::now_utc();
        let state = Arc::new(Wechat {
            merchant_public: merchant.public_key().unwrap(),
            public_key_signer: PrivateKey::generate().unwrap(),
            platform_cert_pem: platform_certificate(
                &platform_signer,
                PLATFORM_SERIAL,
                now - time::Duration::days(1),
                now + time::Duration::days(365),
            ),
            platform_signer,
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(wechat).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url =
            url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            state,
            base_url,
            merchant_key_pem: merchant.to_pkcs8_pem().unwrap().to_string(),
        }
    }

    fn client(&self, verification: Verification) -> Client {
        let mut config = ClientConfig::new(
            MCHID,
            MERCHANT_SERIAL,
            PrivateKey::from_pem(&self.merchant_key_pem).unwrap(),
            APIV3.parse().unwrap(),
            verification,
        )
        .unwrap();
        config.base_url = self.base_url.clone();
        config.timeout = Duration::from_millis(800);
        Client::new(config, Arc::new(SystemClock), Arc::new(OsRandom)).unwrap()
    }

    fn public_key_client(&self) -> Client {
        self.client(Verification::PublicKey {
            id: KEY_ID.into(),
            key: self.state.public_key_signer.public_key().unwrap(),
        })
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

fn prepay_request(out_trade_no: &str) -> NativePrepayRequest {
    NativePrepayRequest::new(
        "wxd678efh567hg6787",
        MCHID,
        "Image形象店-深圳腾大-QQ公仔",
        out_trade_no,
        "https://example.com/api/wx-pay/native/notify",
        1,
    )
    .with_time_expire(time::macros::datetime!(2030-01-01 00:00:00 +8))
}

#[tokio::test]
async fn post_is_signed_over_the_exact_body_sent_and_the_answer_verified() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let response = client
        .native_prepay(&prepay_request("ORDER_0001"))
        .await
        .unwrap();
    assert_eq!(response.code_url, "weixin://wxpay/bizpayurl?pr=ORDER_");
    let seen = harness.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signature_ok, "{:?}", seen[0]);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        serde_json::from_slice::<NativePrepayRequest>(&seen[0].body).unwrap(),
        prepay_request("ORDER_0001")
    );
    assert_eq!(seen[0].wechatpay_serial.as_deref(), Some(KEY_ID));
    assert!(
        seen[0]
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("wxpay-rs/"))
    );
    assert_eq!(seen[0].accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn get_is_signed_with_its_query_string() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let tx = client.query_by_out_trade_no("ORDER|0002*x").await.unwrap();
    assert_eq!(tx.out_trade_no, "ORDER%7C0002%2Ax");
    let seen = harness.seen();
    assert!(seen[0].signature_ok);
    assert_eq!(
        seen[0].target,
        "/v3/pay/transactions/out-trade-no/ORDER%7C0002%2Ax?mchid=1900007291"
    );
    assert!(seen[0].body.is_empty());
    client
        .query_by_transaction_id("4200000000202401010000000001")
        .await
        .unwrap();
    assert_eq!(
        harness.seen()[1].target,
        "/v3/pay/transactions/id/4200000000202401010000000001?mchid=1900007291"
    );
}

#[tokio::test]
async fn signed_204_is_accepted_and_unsigned_204_is_refused() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    client.close("ORDER_0003").await.unwrap();
    assert!(harness.seen()[0].signature_ok);
    assert_eq!(harness.seen()[0].body, br#"{"mchid":"1900007291"}"#);
    assert!(matches!(
        client.close("UNSIGNED204").await,
        Err(ClientError::Verification(VerifyError::MissingHeader(_)))
    ));
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_2xx_is_refused() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    assert!(matches!(
        client.query_by_out_trade_no("UNSIGNED01").await,
        Err(ClientError::Verification(VerifyError::MissingHeader(_)))
    ));
    let err = client
        .query_by_out_trade_no("BADSIGN001")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Verification(VerifyError::SignatureMismatch)
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn error_bodies_become_typed_api_errors() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let err = client
        .query_by_out_trade_no("NOTFOUND01")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Api { status: 404, code, .. } if code == "ORDER_NOT_EXIST"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let err = client
        .query_by_out_trade_no("BUSY000001")
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some("SYSTEM_ERROR"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn slow_answer_is_a_timeout() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let err = client
        .query_by_out_trade_no("SLOW000001")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn unreachable_host_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let harness = Harness::start().await;
    let mut client_harness = harness;
    client_harness.base_url = url::Url::parse(&format!("http://{addr}")).unwrap();
    let err = client_harness
        .public_key_client()
        .query_by_out_trade_no("ORDER_0004")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let mut request = prepay_request("ORDER_0005");
    request.amount.total = 0;
    let err = client.native_prepay(&request).await.unwrap_err();
    assert!(matches!(&err, ClientError::InvalidRequest(v) if v.field == "/amount/total"));
    assert!(matches!(
        client.query_by_out_trade_no("bad no").await,
        Err(ClientError::InvalidRequest(_))
    ));
    assert!(harness.seen().is_empty());
}

#[tokio::test]
async fn certificate_mode_downloads_certificates_then_verifies_with_them() {
    let harness = Harness::start().await;
    let client = harness.client(Verification::PlatformCertificates);
    let tx = client.query_by_out_trade_no("ORDER_0006").await.unwrap();
    assert_eq!(tx.out_trade_no, "ORDER_0006");
    client.query_by_out_trade_no("ORDER_0007").await.unwrap();
    let downloads = harness
        .seen()
        .iter()
        .filter(|s| s.target == "/v3/certificates")
        .count();
    assert_eq!(downloads, 1);
    assert!(harness.seen().iter().all(|s| s.signature_ok));
    // The certificates are fetched before the first call, so every call announces the newest one.
    assert_eq!(harness.seen()[0].target, "/v3/certificates");
    assert!(
        harness
            .seen()
            .iter()
            .filter(|s| s.target != "/v3/certificates")
            .all(|s| s.wechatpay_serial.as_deref() == Some(PLATFORM_SERIAL))
    );
    let certs = client.certificates().await.unwrap();
    assert_eq!(certs[0].serial_no, PLATFORM_SERIAL);
}

#[tokio::test]
async fn refunds_are_validated_signed_and_queried_by_their_number() {
    let harness = Harness::start().await;
    let client = harness.public_key_client();
    let request = RefundRequest::of_transaction("4200000000202401010000000001", "R|1*@x", 30, 100)
        .with_reason("不想要了");
    let refund = client.refund(&request).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(refund.amount.refund, 30);
    let queried = client.query_refund("R|1*@x").await.unwrap();
    assert_eq!(queried.out_refund_no, "R%7C1%2A@x");
    let seen = harness.seen();
    assert!(seen.iter().all(|s| s.signature_ok));
    assert_eq!(seen[0].target, "/v3/refund/domestic/refunds");
    assert_eq!(
        serde_json::from_slice::<RefundRequest>(&seen[0].body).unwrap(),
        request
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(seen[1].target, "/v3/refund/domestic/refunds/R%7C1%2A@x");

    let over = RefundRequest::of_transaction("4200000000202401010000000001", "R2", 101, 100);
    assert!(matches!(
        client.refund(&over).await,
        Err(ClientError::InvalidRequest(e)) if e.field == "/amount/refund"
    ));
    assert!(matches!(
        client.query_refund("bad number").await,
        Err(ClientError::InvalidRequest(e)) if e.field == "/out_refund_no"
    ));
    assert_eq!(harness.seen().len(), 2, "invalid requests are never sent");
}
