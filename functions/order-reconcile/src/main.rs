//! Lambda entry point of the sweep: configuration, clients; then the runtime.

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use merchant_config::{
    Env, FlowSettings, MerchantSecrets, ProcessEnv, WxPaySettings, aws_config, dynamodb_client,
    orders_config, secrets_manager_client, wxpay_client,
};
use order_reconcile::{SweepDeps, Trigger, run_sweep};
use orders::store::DynamoOrderStore;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use wxpay::SystemClock;

/// Time kept back from the invocation's deadline so the answer and logs get out.
const SAFETY_MARGIN: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env = ProcessEnv;
    let wxpay_settings = WxPaySettings::from_env(&env)?;
    let flow = FlowSettings::from_env(&env)?;
    let table = env.required("ORDERS_TABLE")?;

    let aws = aws_config().await;
    let secrets_manager = secrets_manager_client(&aws);
    let secrets = MerchantSecrets::load(&wxpay_settings.secrets, Some(&secrets_manager)).await?;
    let deps = SweepDeps {
        store: DynamoOrderStore::new(dynamodb_client(&aws), table),
        gateway: wxpay_client(&wxpay_settings, secrets)?,
        clock: SystemClock,
        config: orders_config(&wxpay_settings, &flow, ""),
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
        let summary = run_sweep(deps, deadline.into()).await?;
        Ok::<_, Error>(summary)
    }))
    .await
}
