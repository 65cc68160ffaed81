//! Costs of the protocol's hot paths: request signing, response verification, decrypting a 1 KB
//! resource and the full notification path (verify + decrypt + deserialize).
//!
//! `cargo bench -p wxpay` (aws-lc-rs) and
//! `cargo bench -p wxpay --no-default-features --features rust-crypto` (pure Rust). Compare with
//! `openssl speed rsa2048` and `openssl speed -evp aes-256-gcm` run in the same sitting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::HeaderMap;
use std::hint::black_box;
use std::sync::Arc;
use time::OffsetDateTime;
use wxpay::keys::{BACKEND, PrivateKey};
use wxpay::notify::NotificationParser;
use wxpay::sign::MerchantSigner;
use wxpay::{ApiV3Key, Verifier, aead};

const ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const TS: i64 = 1_750_000_000;

fn transaction_json() -> Vec<u8> {
    // A realistic TRANSACTION.SUCCESS plaintext, padded with `attach` to about 1 KB.
    let attach = "x".repeat(128);
    let json = serde_json::json!({
        "mchid": "1900007291", "appid": "wxd678efh567hg6787",
        "out_trade_no": "N20250615230640123456789ABCDEF", "transaction_id": "4200000000202401010000000001",
        "trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "bank_type": "OTHERS", "attach": attach, "success_time": "2024-01-01T12:00:05+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
        "promotion_detail": [{"coupon_id": "109519", "name": "单品惠-6", "scope": "SINGLE", "type": "DISCOUNT",
            "stock_id": "931386", "amount": 1, "wechatpay_contribute": 0, "merchant_contribute": 1,
            "other_contribute": 0, "currency": "CNY", "goods_detail": [{"goods_id": "M1006", "quantity": 1,
            "unit_price": 100, "discount_amount": 1, "goods_remark": "商品备注信息"}]}]
    });
    let mut bytes = serde_json::to_vec(&json).unwrap();
    bytes.resize(bytes.len().max(1024), b' ');
    bytes
}

fn headers(key: &PrivateKey, body: &[u8]) -> HeaderMap {
    wxpay::testing::sign_response(key, ID, TS, "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz", body).unwrap()
}

fn benches(c: &mut Criterion) {
    let merchant = PrivateKey::generate().unwrap();
    let wechat = PrivateKey::generate().unwrap();
    let apiv3: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
    let now = OffsetDateTime::from_unix_timestamp(TS).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let signer = MerchantSigner::new(
        "1900007291",
        "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        merchant,
    );
    let prepay_body = r#"{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"N20250615230640123456789ABCDEF","time_expire":"2025-06-15T23:11:40+08:00","notify_url":"https://example.com/api/wx-pay/native/notify","amount":{"total":100,"currency":"CNY"}}"#
        .as_bytes();
    c.bench_function(&format!("sign_request/{BACKEND}"), |b| {
        b.iter(|| {
            signer
                .authorization(
                    "POST",
                    "/v3/pay/transactions/native",
                    black_box(prepay_body),
                    TS,
                    "593BEC0C930BF1AFEB40B4A08C8FB242",
                )
                .unwrap()
        })
    });

    let verifier = Arc::new(Verifier::with_public_key(ID, wechat.public_key().unwrap()));
    let response_body = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}"#;
    let response_headers = headers(&wechat, response_body);
    c.bench_function(&format!("verify_response/{BACKEND}"), |b| {
        b.iter(|| {
            runtime
                .block_on(verifier.verify(&response_headers, black_box(response_body), now))
                .unwrap()
        })
    });

    let plaintext = transaction_json();
    let resource = aead::encrypt(&apiv3, "fD2gH4jK6lM8", "transaction", &plaintext).unwrap();
    let mut group = c.benchmark_group("aes_256_gcm");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("decrypt_1k_resource", |b| {
        b.iter(|| aead::decrypt(&apiv3, black_box(&resource)).unwrap())
    });
    group.finish();

    let signed = wxpay::testing::signed_notification(
        &wechat,
        ID,
        &apiv3,
        "3119dfba-e649-5eec-ab1e-3412bc4d2e17",
        &plaintext,
        now,
    )
    .unwrap();
    let (notify_headers, envelope) = (signed.headers, signed.body);
    let parser = NotificationParser::new(verifier.clone(), apiv3.clone());
    c.bench_function(
        &format!("notification_verify_decrypt_parse/{BACKEND}"),
        |b| {
            b.iter(|| {
                runtime
                    .block_on(parser.parse_transaction(&notify_headers, black_box(&envelope), now))
                    .unwrap()
            })
        },
    );
}

criterion_group!(crypto, benches);
criterion_main!(crypto);
