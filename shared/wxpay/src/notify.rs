//! Payment notifications: verify first, then decrypt, then deserialize (never the other way round).

use crate::aead::{self, AeadError};
use crate::models::{NotificationEnvelope, Transaction};
use crate::secret::ApiV3Key;
use crate::verify::{Verifier, VerifyError};
use http::HeaderMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// `event_type` of a successful payment.
pub const TRANSACTION_SUCCESS: &str = "TRANSACTION.SUCCESS";
/// `resource_type` of every encrypted notification.
pub const ENCRYPT_RESOURCE: &str = "encrypt-resource";
/// Associated data WeChat Pay uses for payment resources.
pub const TRANSACTION_AAD: &str = "transaction";
/// `resource.original_type` of a payment resource.
pub const TRANSACTION_ORIGINAL_TYPE: &str = "transaction";
/// `summary` of a payment notification.
pub const PAYMENT_SUMMARY: &str = "支付成功";

/// A verified, decrypted `TRANSACTION.SUCCESS` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionNotification {
    /// Notification id (the same on retries).
    pub id: String,
    /// When WeChat Pay created it.
    pub create_time: String,
    /// The transaction, as the query API would return it.
    pub transaction: Transaction,
}

/// Which check a notification failed. Carries no key and no plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// The signature check failed: not from WeChat Pay, stale, or a SIGNTEST probe.
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// The verified body is not a notification envelope.
    #[error("malformed envelope: {0}")]
    Envelope(String),
    /// A notification of another kind (e.g. a refund) reached the payment endpoint.
    #[error("unexpected event_type {0:?}")]
    EventType(String),
    /// `resource_type` is not `encrypt-resource`.
    #[error("unexpected resource_type {0:?}")]
    ResourceType(String),
    /// The resource did not decrypt.
    #[error("resource: {0}")]
    Decrypt(#[from] AeadError),
    /// The decrypted resource is not a transaction.
    #[error("malformed transaction: {0}")]
    Transaction(String),
}

/// Parses payment notifications for one merchant.
#[derive(Debug, Clone)]
pub struct NotificationParser {
    verifier: Arc<Verifier>,
    key: ApiV3Key,
}

impl NotificationParser {
    /// A parser that verifies with `verifier` and decrypts with the APIv3 `key`.
    pub fn new(verifier: Arc<Verifier>, key: ApiV3Key) -> Self {
        Self { verifier, key }
    }

    /// Verifies the raw `body` against `headers` at `now`, then decrypts and deserializes it.
    pub async fn parse_transaction(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<TransactionNotification, NotificationError> {
        self.verifier.verify(headers, body, now).await?;
        decode_transaction(&self.key, body)
    }
}

/// A `TRANSACTION.SUCCESS` envelope around `plaintext` (a transaction's JSON), encrypted as
/// WeChat Pay does: AEAD_AES_256_GCM under the APIv3 `key` with the 12-character `nonce` and
/// associated data `transaction`. WeChat Pay's side, for the simulator and
/// `wxpay::testing`; `create_time` is written as given.
pub fn seal_transaction(
    key: &ApiV3Key,
    id: String,
    create_time: String,
    nonce: &str,
    plaintext: &[u8],
) -> Result<NotificationEnvelope, AeadError> {
    let mut resource = aead::encrypt(key, nonce, TRANSACTION_AAD, plaintext)?;
    resource.original_type = Some(TRANSACTION_ORIGINAL_TYPE.to_owned());
    Ok(NotificationEnvelope {
        id,
        create_time,
        event_type: TRANSACTION_SUCCESS.to_owned(),
        resource_type: ENCRYPT_RESOURCE.to_owned(),
        resource,
        summary: PAYMENT_SUMMARY.to_owned(),
    })
}

/// Decrypts an already verified notification body. Only for bodies whose signature was checked.
pub fn decode_transaction(
    key: &ApiV3Key,
    verified_body: &[u8],
) -> Result<TransactionNotification, NotificationError> {
    let envelope: NotificationEnvelope = serde_json::from_slice(verified_body)
        .map_err(|e| NotificationError::Envelope(e.to_string()))?;
    if envelope.event_type != TRANSACTION_SUCCESS {
        return Err(NotificationError::EventType(envelope.event_type));
    }
    if envelope.resource_type != ENCRYPT_RESOURCE {
        return Err(NotificationError::ResourceType(envelope.resource_type));
    }
    let plaintext = aead::decrypt(key, &envelope.resource)?;
    let transaction = serde_json::from_slice(&plaintext)
        .map_err(|e| NotificationError::Transaction(e.to_string()))?;
    Ok(TransactionNotification {
        id: envelope.id,
        create_time: envelope.create_time,
        transaction,
    })
}
