//! Lambda entry point of the notification URL: configuration, clients, router; then the runtime.

use env_config::ProcessEnv;
use lambda_http::{Error, run};
use lambda_init::{Setup, init_logging, init_or_report};
use orders::adapters::DynamoOrderStore;
use pay_notify::{Deps, handler::DEFAULT_DEADLINE, router};
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let setup = init_or_report(Setup::load(&ProcessEnv)).await?;
    let state = Deps {
        // The client serves only its verifier (and, in certificate mode, certificate downloads).
        parser: setup.wxpay.notification_parser(),
        config: setup.orders_config(),
        store: DynamoOrderStore::new(setup.dynamodb, setup.orders_table),
        clock: SystemClock,
        deadline: DEFAULT_DEADLINE,
    };
    run(router(Arc::new(state))).await
}
