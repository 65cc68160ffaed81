//! Request authentication (every 401 `SIGN_ERROR` path) and cross-checks with an independent
//! implementation, the `openssl` command line: requests it signs are accepted, and the simulator's
//! response signatures verify under it with `pub_key.pem` or the platform certificate's key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Harness, start, trade_no};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use time::OffsetDateTime;
use wxpay::keys::PrivateKey;
use wxpay::sign::{MerchantSigner, SCHEME};

const NOTIFY: &str = "https://merchant.example.com/notify";

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

async fn expect_sign_error(sim: &Harness, request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["request-id"]
            .to_str()
            .unwrap()
            .ends_with("-268443699")
    );
    assert!(!response.headers().contains_key("wechatpay-signature"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "SIGN_ERROR", "{body}");
    assert_eq!(body["detail"]["location"], "authorization");
    let _ = sim;
    body
}

fn query_target(sim: &Harness) -> String {
    format!(
        "/v3/pay/transactions/out-trade-no/ABCDEF123?mchid={}",
        sim.mchid()
    )
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_is_sign_error() {
    let sim = start().await;
    let target = query_target(&sim);
    let good = sim
        .signer()
        .authorization("GET", &target, b"", now(), "N0NCE")
        .unwrap();
    let without_serial = good
        .split(',')
        .filter(|p| !p.starts_with("serial_no="))
        .collect::<Vec<_>>()
        .join(",");
    for header in [
        None,
        Some("Bearer abc".to_owned()),
        Some(good.replacen(SCHEME, "WECHATPAY2-SHA256-RSA4096", 1)),
        Some(without_serial),
        Some(format!("{SCHEME} mchid=1900000000")),
    ] {
        let mut request = sim
            .raw("GET", &target)
            .header("User-Agent", "t")
            .header("Accept", "application/json");
        if let Some(header) = &header {
            request = request.header("Authorization", header);
        }
        let body = expect_sign_error(&sim, request).await;
        assert!(body["detail"]["detail"]["issue"].is_string(), "{header:?}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn an_unknown_mchid_or_serial_is_sign_error() {
    let sim = start().await;
    let target = query_target(&sim);
    let key = || {
        PrivateKey::from_pem(&std::fs::read_to_string(sim.dir.join("apiclient_key.pem")).unwrap())
            .unwrap()
    };
    let env = sim.env();
    let other_mchid =
        MerchantSigner::new("1900000000", env["WXPAY_MERCHANT_SERIAL"].clone(), key());
    let other_serial = MerchantSigner::new(
        sim.mchid(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        key(),
    );
    for (signer, field) in [(other_mchid, "mchid"), (other_serial, "serial_no")] {
        let auth = signer
            .authorization("GET", &target, b"", now(), "N0NCE")
            .unwrap();
        let body = expect_sign_error(&sim, sim.with_auth("GET", &target, "", &auth)).await;
        assert_eq!(body["detail"]["field"], field);
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_timestamp_300_seconds_away_is_sign_error_but_299_is_accepted() {
    let sim = start().await;
    let no = trade_no("W");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let target = format!(
        "/v3/pay/transactions/out-trade-no/{no}?mchid={}",
        sim.mchid()
    );
    for offset in [-305, 305] {
        let auth = sim
            .signer()
            .authorization("GET", &target, b"", now() + offset, "N0NCE")
            .unwrap();
        let body = expect_sign_error(&sim, sim.with_auth("GET", &target, "", &auth)).await;
        assert_eq!(body["detail"]["field"], "timestamp", "{offset}");
    }
    for offset in [-295, 295] {
        let auth = sim
            .signer()
            .authorization("GET", &target, b"", now() + offset, "N0NCE")
            .unwrap();
        let response = sim
            .with_auth("GET", &target, "", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{offset}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_signature_over_anything_but_the_raw_request_is_sign_error_with_what_was_rebuilt() {
    let sim = start().await;
    let body = serde_json::to_string(&sim.prepay(&trade_no("V"), NOTIFY)).unwrap();
    let signer = sim.signer();
    let path = "/v3/pay/transactions/native";
    let ts = now();
    // Signed body differs from the sent body (re-serialised with a space).
    let auth = signer
        .authorization("POST", path, body.as_bytes(), ts, "N0NCE")
        .unwrap();
    let sent = body.replacen(':', ": ", 1);
    let answer = expect_sign_error(&sim, sim.with_auth("POST", path, &sent, &auth)).await;
    assert_eq!(answer["message"], "错误的签名，验签失败");
    assert_eq!(answer["detail"]["detail"]["issue"], "sign not match");
    let info = &answer["detail"]["sign_information"];
    assert_eq!(info["method"], "POST");
    assert_eq!(info["url"], path);
    let expected_len = format!("POST\n{path}\n{ts}\nN0NCE\n{sent}\n").len();
    assert_eq!(info["sign_message_length"], expected_len);
    assert!(
        info["truncated_sign_message"]
            .as_str()
            .unwrap()
            .starts_with("POST\n")
    );

    // The query string is part of what is signed (a classic client bug is to leave it out).
    let target = query_target(&sim);
    let auth = signer
        .authorization(
            "GET",
            "/v3/pay/transactions/out-trade-no/ABCDEF123",
            b"",
            ts,
            "N",
        )
        .unwrap();
    let answer = expect_sign_error(&sim, sim.with_auth("GET", &target, "", &auth)).await;
    assert_eq!(answer["detail"]["sign_information"]["url"], target);

    // Signed by another key.
    let stranger = MerchantSigner::new(
        sim.mchid(),
        sim.env()["WXPAY_MERCHANT_SERIAL"].clone(),
        PrivateKey::generate().unwrap(),
    );
    let auth = stranger
        .authorization("GET", &target, b"", ts, "N")
        .unwrap();
    expect_sign_error(&sim, sim.with_auth("GET", &target, "", &auth)).await;

    // Not base64 at all.
    let auth = signer.authorization("GET", &target, b"", ts, "N").unwrap();
    let garbled = format!(
        "{},signature=\"%%%\"",
        auth.split(",signature=").next().unwrap()
    );
    expect_sign_error(&sim, sim.with_auth("GET", &target, "", &garbled)).await;
    sim.stop().await;
}

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

/// Verifies a response signature with `openssl dgst -verify` and the PEM public key `key`.
fn openssl_verifies(
    dir: &Path,
    key: &str,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> bool {
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    let mut message = format!(
        "{}\n{}\n",
        header("wechatpay-timestamp"),
        header("wechatpay-nonce")
    )
    .into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    std::fs::write(dir.join("msg.txt"), &message).unwrap();
    let signature = STANDARD.decode(header("wechatpay-signature")).unwrap();
    std::fs::write(dir.join("sig.bin"), signature).unwrap();
    openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            key,
            "-signature",
            "sig.bin",
            "msg.txt",
        ],
        dir,
    )
}

#[tokio::test]
async fn a_request_signed_by_openssl_is_accepted_and_the_answer_verifies_under_openssl() {
    let sim = start().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let body = json!({
        "appid": sim.appid(),
        "mchid": sim.mchid(),
        "description": "OpenSSL 签名的订单",
        "out_trade_no": trade_no("O"),
        "notify_url": NOTIFY,
        "amount": {"total": 1, "currency": "CNY"}
    })
    .to_string();
    let (ts, nonce, path) = (
        now(),
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        "/v3/pay/transactions/native",
    );
    std::fs::write(
        dir.join("req.txt"),
        format!("POST\n{path}\n{ts}\n{nonce}\n{body}\n"),
    )
    .unwrap();
    let key = sim.dir.join("apiclient_key.pem");
    assert!(openssl(
        &[
            "dgst",
            "-sha256",
            "-sign",
            key.to_str().unwrap(),
            "-out",
            "req.sig",
            "req.txt"
        ],
        dir
    ));
    let signature = STANDARD.encode(std::fs::read(dir.join("req.sig")).unwrap());
    let env = sim.env();
    let authorization = format!(
        "{SCHEME} mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{ts}\",serial_no=\"{}\",signature=\"{signature}\"",
        env["WXPAY_MCHID"], env["WXPAY_MERCHANT_SERIAL"]
    );
    let response = sim
        .with_auth("POST", path, &body, &authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let answer = response.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("weixin://wxpay/bizpayurl?pr="));
    assert_eq!(
        headers["wechatpay-serial"],
        env["WXPAY_PUBLIC_KEY_ID"].as_str()
    );
    let pub_key = env["WXPAY_PUBLIC_KEY_FILE"].clone();
    assert!(openssl_verifies(dir, &pub_key, &headers, &answer));
    // The check can fail: a tampered body does not verify.
    let mut tampered = answer.to_vec();
    tampered[2] ^= 1;
    assert!(!openssl_verifies(dir, &pub_key, &headers, &tampered));
    sim.stop().await;
}

#[tokio::test]
async fn a_certificate_signed_204_verifies_under_openssl_with_the_certificates_key() {
    let sim = start().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let cert = sim.dir.join("platform_cert.pem");
    assert!(openssl(
        &[
            "x509",
            "-in",
            cert.to_str().unwrap(),
            "-pubkey",
            "-noout",
            "-out",
            "cert_pub.pem"
        ],
        dir
    ));
    let no = trade_no("O");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let target = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    let response = sim
        .signed("POST", &target, &json!({"mchid": sim.mchid()}).to_string())
        .header(
            "Wechatpay-Serial",
            sim.sim.sandbox().platform.serial.clone(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers().clone();
    assert_eq!(
        headers["wechatpay-serial"],
        sim.sim.sandbox().platform.serial.as_str()
    );
    assert!(response.bytes().await.unwrap().is_empty());
    assert!(openssl_verifies(dir, "cert_pub.pem", &headers, b""));
    assert!(!openssl_verifies(dir, "cert_pub.pem", &headers, b"{}"));
    let pub_key = sim.env()["WXPAY_PUBLIC_KEY_FILE"].clone();
    assert!(!openssl_verifies(dir, &pub_key, &headers, b""));
    sim.stop().await;
}
