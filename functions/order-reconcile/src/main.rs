//! Lambda entry point of the sweep: configuration, clients; then the runtime.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use merchant_config::{FunctionContext, ProcessEnv, init_logging, init_or_report};
use order_reconcile::{SweepDeps, SweepError, Trigger, run_sweep};
use orders::store::DynamoOrderStore;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use wxpay::SystemClock;

/// Time kept back from the invocation's deadline so the answer and logs get out.
const SAFETY_MARGIN: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let context = init_or_report(FunctionContext::load(&ProcessEnv)).await?;
    let deps = SweepDeps {
        config: context.orders_config(),
        store: DynamoOrderStore::new(context.dynamodb, context.orders_table),
        gateway: context.wxpay,
        clock: SystemClock,
    };
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
