//! RSA-2048 keys and SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), the only signature scheme of
//! APIv3.
//!
//! The arithmetic sits behind one small internal interface with two implementations chosen at
//! build time: `aws-lc` (default; aws-lc-rs, assembly-optimised, already linked by rustls) and
//! `rust-crypto` (the pure-Rust, constant-time `rsa` + `sha2` crates). Both pass the same tests and
//! known-answer vectors. When both features are on, `aws-lc` is used.

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(feature = "aws-lc")]
use aws_lc as backend;

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
mod rust_crypto;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
use rust_crypto as backend;

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
compile_error!("wxpay needs an RSA backend: enable the `aws-lc` or the `rust-crypto` feature");

use std::fmt;
use zeroize::Zeroizing;

/// Name of the RSA implementation compiled in (`aws-lc-rs` or `rsa`), for logs and benchmarks.
pub const BACKEND: &str = backend::NAME;

/// Why a key could not be loaded or used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not PEM, or not the kind of PEM expected here.
    #[error("not a PEM {expected}: {reason}")]
    Pem {
        /// What was expected.
        expected: &'static str,
        /// What went wrong (label, encoding); never the content.
        reason: String,
    },
    /// The DER inside the PEM is not a usable RSA key.
    #[error("invalid RSA {0} key")]
    Rejected(&'static str),
    /// The backend failed to sign or to generate a key.
    #[error("RSA operation failed")]
    Operation,
}

/// A merchant (or, in the simulator, platform) RSA private key. Its `Debug` output is redacted.
pub struct PrivateKey(backend::PrivateKey);

impl PrivateKey {
    /// Loads a PEM key: PKCS#8 (`BEGIN PRIVATE KEY`, as in `apiclient_key.pem`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem.trim(), "private key")?;
        let der = Zeroizing::new(der);
        match label.as_str() {
            "PRIVATE KEY" => backend::PrivateKey::from_pkcs8_der(&der).map(Self),
            "RSA PRIVATE KEY" => backend::PrivateKey::from_pkcs1_der(&der).map(Self),
            other => Err(KeyError::Pem {
                expected: "private key",
                reason: format!("unexpected label {other:?}"),
            }),
        }
    }

    /// Generates a fresh RSA-2048 key (simulator sandboxes and tests).
    pub fn generate() -> Result<Self, KeyError> {
        backend::PrivateKey::generate_2048().map(Self)
    }

    /// SHA256withRSA signature of `message` (256 bytes for RSA-2048).
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.sign_sha256(message)
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        self.0.public_key().map(PublicKey)
    }

    /// The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), zeroized when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = Zeroizing::new(self.0.to_pkcs8_der()?);
        encode_pem("PRIVATE KEY", &der).map(Zeroizing::new)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// An RSA public key (WeChat Pay public key, or the key of a platform certificate).
#[derive(Clone)]
pub struct PublicKey(backend::PublicKey);

impl PublicKey {
    /// Loads a PEM public key: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, as in `pub_key.pem`) or
    /// PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem.trim(), "public key")?;
        match label.as_str() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(&der),
            other => Err(KeyError::Pem {
                expected: "public key",
                reason: format!("unexpected label {other:?}"),
            }),
        }
    }

    /// Loads a DER public key: SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        backend::PublicKey::from_der(der).map(Self)
    }

    /// Whether `signature` is a valid SHA256withRSA signature of `message` by this key.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sha256(message, signature)
    }

    /// The key as SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        self.0.to_spki_der()
    }

    /// The key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub fn to_spki_pem(&self) -> Result<String, KeyError> {
        encode_pem("PUBLIC KEY", &self.to_spki_der()?)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(RSA)")
    }
}

fn decode_pem(pem: &str, expected: &'static str) -> Result<(String, Vec<u8>), KeyError> {
    pem_rfc7468::decode_vec(pem.as_bytes())
        .map(|(label, der)| (label.to_owned(), der))
        .map_err(|e| KeyError::Pem {
            expected,
            reason: e.to_string(),
        })
}

fn encode_pem(label: &'static str, der: &[u8]) -> Result<String, KeyError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).map_err(|e| KeyError::Pem {
        expected: label,
        reason: e.to_string(),
    })
}
