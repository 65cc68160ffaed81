//! One seed: shoppers, replays, cancels, payments, the merchant's refunds (through the refund
//! service, and by hand in the merchant platform), notifications and sweeps on virtual time, with
//! faults for a while and none after; then the invariants, checked against WeChat Pay's ledger.

use std::sync::Arc;
use std::time::Duration;
use wxpay::random::OsRandom;

use orders::adapters::{DynamoOrderStore, EmbeddedOrderStore};
use orders::domain::refund::paid_status;
use orders::domain::{
    BuyerHash, OrderNo, OrderNoGenerator, OrderStatus, Product, RefundOrigin, RefundState,
};
use orders::services::{
    PlaceOrderError, PlaceOrderRequest, RefundCommand, cancel_order, place_native_order,
    request_refund,
};
use orders::{LatePaymentPolicy, NotifyUrl, OrdersConfig};
use time::macros::datetime;
use wxpay::Clock;
use wxpay_sim::order::OrderState;
use wxpay_sim::sandbox::Sandbox;

use super::clock::VirtualClock;
use super::rng::Rng;
use super::store::{Backend, SimStore, Violations};
use super::wechat::{CLIENT_TIMEOUT, REFUND_TAKES_UP_TO, WeChat};

/// How often the sweep runs (the EventBridge schedule).
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The sweep function's time budget (its Lambda timeout, less a margin).
const SWEEP_BUDGET: time::Duration = time::Duration::seconds(55);
/// Sweep runs after the faults stop within which every order must be final.
const SWEEPS_TO_SETTLE: u64 = 4;
/// Shoppers arrive within this many seconds.
const ARRIVALS_WITHIN_SECS: u64 = 600;

/// What one seed did, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub orders: u64,
    pub paid: u64,
    pub closed: u64,
    pub cancelled: u64,
    /// Paid after they were closed here (only where the seed breaks the assumptions).
    pub paid_after_close: u64,
    /// Refunds WeChat Pay holds (asked through the service or made by hand).
    pub refunds: u64,
}

/// Everything one shopper needs.
#[derive(Clone)]
struct Shop {
    store: SimStore,
    wechat: WeChat,
    clock: VirtualClock,
    config: OrdersConfig,
    notify_url: NotifyUrl,
    numbers: Arc<OrderNoGenerator<OsRandom>>,
    rng: Rng,
    violations: Violations,
}

/// Runs seed `seed` to its end; `Err` lists every violated invariant.
pub fn run(
    seed: u64,
    sandbox: Arc<Sandbox>,
    dynamo: Option<&Dynamo>,
) -> Result<Tally, Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let backend = match dynamo {
        None => Backend::Embedded(EmbeddedOrderStore::in_memory().unwrap()),
        Some(dynamo) => dynamo.fresh_table(seed),
    };
    runtime.block_on(world(seed, sandbox, backend))
}

/// A DynamoDB API server (moto) and a real-time runtime to call it from.
pub struct Dynamo {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_dynamodb::Client,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

impl Dynamo {
    /// Connects to `AWS_ENDPOINT_URL_DYNAMODB` (credentials and region from the environment).
    pub fn connect() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            aws_sdk_dynamodb::Client::new(&config)
        });
        Self {
            runtime,
            client,
            one_at_a_time: Arc::default(),
        }
    }

    fn fresh_table(&self, seed: u64) -> Backend {
        let table = format!("lifecycle-{seed}-{}", uuid::Uuid::new_v4().simple());
        self.runtime
            .block_on(orders::adapters::dynamo::create_table(&self.client, &table))
            .unwrap();
        Backend::Dynamo {
            store: DynamoOrderStore::new(self.client.clone(), table),
            runtime: self.runtime.handle().clone(),
            one_at_a_time: self.one_at_a_time.clone(),
        }
    }
}

async fn world(seed: u64, sandbox: Arc<Sandbox>, backend: Backend) -> Result<Tally, Vec<String>> {
    let rng = Rng::new(seed);
    let clock = VirtualClock::new(datetime!(2026-11-29 02:00:00 UTC));
    let (events, mut notified) = tokio::sync::mpsc::unbounded_channel();
    let wechat = WeChat::new(rng.clone(), clock.clone(), sandbox.clone(), events);
    let violations = Violations::default();
    let store = SimStore::new(backend, rng.clone(), wechat.clone(), violations.clone());
    let price = i64::try_from(rng.range(1, 50_000)).unwrap();
    store
        .add_product(Product::new("1", "Rust 课程", price).unwrap())
        .await;
    let mut config = OrdersConfig::new(sandbox.appid.clone(), sandbox.mchid.clone());
    config.order_ttl_secs = u32::try_from(rng.range(90, 600)).unwrap();
    config.sweep_concurrency = usize::try_from(rng.range(1, 8)).unwrap();
    config.wxpay_timeout_ms = u32::try_from(CLIENT_TIMEOUT.as_millis()).unwrap();
    config.late_payment_policy = if rng.chance(0.5) {
        LatePaymentPolicy::Refund
    } else {
        LatePaymentPolicy::Honor
    };
    let notify_url = NotifyUrl::parse("https://shop.example/api/wx-pay/native/notify").unwrap();

    let verifier = wxpay::verify::Verifier::with_public_key(
        sandbox.public_key_id.clone(),
        sandbox.public_key_signer.public_key().unwrap(),
    );
    let notify = pay_notify::router(Arc::new(pay_notify::Deps {
        parser: wxpay::NotificationParser::new(Arc::new(verifier), sandbox.apiv3_key.clone()),
        store: store.clone(),
        clock: clock.clone(),
        config: config.clone(),
        deadline: pay_notify::handler::DEFAULT_DEADLINE,
    }));
    let deliveries = {
        let wechat = wechat.clone();
        tokio::spawn(async move {
            while let Some(event) = notified.recv().await {
                tokio::spawn(wechat.clone().deliver_owned(event, notify.clone()));
            }
        })
    };
    let sweeps = tokio::spawn(sweep_forever(
        order_reconcile::Deps {
            store: store.clone(),
            gateway: wechat.clone(),
            clock: clock.clone(),
            config: config.clone(),
            notify_url: notify_url.clone(),
        },
        rng.clone(),
    ));

    let shop = Shop {
        store: store.clone(),
        wechat: wechat.clone(),
        clock: clock.clone(),
        config: config.clone(),
        notify_url,
        numbers: Arc::new(OrderNoGenerator::new(OsRandom)),
        rng: rng.clone(),
        violations: violations.clone(),
    };
    let mut shoppers: Vec<_> = (0..rng.range(1, 5))
        .map(|n| tokio::spawn(shopper(shop.clone(), n)))
        .collect();

    // Faults for as long as any order can be placed or paid, then none.
    let ttl = Duration::from_secs(u64::from(config.order_ttl_secs));
    let faulty = Duration::from_secs(ARRIVALS_WITHIN_SECS) + ttl + Duration::from_secs(120);
    shoppers.push(tokio::spawn(merchant(
        shop.clone(),
        clock.now() + time::Duration::try_from(faulty).unwrap(),
    )));
    tokio::time::sleep(faulty).await;
    wechat.stop_faults();
    store.stop_faults();
    let faults_stopped = clock.now();
    // Orders: final within the TTL and four sweeps. Refunds: a refund asked just before the faults
    // stopped may wait a sweep or two to be sent (WeChat Pay takes one refund of an order a
    // minute), then up to `REFUND_TAKES_UP_TO` to end, then a sweep if its notification is lost.
    tokio::time::sleep(
        ttl + SWEEP_EVERY * u32::try_from(SWEEPS_TO_SETTLE).unwrap()
            + REFUND_TAKES_UP_TO
            + SWEEP_EVERY * 2,
    )
    .await;
    for shopper in shoppers {
        shopper.abort();
    }
    sweeps.abort();
    deliveries.abort();

    let mut problems = violations.take();
    let tally = check_ledger(&store, &wechat, &config, &mut problems).await;
    if problems.is_empty() {
        Ok(tally)
    } else {
        problems.insert(
            0,
            format!(
                "WeChat Pay: {}; ORDER_TTL_SECS {}; faults stopped at {faults_stopped}",
                wechat.describe(),
                config.order_ttl_secs
            ),
        );
        Err(problems)
    }
}

/// The scheduled sweep (open refunds, then pending orders, as `order-reconcile` runs them), with
/// an occasional second run overlapping the first.
async fn sweep_forever(deps: order_reconcile::Deps<SimStore, WeChat, VirtualClock>, rng: Rng) {
    let deps = Arc::new(deps);
    let mut schedule = tokio::time::interval(SWEEP_EVERY);
    loop {
        schedule.tick().await;
        let runs = if rng.chance(0.15) { 2 } else { 1 };
        for _ in 0..runs {
            let deps = deps.clone();
            tokio::spawn(async move {
                let deadline = deps.clock.now() + SWEEP_BUDGET;
                let _ = order_reconcile::run_sweep(&deps, deadline).await;
            });
        }
    }
}

/// The merchant's staff, while shoppers come and go (until `until`): now and then they refund part
/// or all of a paid order through the refund service (with retries under the same
/// `Idempotency-Key`, some concurrent, some asking more than is left), or by hand in the merchant
/// platform.
async fn merchant(shop: Shop, until: time::OffsetDateTime) {
    let rng = &shop.rng;
    let mut asked = 0u64;
    loop {
        tokio::time::sleep(rng.millis(10_000, 90_000)).await;
        if shop.clock.now() >= until {
            return;
        }
        let mut paid = Vec::new();
        for number in shop.store.created() {
            if let Some(order) = shop.store.order(&number).await
                && order.order_status.is_paid()
            {
                paid.push(order);
            }
        }
        if paid.is_empty() {
            continue;
        }
        let order = &paid[usize::try_from(rng.range(0, paid.len() as u64 - 1)).unwrap()];
        asked += 1;
        let left = order.refundable_fee().max(1);
        // Now and then more than is left, which must be refused.
        let amount = i64::try_from(rng.range(1, u64::try_from(left).unwrap() + 5)).unwrap();
        if rng.chance(0.15) {
            shop.wechat
                .refund_by_hand(order.order_no.as_str(), format!("MP{asked:08}"), amount);
            continue;
        }
        let command = RefundCommand {
            amount,
            reason: Some("课程取消".into()),
            origin: RefundOrigin::Merchant,
            requested_by: Some("lifecycle-merchant".into()),
            idempotency_key: Some(format!("refund-{asked}")),
        };
        let tries = rng.range(1, 3);
        let concurrent = if rng.chance(0.3) { 2 } else { 1 };
        for _ in 0..tries {
            let asks = (0..concurrent).map(|_| {
                request_refund(
                    &shop.store,
                    &shop.wechat,
                    &shop.clock,
                    &shop.notify_url,
                    &order.order_no,
                    &command,
                )
            });
            futures::future::join_all(asks).await;
            tokio::time::sleep(rng.millis(0, 5_000)).await;
        }
    }
}

/// One shopper: places an order (with replays, some concurrent), then pays, cancels, pays during
/// the cancel, or walks away; and replays again later.
async fn shopper(shop: Shop, n: u64) {
    let rng = &shop.rng;
    tokio::time::sleep(Duration::from_secs(rng.range(0, ARRIVALS_WITHIN_SECS))).await;
    let buyer = BuyerHash::from_token(&format!("lifecycle-buyer-token-{n:04}")).unwrap();
    let request = PlaceOrderRequest {
        product_id: "1".into(),
        buyer: Some(buyer.clone()),
        idempotency_key: Some(format!("key-{n}")),
    };
    let mut order_no: Option<OrderNo> = None;
    let mut code: Option<String> = None;
    for attempt in 0..4 {
        let concurrent = if rng.chance(0.3) { 2 } else { 1 };
        let results =
            futures::future::join_all((0..concurrent).map(|_| shop.place(&request))).await;
        for (number, link) in results {
            order_no = order_no.or(number);
            code = link.or(code);
        }
        // Some shoppers give up waiting for the QR code after the first failed attempt.
        if code.is_some() || (order_no.is_some() && (attempt > 0 || rng.chance(0.5))) {
            break;
        }
        tokio::time::sleep(rng.millis(500, 5_000)).await;
    }
    let Some(order_no) = order_no else {
        return;
    };
    let ttl = u64::from(shop.config.order_ttl_secs);
    // Mostly within the payment window; often at its very end or just after.
    let later = |rng: &Rng| {
        if rng.chance(0.3) {
            Duration::from_millis(rng.range(ttl.saturating_sub(10) * 1000, (ttl + 120) * 1000))
        } else {
            Duration::from_millis(rng.range(0, ttl * 1000))
        }
    };
    // Without a QR code, often: the shopper cancels while another tab retries the prepay.
    let behaviour = if code.is_none() && rng.chance(0.5) {
        8
    } else {
        rng.range(0, 11)
    };
    match behaviour {
        0..=4 => {
            tokio::time::sleep(later(rng)).await;
            if code.is_none() || rng.chance(0.3) {
                code = shop.place(&request).await.1.or(code);
            }
            if let Some(code) = &code {
                shop.wechat.scan_and_pay(code);
            }
        }
        5..=6 => {
            tokio::time::sleep(later(rng)).await;
            let _ = shop.cancel(&order_no, &buyer).await;
        }
        8..=9 => {
            // Another tab replays while the shopper cancels: a prepay may be in flight.
            let cancel = async {
                tokio::time::sleep(rng.millis(0, 1_500)).await;
                shop.cancel(&order_no, &buyer).await;
            };
            let (_, placed) = tokio::join!(cancel, shop.place(&request));
            if let (Some(code), true) = (placed.1, rng.chance(0.5)) {
                shop.wechat.scan_and_pay(&code);
            }
        }
        7 => {
            if let Some(code) = &code {
                shop.wechat.pay_before_close(order_no.as_str(), code);
            }
            tokio::time::sleep(later(rng)).await;
            let _ = shop.cancel(&order_no, &buyer).await;
        }
        _ => {}
    }
    // Replays after the fact must show the order's state, never a live QR code for a dead order.
    tokio::time::sleep(later(rng)).await;
    shop.place(&request).await;
}

impl Shop {
    /// Places (or replays) and checks that a returned link is payable and current at WeChat Pay.
    async fn place(&self, request: &PlaceOrderRequest) -> (Option<OrderNo>, Option<String>) {
        let result = place_native_order(
            &self.store,
            &self.wechat,
            &self.clock,
            &self.numbers,
            &self.config,
            &self.notify_url,
            request,
        )
        .await;
        match result {
            Ok(placed) => {
                let now = self.clock.now();
                let order = self.store.order(&placed.order.order_no).await.unwrap();
                let theirs = self
                    .wechat
                    .ledger()
                    .by_out_trade_no(order.order_no.as_str());
                let current = theirs.as_ref().map(|o| o.code.url());
                if order.order_status != OrderStatus::Notpay {
                    self.violations.push(format!(
                        "{}: a QR code was returned for a {} order",
                        order.order_no, order.order_status
                    ));
                }
                if order.order_status == OrderStatus::Notpay
                    && !order.is_expired_at(now)
                    && current.as_deref() != Some(placed.code_url.as_str())
                {
                    self.violations.push(format!(
                        "{}: the QR code returned is not the one WeChat Pay accepts",
                        order.order_no
                    ));
                }
                (Some(placed.order.order_no), Some(placed.code_url))
            }
            Err(
                PlaceOrderError::PrepayTimeout { order_no }
                | PlaceOrderError::PrepayFailed { order_no, .. },
            ) => (OrderNo::parse(&order_no).ok(), None),
            Err(_) => (None, None),
        }
    }

    async fn cancel(&self, order_no: &OrderNo, buyer: &BuyerHash) {
        let _ = cancel_order(
            &self.store,
            &self.wechat,
            &self.clock,
            &self.config,
            order_no,
            buyer,
        )
        .await;
    }
}

/// The money invariants, against WeChat Pay's own ledger.
async fn check_ledger(
    store: &SimStore,
    wechat: &WeChat,
    config: &OrdersConfig,
    problems: &mut Vec<String>,
) -> Tally {
    let mut tally = Tally::default();
    let theirs = wechat.ledger().newest(usize::MAX);
    let ours = store.created();
    for number in &ours {
        let Some(order) = store.order(number).await else {
            continue;
        };
        tally.orders += 1;
        let records = store.records(number).await;
        let at_wechat = theirs.iter().find(|o| o.out_trade_no() == number.as_str());
        match order.order_status {
            OrderStatus::Notpay => problems.push(format!(
                "{number} is still NOTPAY {SWEEPS_TO_SETTLE} sweeps after the faults stopped"
            )),
            status if status.is_paid() => {
                tally.paid += 1;
                if status != paid_status(&order) {
                    problems.push(format!(
                        "{number} is {status} but its refunds make it {}",
                        paid_status(&order)
                    ));
                }
                let paid = at_wechat.and_then(|o| match &o.state {
                    OrderState::Success(payment) => Some(payment),
                    _ => None,
                });
                match paid {
                    None => {
                        problems.push(format!("{number} is SUCCESS without a WeChat Pay payment"))
                    }
                    Some(payment) => {
                        if order.transaction_id.as_deref() != Some(payment.transaction_id.as_str())
                        {
                            problems.push(format!("{number} settled by another transaction"));
                        }
                        if at_wechat.map(|o| o.request.amount.total) != Some(order.total_fee) {
                            problems.push(format!("{number} settled for another amount"));
                        }
                    }
                }
                if order.paid_after_close {
                    tally.paid_after_close += 1;
                    if wechat.broken().is_none() {
                        problems.push(format!(
                            "{number} was paid after it was closed here: closed while payable"
                        ));
                    }
                }
            }
            OrderStatus::Closed | OrderStatus::Cancelled => {
                if order.order_status == OrderStatus::Closed {
                    tally.closed += 1;
                } else {
                    tally.cancelled += 1;
                }
                let late = wechat
                    .accepted_prepays(number.as_str())
                    .into_iter()
                    .map(|at| {
                        at + wechat
                            .broken()
                            .map_or(time::Duration::ZERO, |b| b.clock_behind)
                    })
                    .filter(|at| *at > order.updated_at)
                    .count();
                if late > 0 {
                    problems.push(format!(
                        "{number} became {} at {} but WeChat Pay accepted {late} prepay(s) of it later: it was payable",
                        order.order_status, order.updated_at
                    ));
                }
            }
            other => problems.push(format!("{number} is {other}")),
        }
        if !store.evidence(number).await.is_empty() {
            problems.push(format!("{number} has evidence of a refused transaction"));
        }
        tally.refunds += check_refunds(store, wechat, config, &order, problems).await;
        let paid_records = records.len();
        let expected = usize::from(order.order_status.is_paid());
        if paid_records != expected {
            problems.push(format!(
                "{number} has {paid_records} payment records, expected {expected}"
            ));
        }
    }
    for order in &theirs {
        if let OrderState::Success(payment) = &order.state {
            let recorded = match OrderNo::parse(order.out_trade_no()) {
                Ok(number) => store
                    .records(&number)
                    .await
                    .into_iter()
                    .filter(|r| r.transaction_id == payment.transaction_id)
                    .count(),
                Err(_) => 0,
            };
            if recorded != 1 {
                problems.push(format!(
                    "WeChat Pay holds payment {} of {} but {recorded} records exist here",
                    payment.transaction_id,
                    order.out_trade_no()
                ));
            }
        }
    }
    tally
}

/// The refund invariants of one order, against WeChat Pay's ledger: every refund WeChat Pay holds
/// is recorded here once, with its amount and final state; none is left in flight or unsent; none
/// is recorded here that WeChat Pay does not hold (except refused ones, released); the order's
/// totals are the sum of its refunds; the sum refunded at WeChat Pay equals the sum recorded as
/// refunded, and is never more than was paid. Returns how many refunds WeChat Pay holds.
async fn check_refunds(
    store: &SimStore,
    wechat: &WeChat,
    config: &OrdersConfig,
    order: &orders::domain::Order,
    problems: &mut Vec<String>,
) -> u64 {
    use wxpay::refund::RefundStatus;
    let number = &order.order_no;
    let ours = store.refunds(number).await;
    let theirs = wechat
        .ledger()
        .by_out_trade_no(number.as_str())
        .map(|o| o.refunds.clone())
        .unwrap_or_default();
    let has_refunds = !ours.is_empty() || !theirs.is_empty();
    if has_refunds && !order.order_status.is_paid() {
        problems.push(format!(
            "{number} is {} yet has refunds ({} here, {} at WeChat Pay)",
            order.order_status,
            ours.len(),
            theirs.len()
        ));
    }
    for refund in &theirs {
        let recorded: Vec<_> = ours
            .iter()
            .filter(|r| r.out_refund_no.as_str() == refund.out_refund_no())
            .collect();
        let [ours] = recorded[..] else {
            problems.push(format!(
                "WeChat Pay holds refund {} of {number} ({} fen, {}) but {} are recorded here",
                refund.out_refund_no(),
                refund.amount(),
                refund.status.as_str(),
                recorded.len()
            ));
            continue;
        };
        if ours.amount != refund.amount() {
            problems.push(format!(
                "refund {} of {number}: {} fen here, {} at WeChat Pay",
                refund.out_refund_no(),
                ours.amount,
                refund.amount()
            ));
        }
        if RefundState::from_wechat(&refund.status) != Some(ours.state) {
            problems.push(format!(
                "refund {} of {number} is {} here but {} at WeChat Pay",
                refund.out_refund_no(),
                ours.state,
                refund.status.as_str()
            ));
        }
        if refund.external != (ours.origin == RefundOrigin::External) {
            problems.push(format!(
                "refund {} of {number}: made by hand {} but recorded as {}",
                refund.out_refund_no(),
                refund.external,
                ours.origin.as_str()
            ));
        }
    }
    for refund in &ours {
        let held = theirs
            .iter()
            .any(|r| r.out_refund_no() == refund.out_refund_no.as_str());
        let there = theirs
            .iter()
            .find(|r| r.out_refund_no() == refund.out_refund_no.as_str());
        match refund.state {
            RefundState::Submitting | RefundState::Processing => problems.push(format!(
                "refund {} of {number} is still {} after the faults stopped (WeChat Pay: {:?}; refund id here {:?}, there {:?})",
                refund.out_refund_no,
                refund.state,
                there.map(|r| r.status.as_str()),
                refund.refund_id,
                there.map(|r| r.refund_id.as_str())
            )),
            RefundState::Rejected if held => problems.push(format!(
                "refund {} of {number} was released as refused, yet WeChat Pay holds it",
                refund.out_refund_no
            )),
            RefundState::Rejected => {}
            _ if !held => problems.push(format!(
                "refund {} of {number} is {} here but unknown to WeChat Pay",
                refund.out_refund_no, refund.state
            )),
            _ => {}
        }
    }
    let sum = |states: &[RefundState]| -> i64 {
        ours.iter()
            .filter(|r| states.contains(&r.state))
            .map(|r| r.amount)
            .sum()
    };
    let refunded_here = sum(&[RefundState::Success]);
    let refunded_there: i64 = theirs
        .iter()
        .filter(|r| r.status == RefundStatus::Success)
        .map(|r| r.amount())
        .sum();
    if refunded_here != refunded_there {
        problems.push(format!(
            "{number}: {refunded_there} fen refunded at WeChat Pay, {refunded_here} recorded here"
        ));
    }
    let held_there: i64 = theirs
        .iter()
        .filter(|r| r.status != RefundStatus::Closed)
        .map(|r| r.amount())
        .sum();
    if held_there > order.total_fee {
        problems.push(format!(
            "{number}: {held_there} fen refunded of a {} fen payment",
            order.total_fee
        ));
    }
    let holding = sum(&[
        RefundState::Submitting,
        RefundState::Processing,
        RefundState::Success,
        RefundState::Abnormal,
    ]);
    let abnormal = ours
        .iter()
        .filter(|r| r.state == RefundState::Abnormal)
        .count();
    if (order.refunded_fee, order.refunds_abnormal as usize) != (holding, abnormal) {
        problems.push(format!(
            "{number}: totals say {} fen and {} abnormal, its refunds {holding} fen and {abnormal}",
            order.refunded_fee, order.refunds_abnormal
        ));
    }
    if order.paid_after_close
        && config.late_payment_policy == LatePaymentPolicy::Refund
        && !ours.iter().any(|r| r.origin == RefundOrigin::LatePayment)
    {
        problems.push(format!(
            "{number} was paid after it was closed under LATE_PAYMENT_POLICY=refund, but no refund was made"
        ));
    }
    theirs.len() as u64
}
