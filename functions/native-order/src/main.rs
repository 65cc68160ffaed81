//! Lambda entry point of the storefront API: configuration, clients, router; then the runtime.

use lambda_http::{Error, run};
use merchant_config::{Env, FunctionContext, ProcessEnv, init_logging, init_or_report, notify_url};
use native_order::{AppState, router};
use orders::domain::OrderNoGenerator;
use orders::store::DynamoOrderStore;
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let app = init_or_report(async {
        let env = ProcessEnv;
        let context = FunctionContext::load(&env).await?;
        let notify_url = notify_url(&env)?;
        let origin = env.required("STOREFRONT_ORIGIN")?.parse()?;
        let state = AppState {
            config: context.orders_config(),
            notify_url,
            store: DynamoOrderStore::new(context.dynamodb, context.orders_table),
            gateway: context.wxpay,
            clock: SystemClock,
            order_numbers: OrderNoGenerator::default(),
        };
        Ok::<_, Error>(router(Arc::new(state), Some(origin)))
    })
    .await?;
    run(app).await
}
