//! Lambda events from the JSON fixtures in `tests/fixtures/` (data, not struct literals: the event
//! types are `#[non_exhaustive]`), filled in per request, and the Lambda side of API Gateway:
//! an HTTP API (payload 2.0) response mapped back to HTTP.

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The fixtures folder (`tests/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixture at `relative` (e.g. `apigw-v2/product-list.json`), parsed.
pub fn load_fixture(relative: &str) -> anyhow::Result<Value> {
    let path = fixtures_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read fixture {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("fixture {} is not JSON", path.display()))
}

/// The object under `key` of `value`, made an empty object first if it is not one (`None` only if
/// `value` itself is not an object).
fn object<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let map = value.as_object_mut()?;
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

/// An API Gateway HTTP API (payload format 2.0) event, from a fixture whose `routeKey` names the
/// route (`POST /api/wx-pay/native/{productId}`); path parameters, headers, query and body are
/// filled in per request, as API Gateway does: header names lower-cased, repeated headers joined
/// with commas, `rawPath` and `pathParameters` from the route key.
#[derive(Debug, Clone)]
pub struct HttpApiEvent {
    event: Value,
    path_parameters: Vec<(String, String)>,
}

impl HttpApiEvent {
    /// The event of fixture `relative` (under `tests/fixtures/`).
    pub fn from_fixture(relative: &str) -> anyhow::Result<Self> {
        let event = load_fixture(relative)?;
        if event.get("version").and_then(Value::as_str) != Some("2.0") {
            bail!("fixture {relative} is not an HTTP API payload 2.0 event");
        }
        Ok(Self {
            event,
            path_parameters: Vec::new(),
        })
    }

    /// Sets path parameter `name` (a `{name}` of the route key).
    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets header `name` (lower-cased); a second value is appended after a comma.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Some(headers) = object(&mut self.event, "headers") {
            let name = name.to_ascii_lowercase();
            let joined = match headers.get(&name).and_then(Value::as_str) {
                Some(existing) => format!("{existing},{value}"),
                None => value.to_owned(),
            };
            headers.insert(name, Value::String(joined));
        }
        self
    }

    /// Replaces the headers with `headers` (names lower-cased, repeats joined with commas).
    pub fn headers<'a>(mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        if let Some(existing) = object(&mut self.event, "headers") {
            existing.clear();
        }
        headers
            .into_iter()
            .fold(self, |event, (name, value)| event.header(name, value))
    }

    /// Sets the raw query string (`limit=5&cursor=…`) and the parsed `queryStringParameters`.
    pub fn query(mut self, raw: &str) -> Self {
        let mut params = Map::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        if let Value::Object(event) = &mut self.event {
            event.insert("rawQueryString".into(), Value::String(raw.to_owned()));
            event.insert("queryStringParameters".into(), Value::Object(params));
        }
        self
    }

    /// Sets a text body, sent as is (`isBase64Encoded: false`, what API Gateway does for JSON).
    pub fn text_body(mut self, body: &str) -> Self {
        if let Value::Object(event) = &mut self.event {
            event.insert("body".into(), Value::String(body.to_owned()));
            event.insert("isBase64Encoded".into(), Value::Bool(false));
        }
        self
    }

    /// Sets a body sent base64-encoded (`isBase64Encoded: true`, what API Gateway does for
    /// binary media types).
    pub fn base64_body(mut self, body: &[u8]) -> Self {
        if let Value::Object(event) = &mut self.event {
            event.insert("body".into(), Value::String(BASE64.encode(body)));
            event.insert("isBase64Encoded".into(), Value::Bool(true));
        }
        self
    }

    /// The finished event: `rawPath`, `requestContext.http.path` and `pathParameters` from the
    /// route key and the parameters, a fresh request id and time.
    pub fn build(mut self) -> anyhow::Result<Value> {
        let route_key = self
            .event
            .get("routeKey")
            .and_then(Value::as_str)
            .context("fixture has no routeKey")?
            .to_owned();
        let (method, template) = route_key
            .split_once(' ')
            .context("routeKey is not `METHOD /path`")?;
        let mut path = template.to_owned();
        let mut params = Map::new();
        for (name, value) in &self.path_parameters {
            let placeholder = format!("{{{name}}}");
            if !path.contains(&placeholder) {
                bail!("route {route_key} has no path parameter {name}");
            }
            path = path.replace(&placeholder, value);
            params.insert(name.clone(), Value::String(value.clone()));
        }
        if path.contains('{') {
            bail!("route {route_key}: path parameters left unset in {path}");
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let context =
            object(&mut self.event, "requestContext").context("fixture is not a JSON object")?;
        context.insert(
            "requestId".into(),
            Value::String(uuid::Uuid::new_v4().simple().to_string()),
        );
        context.insert(
            "timeEpoch".into(),
            Value::from(u64::try_from(now_ms).unwrap_or(u64::MAX)),
        );
        let mut context = Value::Object(std::mem::take(context));
        if let Some(http) = object(&mut context, "http") {
            http.insert("method".into(), Value::String(method.to_owned()));
            http.insert("path".into(), Value::String(path.clone()));
        }
        if let Value::Object(event) = &mut self.event {
            event.insert("requestContext".into(), context);
            event.insert("rawPath".into(), Value::String(path));
            if params.is_empty() {
                event.remove("pathParameters");
            } else {
                event.insert("pathParameters".into(), Value::Object(params));
            }
        }
        Ok(self.event)
    }
}

/// An HTTP response as API Gateway makes it from a function's payload 2.0 response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// `statusCode`.
    pub status: u16,
    /// `headers` (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// `body`, base64-decoded when `isBase64Encoded`.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Maps a function's response JSON (`statusCode`, `headers`, `body`, `isBase64Encoded`).
    pub fn from_lambda(response: &Value) -> anyhow::Result<Self> {
        let status = response
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .with_context(|| format!("no statusCode in the function's response: {response}"))?;
        let mut headers = Vec::new();
        if let Some(Value::Object(map)) = response.get("headers") {
            for (name, value) in map {
                if let Some(value) = value.as_str() {
                    headers.push((name.to_ascii_lowercase(), value.to_owned()));
                }
            }
        }
        if let Some(Value::Object(map)) = response.get("multiValueHeaders") {
            for (name, values) in map {
                let name = name.to_ascii_lowercase();
                if headers.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                for value in values.as_array().into_iter().flatten() {
                    if let Some(value) = value.as_str() {
                        headers.push((name.clone(), value.to_owned()));
                    }
                }
            }
        }
        let text = response.get("body").and_then(Value::as_str).unwrap_or("");
        let body = if response.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            BASE64
                .decode(text)
                .context("isBase64Encoded body is not base64")?
        } else {
            text.as_bytes().to_vec()
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "body is not JSON (status {}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}
