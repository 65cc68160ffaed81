//! One seed: shoppers, replays, cancels, payments, notifications and sweeps on virtual time, with
//! faults for a while and none after; then the invariants, checked against WeChat Pay's ledger.

use std::sync::Arc;
use std::time::Duration;
use wxpay::random::OsRandom;

use orders::adapters::{DynamoOrderStore, EmbeddedOrderStore};
use orders::domain::{BuyerHash, OrderNo, OrderNoGenerator, OrderStatus, Product};
use orders::services::{
    PlaceOrderError, PlaceOrderRequest, cancel_order, place_native_order, sweep_pending,
};
use orders::{NotifyUrl, OrdersConfig};
use time::macros::datetime;
use wxpay::Clock;
use wxpay_sim::order::OrderState;
use wxpay_sim::sandbox::Sandbox;

use super::clock::VirtualClock;
use super::rng::Rng;
use super::store::{Backend, SimStore, Violations};
use super::wechat::{CLIENT_TIMEOUT, WeChat};

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
    let (payments, mut paid) = tokio::sync::mpsc::unbounded_channel();
    let wechat = WeChat::new(rng.clone(), clock.clone(), sandbox.clone(), payments);
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
            while let Some(transaction) = paid.recv().await {
                tokio::spawn(wechat.clone().deliver_owned(transaction, notify.clone()));
            }
        })
    };
    let sweeps = tokio::spawn(sweep_forever(
        store.clone(),
        wechat.clone(),
        clock.clone(),
        config.clone(),
        rng.clone(),
    ));

    let shop = Shop {
        store: store.clone(),
        wechat: wechat.clone(),
        clock: clock.clone(),
        config: config.clone(),
        notify_url: NotifyUrl::parse("https://shop.example/api/wx-pay/native/notify").unwrap(),
        numbers: Arc::new(OrderNoGenerator::new(OsRandom)),
        rng: rng.clone(),
        violations: violations.clone(),
    };
    let shoppers: Vec<_> = (0..rng.range(1, 5))
        .map(|n| tokio::spawn(shopper(shop.clone(), n)))
        .collect();

    // Faults for as long as any order can be placed or paid, then none.
    let ttl = Duration::from_secs(u64::from(config.order_ttl_secs));
    tokio::time::sleep(Duration::from_secs(ARRIVALS_WITHIN_SECS) + ttl + Duration::from_secs(120))
        .await;
    wechat.stop_faults();
    store.stop_faults();
    let faults_stopped = clock.now();
    tokio::time::sleep(ttl + SWEEP_EVERY * u32::try_from(SWEEPS_TO_SETTLE).unwrap()).await;
    for shopper in shoppers {
        shopper.abort();
    }
    sweeps.abort();
    deliveries.abort();

    let mut problems = violations.take();
    let tally = check_ledger(&store, &wechat, &mut problems).await;
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

/// The scheduled sweep, with an occasional second run overlapping the first.
async fn sweep_forever(
    store: SimStore,
    wechat: WeChat,
    clock: VirtualClock,
    config: OrdersConfig,
    rng: Rng,
) {
    let mut schedule = tokio::time::interval(SWEEP_EVERY);
    loop {
        schedule.tick().await;
        let runs = if rng.chance(0.15) { 2 } else { 1 };
        for _ in 0..runs {
            let (store, wechat, clock, config) =
                (store.clone(), wechat.clone(), clock.clone(), config.clone());
            tokio::spawn(async move {
                let deadline = clock.now() + SWEEP_BUDGET;
                let _ = sweep_pending(&store, &wechat, &clock, &config, deadline).await;
            });
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
async fn check_ledger(store: &SimStore, wechat: &WeChat, problems: &mut Vec<String>) -> Tally {
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
            OrderStatus::Success => {
                tally.paid += 1;
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
        let paid_records = records.len();
        let expected = usize::from(order.order_status == OrderStatus::Success);
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
