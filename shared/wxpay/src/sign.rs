//! Signing requests (merchant → WeChat Pay) and building the messages both sides sign.

use crate::keys::{KeyError, PrivateKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// The scheme of the `Authorization` header and the value of `Wechatpay-Signature-Type`.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The five-line message a merchant signs: method, canonical URL (path and query exactly as sent),
/// timestamp (Unix seconds, exactly as the `Authorization` header carries it), nonce and body, each
/// followed by `\n` (the body is empty for a GET).
pub fn request_message(
    method: &str,
    canonical_url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    lines(&[
        method.as_bytes(),
        canonical_url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ])
}

/// The three-line message WeChat Pay signs on responses and notifications: timestamp, nonce and the
/// raw body, each followed by `\n`.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    lines(&[timestamp.as_bytes(), nonce.as_bytes(), body])
}

/// `parts`, each followed by `\n`: the shape of every signed message.
fn lines(parts: &[&[u8]]) -> Vec<u8> {
    let mut message = Vec::with_capacity(parts.iter().map(|part| part.len() + 1).sum());
    for part in parts {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    message
}

/// Signs `message` with `key` and returns standard Base64.
pub fn sign_base64(key: &PrivateKey, message: &[u8]) -> Result<String, KeyError> {
    key.sign_sha256(message).map(|sig| STANDARD.encode(sig))
}

/// A merchant's signing identity: mchid, the serial of its API certificate, and its private key.
pub struct MerchantSigner {
    mchid: String,
    serial_no: String,
    key: PrivateKey,
}

impl MerchantSigner {
    /// A signer for `mchid` whose API certificate has serial `serial_no`.
    pub fn new(mchid: impl Into<String>, serial_no: impl Into<String>, key: PrivateKey) -> Self {
        Self {
            mchid: mchid.into(),
            serial_no: serial_no.into(),
            key,
        }
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The `Authorization` header value for one request.
    pub fn authorization(
        &self,
        method: &str,
        canonical_url: &str,
        body: &[u8],
        timestamp: i64,
        nonce: &str,
    ) -> Result<String, KeyError> {
        let message = request_message(method, canonical_url, &timestamp.to_string(), nonce, body);
        let signature = sign_base64(&self.key, &message)?;
        Ok(format!(
            "{SCHEME} mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.mchid, self.serial_no
        ))
    }
}

impl fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantSigner")
            .field("mchid", &self.mchid)
            .field("serial_no", &self.serial_no)
            .field("key", &self.key)
            .finish()
    }
}

/// The five fields of a parsed `Authorization` header (the WeChat Pay side of §1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Merchant id.
    pub mchid: String,
    /// Request nonce.
    pub nonce_str: String,
    /// Unix seconds, as sent.
    pub timestamp: String,
    /// Merchant certificate serial.
    pub serial_no: String,
    /// Base64 signature.
    pub signature: String,
}

/// Why an `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// The scheme is not `WECHATPAY2-SHA256-RSA2048`.
    #[error("authorization scheme is not {SCHEME}")]
    Scheme,
    /// A `key="value"` pair is malformed.
    #[error("malformed authorization parameter")]
    Malformed,
    /// One of the five fields is missing or empty.
    #[error("authorization field {0} is missing")]
    Missing(&'static str),
}

impl Authorization {
    /// Parses `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`
    /// (field order irrelevant).
    pub fn parse(header: &str) -> Result<Self, AuthorizationError> {
        let params = header
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(AuthorizationError::Scheme)?;
        let mut fields: [Option<String>; 5] = Default::default();
        const NAMES: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];
        for pair in params.split(',') {
            let (name, value) = pair
                .trim()
                .split_once('=')
                .ok_or(AuthorizationError::Malformed)?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or(AuthorizationError::Malformed)?;
            if let Some(index) = NAMES.iter().position(|n| *n == name) {
                fields[index] = Some(value.to_owned());
            }
        }
        let [mchid, nonce_str, timestamp, serial_no, signature] = fields;
        let take = |field: Option<String>, name| {
            field
                .filter(|v| !v.is_empty())
                .ok_or(AuthorizationError::Missing(name))
        };
        Ok(Self {
            mchid: take(mchid, "mchid")?,
            nonce_str: take(nonce_str, "nonce_str")?,
            timestamp: take(timestamp, "timestamp")?,
            serial_no: take(serial_no, "serial_no")?,
            signature: take(signature, "signature")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_message_ends_with_an_empty_body_line() {
        let message = request_message("GET", "/v3/certificates", "1554208460", "N", b"");
        assert_eq!(message, b"GET\n/v3/certificates\n1554208460\nN\n\n");
    }

    #[test]
    fn authorization_round_trips_through_the_parser() {
        let header = format!(
            "{SCHEME} signature=\"c2ln\",mchid=\"1900007291\",nonce_str=\"abc\",timestamp=\"1554208460\",serial_no=\"408B\""
        );
        let parsed = Authorization::parse(&header).unwrap();
        assert_eq!(parsed.mchid, "1900007291");
        assert_eq!(parsed.signature, "c2ln");
    }

    #[test]
    fn authorization_with_other_scheme_or_missing_field_is_refused() {
        assert_eq!(
            Authorization::parse("Bearer x").unwrap_err(),
            AuthorizationError::Scheme
        );
        let header =
            format!("{SCHEME} mchid=\"1\",nonce_str=\"n\",timestamp=\"1\",signature=\"s\"");
        assert_eq!(
            Authorization::parse(&header).unwrap_err(),
            AuthorizationError::Missing("serial_no")
        );
    }
}
