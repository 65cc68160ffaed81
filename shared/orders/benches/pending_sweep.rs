//! One pending sweep over a store holding many settled orders and a few pending ones: it must read
//! about as many items as there are pending orders, not the whole table.
//!
//! `cargo bench -p orders --bench pending_sweep` (defaults: 100,000 settled, 1,000 pending).
//! `BENCH_SETTLED` and `BENCH_PENDING` shrink it for a quick run. The DynamoDB half runs when
//! `AWS_ENDPOINT_URL_DYNAMODB` names a DynamoDB API server (moto: see `scripts/moto_serial.py`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;
use wxpay::random::OsRandom;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use futures::StreamExt;
use orders::OrdersConfig;
use orders::adapters::dynamo::{create_table, item::order_item};
use orders::adapters::{DynamoOrderStore, EmbeddedOrderStore, ReadStats};
use orders::domain::{Order, OrderNoGenerator, OrderStatus, Product};
use orders::ports::{GatewayError, PaymentGateway};
use orders::services::sweep_pending;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wxpay::FixedClock;
use wxpay::models::{NativePrepayRequest, Transaction};

const T0: OffsetDateTime = datetime!(2024-05-01 00:00:00 UTC);

/// WeChat Pay as the sweep sees it here: every order unknown (and none expired), so the sweep reads
/// and queries every pending order and changes nothing.
struct Unknown;

impl PaymentGateway for Unknown {
    async fn native_prepay(&self, _: &NativePrepayRequest) -> Result<String, GatewayError> {
        Err(GatewayError::NotSent("benchmark".into()))
    }
    async fn query_order(&self, _: &str) -> Result<Option<Transaction>, GatewayError> {
        Ok(None)
    }
    async fn close_order(&self, _: &str) -> Result<(), GatewayError> {
        Ok(())
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn orders(settled: usize, pending: usize) -> Vec<Order> {
    let ids = OrderNoGenerator::new(OsRandom);
    let product = Product::new("1", "Java 课程", 1).unwrap();
    (0..settled + pending)
        .map(|i| {
            let at = T0 + Duration::milliseconds(i as i64 * 10);
            let mut order = Order::new_pending(
                ids.generate(at).unwrap(),
                &product,
                None,
                at,
                Duration::days(365),
            );
            if i < settled {
                order.order_status = OrderStatus::Success;
                order.transaction_id = Some(format!("4200000000{i:018}"));
            }
            order
        })
        .collect()
}

fn report(
    store: &str,
    total: usize,
    pending: usize,
    stats: ReadStats,
    examined: u64,
    took: std::time::Duration,
) {
    println!(
        "{store:>9}: {total} orders ({pending} pending) -> sweep examined {examined}, read {} items, {:.1} RCU, {:.2?}",
        stats.items_read, stats.capacity_units, took
    );
}

async fn sweep<S>(store: &S) -> (u64, std::time::Duration)
where
    S: orders::ports::SweepStore,
{
    let clock = FixedClock::new(T0 + Duration::days(2));
    let mut config = OrdersConfig::new("wx", "1900000001");
    config.sweep_concurrency = 32;
    let started = Instant::now();
    let report = sweep_pending(store, &Unknown, &clock, &config, T0 + Duration::days(3))
        .await
        .unwrap();
    (report.examined, started.elapsed())
}

async fn embedded(all: &[Order], pending: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedOrderStore::open(dir.path()).await.unwrap();
    let started = Instant::now();
    for chunk in all.chunks(10_000) {
        store.seed_orders(chunk.to_vec()).await.unwrap();
    }
    println!(
        " embedded: seeded {} orders in {:.1?}",
        all.len(),
        started.elapsed()
    );
    store.reset_read_stats();
    let (examined, took) = sweep(&store).await;
    report(
        "embedded",
        all.len(),
        pending,
        store.read_stats(),
        examined,
        took,
    );
}

async fn dynamo(all: &[Order], pending: usize) {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") else {
        println!("   dynamo: skipped (set AWS_ENDPOINT_URL_DYNAMODB to a DynamoDB API server)");
        return;
    };
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint);
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "bench"));
    }
    if std::env::var("AWS_REGION").is_err() {
        loader = loader.region(Region::new("us-east-1"));
    }
    let client = aws_sdk_dynamodb::Client::new(&loader.load().await);
    let table = format!("orders-bench-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.unwrap();
    let store = DynamoOrderStore::new(client.clone(), table.clone());
    let started = Instant::now();
    let batches: Vec<Vec<WriteRequest>> = all
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|order| {
                    let put = PutRequest::builder()
                        .set_item(Some(order_item(order).unwrap()))
                        .build()
                        .unwrap();
                    WriteRequest::builder().put_request(put).build()
                })
                .collect()
        })
        .collect();
    futures::stream::iter(batches)
        .map(|batch| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                let mut request = Some(std::collections::HashMap::from([(table, batch)]));
                while let Some(items) = request.take().filter(|r| !r.is_empty()) {
                    let out = client
                        .batch_write_item()
                        .set_request_items(Some(items))
                        .send()
                        .await
                        .unwrap();
                    request = out.unprocessed_items;
                }
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    println!(
        "   dynamo: seeded {} orders in {:.1?}",
        all.len(),
        started.elapsed()
    );
    store.reset_read_stats();
    let (examined, took) = sweep(&store).await;
    report(
        "dynamo",
        all.len(),
        pending,
        store.read_stats(),
        examined,
        took,
    );
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
}

fn main() {
    let settled = env_count("BENCH_SETTLED", 100_000);
    let pending = env_count("BENCH_PENDING", 1_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let all = orders(settled, pending);
    runtime.block_on(async {
        embedded(&all, pending).await;
        dynamo(&all, pending).await;
    });
}
