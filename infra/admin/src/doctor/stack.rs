//! A deployed stack: its outputs, the environment its functions run with, and the checks only a
//! deployment has: the orders table and its indexes, the sweep's schedule, and the storefront
//! origin allowed by CORS.

use super::Finding;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{IndexStatus, TableStatus};
use aws_sdk_scheduler::types::ScheduleState;
use env_config::MapEnv;
use orders::adapters::dynamo::item::{
    BY_BUYER_INDEX, BY_STATUS_INDEX, PENDING_INDEX, REFUNDING_INDEX,
};
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// Check: the orders table and its indexes.
pub const TABLE: &str = "orders table";
/// Check: the sweep's schedule.
pub const SCHEDULE: &str = "sweep schedule";
/// Check: `STOREFRONT_ORIGIN`.
pub const STOREFRONT: &str = "storefront origin";
/// The template's logical id of the function whose environment is checked (it places orders, so
/// it has every WeChat Pay variable, the notify URL and the storefront origin).
pub const ORDER_FUNCTION: &str = "NativeOrderFunction";
/// The template's logical id of the sweep's EventBridge Scheduler schedule.
pub const SCHEDULE_RESOURCE: &str = "OrderReconcileSchedule";
/// The indexes the DynamoDB store queries.
pub const INDEXES: [&str; 4] = [
    PENDING_INDEX,
    BY_BUYER_INDEX,
    REFUNDING_INDEX,
    BY_STATUS_INDEX,
];

/// A stack's outputs.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Its name.
    pub name: String,
    /// Output key → value.
    pub outputs: BTreeMap<String, String>,
}

/// An AWS error as `Code: message` (or its chain of causes when AWS did not answer), without
/// the raw response.
fn sdk_error<E: ProvideErrorMetadata + std::error::Error>(error: E) -> String {
    if let Some(code) = error.code() {
        return format!("{code}: {}", error.message().unwrap_or_default());
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// `DescribeStacks`: the stack's outputs.
pub async fn describe(
    cloudformation: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<Stack, String> {
    let answer = cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(sdk_error)?;
    let stack = answer
        .stacks()
        .first()
        .ok_or_else(|| format!("no stack {name}"))?;
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    Ok(Stack {
        name: name.to_owned(),
        outputs,
    })
}

/// `DescribeStackResource`: the physical id (name) of one of the stack's resources.
pub async fn physical_id(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
    logical_id: &str,
) -> Result<String, String> {
    let answer = cloudformation
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
        .map_err(sdk_error)?;
    answer
        .stack_resource_detail()
        .and_then(|d| d.physical_resource_id())
        .map(str::to_owned)
        .ok_or_else(|| format!("stack {stack} has no {logical_id}"))
}

/// `GetFunctionConfiguration`: the variables a function runs with, read the way it reads them.
pub async fn function_environment(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<MapEnv, String> {
    let answer = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(sdk_error)?;
    let variables = answer
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    Ok(MapEnv(variables.into_iter().collect()))
}

/// `DescribeTable`: the table is active with every index the store queries, each active.
pub async fn table(dynamodb: &aws_sdk_dynamodb::Client, name: &str) -> Finding {
    let answer = match dynamodb.describe_table().table_name(name).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Finding::fail(
                TABLE,
                format!("cannot describe table {name}: {}", sdk_error(e)),
                "deploy the stack (the template creates the table), and allow \
                 dynamodb:DescribeTable to the caller",
            );
        }
    };
    let Some(description) = answer.table() else {
        return Finding::fail(TABLE, format!("no table {name}"), "deploy the stack");
    };
    if description.table_status() != Some(&TableStatus::Active) {
        return Finding::fail(
            TABLE,
            format!(
                "table {name} is {:?}, not ACTIVE",
                description.table_status()
            ),
            "wait until the table is active",
        );
    }
    let present: BTreeMap<&str, Option<&IndexStatus>> = description
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| Some((i.index_name()?, i.index_status())))
        .collect();
    let missing: Vec<&str> = INDEXES
        .iter()
        .copied()
        .filter(|index| !present.contains_key(index))
        .collect();
    if !missing.is_empty() {
        return Finding::fail(
            TABLE,
            format!("table {name} lacks the index(es) {}", missing.join(", ")),
            "deploy the stack from this repository's template (it defines every index)",
        );
    }
    let building: Vec<&str> = INDEXES
        .iter()
        .copied()
        .filter(|index| present.get(index).copied().flatten() != Some(&IndexStatus::Active))
        .collect();
    if !building.is_empty() {
        return Finding::fail(
            TABLE,
            format!(
                "index(es) {} of {name} are not ACTIVE yet",
                building.join(", ")
            ),
            "wait until DynamoDB has built them",
        );
    }
    Finding::pass(
        TABLE,
        format!("table {name} is active with indexes {}", INDEXES.join(", ")),
    )
}

/// `GetSchedule`: the sweep's schedule is enabled.
pub async fn schedule(scheduler: &aws_sdk_scheduler::Client, name: &str) -> Finding {
    match scheduler.get_schedule().name(name).send().await {
        Ok(answer) => match answer.state() {
            Some(ScheduleState::Enabled) => Finding::pass(
                SCHEDULE,
                format!(
                    "schedule {name} is enabled ({})",
                    answer.schedule_expression().unwrap_or("no expression")
                ),
            ),
            state => Finding::fail(
                SCHEDULE,
                format!(
                    "schedule {name} is {}: stale orders are never queried or closed",
                    state.map_or("in no state", |s| s.as_str())
                ),
                "deploy with ReconcileScheduleState=ENABLED",
            ),
        },
        Err(e) => Finding::fail(
            SCHEDULE,
            format!("cannot read schedule {name}: {}", sdk_error(e)),
            "deploy the stack, and allow scheduler:GetSchedule to the caller",
        ),
    }
}

/// `STOREFRONT_ORIGIN` against the storefront: the origin of a storefront URL among the stack's
/// outputs if there is one, else the page served at that origin must call this stack's API
/// (its `config.js` names the `ApiUrl` output).
pub async fn storefront(origin: Option<&str>, stack: &Stack) -> Finding {
    let fix = "set StorefrontOrigin to the origin (scheme://host) the storefront page is served \
               from";
    let Some(origin) = origin else {
        return Finding::fail(STOREFRONT, "STOREFRONT_ORIGIN is not set", fix);
    };
    let hosted = stack
        .outputs
        .iter()
        .filter(|(key, _)| key.starts_with("Storefront"))
        .find_map(|(key, value)| Some((key, Url::parse(value).ok()?)))
        .filter(|(_, url)| url.scheme() == "https");
    if let Some((key, url)) = hosted {
        let served = url.origin().ascii_serialization();
        return if served == origin {
            Finding::pass(STOREFRONT, format!("{origin} is the {key} output's origin"))
        } else {
            Finding::fail(
                STOREFRONT,
                format!(
                    "STOREFRONT_ORIGIN is {origin} but the storefront ({key}) is at {served}: \
                     browsers will refuse the API's answers"
                ),
                fix,
            )
        };
    }
    config_names_api(origin, stack.outputs.get("ApiUrl").map(String::as_str)).await
}

/// Fetches `{origin}/config.js` and looks for the stack's API URL in it.
async fn config_names_api(origin: &str, api_url: Option<&str>) -> Finding {
    let Some(api_url) = api_url else {
        return Finding::skip(STOREFRONT, "the stack has no ApiUrl output to compare with");
    };
    let fix = "publish the storefront at STOREFRONT_ORIGIN with a config.js whose apiBase is \
               the stack's ApiUrl output (infra/scripts/publish-storefront.sh)";
    let client = match super::https_client()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => return Finding::skip(STOREFRONT, format!("HTTP client: {e}")),
    };
    let url = format!("{}/config.js", origin.trim_end_matches('/'));
    let text = match client.get(&url).send().await {
        Ok(answer) if answer.status().is_success() => match bounded_text(answer).await {
            Ok(text) => text,
            Err(e) => return Finding::fail(STOREFRONT, format!("reading {url}: {e}"), fix),
        },
        Ok(answer) => {
            return Finding::fail(
                STOREFRONT,
                format!("{url} answered {}", answer.status()),
                fix,
            );
        }
        Err(e) => {
            return Finding::fail(
                STOREFRONT,
                format!("cannot fetch {url}: {}", super::error_chain(&e)),
                fix,
            );
        }
    };
    if text.contains(api_url.trim_end_matches('/')) {
        Finding::pass(
            STOREFRONT,
            format!("the page at {origin} calls this stack's API ({api_url})"),
        )
    } else {
        Finding::fail(
            STOREFRONT,
            format!("the page at {origin} does not name this stack's API {api_url} in config.js"),
            fix,
        )
    }
}

/// Largest `config.js` read.
const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// The body as text, refused beyond [`MAX_CONFIG_BYTES`].
async fn bounded_text(mut answer: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_CONFIG_BYTES {
            return Err(format!("larger than {MAX_CONFIG_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
