//! Helpers shared by the integration tests: fixtures and a WeChat-Pay-side signer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderValue};
use std::path::PathBuf;
use wxpay::keys::PrivateKey;
use wxpay::sign::{SCHEME, response_message, sign_base64};

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Signature headers as WeChat Pay would send them for `body`.
pub fn signed_headers(
    key: &PrivateKey,
    serial: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> HeaderMap {
    let signature =
        sign_base64(key, &response_message(&timestamp.to_string(), nonce, body)).unwrap();
    headers(serial, timestamp, nonce, &signature)
}

pub fn headers(serial: &str, timestamp: i64, nonce: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    // Mixed case on purpose: lookups must not depend on it (API Gateway lower-cases them).
    for (name, value) in [
        ("Wechatpay-Timestamp", timestamp.to_string()),
        ("wechatpay-nonce", nonce.to_owned()),
        ("WECHATPAY-SIGNATURE", signature.to_owned()),
        ("Wechatpay-Serial", serial.to_owned()),
        ("Wechatpay-Signature-Type", SCHEME.to_owned()),
    ] {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    headers
}

pub fn test_key() -> PrivateKey {
    PrivateKey::from_pem(&fixture("v1_merchant_key.pem")).unwrap()
}
