//! Cross-checks against an independent implementation: the `openssl` command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::sign::request_message;

fn openssl(args: &[&str], dir: &Path) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the openssl CLI is needed for this cross-check")
        .success()
}

fn message() -> Vec<u8> {
    request_message(
        "POST",
        "/v3/pay/transactions/native",
        "1750000000",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        r#"{"appid":"wx1","mchid":"1900000001","description":"测试","out_trade_no":"T20250101000001","notify_url":"https://example.com/n","amount":{"total":1}}"#.as_bytes(),
    )
}

#[test]
fn our_signatures_verify_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate().unwrap();
    std::fs::write(
        dir.path().join("pub.pem"),
        key.public_key().unwrap().to_spki_pem().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("msg"), message()).unwrap();
    std::fs::write(dir.path().join("sig"), key.sign_sha256(&message()).unwrap()).unwrap();
    assert!(openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig",
            "msg"
        ],
        dir.path()
    ));
    // And a tampered message does not.
    let mut tampered = message();
    tampered[0] = b'G';
    std::fs::write(dir.path().join("msg"), tampered).unwrap();
    assert!(!openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig",
            "msg"
        ],
        dir.path()
    ));
}

#[test]
fn openssl_signatures_verify_with_ours() {
    let dir = tempfile::tempdir().unwrap();
    assert!(openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem"
        ],
        dir.path()
    ));
    assert!(openssl(
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
        dir.path()
    ));
    std::fs::write(dir.path().join("msg"), message()).unwrap();
    assert!(openssl(
        &["dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "msg"],
        dir.path()
    ));
    let public =
        PublicKey::from_pem(&std::fs::read_to_string(dir.path().join("pub.pem")).unwrap()).unwrap();
    let signature = std::fs::read(dir.path().join("sig")).unwrap();
    assert!(public.verify_sha256(&message(), &signature));
    assert!(!public.verify_sha256(b"another message", &signature));
    // openssl's PKCS#8 private key loads and signs the same bytes (PKCS#1 v1.5 is deterministic).
    let private =
        PrivateKey::from_pem(&std::fs::read_to_string(dir.path().join("key.pem")).unwrap())
            .unwrap();
    assert_eq!(private.sign_sha256(&message()).unwrap(), signature);
}
