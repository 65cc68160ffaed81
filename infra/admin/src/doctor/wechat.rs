//! The merchant's WeChat Pay configuration, checked on one signed `GET /v3/certificates`: whether
//! WeChat Pay accepts the signature (private key, serial, mchid), whether its answer verifies in
//! the configured mode, and whether the APIv3 key decrypts the certificate list.

use super::Finding;
use bytes::Bytes;
use env_config::{MerchantSecrets, WxPaySettings};
use http::{HeaderMap, Method};
use std::time::Duration;
use time::OffsetDateTime;
use url::{Position, Url};
use wxpay::certificate::{CertificateError, PlatformCertificate, normalize_serial};
use wxpay::models::{CertificatesResponse, ErrorBody};
use wxpay::random::{self, NONCE_LEN, OsRandom};
use wxpay::sign::MerchantSigner;
use wxpay::verify::{
    DEFAULT_WINDOW, HEADER_SERIAL, SignatureHeaders, check_window, verify_with_key,
};
use wxpay::{ApiV3Key, PublicKey, Verification, VerifyError};

/// Check: WeChat Pay accepts the merchant's signature.
pub const SIGNATURE: &str = "merchant key and serial";
/// Check: WeChat Pay's answer verifies in the configured mode.
pub const VERIFICATION: &str = "WeChat Pay signature";
/// Check: the APIv3 key decrypts the certificate list.
pub const APIV3_KEY: &str = "APIv3 key";
/// Largest answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// How long WeChat Pay gets to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
const PATH: &str = "/v3/certificates";

/// WeChat Pay's answer to the signed request.
#[derive(Debug)]
pub struct Listing {
    /// HTTP status.
    pub status: u16,
    /// Its headers (the `Wechatpay-*` signature).
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

/// Runs the three checks.
pub async fn check(
    settings: &WxPaySettings,
    mode: &Verification,
    secrets: MerchantSecrets,
) -> Vec<Finding> {
    let apiv3_key = secrets.apiv3_key.clone();
    let listing = match fetch(settings, mode, secrets).await {
        Ok(listing) => listing,
        Err(cause) => {
            return vec![
                Finding::fail(
                    SIGNATURE,
                    cause,
                    "check WXPAY_BASE_URL (production: https://api.mch.weixin.qq.com) and that \
                     this machine reaches it",
                ),
                Finding::skip(VERIFICATION, "no answer from WeChat Pay"),
                Finding::skip(APIV3_KEY, "no answer from WeChat Pay"),
            ];
        }
    };
    let now = OffsetDateTime::now_utc();
    let certificates = decrypt(&listing, &apiv3_key);
    vec![
        signature(settings, &listing),
        verification(mode, &listing, certificates.as_ref(), now),
        apiv3_key_finding(&listing, certificates.as_ref()),
    ]
}

/// Sends `GET /v3/certificates` signed as the functions sign, naming the public key ID (when one
/// is configured) in `Wechatpay-Serial` so that WeChat Pay signs its answer with that key.
pub async fn fetch(
    settings: &WxPaySettings,
    mode: &Verification,
    secrets: MerchantSecrets,
) -> Result<Listing, String> {
    let base = settings.base_url.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{base}{PATH}")).map_err(|e| format!("WXPAY_BASE_URL: {e}"))?;
    let signer = MerchantSigner::new(
        settings.mchid.clone(),
        settings.merchant_serial.clone(),
        secrets.merchant_key,
    );
    let nonce = random::alphanumeric(&OsRandom, NONCE_LEN);
    let authorization = signer
        .authorization(
            Method::GET.as_str(),
            &url[Position::BeforePath..Position::AfterQuery],
            b"",
            OffsetDateTime::now_utc().unix_timestamp(),
            &nonce,
        )
        .map_err(|e| format!("signing failed: {e}"))?;
    let http = super::https_client()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut request = http
        .get(url.clone())
        .header(http::header::AUTHORIZATION, authorization)
        .header(http::header::ACCEPT, "application/json");
    if let Verification::PublicKey { id, .. } | Verification::Combined { id, .. } = mode {
        request = request.header(HEADER_SERIAL, id);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| format!("no answer from {url}: {}", super::error_chain(&e)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer of {url}: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer of {url} is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Listing {
        status,
        headers,
        body: Bytes::from(body),
    })
}

/// Whether WeChat Pay accepted the signature, and if not, which setting it refused.
pub fn signature(settings: &WxPaySettings, listing: &Listing) -> Finding {
    let error: Option<ErrorBody> = serde_json::from_slice(&listing.body).ok();
    let code = error.as_ref().map_or("", |e| e.code.as_str());
    match listing.status {
        200 => Finding::pass(
            SIGNATURE,
            "WeChat Pay accepted a signed GET /v3/certificates (200)",
        ),
        404 if code == "RESOURCE_NOT_EXISTS" => Finding::pass(
            SIGNATURE,
            "WeChat Pay accepted a signed GET /v3/certificates (404 RESOURCE_NOT_EXISTS: this \
             merchant has no platform certificates)",
        ),
        401 if code == "SIGN_ERROR" => sign_error(settings, error.as_ref()),
        status => Finding::fail(
            SIGNATURE,
            format!(
                "WeChat Pay answered {status} {code}: {}",
                error.as_ref().map_or("", |e| e.message.as_str())
            ),
            "see WeChat Pay's message; the merchant must have APIv3 enabled for WXPAY_MCHID",
        ),
    }
}

/// A `SIGN_ERROR`, by the member WeChat Pay names (`detail.field`) or its message.
fn sign_error(settings: &WxPaySettings, error: Option<&ErrorBody>) -> Finding {
    let field = error
        .and_then(|e| e.detail.as_ref())
        .and_then(|d| d.field.as_deref())
        .unwrap_or("");
    let message = error.map_or("", |e| e.message.as_str());
    let serial = &settings.merchant_serial;
    if field == "serial_no" || message.contains("序列号") {
        Finding::fail(
            SIGNATURE,
            format!(
                "WeChat Pay refused the merchant serial {serial} (SIGN_ERROR: {message}): it is \
                 not a certificate of merchant {}",
                settings.mchid
            ),
            "set WXPAY_MERCHANT_SERIAL (template: WxPayMerchantSerial) to the serial number of \
             the merchant API certificate (商户平台 → 账户中心 → API安全), the one whose \
             apiclient_key.pem is the private key",
        )
    } else if field == "mchid" || message.contains("商户号") {
        Finding::fail(
            SIGNATURE,
            format!(
                "WeChat Pay does not know merchant {} (SIGN_ERROR: {message})",
                settings.mchid
            ),
            "set WXPAY_MCHID (template: WxPayMchId) to the merchant id, with APIv3 enabled",
        )
    } else if field == "timestamp" {
        Finding::fail(
            SIGNATURE,
            format!("WeChat Pay refused the request's timestamp (SIGN_ERROR: {message})"),
            "set this machine's clock right (NTP): WeChat Pay allows 5 minutes of skew",
        )
    } else if field == "signature" {
        Finding::fail(
            SIGNATURE,
            format!(
                "the signature does not verify (SIGN_ERROR: {message}): the private key is not \
                 the key of merchant certificate {serial}"
            ),
            "put the apiclient_key.pem of the certificate with serial WXPAY_MERCHANT_SERIAL in \
             the secret (merchant_private_key) or WXPAY_MERCHANT_KEY_FILE",
        )
    } else {
        Finding::fail(
            SIGNATURE,
            format!("WeChat Pay refused the signature (SIGN_ERROR: {message})"),
            "the private key or the serial is wrong: use the apiclient_key.pem of the merchant \
             API certificate and that certificate's serial number (商户平台 → 账户中心 → API安全)",
        )
    }
}

/// The certificates of a 200 listing, decrypted with the APIv3 key (`None` without a listing).
fn decrypt(
    listing: &Listing,
    apiv3_key: &ApiV3Key,
) -> Option<Result<Vec<PlatformCertificate>, String>> {
    if listing.status != 200 {
        return None;
    }
    let parsed: CertificatesResponse = match serde_json::from_slice(&listing.body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Some(Err(format!(
                "the certificate list is not JSON as documented: {e}"
            )));
        }
    };
    Some(
        parsed
            .data
            .iter()
            .map(|entry| PlatformCertificate::from_entry(apiv3_key, entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| match e {
                CertificateError::Decrypt { .. } => DOES_NOT_DECRYPT.to_owned(),
                other => format!("a listed certificate is unusable: {other}"),
            }),
    )
}

const DOES_NOT_DECRYPT: &str = "the APIv3 key does not decrypt the certificate list: it is not the key set in the merchant \
     platform";

/// Whether the APIv3 key decrypts the listed certificates.
fn apiv3_key_finding(
    listing: &Listing,
    certificates: Option<&Result<Vec<PlatformCertificate>, String>>,
) -> Finding {
    match certificates {
        Some(Ok(list)) => Finding::pass(
            APIV3_KEY,
            format!("decrypts the {} listed platform certificate(s)", list.len()),
        ),
        Some(Err(cause)) => Finding::fail(
            APIV3_KEY,
            cause.clone(),
            "put the APIv3 key of 商户平台 → 账户中心 → API安全 → APIv3密钥 in the secret \
             (apiv3_key) or WXPAY_APIV3_KEY; if in doubt, set a new one there and here",
        ),
        None if listing.status == 404 => Finding::skip(
            APIV3_KEY,
            "WeChat Pay lists no platform certificates for this merchant, so nothing here is \
             encrypted with the APIv3 key; a wrong key shows as pay-notify refusing every \
             notification",
        ),
        None => Finding::skip(
            APIV3_KEY,
            "no certificate list (WeChat Pay refused the request)",
        ),
    }
}

/// Whether WeChat Pay's signature on the listing verifies the way the functions verify.
fn verification(
    mode: &Verification,
    listing: &Listing,
    certificates: Option<&Result<Vec<PlatformCertificate>, String>>,
    now: OffsetDateTime,
) -> Finding {
    let public_key_fix = "download the public key again from 商户平台 → 账户中心 → API安全 → \
                          微信支付公钥 and set it (deployed: the secret's \
                          wechatpay_public_key; locally WXPAY_PUBLIC_KEY_FILE), with its ID in WXPAY_PUBLIC_KEY_ID";
    let certificates = match (listing.status, certificates) {
        (200, Some(certificates)) => certificates,
        (404, _) => {
            return match mode {
                Verification::PlatformCertificates => Finding::fail(
                    VERIFICATION,
                    "certificate mode, but WeChat Pay has no platform certificates for this \
                     merchant: nothing it sends could be verified",
                    public_key_fix,
                ),
                _ => Finding::skip(
                    VERIFICATION,
                    "WeChat Pay has no platform certificates for this merchant, so it sent no \
                     signed answer to check the public key with",
                ),
            };
        }
        _ => {
            return Finding::skip(
                VERIFICATION,
                "no signed answer (WeChat Pay refused the request)",
            );
        }
    };
    let headers = match SignatureHeaders::from_headers(&listing.headers) {
        Ok(headers) => headers,
        Err(e) => {
            return Finding::fail(
                VERIFICATION,
                format!("the answer is not signed: {e}"),
                "check WXPAY_BASE_URL: it must be WeChat Pay (https://api.mch.weixin.qq.com)",
            );
        }
    };
    if let Err(e) = check_window(&headers, now, DEFAULT_WINDOW) {
        return Finding::fail(
            VERIFICATION,
            format!("WeChat Pay's signature time is off: {e}"),
            "set this machine's clock right (NTP)",
        );
    }
    match mode {
        Verification::PublicKey { id, key } => {
            if headers.serial != *id {
                return Finding::fail(
                    VERIFICATION,
                    format!(
                        "asked for an answer signed with WXPAY_PUBLIC_KEY_ID {id}, WeChat Pay \
                         signed with {}: the ID is not this merchant's public key",
                        headers.serial
                    ),
                    public_key_fix,
                );
            }
            with_public_key(id, key, &headers, listing, public_key_fix)
        }
        Verification::Combined { id, key } if headers.serial == *id => {
            with_public_key(id, key, &headers, listing, public_key_fix)
        }
        Verification::PlatformCertificates | Verification::Combined { .. } => {
            with_certificates(certificates, &headers, listing)
        }
    }
}

fn with_public_key(
    id: &str,
    key: &PublicKey,
    headers: &SignatureHeaders,
    listing: &Listing,
    fix: &str,
) -> Finding {
    match verify_with_key(key, headers, &listing.body) {
        Ok(()) => Finding::pass(
            VERIFICATION,
            format!("WeChat Pay's answer verifies with public key {id}"),
        ),
        Err(VerifyError::SignTestProbe) => Finding::skip(
            VERIFICATION,
            "WeChat Pay sent a WECHATPAY/SIGNTEST probe this time: run the doctor again",
        ),
        Err(e) => Finding::fail(
            VERIFICATION,
            format!(
                "WeChat Pay's answer signed with {id} does not verify with the configured public \
                 key ({e}): it is not WeChat Pay's public key for this merchant"
            ),
            fix,
        ),
    }
}

fn with_certificates(
    certificates: &Result<Vec<PlatformCertificate>, String>,
    headers: &SignatureHeaders,
    listing: &Listing,
) -> Finding {
    let certificates = match certificates {
        Ok(list) => list,
        Err(_) => {
            return Finding::skip(
                VERIFICATION,
                "certificate mode needs the certificate list decrypted (see the APIv3 key)",
            );
        }
    };
    let serial = normalize_serial(&headers.serial);
    let Some(signer) = certificates.iter().find(|c| c.serial_no == serial) else {
        return Finding::fail(
            VERIFICATION,
            format!(
                "WeChat Pay signed with {}, which is not a listed platform certificate",
                headers.serial
            ),
            "if WeChat Pay signs with the public key (PUB_KEY_ID_…), set WXPAY_PUBLIC_KEY_ID and \
             the key (template: WxPayVerificationMode public-key or both)",
        );
    };
    match verify_with_key(&signer.public_key, headers, &listing.body) {
        Ok(()) => Finding::pass(
            VERIFICATION,
            format!("WeChat Pay's answer verifies with platform certificate {serial}"),
        ),
        Err(VerifyError::SignTestProbe) => Finding::skip(
            VERIFICATION,
            "WeChat Pay sent a WECHATPAY/SIGNTEST probe this time: run the doctor again",
        ),
        Err(e) => Finding::fail(
            VERIFICATION,
            format!("WeChat Pay's answer does not verify with its own certificate {serial}: {e}"),
            "check WXPAY_BASE_URL: it must be WeChat Pay (https://api.mch.weixin.qq.com)",
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::doctor::Status;
    use env_config::MapEnv;

    fn settings(verification: &[(&str, &str)]) -> WxPaySettings {
        let dir = std::env::temp_dir();
        let mut vars: Vec<(&str, String)> = vec![
            ("WXPAY_MCHID", "1900007291".into()),
            ("WXPAY_APPID", "wxd678efh567hg6787".into()),
            (
                "WXPAY_MERCHANT_SERIAL",
                "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB".into(),
            ),
            (
                "WXPAY_MERCHANT_KEY_FILE",
                dir.join("unused.pem").display().to_string(),
            ),
            ("WXPAY_APIV3_KEY", "0123456789abcdefghijklmnopqrstuv".into()),
        ];
        vars.extend(verification.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let env = MapEnv(vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        WxPaySettings::from_env(&env).unwrap()
    }

    fn answer(status: u16, body: &str) -> Listing {
        Listing {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn sign_error(field: &str, message: &str) -> Listing {
        answer(
            401,
            &serde_json::json!({"code": "SIGN_ERROR", "message": message,
                "detail": {"field": field, "location": "authorization"}})
            .to_string(),
        )
    }

    const CERTS: &[(&str, &str)] = &[("WXPAY_PLATFORM_CERTS", "auto")];

    #[test]
    fn each_refused_member_is_named() {
        let settings = settings(CERTS);
        for (listing, named) in [
            (
                sign_error("mchid", "商户号不存在或未开通APIv3"),
                "WXPAY_MCHID",
            ),
            (
                sign_error("timestamp", "请求的时间戳已过期或与服务器时间相差过大"),
                "clock",
            ),
            (
                answer(
                    401,
                    r#"{"code":"SIGN_ERROR","message":"错误的签名，验签失败"}"#,
                ),
                "the private key or the serial",
            ),
        ] {
            let finding = signature(&settings, &listing);
            assert_eq!(finding.status, Status::Fail);
            assert!(finding.fix.contains(named), "{finding:?}");
        }
        let other = signature(
            &settings,
            &answer(403, r#"{"code":"NO_AUTH","message":"x"}"#),
        );
        assert!(other.cause.contains("403 NO_AUTH"), "{other:?}");
    }

    #[test]
    fn a_merchant_without_platform_certificates_passes_only_in_public_key_mode() {
        let none = answer(
            404,
            r#"{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"}"#,
        );
        let now = OffsetDateTime::now_utc();
        let certificates = settings(CERTS);
        assert_eq!(signature(&certificates, &none).status, Status::Pass);
        let finding = verification(&Verification::PlatformCertificates, &none, None, now);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.fix.contains("微信支付公钥"), "{finding:?}");
        assert_eq!(apiv3_key_finding(&none, None).status, Status::Skip);

        let key = wxpay::PrivateKey::generate().unwrap().public_key().unwrap();
        let public_key = Verification::PublicKey {
            id: "PUB_KEY_ID_0114232134912410000000000000".into(),
            key,
        };
        assert_eq!(
            verification(&public_key, &none, None, now).status,
            Status::Skip
        );
    }
}
