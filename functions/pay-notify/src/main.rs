//! Lambda entry point of the notification URL: configuration, clients, router; then the runtime.

use lambda_http::{Error, run};
use merchant_config::{FunctionContext, ProcessEnv, init_logging, init_or_report};
use orders::store::DynamoOrderStore;
use pay_notify::{NotifyState, handler::DEFAULT_DEADLINE, router};
use std::sync::Arc;
use wxpay::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging(&ProcessEnv);
    let context = init_or_report(FunctionContext::load(&ProcessEnv)).await?;
    let state = NotifyState {
        // The client serves only its verifier (and, in certificate mode, certificate downloads).
        parser: context.wxpay.notification_parser(),
        config: context.orders_config(),
        store: DynamoOrderStore::new(context.dynamodb, context.orders_table),
        clock: SystemClock,
        deadline: DEFAULT_DEADLINE,
    };
    run(router(Arc::new(state))).await
}
