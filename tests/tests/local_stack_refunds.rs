//! Refunds end to end on the local stack (issue 13, "Tests"), all through HTTP: the admin API with
//! the stack's token, the storefront's status and list API, and the simulator (its refund fault
//! switches, its merchant platform, its ledger and notification log). The simulator runs at time
//! scale 1000, so its minute between two refunds of one order is 60 ms of real time; every refund
//! here stays `PROCESSING` at least that long, so the next one is never too soon. The admin
//! detail reads the order before its refunds, so the tests wait on the order's state: the refunds
//! read after it are at least as recent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use orders::testing::aws_suite_can_run;
use serde_json::{Value, json};
use std::time::Duration;
use support::{BUYER, Harness};

/// Past `RECONCILE_AFTER_SECS` (30) of the harness: what the sweep needs to follow a refund up.
const PAST_SWEEP_AFTER: time::Duration = time::Duration::seconds(40);

fn refund_of<'a>(detail: &'a Value, out_refund_no: &str) -> Option<&'a Value> {
    detail["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outRefundNo"] == out_refund_no)
}

fn refund_status(detail: &Value, out_refund_no: &str) -> String {
    refund_of(detail, out_refund_no)
        .and_then(|r| r["status"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Sum of `amount.refund` of the simulator's refunds that are not `CLOSED`.
fn sim_sum_held(refunds: &[Value]) -> i64 {
    refunds
        .iter()
        .filter(|r| r["status"] != "CLOSED")
        .map(|r| r["amount"]["refund"].as_i64().unwrap())
        .sum()
}

/// Asks for a refund that WeChat Pay accepts at once (201, `PROCESSING`); returns its number.
async fn accepted_refund(h: &Harness, order_no: &str, key: &str, amount: i64) -> String {
    let (status, body) = h.refund(order_no, key, amount).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["refund"]["status"], "PROCESSING", "{body}");
    assert_eq!(body["data"]["refund"]["amount"], amount);
    assert_eq!(body["data"]["order"]["orderStatus"], "REFUND_PROCESSING");
    body["data"]["refund"]["outRefundNo"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The storefront's view of `order_no` in the buyer's list.
async fn listed(h: &Harness, order_no: &str) -> Value {
    let (status, mine) = h.get("/api/order-info/list", Some(BUYER)).await;
    assert_eq!(status, 200, "{mine}");
    mine["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["orderNo"] == order_no)
        .cloned()
        .unwrap()
}

/// The storefront's status and list agree on `expected`, and both show `refunded` fen refunded.
async fn storefront_shows(h: &Harness, order_no: &str, expected: &str, refunded: i64) {
    assert_eq!(h.status(order_no).await, expected);
    let (_, poll) = h
        .get(
            &format!("/api/order-info/query-order-status/{order_no}"),
            None,
        )
        .await;
    let entry = listed(h, order_no).await;
    assert_eq!(entry["orderStatus"], expected, "{entry}");
    for view in [&poll["data"], &entry] {
        assert_eq!(view["refundedFee"], refunded, "{view}");
    }
}

/// Pay 3 fen → refund 1 → the notification makes it `PARTIALLY_REFUNDED` → refund the other 2 →
/// `REFUNDED`; the second key replayed gives the same refund and refunds nothing more.
async fn refund_in_two_parts(h: &Harness) {
    h.faults(json!({"refund_delay_ms": 100})).await;
    let order_no = h.paid_order("4").await;
    assert_eq!(h.admin_order(&order_no).await["order"]["totalFee"], 3);

    let first = accepted_refund(h, &order_no, "part-1", 1).await;
    assert_eq!(first, format!("{order_no}R01"));
    h.wait_for_refund_notification(&first, "was delivered", |r| r["status"] == "delivered")
        .await;
    let detail = h.admin_order(&order_no).await;
    assert_eq!(refund_status(&detail, &first), "SUCCESS", "{detail}");
    assert_eq!(detail["order"]["orderStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(detail["order"]["refundedFee"], 1);
    assert_eq!(detail["order"]["refundableFee"], 2);
    storefront_shows(h, &order_no, "PARTIALLY_REFUNDED", 1).await;

    // The first refund stayed PROCESSING 100 ms: past the simulator's (scaled) minute.
    let rest = accepted_refund(h, &order_no, "rest-1", 2).await;
    h.wait_for_refund_notification(&rest, "was delivered", |r| r["status"] == "delivered")
        .await;
    let detail = h.admin_order(&order_no).await;
    assert_eq!(refund_status(&detail, &rest), "SUCCESS", "{detail}");
    assert_eq!(detail["order"]["orderStatus"], "REFUNDED");
    assert_eq!(detail["order"]["refundedFee"], 3);
    assert_eq!(detail["order"]["refundableFee"], 0);
    assert_eq!(detail["order"]["refundCount"], 2);
    storefront_shows(h, &order_no, "REFUNDED", 3).await;

    let (status, body) = h.refund(&order_no, "rest-1", 2).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["refund"]["outRefundNo"], rest.as_str());
    assert_eq!(body["data"]["refund"]["status"], "SUCCESS");
    let detail = h.admin_order(&order_no).await;
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 2, "{detail}");
    assert_eq!(detail["order"]["refundedFee"], 3);
    let at_wechat = h.sim_refunds(&order_no).await;
    assert_eq!(at_wechat.len(), 2, "{at_wechat:?}");
    assert!(at_wechat.iter().all(|r| r["status"] == "SUCCESS"));
    assert_eq!(sim_sum_held(&at_wechat), 3);
}

#[tokio::test]
async fn an_order_is_refunded_in_two_parts_and_a_replayed_key_refunds_once() {
    let h = Harness::start().await;
    refund_in_two_parts(&h).await;
    h.stack.shutdown().await;
}

#[tokio::test]
async fn with_orders_table_refunds_run_on_dynamodb() {
    if !aws_suite_can_run("local-stack-refunds-dynamodb", "AWS_ENDPOINT_URL_DYNAMODB") {
        return;
    }
    let table = format!("local-stack-refunds-{}", uuid::Uuid::new_v4().simple());
    let h = Harness::start_with(Some(table)).await;
    refund_in_two_parts(&h).await;
    h.stack.shutdown().await;
}

#[tokio::test]
async fn ten_concurrent_refunds_never_refund_more_than_was_paid() {
    let h = Harness::start().await;
    ten_concurrent_refunds(&h).await;
    h.stack.shutdown().await;
}

#[tokio::test]
async fn with_orders_table_ten_concurrent_refunds_never_refund_more_than_was_paid() {
    if !aws_suite_can_run("local-stack-refunds-dynamodb", "AWS_ENDPOINT_URL_DYNAMODB") {
        return;
    }
    let table = format!("local-stack-refunds-{}", uuid::Uuid::new_v4().simple());
    let h = Harness::start_with(Some(table)).await;
    ten_concurrent_refunds(&h).await;
    h.stack.shutdown().await;
}

/// Ten refunds asked at once (distinct keys, 15 fen in all) of a 3-fen payment: 3 fen accepted,
/// the rest refused with 409, and every accepted refund ends `SUCCESS` on both sides.
async fn ten_concurrent_refunds(h: &Harness) {
    h.faults(json!({"refund_delay_ms": 100})).await;
    let order_no = h.paid_order("4").await;
    // 1 and 2 fen, alternately: 15 fen asked of 3 paid.
    let asks = (0..10i64).map(|i| {
        let order_no = &order_no;
        async move {
            let amount = i % 2 + 1;
            let (status, body) = h.refund(order_no, &format!("race-{i}"), amount).await;
            (amount, status, body)
        }
    });
    let answers = futures::future::join_all(asks).await;
    let accepted: Vec<&(i64, u16, Value)> = answers
        .iter()
        .filter(|(_, status, _)| matches!(status, 201 | 202))
        .collect();
    for (_, status, body) in &answers {
        assert!(matches!(status, 201 | 202 | 409), "{status}: {body}");
    }
    let accepted_sum: i64 = accepted.iter().map(|(amount, _, _)| amount).sum();
    // Five asks of 1 fen among them: the store fills the payment exactly, never past it.
    assert_eq!(accepted_sum, 3, "{answers:?}");
    assert_eq!(
        answers.iter().filter(|(_, s, _)| *s == 409).count(),
        10 - accepted.len()
    );

    // Refunds WeChat Pay throttled (too soon after another) are still SUBMITTING: the sweep sends
    // them again until every refund has ended. (The admin detail reads the order, then its
    // refunds: the order's state is checked too, so a refund ending between the two reads does
    // not end the wait early.)
    let open = |detail: &Value| {
        detail["order"]["orderStatus"] == "REFUND_PROCESSING"
            || detail["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| matches!(r["status"].as_str(), Some("SUBMITTING" | "PROCESSING")))
    };
    let mut detail = h.admin_order(&order_no).await;
    for _ in 0..50 {
        if !open(&detail) {
            break;
        }
        h.clock.advance(PAST_SWEEP_AFTER);
        h.stack.sweep_now().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        detail = h.admin_order(&order_no).await;
    }
    assert!(!open(&detail), "refunds still open: {detail}");
    let refunds = detail["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), accepted.len(), "{detail}");
    let succeeded: i64 = refunds
        .iter()
        .filter(|r| r["status"] == "SUCCESS")
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        succeeded, 3,
        "every accepted refund ended SUCCESS: {detail}"
    );
    assert_eq!(detail["order"]["refundedFee"], 3, "{detail}");
    assert_eq!(detail["order"]["orderStatus"], "REFUNDED", "{detail}");
    let at_wechat = h.sim_refunds(&order_no).await;
    assert_eq!(sim_sum_held(&at_wechat), succeeded, "{at_wechat:?}");
    assert!(at_wechat.iter().all(|r| r["status"] == "SUCCESS"));
}

#[tokio::test]
async fn a_lost_refund_notification_is_made_good_by_the_sweep() {
    let h = Harness::start().await;
    let order_no = h.paid_order("4").await;
    h.faults(json!({"drop_notifications": true, "refund_delay_ms": 50}))
        .await;
    let number = accepted_refund(&h, &order_no, "lost-1", 2).await;
    let record = h
        .wait_for_refund_notification(&number, "had a delivery attempt", |r| {
            r["attempts"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert!(
        record["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["error"] == "dropped by fault switch"),
        "{record}"
    );
    assert_eq!(h.sim_refunds(&order_no).await[0]["status"], "SUCCESS");
    let detail = h.admin_order(&order_no).await;
    assert_eq!(refund_status(&detail, &number), "PROCESSING", "{detail}");
    assert_eq!(detail["order"]["orderStatus"], "REFUND_PROCESSING");
    storefront_shows(&h, &order_no, "REFUND_PROCESSING", 2).await;

    h.clock.advance(PAST_SWEEP_AFTER);
    let report = h.stack.sweep_now().await.unwrap().refunds;
    assert_eq!(report.finished, 1, "{report:?}");
    let detail = h.admin_order(&order_no).await;
    assert_eq!(refund_status(&detail, &number), "SUCCESS", "{detail}");
    assert_eq!(detail["order"]["orderStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(detail["order"]["refundedFee"], 2);
    storefront_shows(&h, &order_no, "PARTIALLY_REFUNDED", 2).await;
    h.stack.shutdown().await;
}

#[tokio::test]
async fn an_abnormal_refund_shows_on_the_order() {
    let h = Harness::start().await;
    let order_no = h.paid_order("4").await;
    h.faults(json!({"refund_outcome": "abnormal", "refund_delay_ms": 50}))
        .await;
    let number = accepted_refund(&h, &order_no, "abnormal-1", 1).await;
    let detail = h
        .wait_for_admin(&order_no, "became REFUND_ABNORMAL", |d| {
            d["order"]["orderStatus"] == "REFUND_ABNORMAL"
        })
        .await;
    assert_eq!(refund_status(&detail, &number), "ABNORMAL", "{detail}");
    assert_eq!(detail["order"]["refundedFee"], 1, "the money is still held");
    assert_eq!(h.sim_refunds(&order_no).await[0]["status"], "ABNORMAL");
    storefront_shows(&h, &order_no, "REFUND_ABNORMAL", 1).await;
    h.stack.shutdown().await;
}

#[tokio::test]
async fn a_closed_refund_releases_its_amount() {
    let h = Harness::start().await;
    let order_no = h.paid_order("4").await;
    h.faults(json!({"refund_outcome": "closed", "refund_delay_ms": 100}))
        .await;
    let closed = accepted_refund(&h, &order_no, "closed-1", 3).await;
    let detail = h
        .wait_for_admin(&order_no, "was paid again after its refund", |d| {
            d["order"]["orderStatus"] == "SUCCESS"
        })
        .await;
    assert_eq!(refund_status(&detail, &closed), "CLOSED", "{detail}");
    assert_eq!(detail["order"]["refundedFee"], 0);
    assert_eq!(detail["order"]["refundableFee"], 3);

    h.faults(json!({"refund_delay_ms": 50})).await;
    let again = accepted_refund(&h, &order_no, "after-close-1", 3).await;
    let detail = h
        .wait_for_admin(&order_no, "was refunded", |d| {
            d["order"]["orderStatus"] == "REFUNDED"
        })
        .await;
    assert_eq!(refund_status(&detail, &again), "SUCCESS", "{detail}");
    assert_eq!(detail["order"]["refundedFee"], 3);
    let at_wechat = h.sim_refunds(&order_no).await;
    assert_eq!(at_wechat.len(), 2, "{at_wechat:?}");
    assert_eq!(sim_sum_held(&at_wechat), 3);
    h.stack.shutdown().await;
}

#[tokio::test]
async fn a_refund_made_in_the_merchant_platform_is_recorded_as_external() {
    let h = Harness::start().await;
    let order_no = h.paid_order("4").await;
    h.faults(json!({"refund_delay_ms": 50})).await;
    let (status, body) = h
        .post(
            "/sim/refund",
            None,
            None,
            Some(json!({"out_trade_no": order_no, "amount": 1, "reason": "by hand"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let number = body["refund"]["out_refund_no"].as_str().unwrap().to_owned();
    let detail = h
        .wait_for_admin(&order_no, "recorded the platform's refund", |d| {
            d["order"]["orderStatus"] == "PARTIALLY_REFUNDED"
        })
        .await;
    assert_eq!(refund_status(&detail, &number), "SUCCESS", "{detail}");
    let refund = refund_of(&detail, &number).unwrap();
    assert_eq!(refund["origin"], "EXTERNAL", "{refund}");
    assert_eq!(refund["amount"], 1);
    assert_eq!(detail["order"]["orderStatus"], "PARTIALLY_REFUNDED");
    assert_eq!(detail["order"]["refundedFee"], 1);
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 1);
    h.stack.shutdown().await;
}
