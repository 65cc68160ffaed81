//! How WeChat Pay's signatures are verified, as configured: public-key mode
//! (`WXPAY_PUBLIC_KEY_ID`, the key from `WXPAY_PUBLIC_KEY_FILE` or from the secret's
//! `wechatpay_public_key` field), certificate mode (`WXPAY_PLATFORM_CERTS=auto`), or both. The
//! key may live in the secret, so the [`Verification`] itself is resolved once the secrets are
//! loaded.

use crate::env::Env;
use crate::error::ConfigError;
use crate::secrets::{MerchantSecrets, SecretSource};
use crate::settings::read_file;
use std::path::PathBuf;
use wxpay::{PublicKey, Verification};

/// Where the WeChat Pay public key comes from.
#[derive(Debug, Clone)]
pub enum PublicKeySource {
    /// `WXPAY_PUBLIC_KEY_FILE`, read and parsed at start.
    File(PublicKey),
    /// The `wechatpay_public_key` field of the Secrets Manager secret (`WXPAY_SECRET_ID`), used
    /// when `WXPAY_PUBLIC_KEY_FILE` is unset.
    Secret {
        /// The secret's name or ARN (for the error when the field is missing).
        secret_id: String,
    },
}

/// The verification settings read from the variables.
#[derive(Debug, Clone)]
pub struct VerificationSettings {
    /// `WXPAY_PUBLIC_KEY_ID` and where its key comes from (public-key and both modes).
    pub public_key: Option<(String, PublicKeySource)>,
    /// `WXPAY_PLATFORM_CERTS=auto` (certificate and both modes).
    pub platform_certificates: bool,
}

impl VerificationSettings {
    /// Reads `WXPAY_PLATFORM_CERTS`, `WXPAY_PUBLIC_KEY_ID` and `WXPAY_PUBLIC_KEY_FILE`; without
    /// the file, the key is expected in the secret when there is one (`secrets`), else the file
    /// is required. A malformed key file fails here, naming its variable.
    pub fn from_env(env: &impl Env, secrets: &SecretSource) -> Result<Self, ConfigError> {
        let platform_certificates = match env.var("WXPAY_PLATFORM_CERTS").as_deref() {
            None => false,
            Some("auto") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "WXPAY_PLATFORM_CERTS",
                    reason: "the only supported value is `auto`".into(),
                });
            }
        };
        let public_key = match env.var("WXPAY_PUBLIC_KEY_ID") {
            None => None,
            Some(id) => Some((id, key_source(env, secrets)?)),
        };
        if public_key.is_none() && !platform_certificates {
            return Err(ConfigError::Missing(
                "WXPAY_PUBLIC_KEY_ID (or WXPAY_PLATFORM_CERTS=auto)",
            ));
        }
        Ok(Self {
            public_key,
            platform_certificates,
        })
    }

    /// The verification of the client, taking the key from `secrets` when it lives there.
    pub fn resolve(&self, secrets: &MerchantSecrets) -> Result<Verification, ConfigError> {
        let Some((id, source)) = &self.public_key else {
            return Ok(Verification::PlatformCertificates);
        };
        let key = match source {
            PublicKeySource::File(key) => key.clone(),
            PublicKeySource::Secret { secret_id } => secrets
                .wechatpay_public_key
                .clone()
                .ok_or_else(|| ConfigError::Secret {
                    secret_id: secret_id.clone(),
                    reason: "has no wechatpay_public_key (the WeChat Pay public key PEM, \
                             required with WXPAY_PUBLIC_KEY_ID unless WXPAY_PUBLIC_KEY_FILE is set)"
                        .into(),
                })?,
        };
        let id = id.clone();
        Ok(if self.platform_certificates {
            Verification::Combined { id, key }
        } else {
            Verification::PublicKey { id, key }
        })
    }
}

fn key_source(env: &impl Env, secrets: &SecretSource) -> Result<PublicKeySource, ConfigError> {
    match (env.var("WXPAY_PUBLIC_KEY_FILE"), secrets) {
        (Some(path), _) => {
            let pem = read_file("WXPAY_PUBLIC_KEY_FILE", &PathBuf::from(path))?;
            let key = PublicKey::from_pem(&pem).map_err(|e| ConfigError::Invalid {
                name: "WXPAY_PUBLIC_KEY_FILE",
                reason: e.to_string(),
            })?;
            Ok(PublicKeySource::File(key))
        }
        (None, SecretSource::SecretsManager { secret_id }) => Ok(PublicKeySource::Secret {
            secret_id: secret_id.clone(),
        }),
        (None, SecretSource::Local { .. }) => Err(ConfigError::Missing("WXPAY_PUBLIC_KEY_FILE")),
    }
}
