//! `wxpay-local`: the whole system on one machine.

use anyhow::Context as _;
use clap::Parser;
use env_config::{Env, FlowSettings, ProcessEnv};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wxpay::SystemClock;
use wxpay_local::{Stack, StackConfig};

/// Runs the storefront, the API, the notification URL, the sweep, the WeChat Pay simulator and an
/// embedded store in one process.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Local state (embedded store, simulator sandbox, sandbox.env).
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// The static storefront.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../storefront"))]
    storefront_dir: PathBuf,
    /// Divides the simulator's notification retry delays.
    #[arg(long, default_value_t = 1.0)]
    sim_time_scale: f64,
    /// Seconds between sweeps.
    #[arg(long, default_value_t = 15)]
    sweep_every: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .init();
    let args = Args::parse();
    let stack = Stack::start(StackConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        storefront_dir: args.storefront_dir,
        sim_time_scale: args.sim_time_scale,
        sweep_every: Duration::from_secs(args.sweep_every.max(1)),
        flow: FlowSettings::from_env(&ProcessEnv)?,
        orders_table: ProcessEnv.var("ORDERS_TABLE"),
        clock: Arc::new(SystemClock),
    })
    .await
    .context("local stack failed to start")?;
    let base = stack.base_url().as_str().trim_end_matches('/').to_owned();
    println!("storefront:        {base}/");
    println!("storefront API:    {base}/api/product/list");
    println!("notify URL:        {base}/api/wx-pay/native/notify");
    if stack.simulator().is_some() {
        println!("WeChat Pay (sim):  {base}/v3/  — play the shopper at {base}/sim");
        println!(
            "sandbox merchant:  {}",
            args.data_dir.join("sandbox.env").display()
        );
    }
    println!(
        "order store:       {}",
        match ProcessEnv.var("ORDERS_TABLE") {
            Some(table) => format!("DynamoDB table {table}"),
            None => format!("embedded, {}", args.data_dir.join("orders").display()),
        }
    );
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    stack.shutdown().await;
    Ok(())
}
