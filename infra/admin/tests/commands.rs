#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Each command against the local admin router (the one the local stack mounts, behind its token),
//! served in-process on 127.0.0.1 over the embedded store and the in-memory WeChat Pay.

use std::sync::Arc;

use clap::Parser;
use orders::adapters::EmbeddedOrderStore;
use orders::domain::{OrderNoGenerator, Product};
use orders::ports::{ProductReader, ProductWriter, RefundReader};
use orders::services::{PlaceOrderRequest, place_native_order, settle_transaction};
use orders::testing::FakeWeChatPay;
use orders::{NotifyUrl, OrdersConfig};
use time::macros::datetime;
use wxpay::FixedClock;
use wxpay::random::OsRandom;
use wxpay_admin::{Cli, run};
use wxpay_local::admin::{AdminToken, guard, token_path};

type Deps = merchant_admin::Deps<EmbeddedOrderStore, FakeWeChatPay, Arc<FixedClock>>;

struct Local {
    url: String,
    dir: tempfile::TempDir,
    state: Arc<Deps>,
    order_no: String,
}

impl Local {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load_or_create(dir.path()).unwrap();
        let store = EmbeddedOrderStore::in_memory().unwrap();
        store
            .put_product(&Product::new("2", "Rust 课程", 2999).unwrap())
            .await
            .unwrap();
        let clock = Arc::new(FixedClock::new(datetime!(2024-05-01 00:00:00 UTC)));
        let state = Arc::new(merchant_admin::Deps {
            store,
            gateway: FakeWeChatPay::new(Arc::clone(&clock)),
            clock,
            notify_url: NotifyUrl::parse("https://shop.example/api/wx-pay/native/notify").unwrap(),
        });
        let config = OrdersConfig::new("wxd678efh567hg6787", "1900007291");
        let placed = place_native_order(
            &state.store,
            &state.gateway,
            &*state.clock,
            &OrderNoGenerator::new(OsRandom),
            &config,
            &state.notify_url,
            &PlaceOrderRequest {
                product_id: "2".into(),
                buyer: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
        let order_no = placed.order.order_no.to_string();
        state.gateway.pay(&order_no).unwrap();
        let transaction = state.gateway.transaction(&order_no).unwrap();
        settle_transaction(&state.store, &*state.clock, &config, &transaction)
            .await
            .unwrap();

        let app = merchant_admin::router(Arc::clone(&state))
            .layer(axum::middleware::from_fn_with_state(token, guard));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            dir,
            state,
            order_no,
        }
    }

    async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let token_file = token_path(self.dir.path());
        let mut argv = vec![
            "wxpay-admin",
            "--url",
            &self.url,
            "--token-file",
            token_file.to_str().unwrap(),
        ];
        argv.extend_from_slice(args);
        run(&Cli::try_parse_from(argv).unwrap())
            .await
            .map(|printed| printed.text)
    }
}

#[tokio::test]
async fn refund_prints_the_refund_and_a_retry_with_its_key_refunds_once() {
    let local = Local::start().await;
    let order = local.order_no.as_str();
    let out = local
        .run(&["refund", order, "--amount", "1000", "--reason", "课程取消"])
        .await
        .unwrap();
    assert!(out.contains("Refund accepted by WeChat Pay"), "{out}");
    assert!(out.contains(&format!("{order}R01")), "{out}");
    assert!(out.contains("PROCESSING") && out.contains("1000"), "{out}");
    assert!(out.contains("local-admin"), "{out}");
    let key = out
        .lines()
        .find_map(|l| l.strip_prefix("Idempotency-Key: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 32);

    let again = local
        .run(&[
            "refund",
            order,
            "--amount",
            "1000",
            "--reason",
            "课程取消",
            "--idempotency-key",
            &key,
            "--json",
        ])
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(json["data"]["refund"]["outRefundNo"], format!("{order}R01"));
    assert_eq!(local.state.gateway.refunded_total(order), 1000);
    let stored = local
        .state
        .store
        .refunds_of(&orders::domain::OrderNo::parse(order).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);

    let over = local
        .run(&["refund", order, "--amount", "5000", "--reason", "太多"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        over.contains("HTTP 409") && over.contains("only 1999 fen"),
        "{over}"
    );
}

#[tokio::test]
async fn order_and_orders_print_tables_and_json() {
    let local = Local::start().await;
    let order = local.order_no.as_str();
    local
        .run(&["refund", order, "--amount", "300", "--reason", "部分退款"])
        .await
        .unwrap();
    let shown = local.run(&["order", order]).await.unwrap();
    assert!(shown.contains("REFUND_PROCESSING"), "{shown}");
    assert!(
        shown.contains("payments: 1") && shown.contains("refunds: 1"),
        "{shown}"
    );
    assert!(shown.contains("部分退款"), "{shown}");

    let listed = local
        .run(&["orders", "--status", "REFUND_PROCESSING", "--limit", "5"])
        .await
        .unwrap();
    assert!(
        listed.starts_with("REFUND_PROCESSING: 1 order(s)"),
        "{listed}"
    );
    assert!(listed.contains(order), "{listed}");
    let json = local
        .run(&["orders", "--status", "REFUNDED", "--json"])
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["data"]["list"], serde_json::json!([]));

    let unknown = local
        .run(&["order", "20240501000000000000000000000000"])
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("HTTP 404"), "{unknown}");
    let bad = local
        .run(&["orders", "--status", "SUCCESS"])
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("HTTP 400"), "{bad}");
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused() {
    let local = Local::start().await;
    let wrong = local.dir.path().join("wrong.token");
    std::fs::write(&wrong, "not-the-token\n").unwrap();
    let argv = [
        "wxpay-admin",
        "--url",
        &local.url,
        "--token-file",
        wrong.to_str().unwrap(),
        "order",
        &local.order_no,
    ];
    let refused = run(&Cli::try_parse_from(argv).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("HTTP 401"), "{refused}");
    let missing = local.dir.path().join("absent.token");
    let argv = [
        "wxpay-admin",
        "--url",
        &local.url,
        "--token-file",
        missing.to_str().unwrap(),
        "order",
        &local.order_no,
    ];
    let error = run(&Cli::try_parse_from(argv).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("admin token"), "{error}");
}

#[tokio::test]
async fn products_put_list_and_remove_through_the_local_admin() {
    let local = Local::start().await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog.example.json");
    let put = local.run(&["products", "put", example]).await.unwrap();
    assert!(put.contains("added rust-201 (2999 fen)"), "{put}");
    assert_eq!(put.lines().count(), 4, "{put}");
    let again = local.run(&["products", "put", example]).await.unwrap();
    assert!(again.contains("replaced java-101"), "{again}");

    let listed = local.run(&["products", "list"]).await.unwrap();
    assert!(listed.starts_with("5 product(s)"), "{listed}");
    assert!(listed.contains("Rust 进阶课程"), "{listed}");
    let stored = local.state.store.list_products().await.unwrap();
    assert_eq!(stored.len(), 5);

    let removed = local.run(&["products", "remove", "web-101"]).await.unwrap();
    assert_eq!(removed, "removed web-101\n");
    let json = local.run(&["products", "list", "--json"]).await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<&str> = json["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "bigdata-101", "java-101", "rust-201"]);
    let gone = local
        .run(&["products", "remove", "web-101"])
        .await
        .unwrap_err()
        .to_string();
    assert!(gone.contains("HTTP 404"), "{gone}");
}

#[tokio::test]
async fn a_bad_catalog_file_writes_nothing() {
    let local = Local::start().await;
    let file = local.dir.path().join("catalog.json");
    std::fs::write(
        &file,
        r#"{"products": [{"id": "ok-1", "title": "好", "price": 100},
                         {"id": "bad-2", "title": "坏", "price": -1}]}"#,
    )
    .unwrap();
    let error = local
        .run(&["products", "put", file.to_str().unwrap()])
        .await
        .unwrap_err();
    let error = format!("{error:#}");
    assert!(
        error.contains("entry 1 (\"bad-2\")") && error.contains("price"),
        "{error}"
    );
    assert_eq!(local.state.store.list_products().await.unwrap().len(), 1);
}
