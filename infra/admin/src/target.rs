//! Where the admin API is, and how a request proves who sends it: the local stack's bearer token,
//! or SigV4 with the caller's AWS credentials.

use anyhow::{Context, bail};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime};
use url::Url;

/// How requests are authenticated.
pub enum Auth {
    /// `Authorization: Bearer <token>` (the local stack).
    Bearer(String),
    /// SigV4 for `execute-api` in `region` (the deployed API).
    SigV4 {
        /// The caller's credentials.
        credentials: Credentials,
        /// The API's region.
        region: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(…)"),
            Self::SigV4 { region, .. } => write!(f, "SigV4({region})"),
        }
    }
}

/// The admin API to talk to.
#[derive(Debug)]
pub struct Target {
    base: Url,
    auth: Auth,
    http: reqwest::Client,
}

/// An answer: the HTTP status and the `{code, message, data}` envelope.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The envelope (`null` if the body was not JSON).
    pub body: Value,
}

impl Target {
    /// The local stack at `base`, with the token in `token_file`.
    pub fn local(base: Url, token_file: &Path) -> anyhow::Result<Self> {
        let token = std::fs::read_to_string(token_file).with_context(|| {
            format!(
                "cannot read the admin token {} (start the local stack first)",
                token_file.display()
            )
        })?;
        Self::new(base, Auth::Bearer(token.trim().to_owned()))
    }

    /// The deployed API at `base`, signing with the caller's AWS credentials (aws-config's
    /// default chain: environment, profiles, SSO, instance roles).
    pub async fn aws(base: Url, region: Option<String>) -> anyhow::Result<Self> {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let region = match region.or_else(|| config.region().map(ToString::to_string)) {
            Some(region) => region,
            None => bail!("no AWS region: set AWS_REGION or pass --region"),
        };
        let provider = config
            .credentials_provider()
            .context("no AWS credentials provider configured")?;
        let credentials = provider
            .provide_credentials()
            .await
            .context("cannot load AWS credentials")?;
        Self::new(
            base,
            Auth::SigV4 {
                credentials,
                region,
            },
        )
    }

    /// A target with explicit authentication.
    pub fn new(base: Url, auth: Auth) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("wxpay-admin/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .tls_certs_only(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .filter_map(|der| reqwest::Certificate::from_der(der).ok()),
            )
            .build()
            .context("HTTP client")?;
        Ok(Self { base, auth, http })
    }

    /// The request `method path_and_query` with `body` (JSON) and headers, authenticated.
    pub fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<http::Request<Vec<u8>>> {
        let url = self
            .base
            .join(path_and_query.trim_start_matches('/'))
            .context("URL")?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(
                http::header::HOST,
                match (url.host_str(), url.port()) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (Some(host), None) => host.to_owned(),
                    (None, _) => bail!("URL {url} has no host"),
                },
            );
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let bytes = match body {
            Some(body) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(body)?
            }
            None => Vec::new(),
        };
        let mut request = builder.body(bytes).context("request")?;
        match &self.auth {
            Auth::Bearer(token) => {
                request.headers_mut().insert(
                    http::header::AUTHORIZATION,
                    format!("Bearer {token}").parse().context("token")?,
                );
            }
            Auth::SigV4 {
                credentials,
                region,
            } => crate::sigv4::sign_request(&mut request, credentials, region, SystemTime::now())?,
        }
        Ok(request)
    }

    /// Sends a request made by [`Target::request`].
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> anyhow::Result<Answer> {
        let request = reqwest::Request::try_from(request).context("request")?;
        let url = request.url().clone();
        let response = self
            .http
            .execute(request)
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.context("reading the answer")?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }
}
