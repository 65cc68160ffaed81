//! Non-secret settings: merchant identity, how WeChat Pay's signatures are verified, URLs, timings.

use crate::env::Env;
use crate::error::ConfigError;
use crate::secrets::SecretSource;
use crate::verification::VerificationSettings;
use orders::LatePaymentPolicy;
use orders::config::{
    DEFAULT_ANONYMOUS_ORDERS_PER_MINUTE, DEFAULT_MAX_OPEN_ORDERS_PER_BUYER, DEFAULT_ORDER_TTL_SECS,
    DEFAULT_SWEEP_AFTER_SECS, DEFAULT_SWEEP_CONCURRENCY,
};
use std::time::Duration;
use url::Url;

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
    /// How WeChat Pay's signatures are verified: `WXPAY_PUBLIC_KEY_ID` with the key
    /// (public-key mode), `WXPAY_PLATFORM_CERTS=auto` (certificate mode), or both while migrating.
    pub verification: VerificationSettings,
    /// Where the private key and the APIv3 key come from.
    pub secrets: SecretSource,
    /// `WXPAY_TIMEOUT_MS` (default [`wxpay::client::DEFAULT_TIMEOUT_MS`]): whole-call timeout
    /// towards WeChat Pay.
    pub timeout: Duration,
}

impl WxPaySettings {
    /// Reads `WXPAY_MCHID`, `WXPAY_APPID`, `WXPAY_MERCHANT_SERIAL`, `WXPAY_BASE_URL`,
    /// `WXPAY_PUBLIC_KEY_ID` + `WXPAY_PUBLIC_KEY_FILE` (or the secret's `wechatpay_public_key`),
    /// `WXPAY_PLATFORM_CERTS`, `WXPAY_TIMEOUT_MS`, and the secret source (`WXPAY_SECRET_ID`, or
    /// `WXPAY_MERCHANT_KEY_FILE` + `WXPAY_APIV3_KEY`). A public key file is parsed here, so a
    /// malformed one fails at start, naming its variable.
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
        let timeout_ms: u64 = env.parsed_or(
            "WXPAY_TIMEOUT_MS",
            u64::from(wxpay::client::DEFAULT_TIMEOUT_MS),
        )?;
        let secrets = SecretSource::from_env(env)?;
        Ok(Self {
            mchid,
            appid: env.required("WXPAY_APPID")?,
            merchant_serial: env.required("WXPAY_MERCHANT_SERIAL")?,
            base_url,
            verification: VerificationSettings::from_env(env, &secrets)?,
            secrets,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

/// Reads a file named by variable `name`.
pub(crate) fn read_file(name: &'static str, path: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        name,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Reads `WXPAY_NOTIFY_URL`, where WeChat Pay posts the notifications of the orders placed (only
/// what places orders needs it), and checks it against the protocol's rules for `notify_url`.
pub fn notify_url(env: &impl Env) -> Result<orders::NotifyUrl, ConfigError> {
    orders::NotifyUrl::parse(env.required("WXPAY_NOTIFY_URL")?).map_err(|e| ConfigError::Invalid {
        name: "WXPAY_NOTIFY_URL",
        reason: e.issue,
    })
}

/// Timing of the payment flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSettings {
    /// `ORDER_TTL_SECS` (default [`DEFAULT_ORDER_TTL_SECS`]): how long a shopper has to pay.
    pub order_ttl_secs: u32,
    /// `RECONCILE_AFTER_SECS` (default [`DEFAULT_SWEEP_AFTER_SECS`]): how old a pending order
    /// must be before the sweep asks about it.
    pub sweep_after_secs: u32,
    /// `RECONCILE_CONCURRENCY` (default [`DEFAULT_SWEEP_CONCURRENCY`]): queries in flight
    /// during a sweep.
    pub sweep_concurrency: usize,
    /// `LATE_PAYMENT_POLICY` (`honor`, the default, or `refund`): what happens to a payment
    /// WeChat Pay took after the order was closed here.
    pub late_payment_policy: LatePaymentPolicy,
    /// `MAX_OPEN_ORDERS_PER_BUYER` (default [`DEFAULT_MAX_OPEN_ORDERS_PER_BUYER`], 0 = off):
    /// unpaid, unexpired orders one buyer token may have before new ones are refused with 429.
    pub max_open_orders_per_buyer: u32,
    /// `ANONYMOUS_ORDERS_PER_MINUTE` (default [`DEFAULT_ANONYMOUS_ORDERS_PER_MINUTE`], 0 = off):
    /// orders without `X-Buyer-Token` accepted per clock minute, all shoppers together.
    pub anonymous_orders_per_minute: u32,
}

impl FlowSettings {
    /// Reads the six variables, with their documented defaults.
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let settings = Self {
            order_ttl_secs: env.parsed_or("ORDER_TTL_SECS", DEFAULT_ORDER_TTL_SECS)?,
            sweep_after_secs: env.parsed_or("RECONCILE_AFTER_SECS", DEFAULT_SWEEP_AFTER_SECS)?,
            sweep_concurrency: env.parsed_or("RECONCILE_CONCURRENCY", DEFAULT_SWEEP_CONCURRENCY)?,
            max_open_orders_per_buyer: env.parsed_or(
                "MAX_OPEN_ORDERS_PER_BUYER",
                DEFAULT_MAX_OPEN_ORDERS_PER_BUYER,
            )?,
            anonymous_orders_per_minute: env.parsed_or(
                "ANONYMOUS_ORDERS_PER_MINUTE",
                DEFAULT_ANONYMOUS_ORDERS_PER_MINUTE,
            )?,
            late_payment_policy: match env.var("LATE_PAYMENT_POLICY") {
                None => LatePaymentPolicy::default(),
                Some(text) => {
                    LatePaymentPolicy::parse(&text).ok_or_else(|| ConfigError::Invalid {
                        name: "LATE_PAYMENT_POLICY",
                        reason: "must be `honor` or `refund`".into(),
                    })?
                }
            },
        };
        let mut timing = orders::OrdersConfig::new("", "");
        timing.order_ttl_secs = settings.order_ttl_secs;
        timing.validate().map_err(|reason| ConfigError::Invalid {
            name: "ORDER_TTL_SECS",
            reason,
        })?;
        if settings.sweep_concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "RECONCILE_CONCURRENCY",
                reason: "must be at least 1".into(),
            });
        }
        Ok(settings)
    }
}

/// The order services' configuration from the merchant settings and the flow timing.
pub fn orders_config(wxpay: &WxPaySettings, flow: &FlowSettings) -> orders::OrdersConfig {
    let mut config = orders::OrdersConfig::new(wxpay.appid.clone(), wxpay.mchid.clone());
    config.order_ttl_secs = flow.order_ttl_secs;
    config.sweep_after_secs = flow.sweep_after_secs;
    config.sweep_concurrency = flow.sweep_concurrency;
    config.late_payment_policy = flow.late_payment_policy;
    config.max_open_orders_per_buyer = flow.max_open_orders_per_buyer;
    config.anonymous_orders_per_minute = flow.anonymous_orders_per_minute;
    config.wxpay_timeout_ms = u32::try_from(wxpay.timeout.as_millis()).unwrap_or(u32::MAX);
    config
}
