//! The sandbox merchant: identifiers, keys and the files a merchant configures itself from.
//!
//! On an empty (or missing) state directory a fresh merchant is created: RSA-2048 keys made by
//! `wxpay`, a self-signed platform certificate made with `rcgen`, a random APIv3 key. Key files are
//! written with mode 0600 and never overwritten. On a directory that already holds a sandbox the
//! same merchant is loaded again; only `sandbox.env` is rewritten (atomically), since the base URL
//! may have changed. `sandbox.env` is read and written in the format of the `envfile` crate.

use crate::error::SimError;
use crate::fsutil::{create_private, replace_private};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use url::Url;
use wxpay::ApiV3Key;
use wxpay::certificate::PlatformCertificate;
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::random::{self, OsRandom};
use wxpay::time::TimeOutOfRange;

/// `sandbox.env`: the merchant's variables, in the names the functions read and the format of the
/// `envfile` crate.
pub const ENV_FILE: &str = "sandbox.env";
/// The merchant API private key (PKCS#8), what a merchant downloads as `apiclient_key.pem`.
pub const MERCHANT_KEY_FILE: &str = "apiclient_key.pem";
/// The WeChat Pay public key (SPKI PEM).
pub const PUBLIC_KEY_FILE: &str = "pub_key.pem";
/// The simulator's private key behind `pub_key.pem` (public-key mode signatures).
pub const WECHATPAY_PRIVATE_KEY_FILE: &str = "wechatpay_private_key.pem";
/// The platform certificate (certificate mode).
pub const PLATFORM_CERT_FILE: &str = "platform_cert.pem";
/// The platform certificate's private key.
pub const PLATFORM_KEY_FILE: &str = "platform_key.pem";

/// Every file a sandbox consists of, apart from the order log.
const SANDBOX_FILES: [&str; 6] = [
    ENV_FILE,
    MERCHANT_KEY_FILE,
    PUBLIC_KEY_FILE,
    WECHATPAY_PRIVATE_KEY_FILE,
    PLATFORM_CERT_FILE,
    PLATFORM_KEY_FILE,
];

/// The platform certificate WeChat Pay signs with in certificate mode, with its key.
pub struct Platform {
    /// Serial, 40 upper-case hex digits.
    pub serial: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Its private key.
    pub key: PrivateKey,
}

/// The sandbox merchant as WeChat Pay knows it, and the keys WeChat Pay signs with.
pub struct Sandbox {
    /// The state directory (absolute).
    pub dir: PathBuf,
    /// Merchant id (10 digits).
    pub mchid: String,
    /// The one appid bound to the merchant.
    pub appid: String,
    /// Serial of the merchant API certificate, the only `serial_no` accepted.
    pub merchant_serial: String,
    /// The merchant's public key: what request signatures are verified with.
    pub merchant_public_key: PublicKey,
    /// The APIv3 key (notifications, certificate downloads).
    pub apiv3_key: ApiV3Key,
    /// `PUB_KEY_ID_…`, sent as `Wechatpay-Serial` in public-key mode.
    pub public_key_id: String,
    /// The private key behind `pub_key.pem`.
    pub public_key_signer: PrivateKey,
    /// The platform certificate and its key.
    pub platform: Platform,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("dir", &self.dir)
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("merchant_serial", &self.merchant_serial)
            .field("public_key_id", &self.public_key_id)
            .field("platform_serial", &self.platform.serial)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Loads the sandbox in `dir`, or creates one if `dir` holds none; then (re)writes
    /// `sandbox.env` with `base_url`. Blocking (key generation, file I/O).
    pub fn open_or_create(dir: &Path, base_url: &Url) -> Result<Self, SimError> {
        std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
        let dir = std::path::absolute(dir).map_err(|e| SimError::io(dir, e))?;
        let sandbox = if dir.join(ENV_FILE).exists() {
            Self::load(&dir)?
        } else {
            if let Some(stray) = SANDBOX_FILES.iter().find(|f| dir.join(f).exists()) {
                return Err(SimError::Sandbox {
                    dir,
                    reason: format!(
                        "{stray} exists but {ENV_FILE} does not: refusing to overwrite a partial \
                         sandbox; remove its files or use an empty directory"
                    ),
                });
            }
            Self::create(&dir)?
        };
        sandbox.write_env(base_url)?;
        Ok(sandbox)
    }

    /// Path of a file of the sandbox.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn create(dir: &Path) -> Result<Self, SimError> {
        let merchant_key = PrivateKey::generate().map_err(keys("merchant key"))?;
        let public_key_signer = PrivateKey::generate().map_err(keys("WeChat Pay key"))?;
        let platform_key = PrivateKey::generate().map_err(keys("platform key"))?;
        let platform = make_platform(platform_key, OffsetDateTime::now_utc())?;
        let apiv3 = random::alphanumeric(&OsRandom, 32);
        let apiv3_key = apiv3
            .parse::<ApiV3Key>()
            .map_err(|e| SimError::Keys(e.to_string()))?;
        let sandbox = Self {
            dir: dir.to_path_buf(),
            mchid: format!("19{}", random::digits(&OsRandom, 8)),
            appid: format!("wx{}", random::hex(&OsRandom, 16)),
            merchant_serial: random::upper_hex(&OsRandom, 40),
            merchant_public_key: merchant_key.public_key().map_err(keys("merchant key"))?,
            apiv3_key,
            public_key_id: format!("PUB_KEY_ID_01{}", random::digits(&OsRandom, 26)),
            public_key_signer,
            platform,
        };
        let pem = |key: &PrivateKey, what: &str| {
            key.to_pkcs8_pem()
                .map_err(|e| SimError::Keys(format!("{what}: {e}")))
        };
        // Public material first, the env file last: its presence marks a complete sandbox.
        let public_pem = sandbox
            .public_key_signer
            .public_key()
            .and_then(|k| k.to_spki_pem())
            .map_err(keys("WeChat Pay key"))?;
        create_private(&dir.join(PUBLIC_KEY_FILE), public_pem.as_bytes())?;
        create_private(
            &dir.join(PLATFORM_CERT_FILE),
            sandbox.platform.cert_pem.as_bytes(),
        )?;
        create_private(
            &dir.join(MERCHANT_KEY_FILE),
            pem(&merchant_key, "merchant key")?.as_bytes(),
        )?;
        create_private(
            &dir.join(WECHATPAY_PRIVATE_KEY_FILE),
            pem(&sandbox.public_key_signer, "WeChat Pay key")?.as_bytes(),
        )?;
        create_private(
            &dir.join(PLATFORM_KEY_FILE),
            pem(&sandbox.platform.key, "platform key")?.as_bytes(),
        )?;
        let identity = Identity {
            mchid: sandbox.mchid.clone(),
            appid: sandbox.appid.clone(),
            merchant_serial: sandbox.merchant_serial.clone(),
            apiv3_key: apiv3,
            public_key_id: sandbox.public_key_id.clone(),
        };
        create_private(
            &dir.join(ENV_FILE),
            env_text(dir, &identity, None)?.as_bytes(),
        )?;
        tracing::info!(dir = %dir.display(), mchid = %sandbox.mchid, "created sandbox merchant");
        Ok(sandbox)
    }

    fn load(dir: &Path) -> Result<Self, SimError> {
        let invalid = |reason: String| SimError::Sandbox {
            dir: dir.to_path_buf(),
            reason,
        };
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| SimError::io(path, e))
        };
        let vars: HashMap<String, String> = envfile::parse(&read(ENV_FILE)?).into_iter().collect();
        let var = |name: &str| {
            vars.get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| invalid(format!("{ENV_FILE} lacks {name}")))
        };
        let apiv3 = var("WXPAY_APIV3_KEY")?;
        let apiv3_key = apiv3
            .parse::<ApiV3Key>()
            .map_err(|e| invalid(format!("WXPAY_APIV3_KEY: {e}")))?;
        let private = |name: &str| {
            PrivateKey::from_pem(&read(name)?).map_err(|e| invalid(format!("{name}: {e}")))
        };
        let merchant_key = private(MERCHANT_KEY_FILE)?;
        let public_key_signer = private(WECHATPAY_PRIVATE_KEY_FILE)?;
        let platform_key = private(PLATFORM_KEY_FILE)?;
        let published = PublicKey::from_pem(&read(PUBLIC_KEY_FILE)?)
            .map_err(|e| invalid(format!("{PUBLIC_KEY_FILE}: {e}")))?;
        if !same_key(&published, &public_key_signer) {
            return Err(invalid(format!(
                "{PUBLIC_KEY_FILE} does not match {WECHATPAY_PRIVATE_KEY_FILE}"
            )));
        }
        let cert_pem = read(PLATFORM_CERT_FILE)?;
        let cert = PlatformCertificate::from_pem(&cert_pem)
            .map_err(|e| invalid(format!("{PLATFORM_CERT_FILE}: {e}")))?;
        if !same_key(&cert.public_key, &platform_key) {
            return Err(invalid(format!(
                "{PLATFORM_CERT_FILE} does not match {PLATFORM_KEY_FILE}"
            )));
        }
        let mchid = var("WXPAY_MCHID")?;
        wxpay::validate::mchid("WXPAY_MCHID", &mchid)
            .map_err(|e| invalid(format!("WXPAY_MCHID: {}", e.issue)))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            mchid,
            appid: var("WXPAY_APPID")?,
            merchant_serial: var("WXPAY_MERCHANT_SERIAL")?.to_ascii_uppercase(),
            merchant_public_key: merchant_key
                .public_key()
                .map_err(|e| invalid(format!("{MERCHANT_KEY_FILE}: {e}")))?,
            apiv3_key,
            public_key_id: var("WXPAY_PUBLIC_KEY_ID")?,
            public_key_signer,
            platform: Platform {
                serial: cert.serial_no,
                cert_pem,
                not_before: cert.not_before,
                not_after: cert.not_after,
                key: platform_key,
            },
        })
    }

    /// Rewrites `sandbox.env` with the current base URL, keeping everything else.
    fn write_env(&self, base_url: &Url) -> Result<(), SimError> {
        let path = self.file(ENV_FILE);
        let current = std::fs::read_to_string(&path).map_err(|e| SimError::io(&path, e))?;
        let vars: HashMap<String, String> = envfile::parse(&current).into_iter().collect();
        let identity = Identity {
            mchid: self.mchid.clone(),
            appid: self.appid.clone(),
            merchant_serial: self.merchant_serial.clone(),
            apiv3_key: vars.get("WXPAY_APIV3_KEY").cloned().unwrap_or_default(),
            public_key_id: self.public_key_id.clone(),
        };
        replace_private(
            &path,
            env_text(&self.dir, &identity, Some(base_url))?.as_bytes(),
        )
    }
}

/// The non-key part of the merchant, as kept in `sandbox.env`.
struct Identity {
    mchid: String,
    appid: String,
    merchant_serial: String,
    apiv3_key: String,
    public_key_id: String,
}

fn env_text(dir: &Path, id: &Identity, base_url: Option<&Url>) -> Result<String, SimError> {
    let path = |name: &str| dir.join(name).display().to_string();
    let base_url = base_url.map(|u| u.as_str().trim_end_matches('/').to_owned());
    let vars = [
        ("WXPAY_MCHID", id.mchid.clone()),
        ("WXPAY_APPID", id.appid.clone()),
        ("WXPAY_MERCHANT_SERIAL", id.merchant_serial.clone()),
        ("WXPAY_MERCHANT_KEY_FILE", path(MERCHANT_KEY_FILE)),
        ("WXPAY_APIV3_KEY", id.apiv3_key.clone()),
        ("WXPAY_PUBLIC_KEY_ID", id.public_key_id.clone()),
        ("WXPAY_PUBLIC_KEY_FILE", path(PUBLIC_KEY_FILE)),
        ("WXPAY_BASE_URL", base_url.unwrap_or_default()),
    ];
    let mut text = format!(
        "# WeChat Pay sandbox merchant of wxpay-sim (state directory {dir}).\n\
         # Rewritten on every start of the simulator (WXPAY_BASE_URL may change); keys are kept.\n\
         # Load into a shell with: set -a; . {env}; set +a\n",
        dir = dir.display(),
        env = path(ENV_FILE),
    );
    for (name, value) in vars {
        let line = envfile::line(name, &value).map_err(|e| {
            SimError::Config(format!(
                "{ENV_FILE}: {e}; use a simpler state directory path"
            ))
        })?;
        text.push_str(&line);
    }
    text.push_str(
        "# Certificate mode (platform certificates downloaded from /v3/certificates); with the two\n\
         # WXPAY_PUBLIC_KEY_* variables also set, both modes at once, as during a migration:\n\
         # WXPAY_PLATFORM_CERTS=auto\n",
    );
    Ok(text)
}

/// Maps a key failure to an error naming the key (never its content).
fn keys(what: &'static str) -> impl Fn(wxpay::keys::KeyError) -> SimError {
    move |e| SimError::Keys(format!("{what}: {e}"))
}

fn same_key(public: &PublicKey, private: &PrivateKey) -> bool {
    match (
        public.to_spki_der(),
        private.public_key().and_then(|k| k.to_spki_der()),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A self-signed platform certificate for `key`, valid from a day ago for five years, with a
/// 40-hex-digit serial (first digit 1–7, so the DER integer needs no sign byte).
fn make_platform(key: PrivateKey, now: OffsetDateTime) -> Result<Platform, SimError> {
    let err = |e: &dyn std::fmt::Display| SimError::Keys(format!("platform certificate: {e}"));
    let pem = key.to_pkcs8_pem().map_err(|e| err(&e))?;
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| err(&e))?;
    let first = random::digits(&OsRandom, 1)
        .bytes()
        .next()
        .map_or(1, |d| (d - b'0') % 7 + 1);
    let serial = format!("{first}{}", random::upper_hex(&OsRandom, 39));
    let serial_bytes: Vec<u8> = (0..serial.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(serial.get(i..i + 2)?, 16).ok())
        .collect();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| err(&e))?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, "Tenpay.com sandbox (wxpay-sim)");
    name.push(rcgen::DnType::OrganizationName, "wxpay-sim");
    params.distinguished_name = name;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial_bytes));
    // Whole seconds: X.509 times have no fractions, and the parsed certificate must match.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(5 * 365);
    let cert = params.self_signed(&pair).map_err(|e| err(&e))?;
    let cert_pem = cert.pem();
    let parsed = PlatformCertificate::from_pem(&cert_pem).map_err(|e| err(&e))?;
    if parsed.serial_no != serial {
        return Err(err(&"serial did not survive encoding"));
    }
    Ok(Platform {
        serial,
        cert_pem,
        not_before: parsed.not_before,
        not_after: parsed.not_after,
        key,
    })
}

/// `effective_time`/`expire_time` of the platform certificate, as listed by `/v3/certificates`.
pub fn validity_strings(platform: &Platform) -> Result<(String, String), TimeOutOfRange> {
    Ok((
        wxpay::time::format(platform.not_before)?,
        wxpay::time::format(platform.not_after)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_certificate_has_a_40_hex_serial_and_five_years_of_validity() {
        let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let platform = make_platform(PrivateKey::generate().unwrap(), now).unwrap();
        assert_eq!(platform.serial.len(), 40);
        assert_eq!(platform.not_before, now - Duration::days(1));
        assert_eq!(platform.not_after, now + Duration::days(5 * 365));
        let cert = PlatformCertificate::from_pem(&platform.cert_pem).unwrap();
        assert!(same_key(&cert.public_key, &platform.key));
    }
}
