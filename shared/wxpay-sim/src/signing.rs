//! WeChat Pay's side of §2: which key signs a response or notification, and its headers.
//!
//! The key is chosen by the request's `Wechatpay-Serial`: the public key ID selects the public
//! key, the platform certificate's serial selects the certificate, anything else (or nothing) the
//! configured default mode. The `sign_with_other_key` fault flips the choice.

use crate::config::SigningMode;
use crate::sandbox::Sandbox;
use std::sync::Arc;
use wxpay::keys::KeyError;
use wxpay::random::{self, OsRandom};
use wxpay::verify::{SIGNTEST_PREFIX, SignatureHeaders};

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
        let (key, serial) = match mode {
            SigningMode::PublicKey => {
                (&self.sandbox.public_key_signer, &self.sandbox.public_key_id)
            }
            SigningMode::Certificate => (&self.sandbox.platform.key, &self.sandbox.platform.serial),
        };
        SignatureHeaders::sign(key, serial, timestamp, &nonce, body)
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
