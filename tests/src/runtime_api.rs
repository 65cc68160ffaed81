//! An emulator of the AWS Lambda Runtime API, to run the real function binaries on loopback.
//!
//! It serves what a custom runtime (`lambda_runtime`) talks to, on `127.0.0.1:<free port>`:
//! - `GET /2018-06-01/runtime/invocation/next`: long-polls until an event is queued, then hands it
//!   out with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`: complete it;
//! - `POST /2018-06-01/runtime/init/error`: the runtime could not start.
//!
//! The test side calls [`RuntimeApi::invoke`], which queues an event and waits for its outcome.
//! Like one Lambda execution environment, one process handles one event at a time: concurrent
//! invocations wait in a queue. The emulator also records when the first `/next` poll arrived,
//! which is when Lambda considers a runtime initialised (the cold-start benchmark measures it).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The Runtime API's path prefix.
pub const API_PREFIX: &str = "/2018-06-01/runtime";
/// Largest invocation response accepted, as in Lambda (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Function timeout used for the deadline header unless set otherwise.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// An error the function reported, through `…/invocation/{id}/error` or `…/init/error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    /// The `Lambda-Runtime-Function-Error-Type` header, if sent.
    pub error_type_header: Option<String>,
    /// The body as JSON (`{"errorType": …, "errorMessage": …}`), or a JSON string of the raw body
    /// if it was not JSON.
    pub body: Value,
}

impl FunctionError {
    /// `errorType` of the body, else the header.
    pub fn error_type(&self) -> Option<&str> {
        self.body
            .get("errorType")
            .and_then(Value::as_str)
            .or(self.error_type_header.as_deref())
    }

    /// `errorMessage` of the body.
    pub fn error_message(&self) -> Option<&str> {
        self.body.get("errorMessage").and_then(Value::as_str)
    }
}

/// Why [`RuntimeApi::invoke`] has no response.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeError {
    /// The function answered through `…/error`.
    Function(FunctionError),
    /// No outcome within the timeout (the event may still be queued or in progress).
    Timeout(Duration),
    /// The function's response body is not JSON.
    NotJson(String),
    /// The emulator is shutting down.
    Closed,
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Function(error) => write!(f, "the function reported an error: {}", error.body),
            Self::Timeout(after) => write!(f, "no response within {after:?}"),
            Self::NotJson(body) => write!(f, "the response is not JSON: {body}"),
            Self::Closed => f.write_str("the runtime API emulator is shutting down"),
        }
    }
}

impl std::error::Error for InvokeError {}

enum Outcome {
    Response(Bytes),
    Error(FunctionError),
}

struct Queued {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Outcome>,
}

struct Shared {
    function_arn: String,
    function_timeout: Duration,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: watch::Sender<Option<Instant>>,
    polls: AtomicU64,
    init_error: watch::Sender<Option<FunctionError>>,
}

impl Shared {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Outcome>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Runtime API emulator for one function (one execution environment). Stops serving
/// when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    sender: mpsc::UnboundedSender<Queued>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .field("function_arn", &self.shared.function_arn)
            .finish_non_exhaustive()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts an emulator for `function_name` on a free loopback port, with the default function
    /// timeout (the deadline each event carries).
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        Self::start_with_timeout(function_name, DEFAULT_FUNCTION_TIMEOUT).await
    }

    /// Starts an emulator whose events carry a deadline `function_timeout` after being handed out.
    pub async fn start_with_timeout(
        function_name: &str,
        function_timeout: Duration,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            function_timeout,
            queue: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            first_poll: watch::Sender::new(None),
            polls: AtomicU64::new(0),
            init_error: watch::Sender::new(None),
        });
        let app = Router::new()
            .route(&format!("{API_PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{API_PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(
                &format!("{API_PREFIX}/invocation/{{id}}/error"),
                post(error),
            )
            .route(&format!("{API_PREFIX}/init/error"), post(init_error))
            .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "runtime API emulator stopped");
            }
        });
        Ok(Self {
            addr,
            shared,
            sender,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The ARN handed out as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// Invokes the function with `payload` and waits up to `timeout` for its outcome: the response
    /// JSON, or the error it reported.
    pub async fn invoke(&self, payload: &Value, timeout: Duration) -> Result<Value, InvokeError> {
        let bytes = self.invoke_raw(payload, timeout).await?;
        serde_json::from_slice(&bytes)
            .map_err(|_| InvokeError::NotJson(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// As [`RuntimeApi::invoke`], with the response body as sent.
    pub async fn invoke_raw(
        &self,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Bytes, InvokeError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (reply, outcome) = oneshot::channel();
        let queued = Queued {
            request_id: request_id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms: 0,
            reply,
        };
        self.sender.send(queued).map_err(|_| InvokeError::Closed)?;
        match tokio::time::timeout(timeout, outcome).await {
            Ok(Ok(Outcome::Response(body))) => Ok(body),
            Ok(Ok(Outcome::Error(error))) => Err(InvokeError::Function(error)),
            Ok(Err(_)) => Err(InvokeError::Closed),
            Err(_) => {
                self.shared.in_flight().remove(&request_id);
                Err(InvokeError::Timeout(timeout))
            }
        }
    }

    /// When the first `…/invocation/next` poll arrived, if one has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.borrow()
    }

    /// Waits up to `timeout` for the first `…/invocation/next` poll; `None` if none came.
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let mut watch = self.shared.first_poll.subscribe();
        let waited = tokio::time::timeout(timeout, watch.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(at)) => *at,
            _ => None,
        }
    }

    /// How many `…/invocation/next` polls arrived so far.
    pub fn polls(&self) -> u64 {
        self.shared.polls.load(Ordering::SeqCst)
    }

    /// The error posted to `…/init/error`, if any.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.shared.init_error.borrow().clone()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// An X-Ray trace header like Lambda's (`Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0`).
fn trace_id() -> String {
    let secs = now_ms() / 1000;
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0;Lineage=1:{}:0",
        &a[..24],
        &b[..16],
        &b[16..24]
    )
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.polls.fetch_add(1, Ordering::SeqCst);
    shared.first_poll.send_if_modified(|first| {
        if first.is_none() {
            *first = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let queued = {
        let mut queue = shared.queue.lock().await;
        queue.recv().await
    };
    let Some(mut queued) = queued else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "emulator shutting down",
        );
    };
    let timeout_ms = u64::try_from(shared.function_timeout.as_millis()).unwrap_or(u64::MAX);
    queued.deadline_ms = now_ms().saturating_add(timeout_ms);
    shared
        .in_flight()
        .insert(queued.request_id.clone(), queued.reply);
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "lambda-runtime-aws-request-id",
        header_value(&queued.request_id),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        header_value(&queued.deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header_value(&shared.function_arn),
    );
    headers.insert("lambda-runtime-trace-id", header_value(&trace_id()));
    (StatusCode::OK, headers, queued.payload).into_response()
}

fn complete(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    match shared.in_flight().remove(id) {
        Some(reply) => {
            // The invoker may have timed out and gone; the outcome is then dropped, as in Lambda.
            let _ = reply.send(outcome);
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        None => api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in progress with this request id",
        ),
    }
}

fn function_error(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    FunctionError {
        error_type_header: headers
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    complete(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    complete(
        &shared,
        &id,
        Outcome::Error(function_error(&headers, &body)),
    )
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared
        .init_error
        .send_replace(Some(function_error(&headers, &body)));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A minimal runtime client: polls once and answers with what `answer` makes of the event.
    async fn serve_one(api: &RuntimeApi, ok: bool) -> HeaderMap {
        let base = format!("http://{}{API_PREFIX}", api.endpoint());
        let client = reqwest::Client::new();
        let event = client
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        let headers = event.headers().clone();
        let id = headers["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let payload: Value = event.json().await.unwrap();
        let (path, body) = if ok {
            ("response", json!({"echo": payload}))
        } else {
            (
                "error",
                json!({"errorType": "Boom", "errorMessage": "it broke"}),
            )
        };
        let status = client
            .post(format!("{base}/invocation/{id}/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::ACCEPTED);
        headers
    }

    #[tokio::test]
    async fn an_invocation_is_handed_out_with_lambda_headers_and_answered() {
        let api = RuntimeApi::start("echo").await.unwrap();
        assert!(api.first_poll().is_none());
        let payload = json!({"n": 1});
        let (outcome, headers) = tokio::join!(
            api.invoke(&payload, Duration::from_secs(5)),
            serve_one(&api, true)
        );
        assert_eq!(outcome.unwrap(), json!({"echo": {"n": 1}}));
        assert!(api.first_poll().is_some());
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:echo"
        );
        let deadline: u64 = headers["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(deadline > now_ms() + 20_000);
        assert!(
            headers["lambda-runtime-trace-id"]
                .to_str()
                .unwrap()
                .starts_with("Root=1-")
        );
    }

    #[tokio::test]
    async fn a_reported_error_is_returned_to_the_invoker() {
        let api = RuntimeApi::start("boom").await.unwrap();
        let payload = json!({});
        let (outcome, _) = tokio::join!(
            api.invoke(&payload, Duration::from_secs(5)),
            serve_one(&api, false)
        );
        let InvokeError::Function(error) = outcome.unwrap_err() else {
            panic!("expected a function error");
        };
        assert_eq!(error.error_type(), Some("Boom"));
        assert_eq!(error.error_message(), Some("it broke"));
    }

    #[tokio::test]
    async fn an_unanswered_invocation_times_out_and_init_errors_are_recorded() {
        let api = RuntimeApi::start("silent").await.unwrap();
        let outcome = api.invoke(&json!({}), Duration::from_millis(50)).await;
        assert!(matches!(outcome, Err(InvokeError::Timeout(_))));
        let status = reqwest::Client::new()
            .post(format!("http://{}{API_PREFIX}/init/error", api.endpoint()))
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body(r#"{"errorType":"Missing","errorMessage":"missing WXPAY_MCHID"}"#)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::ACCEPTED);
        let error = api.init_error().unwrap();
        assert_eq!(error.error_message(), Some("missing WXPAY_MCHID"));
        assert_eq!(
            error.error_type_header.as_deref(),
            Some("Runtime.InitError")
        );
    }
}
