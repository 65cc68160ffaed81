//! Payment notifications as a merchant receives them: verified and decrypted with
//! `wxpay::NotificationParser`, retried on the (scaled) ladder until acknowledged, logged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Merchant, Mode, Received, attempt_pairs, start, start_with, trade_no};
use serde_json::Value;
use std::time::{Duration, Instant};
use wxpay::models::TradeState;
use wxpay_sim::SigningMode;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_payment_is_notified_signed_encrypted_and_logged_as_delivered() {
    let sim = start().await;
    let client = sim.client();
    let merchant = Merchant::start(client.notification_parser()).await;
    let no = trade_no("N");
    let (status, scanned) = sim.order_and_pay(&no, &merchant.url).await;
    assert_eq!(status, 200);

    let notification = merchant.wait_verified(1, WAIT).await.remove(0);
    assert_eq!(
        notification.id,
        scanned["notification_id"].as_str().unwrap()
    );
    uuid::Uuid::parse_str(&notification.id).unwrap();
    let queried = client.query_by_out_trade_no(&no).await.unwrap();
    assert_eq!(notification.transaction, queried);
    assert_eq!(notification.transaction.trade_state, TradeState::Success);

    let Received::Verified { headers, body, .. } = merchant.received().remove(0) else {
        panic!("not verified");
    };
    assert_eq!(
        headers["wechatpay-signature-type"],
        "WECHATPAY2-SHA256-RSA2048"
    );
    assert_eq!(headers["wechatpay-nonce"].len(), 32);
    assert_eq!(headers["content-type"], "application/json");
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["summary"], "支付成功");
    assert!(
        envelope["create_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let resource = &envelope["resource"];
    assert_eq!(resource["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(resource["associated_data"], "transaction");
    assert_eq!(resource["original_type"], "transaction");
    assert_eq!(resource["nonce"].as_str().unwrap().len(), 12);
    assert!(
        !String::from_utf8_lossy(&body).contains(&no),
        "resource must be encrypted"
    );

    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status"], 200);
    assert_eq!(attempts[0]["acknowledged"], true);
    assert!(attempts[0]["answer"].as_str().unwrap().contains("SUCCESS"));
    assert_eq!(
        record["transaction_id"],
        queried.transaction_id.unwrap().as_str()
    );
    sim.stop().await;
}

#[tokio::test]
async fn unacknowledged_notifications_are_retried_on_the_scaled_ladder() {
    let sim = start().await; // time scale 100: 15 s → 150 ms
    let client = sim.client();
    let merchant = Merchant::start_with(client.notification_parser(), 2, 0, Duration::ZERO).await;
    let no = trade_no("R");
    sim.order_and_pay(&no, &merchant.url).await;

    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let statuses = attempt_pairs(&record, "number", "status");
    assert_eq!(statuses, [(1, 500), (2, 500), (3, 200)]);
    let verified = merchant.verified();
    assert_eq!(verified.len(), 3);
    assert!(
        verified.iter().all(|n| n.id == verified[0].id),
        "same id on retries"
    );
    let times = merchant.arrival_times();
    for gap in [times[1] - times[0], times[2] - times[1]] {
        assert!(gap >= Duration::from_millis(140), "{gap:?}");
        assert!(gap < Duration::from_millis(2000), "{gap:?}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_a_failed_attempt() {
    let sim = start_with(|c| {
        c.with_time_scale(100.0)
            .with_notify_timeout(Duration::from_millis(300))
    })
    .await;
    let client = sim.client();
    let merchant =
        Merchant::start_with(client.notification_parser(), 0, 1, Duration::from_secs(1)).await;
    let no = trade_no("T");
    sim.order_and_pay(&no, &merchant.url).await;
    let record = sim.wait_for_status(&no, "delivered", WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{record}");
    assert_eq!(attempts[0]["error"], "timed out");
    assert_eq!(attempts[0]["acknowledged"], false);
    assert_eq!(attempts[1]["status"], 200);
    sim.stop().await;
}

#[tokio::test]
async fn without_an_acknowledgement_the_ladder_ends_after_sixteen_attempts() {
    // 24 h 4 min of ladder in under a second.
    let sim = start_with(|c| c.with_time_scale(200_000.0)).await;
    let client = sim.client();
    // Nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", closed.local_addr().unwrap());
    drop(closed);
    let no = trade_no("F");
    let code = client.native_prepay(&sim.prepay(&no, &url)).await.unwrap();
    sim.scan(&code.code_url).await;
    let record = sim.wait_for_status(&no, "failed", WAIT).await;
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 16);
    assert!(
        attempts.iter().all(|a| a["error"] == "could not connect"),
        "{record}"
    );
    assert!(record.get("next_attempt_at").is_none());
    sim.stop().await;
}

#[tokio::test]
async fn certificate_mode_notifications_verify_with_the_downloaded_platform_certificate() {
    let sim = start_with(|c| {
        c.with_time_scale(100.0)
            .with_signing_mode(SigningMode::Certificate)
    })
    .await;
    let client = sim.client_with(Mode::Certificates, Duration::from_secs(5));
    let merchant = Merchant::start(client.notification_parser()).await;
    let no = trade_no("C");
    sim.order_and_pay(&no, &merchant.url).await;
    merchant.wait_verified(1, WAIT).await;
    let Received::Verified { headers, .. } = merchant.received().remove(0) else {
        panic!("not verified");
    };
    assert_eq!(
        headers["wechatpay-serial"],
        sim.sim.sandbox().platform.serial.as_str()
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_slow_merchant_does_not_hold_up_the_api() {
    let sim = start().await;
    let client = sim.client();
    let merchant =
        Merchant::start_with(client.notification_parser(), 0, 1, Duration::from_secs(2)).await;
    let no = trade_no("S");
    sim.order_and_pay(&no, &merchant.url).await;
    merchant.wait_verified(1, WAIT).await; // the merchant is now sitting on its answer
    let started = Instant::now();
    client.query_by_out_trade_no(&no).await.unwrap();
    let other = trade_no("O");
    client
        .native_prepay(&sim.prepay(&other, &merchant.url))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    sim.stop().await;
}
