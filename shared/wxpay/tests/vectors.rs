//! Known-answer vectors from the protocol reference (§10).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixture;
use std::sync::Arc;
use time::OffsetDateTime;
use wxpay::aead;
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::models::EncryptedResource;
use wxpay::sign::{MerchantSigner, request_message, sign_base64};
use wxpay::{ApiV3Key, Verifier};

const TS: i64 = 1554208460;
const NONCE: &str = "593BEC0C930BF1AFEB40B4A08C8FB242";

#[test]
fn v2_post_signature_matches_the_published_value() {
    let key = PrivateKey::from_pem(&fixture("v1_merchant_key.pem")).unwrap();
    let body = fixture("v2_body.json");
    let message = request_message(
        "POST",
        "/v3/pay/transactions/jsapi",
        &TS.to_string(),
        NONCE,
        body.as_bytes(),
    );
    assert_eq!(
        sign_base64(&key, &message).unwrap(),
        fixture("v2_signature.txt").trim()
    );
}

#[test]
fn v2_authorization_header_carries_the_published_signature() {
    let key = PrivateKey::from_pem(&fixture("v1_merchant_key.pem")).unwrap();
    let signer = MerchantSigner::new(
        "1900007291",
        "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        key,
    );
    let body = fixture("v2_body.json");
    let header = signer
        .authorization(
            "POST",
            "/v3/pay/transactions/jsapi",
            body.as_bytes(),
            TS,
            NONCE,
        )
        .unwrap();
    assert_eq!(
        header,
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900007291\",nonce_str=\"{NONCE}\",timestamp=\"{TS}\",serial_no=\"408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB\",signature=\"{}\"",
            fixture("v2_signature.txt").trim()
        )
    );
}

#[test]
fn v3_get_signature_with_query_matches() {
    let key = PrivateKey::from_pem(&fixture("v1_merchant_key.pem")).unwrap();
    let message = request_message(
        "GET",
        "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109",
        &TS.to_string(),
        NONCE,
        b"",
    );
    assert_eq!(
        sign_base64(&key, &message).unwrap(),
        fixture("v3_signature.txt").trim()
    );
}

#[test]
fn pkcs1_pem_of_the_same_key_signs_identically() {
    // The same V1 key re-encoded as PKCS#1 ("BEGIN RSA PRIVATE KEY") by the openssl CLI.
    let dir = tempfile::tempdir().unwrap();
    let pkcs8 = dir.path().join("k8.pem");
    std::fs::write(&pkcs8, fixture("v1_merchant_key.pem")).unwrap();
    let pkcs1 = dir.path().join("k1.pem");
    let status = std::process::Command::new("openssl")
        .args(["rsa", "-traditional", "-in"])
        .arg(&pkcs8)
        .arg("-out")
        .arg(&pkcs1)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl CLI is needed for this cross-check");
    assert!(status.success());
    let pem = std::fs::read_to_string(&pkcs1).unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let key = PrivateKey::from_pem(&pem).unwrap();
    let body = fixture("v2_body.json");
    let message = request_message(
        "POST",
        "/v3/pay/transactions/jsapi",
        &TS.to_string(),
        NONCE,
        body.as_bytes(),
    );
    assert_eq!(
        sign_base64(&key, &message).unwrap(),
        fixture("v2_signature.txt").trim()
    );
}

#[tokio::test]
async fn v5_response_verifies_with_the_published_public_key() {
    let key = PublicKey::from_pem(&fixture("v5_wechatpay_pub_key.pem")).unwrap();
    let id = "PUB_KEY_ID_0000000000000024101100397200000006";
    let verifier = Verifier::with_public_key(id, key);
    let headers = common::headers(
        id,
        1722850421,
        "d824f2e086d3c1df967785d13fcd22ef",
        fixture("v5_signature.txt").trim(),
    );
    let body = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}"#;
    let now = OffsetDateTime::from_unix_timestamp(1722850421 + 30).unwrap();
    assert_eq!(verifier.verify(&headers, body, now).await.unwrap(), id);
    let verifier = Arc::new(verifier);
    let tampered = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz2"}"#;
    assert!(verifier.verify(&headers, tampered, now).await.is_err());
}

fn v8_resource() -> EncryptedResource {
    EncryptedResource {
        algorithm: "AEAD_AES_256_GCM".into(),
        ciphertext: fixture("v8_ciphertext.txt").trim().into(),
        associated_data: "transaction".into(),
        nonce: "fD2gH4jK6lM8".into(),
        original_type: Some("transaction".into()),
    }
}

fn v8_key() -> ApiV3Key {
    "0123456789ABCDEFabcdef0123456789".parse().unwrap()
}

#[test]
fn v8_resource_decrypts_to_the_published_plaintext() {
    let plaintext = aead::decrypt(&v8_key(), &v8_resource()).unwrap();
    assert_eq!(
        String::from_utf8(plaintext).unwrap(),
        fixture("v8_plaintext.json")
    );
}

#[test]
fn v8_encryption_reproduces_the_published_ciphertext() {
    let sealed = aead::encrypt(
        &v8_key(),
        "fD2gH4jK6lM8",
        "transaction",
        fixture("v8_plaintext.json").as_bytes(),
    )
    .unwrap();
    assert_eq!(sealed.ciphertext, fixture("v8_ciphertext.txt").trim());
}
