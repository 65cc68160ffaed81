//! AEAD_AES_256_GCM, the encryption of notification resources and downloaded certificates:
//! the APIv3 key as-is, a 12-byte nonce, associated data, and a 16-byte tag after the ciphertext.

use crate::models::EncryptedResource;
use crate::secret::ApiV3Key;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The only algorithm name APIv3 uses.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub const TAG_LEN: usize = 16;

/// Why a resource could not be decrypted. Never carries key or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    /// `algorithm` is not `AEAD_AES_256_GCM`.
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
    /// The nonce is not 12 bytes.
    #[error("nonce must be {NONCE_LEN} bytes, got {0}")]
    NonceLength(usize),
    /// `ciphertext` is not standard Base64.
    #[error("ciphertext is not base64")]
    Base64,
    /// The ciphertext is shorter than the tag.
    #[error("ciphertext shorter than the {TAG_LEN}-byte tag")]
    TooShort,
    /// Authentication failed: wrong APIv3 key, wrong associated data, or tampered data.
    #[error("authentication failed (wrong APIv3 key, associated data, or tampered ciphertext)")]
    Authentication,
}

/// Decrypts `resource` with `key`, checking the algorithm name and the nonce length first.
pub fn decrypt(key: &ApiV3Key, resource: &EncryptedResource) -> Result<Vec<u8>, AeadError> {
    if resource.algorithm != ALGORITHM {
        return Err(AeadError::Algorithm(resource.algorithm.clone()));
    }
    let nonce = resource.nonce.as_bytes();
    if nonce.len() != NONCE_LEN {
        return Err(AeadError::NonceLength(nonce.len()));
    }
    let sealed = STANDARD
        .decode(resource.ciphertext.as_bytes())
        .map_err(|_| AeadError::Base64)?;
    if sealed.len() < TAG_LEN {
        return Err(AeadError::TooShort);
    }
    let nonce = Nonce::try_from(nonce).map_err(|_| AeadError::NonceLength(nonce.len()))?;
    cipher(key)
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed,
                aad: resource.associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Authentication)
}

/// Encrypts `plaintext` into a resource (the WeChat Pay side: simulator and tests). `nonce` must be
/// 12 bytes and unique per key.
pub fn encrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<EncryptedResource, AeadError> {
    if nonce.len() != NONCE_LEN {
        return Err(AeadError::NonceLength(nonce.len()));
    }
    let nonce_bytes =
        Nonce::try_from(nonce.as_bytes()).map_err(|_| AeadError::NonceLength(nonce.len()))?;
    let sealed = cipher(key)
        .encrypt(
            &nonce_bytes,
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Authentication)?;
    Ok(EncryptedResource {
        algorithm: ALGORITHM.to_owned(),
        ciphertext: STANDARD.encode(sealed),
        associated_data: associated_data.to_owned(),
        nonce: nonce.to_owned(),
        original_type: None,
    })
}

fn cipher(key: &ApiV3Key) -> Aes256Gcm {
    Aes256Gcm::new(key.as_bytes().into())
}
