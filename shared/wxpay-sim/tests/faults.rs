//! Every fault switch of `/sim/faults`, each seen from the merchant's side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Merchant, Mode, attempt_pairs, start, trade_no};
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use wxpay::ClientError;
use wxpay::models::TradeState;
use wxpay::verify::VerifyError;

const WAIT: Duration = Duration::from_secs(10);
const NOTIFY: &str = "https://merchant.example.com/notify";

#[tokio::test]
async fn switches_are_read_back_replaced_cleared_and_validated() {
    let sim = start().await;
    assert_eq!(
        sim.get_json("/sim/faults").await["drop_notifications"],
        false
    );
    let wanted = json!({
        "duplicate_notifications": 2,
        "api": {"kind": "frequency_limited", "fraction": 0.25, "path_prefix": "/v3/certificates"},
        "clock_skew_secs": -30
    });
    sim.set_faults(wanted).await;
    let current = sim.get_json("/sim/faults").await;
    assert_eq!(current["duplicate_notifications"], 2);
    assert_eq!(current["api"]["kind"], "frequency_limited");
    assert_eq!(current["api"]["fraction"], 0.25);
    assert_eq!(current["clock_skew_secs"], -30);
    // A POST replaces the whole set.
    sim.set_faults(json!({"signtest_probe": true})).await;
    let current = sim.get_json("/sim/faults").await;
    assert_eq!(current["duplicate_notifications"], 1);
    assert_eq!(current["api"], Value::Null);
    assert_eq!(current["signtest_probe"], true);

    for bad in [
        json!({"drop_notification": true}),
        json!({"duplicate_notifications": 0}),
        json!({"api": {"kind": "explode"}}),
        json!({"api": {"kind": "hang", "fraction": 2}}),
    ] {
        let (status, body) = sim.post_json("/sim/faults", &bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["code"], "INVALID_REQUEST");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(sim.get_json("/sim/faults").await["signtest_probe"], true);
    let cleared = sim.raw("DELETE", "/sim/faults").send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(sim.get_json("/sim/faults").await["signtest_probe"], false);
    sim.stop().await;
}

#[tokio::test]
async fn dropped_notifications_are_retried_once_the_switch_is_cleared() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    sim.set_faults(json!({"drop_notifications": true})).await;
    let no = trade_no("D");
    sim.order_and_pay(&no, &merchant.url).await;
    // The log shows two attempts, both dropped: nothing can have reached the merchant.
    let record = sim.wait_for_attempts(&no, 2, WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert!(
        attempts
            .iter()
            .all(|a| a["error"] == "dropped by fault switch"),
        "{record}"
    );
    assert!(merchant.received().is_empty());
    sim.raw("DELETE", "/sim/faults").send().await.unwrap();
    merchant.wait_verified(1, WAIT).await;
    sim.wait_for_status(&no, "delivered", WAIT).await;
    sim.stop().await;
}

#[tokio::test]
async fn duplicated_notifications_arrive_as_concurrent_verified_copies() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    sim.set_faults(json!({"duplicate_notifications": 3})).await;
    let no = trade_no("U");
    sim.order_and_pay(&no, &merchant.url).await;
    let copies = merchant.wait_verified(3, WAIT).await;
    assert!(copies.iter().all(|n| n.id == copies[0].id));
    assert!(
        copies
            .iter()
            .all(|n| n.transaction == copies[0].transaction)
    );
    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let numbers = attempt_pairs(&record, "number", "copy");
    assert_eq!(numbers, [(1, 1), (1, 2), (1, 3)]);
    sim.stop().await;
}

#[tokio::test]
async fn delayed_notifications_arrive_no_sooner_than_the_delay() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    sim.set_faults(json!({"delay_notifications_ms": 700})).await;
    let no = trade_no("L");
    let code = client
        .native_prepay(&sim.prepay(&no, &merchant.url))
        .await
        .unwrap();
    let paid_at = tokio::time::Instant::now();
    sim.scan(&code.code_url).await;
    merchant.wait_verified(1, WAIT).await;
    let waited = merchant.arrival_times()[0] - paid_at;
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
    sim.stop().await;
}

#[tokio::test]
async fn a_signtest_probe_precedes_the_real_notification_and_is_refused() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    sim.set_faults(json!({"signtest_probe": true})).await;
    let no = trade_no("P");
    sim.order_and_pay(&no, &merchant.url).await;
    merchant.wait_verified(1, WAIT).await;
    let rejected = merchant.rejected();
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].contains(&VerifyError::SignTestProbe.to_string()),
        "{rejected:?}"
    );
    assert!(matches!(
        merchant.received()[0],
        common::Received::Rejected { .. }
    ));
    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["kind"], "signtest_probe");
    assert_eq!(attempts[0]["status"], 401);
    assert_eq!(attempts[0]["acknowledged"], false);
    assert_eq!(attempts[1]["kind"], "delivery");
    assert_eq!(attempts[1]["acknowledged"], true);
    sim.stop().await;
}

#[tokio::test]
async fn system_errors_hit_only_the_chosen_path() {
    let sim = start().await;
    let client = sim.client();
    sim.set_faults(
        json!({"api": {"kind": "system_error", "path_prefix": "/v3/pay/transactions/native"}}),
    )
    .await;
    let no = trade_no("E");
    match client.native_prepay(&sim.prepay(&no, NOTIFY)).await {
        Err(error @ ClientError::Api { status: 500, .. }) => {
            assert_eq!(error.api_code(), Some("SYSTEM_ERROR"));
            assert!(error.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    // Not processed, and other paths are untouched.
    match client.query_by_out_trade_no(&no).await {
        Err(ClientError::Api { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    sim.raw("DELETE", "/sim/faults").send().await.unwrap();
    client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    sim.stop().await;
}

#[tokio::test]
async fn frequency_limits_answer_429_for_the_given_fraction_of_calls() {
    let sim = start().await;
    sim.set_faults(json!({"api": {"kind": "frequency_limited"}}))
        .await;
    match sim.client().query_by_out_trade_no("ABCDEF123").await {
        Err(error @ ClientError::Api { status: 429, .. }) => {
            assert_eq!(error.api_code(), Some("FREQUENCY_LIMITED"));
        }
        other => panic!("{other:?}"),
    }
    sim.set_faults(json!({"api": {"kind": "frequency_limited", "fraction": 0.5}}))
        .await;
    let mut limited = 0;
    for _ in 0..80 {
        let response = sim
            .raw("GET", "/v3/certificates")
            .header("User-Agent", "t")
            .header("Accept", "*/*")
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            429 => limited += 1,
            401 => {}
            other => panic!("{other}"),
        }
    }
    assert!((15..=65).contains(&limited), "{limited} of 80");
    sim.stop().await;
}

#[tokio::test]
async fn a_hung_call_times_the_client_out_but_is_still_processed() {
    let sim = start().await;
    sim.set_faults(json!({"api": {"kind": "hang", "hang_ms": 800, "path_prefix": "/v3/pay/transactions/native"}}))
        .await;
    let impatient = sim.client_with(Mode::PublicKey, Duration::from_millis(300));
    let no = trade_no("H");
    match impatient.native_prepay(&sim.prepay(&no, NOTIFY)).await {
        Err(ClientError::Timeout) => {}
        other => panic!("{other:?}"),
    }
    sim.raw("DELETE", "/sim/faults").send().await.unwrap();
    // Processed once the hang is over: the order appears, rather than after a fixed sleep.
    let client = sim.client();
    let deadline = tokio::time::Instant::now() + WAIT;
    let tx = loop {
        match client.query_by_out_trade_no(&no).await {
            Ok(tx) => break tx,
            Err(ClientError::Api { status: 404, .. }) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the hung prepay was never processed"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("{other:?}"),
        }
    };
    assert_eq!(tx.trade_state, TradeState::Notpay);
    sim.stop().await;
}

#[tokio::test]
async fn a_skewed_clock_moves_the_request_window_and_the_answer_timestamps() {
    let sim = start().await;
    let client = sim.client();
    let no = trade_no("K");
    client
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    sim.set_faults(json!({"clock_skew_secs": 400})).await;
    match client.query_by_out_trade_no(&no).await {
        Err(ClientError::Api {
            status: 401, code, ..
        }) => assert_eq!(code, "SIGN_ERROR"),
        other => panic!("{other:?}"),
    }
    sim.set_faults(json!({"clock_skew_secs": 250})).await;
    client.query_by_out_trade_no(&no).await.unwrap();
    let target = format!(
        "/v3/pay/transactions/out-trade-no/{no}?mchid={}",
        sim.mchid()
    );
    let response = sim.signed("GET", &target, "").send().await.unwrap();
    let stamped: i64 = response.headers()["wechatpay-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let skew = stamped - OffsetDateTime::now_utc().unix_timestamp();
    assert!((248..=252).contains(&skew), "{skew}");
    sim.stop().await;
}

#[tokio::test]
async fn signing_with_the_other_key_breaks_single_mode_merchants_but_not_combined_ones() {
    let sim = start().await;
    let public_only = sim.client();
    let combined = sim.client_with(Mode::Combined, Duration::from_secs(5));
    let no = trade_no("M");
    public_only
        .native_prepay(&sim.prepay(&no, NOTIFY))
        .await
        .unwrap();
    sim.set_faults(json!({"sign_with_other_key": true})).await;
    match public_only.query_by_out_trade_no(&no).await {
        Err(ClientError::Verification(VerifyError::UnknownSerial(serial))) => {
            assert_eq!(serial, sim.sim.sandbox().platform.serial);
        }
        other => panic!("{other:?}"),
    }
    combined.query_by_out_trade_no(&no).await.unwrap();

    // Notifications too: a combined merchant accepts the certificate-signed one.
    let merchant = Merchant::start(combined.notification_parser()).await;
    let paid = trade_no("Q");
    let code = combined
        .native_prepay(&sim.prepay(&paid, &merchant.url))
        .await
        .unwrap();
    sim.scan(&code.code_url).await;
    merchant.wait_verified(1, WAIT).await;
    let record = sim.wait_for_status(&paid, "delivered", WAIT).await;
    assert_eq!(record["attempts"][0]["signed_with"], "certificate");
    sim.stop().await;
}

/// A notify URL on loopback that nobody answers: the close tests pay orders but need no merchant.
const NOBODY: &str = "http://127.0.0.1:9/notify";

/// Every combination of `close_paid_answer` and `close_unknown_answer`.
const CLOSE_SWITCHES: [(&str, &str); 4] = [
    ("orderpaid", "not_found"),
    ("orderpaid", "no_content"),
    ("no_content", "not_found"),
    ("no_content", "no_content"),
];

/// Closes `out_trade_no` with the signed client: `Ok` for a 204 whose signature the client
/// verified, else the error's status and code.
async fn close(client: &wxpay::Client, out_trade_no: &str) -> Result<(), (u16, String)> {
    match client.close(out_trade_no).await {
        Ok(()) => Ok(()),
        Err(ClientError::Api { status, code, .. }) => Err((status, code)),
        Err(other) => panic!("{other:?}"),
    }
}

async fn set_close_switches(sim: &common::Harness, paid: &str, unknown: &str) {
    sim.set_faults(json!({"close_paid_answer": paid, "close_unknown_answer": unknown}))
        .await;
    let current = sim.get_json("/sim/faults").await;
    assert_eq!(current["close_paid_answer"], paid);
    assert_eq!(current["close_unknown_answer"], unknown);
}

#[tokio::test]
async fn closing_a_paid_order_answers_orderpaid_or_204_and_the_order_stays_paid() {
    let sim = start().await;
    let client = sim.client();
    for (paid_answer, unknown_answer) in CLOSE_SWITCHES {
        set_close_switches(&sim, paid_answer, unknown_answer).await;
        let no = trade_no("CP");
        let code = client
            .native_prepay(&sim.prepay(&no, NOBODY))
            .await
            .unwrap();
        assert_eq!(sim.scan(&code.code_url).await.0, 200);
        let before = client.query_by_out_trade_no(&no).await.unwrap();
        let answer = close(&client, &no).await;
        match paid_answer {
            "orderpaid" => assert_eq!(answer, Err((403, "ORDERPAID".into())), "{paid_answer}"),
            _ => assert_eq!(answer, Ok(()), "{paid_answer}"),
        }
        let after = client.query_by_out_trade_no(&no).await.unwrap();
        assert_eq!(after.trade_state, TradeState::Success);
        assert_eq!(after.transaction_id, before.transaction_id);
    }
    sim.stop().await;
}

#[tokio::test]
async fn closing_an_unknown_order_answers_404_or_204_and_creates_nothing() {
    let sim = start().await;
    let client = sim.client();
    for (paid_answer, unknown_answer) in CLOSE_SWITCHES {
        set_close_switches(&sim, paid_answer, unknown_answer).await;
        let no = trade_no("CU");
        let answer = close(&client, &no).await;
        match unknown_answer {
            "not_found" => assert_eq!(
                answer,
                Err((404, "ORDER_NOT_EXIST".into())),
                "{unknown_answer}"
            ),
            _ => assert_eq!(answer, Ok(()), "{unknown_answer}"),
        }
        match client.query_by_out_trade_no(&no).await {
            Err(ClientError::Api {
                status: 404, code, ..
            }) => assert_eq!(code, "ORDER_NOT_EXIST"),
            other => panic!("{other:?}"),
        }
        let listed = sim
            .get_json(&format!("/sim/orders?out_trade_no={no}"))
            .await;
        assert_eq!(listed["orders"], json!([]));
    }
    // The 204 is an empty body with the signature headers, like every 2xx.
    let no = trade_no("CU");
    let target = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    let body = json!({"mchid": sim.mchid()}).to_string();
    let response = sim.signed("POST", &target, &body).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.headers().contains_key("wechatpay-signature"));
    assert!(response.bytes().await.unwrap().is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn closing_an_unpaid_order_answers_204_and_closes_it_under_every_switch() {
    let sim = start().await;
    let client = sim.client();
    for (paid_answer, unknown_answer) in CLOSE_SWITCHES {
        set_close_switches(&sim, paid_answer, unknown_answer).await;
        let no = trade_no("CN");
        let code = client
            .native_prepay(&sim.prepay(&no, NOBODY))
            .await
            .unwrap();
        assert_eq!(close(&client, &no).await, Ok(()));
        assert_eq!(close(&client, &no).await, Ok(()));
        let tx = client.query_by_out_trade_no(&no).await.unwrap();
        assert_eq!(tx.trade_state, TradeState::Closed);
        let (status, body) = sim.scan(&code.code_url).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (409, &json!("ORDER_CLOSED"))
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn unknown_close_switch_values_are_refused() {
    let sim = start().await;
    set_close_switches(&sim, "no_content", "no_content").await;
    for bad in [
        json!({"close_paid_answer": "not_found"}),
        json!({"close_paid_answer": "ORDERPAID"}),
        json!({"close_paid_answer": "no-content"}),
        json!({"close_paid_answer": null}),
        json!({"close_unknown_answer": "orderpaid"}),
        json!({"close_unknown_answer": "404"}),
        json!({"close_unknown_answer": 204}),
    ] {
        let (status, body) = sim.post_json("/sim/faults", &bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["code"], "INVALID_REQUEST", "{bad}");
        let member = bad.as_object().unwrap().keys().next().unwrap().clone();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(&member), "{message}");
    }
    // A refused POST changes nothing; DELETE restores the defaults.
    let current = sim.get_json("/sim/faults").await;
    assert_eq!(current["close_paid_answer"], "no_content");
    assert_eq!(current["close_unknown_answer"], "no_content");
    let cleared = sim.raw("DELETE", "/sim/faults").send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    let current = sim.get_json("/sim/faults").await;
    assert_eq!(current["close_paid_answer"], "orderpaid");
    assert_eq!(current["close_unknown_answer"], "not_found");
    sim.stop().await;
}
