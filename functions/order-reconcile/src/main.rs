//! Lambda entry point of the sweep: configuration, clients; then the runtime.

use env_config::{ProcessEnv, notify_url};
use lambda_init::{Setup, init_logging, init_or_report};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use order_reconcile::{Deps, SweepError, Trigger, run_sweep};
use orders::adapters::DynamoOrderStore;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use wxpay::SystemClock;

/// Time kept back from the invocation's deadline so the answer and logs get out.
const SAFETY_MARGIN: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let deps = init_or_report(async {
        let setup = Setup::load(&ProcessEnv).await?;
        Ok::<_, Error>(Deps {
            config: setup.orders_config(),
            notify_url: notify_url(&ProcessEnv)?,
            store: DynamoOrderStore::new(setup.dynamodb, setup.orders_table),
            gateway: setup.wxpay,
            clock: SystemClock,
        })
    })
    .await?;
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let trigger = Trigger::parse(&event.payload)?;
        tracing::info!(trigger = %trigger.describe(), "sweep starting");
        let deadline = event
            .context
            .deadline()
            .checked_sub(SAFETY_MARGIN)
            .unwrap_or_else(SystemTime::now);
        let report = run_sweep(deps, deadline.into()).await?;
        Ok::<_, SweepError>(report)
    }))
    .await
}
