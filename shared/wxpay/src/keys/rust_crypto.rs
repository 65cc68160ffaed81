//! RSA through the pure-Rust `rsa` and `sha2` crates.

use super::KeyError;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use sha2::Sha256;

pub const NAME: &str = "rsa";

pub struct PrivateKey(SigningKey<Sha256>);

impl PrivateKey {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        rsa::PrivateKey::from_pkcs8_der(der)
            .map(|key| Self(SigningKey::new(key)))
            .map_err(|_| KeyError::Rejected("PKCS#8 private"))
    }

    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        rsa::PrivateKey::from_pkcs1_der(der)
            .map(|key| Self(SigningKey::new(key)))
            .map_err(|_| KeyError::Rejected("PKCS#1 private"))
    }

    pub fn generate_2048() -> Result<Self, KeyError> {
        rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .map(|key| Self(SigningKey::new(key)))
            .map_err(|_| KeyError::Operation)
    }

    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .try_sign(message)
            .map(|signature| signature.to_vec())
            .map_err(|_| KeyError::Operation)
    }

    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        Ok(PublicKey(self.0.verifying_key()))
    }

    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.0
            .as_ref()
            .to_pkcs8_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|_| KeyError::Operation)
    }
}

#[derive(Clone)]
pub struct PublicKey(VerifyingKey<Sha256>);

impl PublicKey {
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        rsa::PublicKey::from_public_key_der(der)
            .or_else(|_| rsa::PublicKey::from_pkcs1_der(der))
            .map(|key| Self(VerifyingKey::new(key)))
            .map_err(|_| KeyError::Rejected("public"))
    }

    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::try_from(signature) else {
            return false;
        };
        self.0.verify(message, &signature).is_ok()
    }

    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        self.0
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|_| KeyError::Operation)
    }
}
