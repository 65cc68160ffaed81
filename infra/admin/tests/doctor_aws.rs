#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The doctor on a deployed stack, against moto (CloudFormation, Lambda, Secrets Manager,
//! DynamoDB, EventBridge Scheduler) and the WeChat Pay simulator. Skipped without moto
//! (`AWS_ENDPOINT_URL_DYNAMODB`, as tests/run-all.sh sets). moto's CloudFormation cannot create
//! an `AWS::Scheduler::Schedule`, so the schedule check is tested on its own.

use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Target};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use env_config::MapEnv;
use serde_json::json;
use url::Url;
use wxpay_admin::doctor::notify::PUBLIC;
use wxpay_admin::doctor::stack::{self, STOREFRONT, TABLE};
use wxpay_admin::doctor::wechat::{APIV3_KEY, SIGNATURE, VERIFICATION};
use wxpay_admin::doctor::{AwsClients, CONFIGURATION, STACK, Status, deployed};
use wxpay_sim::{SimConfig, Simulator};

const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// Clients for moto (one endpoint serves every service), or `None` without it.
async fn moto() -> Option<AwsClients> {
    if !orders::testing::aws_suite_can_run("wxpay-admin-doctor", ENDPOINT_VAR) {
        return None;
    }
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    Some(AwsClients::new(&config))
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        wxpay::random::digits(&wxpay::random::OsRandom, 6)
    )
}

/// Serves `body` as `/config.js`; returns the origin.
async fn storefront(body: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().route("/config.js", get(move || async move { body }));
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (origin, server)
}

#[tokio::test]
async fn a_deployed_stack_is_read_from_its_function_secret_and_outputs() {
    let Some(aws) = moto().await else {
        return;
    };
    // WeChat Pay: the simulator, its merchant's variables as the function would have them.
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let sim = Simulator::open(SimConfig::new(dir.path().join("state"), base))
        .await
        .unwrap();
    let router = sim.router();
    let sim_server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let sandbox = MapEnv::parse_dotenv(&std::fs::read_to_string(sim.env_file()).unwrap()).0;
    let read = |name: &str| std::fs::read_to_string(&sandbox[name]).unwrap();

    // The secret, the table (the store's own layout), the storefront.
    let secret = unique("wxpay-doctor");
    aws.secrets_manager
        .create_secret()
        .name(&secret)
        .secret_string(
            json!({
                "merchant_private_key": read("WXPAY_MERCHANT_KEY_FILE"),
                "apiv3_key": sandbox["WXPAY_APIV3_KEY"],
                "wechatpay_public_key": read("WXPAY_PUBLIC_KEY_FILE"),
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let table = unique("orders-doctor");
    orders::adapters::dynamo::create_table(&aws.dynamodb, &table)
        .await
        .unwrap();
    let api_url = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let (origin, page) = storefront(format!(
        "window.STOREFRONT_CONFIG = {{ apiBase: \"{api_url}\" }};"
    ))
    .await;

    // The stack: the order function with the template's variables, and the ApiUrl output.
    let variables = json!({
        "WXPAY_MCHID": sandbox["WXPAY_MCHID"],
        "WXPAY_APPID": sandbox["WXPAY_APPID"],
        "WXPAY_MERCHANT_SERIAL": sandbox["WXPAY_MERCHANT_SERIAL"],
        "WXPAY_SECRET_ID": secret,
        "WXPAY_BASE_URL": sandbox["WXPAY_BASE_URL"],
        "WXPAY_PUBLIC_KEY_ID": sandbox["WXPAY_PUBLIC_KEY_ID"],
        "WXPAY_NOTIFY_URL": "http://127.0.0.1:9/api/wx-pay/native/notify",
        "ORDERS_TABLE": table,
        "STOREFRONT_ORIGIN": origin,
    });
    let template = json!({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
            stack::ORDER_FUNCTION: {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "provided.al2023", "Handler": "bootstrap",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "bootstrap"},
                "Environment": {"Variables": variables}}},
        },
        "Outputs": {"ApiUrl": {"Value": api_url}},
    });
    let name = unique("shop");
    aws.cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();

    let report = deployed(&aws, &name).await;
    let text = report.text();
    for check in [
        STACK,
        CONFIGURATION,
        SIGNATURE,
        VERIFICATION,
        APIV3_KEY,
        TABLE,
        STOREFRONT,
    ] {
        assert_eq!(
            report.get(check).unwrap().status,
            Status::Pass,
            "{check}: {text}"
        );
    }
    assert!(
        report.get(CONFIGURATION).unwrap().cause.contains(&secret),
        "{text}"
    );
    // The command never allows a loopback notify URL, and moto has no schedule in the stack.
    assert_eq!(report.get(PUBLIC).unwrap().status, Status::Fail, "{text}");
    assert_eq!(
        report.get(stack::SCHEDULE).unwrap().status,
        Status::Fail,
        "{text}"
    );
    assert!(!report.passed());
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(!text.contains(&sandbox["WXPAY_APIV3_KEY"]), "{text}");

    let missing = deployed(&aws, "no-such-stack").await;
    assert_eq!(missing.findings.len(), 1);
    assert_eq!(missing.get(STACK).unwrap().status, Status::Fail);
    page.abort();
    sim_server.abort();
}

#[tokio::test]
async fn a_table_without_the_store_s_indexes_fails() {
    let Some(aws) = moto().await else {
        return;
    };
    let good = unique("orders-good");
    orders::adapters::dynamo::create_table(&aws.dynamodb, &good)
        .await
        .unwrap();
    assert_eq!(
        stack::table(&aws.dynamodb, &good).await.status,
        Status::Pass
    );

    let bare = unique("orders-bare");
    let key = |name: &str, kind| {
        aws_sdk_dynamodb::types::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        aws_sdk_dynamodb::types::AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    aws.dynamodb
        .create_table()
        .table_name(&bare)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .key_schema(key("sk", aws_sdk_dynamodb::types::KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .send()
        .await
        .unwrap();
    let finding = stack::table(&aws.dynamodb, &bare).await;
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding
            .cause
            .contains("lacks the index(es) pending, byBuyer, refunding, byStatus"),
        "{finding:?}"
    );
    let absent = stack::table(&aws.dynamodb, "no-such-table").await;
    assert_eq!(absent.status, Status::Fail);
}

#[tokio::test]
async fn a_disabled_schedule_fails() {
    let Some(aws) = moto().await else {
        return;
    };
    for (state, expected) in [
        (ScheduleState::Enabled, Status::Pass),
        (ScheduleState::Disabled, Status::Fail),
    ] {
        let name = unique("sweep");
        aws.scheduler
            .create_schedule()
            .name(&name)
            .schedule_expression("rate(1 minute)")
            .state(state.clone())
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .unwrap(),
            )
            .target(
                Target::builder()
                    .arn("arn:aws:lambda:us-east-1:123456789012:function:order-reconcile")
                    .role_arn("arn:aws:iam::123456789012:role/scheduler")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let finding = stack::schedule(&aws.scheduler, &name).await;
        assert_eq!(finding.status, expected, "{state:?}: {finding:?}");
    }
    assert_eq!(
        stack::schedule(&aws.scheduler, "no-such-schedule")
            .await
            .status,
        Status::Fail
    );
}

#[tokio::test]
async fn a_storefront_origin_that_is_not_the_storefront_fails() {
    let api_url = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let described = |outputs: &[(&str, &str)]| stack::Stack {
        name: "shop".into(),
        outputs: outputs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    // A storefront URL among the outputs: its origin must be STOREFRONT_ORIGIN.
    let hosted = described(&[
        ("ApiUrl", api_url),
        ("StorefrontUrl", "https://d111111abcdef8.cloudfront.net/"),
    ]);
    let same = stack::storefront(Some("https://d111111abcdef8.cloudfront.net"), &hosted).await;
    assert_eq!(same.status, Status::Pass, "{same:?}");
    let other = stack::storefront(Some("https://shop.example.com"), &hosted).await;
    assert_eq!(other.status, Status::Fail, "{other:?}");
    assert!(
        other.cause.contains("d111111abcdef8.cloudfront.net"),
        "{other:?}"
    );
    assert_eq!(stack::storefront(None, &hosted).await.status, Status::Fail);

    // Hosted elsewhere: the page at the origin must call this stack's API.
    let elsewhere = described(&[("ApiUrl", api_url)]);
    let (origin, page) =
        storefront("window.STOREFRONT_CONFIG = { apiBase: \"https://other.example\" };".into())
            .await;
    let wrong = stack::storefront(Some(&origin), &elsewhere).await;
    assert_eq!(wrong.status, Status::Fail, "{wrong:?}");
    assert!(
        wrong.cause.contains("does not name this stack's API"),
        "{wrong:?}"
    );
    page.abort();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().fallback(|| async { StatusCode::NOT_FOUND });
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let absent = stack::storefront(Some(&origin), &elsewhere).await;
    assert_eq!(absent.status, Status::Fail, "{absent:?}");
    assert!(absent.cause.contains("404"), "{absent:?}");
    server.abort();
}
