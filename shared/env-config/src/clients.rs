//! Clients built once per cold start from the configuration.

use crate::error::ConfigError;
use crate::secrets::MerchantSecrets;
use crate::settings::WxPaySettings;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::Arc;
use std::time::Duration;
use wxpay::random::OsRandom;
use wxpay::{Client, ClientConfig, SystemClock};

/// The WeChat Pay client for these settings and secrets.
pub fn wxpay_client(
    settings: &WxPaySettings,
    secrets: MerchantSecrets,
) -> Result<Client, ConfigError> {
    let verification = settings.verification.resolve(&secrets)?;
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
    Client::new(config, Arc::new(SystemClock), Arc::new(OsRandom))
        .map_err(|e| ConfigError::Client(e.to_string()))
}

/// The shared AWS configuration (region, credentials, and endpoint overrides such as
/// `AWS_ENDPOINT_URL_DYNAMODB`, from the standard variables), with [`aws_https_client`].
pub async fn aws_config() -> Result<aws_config::SdkConfig, ConfigError> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_https_client()?)
        .load()
        .await)
}

/// The SDK's default HTTPS client (rustls on aws-lc-rs) trusting Mozilla's root certificates,
/// compiled in, instead of the system's store: nothing is read from disk at a cold start, where
/// loading the system's store was most of a function's init time (the `wxpay` client does the
/// same).
pub fn aws_https_client() -> Result<SharedHttpClient, ConfigError> {
    let trust_store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(mozilla_roots_pem());
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| ConfigError::Client(format!("AWS HTTPS client: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https())
}

/// `webpki-root-certs`' DER certificates as one PEM bundle, the form the SDK's trust store takes.
fn mozilla_roots_pem() -> Vec<u8> {
    let mut pem = String::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let base64 = BASE64.encode(der.as_ref());
        for line in base64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// A DynamoDB client from the shared AWS configuration.
pub fn dynamodb_client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// A Secrets Manager client from the shared AWS configuration.
pub fn secrets_manager_client(config: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_pem_bundle_holds_every_mozilla_root_unchanged() {
        let pem = String::from_utf8(mozilla_roots_pem()).unwrap();
        let blocks: Vec<&str> = pem.split_inclusive("-----END CERTIFICATE-----\n").collect();
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        assert_eq!(blocks.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        for (block, der) in blocks.iter().zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS) {
            let (label, decoded) = pem_rfc7468::decode_vec(block.as_bytes()).unwrap();
            assert_eq!(label, "CERTIFICATE");
            assert_eq!(decoded, der.as_ref());
        }
    }
}
