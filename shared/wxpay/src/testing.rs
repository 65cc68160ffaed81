//! Signing as WeChat Pay, for tests of code that verifies its answers and notifications (feature
//! `testing`). Built on the same code as the simulator's signer ([`SignatureHeaders::sign`],
//! [`seal_transaction`], [`seal_refund`]), so tests and simulator sign one way.

use crate::aead::AeadError;
use crate::keys::{KeyError, PrivateKey};
use crate::notify::{RefundEvent, seal_refund, seal_transaction};
use crate::secret::ApiV3Key;
use crate::time::TimeOutOfRange;
use crate::verify::{SIGNTEST_PREFIX, SignatureHeaders};
use http::HeaderMap;
use time::OffsetDateTime;

/// The nonce of [`signed_notification`]'s signature (32 alphanumerics, as WeChat Pay sends).
pub const NOTIFICATION_NONCE: &str = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz";
/// The nonce [`signed_notification`] encrypts its resource with (12 characters).
pub const RESOURCE_NONCE: &str = "fD2gH4jK6lM8";

/// Why a test signature could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TestSignError {
    /// The private key could not sign.
    #[error("signing: {0}")]
    Key(#[from] KeyError),
    /// The resource could not be encrypted.
    #[error("encrypting: {0}")]
    Aead(#[from] AeadError),
    /// The time cannot be written as WeChat Pay does.
    #[error("{0}")]
    Time(#[from] TimeOutOfRange),
    /// The envelope could not be serialized.
    #[error("envelope: {0}")]
    Json(#[from] serde_json::Error),
}

/// The `Wechatpay-*` headers WeChat Pay sends with `body`, signed with `key` at `timestamp` (Unix
/// seconds) with `nonce`, naming `serial` (a public key ID or a platform certificate serial).
pub fn sign_response(
    key: &PrivateKey,
    serial: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Result<HeaderMap, KeyError> {
    let mut headers = HeaderMap::new();
    SignatureHeaders::sign(key, serial, timestamp, nonce, body)?.write_to(&mut headers);
    Ok(headers)
}

/// The `Wechatpay-*` headers of a `WECHATPAY/SIGNTEST/` probe (§2.4) naming `serial`, at
/// `timestamp`: a deliberately wrong signature that a verifier must refuse.
pub fn signtest_probe(serial: &str, timestamp: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    SignatureHeaders {
        timestamp: timestamp.to_string(),
        nonce: NOTIFICATION_NONCE.to_owned(),
        signature: format!("{SIGNTEST_PREFIX}ZEtOT3hhVnZ1WkRHUG5mQVlqc1dUMzNkMGpSQ2pxbWdH"),
        serial: serial.to_owned(),
    }
    .write_to(&mut headers);
    headers
}

/// A complete payment notification as WeChat Pay posts it.
#[derive(Debug, Clone)]
pub struct SignedNotification {
    /// The `Wechatpay-*` headers.
    pub headers: HeaderMap,
    /// The envelope's JSON, the resource encrypted under the APIv3 key.
    pub body: Vec<u8>,
}

/// A `TRANSACTION.SUCCESS` notification `id` created at `at`: `transaction` (its JSON) encrypted
/// under `apiv3`, the envelope signed with `key` at `at`, naming `serial`.
pub fn signed_notification(
    key: &PrivateKey,
    serial: &str,
    apiv3: &ApiV3Key,
    id: &str,
    transaction: &[u8],
    at: OffsetDateTime,
) -> Result<SignedNotification, TestSignError> {
    let envelope = seal_transaction(
        apiv3,
        id.to_owned(),
        crate::time::format(at)?,
        RESOURCE_NONCE,
        transaction,
    )?;
    let body = serde_json::to_vec(&envelope)?;
    let headers = sign_response(key, serial, at.unix_timestamp(), NOTIFICATION_NONCE, &body)?;
    Ok(SignedNotification { headers, body })
}

/// A refund notification `id` of `event` created at `at`: `refund` (a refund resource's JSON)
/// encrypted under `apiv3`, the envelope signed with `key` at `at`, naming `serial`.
pub fn signed_refund_notification(
    key: &PrivateKey,
    serial: &str,
    apiv3: &ApiV3Key,
    id: &str,
    event: RefundEvent,
    refund: &[u8],
    at: OffsetDateTime,
) -> Result<SignedNotification, TestSignError> {
    let envelope = seal_refund(
        apiv3,
        id.to_owned(),
        crate::time::format(at)?,
        RESOURCE_NONCE,
        event,
        refund,
    )?;
    let body = serde_json::to_vec(&envelope)?;
    let headers = sign_response(key, serial, at.unix_timestamp(), NOTIFICATION_NONCE, &body)?;
    Ok(SignedNotification { headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verifier;
    use crate::models::TradeState;
    use crate::notify::{Notification, NotificationParser};
    use crate::refund::RefundStatus;
    use std::sync::Arc;

    const ID: &str = "PUB_KEY_ID_0114232134912410000000000000";

    #[tokio::test]
    async fn a_signed_notification_passes_the_parser() {
        let key = PrivateKey::generate().unwrap();
        let apiv3: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
        let verifier = Verifier::with_public_key(ID, key.public_key().unwrap());
        let parser = NotificationParser::new(Arc::new(verifier), apiv3.clone());
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let tx = br#"{"appid":"wx1","mchid":"1","out_trade_no":"abcdef","trade_state":"SUCCESS"}"#;
        let signed = signed_notification(&key, ID, &apiv3, "n-1", tx, at).unwrap();
        let parsed = parser
            .parse_transaction(&signed.headers, &signed.body, at)
            .await
            .unwrap();
        assert_eq!(parsed.id, "n-1");
        assert_eq!(parsed.create_time, "2025-06-15T23:06:40+08:00");
        assert_eq!(parsed.transaction.trade_state, TradeState::Success);
        let mut tampered = signed.body.clone();
        tampered.push(b' ');
        assert!(
            parser
                .parse_transaction(&signed.headers, &tampered, at)
                .await
                .is_err()
        );
        let probe = signtest_probe(ID, at.unix_timestamp());
        assert!(matches!(
            parser.parse_transaction(&probe, &signed.body, at).await,
            Err(crate::notify::NotificationError::Verify(
                crate::verify::VerifyError::SignTestProbe
            ))
        ));
    }

    #[tokio::test]
    async fn a_signed_refund_notification_parses_as_a_refund_of_its_event() {
        let key = PrivateKey::generate().unwrap();
        let apiv3: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
        let verifier = Verifier::with_public_key(ID, key.public_key().unwrap());
        let parser = NotificationParser::new(Arc::new(verifier), apiv3.clone());
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let refund = br#"{"mchid":"1","transaction_id":"4200","out_trade_no":"abcdef","refund_id":"50","out_refund_no":"abcdefR01","refund_status":"ABNORMAL","amount":{"total":100,"refund":30}}"#;
        let signed =
            signed_refund_notification(&key, ID, &apiv3, "r-1", RefundEvent::Abnormal, refund, at)
                .unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(&signed.body).unwrap();
        assert_eq!(envelope["event_type"], "REFUND.ABNORMAL");
        assert_eq!(envelope["resource"]["associated_data"], "refund");
        assert_eq!(envelope["resource"]["original_type"], "refund");
        let Notification::Refund(parsed) = parser
            .parse(&signed.headers, &signed.body, at)
            .await
            .unwrap()
        else {
            panic!("not a refund");
        };
        assert_eq!(parsed.id, "r-1");
        assert_eq!(parsed.refund.refund_status, RefundStatus::Abnormal);
        assert_eq!(parsed.refund.amount.refund, 30);
        // A payment parser refuses it: the kinds are not confused.
        assert!(
            parser
                .parse_transaction(&signed.headers, &signed.body, at)
                .await
                .is_err()
        );
    }
}
