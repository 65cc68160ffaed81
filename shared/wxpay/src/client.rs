//! The merchant's HTTP client for WeChat Pay: every request signed, every 2xx response verified
//! (204 included), errors typed so callers can tell what is safe to retry.

use crate::bill::{self, BillError, TradeBillAnswer};
use crate::certificate::PlatformCertificate;
use crate::clock::Clock;
use crate::keys::{KeyError, PrivateKey, PublicKey};
use crate::models::{
    CertificatesResponse, CloseRequest, ErrorBody, ErrorDetail, NativePrepayRequest,
    NativePrepayResponse, Transaction,
};
use crate::notify::NotificationParser;
use crate::random::{self, NONCE_LEN, RandomSource};
use crate::refund::{Refund, RefundRequest};
use crate::secret::ApiV3Key;
use crate::sign::MerchantSigner;
use crate::validate::{self, ValidationError};
use crate::verify::{
    CertificateSource, CertificateStore, DEFAULT_WINDOW, SignatureHeaders, Verifier, VerifyError,
    check_window, verify_with_key,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use time::Date;
use url::{Position, Url};

/// WeChat Pay's production host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// Largest response body the client reads.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Default whole-request timeout, in milliseconds: what `WXPAY_TIMEOUT_MS` defaults to, and what
/// the order services assume when they bound how late a prepay can land.
pub const DEFAULT_TIMEOUT_MS: u32 = 3000;
/// Default whole-request timeout ([`DEFAULT_TIMEOUT_MS`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(DEFAULT_TIMEOUT_MS as u64);
/// Default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How the client checks WeChat Pay's signatures.
#[derive(Debug, Clone)]
pub enum Verification {
    /// WeChat Pay public key mode (`PUB_KEY_ID_…`).
    PublicKey {
        /// The key ID, as WeChat Pay sends it in `Wechatpay-Serial`.
        id: String,
        /// The key (`pub_key.pem`).
        key: PublicKey,
    },
    /// Platform certificates, downloaded and refreshed on demand.
    PlatformCertificates,
    /// Both, while migrating from certificates to the public key.
    Combined {
        /// The key ID.
        id: String,
        /// The key.
        key: PublicKey,
    },
}

/// Everything a client needs to know about the merchant and WeChat Pay.
pub struct ClientConfig {
    /// `https://api.mch.weixin.qq.com`, or a simulator.
    pub base_url: Url,
    /// Merchant id.
    pub mchid: String,
    /// Serial of the merchant API certificate.
    pub merchant_serial: String,
    /// Merchant API private key.
    pub merchant_key: PrivateKey,
    /// APIv3 key (notifications and certificate downloads).
    pub apiv3_key: ApiV3Key,
    /// How responses and notifications are verified.
    pub verification: Verification,
    /// Whole-request timeout ([`DEFAULT_TIMEOUT`] unless set).
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// A configuration with production's host and the default timeouts ([`DEFAULT_TIMEOUT`] for
    /// the request, [`DEFAULT_CONNECT_TIMEOUT`] to connect).
    pub fn new(
        mchid: impl Into<String>,
        merchant_serial: impl Into<String>,
        merchant_key: PrivateKey,
        apiv3_key: ApiV3Key,
        verification: Verification,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            base_url: Url::parse(DEFAULT_BASE_URL)
                .map_err(|e| ClientError::Config(e.to_string()))?,
            mchid: mchid.into(),
            merchant_serial: merchant_serial.into(),
            merchant_key,
            apiv3_key,
            verification,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        })
    }
}

/// What went wrong with a call. `Api` means WeChat Pay answered; the others mean it may not have
/// seen the request (timeout, connect) or its answer cannot be trusted (verification).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request breaks a protocol rule; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] ValidationError),
    /// WeChat Pay answered with a non-2xx status.
    #[error("WeChat Pay answered {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `code` of the error body (empty if the body was not one).
        code: String,
        /// `message` of the error body.
        message: String,
        /// `detail` of the error body.
        detail: Option<Box<ErrorDetail>>,
    },
    /// No answer within the timeout: the request may or may not have been processed.
    #[error("WeChat Pay did not answer in time")]
    Timeout,
    /// The connection could not be made: the request was not processed.
    #[error("could not connect to WeChat Pay: {0}")]
    Connect(String),
    /// Another transport failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// A 2xx answer that is not signed by WeChat Pay: treat as forged.
    #[error("response verification failed: {0}")]
    Verification(#[from] VerifyError),
    /// A verified 2xx answer whose body is not what the API documents.
    #[error("unexpected response: {0}")]
    InvalidResponse(String),
    /// Signing the request failed.
    #[error("signing failed: {0}")]
    Signing(#[from] KeyError),
    /// The client configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The WeChat Pay error code, when WeChat Pay answered.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether repeating the same request later may succeed: timeouts, connection failures,
    /// 429, 5xx, and unverifiable answers (a SIGNTEST probe, for instance).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Connect(_) | Self::Transport(_) | Self::Verification(_) => true,
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// A raw HTTP answer.
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Sends signed requests; shared by the client and the certificate downloader.
struct SignedTransport {
    http: reqwest::Client,
    base_url: Url,
    signer: MerchantSigner,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
}

impl SignedTransport {
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        wechatpay_serial: Option<String>,
    ) -> Result<RawResponse, ClientError> {
        let base = self.base_url.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}{path_and_query}"))
            .map_err(|e| ClientError::Config(e.to_string()))?;
        self.send_to(method, url, body, wechatpay_serial, MAX_RESPONSE_BYTES)
            .await
    }

    /// Sends a signed request to `url`, reading at most `limit` bytes of the answer.
    async fn send_to(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        wechatpay_serial: Option<String>,
        limit: usize,
    ) -> Result<RawResponse, ClientError> {
        // Sign exactly the path and query the URL will be sent with.
        let canonical = &url[Position::BeforePath..Position::AfterQuery];
        let timestamp = self.clock.now().unix_timestamp();
        let nonce = random::alphanumeric(&*self.random, NONCE_LEN);
        let body = body.unwrap_or_default();
        let authorization =
            self.signer
                .authorization(method.as_str(), canonical, &body, timestamp, &nonce)?;
        let mut request = self
            .http
            .request(method, url.clone())
            .header(http::header::AUTHORIZATION, authorization)
            .header(http::header::ACCEPT, "application/json");
        if let Some(serial) = wechatpay_serial.and_then(|s| HeaderValue::from_str(&s).ok()) {
            request = request.header("Wechatpay-Serial", serial);
        }
        if !body.is_empty() {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut collected = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if collected.len() + chunk.len() > limit {
                return Err(ClientError::InvalidResponse(format!(
                    "body larger than {limit} bytes"
                )));
            }
            collected.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body: Bytes::from(collected),
        })
    }
}

fn transport_error(error: reqwest::Error) -> ClientError {
    if error.is_timeout() {
        ClientError::Timeout
    } else if error.is_connect() {
        ClientError::Connect(error.without_url().to_string())
    } else {
        ClientError::Transport(error.without_url().to_string())
    }
}

/// Maps a non-2xx answer to [`ClientError::Api`]. Error answers need not be signed.
fn api_error(response: &RawResponse) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(body) => ClientError::Api {
            status: response.status.as_u16(),
            code: body.code,
            message: body.message,
            detail: body.detail.map(Box::new),
        },
        Err(_) => ClientError::Api {
            status: response.status.as_u16(),
            code: String::new(),
            message: String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect(),
            detail: None,
        },
    }
}

/// Downloads platform certificates for a [`CertificateStore`].
struct CertificateDownloader {
    transport: Arc<SignedTransport>,
    apiv3_key: ApiV3Key,
}

impl CertificateDownloader {
    async fn download(&self) -> Result<Vec<PlatformCertificate>, ClientError> {
        let response = self
            .transport
            .send(Method::GET, "/v3/certificates", None, None)
            .await?;
        if !response.status.is_success() {
            return Err(api_error(&response));
        }
        let listed: CertificatesResponse = serde_json::from_slice(&response.body)
            .map_err(|e| ClientError::InvalidResponse(e.to_string()))?;
        let certificates = listed
            .data
            .iter()
            .map(|entry| PlatformCertificate::from_entry(&self.apiv3_key, entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClientError::InvalidResponse(e.to_string()))?;
        // The list is signed by one of the certificates it carries: verify with that one.
        let headers = SignatureHeaders::from_headers(&response.headers)?;
        check_window(&headers, self.transport.clock.now(), DEFAULT_WINDOW)?;
        let signer = certificates
            .iter()
            .find(|c| c.serial_no == crate::certificate::normalize_serial(&headers.serial))
            .ok_or_else(|| VerifyError::UnknownSerial(headers.serial.clone()))?;
        verify_with_key(&signer.public_key, &headers, &response.body)?;
        Ok(certificates)
    }
}

impl CertificateSource for CertificateDownloader {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>> {
        Box::pin(async move { self.download().await.map_err(|e| e.to_string()) })
    }
}

/// The certificate authorities the client trusts: Mozilla's root set, compiled in
/// (`webpki-root-certs`), rather than the system's store. A function is redeployed with every
/// build, so the set stays current, and nothing is read from disk at a cold start: loading the
/// system's store was most of a Lambda function's init time.
fn mozilla_roots() -> impl Iterator<Item = reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
}

/// WeChat Pay APIv3 client for Native payments. Cheap to clone: clones share the connection pool,
/// the keys and the certificate store.
#[derive(Clone)]
pub struct Client {
    transport: Arc<SignedTransport>,
    verifier: Arc<Verifier>,
    downloader: Arc<CertificateDownloader>,
    mchid: String,
    apiv3_key: ApiV3Key,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.transport.base_url.as_str())
            .field("mchid", &self.mchid)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; time and randomness (the request nonces) are injected so tests can fix them.
    pub fn new(
        config: ClientConfig,
        clock: Arc<dyn Clock>,
        random: Arc<dyn RandomSource>,
    ) -> Result<Self, ClientError> {
        validate::mchid("mchid", &config.mchid)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "wxpay-rs/",
                env!("CARGO_PKG_VERSION"),
                " (native-payments; +reqwest)"
            ))
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .tls_certs_only(mozilla_roots())
            .build()
            .map_err(|e| ClientError::Config(e.without_url().to_string()))?;
        let transport = Arc::new(SignedTransport {
            http,
            base_url: config.base_url,
            signer: MerchantSigner::new(
                config.mchid.clone(),
                config.merchant_serial,
                config.merchant_key,
            ),
            clock,
            random,
        });
        let downloader = Arc::new(CertificateDownloader {
            transport: transport.clone(),
            apiv3_key: config.apiv3_key.clone(),
        });
        let store = || CertificateStore::new(downloader.clone());
        let verifier = match config.verification {
            Verification::PublicKey { id, key } => Verifier::with_public_key(id, key),
            Verification::PlatformCertificates => Verifier::with_certificates(store()),
            Verification::Combined { id, key } => Verifier::combined(id, key, store()),
        };
        Ok(Self {
            transport,
            verifier: Arc::new(verifier),
            downloader,
            mchid: config.mchid,
            apiv3_key: config.apiv3_key,
        })
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The verifier this client uses, shared with notification parsing.
    pub fn verifier(&self) -> Arc<Verifier> {
        self.verifier.clone()
    }

    /// A parser for payment notifications using this client's keys (and its certificate store).
    pub fn notification_parser(&self) -> NotificationParser {
        NotificationParser::new(self.verifier.clone(), self.apiv3_key.clone())
    }

    /// `POST /v3/pay/transactions/native`: creates (or refreshes) a Native order; returns its
    /// `code_url`. The request is validated first; nothing is sent if it breaks a rule.
    pub async fn native_prepay(
        &self,
        request: &NativePrepayRequest,
    ) -> Result<NativePrepayResponse, ClientError> {
        validate::native_prepay(request)?;
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
        let response = self
            .call(Method::POST, "/v3/pay/transactions/native", Some(body))
            .await?;
        parse_json(&response)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`.
    pub async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, ClientError> {
        validate::out_trade_no(out_trade_no)?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            encode_path_segment(out_trade_no),
            self.mchid
        );
        parse_json(&self.call(Method::GET, &path, None).await?)
    }

    /// `GET /v3/pay/transactions/id/{transaction_id}?mchid=…`.
    pub async fn query_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Transaction, ClientError> {
        validate::transaction_id(transaction_id)?;
        let path = format!(
            "/v3/pay/transactions/id/{transaction_id}?mchid={}",
            self.mchid
        );
        parse_json(&self.call(Method::GET, &path, None).await?)
    }

    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`: 204 on success (also for an
    /// order already closed); `ORDERPAID` if it was paid.
    pub async fn close(&self, out_trade_no: &str) -> Result<(), ClientError> {
        validate::out_trade_no(out_trade_no)?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            encode_path_segment(out_trade_no)
        );
        let body = serde_json::to_vec(&CloseRequest {
            mchid: self.mchid.clone(),
        })
        .map_err(|e| ClientError::Config(e.to_string()))?;
        self.call(Method::POST, &path, Some(body)).await?;
        Ok(())
    }

    /// `POST /v3/refund/domestic/refunds`: asks for a refund. Success means WeChat Pay accepted it
    /// (usually `PROCESSING`), not that the money is back; the outcome comes by notification or
    /// query. Retry a failed call with the same `out_refund_no`: the same number refunds once.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, ClientError> {
        validate::refund(request)?;
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
        let response = self
            .call(Method::POST, "/v3/refund/domestic/refunds", Some(body))
            .await?;
        parse_json(&response)
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`: where a refund stands
    /// (`RESOURCE_NOT_EXISTS` if WeChat Pay has none by that number).
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, ClientError> {
        validate::out_refund_no(out_refund_no)?;
        let path = format!(
            "/v3/refund/domestic/refunds/{}",
            encode_path_segment(out_refund_no)
        );
        parse_json(&self.call(Method::GET, &path, None).await?)
    }

    /// `GET /v3/bill/tradebill?bill_date=…&bill_type=ALL&tar_type=GZIP`: where to download the
    /// day's trade bill (`bill_date` is a China Standard Time date) and its hash, verified like
    /// every answer. Before the bill exists: [`BillError::NotReady`] or [`BillError::NoStatement`].
    pub async fn trade_bill(&self, bill_date: Date) -> Result<TradeBillAnswer, BillError> {
        let path = format!(
            "{}?bill_date={}&bill_type=ALL&tar_type=GZIP",
            bill::TRADE_BILL_PATH,
            bill::format_bill_date(bill_date)?
        );
        let answer: TradeBillAnswer = parse_json(&self.call(Method::GET, &path, None).await?)?;
        answer.check()?;
        Ok(answer)
    }

    /// A signed GET of `answer.download_url` (which must be on the configured host): the bill,
    /// decompressed (at most [`bill::MAX_DOWNLOAD_BYTES`] downloaded, [`bill::MAX_BILL_BYTES`]
    /// decompressed) and checked against `answer.hash_value`. The answer is not signed (§8), so it
    /// is not verified; a file whose hash differs is refused ([`BillError::HashMismatch`]).
    pub async fn download_bill(&self, answer: &TradeBillAnswer) -> Result<String, BillError> {
        let url = answer.check()?;
        let base = &self.transport.base_url;
        if url.origin() != base.origin() || url.path() != bill::DOWNLOAD_PATH {
            return Err(BillError::InvalidAnswer(format!(
                "download_url is not {}{} on the configured host",
                base.origin().ascii_serialization(),
                bill::DOWNLOAD_PATH
            )));
        }
        let response = self
            .transport
            .send_to(Method::GET, url, None, None, bill::MAX_DOWNLOAD_BYTES)
            .await
            .map_err(too_large_download)?;
        if !response.status.is_success() {
            return Err(api_error(&response).into());
        }
        bill::unpack(answer, &response.body, bill::MAX_BILL_BYTES)
    }

    /// `GET /v3/certificates`: the platform certificates, decrypted, and verified with the
    /// certificate that signed the list.
    pub async fn certificates(&self) -> Result<Vec<PlatformCertificate>, ClientError> {
        self.downloader.download().await
    }

    /// Sends a signed request; verifies 2xx answers, maps the others to [`ClientError::Api`].
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, ClientError> {
        let now = self.transport.clock.now();
        let serial = self.verifier.preferred_serial_loading(now).await;
        let response = self
            .transport
            .send(method, path_and_query, body, serial)
            .await?;
        if !response.status.is_success() {
            return Err(api_error(&response));
        }
        self.verifier
            .verify(
                &response.headers,
                &response.body,
                self.transport.clock.now(),
            )
            .await?;
        Ok(response)
    }
}

/// A download cut off at its limit is [`BillError::TooLarge`].
fn too_large_download(error: ClientError) -> BillError {
    match error {
        ClientError::InvalidResponse(_) => BillError::TooLarge(bill::MAX_DOWNLOAD_BYTES),
        other => other.into(),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(response: &RawResponse) -> Result<T, ClientError> {
    serde_json::from_slice(&response.body).map_err(|e| ClientError::InvalidResponse(e.to_string()))
}

/// Percent-encodes the two characters of the `out_trade_no` and `out_refund_no` alphabets that are
/// not safe in a path (`@` is).
fn encode_path_segment(segment: &str) -> String {
    segment.replace('|', "%7C").replace('*', "%2A")
}
