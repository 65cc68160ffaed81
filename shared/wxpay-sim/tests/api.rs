//! The merchant API driven by the `wxpay` client (and by hand-signed requests where the client
//! would refuse to send): orders, re-submission, expiry, queries, close, certificates, field
//! validation and every error code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, Mode, start, start_with, trade_no};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use wxpay::models::TradeState;
use wxpay::{ClientError, FixedClock};
use wxpay_sim::SigningMode;

const NOTIFY: &str = "http://127.0.0.1:9/notify";

fn api_error(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn fixed_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    ))
}

/// A simulator on a fixed clock, and that clock.
async fn start_on_fixed_clock() -> (Harness, Arc<FixedClock>) {
    let clock = fixed_clock();
    let sim = start_with({
        let clock = clock.clone();
        move |c| c.with_clock(clock)
    })
    .await;
    (sim, clock)
}

#[tokio::test]
async fn prepay_answers_a_signed_code_url_and_the_order_is_notpay() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("P");
    let answer = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    assert!(
        answer.code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{}",
        answer.code_url
    );
    let tx = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(tx.trade_state, TradeState::Notpay);
    assert_eq!(tx.out_trade_no, no);
    assert_eq!(tx.mchid, sim.mchid());
    assert_eq!(tx.appid, sim.appid());
    assert!(tx.transaction_id.is_none() && tx.payer.is_none() && tx.attach.is_none());
    assert_eq!(tx.amount.unwrap().total, Some(100));
    sim.stop().await;
}

#[tokio::test]
async fn a_scanned_order_is_success_with_every_payment_field() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("S");
    let code = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let (status, paid) = sim
        .post_json(
            "/sim/scan",
            &json!({"code_url": code.code_url, "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");

    let tx = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(tx.trade_state, TradeState::Success);
    assert_eq!(tx.trade_state_desc, "支付成功");
    assert_eq!(tx.trade_type.as_deref(), Some("NATIVE"));
    assert_eq!(tx.bank_type.as_deref(), Some("OTHERS"));
    assert_eq!(tx.attach.as_deref(), Some("cart=7"));
    let id = tx.transaction_id.clone().unwrap();
    assert_eq!(id.len(), 28);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert!(tx.success_time.is_some() && tx.unparsed_success_time().is_none());
    assert_eq!(
        tx.payer.as_ref().unwrap().openid.as_deref(),
        Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    );
    let amount = tx.amount.clone().unwrap();
    assert_eq!(amount.total, Some(100));
    assert_eq!(amount.payer_total, Some(100));
    assert_eq!(amount.currency.as_deref(), Some("CNY"));
    assert_eq!(amount.payer_currency.as_deref(), Some("CNY"));
    assert_eq!(paid["transaction"], serde_json::to_value(&tx).unwrap());

    let by_id = client.query_by_transaction_id(&id).await.unwrap();
    assert_eq!(by_id, tx);
    sim.stop().await;
}

#[tokio::test]
async fn identical_resubmission_refreshes_the_code_url_and_retires_the_old_one() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("R");
    let first = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let second = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    assert_ne!(first.code_url, second.code_url);

    let (status, body) = sim.scan(&first.code_url).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (410, Some("CODE_URL_REPLACED"))
    );
    let (status, _) = sim.scan(&second.code_url).await;
    assert_eq!(status, 200);
    sim.stop().await;
}

#[tokio::test]
async fn resubmission_with_other_parameters_is_out_trade_no_used() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("U");
    client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let mut changed = sim.prepay(&no, NOTIFY);
    changed.amount.total = 101;
    let err = client.native_prepay(&changed).await;
    assert_eq!(api_error(err), (403, "OUT_TRADE_NO_USED".into()));
    let mut with_expiry = sim.prepay(&no, NOTIFY);
    with_expiry.time_expire = Some(time::macros::datetime!(2099-01-01 00:00:00 +8));
    assert_eq!(
        api_error(client.native_prepay(&with_expiry).await).1,
        "OUT_TRADE_NO_USED"
    );
    sim.stop().await;
}

#[tokio::test]
async fn resubmitting_a_paid_order_is_orderpaid_and_a_closed_one_order_closed() {
    let sim = start().await;
    let client = sim.client();
    let paid = trade_no("A");
    let code = client
        .native_prepay(&sim.prepay(&paid, NOTIFY))
        .await
        .unwrap();
    assert_eq!(sim.scan(&code.code_url).await.0, 200);
    let err = client.native_prepay(&sim.prepay(&paid, NOTIFY)).await;
    assert_eq!(api_error(err), (403, "ORDERPAID".into()));

    let closed = trade_no("C");
    client
        .native_prepay(&sim.prepay(&closed, NOTIFY))
        .await
        .unwrap();
    client.close(&closed).await.unwrap();
    let err = client.native_prepay(&sim.prepay(&closed, NOTIFY)).await;
    assert_eq!(api_error(err), (400, "ORDER_CLOSED".into()));
    sim.stop().await;
}

#[tokio::test]
async fn past_time_expire_an_order_cannot_be_paid_or_resubmitted_but_still_queries_notpay() {
    let (sim, clock) = start_on_fixed_clock().await;
    let client = sim.client();
    let no = trade_no("E");
    let mut request = sim.prepay(&no, NOTIFY);
    let expire = clock.now_plus(120);
    request.time_expire = Some(expire);
    let code = client.native_prepay(&request).await.unwrap();

    clock.advance(time::Duration::seconds(121));
    let (status, body) = sim.scan(&code.code_url).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (409, Some("ORDER_EXPIRED"))
    );
    assert_eq!(
        api_error(client.native_prepay(&request).await).1,
        "ORDER_CLOSED"
    );
    let tx = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(tx.trade_state, TradeState::Notpay);
    client.close(&no).await.unwrap();
    let tx = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(tx.trade_state, TradeState::Closed);
    sim.stop().await;
}

trait ClockExt {
    fn now_plus(&self, secs: i64) -> OffsetDateTime;
}

impl ClockExt for FixedClock {
    fn now_plus(&self, secs: i64) -> OffsetDateTime {
        use wxpay::Clock as _;
        self.now() + time::Duration::seconds(secs)
    }
}

#[tokio::test]
async fn time_expire_under_a_minute_is_raised_to_one_minute_and_absent_means_seven_days() {
    let (sim, clock) = start_on_fixed_clock().await;
    let client = sim.client();
    let short = trade_no("M");
    let mut request = sim.prepay(&short, NOTIFY);
    request.time_expire = Some(clock.now_plus(10));
    let code = client.native_prepay(&request).await.unwrap();
    let default = trade_no("D");
    client
        .native_prepay(&sim.prepay(&default, NOTIFY))
        .await
        .unwrap();

    let expiry = |order: &Value| {
        let parse = |s: &Value| wxpay::time::parse(s.as_str().unwrap()).unwrap();
        parse(&order["time_expire"]) - parse(&order["created_at"])
    };
    let listed = sim
        .get_json(&format!("/sim/orders?out_trade_no={short}"))
        .await;
    assert_eq!(expiry(&listed["orders"][0]), time::Duration::minutes(1));
    let listed = sim
        .get_json(&format!("/sim/orders?out_trade_no={default}"))
        .await;
    assert_eq!(expiry(&listed["orders"][0]), time::Duration::days(7));

    // Still payable 59 s in, not after a minute.
    clock.advance(time::Duration::seconds(59));
    assert_eq!(sim.scan(&code.code_url).await.0, 200);
    sim.stop().await;
}

#[tokio::test]
async fn a_code_url_older_than_two_hours_is_refused() {
    let (sim, clock) = start_on_fixed_clock().await;
    let client = sim.client();
    let no = trade_no("T");
    let code = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    clock.advance(time::Duration::hours(2) + time::Duration::seconds(1));
    let (status, body) = sim.scan(&code.code_url).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (410, Some("CODE_URL_EXPIRED"))
    );
    // A fresh prepay with the same parameters gives a code that works again.
    let fresh = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    assert_eq!(sim.scan(&fresh.code_url).await.0, 200);
    sim.stop().await;
}

#[tokio::test]
async fn appid_not_bound_to_the_merchant_is_appid_mchid_not_match() {
    let sim = start().await;
    let mut request = sim.prepay(&trade_no("W"), NOTIFY);
    request.appid = "wx0000000000000000".into();
    let err = sim.client().native_prepay(&request).await;
    assert_eq!(api_error(err), (400, "APPID_MCHID_NOT_MATCH".into()));
    sim.stop().await;
}

#[tokio::test]
async fn body_mchid_other_than_the_header_mchid_is_refused() {
    let sim = start().await;
    let mut request = sim.prepay(&trade_no("H"), NOTIFY);
    request.mchid = "1900000000".into();
    let err = sim.client().native_prepay(&request).await;
    assert_eq!(api_error(err), (400, "INVALID_REQUEST".into()));
    sim.stop().await;
}

/// Sends `body` to the prepay endpoint, correctly signed, and returns status and error body.
async fn raw_prepay(sim: &common::Harness, body: &str) -> (u16, Value) {
    let response = sim
        .signed("POST", "/v3/pay/transactions/native", body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn invalid_fields_are_param_error_naming_the_field_as_a_json_pointer() {
    let sim = start().await;
    let good = serde_json::to_value(sim.prepay(&trade_no("F"), NOTIFY)).unwrap();
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body.to_string()
    };
    let cases = [
        (with("/amount/total", json!(0)), "/amount/total"),
        (with("/amount/total", json!("1900000")), "/amount/total"),
        (with("/amount/currency", json!("USD")), "/amount/currency"),
        (with("/out_trade_no", json!("12345")), "/out_trade_no"),
        (with("/out_trade_no", json!("abc def 123")), "/out_trade_no"),
        (with("/description", json!("cake 🎂")), "/description"),
        (
            with("/description", json!("字".repeat(128))),
            "/description",
        ),
        (
            with("/notify_url", json!("http://example.com/n")),
            "/notify_url",
        ),
        (
            with("/notify_url", json!("https://example.com/n?x=1")),
            "/notify_url",
        ),
        (with("/notify_url", json!("/relative")), "/notify_url"),
        (with("/attach", json!("a".repeat(129))), "/attach"),
    ];
    for (body, field) in cases {
        let (status, error) = raw_prepay(&sim, &body).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["code"], "PARAM_ERROR", "{body}");
        assert_eq!(error["detail"]["field"], field, "{body}: {error}");
        assert_eq!(error["detail"]["location"], "body");
    }
    sim.stop().await;
}

#[tokio::test]
async fn unknown_fields_bad_times_and_bad_json_are_param_error() {
    let sim = start().await;
    let good = serde_json::to_value(sim.prepay(&trade_no("J"), NOTIFY)).unwrap();
    let mut extra = good.clone();
    extra["coupon"] = json!("FREE");
    let mut bad_time = good.clone();
    bad_time["time_expire"] = json!("2099-01-01 00:00:00");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("notify_url");
    for body in [
        extra.to_string(),
        bad_time.to_string(),
        missing.to_string(),
        "{\"appid\":".to_owned(),
        String::new(),
        "[]".to_owned(),
    ] {
        let (status, error) = raw_prepay(&sim, &body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("PARAM_ERROR")),
            "{body}: {error}"
        );
    }
    let (_, error) = raw_prepay(&sim, &extra.to_string()).await;
    assert!(
        error["detail"]["issue"]
            .as_str()
            .unwrap()
            .contains("coupon"),
        "{error}"
    );
    let (_, error) = raw_prepay(&sim, &bad_time.to_string()).await;
    assert_eq!(error["detail"]["field"], "/time_expire");
    sim.stop().await;
}

#[tokio::test]
async fn query_needs_the_merchants_own_mchid_parameter() {
    let sim = start().await;
    let no = trade_no("Q");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let mchid = sim.mchid();
    for target in [
        format!("/v3/pay/transactions/out-trade-no/{no}"),
        format!("/v3/pay/transactions/out-trade-no/{no}?mchid=1900000000"),
        format!("/v3/pay/transactions/out-trade-no/{no}?mchid="),
    ] {
        let response = sim.signed("GET", &target, "").send().await.unwrap();
        assert_eq!(response.status(), 400, "{target}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "PARAM_ERROR");
        assert_eq!(error["detail"]["field"], "mchid");
        assert_eq!(error["detail"]["location"], "query");
    }
    let ok = format!("/v3/pay/transactions/out-trade-no/{no}?mchid={mchid}");
    assert_eq!(
        sim.signed("GET", &ok, "").send().await.unwrap().status(),
        200
    );
    sim.stop().await;
}

#[tokio::test]
async fn unknown_orders_are_order_not_exist() {
    let sim = start().await;
    let client = sim.client();
    let err = client.query_by_out_trade_no("NOSUCHORDER1").await;
    assert_eq!(api_error(err), (404, "ORDER_NOT_EXIST".into()));
    let err = client
        .query_by_transaction_id("4200000000202401010000000001")
        .await;
    assert_eq!(api_error(err), (404, "ORDER_NOT_EXIST".into()));
    let err = client.close("NOSUCHORDER1").await;
    assert_eq!(api_error(err), (404, "ORDER_NOT_EXIST".into()));
    // An unpaid order has no transaction id to be found by.
    let no = trade_no("N");
    client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let target = format!("/v3/pay/transactions/id/abc?mchid={}", sim.mchid());
    let response = sim.signed("GET", &target, "").send().await.unwrap();
    assert_eq!(response.status(), 400);
    sim.stop().await;
}

#[tokio::test]
async fn close_answers_a_signed_204_again_on_a_closed_order_and_orderpaid_on_a_paid_one() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("X");
    let code = client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    // The client verifies the 204's signature; it fails the call otherwise.
    client.close(&no).await.unwrap();
    client.close(&no).await.unwrap();
    assert_eq!(
        client.query_by_out_trade_no(&no).await.unwrap().trade_state,
        TradeState::Closed
    );
    let (status, body) = sim.scan(&code.code_url).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (409, Some("ORDER_CLOSED"))
    );

    let target = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    let body = json!({"mchid": sim.mchid()}).to_string();
    let response = sim.signed("POST", &target, &body).send().await.unwrap();
    assert_eq!(response.status(), 204);
    for header in [
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-signature",
        "wechatpay-serial",
        "wechatpay-signature-type",
        "request-id",
    ] {
        assert!(response.headers().contains_key(header), "{header}");
    }

    let paid = trade_no("Y");
    let code = client
        .native_prepay(&sim.prepay(&paid, NOTIFY))
        .await
        .unwrap();
    assert_eq!(sim.scan(&code.code_url).await.0, 200);
    assert_eq!(
        api_error(client.close(&paid).await),
        (403, "ORDERPAID".into())
    );
    sim.stop().await;
}

#[tokio::test]
async fn close_checks_its_body() {
    let sim = start().await;
    let no = trade_no("B");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let target = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    for (body, code) in [
        (
            json!({"mchid": "1900000000"}).to_string(),
            "INVALID_REQUEST",
        ),
        (
            json!({"mchid": sim.mchid(), "x": 1}).to_string(),
            "PARAM_ERROR",
        ),
        (json!({}).to_string(), "PARAM_ERROR"),
    ] {
        let response = sim.signed("POST", &target, &body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{body}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn certificates_are_listed_encrypted_and_decrypt_to_the_platform_certificate() {
    let sim = start().await;
    let certs = sim.client().certificates().await.unwrap();
    assert_eq!(certs.len(), 1);
    let expected = wxpay::certificate::PlatformCertificate::from_pem(
        &std::fs::read_to_string(sim.dir.join("platform_cert.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(certs[0].serial_no, expected.serial_no);
    assert_eq!(certs[0].serial_no, sim.sim.sandbox().platform.serial);
    assert_eq!(certs[0].not_after, expected.not_after);

    let listed = sim
        .signed("GET", "/v3/certificates", "")
        .send()
        .await
        .unwrap();
    let body: Value = listed.json().await.unwrap();
    let entry = &body["data"][0]["encrypt_certificate"];
    assert_eq!(entry["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(entry["associated_data"], "certificate");
    assert_eq!(entry["nonce"].as_str().unwrap().len(), 12);
    assert!(
        body["data"][0]["effective_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    sim.stop().await;
}

#[tokio::test]
async fn the_certificate_list_is_signed_with_the_public_key_when_the_request_names_it() {
    let sim = start().await;
    let sandbox = sim.sim.sandbox();
    let key_id = sandbox.public_key_id.clone();
    let platform = sandbox.platform.serial.clone();
    for (named, signer) in [
        (None, platform.clone()),
        (Some(platform.clone()), platform.clone()),
        (Some(key_id.clone()), key_id.clone()),
    ] {
        let mut request = sim.signed("GET", "/v3/certificates", "");
        if let Some(serial) = &named {
            request = request.header("Wechatpay-Serial", serial);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{named:?}");
        assert_eq!(
            response.headers()["wechatpay-serial"].to_str().unwrap(),
            signer,
            "{named:?}"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_certificate_mode_client_works_against_a_certificate_mode_sandbox() {
    let sim = start_with(|c| c.with_signing_mode(SigningMode::Certificate)).await;
    let client = sim.client_with(Mode::Certificates, Duration::from_secs(5));
    let no = trade_no("K");
    client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    client.query_by_out_trade_no(&no).await.unwrap();
    client.close(&no).await.unwrap();
    sim.stop().await;
}

#[tokio::test]
async fn the_serial_a_request_names_picks_the_signing_key() {
    let sim = start().await;
    let no = trade_no("K");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let platform = sim.sim.sandbox().platform.serial.clone();
    let key_id = sim.sim.sandbox().public_key_id.clone();
    let target = format!(
        "/v3/pay/transactions/out-trade-no/{no}?mchid={}",
        sim.mchid()
    );
    for (asked, expected) in [
        (Some(platform.as_str()), platform.as_str()),
        (
            Some(platform.to_ascii_lowercase().as_str()),
            platform.as_str(),
        ),
        (Some(key_id.as_str()), key_id.as_str()),
        (Some("SOMETHING_ELSE"), key_id.as_str()),
        (None, key_id.as_str()),
    ] {
        let mut request = sim.signed("GET", &target, "");
        if let Some(serial) = asked {
            request = request.header("Wechatpay-Serial", serial);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["wechatpay-serial"],
            expected,
            "{asked:?}"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn in_certificate_mode_answers_without_a_serial_hint_are_certificate_signed() {
    let sim = start_with(|c| c.with_signing_mode(SigningMode::Certificate)).await;
    let platform = sim.sim.sandbox().platform.serial.clone();
    let target = format!(
        "/v3/pay/transactions/out-trade-no/NOSUCH1?mchid={}",
        sim.mchid()
    );
    let no = trade_no("Z");
    // A public-key client names its key and so still gets public-key signatures.
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let target_ok = target.replace("NOSUCH1", &no);
    let response = sim.signed("GET", &target_ok, "").send().await.unwrap();
    assert_eq!(response.headers()["wechatpay-serial"], platform.as_str());
    let combined = sim.client_with(Mode::Combined, Duration::from_secs(5));
    combined.query_by_out_trade_no(&no).await.unwrap();
    sim.stop().await;
}

#[tokio::test]
async fn missing_user_agent_or_accept_is_invalid_request() {
    let sim = start().await;
    let target = format!(
        "/v3/pay/transactions/out-trade-no/ABCDEF?mchid={}",
        sim.mchid()
    );
    let ts = OffsetDateTime::now_utc().unix_timestamp();
    let auth = sim
        .signer()
        .authorization("GET", &target, b"", ts, "NONCE123")
        .unwrap();
    let no_agent = sim
        .raw("GET", &target)
        .header("Authorization", &auth)
        .header("Accept", "application/json");
    let no_accept = sim
        .raw("GET", &target)
        .header("Authorization", &auth)
        .header("User-Agent", "x")
        .header("Accept", "");
    for request in [no_agent, no_accept] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "INVALID_REQUEST");
        assert_eq!(error["message"], "Http头缺少Accept或User-Agent");
    }
    sim.stop().await;
}

#[tokio::test]
async fn every_answer_carries_a_request_id_with_the_error_number() {
    let sim = start().await;
    let target = format!(
        "/v3/pay/transactions/out-trade-no/NOSUCH1?mchid={}",
        sim.mchid()
    );
    let response = sim.signed("GET", &target, "").send().await.unwrap();
    let id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(id.ends_with("-268512771"), "{id}");
    let no = trade_no("I");
    sim.client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    let response = sim
        .signed("GET", &target.replace("NOSUCH1", &no), "")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["request-id"]
            .to_str()
            .unwrap()
            .ends_with("-0")
    );
    sim.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anything_else() {
    let sim = start().await;
    let body = format!("{{\"x\":\"{}\"}}", "a".repeat(70 * 1024));
    let response = sim
        .signed("POST", "/v3/pay/transactions/native", &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let (status, _) = sim
        .post_json("/sim/scan", &json!({"code_url": "a".repeat(20 * 1024)}))
        .await;
    assert_eq!(status, 413);
    sim.stop().await;
}

#[tokio::test]
async fn bad_scans_are_refused_with_clear_errors() {
    let sim = start().await;
    for (body, status, code) in [
        (
            json!({"code_url": "weixin://wxpay/bizpayurl?pr=doesnotexist"}),
            404,
            "CODE_URL_NOT_FOUND",
        ),
        (
            json!({"code_url": "https://example.com"}),
            400,
            "INVALID_CODE_URL",
        ),
        (
            json!({"code_url": "weixin://wxpay/bizpayurl?pr=x", "openid": "bad id"}),
            400,
            "INVALID_REQUEST",
        ),
        (json!({"url": "x"}), 400, "INVALID_REQUEST"),
    ] {
        let (got, answer) = sim.post_json("/sim/scan", &body).await;
        assert_eq!(
            (got.as_u16(), answer["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    let no = trade_no("G");
    let code = sim
        .client()
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    assert_eq!(sim.scan(&code.code_url).await.0, 200);
    let (status, body) = sim.scan(&code.code_url).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (409, Some("ORDERPAID"))
    );
    sim.stop().await;
}
