//! Connects to the DynamoDB API server of the tests (moto in server mode) and makes a fresh table.

use aws_sdk_dynamodb::config::{Credentials, Region};
use orders::adapters::DynamoOrderStore;
use orders::adapters::dynamo::create_table;

/// The standard AWS SDK variable the DynamoDB tests need.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// Whether the DynamoDB suite can run: `AWS_ENDPOINT_URL_DYNAMODB` names a DynamoDB API server that
/// serializes requests (e.g. `python3 shared/orders/scripts/moto_serial.py -p 5005 &`, see
/// shared/orders/README.md). Each test calls it first and returns at once, after saying so, when
/// it cannot.
pub fn can_run() -> bool {
    orders::testing::aws_suite_can_run("orders-dynamodb", ENDPOINT_VAR)
}

/// A client for the server named by `AWS_ENDPOINT_URL_DYNAMODB`.
pub async fn client() -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "tests"));
    }
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        loader = loader.region(Region::new("us-east-1"));
    }
    let config = loader.load().await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A store on a new, empty table of its own (so tests run in parallel).
pub async fn fresh_store() -> DynamoOrderStore {
    let client = client().await;
    let table = format!("orders-test-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table)
        .await
        .unwrap_or_else(|err| panic!("cannot create table {table} at ${ENDPOINT_VAR}: {err}"));
    DynamoOrderStore::new(client, table)
}
