//! Platform certificates (certificate mode): the X.509 certificates WeChat Pay signs with, as
//! downloaded, encrypted with the APIv3 key, from `GET /v3/certificates`.
//!
//! Trust comes from the encryption: only WeChat Pay and the merchant know the APIv3 key, so a
//! certificate that decrypts and authenticates under it was listed by WeChat Pay (this is how the
//! official SDKs trust them too). The certificate's own serial must match the listed one.

use crate::aead::{self, AeadError};
use crate::keys::{KeyError, PublicKey};
use crate::models::CertificateEntry;
use crate::secret::ApiV3Key;
use der::{DecodePem, Encode};
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Associated data of an encrypted certificate.
pub const CERTIFICATE_AAD: &str = "certificate";

/// A platform certificate's verification key and validity.
#[derive(Debug, Clone)]
pub struct PlatformCertificate {
    /// Serial, upper-case hex without separators (as in `Wechatpay-Serial`).
    pub serial_no: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The certificate's RSA key.
    pub public_key: PublicKey,
}

/// Why a listed certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// It did not decrypt under the APIv3 key.
    #[error("certificate {serial}: {source}")]
    Decrypt {
        /// Listed serial.
        serial: String,
        /// AEAD failure.
        source: AeadError,
    },
    /// It is not a PEM X.509 certificate.
    #[error("certificate {serial}: not a PEM X.509 certificate")]
    Malformed {
        /// Listed serial.
        serial: String,
    },
    /// The certificate's serial differs from the listed one.
    #[error("certificate listed as {listed} has serial {actual}")]
    SerialMismatch {
        /// Listed serial.
        listed: String,
        /// Serial inside the certificate.
        actual: String,
    },
    /// Its key is not a usable RSA key.
    #[error("certificate {serial}: {source}")]
    Key {
        /// Listed serial.
        serial: String,
        /// Key failure.
        source: KeyError,
    },
}

/// Upper-case hex of a serial, the form compared with `Wechatpay-Serial`.
pub fn normalize_serial(serial: &str) -> String {
    serial.trim().to_ascii_uppercase()
}

impl PlatformCertificate {
    /// Parses a PEM certificate.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        let malformed = || CertificateError::Malformed {
            serial: String::new(),
        };
        let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|_| malformed())?;
        let tbs = cert.tbs_certificate();
        let serial_bytes = tbs.serial_number().as_bytes();
        // DER integers may carry a leading 0x00 to stay positive; WeChat's serials do not show it.
        let serial_bytes = match serial_bytes {
            [0, rest @ ..] if !rest.is_empty() => rest,
            other => other,
        };
        let serial_no: String = serial_bytes.iter().map(|b| format!("{b:02X}")).collect();
        let to_time = |t: x509_cert::time::Time| {
            let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
            OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|_| malformed())?;
        let public_key = PublicKey::from_der(&spki).map_err(|source| CertificateError::Key {
            serial: serial_no.clone(),
            source,
        })?;
        Ok(Self {
            not_before: to_time(tbs.validity().not_before),
            not_after: to_time(tbs.validity().not_after),
            serial_no,
            public_key,
        })
    }

    /// Decrypts and parses one entry of a `GET /v3/certificates` answer.
    pub fn from_entry(key: &ApiV3Key, entry: &CertificateEntry) -> Result<Self, CertificateError> {
        let listed = normalize_serial(&entry.serial_no);
        let pem = aead::decrypt(key, &entry.encrypt_certificate).map_err(|source| {
            CertificateError::Decrypt {
                serial: listed.clone(),
                source,
            }
        })?;
        let pem = String::from_utf8(pem).map_err(|_| CertificateError::Malformed {
            serial: listed.clone(),
        })?;
        let cert = Self::from_pem(&pem).map_err(|e| match e {
            CertificateError::Malformed { .. } => CertificateError::Malformed {
                serial: listed.clone(),
            },
            other => other,
        })?;
        if cert.serial_no != listed {
            return Err(CertificateError::SerialMismatch {
                listed,
                actual: cert.serial_no,
            });
        }
        Ok(cert)
    }

    /// Whether the certificate may sign at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}
