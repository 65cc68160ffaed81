//! `wxpay-admin doctor`: checks a merchant's configuration against WeChat Pay before the first
//! shopper does. Locally it reads the `WXPAY_*` variables with the functions' own loading
//! (`env-config`); against a deployed stack it reads the order function's environment, the
//! stack's secret and outputs, and also checks the table, the sweep's schedule and the storefront
//! origin. Each check is one small function returning a [`Finding`] that names the cause and the
//! fix; nothing secret is ever printed.

pub mod finding;
pub mod notify;
pub mod stack;
pub mod wechat;

pub use finding::{Finding, Report, Status};
pub use notify::AddressPolicy;

use env_config::{Env, MerchantSecrets, SecretSource, WxPaySettings};

/// Check: the configuration loads as the functions load it.
pub const CONFIGURATION: &str = "configuration";

/// An HTTP client builder trusting Mozilla's roots (the functions' and the admin API's set).
pub(crate) fn https_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("wxpay-admin-doctor/", env!("CARGO_PKG_VERSION")))
        .tls_certs_only(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .filter_map(|der| reqwest::Certificate::from_der(der).ok()),
        )
}

/// An HTTP error with its causes ("error sending request" alone names none), without the URL.
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text.replace(
        &format!(" for url ({})", error.url().map_or("", |u| u.as_str())),
        "",
    )
}

/// The merchant's checks on the configuration in `env`: it loads (settings and secrets), WeChat
/// Pay accepts and signs, and the notify URL is sound. `secrets_manager` is used when `env` names
/// a secret (`WXPAY_SECRET_ID`).
pub async fn merchant(
    env: &impl Env,
    secrets_manager: Option<&aws_sdk_secretsmanager::Client>,
    policy: AddressPolicy,
) -> Report {
    let mut findings = Vec::new();
    match load(env, secrets_manager).await {
        Ok((settings, verification, secrets)) => {
            findings.push(Finding::pass(
                CONFIGURATION,
                format!(
                    "merchant {} ({}), {} mode, secrets from {}",
                    settings.mchid,
                    settings.base_url,
                    mode_name(&verification),
                    source_name(&settings.secrets)
                ),
            ));
            findings.extend(wechat::check(&settings, &verification, secrets).await);
        }
        Err(finding) => {
            findings.push(finding);
            for check in [wechat::SIGNATURE, wechat::VERIFICATION, wechat::APIV3_KEY] {
                findings.push(Finding::skip(check, "the configuration does not load"));
            }
        }
    }
    match env_config::notify_url(env) {
        Ok(notify_url) => match url::Url::parse(notify_url.as_str()) {
            Ok(url) => findings.extend(notify::check(&url, policy).await),
            Err(e) => findings.push(Finding::fail(
                notify::PUBLIC,
                format!("WXPAY_NOTIFY_URL: {e}"),
                "set WXPAY_NOTIFY_URL to pay-notify's public HTTPS URL",
            )),
        },
        Err(e) => {
            findings.push(Finding::fail(
                notify::PUBLIC,
                e.to_string(),
                "set WXPAY_NOTIFY_URL to pay-notify's public HTTPS URL (the stack's NotifyUrl \
                 output)",
            ));
            findings.push(Finding::skip(notify::REFUSES_UNSIGNED, "no notify URL"));
        }
    }
    Report { findings }
}

/// Settings, verification and secrets, loaded exactly as the functions load them.
async fn load(
    env: &impl Env,
    secrets_manager: Option<&aws_sdk_secretsmanager::Client>,
) -> Result<(WxPaySettings, wxpay::Verification, MerchantSecrets), Finding> {
    let failed = |e: env_config::ConfigError| {
        Finding::fail(
            CONFIGURATION,
            e.to_string(),
            "set the variable (or secret field) named, as docs/DEPLOY.md describes",
        )
    };
    let settings = WxPaySettings::from_env(env).map_err(failed)?;
    let secrets = MerchantSecrets::load(&settings.secrets, secrets_manager)
        .await
        .map_err(failed)?;
    // In public-key mode the key may live in the secret: resolved as the functions resolve it.
    let verification = settings.verification.resolve(&secrets).map_err(failed)?;
    Ok((settings, verification, secrets))
}

fn mode_name(verification: &wxpay::Verification) -> &'static str {
    match verification {
        wxpay::Verification::PublicKey { .. } => "public-key",
        wxpay::Verification::PlatformCertificates => "certificate",
        wxpay::Verification::Combined { .. } => "public-key and certificate",
    }
}

fn source_name(source: &SecretSource) -> String {
    match source {
        SecretSource::SecretsManager { secret_id } => format!("secret {secret_id}"),
        SecretSource::Local { key_file, .. } => {
            format!("{} and WXPAY_APIV3_KEY", key_file.display())
        }
    }
}

/// The AWS clients the deployed checks use.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// Stack outputs and resources.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// The order function's environment.
    pub lambda: aws_sdk_lambda::Client,
    /// The secret.
    pub secrets_manager: aws_sdk_secretsmanager::Client,
    /// The table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The sweep's schedule.
    pub scheduler: aws_sdk_scheduler::Client,
}

impl AwsClients {
    /// Clients from one AWS configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            secrets_manager: aws_sdk_secretsmanager::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            scheduler: aws_sdk_scheduler::Client::new(config),
        }
    }
}

/// Check: the stack and its order function can be read.
pub const STACK: &str = "stack";

/// Every check on the deployed stack `name`: the merchant's checks on the order function's own
/// environment and secret, then the table, the schedule and the storefront origin.
pub async fn deployed(aws: &AwsClients, name: &str) -> Report {
    let loaded = async {
        let described = stack::describe(&aws.cloudformation, name).await?;
        let function = stack::physical_id(&aws.cloudformation, name, stack::ORDER_FUNCTION).await?;
        let env = stack::function_environment(&aws.lambda, &function).await?;
        Ok::<_, String>((described, function, env))
    };
    let (described, function, env) = match loaded.await {
        Ok(loaded) => loaded,
        Err(cause) => {
            return Report {
                findings: vec![Finding::fail(
                    STACK,
                    format!("cannot read stack {name}: {cause}"),
                    "pass the stack name of `sam deploy` and the region it is in (--region), \
                     with credentials allowed cloudformation:Describe*, \
                     lambda:GetFunctionConfiguration, secretsmanager:GetSecretValue, \
                     dynamodb:DescribeTable and scheduler:GetSchedule",
                )],
            };
        }
    };
    let mut report = merchant(&env, Some(&aws.secrets_manager), AddressPolicy::PublicOnly).await;
    report.findings.insert(
        0,
        Finding::pass(STACK, format!("stack {name}, function {function}")),
    );
    report.findings.push(match env.var("ORDERS_TABLE") {
        Some(table) => stack::table(&aws.dynamodb, &table).await,
        None => Finding::fail(
            stack::TABLE,
            "the order function has no ORDERS_TABLE",
            "deploy the stack from this repository's template",
        ),
    });
    report.findings.push(
        match stack::physical_id(&aws.cloudformation, name, stack::SCHEDULE_RESOURCE).await {
            Ok(schedule) => stack::schedule(&aws.scheduler, &schedule).await,
            Err(cause) => Finding::fail(
                stack::SCHEDULE,
                cause,
                "deploy the stack from this repository's template",
            ),
        },
    );
    report
        .findings
        .push(stack::storefront(env.var("STOREFRONT_ORIGIN").as_deref(), &described).await);
    report
}
