//! The sandbox on disk: the files a merchant configures itself from, reuse across restarts, the
//! command line, the shopper's page, and embedding next to other routers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{start, start_in, trade_no};
use wxpay::models::TradeState;
use wxpay_sim::{SimConfig, Simulator};

const NOTIFY: &str = "https://merchant.example.com/notify";

#[tokio::test]
async fn a_fresh_sandbox_writes_every_file_with_private_keys_private() {
    let sim = start().await;
    let env = sim.env();
    for name in [
        "WXPAY_MCHID",
        "WXPAY_APPID",
        "WXPAY_MERCHANT_SERIAL",
        "WXPAY_MERCHANT_KEY_FILE",
        "WXPAY_APIV3_KEY",
        "WXPAY_PUBLIC_KEY_ID",
        "WXPAY_PUBLIC_KEY_FILE",
        "WXPAY_BASE_URL",
    ] {
        assert!(env.get(name).is_some_and(|v| !v.is_empty()), "{name}");
    }
    assert_eq!(
        env["WXPAY_BASE_URL"],
        sim.base.as_str().trim_end_matches('/')
    );
    assert_eq!(env["WXPAY_APIV3_KEY"].len(), 32);
    assert!(env["WXPAY_PUBLIC_KEY_ID"].starts_with("PUB_KEY_ID_"));
    assert_eq!(env["WXPAY_MERCHANT_SERIAL"].len(), 40);
    for file in ["WXPAY_MERCHANT_KEY_FILE", "WXPAY_PUBLIC_KEY_FILE"] {
        let path = std::path::Path::new(&env[file]);
        assert!(path.is_absolute() && path.exists(), "{file}");
    }
    let merchant_key = std::fs::read_to_string(&env["WXPAY_MERCHANT_KEY_FILE"]).unwrap();
    assert!(merchant_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    for file in [
        "sandbox.env",
        "apiclient_key.pem",
        "wechatpay_private_key.pem",
        "platform_key.pem",
        "orders.jsonl",
    ] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(sim.dir.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
    }
    let cert = wxpay::certificate::PlatformCertificate::from_pem(
        &std::fs::read_to_string(sim.dir.join("platform_cert.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.serial_no.len(), 40);
    let now = time::OffsetDateTime::now_utc();
    assert!(cert.is_valid_at(now));
    assert!(cert.not_after > now + time::Duration::days(4 * 365));
    sim.stop().await;
}

#[tokio::test]
async fn orders_and_the_merchant_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let sim = start_in(&dir, |c| c).await;
    let before = sim.env();
    let key_before = std::fs::read(dir.join("apiclient_key.pem")).unwrap();
    let client = sim.client();
    let paid = trade_no("A");
    let open = trade_no("B");
    let code = client
        .native_prepay(&sim.prepay(&paid, NOTIFY))
        .await
        .unwrap();
    let open_code = client
        .native_prepay(&sim.prepay(&open, NOTIFY))
        .await
        .unwrap();
    sim.scan(&code.code_url).await;
    let paid_before = client.query_by_out_trade_no(&paid).await.unwrap();
    sim.stop().await;

    let sim = start_in(&dir, |c| c).await;
    let after = sim.env();
    assert_ne!(
        after["WXPAY_BASE_URL"], before["WXPAY_BASE_URL"],
        "new port"
    );
    for name in [
        "WXPAY_MCHID",
        "WXPAY_MERCHANT_SERIAL",
        "WXPAY_APIV3_KEY",
        "WXPAY_PUBLIC_KEY_ID",
    ] {
        assert_eq!(after[name], before[name], "{name}");
    }
    assert_eq!(
        std::fs::read(dir.join("apiclient_key.pem")).unwrap(),
        key_before
    );
    let client = sim.client();
    assert_eq!(
        client.query_by_out_trade_no(&paid).await.unwrap(),
        paid_before
    );
    let id = paid_before.transaction_id.unwrap();
    assert_eq!(
        client
            .query_by_transaction_id(&id)
            .await
            .unwrap()
            .out_trade_no,
        paid
    );
    // The open order's code_url still pays after the restart.
    assert_eq!(sim.scan(&open_code.code_url).await.0, 200);
    assert_eq!(
        client
            .query_by_out_trade_no(&open)
            .await
            .unwrap()
            .trade_state,
        TradeState::Success
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_partial_sandbox_is_refused_rather_than_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("apiclient_key.pem"), "mine").unwrap();
    let base = url::Url::parse("http://127.0.0.1:1").unwrap();
    let err = Simulator::open(SimConfig::new(tmp.path(), base.clone()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("apiclient_key.pem"), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("apiclient_key.pem")).unwrap(),
        "mine"
    );
    for bad in [0.0, -1.0, f64::NAN] {
        let config = SimConfig::new(tmp.path().join("x"), base.clone()).with_time_scale(bad);
        assert!(Simulator::open(config).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn the_shopper_page_lists_orders_with_a_pay_button_only_for_open_ones() {
    let sim = start().await;
    let client = sim.client();
    let open = trade_no("O");
    let paid = trade_no("P");
    client
        .native_prepay(&sim.prepay(&open, NOTIFY))
        .await
        .unwrap();
    let code = client
        .native_prepay(&sim.prepay(&paid, NOTIFY))
        .await
        .unwrap();
    sim.scan(&code.code_url).await;
    let mut attack = sim.prepay(&trade_no("X"), NOTIFY);
    attack.description = "<script>alert(1)</script>".into();
    client.native_prepay(&attack).await.unwrap();

    let page = sim.raw("GET", "/sim").send().await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(&open) && html.contains(&paid));
    assert_eq!(html.matches("scan &amp; pay</button>").count(), 2);
    assert!(!html.contains("<script>alert"), "descriptions are escaped");
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "no external assets"
    );
    assert!(html.contains(&sim.mchid()));
    sim.stop().await;
}

#[tokio::test]
async fn the_router_merges_next_to_other_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let sim = Simulator::open(SimConfig::new(tmp.path(), base.clone()))
        .await
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/api/product/list",
            axum::routing::get(|| async { "products" }),
        )
        .merge(sim.router());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: &str| {
        http.get(format!("{base}{}", path.trim_start_matches('/')))
            .send()
    };
    assert_eq!(
        get("/api/product/list")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "products"
    );
    assert_eq!(get("/sim/faults").await.unwrap().status(), 200);
    assert_eq!(
        sim.env_file(),
        tmp.path().canonicalize().unwrap().join("sandbox.env")
    );
    sim.shutdown().await;
    sim.shutdown().await;
    server.abort();
}

/// The binary exists only with the `cli` feature (on by default).
#[cfg(feature = "cli")]
mod command {
    use super::common::read_env;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    #[test]
    fn the_command_prints_its_url_and_sandbox_env_and_serves() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxpay-sim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--time-scale",
                "60",
                "--state-dir",
            ])
            .arg(tmp.path().join("state"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        let second = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("wxpay-sim listening on ")
            .unwrap()
            .to_owned();
        let env_path = second
            .strip_prefix("sandbox merchant settings: ")
            .unwrap()
            .to_owned();
        let env = read_env(std::path::Path::new(&env_path));
        assert_eq!(env["WXPAY_BASE_URL"], url);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = runtime.block_on(async {
            let http = reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            http.get(format!("{url}/sim"))
                .send()
                .await
                .unwrap()
                .status()
        });
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(status, 200);

        let refused = Command::new(env!("CARGO_BIN_EXE_wxpay-sim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--time-scale",
                "0",
                "--state-dir",
            ])
            .arg(tmp.path().join("other"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("time scale"));
    }
}
