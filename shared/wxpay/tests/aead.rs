//! AEAD_AES_256_GCM strictness: algorithm, key length, nonce length, associated data, tag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wxpay::ApiV3Key;
use wxpay::aead::{self, AeadError};
use wxpay::secret::ApiV3KeyLengthError;

fn key() -> ApiV3Key {
    "0123456789ABCDEFabcdef0123456789".parse().unwrap()
}

fn sealed() -> wxpay::models::EncryptedResource {
    aead::encrypt(&key(), "abcdefghijkl", "transaction", br#"{"ok":true}"#).unwrap()
}

#[test]
fn round_trip() {
    assert_eq!(aead::decrypt(&key(), &sealed()).unwrap(), br#"{"ok":true}"#);
}

#[test]
fn wrong_associated_data_fails_authentication() {
    let mut resource = sealed();
    resource.associated_data = "certificate".into();
    assert_eq!(
        aead::decrypt(&key(), &resource),
        Err(AeadError::Authentication)
    );
}

#[test]
fn corrupted_tag_fails_authentication() {
    let mut resource = sealed();
    let mut bytes = STANDARD.decode(&resource.ciphertext).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    resource.ciphertext = STANDARD.encode(bytes);
    assert_eq!(
        aead::decrypt(&key(), &resource),
        Err(AeadError::Authentication)
    );
}

#[test]
fn another_apiv3_key_fails_authentication() {
    let other: ApiV3Key = "0123456789ABCDEFabcdef012345678X".parse().unwrap();
    assert_eq!(
        aead::decrypt(&other, &sealed()),
        Err(AeadError::Authentication)
    );
}

#[test]
fn key_must_be_exactly_32_bytes() {
    assert_eq!(
        ApiV3Key::new(&[0; 16]).unwrap_err(),
        ApiV3KeyLengthError(16)
    );
    assert_eq!(
        ApiV3Key::new(&[0; 33]).unwrap_err(),
        ApiV3KeyLengthError(33)
    );
}

#[test]
fn other_algorithms_are_refused() {
    let mut resource = sealed();
    resource.algorithm = "AEAD_AES_128_GCM".into();
    assert_eq!(
        aead::decrypt(&key(), &resource),
        Err(AeadError::Algorithm("AEAD_AES_128_GCM".into()))
    );
}

#[test]
fn nonce_must_be_12_bytes() {
    let mut resource = sealed();
    resource.nonce = "short".into();
    assert_eq!(
        aead::decrypt(&key(), &resource),
        Err(AeadError::NonceLength(5))
    );
    assert_eq!(
        aead::encrypt(&key(), "thirteen-char", "", b"x").unwrap_err(),
        AeadError::NonceLength(13)
    );
}

#[test]
fn ciphertext_must_be_base64_and_hold_a_tag() {
    let mut resource = sealed();
    resource.ciphertext = "%%%".into();
    assert_eq!(aead::decrypt(&key(), &resource), Err(AeadError::Base64));
    resource.ciphertext = STANDARD.encode([0u8; 15]);
    assert_eq!(aead::decrypt(&key(), &resource), Err(AeadError::TooShort));
}
