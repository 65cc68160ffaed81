//! Refunds as a merchant meets them: created and queried through the real `wxpay::Client` (so
//! every answer's signature is verified), WeChat Pay's checks, `PROCESSING` then the outcome,
//! `REFUND.*` notifications verified and decrypted by `NotificationParser::parse` on the retry
//! ladder, the fault switches, and refunds made by hand in the merchant platform.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, Merchant, Mode, Received, start, start_in, start_with, trade_no};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wxpay::ClientError;
use wxpay::models::TradeState;
use wxpay::refund::{Refund, RefundRequest, RefundStatus};

const WAIT: Duration = Duration::from_secs(10);

/// A paid order of 100 fen notifying `notify_url`; returns its out_trade_no and transaction id.
async fn paid_order(sim: &Harness, notify_url: &str) -> (String, String) {
    let no = trade_no("F");
    let code = sim
        .client()
        .native_prepay(&sim.prepay(&no, notify_url))
        .await
        .unwrap();
    let (status, scanned) = sim.scan(&code.code_url).await;
    assert_eq!(status, 200, "{scanned}");
    let txid = scanned["transaction"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (no, txid)
}

fn api_error(result: Result<Refund, ClientError>) -> (u16, String, String) {
    match result {
        Err(ClientError::Api {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The refund notification records of an order in the simulator's log.
async fn refund_records(sim: &Harness, out_trade_no: &str) -> Vec<Value> {
    sim.notifications(out_trade_no)
        .await
        .into_iter()
        .filter(|r| r.get("out_refund_no").is_some())
        .collect()
}

/// Waits until the refund `out_refund_no` is no longer `PROCESSING`.
async fn wait_finished(sim: &Harness, out_refund_no: &str) -> Refund {
    let deadline = Instant::now() + WAIT;
    loop {
        let refund = sim.client().query_refund(out_refund_no).await.unwrap();
        if refund.status != RefundStatus::Processing {
            return refund;
        }
        assert!(Instant::now() < deadline, "refund still PROCESSING");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_refund_is_processing_then_succeeds_and_is_notified_signed_and_encrypted() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    let (no, txid) = paid_order(&sim, &merchant.url).await;
    sim.set_faults(json!({"refund_delay_ms": 300})).await;

    let asked =
        RefundRequest::of_transaction(&txid, format!("{no}R01"), 30, 100).with_reason("不想要了");
    let started = Instant::now();
    let refund = client.refund(&asked).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(refund.refund_id.len(), 29);
    assert_eq!(
        (refund.out_trade_no.as_str(), refund.transaction_id.as_str()),
        (no.as_str(), txid.as_str())
    );
    assert_eq!((refund.amount.total, refund.amount.refund), (100, 30));
    assert!(refund.success_time.is_none());
    let queried = client.query_refund(&asked.out_refund_no).await.unwrap();
    assert_eq!(queried, refund);
    // Answers verify with the platform certificate too.
    let by_certificate = sim.client_with(Mode::Certificates, Duration::from_secs(5));
    assert_eq!(
        by_certificate
            .query_refund(&asked.out_refund_no)
            .await
            .unwrap(),
        refund
    );
    let order = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(order.trade_state, TradeState::Refund);
    assert_eq!(
        client
            .query_by_transaction_id(&txid)
            .await
            .unwrap()
            .trade_state,
        TradeState::Refund
    );

    // No notify_url in the request: the notification goes to the order's URL.
    let notified = merchant.wait_refunds(1, WAIT).await.remove(0);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let resource = &notified.refund;
    assert_eq!(resource.refund_status, RefundStatus::Success);
    assert_eq!(resource.out_refund_no, asked.out_refund_no);
    assert_eq!(resource.refund_id, refund.refund_id);
    assert_eq!(
        (
            resource.out_trade_no.as_str(),
            resource.transaction_id.as_str()
        ),
        (no.as_str(), txid.as_str())
    );
    assert_eq!(resource.mchid, sim.mchid());
    assert_eq!((resource.amount.total, resource.amount.refund), (100, 30));
    assert!(resource.success_time.is_some());

    let Some(Received::Refund { headers, body, .. }) = merchant
        .received()
        .into_iter()
        .find(|r| matches!(r, Received::Refund { .. }))
    else {
        panic!("no refund notification");
    };
    assert_eq!(headers["wechatpay-nonce"].len(), 32);
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["event_type"], "REFUND.SUCCESS");
    assert_eq!(envelope["summary"], "退款成功");
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["resource"]["original_type"], "refund");
    assert_eq!(envelope["resource"]["associated_data"], "refund");
    assert_eq!(envelope["id"], notified.id);

    let finished = client.query_refund(&asked.out_refund_no).await.unwrap();
    assert_eq!(finished.status, RefundStatus::Success);
    assert_eq!(finished.success_time, resource.success_time);
    // Sending it again answers the same refund; it is not refunded twice.
    assert_eq!(client.refund(&asked).await.unwrap(), finished);

    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    assert_eq!(record["event_type"], "REFUND.SUCCESS");
    assert_eq!(record["out_refund_no"], asked.out_refund_no);
    assert_eq!(refund_records(&sim, &no).await.len(), 1);

    let page = sim
        .raw("GET", "/sim")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&asked.out_refund_no), "{page}");
    assert!(page.contains("30 SUCCESS"), "{page}");
    assert!(page.contains(&format!("data-no=\"{no}\"")), "{page}");
    sim.stop().await;
}

#[tokio::test]
async fn refunds_are_refused_as_wechat_pay_refuses_them() {
    let sim = start().await;
    let client = sim.client();
    let (no, txid) = paid_order(&sim, "https://merchant.example.com/n").await;

    // Body checks, before anything else: PARAM_ERROR naming the field.
    let body = json!({"transaction_id": txid, "out_refund_no": "X1", "amount": {"refund": 0, "total": 100, "currency": "CNY"}});
    let response = sim
        .signed("POST", "/v3/refund/domestic/refunds", &body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "PARAM_ERROR");
    assert_eq!(error["detail"]["field"], "/amount/refund");
    let body = json!({"transaction_id": txid, "out_refund_no": "X1", "coupon": 1, "amount": {"refund": 1, "total": 100, "currency": "CNY"}});
    let response = sim
        .signed("POST", "/v3/refund/domestic/refunds", &body.to_string())
        .send()
        .await
        .unwrap();
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "PARAM_ERROR", "{error}");
    // Badly signed: refused like every other API.
    let response = sim
        .with_auth(
            "POST",
            "/v3/refund/domestic/refunds",
            &body.to_string(),
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\"",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "SIGN_ERROR");

    // Unknown order, by either number; unknown refund.
    let unknown = RefundRequest::of_transaction("4200000000202401010000000001", "X2", 1, 100);
    assert_eq!(
        api_error(client.refund(&unknown).await),
        (404, "RESOURCE_NOT_EXISTS".into(), "订单不存在".into())
    );
    let mut by_number = RefundRequest::of_transaction("x", "X2", 1, 100);
    by_number.transaction_id = None;
    by_number.out_trade_no = Some(trade_no("NONE"));
    assert_eq!(
        api_error(client.refund(&by_number).await).1,
        "RESOURCE_NOT_EXISTS"
    );
    assert_eq!(
        api_error(client.query_refund("NOSUCHREFUND").await),
        (404, "RESOURCE_NOT_EXISTS".into(), "退款单不存在".into())
    );

    // Only paid orders.
    let unpaid = trade_no("U");
    client
        .native_prepay(&sim.prepay(&unpaid, "https://merchant.example.com/n"))
        .await
        .unwrap();
    let mut of_unpaid = by_number.clone();
    of_unpaid.out_trade_no = Some(unpaid.clone());
    assert_eq!(api_error(client.refund(&of_unpaid).await).0, 400);
    assert_eq!(
        client
            .query_by_out_trade_no(&unpaid)
            .await
            .unwrap()
            .trade_state,
        TradeState::Notpay
    );

    // amount.total must be the order's total.
    let wrong_total = RefundRequest::of_transaction(&txid, "X3", 1, 99);
    let Err(ClientError::Api { code, detail, .. }) = client.refund(&wrong_total).await else {
        panic!("accepted a wrong total");
    };
    assert_eq!(code, "PARAM_ERROR");
    assert_eq!(detail.unwrap().field.as_deref(), Some("/amount/total"));

    // By out_trade_no works as well as by transaction_id.
    let mut first = RefundRequest::of_transaction("x", format!("{no}R01"), 60, 100);
    first.transaction_id = None;
    first.out_trade_no = Some(no.clone());
    let made = client.refund(&first).await.unwrap();
    assert_eq!(made.amount.refund, 60);
    // The same number with other parameters is refused; with the same, the same refund.
    let mut changed = first.clone();
    changed.amount.refund = 61;
    let (status, code, _) = api_error(client.refund(&changed).await);
    assert_eq!((status, code.as_str()), (400, "INVALID_REQUEST"));
    assert_eq!(
        client.refund(&first).await.unwrap().refund_id,
        made.refund_id
    );

    // The minute between refunds is 0.6 s at time scale 100.
    let second = RefundRequest::of_transaction(&txid, format!("{no}R02"), 40, 100);
    tokio::time::sleep(Duration::from_millis(700)).await;

    // Never more than is left: 60 of 100 are held.
    let too_much = RefundRequest::of_transaction(&txid, format!("{no}R03"), 41, 100);
    let (status, code, message) = api_error(client.refund(&too_much).await);
    assert_eq!(
        (status, code.as_str()),
        (400, "INVALID_REQUEST"),
        "{message}"
    );
    client.refund(&second).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let nothing_left = RefundRequest::of_transaction(&txid, format!("{no}R04"), 1, 100);
    assert_eq!(
        api_error(client.refund(&nothing_left).await).1,
        "INVALID_REQUEST"
    );
    assert!(client.query_refund(&too_much.out_refund_no).await.is_err());
    sim.stop().await;
}

#[tokio::test]
async fn refunds_of_one_order_are_a_scaled_minute_apart() {
    // Time scale 10: the minute is 6 s.
    let sim = start_with(|c| c.with_time_scale(10.0)).await;
    let client = sim.client();
    let (no, txid) = paid_order(&sim, "https://merchant.example.com/n").await;
    let (_, other) = paid_order(&sim, "https://merchant.example.com/n").await;
    let first = RefundRequest::of_transaction(&txid, format!("{no}R01"), 10, 100);
    client.refund(&first).await.unwrap();
    let second = RefundRequest::of_transaction(&txid, format!("{no}R02"), 10, 100);
    let (status, code, _) = api_error(client.refund(&second).await);
    assert_eq!((status, code.as_str()), (429, "FREQUENCY_LIMITED"));
    assert!(client.query_refund(&second.out_refund_no).await.is_err());
    // The limit is per order, and a replay of the first is no new refund.
    client.refund(&first).await.unwrap();
    let elsewhere = RefundRequest::of_transaction(&other, format!("{no}X01"), 10, 100);
    client.refund(&elsewhere).await.unwrap();
    sim.stop().await;
}

#[tokio::test]
async fn an_order_takes_at_most_fifty_refunds() {
    // Time scale 60 000: a minute between refunds is a millisecond.
    let sim = start_with(|c| c.with_time_scale(60_000.0)).await;
    let client = sim.client();
    let (no, txid) = paid_order(&sim, "https://merchant.example.com/n").await;
    for i in 1..=50 {
        let asked = RefundRequest::of_transaction(&txid, format!("{no}R{i:02}"), 1, 100);
        client.refund(&asked).await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let asked = RefundRequest::of_transaction(&txid, format!("{no}R51"), 1, 100);
    let (status, code, _) = api_error(client.refund(&asked).await);
    assert_eq!((status, code.as_str()), (403, "RULE_LIMIT"));
    sim.stop().await;
}

#[tokio::test]
async fn the_outcome_switch_ends_refunds_abnormal_or_closed_and_closed_releases_the_amount() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    let (no, txid) = paid_order(&sim, &merchant.url).await;

    sim.set_faults(json!({"refund_outcome": "closed", "refund_delay_ms": 0}))
        .await;
    let closed = RefundRequest::of_transaction(&txid, format!("{no}R01"), 100, 100);
    client.refund(&closed).await.unwrap();
    let notified = merchant.wait_refunds(1, WAIT).await.remove(0);
    assert_eq!(notified.refund.refund_status, RefundStatus::Closed);
    assert!(notified.refund.success_time.is_none());
    assert_eq!(
        wait_finished(&sim, &closed.out_refund_no).await.status,
        RefundStatus::Closed
    );

    // The closed refund released its 100 fen: the whole amount can be refunded again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    sim.set_faults(json!({"refund_outcome": "abnormal", "refund_delay_ms": 0}))
        .await;
    let abnormal = RefundRequest::of_transaction(&txid, format!("{no}R02"), 100, 100);
    client.refund(&abnormal).await.unwrap();
    let notified = merchant.wait_refunds(2, WAIT).await.remove(1);
    assert_eq!(notified.refund.refund_status, RefundStatus::Abnormal);
    assert_eq!(notified.refund.out_refund_no, abnormal.out_refund_no);
    assert_eq!(
        wait_finished(&sim, &abnormal.out_refund_no).await.status,
        RefundStatus::Abnormal
    );
    let events: Vec<Value> = refund_records(&sim, &no)
        .await
        .iter()
        .map(|r| r["event_type"].clone())
        .collect();
    assert_eq!(events, ["REFUND.ABNORMAL", "REFUND.CLOSED"]);
    sim.stop().await;
}

#[tokio::test]
async fn the_delay_switch_keeps_refunds_processing_that_long() {
    let sim = start().await;
    let client = sim.client();
    let (no, txid) = paid_order(&sim, "https://merchant.example.com/n").await;
    sim.set_faults(json!({"refund_delay_ms": 1500})).await;
    let asked = RefundRequest::of_transaction(&txid, format!("{no}R01"), 5, 100);
    let started = Instant::now();
    client.refund(&asked).await.unwrap();
    // A switch set later does not change a refund already made.
    sim.set_faults(json!({"refund_delay_ms": 0})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        client
            .query_refund(&asked.out_refund_no)
            .await
            .unwrap()
            .status,
        RefundStatus::Processing
    );
    assert_eq!(
        wait_finished(&sim, &asked.out_refund_no).await.status,
        RefundStatus::Success
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
    sim.stop().await;
}

#[tokio::test]
async fn refund_notifications_go_to_the_requests_url_and_are_retried_on_the_ladder() {
    let sim = start().await;
    let client = sim.client();
    let payments = Merchant::start(client.notification_parser()).await;
    let refunds = Merchant::start_with(client.notification_parser(), 2, 0, Duration::ZERO).await;
    let (no, txid) = paid_order(&sim, &payments.url).await;
    sim.set_faults(json!({"refund_delay_ms": 0})).await;
    let asked = RefundRequest::of_transaction(&txid, format!("{no}R01"), 10, 100)
        .with_notify_url(&refunds.url);
    client.refund(&asked).await.unwrap();
    let received = refunds.wait_refunds(3, WAIT).await;
    assert!(received.iter().all(|n| n.id == received[0].id));
    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    assert_eq!(record["notify_url"], refunds.url);
    let attempts = record["attempts"].as_array().unwrap();
    let numbers: Vec<_> = attempts
        .iter()
        .map(|a| a["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[2]["acknowledged"], true);
    // The payment notification went to the order's URL only.
    assert!(payments.refunds().is_empty());
    assert_eq!(payments.verified().len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn notification_faults_apply_to_refund_notifications() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    let (no, txid) = paid_order(&sim, &merchant.url).await;
    merchant.wait_verified(1, WAIT).await;

    sim.set_faults(json!({"refund_delay_ms": 0, "drop_notifications": true}))
        .await;
    let asked = RefundRequest::of_transaction(&txid, format!("{no}R01"), 10, 100);
    client.refund(&asked).await.unwrap();
    let record = sim.wait_for_attempts(&no, 2, WAIT).await;
    assert_eq!(record["out_refund_no"], asked.out_refund_no);
    assert_eq!(record["attempts"][0]["error"], "dropped by fault switch");
    assert!(merchant.refunds().is_empty());
    // Clearing the switch lets a later retry through.
    sim.set_faults(json!({"duplicate_notifications": 2})).await;
    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let received = merchant.wait_refunds(2, WAIT).await;
    assert_eq!(received[0].id, received[1].id);
    assert_eq!(record["id"], received[0].id);
    sim.stop().await;
}

#[tokio::test]
async fn a_refund_made_in_the_merchant_platform_is_notified_under_a_number_never_issued() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    let (no, txid) = paid_order(&sim, &merchant.url).await;
    sim.set_faults(json!({"refund_delay_ms": 0})).await;
    let ours = RefundRequest::of_transaction(&txid, format!("{no}R01"), 30, 100);
    client.refund(&ours).await.unwrap();

    // Right after the merchant's own refund: the minute between refunds binds the API only.
    let (status, made) = sim
        .post_json(
            "/sim/refund",
            &json!({"out_trade_no": no, "amount": 25, "reason": "客服退款"}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let external = made["refund"]["out_refund_no"].as_str().unwrap().to_owned();
    assert!(external.starts_with("MP"), "{external}");
    assert_eq!(made["refund"]["status"], "PROCESSING");
    let received = merchant.wait_refunds(2, WAIT).await;
    let notified = received
        .iter()
        .find(|n| n.refund.out_refund_no == external)
        .unwrap();
    assert_eq!(notified.refund.amount.refund, 25);
    assert_eq!(notified.refund.refund_status, RefundStatus::Success);
    // The merchant can query it like its own.
    assert_eq!(
        client.query_refund(&external).await.unwrap().amount.refund,
        25
    );

    // The rest (45 fen) when no amount is given; then nothing is left.
    let (status, rest) = sim
        .post_json("/sim/refund", &json!({"out_trade_no": no}))
        .await;
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["refund"]["amount"]["refund"], 45);
    let (status, refused) = sim
        .post_json("/sim/refund", &json!({"out_trade_no": no, "amount": 1}))
        .await;
    assert_eq!(status, 409, "{refused}");
    let (status, _) = sim
        .post_json(
            "/sim/refund",
            &json!({"out_trade_no": trade_no("NONE"), "amount": 1}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = sim
        .post_json(
            "/sim/refund",
            &json!({"out_trade_no": no, "out_refund_no": external, "amount": 25}),
        )
        .await;
    assert_eq!(status, 409);
    let page = sim
        .raw("GET", "/sim")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("(by hand)"));
    // Nothing is left: no button to refund the rest.
    assert!(!page.contains(&format!("data-no=\"{no}\"")), "{page}");
    let listed = sim
        .get_json(&format!("/sim/orders?out_trade_no={no}"))
        .await;
    let refunds = listed["orders"][0]["refunds"].as_array().unwrap();
    let flags: Vec<_> = refunds.iter().map(|r| r["platform"].clone()).collect();
    assert_eq!(flags, [json!(false), json!(true), json!(true)]);
    assert_eq!(refunds[1]["out_refund_no"], external);
    sim.stop().await;
}

#[tokio::test]
async fn concurrent_refunds_of_one_order_never_refund_more_than_was_paid() {
    let sim = start().await;
    let (no, _) = paid_order(&sim, "https://merchant.example.com/n").await;
    let asks = (0..10).map(|_| async {
        let body = json!({"out_trade_no": no, "amount": 30});
        sim.post_json("/sim/refund", &body).await
    });
    let answers = futures::future::join_all(asks).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused = answers.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!((accepted, refused), (3, 7), "{answers:?}");
    let listed = sim
        .get_json(&format!("/sim/orders?out_trade_no={no}"))
        .await;
    let refunded: i64 = listed["orders"][0]["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"]["refund"].as_i64().unwrap())
        .sum();
    assert_eq!(refunded, 90);
    sim.stop().await;
}

#[tokio::test]
async fn refunds_survive_a_restart_and_a_processing_one_still_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let sim = start_in(&dir, |c| c.with_time_scale(100.0)).await;
    let client = sim.client();
    let (no, txid) = paid_order(&sim, "https://merchant.example.com/n").await;
    sim.set_faults(json!({"refund_delay_ms": 600_000})).await;
    let asked = RefundRequest::of_transaction(&txid, format!("{no}R01"), 10, 100);
    let made = client.refund(&asked).await.unwrap();
    sim.stop().await;

    let sim = start_in(&dir, |c| c.with_time_scale(100.0)).await;
    let finished = wait_finished(&sim, &asked.out_refund_no).await;
    assert_eq!(finished.status, RefundStatus::Success);
    assert_eq!(finished.refund_id, made.refund_id);
    assert_eq!(
        sim.client()
            .query_by_out_trade_no(&no)
            .await
            .unwrap()
            .trade_state,
        TradeState::Refund
    );
    sim.stop().await;
}
