//! The merchant's secrets: the API private key and the APIv3 key. In AWS they come from one
//! Secrets Manager secret (JSON with `merchant_private_key` and `apiv3_key`, and optionally
//! `wechatpay_public_key`, the WeChat Pay public key PEM, which is not secret but is kept with the
//! keys so that no multi-line value travels as a parameter); locally from
//! `WXPAY_MERCHANT_KEY_FILE` and `WXPAY_APIV3_KEY`.

use crate::env::Env;
use crate::error::ConfigError;
use crate::settings::read_file;
use serde::Deserialize;
use std::path::PathBuf;
use wxpay::{ApiV3Key, PrivateKey, PublicKey};
use zeroize::Zeroizing;

/// Where the secrets are read from.
#[derive(Clone)]
pub enum SecretSource {
    /// `WXPAY_SECRET_ID`: an AWS Secrets Manager secret.
    SecretsManager {
        /// Secret name or ARN.
        secret_id: String,
    },
    /// `WXPAY_MERCHANT_KEY_FILE` and `WXPAY_APIV3_KEY` (local runs).
    Local {
        /// PEM file of the merchant private key.
        key_file: PathBuf,
        /// The APIv3 key, already checked for length.
        apiv3_key: ApiV3Key,
    },
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id } => f
                .debug_struct("SecretsManager")
                .field("secret_id", secret_id)
                .finish(),
            Self::Local { key_file, .. } => f
                .debug_struct("Local")
                .field("key_file", key_file)
                .field("apiv3_key", &"<redacted>")
                .finish(),
        }
    }
}

impl SecretSource {
    /// `WXPAY_SECRET_ID` if set, else the local variables.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        if let Some(secret_id) = env.var("WXPAY_SECRET_ID") {
            return Ok(Self::SecretsManager { secret_id });
        }
        let key_file = PathBuf::from(env.required("WXPAY_MERCHANT_KEY_FILE")?);
        let apiv3_key = env.required("WXPAY_APIV3_KEY")?.parse().map_err(
            |e: wxpay::secret::ApiV3KeyLengthError| ConfigError::Invalid {
                name: "WXPAY_APIV3_KEY",
                reason: e.to_string(),
            },
        )?;
        Ok(Self::Local {
            key_file,
            apiv3_key,
        })
    }
}

/// The loaded secrets.
#[derive(Debug)]
pub struct MerchantSecrets {
    /// Merchant API private key.
    pub merchant_key: PrivateKey,
    /// APIv3 key.
    pub apiv3_key: ApiV3Key,
    /// The secret's `wechatpay_public_key`, if it has one (never from the local variables).
    pub wechatpay_public_key: Option<PublicKey>,
}

#[derive(Deserialize)]
struct SecretJson {
    merchant_private_key: Zeroizing<String>,
    apiv3_key: Zeroizing<String>,
    #[serde(default)]
    wechatpay_public_key: Option<String>,
}

impl MerchantSecrets {
    /// Loads the secrets; `secrets_manager` is only used (and only needed) for
    /// [`SecretSource::SecretsManager`].
    pub async fn load(
        source: &SecretSource,
        secrets_manager: Option<&aws_sdk_secretsmanager::Client>,
    ) -> Result<Self, ConfigError> {
        match source {
            SecretSource::Local {
                key_file,
                apiv3_key,
            } => {
                let pem = Zeroizing::new(read_file("WXPAY_MERCHANT_KEY_FILE", key_file)?);
                let merchant_key =
                    PrivateKey::from_pem(&pem).map_err(|e| ConfigError::Invalid {
                        name: "WXPAY_MERCHANT_KEY_FILE",
                        reason: e.to_string(),
                    })?;
                Ok(Self {
                    merchant_key,
                    apiv3_key: apiv3_key.clone(),
                    wechatpay_public_key: None,
                })
            }
            SecretSource::SecretsManager { secret_id } => {
                let failure = |reason: String| ConfigError::Secret {
                    secret_id: secret_id.clone(),
                    reason,
                };
                let client = secrets_manager
                    .ok_or_else(|| failure("no Secrets Manager client configured".into()))?;
                let output = client
                    .get_secret_value()
                    .secret_id(secret_id)
                    .send()
                    .await
                    .map_err(|e| {
                        failure(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
                    })?;
                let text = Zeroizing::new(
                    output
                        .secret_string()
                        .ok_or_else(|| failure("secret has no string value".into()))?
                        .to_owned(),
                );
                // serde's message would quote the offending input: replace it.
                let parsed: SecretJson = serde_json::from_str(&text).map_err(|_| {
                    failure(
                        "must be JSON with string fields merchant_private_key and apiv3_key \
                         (and optionally wechatpay_public_key)"
                            .into(),
                    )
                })?;
                let merchant_key = PrivateKey::from_pem(&parsed.merchant_private_key)
                    .map_err(|e| failure(format!("merchant_private_key: {e}")))?;
                let apiv3_key =
                    parsed
                        .apiv3_key
                        .parse()
                        .map_err(|e: wxpay::secret::ApiV3KeyLengthError| {
                            failure(format!("apiv3_key: {e}"))
                        })?;
                let wechatpay_public_key = parsed
                    .wechatpay_public_key
                    .as_deref()
                    .map(PublicKey::from_pem)
                    .transpose()
                    .map_err(|e| failure(format!("wechatpay_public_key: {e}")))?;
                Ok(Self {
                    merchant_key,
                    apiv3_key,
                    wechatpay_public_key,
                })
            }
        }
    }
}
