#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The doctor against the WeChat Pay simulator (in-process on 127.0.0.1), configured from its
//! `sandbox.env` like a real merchant, with one misconfiguration at a time.

use axum::Router;
use axum::http::StatusCode;
use env_config::MapEnv;
use url::Url;
use wxpay::PrivateKey;
use wxpay_admin::doctor::notify::{PUBLIC, REFUSES_UNSIGNED};
use wxpay_admin::doctor::wechat::{APIV3_KEY, SIGNATURE, VERIFICATION};
use wxpay_admin::doctor::{AddressPolicy, CONFIGURATION, Report, Status, merchant};
use wxpay_sim::{SimConfig, Simulator};

struct Sim {
    _sim: Simulator,
    dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    /// A notify endpoint answering 401 to anything, as pay-notify answers an unsigned POST.
    notify: Endpoint,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A local HTTP endpoint answering `status` to any request.
struct Endpoint {
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn endpoint(status: StatusCode) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/wx-pay/native/notify",
        listener.local_addr().unwrap()
    );
    let router = Router::new().fallback(move || async move { status });
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Endpoint { url, server }
}

async fn start() -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let sim = Simulator::open(SimConfig::new(dir.path().join("state"), base))
        .await
        .unwrap();
    let router = sim.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Sim {
        _sim: sim,
        dir,
        server,
        notify: endpoint(StatusCode::UNAUTHORIZED).await,
    }
}

impl Sim {
    /// The merchant's variables: the sandbox's, public-key mode, the local notify endpoint.
    fn env(&self) -> MapEnv {
        let text = std::fs::read_to_string(self.dir.path().join("state/sandbox.env")).unwrap();
        let mut env = MapEnv::parse_dotenv(&text);
        env.0
            .insert("WXPAY_NOTIFY_URL".into(), self.notify.url.clone());
        env
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

async fn doctor(env: &MapEnv) -> Report {
    merchant(env, None, AddressPolicy::AllowLoopback).await
}

fn status(report: &Report, check: &str) -> Status {
    report
        .get(check)
        .unwrap_or_else(|| panic!("no {check} in {report:?}"))
        .status
}

fn cause<'a>(report: &'a Report, check: &str) -> &'a str {
    &report.get(check).unwrap().cause
}

fn certificate_mode(env: &mut MapEnv) {
    env.0.remove("WXPAY_PUBLIC_KEY_ID");
    env.0.remove("WXPAY_PUBLIC_KEY_FILE");
    env.0.insert("WXPAY_PLATFORM_CERTS".into(), "auto".into());
}

#[tokio::test]
async fn a_correct_configuration_passes_in_each_mode() {
    let sim = start().await;
    let public_key = doctor(&sim.env()).await;
    assert!(public_key.passed(), "{}", public_key.text());
    for check in [
        CONFIGURATION,
        SIGNATURE,
        VERIFICATION,
        APIV3_KEY,
        PUBLIC,
        REFUSES_UNSIGNED,
    ] {
        assert_eq!(status(&public_key, check), Status::Pass, "{check}");
    }
    assert!(cause(&public_key, VERIFICATION).contains("public key PUB_KEY_ID_"));
    assert!(cause(&public_key, REFUSES_UNSIGNED).contains("401"));

    let mut env = sim.env();
    certificate_mode(&mut env);
    let certificates = doctor(&env).await;
    assert!(certificates.passed(), "{}", certificates.text());
    assert!(cause(&certificates, VERIFICATION).contains("platform certificate"));

    env.0.insert(
        "WXPAY_PUBLIC_KEY_ID".into(),
        sim.env().0["WXPAY_PUBLIC_KEY_ID"].clone(),
    );
    env.0.insert(
        "WXPAY_PUBLIC_KEY_FILE".into(),
        sim.env().0["WXPAY_PUBLIC_KEY_FILE"].clone(),
    );
    let both = doctor(&env).await;
    assert!(both.passed(), "{}", both.text());
}

#[tokio::test]
async fn a_wrong_serial_is_named() {
    let sim = start().await;
    let mut env = sim.env();
    env.0.insert(
        "WXPAY_MERCHANT_SERIAL".into(),
        "1DB1A0F0E2C8A7B6C5D4E3F2A1B0C9D8E7F6A5B4".into(),
    );
    let report = doctor(&env).await;
    assert!(!report.passed());
    assert_eq!(status(&report, SIGNATURE), Status::Fail);
    let finding = report.get(SIGNATURE).unwrap();
    assert!(
        finding
            .cause
            .contains("refused the merchant serial 1DB1A0F0"),
        "{finding:?}"
    );
    assert!(finding.fix.contains("WXPAY_MERCHANT_SERIAL"), "{finding:?}");
    assert_eq!(status(&report, VERIFICATION), Status::Skip);
    assert_eq!(status(&report, APIV3_KEY), Status::Skip);
    // The notify URL is checked all the same.
    assert_eq!(status(&report, REFUSES_UNSIGNED), Status::Pass);
}

#[tokio::test]
async fn a_wrong_private_key_is_named() {
    let sim = start().await;
    let mut env = sim.env();
    let other = PrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
    env.0.insert(
        "WXPAY_MERCHANT_KEY_FILE".into(),
        sim.file("other_key.pem", &other),
    );
    let report = doctor(&env).await;
    assert!(!report.passed());
    let finding = report.get(SIGNATURE).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding.cause.contains("the private key is not the key"),
        "{finding:?}"
    );
    assert!(finding.fix.contains("apiclient_key.pem"), "{finding:?}");
    // Nothing secret is shown.
    assert!(!report.text().contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_private_key_that_does_not_parse_fails_the_configuration() {
    let sim = start().await;
    let mut env = sim.env();
    env.0.insert(
        "WXPAY_MERCHANT_KEY_FILE".into(),
        sim.file("garbage.pem", "-----BEGIN PRIVATE KEY-----\nnot a key\n"),
    );
    let report = doctor(&env).await;
    assert_eq!(status(&report, CONFIGURATION), Status::Fail);
    assert!(cause(&report, CONFIGURATION).contains("WXPAY_MERCHANT_KEY_FILE"));
    assert_eq!(status(&report, SIGNATURE), Status::Skip);
}

#[tokio::test]
async fn a_wrong_apiv3_key_does_not_decrypt_the_certificate_list() {
    let sim = start().await;
    for certificates in [false, true] {
        let mut env = sim.env();
        if certificates {
            certificate_mode(&mut env);
        }
        env.0.insert(
            "WXPAY_APIV3_KEY".into(),
            "0123456789abcdefghijklmnopqrstuv".into(),
        );
        let report = doctor(&env).await;
        assert!(!report.passed(), "{}", report.text());
        assert_eq!(status(&report, SIGNATURE), Status::Pass);
        assert_eq!(
            cause(&report, APIV3_KEY),
            "the APIv3 key does not decrypt the certificate list: it is not the key set in the \
             merchant platform"
        );
        assert!(!report.text().contains("0123456789abcdef"));
        // Certificate mode cannot verify without the list; public-key mode still can.
        let expected = if certificates {
            Status::Skip
        } else {
            Status::Pass
        };
        assert_eq!(status(&report, VERIFICATION), expected);
    }
}

#[tokio::test]
async fn a_wrong_public_key_does_not_verify_the_answer() {
    let sim = start().await;
    let mut env = sim.env();
    let other = PrivateKey::generate()
        .unwrap()
        .public_key()
        .unwrap()
        .to_spki_pem()
        .unwrap();
    env.0.insert(
        "WXPAY_PUBLIC_KEY_FILE".into(),
        sim.file("other_pub_key.pem", &other),
    );
    let report = doctor(&env).await;
    assert!(!report.passed());
    assert_eq!(status(&report, SIGNATURE), Status::Pass);
    let finding = report.get(VERIFICATION).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding.cause.contains("not WeChat Pay's public key"),
        "{finding:?}"
    );
    assert!(finding.fix.contains("微信支付公钥"), "{finding:?}");
    assert_eq!(status(&report, APIV3_KEY), Status::Pass);
}

#[tokio::test]
async fn a_wrong_public_key_id_is_named() {
    let sim = start().await;
    let mut env = sim.env();
    env.0.insert(
        "WXPAY_PUBLIC_KEY_ID".into(),
        "PUB_KEY_ID_0000000000000000000000000000".into(),
    );
    let report = doctor(&env).await;
    let finding = report.get(VERIFICATION).unwrap();
    assert_eq!(finding.status, Status::Fail, "{}", report.text());
    assert!(finding.cause.contains("the ID is not"), "{finding:?}");
}

#[tokio::test]
async fn a_loopback_notify_url_fails_and_is_not_called() {
    let sim = start().await;
    let mut env = sim.env();
    let ok = endpoint(StatusCode::OK).await;
    env.0.insert("WXPAY_NOTIFY_URL".into(), ok.url.clone());
    // What the command does: loopback is never allowed.
    let report = merchant(&env, None, AddressPolicy::PublicOnly).await;
    assert!(!report.passed());
    let finding = report.get(PUBLIC).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(finding.cause.contains("loopback"), "{finding:?}");
    assert!(finding.fix.contains("WXPAY_NOTIFY_URL"), "{finding:?}");
    assert_eq!(status(&report, REFUSES_UNSIGNED), Status::Skip);
    // The WeChat Pay checks still ran and passed.
    assert_eq!(status(&report, VERIFICATION), Status::Pass);
}

#[tokio::test]
async fn a_notify_url_that_accepts_anything_fails() {
    let sim = start().await;
    let mut env = sim.env();
    let ok = endpoint(StatusCode::OK).await;
    env.0.insert("WXPAY_NOTIFY_URL".into(), ok.url.clone());
    let report = doctor(&env).await;
    assert!(!report.passed());
    assert_eq!(status(&report, PUBLIC), Status::Pass);
    let finding = report.get(REFUSES_UNSIGNED).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding
            .cause
            .contains("accepts notifications nobody signed"),
        "{finding:?}"
    );
}

#[tokio::test]
async fn a_notify_url_that_does_not_answer_in_5_s_fails() {
    let sim = start().await;
    let mut env = sim.env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let router = Router::new().fallback(|| async {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        StatusCode::UNAUTHORIZED
    });
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    env.0.insert("WXPAY_NOTIFY_URL".into(), url);
    let started = std::time::Instant::now();
    let report = doctor(&env).await;
    server.abort();
    let finding = report.get(REFUSES_UNSIGNED).unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(finding.cause.contains("within 5 s"), "{finding:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[tokio::test]
async fn a_notify_url_without_a_publicly_trusted_certificate_fails() {
    use tokio_rustls::rustls;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "https://{}/api/wx-pay/native/notify",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // The client gives up during the handshake: nothing is served.
            let _ = acceptor.accept(stream).await;
        }
    });
    let findings = wxpay_admin::doctor::notify::check(&url, AddressPolicy::AllowLoopback).await;
    server.abort();
    assert_eq!(findings[0].status, Status::Pass, "{findings:?}");
    let finding = &findings[1];
    assert_eq!(finding.status, Status::Fail, "{finding:?}");
    assert!(
        finding.cause.contains("certificate is not valid"),
        "{finding:?}"
    );
    assert!(finding.fix.contains("public CA"), "{finding:?}");
}
