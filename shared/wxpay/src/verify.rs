//! Verifying WeChat Pay's signatures on responses and notifications (§2 of the protocol reference).
//!
//! Checks, in order: the four `Wechatpay-*` headers are present (looked up case-insensitively), the
//! signature type is `WECHATPAY2-SHA256-RSA2048` (absent means that), the timestamp is within the
//! window (5 minutes either way), `Wechatpay-Serial` names a key we hold (the public key ID, or a
//! platform certificate valid now; an unknown serial in certificate mode triggers at most one
//! rate-limited refresh), and the SHA256withRSA signature over `timestamp\nnonce\nbody\n` verifies.

use crate::certificate::{PlatformCertificate, normalize_serial};
use crate::keys::{KeyError, PrivateKey, PublicKey};
use crate::sign::{SCHEME, response_message, sign_base64};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use time::{Duration, OffsetDateTime};

/// `Wechatpay-Timestamp`.
pub const HEADER_TIMESTAMP: &str = "wechatpay-timestamp";
/// `Wechatpay-Nonce`.
pub const HEADER_NONCE: &str = "wechatpay-nonce";
/// `Wechatpay-Signature`.
pub const HEADER_SIGNATURE: &str = "wechatpay-signature";
/// `Wechatpay-Serial`.
pub const HEADER_SERIAL: &str = "wechatpay-serial";
/// `Wechatpay-Signature-Type`.
pub const HEADER_SIGNATURE_TYPE: &str = "wechatpay-signature-type";
/// Prefix of the deliberately wrong signatures WeChat Pay sends to check that merchants verify.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";
/// Default tolerance between WeChat Pay's timestamp and ours.
pub const DEFAULT_WINDOW: Duration = Duration::minutes(5);

/// Why a response or notification is not authentic. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required `Wechatpay-*` header is absent or not text.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// `Wechatpay-Signature-Type` names another algorithm.
    #[error("unsupported signature type {0:?}")]
    SignatureType(String),
    /// `Wechatpay-Timestamp` is not Unix seconds.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// The timestamp is outside the window.
    #[error("timestamp {skew_secs}s away from now, outside the window")]
    StaleTimestamp {
        /// `timestamp - now` in seconds.
        skew_secs: i64,
    },
    /// No key for `Wechatpay-Serial` (after a refresh, in certificate mode).
    #[error("no key for serial {0:?}")]
    UnknownSerial(String),
    /// The platform certificates could not be downloaded and none are held.
    #[error("platform certificates unavailable: {0}")]
    CertificatesUnavailable(String),
    /// `Wechatpay-Signature` is not Base64.
    #[error("signature is not base64")]
    SignatureNotBase64,
    /// The signature does not verify: forged, tampered, or signed by another key.
    #[error("signature mismatch")]
    SignatureMismatch,
    /// A `WECHATPAY/SIGNTEST/` probe: correctly rejected; WeChat Pay re-sends a real one.
    #[error("WECHATPAY/SIGNTEST probe rejected")]
    SignTestProbe,
}

/// The signature headers of one response or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `Wechatpay-Timestamp`, as sent.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`.
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
}

impl SignatureHeaders {
    /// Reads the headers (names are case-insensitive) and checks the signature type.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, VerifyError> {
        let get = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or(VerifyError::MissingHeader(name))
        };
        let parsed = Self {
            timestamp: get(HEADER_TIMESTAMP)?,
            nonce: get(HEADER_NONCE)?,
            signature: get(HEADER_SIGNATURE)?,
            serial: get(HEADER_SERIAL)?,
        };
        if let Some(kind) = headers.get(HEADER_SIGNATURE_TYPE) {
            let kind = kind.to_str().unwrap_or_default();
            if kind != SCHEME {
                return Err(VerifyError::SignatureType(kind.to_owned()));
            }
        }
        Ok(parsed)
    }

    /// Signs `body` as WeChat Pay does (WeChat Pay's side, for the simulator and
    /// `wxpay::testing`): SHA256withRSA over `timestamp\nnonce\nbody\n` with `key`,
    /// sent with `serial`.
    pub fn sign(
        key: &PrivateKey,
        serial: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> Result<Self, KeyError> {
        let timestamp = timestamp.to_string();
        let message = response_message(&timestamp, nonce, body);
        Ok(Self {
            signature: sign_base64(key, &message)?,
            timestamp,
            nonce: nonce.to_owned(),
            serial: serial.to_owned(),
        })
    }

    /// Writes the five `Wechatpay-*` headers (with `Wechatpay-Signature-Type`) into `headers`,
    /// replacing any present; a value that is not a valid header value is left out.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        let pairs = [
            (HEADER_TIMESTAMP, self.timestamp.as_str()),
            (HEADER_NONCE, self.nonce.as_str()),
            (HEADER_SIGNATURE, self.signature.as_str()),
            (HEADER_SERIAL, self.serial.as_str()),
            (HEADER_SIGNATURE_TYPE, SCHEME),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// `timestamp - now` in seconds when `timestamp` (Unix seconds) is not within `window` of `now`
/// either way: the rule WeChat Pay applies to merchants' requests and merchants to its answers.
pub fn skew_outside_window(timestamp: i64, now: OffsetDateTime, window: Duration) -> Option<i64> {
    let skew_secs = timestamp.saturating_sub(now.unix_timestamp());
    (skew_secs.unsigned_abs() >= window.whole_seconds().unsigned_abs()).then_some(skew_secs)
}

/// Checks that the signed timestamp is within `window` of `now`, either way.
pub fn check_window(
    headers: &SignatureHeaders,
    now: OffsetDateTime,
    window: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| VerifyError::MalformedTimestamp)?;
    match skew_outside_window(timestamp, now, window) {
        Some(skew_secs) => Err(VerifyError::StaleTimestamp { skew_secs }),
        None => Ok(()),
    }
}

/// Checks a signature with a known key; shared by every mode.
pub fn verify_with_key(
    key: &PublicKey,
    headers: &SignatureHeaders,
    body: &[u8],
) -> Result<(), VerifyError> {
    let probe = headers.signature.starts_with(SIGNTEST_PREFIX);
    let fail = |error| {
        if probe {
            VerifyError::SignTestProbe
        } else {
            error
        }
    };
    let signature = STANDARD
        .decode(headers.signature.as_bytes())
        .map_err(|_| fail(VerifyError::SignatureNotBase64))?;
    let message = response_message(&headers.timestamp, &headers.nonce, body);
    if key.verify_sha256(&message, &signature) {
        Ok(())
    } else {
        Err(fail(VerifyError::SignatureMismatch))
    }
}

/// Where a certificate store gets the current list of platform certificates.
pub trait CertificateSource: Send + Sync {
    /// Downloads and decrypts the listed certificates.
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>>;
}

/// Platform certificates by serial, refreshed lazily: before use when older than `max_age`, and on
/// an unknown serial at most once per `min_refresh_interval`. No background task (Lambda freezes
/// those between invocations).
pub struct CertificateStore {
    source: Arc<dyn CertificateSource>,
    state: RwLock<StoreState>,
    refresh: tokio::sync::Mutex<()>,
    max_age: Duration,
    min_refresh_interval: Duration,
}

#[derive(Default)]
struct StoreState {
    by_serial: HashMap<String, PlatformCertificate>,
    fetched_at: Option<OffsetDateTime>,
    attempted_at: Option<OffsetDateTime>,
}

impl CertificateStore {
    /// A store that downloads from `source`; refreshes at most every 12 h unless a serial is unknown,
    /// and then at most once a minute.
    pub fn new(source: Arc<dyn CertificateSource>) -> Self {
        Self {
            source,
            state: RwLock::new(StoreState::default()),
            refresh: tokio::sync::Mutex::new(()),
            max_age: Duration::hours(12),
            min_refresh_interval: Duration::minutes(1),
        }
    }

    /// Sets how old the list may grow before it is refreshed on use.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets the minimum time between two refreshes triggered by unknown serials.
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Serial of the newest certificate valid at `now`, if any.
    pub fn newest_serial(&self, now: OffsetDateTime) -> Option<String> {
        let state = self.read();
        state
            .by_serial
            .values()
            .filter(|c| c.is_valid_at(now))
            .max_by_key(|c| c.not_after)
            .map(|c| c.serial_no.clone())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, StoreState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, serial: &str, now: OffsetDateTime) -> Option<PublicKey> {
        self.read()
            .by_serial
            .get(serial)
            .filter(|c| c.is_valid_at(now))
            .map(|c| c.public_key.clone())
    }

    /// The key for `serial`, refreshing as the policy allows: at most one download per call.
    pub async fn key_for(
        &self,
        serial: &str,
        now: OffsetDateTime,
    ) -> Result<PublicKey, VerifyError> {
        let may_refresh = |attempted: Option<OffsetDateTime>| {
            attempted.is_none_or(|at| now - at >= self.min_refresh_interval)
        };
        let (stale, attempted) = {
            let state = self.read();
            let stale = state.fetched_at.is_none_or(|at| now - at >= self.max_age);
            (stale, state.attempted_at)
        };
        let mut refreshed = None;
        if stale && may_refresh(attempted) {
            refreshed = Some(self.refresh(now, attempted).await);
        }
        if let Some(key) = self.lookup(serial, now) {
            return Ok(key);
        }
        if refreshed.is_none() {
            let attempted = self.read().attempted_at;
            if may_refresh(attempted) {
                refreshed = Some(self.refresh(now, attempted).await);
                if let Some(key) = self.lookup(serial, now) {
                    return Ok(key);
                }
            }
        }
        match refreshed {
            Some(Err(error)) => Err(error),
            _ if self.read().by_serial.is_empty() => Err(VerifyError::CertificatesUnavailable(
                "no platform certificate held".into(),
            )),
            _ => Err(VerifyError::UnknownSerial(serial.to_owned())),
        }
    }

    /// Downloads the list, unless another task did so since `seen_attempt` was read.
    async fn refresh(
        &self,
        now: OffsetDateTime,
        seen_attempt: Option<OffsetDateTime>,
    ) -> Result<(), VerifyError> {
        let _single_flight = self.refresh.lock().await;
        if self.read().attempted_at != seen_attempt {
            return Ok(());
        }
        let result = self.source.fetch().await;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.attempted_at = Some(now);
        let certs = result.map_err(VerifyError::CertificatesUnavailable)?;
        state.by_serial.retain(|_, c| c.not_after > now);
        for cert in certs.into_iter().filter(|c| c.not_after > now) {
            state
                .by_serial
                .insert(normalize_serial(&cert.serial_no), cert);
        }
        state.fetched_at = Some(now);
        Ok(())
    }
}

/// Verifies WeChat Pay's signatures with a public key, platform certificates, or both (while a
/// merchant migrates from certificates to the public key, either may sign).
pub struct Verifier {
    public_key: Option<(String, PublicKey)>,
    certificates: Option<CertificateStore>,
    window: Duration,
}

impl Verifier {
    /// Public-key mode: `id` is the `PUB_KEY_ID_…` WeChat Pay puts in `Wechatpay-Serial`.
    pub fn with_public_key(id: impl Into<String>, key: PublicKey) -> Self {
        Self {
            public_key: Some((id.into(), key)),
            certificates: None,
            window: DEFAULT_WINDOW,
        }
    }

    /// Certificate mode.
    pub fn with_certificates(store: CertificateStore) -> Self {
        Self {
            public_key: None,
            certificates: Some(store),
            window: DEFAULT_WINDOW,
        }
    }

    /// Both at once: the public key for its ID, certificates for every other serial.
    pub fn combined(id: impl Into<String>, key: PublicKey, store: CertificateStore) -> Self {
        Self {
            public_key: Some((id.into(), key)),
            certificates: Some(store),
            window: DEFAULT_WINDOW,
        }
    }

    /// Sets the timestamp tolerance (default 5 minutes).
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The serial to send as the request's `Wechatpay-Serial`, so WeChat Pay signs responses with a
    /// key we hold: the public key ID when there is one, else the newest certificate's serial.
    pub fn preferred_serial(&self, now: OffsetDateTime) -> Option<String> {
        match (&self.public_key, &self.certificates) {
            (Some((id, _)), _) => Some(id.clone()),
            (None, Some(store)) => store.newest_serial(now),
            (None, None) => None,
        }
    }

    /// As [`Verifier::preferred_serial`], downloading the platform certificates first when none is
    /// held yet (certificate mode only), so that even the first request names a key we hold.
    pub async fn preferred_serial_loading(&self, now: OffsetDateTime) -> Option<String> {
        if let (None, Some(store)) = (&self.public_key, &self.certificates)
            && store.newest_serial(now).is_none()
        {
            let attempted = store.read().attempted_at;
            let may_refresh = attempted.is_none_or(|at| now - at >= store.min_refresh_interval);
            if may_refresh && let Err(error) = store.refresh(now, attempted).await {
                tracing::warn!(%error, "platform certificates could not be downloaded");
            }
        }
        self.preferred_serial(now)
    }

    /// Verifies `body` as received with `headers`, at `now`; returns the serial that signed.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, VerifyError> {
        let parsed = SignatureHeaders::from_headers(headers)?;
        check_window(&parsed, now, self.window)?;
        let key = self.key_for(&parsed.serial, now).await?;
        verify_with_key(&key, &parsed, body)?;
        Ok(parsed.serial)
    }

    async fn key_for(&self, serial: &str, now: OffsetDateTime) -> Result<PublicKey, VerifyError> {
        if let Some((id, key)) = &self.public_key
            && id == serial
        {
            return Ok(key.clone());
        }
        match &self.certificates {
            Some(store) => store.key_for(&normalize_serial(serial), now).await,
            None => Err(VerifyError::UnknownSerial(serial.to_owned())),
        }
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("public_key_id", &self.public_key.as_ref().map(|(id, _)| id))
            .field("certificates", &self.certificates.is_some())
            .field("window", &self.window)
            .finish()
    }
}
