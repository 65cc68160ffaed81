//! One parser for every event: payments and refunds are told apart by `event_type`, after the
//! signature is verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ID, TS, apiv3, now, parser_with_key, signed_headers};
use wxpay::keys::PrivateKey;
use wxpay::models::NotificationEnvelope;
use wxpay::notify::Notification;
use wxpay::refund::RefundStatus;
use wxpay::{NotificationError, VerifyError, aead};

fn refund_resource(status: &str) -> String {
    format!(
        r#"{{"mchid":"1900000100","transaction_id":"1008450740201411110005820873","out_trade_no":"20150806125346","refund_id":"50200207182018070300011301001","out_refund_no":"7752501201407033233368018","refund_status":"{status}","user_received_account":"招商银行信用卡0403","amount":{{"total":999,"refund":300,"payer_total":999,"payer_refund":300}}}}"#
    )
}

fn envelope(event_type: &str, original_type: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut resource = aead::encrypt(&apiv3(), "fD2gH4jK6lM8", original_type, plaintext).unwrap();
    resource.original_type = Some(original_type.into());
    serde_json::to_vec(&NotificationEnvelope {
        id: "EV-2018-06-08".into(),
        create_time: "2018-06-08T10:34:56+08:00".into(),
        event_type: event_type.into(),
        resource_type: "encrypt-resource".into(),
        resource,
        summary: "退款成功".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn each_refund_event_yields_its_refund_status() {
    let (key, parser) = parser_with_key();
    for (event, status, expected) in [
        ("REFUND.SUCCESS", "SUCCESS", RefundStatus::Success),
        ("REFUND.ABNORMAL", "ABNORMAL", RefundStatus::Abnormal),
        ("REFUND.CLOSED", "CLOSED", RefundStatus::Closed),
    ] {
        let body = envelope(event, "refund", refund_resource(status).as_bytes());
        let headers = signed_headers(&key, ID, TS, "n", &body);
        let Notification::Refund(notification) =
            parser.parse(&headers, &body, now()).await.unwrap()
        else {
            panic!("{event} parsed as a payment");
        };
        assert_eq!(notification.id, "EV-2018-06-08");
        assert_eq!(notification.refund.refund_status, expected);
        assert_eq!(
            notification.refund.out_refund_no,
            "7752501201407033233368018"
        );
        assert_eq!(notification.refund.amount.refund, 300);
    }
}

#[tokio::test]
async fn a_payment_event_is_told_apart_from_a_refund() {
    let (key, parser) = parser_with_key();
    let payment = r#"{"mchid":"1900007291","appid":"wxd678efh567hg6787","out_trade_no":"ORDER20240101000001","transaction_id":"4200000000202401010000000001","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功","success_time":"2024-01-01T12:00:05+08:00","amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}"#;
    let body = envelope("TRANSACTION.SUCCESS", "transaction", payment.as_bytes());
    let headers = signed_headers(&key, ID, TS, "n", &body);
    let parsed = parser.parse(&headers, &body, now()).await.unwrap();
    assert!(
        matches!(&parsed, Notification::Transaction(n) if n.transaction.out_trade_no == "ORDER20240101000001"),
        "{parsed:?}"
    );
}

#[tokio::test]
async fn forged_unknown_and_malformed_refund_events_are_refused() {
    let (key, parser) = parser_with_key();
    let forger = PrivateKey::generate().unwrap();
    let body = envelope(
        "REFUND.SUCCESS",
        "refund",
        refund_resource("SUCCESS").as_bytes(),
    );
    let forged = signed_headers(&forger, ID, TS, "n", &body);
    assert_eq!(
        parser.parse(&forged, &body, now()).await,
        Err(NotificationError::Verify(VerifyError::SignatureMismatch))
    );

    let unknown = envelope("PROFITSHARING.SUCCESS", "refund", b"{}");
    let headers = signed_headers(&key, ID, TS, "n", &unknown);
    assert_eq!(
        parser.parse(&headers, &unknown, now()).await,
        Err(NotificationError::EventType("PROFITSHARING.SUCCESS".into()))
    );

    let missing_status = envelope("REFUND.SUCCESS", "refund", br#"{"mchid":"1"}"#);
    let headers = signed_headers(&key, ID, TS, "n", &missing_status);
    assert!(matches!(
        parser.parse(&headers, &missing_status, now()).await,
        Err(NotificationError::Refund(_))
    ));
}
