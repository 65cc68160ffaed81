//! Readable tables of the API's answers.

use serde_json::Value;

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell (counting characters, not bytes).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

fn fields(object: &Value, names: &[(&str, &str)]) -> String {
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|(label, name)| vec![(*label).to_owned(), text(&object[*name])])
        .collect();
    table(&["field", "value"], &rows)
}

const REFUND_COLUMNS: [&str; 7] = [
    "outRefundNo",
    "status",
    "amount",
    "reason",
    "origin",
    "requestedBy",
    "createdAt",
];

fn refund_rows(refunds: &[Value]) -> Vec<Vec<String>> {
    refunds
        .iter()
        .map(|r| REFUND_COLUMNS.iter().map(|c| text(&r[*c])).collect())
        .collect()
}

/// The answer to `refund`.
pub fn refund(status: u16, data: &Value) -> String {
    let what = match status {
        200 => "Already asked with this Idempotency-Key:",
        202 => {
            "Reserved; WeChat Pay did not answer yet (it will be sent again under the same number):"
        }
        _ => "Refund accepted by WeChat Pay:",
    };
    let refund = &data["refund"];
    let order = &data["order"];
    format!(
        "{what}\n{}\nOrder {} is {}: {} of {} fen refunded, {} refundable.\n",
        table(&REFUND_COLUMNS, &refund_rows(std::slice::from_ref(refund))),
        text(&order["orderNo"]),
        text(&order["orderStatus"]),
        text(&order["refundedFee"]),
        text(&order["totalFee"]),
        text(&order["refundableFee"]),
    )
}

/// The answer to `order`.
pub fn order(data: &Value) -> String {
    let order = &data["order"];
    let mut out = fields(
        order,
        &[
            ("order", "orderNo"),
            ("title", "title"),
            ("status", "orderStatus"),
            ("total (fen)", "totalFee"),
            ("refunded (fen)", "refundedFee"),
            ("refundable (fen)", "refundableFee"),
            ("paid after close", "paidAfterClose"),
            ("transaction", "transactionId"),
            ("created", "createdAt"),
            ("paid", "successTime"),
        ],
    );
    let payments = data["payments"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\npayments: {}\n", payments.len()));
    if !payments.is_empty() {
        let rows: Vec<Vec<String>> = payments
            .iter()
            .map(|p| {
                vec![
                    text(&p["transactionId"]),
                    text(&p["transaction"]["trade_state"]),
                    text(&p["transaction"]["amount"]["total"]),
                    text(&p["receivedAt"]),
                ]
            })
            .collect();
        out.push_str(&table(
            &["transactionId", "state", "total", "receivedAt"],
            &rows,
        ));
    }
    let refunds = data["refunds"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\nrefunds: {}\n", refunds.len()));
    if !refunds.is_empty() {
        out.push_str(&table(&REFUND_COLUMNS, &refund_rows(&refunds)));
    }
    out
}

/// The answer to `orders`.
pub fn orders(data: &Value) -> String {
    let list = data["list"].as_array().cloned().unwrap_or_default();
    let columns = [
        "orderNo",
        "orderStatus",
        "totalFee",
        "refundedFee",
        "paidAfterClose",
        "createdAt",
    ];
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|o| columns.iter().map(|c| text(&o[*c])).collect())
        .collect();
    let mut out = format!("{}: {} order(s)\n", text(&data["status"]), list.len());
    if !rows.is_empty() {
        out.push_str(&table(&columns, &rows));
    }
    if let Some(cursor) = data["nextCursor"].as_str() {
        out.push_str(&format!("more: --cursor {cursor}\n"));
    }
    out
}

/// The answer to `products list`.
pub fn products(data: &Value) -> String {
    let list = data["list"].as_array().cloned().unwrap_or_default();
    let columns = ["id", "price", "title"];
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| columns.iter().map(|c| text(&p[*c])).collect())
        .collect();
    let mut out = format!("{} product(s)\n", list.len());
    if !rows.is_empty() {
        out.push_str(&table(&["id", "price (fen)", "title"], &rows));
    }
    out
}
