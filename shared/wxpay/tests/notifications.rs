//! The notification entry point: verify, then decrypt, then deserialize.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ID, TS, apiv3, fixture, now, parser_with_key, signed_headers};
use std::sync::Arc;
use wxpay::aead::AeadError;
use wxpay::keys::PrivateKey;
use wxpay::models::TradeState;
use wxpay::notify::{NotificationParser, seal_transaction};
use wxpay::{ApiV3Key, NotificationError, Verifier, VerifyError};

fn envelope(event_type: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut envelope = seal_transaction(
        &apiv3(),
        "3119dfba-e649-5eec-ab1e-3412bc4d2e17".into(),
        "2025-06-15T23:06:40+08:00".into(),
        "fD2gH4jK6lM8",
        plaintext,
    )
    .unwrap();
    envelope.event_type = event_type.into();
    serde_json::to_vec(&envelope).unwrap()
}

#[tokio::test]
async fn genuine_notification_yields_the_transaction() {
    let (key, parser) = parser_with_key();
    let body = envelope(
        "TRANSACTION.SUCCESS",
        fixture("v8_plaintext.json").as_bytes(),
    );
    let headers = signed_headers(&key, ID, TS, "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz", &body);
    let notification = parser
        .parse_transaction(&headers, &body, now())
        .await
        .unwrap();
    assert_eq!(notification.id, "3119dfba-e649-5eec-ab1e-3412bc4d2e17");
    assert_eq!(notification.transaction.trade_state, TradeState::Success);
    assert_eq!(notification.transaction.out_trade_no, "ORDER20240101000001");
    assert_eq!(notification.transaction.amount.unwrap().total, Some(100));
}

#[tokio::test]
async fn forged_notification_is_refused_before_anything_is_decrypted() {
    let (_, parser) = parser_with_key();
    let forger = PrivateKey::generate().unwrap();
    let body = envelope(
        "TRANSACTION.SUCCESS",
        fixture("v8_plaintext.json").as_bytes(),
    );
    let headers = signed_headers(&forger, ID, TS, "n", &body);
    assert_eq!(
        parser.parse_transaction(&headers, &body, now()).await,
        Err(NotificationError::Verify(VerifyError::SignatureMismatch))
    );
}

#[tokio::test]
async fn replay_outside_the_window_is_refused() {
    let (key, parser) = parser_with_key();
    let body = envelope(
        "TRANSACTION.SUCCESS",
        fixture("v8_plaintext.json").as_bytes(),
    );
    let headers = signed_headers(&key, ID, TS - 3600, "n", &body);
    assert!(matches!(
        parser.parse_transaction(&headers, &body, now()).await,
        Err(NotificationError::Verify(
            VerifyError::StaleTimestamp { .. }
        ))
    ));
}

#[tokio::test]
async fn signed_but_undecryptable_resource_is_a_decrypt_error() {
    let (key, _) = parser_with_key();
    let other_apiv3: ApiV3Key = "ffffffffffffffffffffffffffffffff".parse().unwrap();
    let parser = NotificationParser::new(
        Arc::new(Verifier::with_public_key(ID, key.public_key().unwrap())),
        other_apiv3,
    );
    let body = envelope("TRANSACTION.SUCCESS", b"{}");
    let headers = signed_headers(&key, ID, TS, "n", &body);
    assert_eq!(
        parser.parse_transaction(&headers, &body, now()).await,
        Err(NotificationError::Decrypt(AeadError::Authentication))
    );
}

#[tokio::test]
async fn other_events_and_malformed_bodies_are_refused() {
    let (key, parser) = parser_with_key();
    let refund = envelope("REFUND.SUCCESS", b"{}");
    let headers = signed_headers(&key, ID, TS, "n", &refund);
    assert_eq!(
        parser.parse_transaction(&headers, &refund, now()).await,
        Err(NotificationError::EventType("REFUND.SUCCESS".into()))
    );
    let garbage = b"not json".to_vec();
    let headers = signed_headers(&key, ID, TS, "n", &garbage);
    assert!(matches!(
        parser.parse_transaction(&headers, &garbage, now()).await,
        Err(NotificationError::Envelope(_))
    ));
    let not_a_transaction = envelope("TRANSACTION.SUCCESS", br#"{"hello":"world"}"#);
    let headers = signed_headers(&key, ID, TS, "n", &not_a_transaction);
    assert!(matches!(
        parser
            .parse_transaction(&headers, &not_a_transaction, now())
            .await,
        Err(NotificationError::Transaction(_))
    ));
}

#[test]
fn no_error_or_debug_output_contains_key_material() {
    let key = apiv3();
    let parser = NotificationParser::new(
        Arc::new(Verifier::with_public_key(
            ID,
            PrivateKey::generate().unwrap().public_key().unwrap(),
        )),
        key.clone(),
    );
    let rendered = format!("{parser:?} {key:?} {key}");
    assert!(!rendered.contains("0123456789ABCDEF"), "{rendered}");
    let private = PrivateKey::generate().unwrap();
    let pem = private.to_pkcs8_pem().unwrap();
    let rendered = format!("{private:?}");
    assert!(!rendered.contains(&pem[30..60]));
    assert!(rendered.contains("redacted"));
}
