//! Clients built once per cold start from the configuration.

use crate::error::ConfigError;
use crate::secrets::MerchantSecrets;
use crate::settings::{KeyMode, WxPaySettings};
use std::sync::Arc;
use std::time::Duration;
use wxpay::nonce::OsNonce;
use wxpay::{Client, ClientConfig, PublicKey, SystemClock, Verification};

/// The WeChat Pay client for these settings and secrets.
pub fn wxpay_client(
    settings: &WxPaySettings,
    secrets: MerchantSecrets,
) -> Result<Client, ConfigError> {
    let public_key = |pem: &str| {
        PublicKey::from_pem(pem).map_err(|e| ConfigError::Invalid {
            name: "WXPAY_PUBLIC_KEY_FILE",
            reason: e.to_string(),
        })
    };
    let verification = match &settings.key_mode {
        KeyMode::PublicKey { id, pem } => Verification::PublicKey {
            id: id.clone(),
            key: public_key(pem)?,
        },
        KeyMode::PlatformCertificates => Verification::PlatformCertificates,
        KeyMode::Combined { id, pem } => Verification::Combined {
            id: id.clone(),
            key: public_key(pem)?,
        },
    };
    let mut config = ClientConfig::new(
        settings.mchid.clone(),
        settings.merchant_serial.clone(),
        secrets.merchant_key,
        secrets.apiv3_key,
        verification,
    )
    .map_err(|e| ConfigError::Client(e.to_string()))?;
    config.base_url = settings.base_url.clone();
    config.timeout = settings.timeout;
    config.connect_timeout = settings.timeout.min(Duration::from_secs(1));
    Client::new(config, Arc::new(SystemClock), Arc::new(OsNonce))
        .map_err(|e| ConfigError::Client(e.to_string()))
}

/// The shared AWS configuration (region, credentials, and endpoint overrides such as
/// `AWS_ENDPOINT_URL_DYNAMODB`, from the standard variables).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A DynamoDB client from the shared AWS configuration.
pub fn dynamodb_client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// A Secrets Manager client from the shared AWS configuration.
pub fn secrets_manager_client(config: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}
