//! Lambda entry point of the storefront API: configuration, clients, router; then the runtime.

use lambda_http::{Error, run, tracing};
use merchant_config::{
    Env, FlowSettings, MerchantSecrets, ProcessEnv, WxPaySettings, aws_config, dynamodb_client,
    orders_config, secrets_manager_client, wxpay_client,
};
use native_order::{AppState, router};
use orders::domain::OrderNoGenerator;
use orders::store::DynamoOrderStore;
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env = ProcessEnv;
    let wxpay_settings = WxPaySettings::from_env(&env)?;
    let flow = FlowSettings::from_env(&env)?;
    let table = env.required("ORDERS_TABLE")?;
    let notify_url = env.required("WXPAY_NOTIFY_URL")?;
    let origin = env.required("STOREFRONT_ORIGIN")?.parse()?;

    let aws = aws_config().await;
    let secrets_manager = secrets_manager_client(&aws);
    let secrets = MerchantSecrets::load(&wxpay_settings.secrets, Some(&secrets_manager)).await?;
    let state = AppState {
        store: DynamoOrderStore::new(dynamodb_client(&aws), table),
        gateway: wxpay_client(&wxpay_settings, secrets)?,
        clock: SystemClock,
        config: orders_config(&wxpay_settings, &flow, notify_url),
        order_numbers: OrderNoGenerator::default(),
    };
    run(router(Arc::new(state), Some(origin))).await
}
