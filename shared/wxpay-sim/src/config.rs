//! How a simulator is set up: where it keeps its state, the URL merchants reach it at, timing.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use wxpay::clock::{Clock, SystemClock};

/// Which key signs responses and notifications when the request does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigningMode {
    /// The WeChat Pay public key (`Wechatpay-Serial: PUB_KEY_ID_…`), what merchants onboarded since
    /// 2024 use.
    #[default]
    PublicKey,
    /// The platform certificate (`Wechatpay-Serial: <40 hex>`), the older mode.
    Certificate,
}

impl SigningMode {
    /// The other mode (certificate ↔ public key), as during a migration.
    pub fn other(self) -> Self {
        match self {
            Self::PublicKey => Self::Certificate,
            Self::Certificate => Self::PublicKey,
        }
    }
}

/// Default delivery timeout of a notification: WeChat Pay waits 5 seconds for the merchant.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Default fee rate of the trade bills: 0.60%, WeChat Pay's usual rate for most merchants.
pub const DEFAULT_FEE_RATE_BP: u32 = 60;
/// Highest fee rate: 100%.
pub const MAX_FEE_RATE_BP: u32 = 10_000;

/// Everything [`crate::Simulator::open`] needs.
#[derive(Clone)]
pub struct SimConfig {
    /// Directory of the sandbox merchant's keys, `sandbox.env` and the order log. Created if
    /// missing; an existing sandbox in it is reused.
    pub state_dir: PathBuf,
    /// The URL merchants reach the simulator at; written to `sandbox.env` as `WXPAY_BASE_URL`.
    pub base_url: Url,
    /// Divides every delay of the notification retry ladder (1 = real time, 60 = a minute per
    /// second). Must be finite and positive.
    pub time_scale: f64,
    /// How long a merchant has to answer a notification before the attempt counts as failed.
    pub notify_timeout: Duration,
    /// Which key signs when the request's `Wechatpay-Serial` does not name one.
    pub signing_mode: SigningMode,
    /// The simulator's clock (before any skew fault); injectable for tests.
    pub clock: Arc<dyn Clock>,
    /// WeChat Pay's fee rate in the trade bills, in basis points (60 = 0.60%, the default; at most
    /// 10 000).
    pub fee_rate_bp: u32,
}

impl SimConfig {
    /// A configuration with real time, a 5 s notification timeout and public-key signing.
    pub fn new(state_dir: impl Into<PathBuf>, base_url: Url) -> Self {
        Self {
            state_dir: state_dir.into(),
            base_url,
            time_scale: 1.0,
            notify_timeout: DEFAULT_NOTIFY_TIMEOUT,
            signing_mode: SigningMode::PublicKey,
            clock: Arc::new(SystemClock),
            fee_rate_bp: DEFAULT_FEE_RATE_BP,
        }
    }

    /// Sets the time scale of the retry ladder.
    pub fn with_time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// Sets the notification timeout.
    pub fn with_notify_timeout(mut self, timeout: Duration) -> Self {
        self.notify_timeout = timeout;
        self
    }

    /// Sets the default signing mode.
    pub fn with_signing_mode(mut self, mode: SigningMode) -> Self {
        self.signing_mode = mode;
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the fee rate of the trade bills, in basis points.
    pub fn with_fee_rate_bp(mut self, basis_points: u32) -> Self {
        self.fee_rate_bp = basis_points;
        self
    }

    /// Checks the values that have a valid range.
    pub(crate) fn validate(&self) -> Result<(), crate::SimError> {
        if !self.time_scale.is_finite() || self.time_scale <= 0.0 {
            return Err(crate::SimError::Config(
                "time scale must be a finite number above 0".into(),
            ));
        }
        if self.notify_timeout.is_zero() {
            return Err(crate::SimError::Config(
                "notification timeout must be above 0".into(),
            ));
        }
        if self.fee_rate_bp > MAX_FEE_RATE_BP {
            return Err(crate::SimError::Config(format!(
                "fee rate must be at most {MAX_FEE_RATE_BP} basis points"
            )));
        }
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return Err(crate::SimError::Config(
                "base URL must be http:// or https://".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("state_dir", &self.state_dir)
            .field("base_url", &self.base_url.as_str())
            .field("time_scale", &self.time_scale)
            .field("notify_timeout", &self.notify_timeout)
            .field("signing_mode", &self.signing_mode)
            .field("fee_rate_bp", &self.fee_rate_bp)
            .finish_non_exhaustive()
    }
}
