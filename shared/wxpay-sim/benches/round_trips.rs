//! Throughput of the simulator on loopback: concurrent merchants doing prepay + query round trips
//! through the `wxpay` client, then a breakdown of where a request's time goes on the simulator's
//! side (request signature check, response signature, order log, JSON and field checks).
//!
//! `cargo bench -p wxpay-sim --bench round_trips` (env: `BENCH_SECS`, default 5;
//! `BENCH_CLIENTS`, default 4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use url::Url;
use wxpay::keys::{PrivateKey, PublicKey};
use wxpay::models::NativePrepayRequest;
use wxpay::random::OsRandom;
use wxpay::{ApiV3Key, Client, ClientConfig, SystemClock, Verification};
use wxpay_sim::config::SigningMode;
use wxpay_sim::signing::ResponseSigner;
use wxpay_sim::store::OrderStore;
use wxpay_sim::{SimConfig, Simulator};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn read_env(path: &std::path::Path) -> std::collections::HashMap<String, String> {
    envfile::parse(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .collect()
}

fn client(env: &std::collections::HashMap<String, String>) -> Client {
    let key =
        PrivateKey::from_pem(&std::fs::read_to_string(&env["WXPAY_MERCHANT_KEY_FILE"]).unwrap())
            .unwrap();
    let public =
        PublicKey::from_pem(&std::fs::read_to_string(&env["WXPAY_PUBLIC_KEY_FILE"]).unwrap())
            .unwrap();
    let config = ClientConfig {
        base_url: Url::parse(&env["WXPAY_BASE_URL"]).unwrap(),
        mchid: env["WXPAY_MCHID"].clone(),
        merchant_serial: env["WXPAY_MERCHANT_SERIAL"].clone(),
        merchant_key: key,
        apiv3_key: env["WXPAY_APIV3_KEY"].parse::<ApiV3Key>().unwrap(),
        verification: Verification::PublicKey {
            id: env["WXPAY_PUBLIC_KEY_ID"].clone(),
            key: public,
        },
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    Client::new(config, Arc::new(SystemClock), Arc::new(OsRandom)).unwrap()
}

fn request(env: &std::collections::HashMap<String, String>, no: String) -> NativePrepayRequest {
    NativePrepayRequest::new(
        env["WXPAY_APPID"].clone(),
        env["WXPAY_MCHID"].clone(),
        "压测商品 load-test item",
        no,
        "https://merchant.example.com/api/wx-pay/native/notify",
        1,
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn per_op(label: &str, iterations: u32, mut op: impl FnMut(u32)) {
    let started = Instant::now();
    for i in 0..iterations {
        op(i);
    }
    let each = started.elapsed() / iterations;
    println!("  {label:<48} {:>9.1} µs", each.as_secs_f64() * 1e6);
}

fn main() {
    let secs = env_or("BENCH_SECS", 5);
    let clients = env_or("BENCH_CLIENTS", 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");

    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let sim = Simulator::open(SimConfig::new(&dir, base)).await.unwrap();
        let router = sim.router();
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let env = read_env(&sim.env_file());

        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for worker in 0..clients {
            let client = client(&env);
            let env = env.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let no = format!("B{worker}X{n:010}");
                    n += 1;
                    let started = Instant::now();
                    client.native_prepay(&request(&env, no.clone())).await.unwrap();
                    latencies.push(started.elapsed());
                    let started = Instant::now();
                    client.query_by_out_trade_no(&no).await.unwrap();
                    latencies.push(started.elapsed());
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        latencies.sort();
        let requests = latencies.len();
        println!(
            "wxpay-sim round trips: {clients} concurrent clients, {secs} s, RSA backend {}",
            wxpay::keys::BACKEND
        );
        println!(
            "  {requests} requests (prepay + query) = {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms",
            requests as f64 / secs as f64,
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
        println!("  (clients sign requests and verify answers on the same 2 cores)");
        sim.shutdown().await;
        server.abort();
    });

    // Where the simulator's time goes, per request, single-threaded.
    println!("simulator-side cost per request:");
    let sandbox_dir = tmp.path().join("parts");
    let sandbox = Arc::new(
        wxpay_sim::sandbox::Sandbox::open_or_create(
            &sandbox_dir,
            &Url::parse("http://127.0.0.1:1").unwrap(),
        )
        .unwrap(),
    );
    let env = read_env(&sandbox_dir.join("sandbox.env"));
    let merchant =
        PrivateKey::from_pem(&std::fs::read_to_string(&env["WXPAY_MERCHANT_KEY_FILE"]).unwrap())
            .unwrap();
    let signer = wxpay::sign::MerchantSigner::new(
        env["WXPAY_MCHID"].clone(),
        env["WXPAY_MERCHANT_SERIAL"].clone(),
        merchant,
    );
    let body = serde_json::to_vec(&request(&env, "B0X0000000001".into())).unwrap();
    let now = OffsetDateTime::now_utc();
    let path = "/v3/pay/transactions/native";
    let header = signer
        .authorization("POST", path, &body, now.unix_timestamp(), "NONCE")
        .unwrap();
    per_op("request signature check (RSA-2048 verify)", 2000, |_| {
        wxpay_sim::auth::authenticate(&sandbox, "POST", path, Some(&header), &body, now).unwrap();
    });
    let response_signer = ResponseSigner::new(sandbox.clone(), SigningMode::PublicKey);
    let answer = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abcdefghijklmnop"}"#;
    per_op("response signature (RSA-2048 sign)", 500, |_| {
        response_signer
            .sign(
                SigningMode::PublicKey,
                now.unix_timestamp(),
                "n".repeat(32),
                answer,
            )
            .unwrap();
    });
    per_op("JSON parse + field validation of a prepay", 20_000, |_| {
        let parsed: NativePrepayRequest = wxpay_sim::json::parse(&body).unwrap();
        wxpay::validate::native_prepay(&parsed).unwrap();
    });
    let store = OrderStore::open(&tmp.path().join("store")).unwrap();
    per_op(
        "order creation incl. append to the order log",
        20_000,
        |i| {
            store
                .prepay(request(&env, format!("S{i:012}")), now)
                .unwrap();
        },
    );
    per_op("order query (lookup + transaction view)", 20_000, |i| {
        let order = store
            .by_out_trade_no(&format!("S{:012}", i % 1000))
            .unwrap();
        std::hint::black_box(order.transaction());
    });
}
