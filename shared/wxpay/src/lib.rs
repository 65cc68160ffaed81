//! WeChat Pay APIv3 for Native (QR-code) payments.
//!
//! This crate speaks the protocol only and knows nothing of orders, AWS or HTTP servers:
//! request signing ([`sign`]), verification of responses and notifications ([`verify`]) in
//! public-key mode, platform-certificate mode or both, AEAD_AES_256_GCM resources ([`aead`]),
//! notifications ([`notify`]), typed models ([`models`], [`refund`]) with their protocol checks
//! ([`validate`]) and WeChat Pay's time format ([`time`]), trade bills and their parser ([`bill`]),
//! and a signed, verifying HTTP [`Client`].
//! Time and randomness are injectable. The feature `testing` adds `testing`: signing as WeChat Pay
//! (signed answers, signed and encrypted notifications) for tests of code that verifies them.
pub mod aead;
pub mod bill;
pub mod certificate;
pub mod client;
pub mod clock;
pub mod keys;
pub mod models;
pub mod notify;
pub mod random;
pub mod refund;
pub mod secret;
pub mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod validate;
pub mod verify;

pub use client::{Client, ClientConfig, ClientError, Verification};
pub use clock::{Clock, FixedClock, SystemClock};
pub use keys::{PrivateKey, PublicKey};
pub use notify::{
    Notification, NotificationError, NotificationParser, RefundNotification,
    TransactionNotification,
};
pub use secret::ApiV3Key;
pub use verify::{Verifier, VerifyError};
