//! Lambda entry point of the storefront API: configuration, clients, router; then the runtime.

use env_config::{Env, ProcessEnv, notify_url};
use lambda_http::{Error, run};
use lambda_init::{Setup, init_logging, init_or_report};
use native_order::{Deps, router};
use orders::adapters::DynamoOrderStore;
use orders::domain::OrderNoGenerator;
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let app = init_or_report(async {
        let env = ProcessEnv;
        let setup = Setup::load(&env).await?;
        let notify_url = notify_url(&env)?;
        let origin = env.required("STOREFRONT_ORIGIN")?.parse()?;
        let state = Deps {
            config: setup.orders_config(),
            notify_url,
            store: DynamoOrderStore::new(setup.dynamodb, setup.orders_table),
            gateway: setup.wxpay,
            clock: SystemClock,
            order_numbers: OrderNoGenerator::default(),
        };
        Ok::<_, Error>(router(Arc::new(state), Some(origin)))
    })
    .await?;
    run(app).await
}
