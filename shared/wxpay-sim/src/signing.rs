//! WeChat Pay's side of §2: which key signs a response or notification, and its headers.
//!
//! The key is chosen by the request's `Wechatpay-Serial`: the public key ID selects the public
//! key, the platform certificate's serial selects the certificate, anything else (or nothing) the
//! configured default mode. The `sign_with_other_key` fault flips the choice.

use crate::config::SigningMode;
use crate::sandbox::Sandbox;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use wxpay::keys::KeyError;
use wxpay::random::{self, OsRandom};
use wxpay::sign::{SCHEME, response_message, sign_base64};
use wxpay::verify::SIGNTEST_PREFIX;

/// The `Wechatpay-*` values of one signed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// Unix seconds.
    pub timestamp: String,
    /// Random nonce.
    pub nonce: String,
    /// Base64 signature (or a `WECHATPAY/SIGNTEST/` probe).
    pub signature: String,
    /// Public key ID or certificate serial.
    pub serial: String,
}

impl SignatureHeaders {
    /// Adds the five `Wechatpay-*` headers to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let pairs = [
            ("wechatpay-timestamp", self.timestamp.as_str()),
            ("wechatpay-nonce", self.nonce.as_str()),
            ("wechatpay-signature", self.signature.as_str()),
            ("wechatpay-serial", self.serial.as_str()),
            ("wechatpay-signature-type", SCHEME),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// Signs as WeChat Pay with the sandbox's two keys.
#[derive(Clone)]
pub struct ResponseSigner {
    sandbox: Arc<Sandbox>,
    default_mode: SigningMode,
}

impl std::fmt::Debug for ResponseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseSigner")
            .field("default_mode", &self.default_mode)
            .finish_non_exhaustive()
    }
}

impl ResponseSigner {
    /// A signer using `sandbox`'s keys, `default_mode` when the request names no key.
    pub fn new(sandbox: Arc<Sandbox>, default_mode: SigningMode) -> Self {
        Self {
            sandbox,
            default_mode,
        }
    }

    /// The mode for a request that sent `Wechatpay-Serial: request_serial`; `flip` is the
    /// `sign_with_other_key` fault.
    pub fn mode_for(&self, request_serial: Option<&str>, flip: bool) -> SigningMode {
        let requested = request_serial.map(str::trim);
        let mode = match requested {
            Some(serial) if serial == self.sandbox.public_key_id => SigningMode::PublicKey,
            Some(serial) if serial.eq_ignore_ascii_case(&self.sandbox.platform.serial) => {
                SigningMode::Certificate
            }
            _ => self.default_mode,
        };
        if flip { mode.other() } else { mode }
    }

    /// The default mode (notifications have no request to take a hint from).
    pub fn default_mode(&self) -> SigningMode {
        self.default_mode
    }

    /// Signs `body` at `timestamp` (Unix seconds) with `nonce` and the key of `mode`, and returns
    /// the `Wechatpay-*` headers, the serial being that of the key used. The caller makes the
    /// nonce: responses use 32 lower-case hex digits, notifications 32 alphanumerics.
    pub fn sign(
        &self,
        mode: SigningMode,
        timestamp: i64,
        nonce: String,
        body: &[u8],
    ) -> Result<SignatureHeaders, KeyError> {
        let timestamp = timestamp.to_string();
        let message = response_message(&timestamp, &nonce, body);
        let (key, serial) = match mode {
            SigningMode::PublicKey => {
                (&self.sandbox.public_key_signer, &self.sandbox.public_key_id)
            }
            SigningMode::Certificate => (&self.sandbox.platform.key, &self.sandbox.platform.serial),
        };
        Ok(SignatureHeaders {
            signature: sign_base64(key, &message)?,
            timestamp,
            nonce,
            serial: serial.clone(),
        })
    }

    /// A deliberately wrong signature starting with `WECHATPAY/SIGNTEST/` (§2.4), with otherwise
    /// plausible headers.
    pub fn probe(&self, mode: SigningMode, timestamp: i64, nonce: String) -> SignatureHeaders {
        let serial = match mode {
            SigningMode::PublicKey => &self.sandbox.public_key_id,
            SigningMode::Certificate => &self.sandbox.platform.serial,
        };
        SignatureHeaders {
            timestamp: timestamp.to_string(),
            nonce,
            signature: format!("{SIGNTEST_PREFIX}{}", random::alphanumeric(&OsRandom, 344)),
            serial: serial.clone(),
        }
    }
}
