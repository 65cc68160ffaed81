//! Non-secret settings: merchant identity, how WeChat Pay's signatures are verified, URLs, timings.

use crate::env::Env;
use crate::error::ConfigError;
use crate::secrets::SecretSource;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// How WeChat Pay's signatures are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMode {
    /// Public-key mode: `WXPAY_PUBLIC_KEY_ID` with the key's PEM.
    PublicKey {
        /// `PUB_KEY_ID_…`.
        id: String,
        /// SPKI PEM.
        pem: String,
    },
    /// Certificate mode: `WXPAY_PLATFORM_CERTS=auto`.
    PlatformCertificates,
    /// Both, while migrating.
    Combined {
        /// `PUB_KEY_ID_…`.
        id: String,
        /// SPKI PEM.
        pem: String,
    },
}

/// The merchant's WeChat Pay settings.
#[derive(Debug, Clone)]
pub struct WxPaySettings {
    /// `WXPAY_MCHID`.
    pub mchid: String,
    /// `WXPAY_APPID`.
    pub appid: String,
    /// `WXPAY_MERCHANT_SERIAL`.
    pub merchant_serial: String,
    /// `WXPAY_BASE_URL` (default production).
    pub base_url: Url,
    /// Verification keys.
    pub key_mode: KeyMode,
    /// Where the private key and the APIv3 key come from.
    pub secrets: SecretSource,
    /// `WXPAY_TIMEOUT_MS` (default 3000): whole-call timeout towards WeChat Pay.
    pub timeout: Duration,
}

impl WxPaySettings {
    /// Reads `WXPAY_MCHID`, `WXPAY_APPID`, `WXPAY_MERCHANT_SERIAL`, `WXPAY_BASE_URL`,
    /// `WXPAY_PUBLIC_KEY_ID` + `WXPAY_PUBLIC_KEY_FILE` (or inline `WXPAY_PUBLIC_KEY`),
    /// `WXPAY_PLATFORM_CERTS`, and the secret source (`WXPAY_SECRET_ID`, or
    /// `WXPAY_MERCHANT_KEY_FILE` + `WXPAY_APIV3_KEY`).
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let mchid = env.required("WXPAY_MCHID")?;
        wxpay::validate::mchid("mchid", &mchid).map_err(|e| ConfigError::Invalid {
            name: "WXPAY_MCHID",
            reason: e.issue,
        })?;
        let base_url = env
            .var("WXPAY_BASE_URL")
            .unwrap_or_else(|| wxpay::client::DEFAULT_BASE_URL.to_owned());
        let base_url = Url::parse(&base_url).map_err(|e| ConfigError::Invalid {
            name: "WXPAY_BASE_URL",
            reason: e.to_string(),
        })?;
        let timeout_ms: u64 = env.parsed_or("WXPAY_TIMEOUT_MS", 3000)?;
        Ok(Self {
            mchid,
            appid: env.required("WXPAY_APPID")?,
            merchant_serial: env.required("WXPAY_MERCHANT_SERIAL")?,
            base_url,
            key_mode: key_mode(env)?,
            secrets: SecretSource::from_env(env)?,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

fn key_mode(env: &impl Env) -> Result<KeyMode, ConfigError> {
    let certificates = match env.var("WXPAY_PLATFORM_CERTS").as_deref() {
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
        Some(id) => Some((id, public_key_pem(env)?)),
    };
    match (public_key, certificates) {
        (Some((id, pem)), false) => Ok(KeyMode::PublicKey { id, pem }),
        (Some((id, pem)), true) => Ok(KeyMode::Combined { id, pem }),
        (None, true) => Ok(KeyMode::PlatformCertificates),
        (None, false) => Err(ConfigError::Missing(
            "WXPAY_PUBLIC_KEY_ID (or WXPAY_PLATFORM_CERTS=auto)",
        )),
    }
}

fn public_key_pem(env: &impl Env) -> Result<String, ConfigError> {
    if let Some(pem) = env.var("WXPAY_PUBLIC_KEY") {
        return Ok(pem.replace("\\n", "\n"));
    }
    let path = env.required("WXPAY_PUBLIC_KEY_FILE")?;
    read_file("WXPAY_PUBLIC_KEY_FILE", &PathBuf::from(path))
}

/// Reads a file named by variable `name`.
pub(crate) fn read_file(name: &'static str, path: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        name,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Timing of the payment flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSettings {
    /// `ORDER_TTL_SECS` (300): how long a shopper has to pay.
    pub order_ttl_secs: u32,
    /// `RECONCILE_AFTER_SECS` (60): how old a pending order must be before the sweep asks about it.
    pub reconcile_after_secs: u32,
    /// `RECONCILE_CONCURRENCY` (8): queries in flight during a sweep.
    pub reconcile_concurrency: usize,
}

impl FlowSettings {
    /// Reads the three variables, with their documented defaults.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let settings = Self {
            order_ttl_secs: env.parsed_or("ORDER_TTL_SECS", 300)?,
            reconcile_after_secs: env.parsed_or("RECONCILE_AFTER_SECS", 60)?,
            reconcile_concurrency: env.parsed_or("RECONCILE_CONCURRENCY", 8)?,
        };
        let mut timing = orders::OrdersConfig::new("", "", "");
        timing.order_ttl_secs = settings.order_ttl_secs;
        timing.validate().map_err(|reason| ConfigError::Invalid {
            name: "ORDER_TTL_SECS",
            reason,
        })?;
        if settings.reconcile_concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "RECONCILE_CONCURRENCY",
                reason: "must be at least 1".into(),
            });
        }
        Ok(settings)
    }
}

/// The order services' configuration from the merchant settings, the flow timing and the notify URL.
pub fn orders_config(
    wxpay: &WxPaySettings,
    flow: &FlowSettings,
    notify_url: impl Into<String>,
) -> orders::OrdersConfig {
    let mut config =
        orders::OrdersConfig::new(wxpay.appid.clone(), wxpay.mchid.clone(), notify_url);
    config.order_ttl_secs = flow.order_ttl_secs;
    config.reconcile_after_secs = flow.reconcile_after_secs;
    config.reconcile_concurrency = flow.reconcile_concurrency;
    config.wxpay_timeout_ms = u32::try_from(wxpay.timeout.as_millis()).unwrap_or(u32::MAX);
    config
}
