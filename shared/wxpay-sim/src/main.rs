//! `wxpay-sim`: the WeChat Pay simulator as a command.

use anyhow::Context as _;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use wxpay_sim::{SigningMode, SimConfig, Simulator};

/// A WeChat Pay APIv3 simulator for Native payments.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// Directory of the sandbox merchant and its orders (created if missing, reused if not).
    #[arg(long)]
    state_dir: PathBuf,
    /// Divides every delay of the notification retry ladder (e.g. 60: a minute per second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seconds a merchant has to acknowledge a notification.
    #[arg(long, default_value_t = 5.0)]
    notify_timeout: f64,
    /// Key that signs when the request's Wechatpay-Serial names none.
    #[arg(long, value_enum, default_value = "public-key")]
    signing_mode: Mode,
    /// URL written to sandbox.env (default: http:// + the listening address).
    #[arg(long)]
    base_url: Option<url::Url>,
    /// WeChat Pay's fee rate in the trade bills, in basis points (60 = 0.60%).
    #[arg(long, default_value_t = wxpay_sim::config::DEFAULT_FEE_RATE_BP)]
    fee_rate_bp: u32,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    PublicKey,
    Certificate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        args.notify_timeout.is_finite()
            && args.notify_timeout > 0.0
            && args.notify_timeout <= 600.0,
        "--notify-timeout must be between 0 and 600 seconds"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let base_url = match args.base_url {
        Some(url) => url,
        None => url::Url::parse(&format!("http://{address}"))?,
    };
    let config = SimConfig::new(args.state_dir, base_url)
        .with_time_scale(args.time_scale)
        .with_notify_timeout(Duration::from_secs_f64(args.notify_timeout))
        .with_fee_rate_bp(args.fee_rate_bp)
        .with_signing_mode(match args.signing_mode {
            Mode::PublicKey => SigningMode::PublicKey,
            Mode::Certificate => SigningMode::Certificate,
        });
    let simulator = Simulator::open(config).await?;
    let base = simulator
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    println!("wxpay-sim listening on {base}");
    println!(
        "sandbox merchant settings: {}",
        simulator.env_file().display()
    );
    println!("shopper page: {base}/sim");
    axum::serve(listener, simulator.router())
        .with_graceful_shutdown(stop_signal())
        .await?;
    simulator.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
