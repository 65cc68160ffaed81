//! Every way a response or notification signature is refused, each with its specific error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{headers, signed_headers};
use http::HeaderMap;
use std::sync::OnceLock;
use time::OffsetDateTime;
use wxpay::keys::PrivateKey;
use wxpay::{Verifier, VerifyError};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const NOW: i64 = 1_750_000_000;
const NONCE: &str = "d824f2e086d3c1df967785d13fcd22ef";
const BODY: &[u8] = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#;

fn wechat_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

fn verifier() -> Verifier {
    Verifier::with_public_key(KEY_ID, wechat_key().public_key().unwrap())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

async fn check(headers: &HeaderMap, body: &[u8]) -> Result<String, VerifyError> {
    verifier().verify(headers, body, now()).await
}

#[tokio::test]
async fn genuine_signature_verifies() {
    let headers = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, BODY);
    assert_eq!(check(&headers, BODY).await.unwrap(), KEY_ID);
}

#[tokio::test]
async fn empty_body_of_a_204_is_signed_as_an_empty_line() {
    let headers = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, b"");
    check(&headers, b"").await.unwrap();
}

#[tokio::test]
async fn tampered_body_is_a_signature_mismatch() {
    let headers = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, BODY);
    let tampered = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abd"}"#;
    assert_eq!(
        check(&headers, tampered).await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn timestamp_five_minutes_in_the_past_or_future_is_stale() {
    for skew in [-300, 300, -3600, 86_400] {
        let headers = signed_headers(wechat_key(), KEY_ID, NOW + skew, NONCE, BODY);
        assert_eq!(
            check(&headers, BODY).await,
            Err(VerifyError::StaleTimestamp { skew_secs: skew }),
            "skew {skew}"
        );
    }
    for skew in [-299, 299] {
        let headers = signed_headers(wechat_key(), KEY_ID, NOW + skew, NONCE, BODY);
        check(&headers, BODY).await.unwrap();
    }
}

#[tokio::test]
async fn unknown_serial_is_refused() {
    let headers = signed_headers(wechat_key(), "PUB_KEY_ID_999", NOW, NONCE, BODY);
    assert_eq!(
        check(&headers, BODY).await,
        Err(VerifyError::UnknownSerial("PUB_KEY_ID_999".into()))
    );
}

#[tokio::test]
async fn signature_by_another_key_is_a_mismatch() {
    let other = PrivateKey::generate().unwrap();
    let headers = signed_headers(&other, KEY_ID, NOW, NONCE, BODY);
    assert_eq!(
        check(&headers, BODY).await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn signtest_probe_is_an_ordinary_typed_failure() {
    for probe in [
        "WECHATPAY/SIGNTEST/ZEtOT3hhVnZ1WkRHUG5mQVlqc1dUMzNkMGpSQ2pxbWdH",
        "WECHATPAY/SIGNTEST/xyz",
        "WECHATPAY/SIGNTEST/",
    ] {
        let headers = headers(KEY_ID, NOW, NONCE, probe);
        assert_eq!(
            check(&headers, BODY).await,
            Err(VerifyError::SignTestProbe),
            "{probe}"
        );
    }
}

#[tokio::test]
async fn non_base64_signature_is_refused() {
    let headers = headers(KEY_ID, NOW, NONCE, "not base64 at all!");
    assert_eq!(
        check(&headers, BODY).await,
        Err(VerifyError::SignatureNotBase64)
    );
}

#[tokio::test]
async fn each_missing_header_is_named() {
    let full = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, BODY);
    for name in [
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-signature",
        "wechatpay-serial",
    ] {
        let mut headers = full.clone();
        headers.remove(name);
        assert_eq!(
            check(&headers, BODY).await,
            Err(VerifyError::MissingHeader(name))
        );
    }
}

#[tokio::test]
async fn absent_signature_type_means_the_default_and_another_is_refused() {
    let mut headers = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, BODY);
    headers.remove("wechatpay-signature-type");
    check(&headers, BODY).await.unwrap();
    headers.insert(
        "wechatpay-signature-type",
        "WECHATPAY2-SM2-WITH-SM3".parse().unwrap(),
    );
    assert_eq!(
        check(&headers, BODY).await,
        Err(VerifyError::SignatureType("WECHATPAY2-SM2-WITH-SM3".into()))
    );
}

#[tokio::test]
async fn malformed_timestamp_is_refused() {
    let mut headers = signed_headers(wechat_key(), KEY_ID, NOW, NONCE, BODY);
    headers.insert("wechatpay-timestamp", "1750000000000x".parse().unwrap());
    assert_eq!(
        check(&headers, BODY).await,
        Err(VerifyError::MalformedTimestamp)
    );
}
