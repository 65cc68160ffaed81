//! The bodies of notifications: `TRANSACTION.SUCCESS` (§6.2), an envelope around the transaction
//! encrypted with AEAD_AES_256_GCM under the APIv3 key with associated data `transaction`; and
//! `REFUND.*` (§7.4), the same around the refund resource with associated data `refund`.

use time::OffsetDateTime;
use wxpay::ApiV3Key;
use wxpay::aead::AeadError;
use wxpay::models::{NotificationEnvelope, Transaction};
use wxpay::notify::{RefundEvent, seal_refund, seal_transaction};
use wxpay::random::{self, OsRandom};
use wxpay::refund::RefundResource;
use wxpay::time::TimeOutOfRange;

/// Why a notification could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The transaction could not be serialized.
    #[error("transaction: {0}")]
    Json(#[from] serde_json::Error),
    /// The creation time cannot be written as WeChat Pay does.
    #[error("{0}")]
    Time(#[from] TimeOutOfRange),
    /// The resource could not be encrypted.
    #[error("encrypting: {0}")]
    Aead(#[from] AeadError),
}

/// Builds the envelope of `transaction`, created at `now`, with a fresh UUID and a fresh
/// 12-character nonce.
pub fn transaction_success(
    key: &ApiV3Key,
    transaction: &Transaction,
    now: OffsetDateTime,
) -> Result<NotificationEnvelope, EnvelopeError> {
    let plaintext = serde_json::to_vec(transaction)?;
    Ok(seal_transaction(
        key,
        uuid::Uuid::new_v4().to_string(),
        wxpay::time::format(now)?,
        &random::alphanumeric(&OsRandom, 12),
        &plaintext,
    )?)
}

/// Builds the envelope of the final refund `resource` (`event` follows its `refund_status`),
/// created at `now`, with a fresh UUID and a fresh 12-character nonce.
pub fn refund_final(
    key: &ApiV3Key,
    event: RefundEvent,
    resource: &RefundResource,
    now: OffsetDateTime,
) -> Result<NotificationEnvelope, EnvelopeError> {
    let plaintext = serde_json::to_vec(resource)?;
    Ok(seal_refund(
        key,
        uuid::Uuid::new_v4().to_string(),
        wxpay::time::format(now)?,
        &random::alphanumeric(&OsRandom, 12),
        event,
        &plaintext,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxpay::aead;
    use wxpay::models::TradeState;

    #[test]
    fn the_resource_decrypts_to_the_transaction_with_the_apiv3_key() {
        let key: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
        let tx = Transaction {
            appid: "wx1".into(),
            mchid: "1900000001".into(),
            out_trade_no: "T00001".into(),
            transaction_id: Some("4200000000202401010000000001".into()),
            trade_type: Some("NATIVE".into()),
            trade_state: TradeState::Success,
            trade_state_desc: "支付成功".into(),
            bank_type: Some("OTHERS".into()),
            attach: Some(String::new()),
            success_time: Some(time::macros::datetime!(2024-01-01 12:00:05 +8)),
            payer: None,
            amount: None,
            scene_info: None,
            promotion_detail: None,
            extra: Default::default(),
        };
        let now = OffsetDateTime::from_unix_timestamp(1_704_081_605).unwrap();
        let envelope = transaction_success(&key, &tx, now).unwrap();
        assert_eq!(envelope.resource.nonce.len(), 12);
        assert_eq!(envelope.resource.associated_data, "transaction");
        assert_eq!(envelope.create_time, "2024-01-01T12:00:05+08:00");
        uuid::Uuid::parse_str(&envelope.id).unwrap();
        let plain = aead::decrypt(&key, &envelope.resource).unwrap();
        assert_eq!(serde_json::from_slice::<Transaction>(&plain).unwrap(), tx);
        let other: ApiV3Key = "0123456789ABCDEFabcdef012345678X".parse().unwrap();
        assert!(aead::decrypt(&other, &envelope.resource).is_err());
    }
}
