//! Lambda entry point of the notification URL: configuration, clients, router; then the runtime.

use lambda_http::{Error, run, tracing};
use merchant_config::{
    Env, FlowSettings, MerchantSecrets, ProcessEnv, WxPaySettings, aws_config, dynamodb_client,
    orders_config, secrets_manager_client, wxpay_client,
};
use orders::store::DynamoOrderStore;
use pay_notify::{NotifyState, handler::DEFAULT_DEADLINE, router};
use std::sync::Arc;
use wxpay::SystemClock;

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
    // The client is only used for its verifier (and, in certificate mode, certificate downloads).
    let client = wxpay_client(&wxpay_settings, secrets)?;
    let state = NotifyState {
        parser: client.notification_parser(),
        store: DynamoOrderStore::new(dynamodb_client(&aws), table),
        clock: SystemClock,
        // The notify URL is only used for prepays, which this function never makes.
        config: orders_config(&wxpay_settings, &flow, ""),
        deadline: DEFAULT_DEADLINE,
    };
    run(router(Arc::new(state))).await
}
