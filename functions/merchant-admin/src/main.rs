//! Lambda entry point of the merchant admin API: configuration, clients, router; then the runtime.
//! API Gateway authorizes every route with IAM (SigV4); the caller's ARN becomes the principal.

use axum::middleware;
use env_config::{ProcessEnv, notify_url};
use lambda_http::{Error, run};
use lambda_init::{Setup, init_logging, init_or_report};
use merchant_admin::{Deps, principal, router};
use orders::adapters::DynamoOrderStore;
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let app = init_or_report(async {
        let env = ProcessEnv;
        let setup = Setup::load(&env).await?;
        let state = Deps {
            notify_url: notify_url(&env)?,
            store: DynamoOrderStore::new(setup.dynamodb, setup.orders_table),
            gateway: setup.wxpay,
            clock: SystemClock,
        };
        Ok::<_, Error>(router(Arc::new(state)).layer(middleware::from_fn(principal::from_lambda)))
    })
    .await?;
    run(app).await
}
