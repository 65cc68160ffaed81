//! Helpers shared by the integration tests: fixtures, and WeChat Pay's signature headers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::HeaderMap;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;
use wxpay::keys::PrivateKey;
use wxpay::notify::NotificationParser;
use wxpay::verify::SignatureHeaders;
use wxpay::{ApiV3Key, Verifier};

/// The public key ID notifications name in the notification tests.
pub const ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
/// When the notification tests' notifications are signed and received (Unix seconds).
pub const TS: i64 = 1_750_000_000;

/// The notification tests' APIv3 key.
pub fn apiv3() -> ApiV3Key {
    "0123456789ABCDEFabcdef0123456789".parse().unwrap()
}

/// [`TS`] as a time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(TS).unwrap()
}

/// A fresh WeChat Pay key, and a parser that trusts it under [`ID`] and decrypts with [`apiv3`].
pub fn parser_with_key() -> (PrivateKey, NotificationParser) {
    let key = PrivateKey::generate().unwrap();
    let verifier = Verifier::with_public_key(ID, key.public_key().unwrap());
    (key, NotificationParser::new(Arc::new(verifier), apiv3()))
}

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
    wxpay::testing::sign_response(key, serial, timestamp, nonce, body).unwrap()
}

/// The `Wechatpay-*` headers carrying `signature` as given (forged, probe, malformed).
pub fn headers(serial: &str, timestamp: i64, nonce: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    SignatureHeaders {
        timestamp: timestamp.to_string(),
        nonce: nonce.to_owned(),
        signature: signature.to_owned(),
        serial: serial.to_owned(),
    }
    .write_to(&mut headers);
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
