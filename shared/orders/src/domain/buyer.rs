//! Buyers: the storefront's random buyer token is never stored, only its SHA-256 (ARCHITECTURE §3).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Shortest accepted buyer token: 16 characters (a token with ≥ 128 bits in any common encoding is longer).
pub const MIN_TOKEN_LEN: usize = 16;
/// Longest accepted buyer token.
pub const MAX_TOKEN_LEN: usize = 256;

/// Why a buyer token or hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBuyer {
    /// The token is shorter than [`MIN_TOKEN_LEN`] or longer than [`MAX_TOKEN_LEN`].
    #[error("buyer token must be {MIN_TOKEN_LEN}–{MAX_TOKEN_LEN} characters")]
    TokenLength,
    /// The token has characters other than visible ASCII.
    #[error("buyer token must be visible ASCII")]
    TokenCharset,
    /// A stored hash is not 64 lower-case hex digits.
    #[error("buyer hash must be 64 lower-case hex digits")]
    Hash,
}

/// Lower-case hex SHA-256 of a buyer token: what is stored with an order and indexed by `byBuyer`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BuyerHash(String);

impl BuyerHash {
    /// Hashes the token sent in `X-Buyer-Token`, after checking its length and characters.
    pub fn from_token(token: &str) -> Result<Self, InvalidBuyer> {
        if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
            return Err(InvalidBuyer::TokenLength);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidBuyer::TokenCharset);
        }
        let digest = Sha256::digest(token.as_bytes());
        Ok(Self(hex(&digest)))
    }

    /// Accepts an already computed hash (as read back from storage).
    pub fn from_hex(hash: &str) -> Result<Self, InvalidBuyer> {
        let ok = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(hash.to_owned()))
        } else {
            Err(InvalidBuyer::Hash)
        }
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

impl TryFrom<String> for BuyerHash {
    type Error = InvalidBuyer;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_hex(&value)
    }
}

impl From<BuyerHash> for String {
    fn from(value: BuyerHash) -> Self {
        value.0
    }
}

impl std::fmt::Display for BuyerHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_through_storage() {
        let hash = BuyerHash::from_token("abcdefghijklmnop").unwrap();
        assert_eq!(hash.as_str().len(), 64);
        assert_eq!(BuyerHash::from_hex(hash.as_str()).unwrap(), hash);
    }

    #[test]
    fn known_vector() {
        // sha256("0123456789abcdef")
        let hash = BuyerHash::from_token("0123456789abcdef").unwrap();
        assert_eq!(
            hash.as_str(),
            "9f9f5111f7b27a781f1f1ddde5ebc2dd2b796bfc7365c9c28b548e564176929f"
        );
    }

    #[test]
    fn short_or_odd_tokens_are_refused() {
        assert_eq!(
            BuyerHash::from_token("short"),
            Err(InvalidBuyer::TokenLength)
        );
        assert_eq!(
            BuyerHash::from_token("sixteen chars ok"),
            Err(InvalidBuyer::TokenCharset)
        );
        assert_eq!(BuyerHash::from_hex("ABC"), Err(InvalidBuyer::Hash));
    }
}
