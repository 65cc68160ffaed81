//! The init phase of a Lambda function. A function that cannot start (a missing variable, an
//! unreadable secret) reports why to the Runtime API's `/init/error` before it exits, so Lambda
//! records `Runtime.InitError` with that message and answers the waiting invocation with it,
//! instead of a bare `Runtime.ExitError` whose reason is only in the logs.

use lambda_runtime_api_client::{PooledClient, body::Body, build_request};
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// Path of the init error endpoint of the Lambda Runtime API.
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// The `errorType` reported: every failure before the runtime loop is one of configuration or of
/// the clients built from it.
const INIT_ERROR_TYPE: &str = "InitError";
/// How long the report may take; the process exits either way.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs a function's initialisation; on failure reports the error's message to `/init/error`
/// (when `AWS_LAMBDA_RUNTIME_API` is set, that is under Lambda) and returns the error unchanged,
/// for `main` to return. The message must hold no secret: [`env_config::ConfigError`]s never do.
pub async fn init_or_report<T, E: Display>(
    init: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let error = match init.await {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let diagnostic = serde_json::json!({
            "errorType": INIT_ERROR_TYPE,
            "errorMessage": error.to_string(),
        });
        match tokio::time::timeout(REPORT_TIMEOUT, report(&diagnostic)).await {
            Ok(Ok(())) => {}
            Ok(Err(report_error)) => eprintln!("could not report the init error: {report_error}"),
            Err(_) => eprintln!("could not report the init error: timed out"),
        }
    }
    Err(error)
}

/// Posts `diagnostic` (Lambda's `{errorType, errorMessage}`) to `/init/error` of the Runtime API
/// named by `AWS_LAMBDA_RUNTIME_API`.
async fn report(diagnostic: &serde_json::Value) -> Result<(), lambda_runtime_api_client::BoxError> {
    let request = build_request()
        .method("POST")
        .uri(INIT_ERROR_PATH)
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(diagnostic)?))?;
    let response = PooledClient::builder().build().call(request).await?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {}", response.status()).into())
    }
}
