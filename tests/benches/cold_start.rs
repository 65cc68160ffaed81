//! Cold start of the deployable binaries (a benchmark, not a test): for each function, the time
//! from process start to its first `…/invocation/next` poll against the Runtime API emulator, which
//! is when Lambda considers the init phase over, with the peak resident memory at that point;
//! and the stripped sizes of the bootstraps.
//!
//! Measured twice: with the merchant secrets in local files (no network at init at all: the
//! DynamoDB client is built but not used until the first event), and with `WXPAY_SECRET_ID`, the
//! secrets read from Secrets Manager on loopback (moto; `AWS_ENDPOINT_URL_SECRETS_MANAGER`), which
//! is what a deployment does at each cold start.
//!
//! The binaries measured are release builds for this machine: `$SYSTEM_TESTS_BIN_DIR`, else
//! `target/lambda-x86_64` (`infra/scripts/build-lambdas.sh --x86_64-only`, the same bootstraps
//! as deployed, for x86_64). `infra/scripts/cold-start.sh` builds, starts moto and runs this:
//!
//! ```text
//! cargo bench -p system-tests --bench cold_start --profile dev -- [runs]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use system_tests::function_process::{BIN_DIR_VAR, FUNCTIONS, FunctionProcess, FunctionSpec};
use system_tests::runtime_api::RuntimeApi;
use wxpay_sim::{SimConfig, Simulator};

const DEFAULT_RUNS: usize = 30;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR) {
        return PathBuf::from(dir);
    }
    let dir = workspace().join("target/lambda-x86_64");
    assert!(
        dir.is_dir(),
        "no release binaries: run `infra/scripts/build-lambdas.sh --x86_64-only` (or set \
         {BIN_DIR_VAR} to a folder of release builds)"
    );
    dir
}

fn binary(dir: &Path, name: &str) -> PathBuf {
    let bootstrap = dir.join(name).join("bootstrap");
    if bootstrap.is_file() {
        bootstrap
    } else {
        dir.join(name)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// What one function's cold starts measured.
struct ColdStarts {
    /// Milliseconds from process start to the first poll, sorted.
    millis: Vec<f64>,
    /// Peak resident memory at the first poll, MiB, sorted.
    rss_mib: Vec<f64>,
}

/// Starts `spec` `runs` times, each against a fresh emulator.
async fn measure(spec: &FunctionSpec, runs: usize) -> ColdStarts {
    let mut millis = Vec::with_capacity(runs);
    let mut rss_mib = Vec::with_capacity(runs);
    for _ in 0..runs {
        let api = RuntimeApi::start(&spec.function_name).await.unwrap();
        let mut process = FunctionProcess::spawn(spec, &api).unwrap();
        let Some(polled) = api.wait_first_poll(Duration::from_secs(10)).await else {
            let status = process.try_exit_status().unwrap();
            panic!(
                "{} did not poll (exit status {status:?}):\n{}",
                spec.function_name,
                process.output_text()
            );
        };
        millis.push(polled.duration_since(process.started()).as_secs_f64() * 1000.0);
        if let Some(kib) = process.peak_rss_kib() {
            rss_mib.push(kib as f64 / 1024.0);
        }
        drop(process);
    }
    millis.sort_by(f64::total_cmp);
    rss_mib.sort_by(f64::total_cmp);
    ColdStarts { millis, rss_mib }
}

fn report(label: &str, runs: &ColdStarts) {
    let times = &runs.millis;
    println!(
        "{label:<34} median {:>6.1} ms   p90 {:>6.1} ms   min {:>6.1} ms   max {:>6.1} ms   \
         peak RSS {:>5.1} MiB   (n={})",
        percentile(times, 0.5),
        percentile(times, 0.9),
        percentile(times, 0.0),
        percentile(times, 1.0),
        percentile(&runs.rss_mib, 0.5),
        times.len()
    );
}

fn size(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => format!("{:>6.2} MiB", meta.len() as f64 / 1_048_576.0),
        Err(_) => "   (not built)".to_owned(),
    }
}

#[tokio::main]
async fn main() {
    let runs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_RUNS);
    let dir = bin_dir();
    let state = tempfile::tempdir().unwrap();
    let sim = Simulator::open(SimConfig::new(
        state.path().join("wxpay-sim"),
        url::Url::parse("http://127.0.0.1:9").unwrap(),
    ))
    .await
    .unwrap();
    let sandbox = std::fs::read_to_string(sim.env_file()).unwrap();
    let mut env: Vec<(String, String)> = env_config::MapEnv::parse_dotenv(&sandbox)
        .0
        .into_iter()
        .collect();
    // Nothing is called at init but Secrets Manager: DynamoDB's endpoint is never reached.
    env.extend(
        [
            ("ORDERS_TABLE", "orders"),
            (
                "WXPAY_NOTIFY_URL",
                "https://example.com/api/wx-pay/native/notify",
            ),
            ("STOREFRONT_ORIGIN", "https://shop.example.com"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_SESSION_TOKEN", "test"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );

    println!("cold start: process start → first /invocation/next poll ({runs} runs each)");
    println!("binaries: {}", dir.display());
    for name in FUNCTIONS {
        let spec = FunctionSpec::new(binary(&dir, name), name)
            .vars(env.iter().cloned())
            .var("AWS_LAMBDA_LOG_LEVEL", "WARN");
        report(&format!("{name} (key files)"), &measure(&spec, runs).await);
    }

    match std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "test", "test", None, None, "bench",
                ))
                .load()
                .await;
            let client = aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&config)
                    .endpoint_url(&endpoint)
                    .build(),
            );
            let get = |n: &str| env.iter().find(|(k, _)| k == n).unwrap().1.clone();
            let secret_id = format!("cold-start-{}", uuid::Uuid::new_v4().simple());
            let secret = json!({
                "merchant_private_key": std::fs::read_to_string(get("WXPAY_MERCHANT_KEY_FILE")).unwrap(),
                "apiv3_key": get("WXPAY_APIV3_KEY"),
            });
            client
                .create_secret()
                .name(&secret_id)
                .secret_string(secret.to_string())
                .send()
                .await
                .unwrap();
            for name in FUNCTIONS {
                let spec = FunctionSpec::new(binary(&dir, name), name)
                    .vars(env.iter().cloned())
                    .without("WXPAY_MERCHANT_KEY_FILE")
                    .without("WXPAY_APIV3_KEY")
                    .var("WXPAY_SECRET_ID", &secret_id)
                    .var("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint)
                    .var("AWS_LAMBDA_LOG_LEVEL", "WARN");
                report(
                    &format!("{name} (Secrets Manager)"),
                    &measure(&spec, runs).await,
                );
            }
        }
        _ => println!(
            "Secrets Manager variant skipped: set AWS_ENDPOINT_URL_SECRETS_MANAGER (moto; \
             infra/scripts/cold-start.sh does)"
        ),
    }

    println!("\nstripped bootstrap sizes (release profile, cargo lambda build)");
    let target = workspace().join("target");
    for name in FUNCTIONS {
        println!(
            "{name:<16} arm64 {}   x86_64 {}",
            size(&target.join("lambda").join(name).join("bootstrap")),
            size(&target.join("lambda-x86_64").join(name).join("bootstrap")),
        );
    }
    sim.shutdown().await;
}
