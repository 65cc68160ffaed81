//! RSA through aws-lc-rs.

use super::KeyError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};

pub const NAME: &str = "aws-lc-rs";

pub struct PrivateKey {
    pair: KeyPair,
    rng: SystemRandom,
}

impl PrivateKey {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        KeyPair::from_pkcs8(der)
            .map(Self::wrap)
            .map_err(|_| KeyError::Rejected("PKCS#8 private"))
    }

    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        KeyPair::from_der(der)
            .map(Self::wrap)
            .map_err(|_| KeyError::Rejected("PKCS#1 private"))
    }

    pub fn generate_2048() -> Result<Self, KeyError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(Self::wrap)
            .map_err(|_| KeyError::Operation)
    }

    fn wrap(pair: KeyPair) -> Self {
        Self {
            pair,
            rng: SystemRandom::new(),
        }
    }

    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut out)
            .map_err(|_| KeyError::Operation)?;
        Ok(out)
    }

    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| KeyError::Operation)?;
        PublicKey::from_der(der.as_ref())
    }

    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
            self.pair.as_der().map_err(|_| KeyError::Operation)?;
        Ok(der.as_ref().to_vec())
    }
}

#[derive(Clone)]
pub struct PublicKey(std::sync::Arc<ParsedPublicKey>);

impl PublicKey {
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        // Normalise PKCS#1 and SPKI input alike to a parsed key once, not on every verification.
        let key =
            aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| KeyError::Rejected("public"))?;
        let spki = key.as_der().map_err(|_| KeyError::Rejected("public"))?;
        ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, spki.as_ref())
            .map(|parsed| Self(std::sync::Arc::new(parsed)))
            .map_err(|_| KeyError::Rejected("public"))
    }

    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }

    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.0.as_ref().as_ref().to_vec())
    }
}
