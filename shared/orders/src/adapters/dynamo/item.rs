//! Items of the single table (ARCHITECTURE §4) and their attribute names.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;

use crate::adapters::keys::{
    listing_keys, open_refund_sk, order_pk, parse_time_key, payment_sk, pending_pk, pending_shard,
    pending_sk, product_pk, refund_sk, refunding_pk, time_key,
};
use crate::domain::{
    BuyerHash, Order, OrderNo, OrderStatus, PaymentRecord, Product, Refund, RefundNo, RefundOrigin,
    RefundState,
};
use crate::ports::{Evidence, StoreError};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// Sort key of order items.
pub const ORDER_SK: &str = "ORDER";
/// Sort key of product items (and of the catalog index item).
pub const PRODUCT_SK: &str = "PRODUCT";
/// Sort key of rate-limit window items (`LIMIT#…`).
pub const LIMIT_SK: &str = "LIMIT";
/// Sort key of idempotency items.
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
/// Partition key of the item listing every product id (so the catalog is listed without a Scan).
pub const CATALOG_PK: &str = "CATALOG";
/// String set of product ids on the catalog item.
pub const PRODUCT_IDS: &str = "productIds";
/// Name of the sparse GSI of pending orders.
pub const PENDING_INDEX: &str = "pending";
/// Name of the GSI of a buyer's orders.
pub const BY_BUYER_INDEX: &str = "byBuyer";
/// Partition key of the `pending` GSI.
pub const PENDING_PK: &str = "pendingPk";
/// Sort key of the `pending` GSI.
pub const PENDING_SK: &str = "pendingSk";
/// Partition key of the `byBuyer` GSI.
pub const BUYER_HASH: &str = "buyerHash";
/// Sort key of the `byBuyer` GSI.
pub const CREATED_AT: &str = "createdAt";
/// Order state attribute.
pub const ORDER_STATUS: &str = "orderStatus";
/// TTL attribute (Unix seconds) of idempotency and rate-limit items; enable DynamoDB TTL on it.
pub const TTL: &str = "ttl";
/// Set (true) on an order paid at WeChat Pay after it was closed here.
pub const PAID_AFTER_CLOSE: &str = "paidAfterClose";
/// When the order's latest prepay was claimed.
pub const PREPAY_STARTED_AT: &str = "prepayStartedAt";
/// Until when the order's in-flight prepay holds its claim.
pub const PREPAY_LEASE_UNTIL: &str = "prepayLeaseUntil";
/// Sweep runs that could not finish the order.
pub const SWEEP_FAILURES: &str = "sweepFailures";
/// GSI of open refunds (sparse: only `SUBMITTING` and `PROCESSING` refund items carry its keys).
pub const REFUNDING_INDEX: &str = "refunding";
/// Partition key of the `refunding` GSI.
pub const REFUNDING_PK: &str = "refundingPk";
/// Sort key of the `refunding` GSI.
pub const REFUNDING_SK: &str = "refundingSk";
/// GSI of the operator listings (sparse: only orders in an
/// [`OrderListing`](crate::domain::OrderListing) carry its keys).
pub const BY_STATUS_INDEX: &str = "byStatus";
/// Partition key of the `byStatus` GSI: `STATUS#{listing}`.
pub const STATUS_PK: &str = "statusPk";
/// Sort key of the `byStatus` GSI: `{createdAt}#{orderNo}`.
pub const STATUS_SK: &str = "statusSk";
/// State of a refund item (conditions name it).
pub const REFUND_STATE: &str = "refundState";
/// Fen of the refunds that hold money.
pub const REFUNDED_FEE: &str = "refundedFee";
/// Refunds asked for.
pub const REFUND_COUNT: &str = "refundCount";
/// Refunds in flight.
pub const REFUNDS_OPEN: &str = "refundsOpen";
/// Refunds stuck `ABNORMAL`.
pub const REFUNDS_ABNORMAL: &str = "refundsAbnormal";
/// Partition key prefix of evidence items.
pub const EVIDENCE_PREFIX: &str = "EVIDENCE#";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key of an order item.
pub fn order_key(order_no: &OrderNo) -> Item {
    HashMap::from([
        (PK.to_owned(), s(order_pk(order_no))),
        (SK.to_owned(), s(ORDER_SK)),
    ])
}

/// A full order item, with the `pending` attributes when `NOTPAY`.
pub fn order_item(order: &Order) -> Result<Item, StoreError> {
    let mut item = order_key(&order.order_no);
    item.insert("orderNo".into(), s(order.order_no.as_str()));
    item.insert("title".into(), s(&order.title));
    item.insert("productId".into(), s(&order.product_id));
    item.insert("totalFee".into(), n(order.total_fee));
    item.insert(ORDER_STATUS.into(), s(order.order_status.as_str()));
    item.insert(CREATED_AT.into(), s(time_key(order.created_at)?));
    item.insert("updatedAt".into(), s(time_key(order.updated_at)?));
    item.insert("expiresAt".into(), s(time_key(order.expires_at)?));
    if let Some(code_url) = &order.code_url {
        item.insert("codeUrl".into(), s(code_url));
    }
    if let Some(tx) = &order.transaction_id {
        item.insert("transactionId".into(), s(tx));
    }
    if let Some(at) = order.success_time {
        item.insert("successTime".into(), s(time_key(at)?));
    }
    if let Some(openid) = &order.payer_openid {
        item.insert("payerOpenid".into(), s(openid));
    }
    if let Some(buyer) = &order.buyer_hash {
        item.insert(BUYER_HASH.into(), s(buyer.as_str()));
    }
    if order.paid_after_close {
        item.insert(PAID_AFTER_CLOSE.into(), AttributeValue::Bool(true));
    }
    if let Some(at) = order.prepay_started_at {
        item.insert(PREPAY_STARTED_AT.into(), s(time_key(at)?));
    }
    if let Some(at) = order.prepay_lease_until {
        item.insert(PREPAY_LEASE_UNTIL.into(), s(time_key(at)?));
    }
    if order.sweep_failures > 0 {
        item.insert(SWEEP_FAILURES.into(), n(i64::from(order.sweep_failures)));
    }
    for (name, value) in refund_totals(order) {
        if value != 0 {
            item.insert(name.into(), n(value));
        }
    }
    if let Some((pk, sk)) = listing_keys(order)? {
        item.insert(STATUS_PK.into(), s(pk));
        item.insert(STATUS_SK.into(), s(sk));
    }
    if order.order_status.is_pending() {
        item.insert(
            PENDING_PK.into(),
            s(pending_pk(pending_shard(&order.order_no))),
        );
        item.insert(PENDING_SK.into(), s(pending_sk(order)?));
    }
    Ok(item)
}

/// A string attribute, if present.
pub fn opt_str<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value)),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a string"))),
    }
}

/// A required string attribute.
pub fn req_str<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    opt_str(item, name)?.ok_or_else(|| StoreError::Corrupt(format!("{name} missing")))
}

/// A required integer attribute.
pub fn req_i64(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "{name} missing or not a number"
        ))),
    }
}

fn req_time(item: &Item, name: &str) -> Result<time::OffsetDateTime, StoreError> {
    parse_time_key(req_str(item, name)?)
        .map_err(|_| StoreError::Corrupt(format!("{name} is not RFC 3339")))
}

/// Decodes an order item.
pub fn order_from_item(item: &Item) -> Result<Order, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    Ok(Order {
        order_no: OrderNo::parse(req_str(item, "orderNo")?).map_err(|_| corrupt("orderNo"))?,
        title: req_str(item, "title")?.to_owned(),
        product_id: req_str(item, "productId")?.to_owned(),
        total_fee: req_i64(item, "totalFee")?,
        code_url: opt_str(item, "codeUrl")?.map(str::to_owned),
        order_status: OrderStatus::parse(req_str(item, ORDER_STATUS)?)
            .ok_or_else(|| corrupt("orderStatus"))?,
        created_at: req_time(item, CREATED_AT)?,
        updated_at: req_time(item, "updatedAt")?,
        expires_at: req_time(item, "expiresAt")?,
        transaction_id: opt_str(item, "transactionId")?.map(str::to_owned),
        success_time: opt_str(item, "successTime")?
            .map(|text| parse_time_key(text).map_err(|_| corrupt("successTime")))
            .transpose()?,
        payer_openid: opt_str(item, "payerOpenid")?.map(str::to_owned),
        buyer_hash: opt_str(item, BUYER_HASH)?
            .map(|hash| BuyerHash::from_hex(hash).map_err(|_| corrupt("buyerHash")))
            .transpose()?,
        paid_after_close: match item.get(PAID_AFTER_CLOSE) {
            None => false,
            Some(AttributeValue::Bool(value)) => *value,
            Some(_) => return Err(corrupt("paidAfterClose")),
        },
        prepay_started_at: opt_time(item, PREPAY_STARTED_AT)?,
        prepay_lease_until: opt_time(item, PREPAY_LEASE_UNTIL)?,
        sweep_failures: opt_count(item, SWEEP_FAILURES)?,
        refunded_fee: opt_i64(item, REFUNDED_FEE)?,
        refund_count: opt_count(item, REFUND_COUNT)?,
        refunds_open: opt_count(item, REFUNDS_OPEN)?,
        refunds_abnormal: opt_count(item, REFUNDS_ABNORMAL)?,
    })
}

/// The order's refund totals, by attribute name (absent when zero).
pub fn refund_totals(order: &Order) -> [(&'static str, i64); 4] {
    [
        (REFUNDED_FEE, order.refunded_fee),
        (REFUND_COUNT, i64::from(order.refund_count)),
        (REFUNDS_OPEN, i64::from(order.refunds_open)),
        (REFUNDS_ABNORMAL, i64::from(order.refunds_abnormal)),
    ]
}

/// The refund totals of an order that has none.
pub fn refund_totals_none() -> [(&'static str, i64); 4] {
    [
        (REFUNDED_FEE, 0),
        (REFUND_COUNT, 0),
        (REFUNDS_OPEN, 0),
        (REFUNDS_ABNORMAL, 0),
    ]
}

/// Conditions `update` on the order's refund totals being `totals` (a zero total may be absent,
/// as [`order_item`] leaves it out): binds `:was0`… and returns one condition per total.
pub fn condition_on_totals(
    mut update: UpdateBuilder,
    totals: [(&'static str, i64); 4],
) -> (UpdateBuilder, Vec<String>) {
    let mut conditions = Vec::with_capacity(totals.len());
    for (i, (name, value)) in totals.into_iter().enumerate() {
        let was = format!(":was{i}");
        conditions.push(if value == 0 {
            format!("(attribute_not_exists({name}) OR {name} = {was})")
        } else {
            format!("{name} = {was}")
        });
        update = update.expression_attribute_values(was, AttributeValue::N(value.to_string()));
    }
    (update, conditions)
}

/// A number attribute that is absent when zero.
fn opt_i64(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(_) => req_i64(item, name),
    }
}

/// A count attribute that is absent when zero.
fn opt_count(item: &Item, name: &str) -> Result<u32, StoreError> {
    u32::try_from(opt_i64(item, name)?)
        .map_err(|_| StoreError::Corrupt(format!("{name} is not a count")))
}

fn opt_time(item: &Item, name: &str) -> Result<Option<time::OffsetDateTime>, StoreError> {
    opt_str(item, name)?
        .map(|text| {
            parse_time_key(text).map_err(|_| StoreError::Corrupt(format!("{name} is not RFC 3339")))
        })
        .transpose()
}

/// An evidence item (`EVIDENCE#{outTradeNo}` / `{transactionId}#{reason}`), kept as JSON.
pub fn evidence_item(evidence: &Evidence) -> Result<Item, StoreError> {
    let body =
        serde_json::to_string(evidence).map_err(|err| StoreError::Invalid(err.to_string()))?;
    Ok(HashMap::from([
        (
            PK.to_owned(),
            s(format!("{EVIDENCE_PREFIX}{}", evidence.out_trade_no)),
        ),
        (
            SK.to_owned(),
            s(format!("{}#{}", evidence.transaction_id, evidence.reason)),
        ),
        ("evidence".to_owned(), s(body)),
        ("receivedAt".to_owned(), s(time_key(evidence.received_at)?)),
    ]))
}

/// Decodes an evidence item.
pub fn evidence_from_item(item: &Item) -> Result<Evidence, StoreError> {
    serde_json::from_str(req_str(item, "evidence")?)
        .map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// A payment record item (`ORDER#{orderNo}` / `PAYMENT#{transactionId}`), the transaction kept as JSON.
pub fn payment_item(record: &PaymentRecord) -> Result<Item, StoreError> {
    let transaction = serde_json::to_string(&record.transaction)
        .map_err(|err| StoreError::Invalid(err.to_string()))?;
    Ok(HashMap::from([
        (PK.to_owned(), s(order_pk(&record.order_no))),
        (SK.to_owned(), s(payment_sk(&record.transaction_id))),
        ("orderNo".to_owned(), s(record.order_no.as_str())),
        ("transactionId".to_owned(), s(&record.transaction_id)),
        ("receivedAt".to_owned(), s(time_key(record.received_at)?)),
        ("transaction".to_owned(), s(transaction)),
    ]))
}

/// Decodes a payment record item.
pub fn payment_from_item(item: &Item) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        order_no: OrderNo::parse(req_str(item, "orderNo")?)
            .map_err(|_| StoreError::Corrupt("orderNo".into()))?,
        transaction_id: req_str(item, "transactionId")?.to_owned(),
        received_at: req_time(item, "receivedAt")?,
        transaction: serde_json::from_str(req_str(item, "transaction")?)
            .map_err(|err| StoreError::Corrupt(err.to_string()))?,
    })
}

/// The key of a product item.
pub fn product_key(id: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), s(product_pk(id))),
        (SK.to_owned(), s(PRODUCT_SK)),
    ])
}

/// A product item.
pub fn product_item(product: &Product) -> Item {
    let mut item = product_key(&product.id);
    item.insert("productId".into(), s(&product.id));
    item.insert("title".into(), s(&product.title));
    item.insert("price".into(), n(product.price));
    item
}

/// Decodes a product item.
pub fn product_from_item(item: &Item) -> Result<Product, StoreError> {
    Ok(Product {
        id: req_str(item, "productId")?.to_owned(),
        title: req_str(item, "title")?.to_owned(),
        price: req_i64(item, "price")?,
    })
}

/// A refund item (`REFUND#{outRefundNo}` under its order), with the `refunding` keys while open.
pub fn refund_item(refund: &Refund) -> Result<Item, StoreError> {
    let mut item = HashMap::from([
        (PK.to_owned(), s(order_pk(&refund.order_no))),
        (SK.to_owned(), s(refund_sk(&refund.out_refund_no))),
        ("orderNo".to_owned(), s(refund.order_no.as_str())),
        ("outRefundNo".to_owned(), s(refund.out_refund_no.as_str())),
        ("amount".to_owned(), n(refund.amount)),
        (REFUND_STATE.to_owned(), s(refund.state.as_str())),
        ("origin".to_owned(), s(refund.origin.as_str())),
        (CREATED_AT.to_owned(), s(time_key(refund.created_at)?)),
        ("updatedAt".to_owned(), s(time_key(refund.updated_at)?)),
    ]);
    let optional = [
        ("reason", refund.reason.clone()),
        ("requestedBy", refund.requested_by.clone()),
        ("idempotencyKey", refund.idempotency_key.clone()),
        ("refundId", refund.refund_id.clone()),
        ("userReceivedAccount", refund.user_received_account.clone()),
        ("failure", refund.failure.clone()),
        (
            "successTime",
            refund.success_time.map(time_key).transpose()?,
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    if refund.state.is_open() {
        item.insert(
            REFUNDING_PK.to_owned(),
            s(refunding_pk(pending_shard(&refund.order_no))),
        );
        item.insert(REFUNDING_SK.to_owned(), s(open_refund_sk(refund)?));
    }
    Ok(item)
}

/// Decodes a refund item.
pub fn refund_from_item(item: &Item) -> Result<Refund, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    let text = |name: &str| -> Result<Option<String>, StoreError> {
        Ok(opt_str(item, name)?.map(str::to_owned))
    };
    Ok(Refund {
        order_no: OrderNo::parse(req_str(item, "orderNo")?).map_err(|_| corrupt("orderNo"))?,
        out_refund_no: RefundNo::parse(req_str(item, "outRefundNo")?)
            .map_err(|_| corrupt("outRefundNo"))?,
        amount: req_i64(item, "amount")?,
        reason: text("reason")?,
        state: RefundState::parse(req_str(item, REFUND_STATE)?)
            .ok_or_else(|| corrupt("refundState"))?,
        origin: RefundOrigin::parse(req_str(item, "origin")?).ok_or_else(|| corrupt("origin"))?,
        requested_by: text("requestedBy")?,
        idempotency_key: text("idempotencyKey")?,
        refund_id: text("refundId")?,
        user_received_account: text("userReceivedAccount")?,
        created_at: req_time(item, CREATED_AT)?,
        updated_at: req_time(item, "updatedAt")?,
        success_time: opt_time(item, "successTime")?,
        failure: text("failure")?,
    })
}
