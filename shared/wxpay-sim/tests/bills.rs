//! Trade bills as a merchant meets them: asked for and downloaded through the real
//! `wxpay::Client` (answer verified, download checked against its SHA-1), parsed by
//! `wxpay::bill::parse_trade_bill`, and compared with the simulator's ledger; the date rules, the
//! short-lived token, the unsigned download and the two fault switches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, start_with, trade_no};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::Date;
use time::macros::{date, datetime};
use wxpay::bill::{BillError, BillRowKind, TradeBill, TradeBillAnswer, parse_trade_bill};
use wxpay::refund::{RefundRequest, RefundStatus};
use wxpay::{ClientError, FixedClock};

/// Nobody listens there: notifications fail fast and do not matter here.
const NOTIFY: &str = "http://127.0.0.1:9/notify";

/// A simulator and its merchant on a hand-moved clock, at 2026-03-01 10:00 in Shanghai.
async fn at_first_of_march() -> (Harness, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(datetime!(2026-03-01 10:00:00 +08:00)));
    let shared = clock.clone();
    let sim = start_with(move |c| c.with_time_scale(100.0).with_clock(shared)).await;
    (sim, clock)
}

/// A paid order of `total` fen: its out_trade_no and transaction id.
async fn paid(sim: &Harness, total: i64) -> (String, String) {
    let no = trade_no("B");
    let mut request = sim.prepay(&no, NOTIFY);
    request.amount.total = total;
    let code = sim.client().native_prepay(&request).await.unwrap();
    let (status, scanned) = sim.scan(&code.code_url).await;
    assert_eq!(status, 200, "{scanned}");
    let txid = scanned["transaction"]["transaction_id"].as_str().unwrap();
    (no, txid.to_owned())
}

/// Refunds `refund` of `total` fen of `txid` and waits for `SUCCESS`: the refund id.
async fn refunded(sim: &Harness, txid: &str, refund: i64, total: i64) -> (String, String) {
    let out_refund_no = trade_no("R");
    let request = RefundRequest::of_transaction(txid, &out_refund_no, refund, total);
    sim.client().refund(&request).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = sim.client().query_refund(&out_refund_no).await.unwrap();
        if answer.status == RefundStatus::Success {
            return (out_refund_no, answer.refund_id);
        }
        assert!(Instant::now() < deadline, "refund not finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bill(sim: &Harness, day: Date) -> Result<TradeBill, BillError> {
    let client = sim.client();
    let answer = client.trade_bill(day).await?;
    let text = client.download_bill(&answer).await?;
    Ok(parse_trade_bill(&text).unwrap())
}

fn api_code(result: Result<impl std::fmt::Debug, BillError>) -> (u16, String) {
    match result {
        Err(BillError::Client(ClientError::Api { status, code, .. })) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_days_bill_holds_its_payments_and_refunds_and_agrees_with_the_ledger() {
    let (sim, clock) = at_first_of_march().await;
    let (a, a_tx) = paid(&sim, 990).await;
    let (b, b_tx) = paid(&sim, 500).await;
    let (c, c_tx) = paid(&sim, 1).await;
    let unpaid = trade_no("U");
    sim.client()
        .native_prepay(&sim.prepay(&unpaid, NOTIFY))
        .await
        .unwrap();
    clock.advance(time::Duration::minutes(5));
    let (a_refund_no, a_refund_id) = refunded(&sim, &a_tx, 300, 990).await;
    let (b_refund_no, b_refund_id) = refunded(&sim, &b_tx, 500, 500).await;
    // The next day: another payment, not in the first day's bill.
    clock.set(datetime!(2026-03-02 09:00:00 +08:00));
    let (next_day, _) = paid(&sim, 700).await;
    clock.set(datetime!(2026-03-02 11:00:00 +08:00));

    let parsed = bill(&sim, date!(2026 - 03 - 01)).await.unwrap();
    let row = |no: &str, refund: bool| {
        parsed
            .rows
            .iter()
            .find(|r| r.out_trade_no == no && matches!(r.kind, BillRowKind::Refund(_)) == refund)
            .unwrap_or_else(|| panic!("no row for {no}"))
    };
    assert_eq!(parsed.rows.len(), 5);
    assert!(
        parsed
            .rows
            .iter()
            .all(|r| r.out_trade_no != unpaid && r.out_trade_no != next_day)
    );
    for (no, tx, total, fee) in [
        (&a, &a_tx, 990, 5940),
        (&b, &b_tx, 500, 3000),
        (&c, &c_tx, 1, 6),
    ] {
        let payment = row(no, false);
        assert_eq!(payment.transaction_id, *tx);
        assert_eq!(
            (payment.settlement_total, payment.order_total),
            (total, total)
        );
        assert_eq!(
            (payment.refund, payment.fee, payment.fee_rate),
            (0, fee, 60)
        );
        assert_eq!(payment.time, datetime!(2026-03-01 10:00:00 +08:00));
        assert_eq!(payment.description, "Image形象店-深圳腾大-QQ公仔");
        assert_eq!(payment.attach, "cart=7");
        assert_eq!(payment.other["商户号"], sim.mchid());
        assert_eq!(payment.other["公众账号ID"], sim.appid());
    }
    for (no, tx, refund_no, refund_id, amount, total) in [
        (&a, &a_tx, &a_refund_no, &a_refund_id, 300, 990),
        (&b, &b_tx, &b_refund_no, &b_refund_id, 500, 500),
    ] {
        let back = row(no, true);
        assert_eq!(back.transaction_id, *tx);
        let BillRowKind::Refund(details) = &back.kind else {
            unreachable!()
        };
        assert_eq!(
            (&details.out_refund_no, &details.refund_id),
            (refund_no, refund_id)
        );
        assert_eq!(details.refund_status, "SUCCESS");
        assert_eq!((back.settlement_total, back.refund), (0, amount));
        assert_eq!((back.requested_refund, back.order_total), (amount, total));
        assert_eq!(back.fee, -amount * 6);
        assert_eq!(back.time, datetime!(2026-03-01 10:05:00 +08:00));
    }
    let summary = &parsed.summary;
    assert_eq!(summary.count, 5);
    assert_eq!(summary.settlement_total, 1491);
    assert_eq!(summary.refund, 800);
    assert_eq!(summary.fee, 5940 + 3000 + 6 - 1800 - 3000);
    assert_eq!(summary.order_total, 1491 + 990 + 500);

    // The second day is today: not generated yet. A quiet day has none.
    let today = bill(&sim, date!(2026 - 03 - 02)).await;
    assert!(matches!(&today, Err(BillError::NotReady(_))), "{today:?}");
    assert!(today.unwrap_err().is_retryable());
    let quiet = bill(&sim, date!(2026 - 02 - 27)).await;
    assert!(
        matches!(&quiet, Err(BillError::NoStatement(_))),
        "{quiet:?}"
    );
    assert!(!quiet.unwrap_err().is_retryable());
    // The future, and more than three months back.
    for day in [date!(2026 - 03 - 03), date!(2025 - 12 - 01)] {
        assert_eq!(
            api_code(bill(&sim, day).await),
            (400, "INVALID_REQUEST".to_owned())
        );
    }
    clock.set(datetime!(2026-06-01 12:00:00 +08:00));
    assert_eq!(bill(&sim, date!(2026 - 03 - 01)).await.unwrap(), parsed);
}

#[tokio::test]
async fn the_fault_switches_delay_the_bill_and_break_its_hash() {
    let (sim, clock) = at_first_of_march().await;
    paid(&sim, 100).await;
    clock.set(datetime!(2026-03-02 11:00:00 +08:00));
    let day = date!(2026 - 03 - 01);
    sim.set_faults(json!({"bill_not_ready": true})).await;
    let result = sim.client().trade_bill(day).await;
    assert!(
        matches!(&result, Err(BillError::NotReady(m)) if m == "账单生成中"),
        "{result:?}"
    );

    sim.set_faults(json!({"bill_hash_mismatch": true})).await;
    let client = sim.client();
    let answer = client.trade_bill(day).await.unwrap();
    let result = client.download_bill(&answer).await;
    match &result {
        Err(BillError::HashMismatch { expected, actual }) => {
            assert_eq!(expected, &answer.hash_value);
            assert_ne!(expected, actual);
        }
        other => panic!("{other:?}"),
    }
    assert!(result.unwrap_err().is_retryable());

    sim.set_faults(json!({})).await;
    assert_eq!(bill(&sim, day).await.unwrap().rows.len(), 1);
}

#[tokio::test]
async fn a_download_url_works_for_thirty_seconds_and_only_for_a_signed_request() {
    let (sim, clock) = at_first_of_march().await;
    paid(&sim, 100).await;
    clock.set(datetime!(2026-03-02 11:00:00 +08:00));
    let client = sim.client();
    let answer = client.trade_bill(date!(2026 - 03 - 01)).await.unwrap();
    let url = url::Url::parse(&answer.download_url).unwrap();
    assert_eq!(url.origin(), sim.base.origin());
    let target = format!("{}?{}", url.path(), url.query().unwrap());

    // Unsigned: refused like any API call.
    let unsigned = sim
        .raw("GET", &target)
        .header("Accept", "*/*")
        .header("User-Agent", "t");
    let response = unsigned.send().await.unwrap();
    assert_eq!(response.status(), 401);
    // Signed: the gzip file, in an answer WeChat Pay does not sign.
    let response = sim.signed("GET", &target, "").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-gzip");
    assert!(response.headers().get("wechatpay-signature").is_none());

    clock.advance(time::Duration::seconds(29));
    assert!(client.download_bill(&answer).await.is_ok());
    clock.advance(time::Duration::seconds(1));
    assert_eq!(
        api_code(client.download_bill(&answer).await),
        (400, "INVALID_REQUEST".to_owned())
    );
    // A fresh answer works again.
    let again = client.trade_bill(date!(2026 - 03 - 01)).await.unwrap();
    assert_ne!(again.download_url, answer.download_url);
    assert_eq!(again.hash_value, answer.hash_value);
    assert!(client.download_bill(&again).await.is_ok());
}

#[tokio::test]
async fn the_client_downloads_only_from_its_own_host() {
    let (sim, _clock) = at_first_of_march().await;
    let answer = |url: &str| TradeBillAnswer {
        hash_type: "SHA1".to_owned(),
        hash_value: "a9993e364706816aba3e25717850c26c9cd0d89d".to_owned(),
        download_url: url.to_owned(),
    };
    let own = sim.base.origin().ascii_serialization();
    for url in [
        "https://evil.example/v3/billdownload/file?token=x".to_owned(),
        format!("{own}/v3/certificates"),
    ] {
        let result = sim.client().download_bill(&answer(&url)).await;
        assert!(
            matches!(result, Err(BillError::InvalidAnswer(_))),
            "{url}: {result:?}"
        );
    }
    let md5 = TradeBillAnswer {
        hash_type: "MD5".to_owned(),
        ..answer(&format!("{own}/v3/billdownload/file?token=x"))
    };
    let result = sim.client().download_bill(&md5).await;
    assert!(
        matches!(result, Err(BillError::InvalidAnswer(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn parameters_are_checked_and_plain_text_is_served_without_tar_type() {
    let (sim, clock) = at_first_of_march().await;
    paid(&sim, 100).await;
    clock.set(datetime!(2026-03-02 11:00:00 +08:00));
    let path = "/v3/bill/tradebill";
    for query in [
        "bill_date=2026-3-1",
        "bill_type=ALL",
        "bill_date=2026-03-01&bill_type=SUCCESS",
        "bill_date=2026-03-01&bill_type=EVERYTHING",
        "bill_date=2026-03-01&tar_type=ZIP",
        "bill_date=2026-03-01&sub_mchid=1",
    ] {
        let response = sim
            .signed("GET", &format!("{path}?{query}"), "")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "PARAM_ERROR", "{query}");
    }
    let response = sim
        .signed("GET", &format!("{path}?bill_date=2026-03-01"), "")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("wechatpay-signature").is_some());
    let answer: TradeBillAnswer = response.json().await.unwrap();
    let url = url::Url::parse(&answer.download_url).unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap());
    let response = sim.signed("GET", &target, "").send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert_eq!(wxpay::bill::sha1_hex(text.as_bytes()), answer.hash_value);
    assert!(text.starts_with("交易时间,公众账号ID,"));
    assert!(text.ends_with("\r\n"));
    assert_eq!(parse_trade_bill(&text).unwrap().rows.len(), 1);
}

#[tokio::test]
async fn only_refunds_that_succeed_are_billed_and_on_the_day_they_succeed() {
    let (sim, clock) = at_first_of_march().await;
    let (no, txid) = paid(&sim, 1000).await;
    // A refund that ends CLOSED (nothing refunded) is in no bill.
    sim.set_faults(json!({"refund_outcome": "closed"})).await;
    let closed = trade_no("R");
    let request = RefundRequest::of_transaction(&txid, &closed, 100, 1000);
    sim.client().refund(&request).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.client().query_refund(&closed).await.unwrap().status != RefundStatus::Closed {
        assert!(Instant::now() < deadline, "refund not closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A refund asked for just before midnight succeeds just after: it belongs to the next day.
    clock.set(datetime!(2026-03-01 23:59:50 +08:00));
    sim.set_faults(json!({"refund_delay_ms": 400})).await;
    let late = trade_no("R");
    let request = RefundRequest::of_transaction(&txid, &late, 200, 1000);
    sim.client().refund(&request).await.unwrap();
    clock.set(datetime!(2026-03-02 00:00:05 +08:00));
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.client().query_refund(&late).await.unwrap().status != RefundStatus::Success {
        assert!(Instant::now() < deadline, "refund not finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    clock.set(datetime!(2026-03-03 11:00:00 +08:00));

    let first = bill(&sim, date!(2026 - 03 - 01)).await.unwrap();
    assert_eq!(first.rows.len(), 1);
    assert_eq!(first.rows[0].kind, BillRowKind::Payment);
    assert_eq!(first.summary.refund, 0);
    let second = bill(&sim, date!(2026 - 03 - 02)).await.unwrap();
    assert_eq!(second.rows.len(), 1);
    let row = &second.rows[0];
    assert!(matches!(&row.kind, BillRowKind::Refund(r) if r.out_refund_no == late));
    assert_eq!((row.out_trade_no.as_str(), row.refund), (no.as_str(), 200));
    assert_eq!(row.time, datetime!(2026-03-02 00:00:05 +08:00));
    assert_eq!(
        (second.summary.settlement_total, second.summary.refund),
        (0, 200)
    );
}
