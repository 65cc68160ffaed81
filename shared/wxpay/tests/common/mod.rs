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

/// A self-signed platform certificate (as WeChat Pay would list it) for `key`, valid in
/// `[not_before, not_after)`, with serial `serial_hex` (upper-case hex).
pub fn platform_certificate(
    key: &PrivateKey,
    serial_hex: &str,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> String {
    let pem = key.to_pkcs8_pem().unwrap();
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["wechatpay-platform".to_owned()]).unwrap();
    let serial: Vec<u8> = (0..serial_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&serial_hex[i..i + 2], 16).unwrap())
        .collect();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.not_before = not_before;
    params.not_after = not_after;
    params.self_signed(&pair).unwrap().pem()
}
