//! The whole flow on the local stack, in-process: the storefront API, the notification URL and the
//! sweep of `wxpay-local`, against the WeChat Pay simulator, on the embedded store and on DynamoDB
//! (moto; that test is skipped, saying so, without `AWS_ENDPOINT_URL_DYNAMODB`). Each test starts
//! its own stack on a free port with its own data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use env_config::{MerchantSecrets, WxPaySettings, wxpay_client};
use orders::testing::aws_suite_can_run;
use serde_json::{Value, json};
use support::{BUYER, Harness, OTHER_BUYER};
use time::OffsetDateTime;
use wxpay::keys::PrivateKey;
use wxpay::models::TradeState;

#[tokio::test]
async fn shopper_buys_scans_and_the_notification_marks_the_order_paid() {
    let h = Harness::start().await;
    let (status, products) = h.get("/api/product/list", None).await;
    assert_eq!(status, 200);
    assert!(
        !products["data"]["productList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (order_no, code_url) = h.order("1").await;
    assert_eq!(h.status(&order_no).await, "NOTPAY");
    let (_, poll) = h
        .get(
            &format!("/api/order-info/query-order-status/{order_no}"),
            None,
        )
        .await;
    assert_eq!(
        (poll["code"].as_i64(), poll["message"].as_str()),
        (Some(101), Some("支付中"))
    );

    let (scan_status, _) = h.scan(&code_url).await;
    assert_eq!(scan_status, 200);
    h.wait_for_status(&order_no, "SUCCESS").await;
    let (_, poll) = h
        .get(
            &format!("/api/order-info/query-order-status/{order_no}"),
            None,
        )
        .await;
    assert_eq!(
        (poll["code"].as_i64(), poll["message"].as_str()),
        (Some(0), Some("支付成功"))
    );
    assert_eq!(h.payment_records(&order_no).await, 1);
    assert_eq!(h.wechat_state(&order_no).await, TradeState::Success);
    h.stack.shutdown().await;
}

#[tokio::test]
async fn lost_notifications_are_made_good_by_the_sweep() {
    let h = Harness::start().await;
    h.faults(json!({"drop_notifications": true})).await;
    let (order_no, code_url) = h.order("2").await;
    h.scan(&code_url).await;
    // The log shows the first delivery dropped: nothing can have reached the notify URL.
    let record = h
        .wait_for_notification(&order_no, "had a delivery attempt", |r| {
            r["attempts"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let attempts = record["attempts"].as_array().unwrap();
    assert!(
        attempts
            .iter()
            .all(|a| a["error"] == "dropped by fault switch"),
        "{record}"
    );
    assert_eq!(
        h.status(&order_no).await,
        "NOTPAY",
        "the notification was dropped"
    );
    h.clock.advance(time::Duration::seconds(40));
    let summary = h.stack.sweep_now().await.unwrap().orders;
    assert_eq!(summary.settled, 1, "{summary:?}");
    assert_eq!(h.status(&order_no).await, "SUCCESS");
    assert_eq!(h.payment_records(&order_no).await, 1);
    h.stack.shutdown().await;
}

#[tokio::test]
async fn twenty_concurrent_copies_of_a_notification_settle_once() {
    let h = Harness::start().await;
    h.faults(json!({"duplicate_notifications": 20})).await;
    let (order_no, code_url) = h.order("1").await;
    h.scan(&code_url).await;
    h.wait_for_status(&order_no, "SUCCESS").await;
    // The log records the copies once every one of them has been answered: by then the notify
    // URL has handled all twenty, and one payment record is all they left.
    let record = h
        .wait_for_notification(&order_no, "was delivered", |r| r["status"] == "delivered")
        .await;
    let copies = record["attempts"].as_array().unwrap();
    assert_eq!(copies.len(), 20, "{record}");
    assert!(
        copies.iter().all(|c| c["status"] == 200),
        "every copy acknowledged: {copies:?}"
    );
    assert_eq!(h.payment_records(&order_no).await, 1);
    h.stack.shutdown().await;
}

#[tokio::test]
async fn signtest_probe_is_refused_and_the_real_notification_settles() {
    let h = Harness::start().await;
    h.faults(json!({"signtest_probe": true})).await;
    let (order_no, code_url) = h.order("1").await;
    h.scan(&code_url).await;
    h.wait_for_status(&order_no, "SUCCESS").await;
    let notifications = h.notifications_for(&order_no).await;
    let attempts = notifications[0]["attempts"].as_array().unwrap();
    let probe = attempts
        .iter()
        .find(|a| a["kind"] == "signtest_probe")
        .expect("a probe was sent");
    assert!(probe["status"].as_u64().unwrap() >= 400, "{probe}");
    assert!(
        attempts
            .iter()
            .any(|a| a["kind"] == "delivery" && a["status"] == 200)
    );
    h.stack.shutdown().await;
}

#[tokio::test]
async fn forged_stale_altered_and_malformed_notifications_change_nothing() {
    let h = Harness::start().await;
    let (order_no, _) = h.order("1").await;
    let genuine = h.wechat_signing_key();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let paid = h.paid_transaction(&order_no, 1);

    let forger = PrivateKey::generate().unwrap();
    assert_eq!(
        h.post_notification(paid.clone(), &forger, now, |b| b).await,
        401,
        "forged"
    );
    assert_eq!(
        h.post_notification(paid.clone(), &genuine, now - 600, |b| b)
            .await,
        401,
        "stale"
    );
    let altered = |body: Vec<u8>| {
        let mut envelope: Value = serde_json::from_slice(&body).unwrap();
        envelope["summary"] = json!("支付成功!");
        serde_json::to_vec(&envelope).unwrap()
    };
    assert_eq!(
        h.post_notification(paid.clone(), &genuine, now, altered)
            .await,
        401,
        "altered"
    );
    let garbage = |_: Vec<u8>| b"{not json".to_vec();
    assert!(
        h.post_notification(paid.clone(), &genuine, now, garbage)
            .await
            >= 400,
        "malformed, unsigned"
    );
    let wrong_amount = h.paid_transaction(&order_no, 100);
    assert_eq!(
        h.post_notification(wrong_amount, &genuine, now, |b| b)
            .await,
        400,
        "amount mismatch"
    );
    let oversized = |_: Vec<u8>| vec![b' '; 128 * 1024];
    assert_eq!(
        h.post_notification(paid.clone(), &genuine, now, oversized)
            .await,
        413
    );

    assert_eq!(h.status(&order_no).await, "NOTPAY");
    assert_eq!(h.payment_records(&order_no).await, 0);
    // The genuine one, unaltered, is accepted: the checks above failed for their own reasons.
    assert_eq!(h.post_notification(paid, &genuine, now, |b| b).await, 200);
    assert_eq!(h.status(&order_no).await, "SUCCESS");
    h.stack.shutdown().await;
}

#[tokio::test]
async fn cancel_closes_at_both_ends_and_only_for_the_buyer_who_ordered() {
    let h = Harness::start().await;
    let (order_no, code_url) = h.order("3").await;
    let (_, theirs) = h.get("/api/order-info/list", Some(OTHER_BUYER)).await;
    assert_eq!(theirs["data"]["list"].as_array().unwrap().len(), 0);
    let (status, _) = h
        .post(
            &format!("/api/wx-pay/cancel/{order_no}"),
            Some(OTHER_BUYER),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404, "another buyer cannot cancel");
    let (status, _) = h
        .post(&format!("/api/wx-pay/cancel/{order_no}"), None, None, None)
        .await;
    assert_eq!(status, 400, "no token, no cancel");
    assert_eq!(h.status(&order_no).await, "NOTPAY");

    let (status, body) = h
        .post(
            &format!("/api/wx-pay/cancel/{order_no}"),
            Some(BUYER),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.status(&order_no).await, "CANCELLED");
    assert_eq!(h.wechat_state(&order_no).await, TradeState::Closed);
    let (scan_status, _) = h.scan(&code_url).await;
    assert!(scan_status >= 400, "a cancelled order cannot be paid");
    let (_, mine) = h.get("/api/order-info/list", Some(BUYER)).await;
    assert_eq!(mine["data"]["list"][0]["orderStatus"], "CANCELLED");
    h.stack.shutdown().await;
}

#[tokio::test]
async fn expired_orders_are_closed_at_both_ends_by_the_sweep() {
    let h = Harness::start().await;
    let (order_no, code_url) = h.order("1").await;
    h.clock.advance(time::Duration::seconds(120));
    let summary = h.stack.sweep_now().await.unwrap().orders;
    assert_eq!(summary.closed, 1, "{summary:?}");
    assert_eq!(h.status(&order_no).await, "CLOSED");
    assert_eq!(h.wechat_state(&order_no).await, TradeState::Closed);
    let (scan_status, _) = h.scan(&code_url).await;
    assert!(scan_status >= 400);
    h.stack.shutdown().await;
}

#[tokio::test]
async fn prepay_failures_answer_502_or_504_and_the_sweep_cleans_up() {
    let h = Harness::start().await;
    for (kind, expected) in [
        ("system_error", 502),
        ("frequency_limited", 502),
        ("hang", 504),
    ] {
        h.faults(json!({"api": {"kind": kind, "path_prefix": "/v3/pay/transactions/native", "hang_ms": 5000}})).await;
        let (status, body) = h
            .post("/api/wx-pay/native/1", Some(BUYER), None, None)
            .await;
        assert_eq!(status, expected, "{kind}: {body}");
        assert_eq!(body["code"].as_i64(), Some(i64::from(expected)));
        h.clear_faults().await;
    }
    // The three orders exist, consistent (NOTPAY, no link), and the sweep closes them once expired.
    let (_, mine) = h.get("/api/order-info/list", Some(BUYER)).await;
    let list = mine["data"]["list"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|o| o["orderStatus"] == "NOTPAY"));
    h.clock.advance(time::Duration::seconds(120));
    let summary = h.stack.sweep_now().await.unwrap().orders;
    assert_eq!(
        summary.closed + summary.closed_never_prepaid,
        3,
        "{summary:?}"
    );
    for order in list {
        assert_eq!(h.status(order["orderNo"].as_str().unwrap()).await, "CLOSED");
    }
    h.stack.shutdown().await;
}

#[tokio::test]
async fn the_price_a_client_sends_is_never_used() {
    let h = Harness::start().await;
    let (_, products) = h.get("/api/product/list", None).await;
    let product = &products["data"]["productList"][3];
    let price = product["price"].as_i64().unwrap();
    let path = format!(
        "/api/wx-pay/native/{}?price=0&totalFee=0",
        product["id"].as_str().unwrap()
    );
    let (status, body) = h
        .post(
            &path,
            Some(BUYER),
            None,
            Some(json!({"price": 0, "totalFee": 0, "amount": {"total": 0}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["totalFee"].as_i64(), Some(price));
    let order_no = body["data"]["orderNo"].as_str().unwrap();
    h.scan(body["data"]["codeUrl"].as_str().unwrap()).await;
    h.wait_for_status(order_no, "SUCCESS").await;
    let settings = WxPaySettings::from_env(&h.sandbox()).unwrap();
    let client = wxpay_client(
        &settings,
        MerchantSecrets::load(&settings.secrets, None)
            .await
            .unwrap(),
    )
    .unwrap();
    let paid = client.query_by_out_trade_no(order_no).await.unwrap();
    assert_eq!(
        paid.amount.unwrap().total,
        Some(price),
        "WeChat Pay charged the catalog price"
    );
    h.stack.shutdown().await;
}

#[tokio::test]
async fn idempotency_key_returns_the_same_order_and_bad_input_gets_clear_errors() {
    let h = Harness::start().await;
    let (_, first) = h
        .post("/api/wx-pay/native/1", Some(BUYER), Some("click-1"), None)
        .await;
    let (_, again) = h
        .post("/api/wx-pay/native/1", Some(BUYER), Some("click-1"), None)
        .await;
    assert_eq!(first["data"]["orderNo"], again["data"]["orderNo"]);
    assert_eq!(again["data"]["replayed"], true);
    let (_, other) = h
        .post(
            "/api/wx-pay/native/1",
            Some(OTHER_BUYER),
            Some("click-1"),
            None,
        )
        .await;
    assert_ne!(
        first["data"]["orderNo"], other["data"]["orderNo"],
        "keys are scoped to the buyer"
    );

    assert_eq!(
        h.post("/api/wx-pay/native/999", Some(BUYER), None, None)
            .await
            .0,
        404
    );
    assert_eq!(
        h.get("/api/order-info/query-order-status/bad!no", None)
            .await
            .0,
        400
    );
    assert_eq!(
        h.get(
            "/api/order-info/query-order-status/20990101000000000000000000",
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(h.get("/api/order-info/list", None).await.0, 400);
    assert_eq!(h.get("/api/order-info/list", Some("short")).await.0, 400);
    let (status, body) = h
        .get("/api/order-info/list?cursor=garbage", Some(BUYER))
        .await;
    assert_eq!(status, 400, "{body}");
    h.stack.shutdown().await;
}

#[tokio::test]
async fn with_orders_table_the_stack_runs_on_dynamodb() {
    if !aws_suite_can_run("local-stack-dynamodb", "AWS_ENDPOINT_URL_DYNAMODB") {
        return;
    }
    let table = format!("local-stack-{}", uuid::Uuid::new_v4().simple());
    let h = Harness::start_with(Some(table.clone())).await;
    let (order_no, code_url) = h.order("1").await;
    h.scan(&code_url).await;
    h.wait_for_status(&order_no, "SUCCESS").await;
    assert_eq!(h.payment_records(&order_no).await, 1);
    // The order really is in that table.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let item = dynamo
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ORDER#{order_no}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ORDER".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        item.item().unwrap()["orderStatus"],
        aws_sdk_dynamodb::types::AttributeValue::S("SUCCESS".into())
    );
    h.stack.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_answers_only_with_the_token_the_stack_generated() {
    let h = Harness::start().await;
    let (order_no, code_url) = h.order("1").await;
    h.scan(&code_url).await;
    h.wait_for_status(&order_no, "SUCCESS").await;
    let token = std::fs::read_to_string(h.dir.path().join("admin.token")).unwrap();
    let token = token.trim();
    assert_eq!(token, h.stack.admin_token().expose());
    assert!(token.len() >= 43, "32 random bytes, base64url");

    let path = format!("{}/admin/orders/{order_no}", h.base);
    let ask = |bearer: Option<String>| {
        let mut request = h.http.get(&path);
        if let Some(bearer) = bearer {
            request = request.header("Authorization", bearer);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for refused in [
        None,
        Some("Bearer not-the-token".to_owned()),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some(token.to_owned()),
    ] {
        let (status, body) = ask(refused.clone()).await;
        assert_eq!(status, 401, "{refused:?}: {body}");
        assert_eq!(body["code"], 401);
    }
    let refund = h
        .http
        .post(format!("{path}/refunds"))
        .header("Idempotency-Key", "k1")
        .json(&json!({"amount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status().as_u16(), 401, "no refund without the token");

    let (status, body) = ask(Some(format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["order"]["orderStatus"], "SUCCESS");
    assert_eq!(body["data"]["payments"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"]["refunds"], json!([]));
    h.stack.shutdown().await;
}
