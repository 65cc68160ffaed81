//! The APIv3 key: a 32-byte secret that must never reach a log, an error or a response.

use std::fmt;
use zeroize::Zeroizing;

/// Length of an APIv3 key in bytes.
pub const APIV3_KEY_LEN: usize = 32;

/// Why a string is not an APIv3 key. Never carries the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("APIv3 key must be exactly {APIV3_KEY_LEN} bytes, got {0}")]
pub struct ApiV3KeyLengthError(pub usize);

/// The merchant's APIv3 key, used as-is (32 ASCII bytes) as the AES-256-GCM key for notifications
/// and certificate downloads. `Debug` and `Display` are redacted; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct ApiV3Key(Zeroizing<[u8; APIV3_KEY_LEN]>);

impl ApiV3Key {
    /// Takes the key as configured in the merchant platform; exactly 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, ApiV3KeyLengthError> {
        let bytes: [u8; APIV3_KEY_LEN] =
            key.try_into().map_err(|_| ApiV3KeyLengthError(key.len()))?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// The raw key bytes, for the AEAD only.
    pub(crate) fn as_bytes(&self) -> &[u8; APIV3_KEY_LEN] {
        &self.0
    }
}

impl std::str::FromStr for ApiV3Key {
    type Err = ApiV3KeyLengthError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::new(key.as_bytes())
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

impl fmt::Display for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_of_wrong_length_is_refused_without_echoing_it() {
        let err = "short-secret".parse::<ApiV3Key>().unwrap_err();
        assert_eq!(err, ApiV3KeyLengthError(12));
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let key: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
        assert!(!format!("{key:?}{key}").contains("0123"));
    }
}
