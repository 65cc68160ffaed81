//! `GET /sim`: one self-contained HTML page (no external assets) where a person plays the shopper:
//! the orders with a "scan & pay" button for each payable one, their refunds and a button that
//! refunds the rest of a paid one as the merchant platform would, the notification log, and the
//! fault switches in force.

use crate::faults::Faults;
use crate::notify::log::{DeliveryStatus, NotificationRecord};
use crate::order::{CODE_URL_VALIDITY, Order, OrderState};
use crate::sandbox::{ENV_FILE, Sandbox};
use std::fmt::Write as _;
use time::OffsetDateTime;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin-bottom:2em;width:100%}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px;vertical-align:top}\
th{background:#f3f3f3}button{background:#07c160;color:#fff;border:0;padding:6px 12px;\
border-radius:4px;cursor:pointer}code{font-size:12px}.muted{color:#888}#msg{font-weight:bold}";

const SCRIPT: &str = "async function pay(codeUrl){\
const openid=document.getElementById('openid').value.trim();\
const body={code_url:codeUrl};if(openid){body.openid=openid;}\
const r=await fetch('/sim/scan',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)});\
const j=await r.json();\
document.getElementById('msg').textContent=r.ok?('Paid: '+j.transaction.out_trade_no+' → '+j.transaction.transaction_id):('Refused: '+j.code+' — '+j.message);\
setTimeout(()=>location.reload(),1200);}\
async function refundByHand(no){\
const r=await fetch('/sim/refund',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({out_trade_no:no})});\
const j=await r.json();\
document.getElementById('msg').textContent=r.ok?('Refund '+j.refund.out_refund_no+': '+j.refund.amount.refund+' fen'):('Refused: '+j.code+' — '+j.message);\
setTimeout(()=>location.reload(),1200);}";

/// `at` as WeChat Pay writes it (as Rust does, should it be out of that format's range).
fn shown(at: OffsetDateTime) -> String {
    wxpay::time::format(at).unwrap_or_else(|_| at.to_string())
}

/// The refunds of an order, one per line: `out_refund_no`, amount, status (and "by hand" for one
/// made in the merchant platform).
fn refunds_cell(order: &Order) -> String {
    let mut cell = String::new();
    for refund in &order.refunds {
        let _ = write!(
            cell,
            "<code>{no}</code> {amount} {status}{external}<br>",
            no = escape(refund.out_refund_no()),
            amount = refund.amount(),
            status = escape(refund.status.as_str()),
            external = if refund.external { " (by hand)" } else { "" },
        );
    }
    cell
}

/// Renders the page.
pub fn render(
    sandbox: &Sandbox,
    orders: &[Order],
    notifications: &[NotificationRecord],
    faults: &Faults,
    now: OffsetDateTime,
) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>WeChat Pay simulator</title><style>{STYLE}</style></head><body>\
         <h1>WeChat Pay simulator</h1>\
         <p>Sandbox merchant <code>{mchid}</code>, appid <code>{appid}</code>; its settings are in \
         <code>{env}</code>. Simulator time {now}. <a href=\"/sim\">Refresh</a></p>\
         <p><label>Payer openid (optional): <input id=\"openid\" size=\"32\"></label> \
         <span id=\"msg\"></span></p>",
        mchid = escape(&sandbox.mchid),
        appid = escape(&sandbox.appid),
        env = escape(&sandbox.file(ENV_FILE).display().to_string()),
        now = shown(now),
    );
    if *faults != Faults::default() {
        let json = serde_json::to_string(faults).unwrap_or_default();
        let _ = write!(
            html,
            "<p><strong>Fault switches in force:</strong> <code>{}</code></p>",
            escape(&json)
        );
    }
    html.push_str(
        "<h2>Orders</h2><table><tr><th>out_trade_no</th><th>description</th>\
         <th>amount (fen)</th><th>state</th><th>refunds</th><th>created</th><th>time_expire</th>\
         <th></th></tr>",
    );
    if orders.is_empty() {
        html.push_str("<tr><td colspan=\"8\" class=\"muted\">No orders yet.</td></tr>");
    }
    for order in orders {
        let (state, action) = match &order.state {
            OrderState::Success(p) => (
                format!(
                    "{}<br><code>{}</code>",
                    order.transaction().trade_state.as_str(),
                    escape(&p.transaction_id)
                ),
                if order.refundable() > 0 {
                    format!(
                        "<button onclick=\"refundByHand(this.dataset.no)\" data-no=\"{}\">\
                         refund the rest (merchant platform)</button>",
                        escape(order.out_trade_no())
                    )
                } else {
                    String::new()
                },
            ),
            OrderState::Closed { .. } => ("CLOSED".to_owned(), String::new()),
            OrderState::Notpay if order.is_expired(now) => {
                ("NOTPAY (expired)".to_owned(), String::new())
            }
            OrderState::Notpay if now - order.code.issued_at > CODE_URL_VALIDITY => (
                "NOTPAY".to_owned(),
                "<span class=\"muted\">code_url older than 2 h</span>".to_owned(),
            ),
            OrderState::Notpay => (
                "NOTPAY".to_owned(),
                format!(
                    "<button onclick=\"pay(this.dataset.code)\" data-code=\"{}\">scan &amp; pay</button>",
                    escape(&order.code.url())
                ),
            ),
        };
        let _ = write!(
            html,
            "<tr><td><code>{no}</code></td><td>{desc}</td><td>{total}</td><td>{state}</td>\
             <td>{refunds}</td><td>{created}</td><td>{expire}</td><td>{action}</td></tr>",
            refunds = refunds_cell(order),
            no = escape(order.out_trade_no()),
            desc = escape(&order.request.description),
            total = order.request.amount.total,
            created = shown(order.created_at),
            expire = shown(order.time_expire),
        );
    }
    html.push_str(
        "</table><h2>Notifications</h2><table><tr><th>id</th><th>out_trade_no</th>\
         <th>status</th><th>attempts</th><th>last answer</th></tr>",
    );
    if notifications.is_empty() {
        html.push_str("<tr><td colspan=\"5\" class=\"muted\">No notifications yet.</td></tr>");
    }
    for record in notifications {
        let status = match record.status {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        };
        let last = record.attempts.last().map_or_else(String::new, |a| {
            let outcome = match (&a.status, &a.error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            };
            format!(
                "{} {} {}",
                shown(a.at),
                outcome,
                a.answer.as_deref().unwrap_or_default()
            )
        });
        let _ = write!(
            html,
            "<tr><td><code>{id}</code></td><td><code>{no}</code></td><td>{status}</td>\
             <td>{count}</td><td>{last}</td></tr>",
            id = escape(&record.id),
            no = escape(&record.out_trade_no),
            count = record.attempts.len(),
            last = escape(&last),
        );
    }
    let _ = write!(
        html,
        "</table><p class=\"muted\">JSON: <a href=\"/sim/orders\">/sim/orders</a>, \
         <a href=\"/sim/notifications\">/sim/notifications</a>, \
         <a href=\"/sim/faults\">/sim/faults</a></p><script>{SCRIPT}</script></body></html>"
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }
}
