use super::*;
use crate::bill::columns;

const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

fn header() -> String {
    columns::DETAIL.join(",")
}

fn backticked(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn payment(time: &str, tx: &str, no: &str, total: &str, fee: &str, description: &str) -> String {
    backticked(&[
        time,
        "wx8888888888888888",
        "1900000001",
        "0",
        "",
        tx,
        no,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "NATIVE",
        "SUCCESS",
        "OTHERS",
        "CNY",
        total,
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        description,
        "",
        fee,
        "0.60%",
        total,
        "0.00",
        "",
    ])
}

#[allow(clippy::too_many_arguments)]
fn refund(
    time: &str,
    tx: &str,
    no: &str,
    refund_no: &str,
    order_total: &str,
    refunded: &str,
    fee: &str,
) -> String {
    backticked(&[
        time,
        "wx8888888888888888",
        "1900000001",
        "0",
        "",
        tx,
        no,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "NATIVE",
        "REFUND",
        "OTHERS",
        "CNY",
        "0.00",
        "0.00",
        "50300000000000000000000001",
        refund_no,
        refunded,
        "0.00",
        "ORIGINAL",
        "SUCCESS",
        "T-shirt",
        "",
        fee,
        "0.60%",
        order_total,
        refunded,
        "",
    ])
}

fn summary(fields: &[&str]) -> String {
    format!("{SUMMARY_HEADER}\n{}", backticked(fields))
}

fn bill(rows: &[String], summary_part: &str, eol: &str) -> String {
    let mut lines = vec![header()];
    lines.extend(rows.iter().cloned());
    lines.extend(summary_part.split('\n').map(str::to_owned));
    let mut text = lines.join(eol);
    text.push_str(eol);
    text
}

fn day() -> Vec<String> {
    vec![
        payment(
            "2026-03-01 10:00:00",
            "4200000001",
            "A1",
            "9.90",
            "0.05940",
            "T-shirt",
        ),
        refund(
            "2026-03-01 11:00:00",
            "4200000001",
            "A1",
            "R1",
            "9.90",
            "3.00",
            "-0.01800",
        ),
    ]
}

fn day_summary() -> String {
    summary(&["2", "9.90", "3.00", "0.00", "0.04140", "19.80", "3.00"])
}

fn problem(text: &str) -> (usize, BillProblem) {
    let error = parse_trade_bill(text).expect_err("accepted");
    (error.line, error.problem)
}

#[test]
fn payments_and_refunds_are_typed() {
    let parsed = parse_trade_bill(&bill(&day(), &day_summary(), "\r\n")).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    let pay = &parsed.rows[0];
    assert_eq!(pay.line, 2);
    assert_eq!(pay.kind, BillRowKind::Payment);
    assert_eq!(pay.transaction_id, "4200000001");
    assert_eq!(pay.out_trade_no, "A1");
    assert_eq!(pay.settlement_total, 990);
    assert_eq!(pay.order_total, 990);
    assert_eq!(pay.fee, 5940);
    assert_eq!(pay.fee_rate, 60);
    assert_eq!(pay.description, "T-shirt");
    assert_eq!(
        pay.time,
        time::macros::datetime!(2026-03-01 10:00:00 +08:00)
    );
    assert_eq!(
        pay.other.get(columns::APPID).map(String::as_str),
        Some("wx8888888888888888")
    );
    assert_eq!(
        pay.other.get(columns::TRADE_TYPE).map(String::as_str),
        Some("NATIVE")
    );
    assert_eq!(pay.other.len(), 9);
    let back = &parsed.rows[1];
    assert_eq!(back.line, 3);
    assert_eq!(
        back.kind,
        BillRowKind::Refund(BillRefund {
            refund_id: "50300000000000000000000001".to_owned(),
            out_refund_no: "R1".to_owned(),
            refund_type: "ORIGINAL".to_owned(),
            refund_status: "SUCCESS".to_owned(),
        })
    );
    assert_eq!(
        (back.settlement_total, back.refund, back.requested_refund),
        (0, 300, 300)
    );
    assert_eq!(back.fee, -1800);
    assert_eq!(parsed.summary.line, 5);
    assert_eq!(parsed.summary.count, 2);
    assert_eq!(parsed.summary.fee, 4140);
    assert_eq!(parsed.summary.order_total, 1980);
}

#[test]
fn line_endings_and_a_byte_order_mark_do_not_matter() {
    let crlf = parse_trade_bill(&bill(&day(), &day_summary(), "\r\n")).unwrap();
    let lf = parse_trade_bill(&bill(&day(), &day_summary(), "\n")).unwrap();
    let bom =
        parse_trade_bill(&format!("\u{feff}{}", bill(&day(), &day_summary(), "\r\n"))).unwrap();
    assert_eq!(crlf, lf);
    assert_eq!(crlf, bom);
    // No final line break either.
    let trimmed = bill(&day(), &day_summary(), "\n");
    assert_eq!(parse_trade_bill(trimmed.trim_end()).unwrap(), lf);
}

#[test]
fn descriptions_with_commas_and_backticks_stay_whole() {
    for description in [
        "Tea, green, 100g",
        "the `best` tea",
        "a,`b,`c",
        "`",
        "ends with,",
    ] {
        let rows = vec![payment(
            "2026-03-01 10:00:00",
            "4200000002",
            "B1",
            "1.00",
            "0.00600",
            description,
        )];
        let text = bill(
            &rows,
            &summary(&["1", "1.00", "0.00", "0.00", "0.00600", "1.00", "0.00"]),
            "\r\n",
        );
        let parsed = parse_trade_bill(&text).unwrap_or_else(|e| panic!("{description:?}: {e}"));
        assert_eq!(parsed.rows[0].description, description);
        assert_eq!(parsed.rows[0].attach, "");
        assert_eq!(parsed.rows[0].fee, 600);
    }
}

#[test]
fn zero_amount_rows_and_an_empty_day_parse() {
    let rows = vec![payment(
        "2026-03-01 10:00:00",
        "4200000003",
        "Z1",
        "0.00",
        "0.00000",
        "free",
    )];
    let text = bill(
        &rows,
        &summary(&["1", "0.00", "0.00", "0.00", "0.00000", "0.00", "0.00"]),
        "\r\n",
    );
    assert_eq!(parse_trade_bill(&text).unwrap().rows[0].settlement_total, 0);
    let empty = bill(
        &[],
        &summary(&["0", "0.00", "0.00", "0.00", "0.00000", "0.00", "0.00"]),
        "\r\n",
    );
    let parsed = parse_trade_bill(&empty).unwrap();
    assert!(parsed.rows.is_empty());
    assert_eq!(parsed.summary.line, 3);
}

#[test]
fn a_missing_summary_is_refused() {
    let cut = bill(&day(), "", "\r\n");
    assert_eq!(problem(&cut), (4, BillProblem::MissingSummary));
    let no_blank = [header(), day().join("\n")].join("\n");
    assert_eq!(problem(&no_blank), (4, BillProblem::MissingSummary));
    let header_only = bill(&day(), SUMMARY_HEADER, "\n");
    assert_eq!(problem(&header_only), (5, BillProblem::MissingSummary));
    assert_eq!(problem(""), (1, BillProblem::Empty));
}

#[test]
fn a_summary_that_disagrees_is_refused() {
    let wrong_count = summary(&["3", "9.90", "3.00", "0.00", "0.04140", "19.80", "3.00"]);
    let (line, found) = problem(&bill(&day(), &wrong_count, "\r\n"));
    assert_eq!(line, 5);
    assert_eq!(
        found,
        BillProblem::SummaryMismatch {
            column: columns::SUM_COUNT,
            summary: "3".to_owned(),
            rows: "2".to_owned()
        }
    );
    let wrong_fee = summary(&["2", "9.90", "3.00", "0.00", "0.04141", "19.80", "3.00"]);
    let (_, found) = problem(&bill(&day(), &wrong_fee, "\r\n"));
    assert_eq!(
        found,
        BillProblem::SummaryMismatch {
            column: columns::SUM_FEE,
            summary: "0.04141".to_owned(),
            rows: "0.04140".to_owned()
        }
    );
    let wrong_refund = summary(&["2", "9.90", "3.01", "0.00", "0.04140", "19.80", "3.00"]);
    let (_, found) = problem(&bill(&day(), &wrong_refund, "\r\n"));
    assert!(
        matches!(
            found,
            BillProblem::SummaryMismatch {
                column: columns::SUM_REFUND,
                ..
            }
        ),
        "{found:?}"
    );
}

#[test]
fn bad_amounts_name_their_line_and_column() {
    for bad in ["1.5", "-0.01", "1", "1.000", "abc"] {
        let rows = vec![
            payment(
                "2026-03-01 09:00:00",
                "4200000004",
                "C0",
                "1.00",
                "0.00600",
                "ok",
            ),
            payment(
                "2026-03-01 10:00:00",
                "4200000005",
                "C1",
                bad,
                "0.00600",
                "bad",
            ),
        ];
        let text = bill(&rows, &day_summary(), "\r\n");
        let (line, found) = problem(&text);
        assert_eq!(line, 3, "{bad}");
        assert!(
            matches!(&found, BillProblem::Number { column: columns::SETTLEMENT_TOTAL, error: AmountError::Malformed(v, _) } if v == bad),
            "{bad}: {found:?}"
        );
        let message = parse_trade_bill(&text).unwrap_err().to_string();
        assert!(
            message.contains("line 3") && message.contains("应结订单金额"),
            "{message}"
        );
    }
}

#[test]
fn malformed_rows_are_refused() {
    let mut short = day();
    short[1] = short[1].rsplit_once(",`").unwrap().0.to_owned();
    assert_eq!(
        problem(&bill(&short, &day_summary(), "\n")),
        (
            3,
            BillProblem::FieldCount {
                expected: 27,
                found: 26
            }
        )
    );
    let mut no_tick = day();
    no_tick[0] = no_tick[0].trim_start_matches('`').to_owned();
    assert_eq!(
        problem(&bill(&no_tick, &day_summary(), "\n")),
        (2, BillProblem::MissingBacktick)
    );
    let mut status = day();
    status[0] = status[0].replace("`SUCCESS", "`REVOKED");
    assert_eq!(
        problem(&bill(&status, &day_summary(), "\n")),
        (2, BillProblem::UnknownStatus("REVOKED".to_owned()))
    );
    let mut when = day();
    when[0] = when[0].replace("2026-03-01 10:00:00", "2026-03-01T10:00:00");
    assert!(matches!(
        problem(&bill(&when, &day_summary(), "\n")),
        (2, BillProblem::Time(_))
    ));
    let no_refund_no = vec![
        day()[0].clone(),
        refund(
            "2026-03-01 11:00:00",
            "4200000001",
            "A1",
            "0",
            "9.90",
            "3.00",
            "-0.01800",
        ),
    ];
    assert_eq!(
        problem(&bill(&no_refund_no, &day_summary(), "\n")),
        (3, BillProblem::MissingRefundNumber(columns::OUT_REFUND_NO))
    );
    let gap = vec![day()[0].clone(), String::new(), day()[1].clone()];
    assert_eq!(
        problem(&bill(&gap, &day_summary(), "\n")),
        (3, BillProblem::EmptyLine)
    );
    let trailing = format!("{}`more\n", bill(&day(), &day_summary(), "\n"));
    assert_eq!(problem(&trailing), (6, BillProblem::TrailingData));
    let long_summary = format!("{},`1", bill(&day(), &day_summary(), "\n").trim_end());
    assert_eq!(
        problem(&long_summary),
        (
            5,
            BillProblem::FieldCount {
                expected: 7,
                found: 8
            }
        )
    );
}

#[test]
fn a_header_without_a_needed_column_is_refused() {
    let text = bill(&day(), &day_summary(), "\n").replacen("手续费,", "服务费,", 1);
    assert_eq!(
        problem(&text),
        (1, BillProblem::MissingColumn(columns::FEE))
    );
    let text = bill(&day(), &day_summary(), "\n").replace("退款总金额,", "退款合计,");
    assert_eq!(
        problem(&text),
        (4, BillProblem::MissingColumn(columns::SUM_REFUND))
    );
}

#[test]
fn columns_are_found_by_name() {
    // The same bill with its first two columns swapped and an extra column at the end.
    let swap = |line: &str, extra: &str| {
        let (first, rest) = line.split_once(',').unwrap();
        let (second, rest) = rest.split_once(',').unwrap();
        format!("{second},{first},{rest},{extra}")
    };
    let mut lines = vec![swap(&header(), "新列")];
    lines.extend(day().iter().map(|row| swap(row, "`x")));
    lines.push(day_summary());
    let parsed = parse_trade_bill(&lines.join("\n")).unwrap();
    let original = parse_trade_bill(&bill(&day(), &day_summary(), "\n")).unwrap();
    assert_eq!(parsed.rows[0].time, original.rows[0].time);
    assert_eq!(parsed.rows[1].kind, original.rows[1].kind);
    assert_eq!(
        parsed.rows[0].other.get("新列").map(String::as_str),
        Some("x")
    );
}
