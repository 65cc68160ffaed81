//! Notifications of payments and refunds: verify first, then decrypt, then deserialize (never the
//! other way round). [`NotificationParser::parse`] takes any event and says which kind it is.

use crate::aead::{self, AeadError};
use crate::models::{NotificationEnvelope, Transaction};
use crate::refund::{RefundResource, RefundStatus};
use crate::secret::ApiV3Key;
use crate::verify::{Verifier, VerifyError};
use http::HeaderMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// `event_type` of a successful payment.
pub const TRANSACTION_SUCCESS: &str = "TRANSACTION.SUCCESS";
/// `event_type` of a refund that reached the payer.
pub const REFUND_SUCCESS: &str = "REFUND.SUCCESS";
/// `event_type` of a refund that could not reach the payer.
pub const REFUND_ABNORMAL: &str = "REFUND.ABNORMAL";
/// `event_type` of a refund that was closed.
pub const REFUND_CLOSED: &str = "REFUND.CLOSED";
/// `resource_type` of every encrypted notification.
pub const ENCRYPT_RESOURCE: &str = "encrypt-resource";
/// Associated data WeChat Pay uses for payment resources.
pub const TRANSACTION_AAD: &str = "transaction";
/// `resource.original_type` of a payment resource.
pub const TRANSACTION_ORIGINAL_TYPE: &str = "transaction";
/// `summary` of a payment notification.
pub const PAYMENT_SUMMARY: &str = "支付成功";
/// Associated data WeChat Pay uses for refund resources.
pub const REFUND_AAD: &str = "refund";
/// `resource.original_type` of a refund resource.
pub const REFUND_ORIGINAL_TYPE: &str = "refund";

/// The three refund events (§7.4): one per final refund status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEvent {
    /// `REFUND.SUCCESS`: the money reached the payer.
    Success,
    /// `REFUND.ABNORMAL`: the money could not reach the payer.
    Abnormal,
    /// `REFUND.CLOSED`: nothing was refunded.
    Closed,
}

impl RefundEvent {
    /// The event of a refund that ended in `status`; `None` while it is not final.
    pub fn of(status: &RefundStatus) -> Option<Self> {
        match status {
            RefundStatus::Success => Some(Self::Success),
            RefundStatus::Abnormal => Some(Self::Abnormal),
            RefundStatus::Closed => Some(Self::Closed),
            RefundStatus::Processing | RefundStatus::Other(_) => None,
        }
    }

    /// The `event_type`.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Success => REFUND_SUCCESS,
            Self::Abnormal => REFUND_ABNORMAL,
            Self::Closed => REFUND_CLOSED,
        }
    }

    /// The `summary` WeChat Pay writes (only "退款成功" is documented; the other two are the
    /// simulator's wording).
    pub fn summary(self) -> &'static str {
        match self {
            Self::Success => "退款成功",
            Self::Abnormal => "退款异常",
            Self::Closed => "退款关闭",
        }
    }
}

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

/// A verified, decrypted refund notification (`REFUND.SUCCESS`, `REFUND.ABNORMAL`,
/// `REFUND.CLOSED`). The outcome is the resource's `refund_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    /// Notification id (the same on retries).
    pub id: String,
    /// When WeChat Pay created it.
    pub create_time: String,
    /// The refund's final state.
    pub refund: RefundResource,
}

/// A verified, decrypted notification of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A payment succeeded.
    Transaction(TransactionNotification),
    /// A refund reached a final state.
    Refund(RefundNotification),
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
    /// An `event_type` this parser does not handle.
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
    /// The decrypted resource is not a refund.
    #[error("malformed refund: {0}")]
    Refund(String),
}

/// Parses the notifications of one merchant.
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

    /// Verifies the raw `body` against `headers` at `now`, then decrypts and deserializes it as
    /// whichever kind its `event_type` names.
    pub async fn parse(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Notification, NotificationError> {
        self.verifier.verify(headers, body, now).await?;
        decode(&self.key, body)
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

/// Decrypts an already verified notification body of either kind. Only for bodies whose signature
/// was checked.
pub fn decode(key: &ApiV3Key, verified_body: &[u8]) -> Result<Notification, NotificationError> {
    let envelope = read_envelope(verified_body)?;
    match envelope.event_type.as_str() {
        TRANSACTION_SUCCESS => decode_payment(key, envelope).map(Notification::Transaction),
        REFUND_SUCCESS | REFUND_ABNORMAL | REFUND_CLOSED => {
            let plaintext = aead::decrypt(key, &envelope.resource)?;
            let refund = serde_json::from_slice(&plaintext)
                .map_err(|e| NotificationError::Refund(e.to_string()))?;
            Ok(Notification::Refund(RefundNotification {
                id: envelope.id,
                create_time: envelope.create_time,
                refund,
            }))
        }
        _ => Err(NotificationError::EventType(envelope.event_type)),
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

/// A refund notification envelope of `event` around `plaintext` (a [`RefundResource`]'s JSON),
/// encrypted as WeChat Pay does: AEAD_AES_256_GCM under the APIv3 `key` with the 12-character
/// `nonce` and associated data `refund`, `original_type` `refund`. WeChat Pay's side, for the
/// simulator and `wxpay::testing`; `create_time` is written as given.
pub fn seal_refund(
    key: &ApiV3Key,
    id: String,
    create_time: String,
    nonce: &str,
    event: RefundEvent,
    plaintext: &[u8],
) -> Result<NotificationEnvelope, AeadError> {
    let mut resource = aead::encrypt(key, nonce, REFUND_AAD, plaintext)?;
    resource.original_type = Some(REFUND_ORIGINAL_TYPE.to_owned());
    Ok(NotificationEnvelope {
        id,
        create_time,
        event_type: event.event_type().to_owned(),
        resource_type: ENCRYPT_RESOURCE.to_owned(),
        resource,
        summary: event.summary().to_owned(),
    })
}

/// Decrypts an already verified notification body. Only for bodies whose signature was checked.
pub fn decode_transaction(
    key: &ApiV3Key,
    verified_body: &[u8],
) -> Result<TransactionNotification, NotificationError> {
    let envelope = read_envelope(verified_body)?;
    if envelope.event_type != TRANSACTION_SUCCESS {
        return Err(NotificationError::EventType(envelope.event_type));
    }
    decode_payment(key, envelope)
}

/// The envelope of a verified body, with an encrypted resource.
fn read_envelope(verified_body: &[u8]) -> Result<NotificationEnvelope, NotificationError> {
    let envelope: NotificationEnvelope = serde_json::from_slice(verified_body)
        .map_err(|e| NotificationError::Envelope(e.to_string()))?;
    if envelope.resource_type != ENCRYPT_RESOURCE {
        return Err(NotificationError::ResourceType(envelope.resource_type));
    }
    Ok(envelope)
}

fn decode_payment(
    key: &ApiV3Key,
    envelope: NotificationEnvelope,
) -> Result<TransactionNotification, NotificationError> {
    let plaintext = aead::decrypt(key, &envelope.resource)?;
    let transaction = serde_json::from_slice(&plaintext)
        .map_err(|e| NotificationError::Transaction(e.to_string()))?;
    Ok(TransactionNotification {
        id: envelope.id,
        create_time: envelope.create_time,
        transaction,
    })
}
