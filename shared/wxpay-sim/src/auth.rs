//! Checking a merchant's `Authorization` header as WeChat Pay does (§1.5): the scheme, all five
//! fields, a known `mchid`, the registered certificate `serial_no`, a timestamp within 5 minutes of
//! the simulator's clock, and the SHA256withRSA signature over the method, the path and query
//! exactly as received, the timestamp, the nonce and the raw body.

use crate::sandbox::Sandbox;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use time::OffsetDateTime;
use wxpay::sign::{Authorization, AuthorizationError, request_message};
use wxpay::verify::{DEFAULT_WINDOW, skew_outside_window};
/// How much of the rebuilt message a `SIGN_ERROR` shows.
const TRUNCATED_MESSAGE_LEN: usize = 100;

/// The merchant a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Its mchid.
    pub mchid: String,
}

/// What the simulator rebuilt and verified, shown in a signature-mismatch answer so a merchant
/// can compare it with what it signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInformation {
    /// The method as received.
    pub method: String,
    /// Path and query as received.
    pub url: String,
    /// Length in bytes of the five-line message.
    pub sign_message_length: usize,
    /// Its first bytes (lossily decoded).
    pub truncated_sign_message: String,
}

/// Why a request is refused with 401 `SIGN_ERROR`. Carries no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignFailure {
    /// The answer's `message`.
    pub message: String,
    /// The member of the header at fault (`authorization`, `signature`, `serial_no`, …).
    pub field: &'static str,
    /// What is wrong.
    pub issue: String,
    /// Present when the signature itself did not verify.
    pub sign_information: Option<Box<SignInformation>>,
}

impl SignFailure {
    fn new(message: &str, field: &'static str, issue: impl Into<String>) -> Self {
        Self {
            message: message.to_owned(),
            field,
            issue: issue.into(),
            sign_information: None,
        }
    }
}

const FORMAT_MESSAGE: &str =
    "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》";

/// Authenticates one request; `canonical_url` is the path and query exactly as received.
pub fn authenticate(
    sandbox: &Sandbox,
    method: &str,
    canonical_url: &str,
    authorization: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Authenticated, SignFailure> {
    let header = authorization.ok_or_else(|| {
        SignFailure::new(
            FORMAT_MESSAGE,
            "authorization",
            "Authorization header is missing",
        )
    })?;
    let auth = Authorization::parse(header).map_err(|e| {
        let issue = match e {
            AuthorizationError::Scheme => {
                "scheme must be WECHATPAY2-SHA256-RSA2048 followed by one space".to_owned()
            }
            AuthorizationError::Malformed => {
                "parameters must be key=\"value\" pairs separated by commas".to_owned()
            }
            AuthorizationError::Missing(name) => format!("{name} is missing or empty"),
        };
        SignFailure::new(FORMAT_MESSAGE, "authorization", issue)
    })?;
    if auth.mchid != sandbox.mchid {
        return Err(SignFailure::new(
            "商户号不存在或未开通APIv3",
            "mchid",
            "mchid is not a merchant of this simulator",
        ));
    }
    if !auth
        .serial_no
        .trim()
        .eq_ignore_ascii_case(&sandbox.merchant_serial)
    {
        return Err(SignFailure::new(
            "商户证书序列号有误",
            "serial_no",
            "serial_no is not a registered merchant certificate serial",
        ));
    }
    let timestamp: i64 = auth.timestamp.parse().map_err(|_| {
        SignFailure::new(
            FORMAT_MESSAGE,
            "timestamp",
            "timestamp must be Unix seconds",
        )
    })?;
    if let Some(skew) = skew_outside_window(timestamp, now, DEFAULT_WINDOW) {
        return Err(SignFailure::new(
            "请求的时间戳已过期或与服务器时间相差过大",
            "timestamp",
            format!(
                "timestamp is {skew} s away from the server's clock (limit ±{} s)",
                DEFAULT_WINDOW.whole_seconds()
            ),
        ));
    }
    let message = request_message(
        method,
        canonical_url,
        &auth.timestamp,
        &auth.nonce_str,
        body,
    );
    let verified = STANDARD
        .decode(auth.signature.as_bytes())
        .is_ok_and(|signature| {
            sandbox
                .merchant_public_key
                .verify_sha256(&message, &signature)
        });
    if !verified {
        let shown = &message[..message.len().min(TRUNCATED_MESSAGE_LEN)];
        return Err(SignFailure {
            message: "错误的签名，验签失败".to_owned(),
            field: "signature",
            issue: "sign not match".to_owned(),
            sign_information: Some(Box::new(SignInformation {
                method: method.to_owned(),
                url: canonical_url.to_owned(),
                sign_message_length: message.len(),
                truncated_sign_message: String::from_utf8_lossy(shown).into_owned(),
            })),
        });
    }
    Ok(Authenticated { mchid: auth.mchid })
}
