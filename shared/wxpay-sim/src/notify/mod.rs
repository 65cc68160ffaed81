//! Payment and refund notifications: built when an order is paid or a refund leaves `PROCESSING`,
//! delivered in the background on WeChat Pay's retry ladder, logged attempt by attempt. The same
//! background worker also runs the refund timers ([`Task::FinishRefund`]).
//!
//! Each attempt POSTs the envelope to `notify_url` with freshly signed `Wechatpay-*` headers; only
//! a 2xx answered within the notification timeout (5 s by default) counts as delivered. Otherwise
//! the next attempt follows after 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h,
//! 6h (16 attempts in all), each delay divided by the time scale. Deliveries run in their own tasks
//! and never hold up request handling. Pending deliveries are not persisted: a restart drops them.

pub mod envelope;
pub mod log;

use crate::config::SigningMode;
use crate::order::Order;
use crate::refund_timer::finish_after;
use crate::state::SimState;
use crate::store::RefundOfOrder;
use bytes::Bytes;
use futures::future::join_all;
use log::{Attempt, AttemptKind, DeliveryStatus, NotificationLog, NotificationRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use wxpay::models::NotificationEnvelope;
use wxpay::notify::RefundEvent;
use wxpay::random::{self, OsRandom};

/// Delays between attempts, in seconds, before scaling (§6.5).
pub const RETRY_LADDER_SECS: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];
/// How much of an answer body the log keeps.
const ANSWER_CHARS: usize = 512;

/// A notification waiting to be delivered.
#[derive(Debug, Clone)]
pub struct Job {
    /// Envelope id.
    pub id: String,
    /// Where to send it.
    pub notify_url: String,
    /// The envelope, exactly as sent.
    pub body: Bytes,
}

/// Background work, run by [`run_delivery`] until shutdown.
#[derive(Debug, Clone)]
pub enum Task {
    /// Deliver a notification on the retry ladder.
    Deliver(Job),
    /// After `after`, move the refund `out_refund_no` to its outcome and notify it
    /// ([`crate::refund_timer::finish_after`]).
    FinishRefund {
        /// The merchant's refund number.
        out_refund_no: String,
        /// How long it stays `PROCESSING`.
        after: Duration,
    },
}

/// Why a notification could not be scheduled.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Encryption or serialisation failed.
    #[error("could not build the notification")]
    Build,
}

/// Schedules notifications and keeps their log.
pub struct Notifier {
    log: NotificationLog,
    tasks: mpsc::UnboundedSender<Task>,
    http: reqwest::Client,
    time_scale: f64,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier whose tasks go to the returned receiver (drained by [`run_delivery`]).
    pub fn new(
        time_scale: f64,
        timeout: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Task>), reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Mozilla/4.0")
            .build()?;
        let (tasks, receiver) = mpsc::unbounded_channel();
        Ok((
            Self {
                log: NotificationLog::default(),
                tasks,
                http,
                time_scale,
            },
            receiver,
        ))
    }

    /// The log.
    pub fn log(&self) -> &NotificationLog {
        &self.log
    }

    /// Builds the `TRANSACTION.SUCCESS` notification of a paid order and queues it; returns its id.
    pub fn schedule(
        &self,
        key: &wxpay::ApiV3Key,
        order: &Order,
        now: time::OffsetDateTime,
    ) -> Result<String, ScheduleError> {
        let transaction = order.transaction();
        let envelope = envelope::transaction_success(key, &transaction, now)
            .map_err(|_| ScheduleError::Build)?;
        let record = NotificationRecord {
            id: envelope.id.clone(),
            event_type: envelope.event_type.clone(),
            out_trade_no: transaction.out_trade_no,
            transaction_id: transaction.transaction_id.unwrap_or_default(),
            out_refund_no: None,
            notify_url: order.request.notify_url.clone(),
            created_at: now,
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now),
            attempts: Vec::new(),
        };
        self.enqueue(record, &envelope)
    }

    /// Builds the `REFUND.*` notification of a refund that left `PROCESSING` and queues it to the
    /// refund's notify URL; returns its id.
    pub fn schedule_refund(
        &self,
        key: &wxpay::ApiV3Key,
        finished: &RefundOfOrder,
        now: time::OffsetDateTime,
    ) -> Result<String, ScheduleError> {
        let RefundOfOrder { order, refund } = finished;
        let event = RefundEvent::of(&refund.status).ok_or(ScheduleError::Build)?;
        let envelope = envelope::refund_final(key, event, &refund.resource(order), now)
            .map_err(|_| ScheduleError::Build)?;
        let record = NotificationRecord {
            id: envelope.id.clone(),
            event_type: envelope.event_type.clone(),
            out_trade_no: order.out_trade_no().to_owned(),
            transaction_id: order.transaction_id().unwrap_or_default().to_owned(),
            out_refund_no: Some(refund.out_refund_no().to_owned()),
            notify_url: refund.notify_url.clone(),
            created_at: now,
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now),
            attempts: Vec::new(),
        };
        self.enqueue(record, &envelope)
    }

    /// Logs `record` and queues `envelope` for delivery; returns its id.
    fn enqueue(
        &self,
        record: NotificationRecord,
        envelope: &NotificationEnvelope,
    ) -> Result<String, ScheduleError> {
        let body = serde_json::to_vec(envelope).map_err(|_| ScheduleError::Build)?;
        let id = record.id.clone();
        let job = Job {
            id: id.clone(),
            notify_url: record.notify_url.clone(),
            body: Bytes::from(body),
        };
        self.log.insert(record);
        if self.tasks.send(Task::Deliver(job)).is_err() {
            tracing::warn!(%id, "notification delivery has stopped; notification only logged");
        }
        Ok(id)
    }

    /// Queues the timer of a `PROCESSING` refund: it finishes after `after`.
    pub fn finish_later(&self, out_refund_no: String, after: Duration) {
        let task = Task::FinishRefund {
            out_refund_no,
            after,
        };
        if self.tasks.send(task).is_err() {
            tracing::warn!("background work has stopped; refund left PROCESSING");
        }
    }

    /// `real` divided by the time scale: how long a span of WeChat Pay's time takes here.
    pub fn scale(&self, real: Duration) -> Duration {
        real.div_f64(self.time_scale)
    }

    fn scaled(&self, secs: u64) -> Duration {
        Duration::from_secs_f64(secs as f64 / self.time_scale)
    }
}

/// Runs queued work (deliveries and refund timers) until `shutdown` turns true; then abandons those in flight.
pub async fn run_delivery(
    state: Arc<SimState>,
    mut tasks: mpsc::UnboundedReceiver<Task>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            job = tasks.recv() => match job {
                Some(Task::Deliver(job)) => {
                    running.spawn(deliver(state.clone(), job));
                }
                Some(Task::FinishRefund { out_refund_no, after }) => {
                    running.spawn(finish_after(state.clone(), out_refund_no, after));
                }
                None => break,
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    running.shutdown().await;
}

/// Runs the retry ladder of one notification.
async fn deliver(state: Arc<SimState>, job: Job) {
    let notifier = &state.notifier;
    let attempts = u32::try_from(RETRY_LADDER_SECS.len() + 1).unwrap_or(u32::MAX);
    for number in 1..=attempts {
        if number > 1 {
            let index = usize::try_from(number - 2).unwrap_or(0);
            let delay = notifier.scaled(RETRY_LADDER_SECS.get(index).copied().unwrap_or(0));
            let due = state.now() + delay;
            notifier.log.update(&job.id, |r| {
                r.next_attempt_at = Some(due);
            });
            tokio::time::sleep(delay).await;
        }
        let faults = state.faults.current();
        if faults.delay_notifications_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.delay_notifications_ms)).await;
        }
        let mode = state.signer.mode_for(None, faults.sign_with_other_key);
        if faults.drop_notifications {
            let attempt = Attempt {
                number,
                kind: AttemptKind::Delivery,
                copy: 1,
                at: state.now(),
                signed_with: mode,
                elapsed_ms: 0,
                status: None,
                answer: None,
                error: Some("dropped by fault switch".to_owned()),
                acknowledged: false,
            };
            notifier.log.update(&job.id, |r| r.attempts.push(attempt));
            continue;
        }
        if faults.signtest_probe {
            let attempt = send(&state, &job, number, 1, mode, AttemptKind::SigntestProbe).await;
            if attempt.acknowledged {
                tracing::warn!(id = %job.id, "merchant acknowledged a WECHATPAY/SIGNTEST probe");
            }
            notifier.log.update(&job.id, |r| r.attempts.push(attempt));
        }
        let copies = faults.duplicate_notifications.max(1);
        let sent = join_all(
            (1..=copies).map(|copy| send(&state, &job, number, copy, mode, AttemptKind::Delivery)),
        )
        .await;
        let delivered = sent.iter().any(|a| a.acknowledged);
        notifier.log.update(&job.id, |r| {
            r.attempts.extend(sent);
            if delivered {
                r.status = DeliveryStatus::Delivered;
                r.next_attempt_at = None;
            }
        });
        if delivered {
            return;
        }
    }
    notifier.log.update(&job.id, |r| {
        r.status = DeliveryStatus::Failed;
        r.next_attempt_at = None;
    });
    tracing::info!(id = %job.id, "notification not acknowledged; retry ladder exhausted");
}

/// Sends one copy (a real notification or a probe) and reports how it went.
async fn send(
    state: &SimState,
    job: &Job,
    number: u32,
    copy: u32,
    mode: SigningMode,
    kind: AttemptKind,
) -> Attempt {
    let now = state.now();
    let nonce = random::alphanumeric(&OsRandom, 32);
    let headers = match kind {
        AttemptKind::SigntestProbe => Ok(state.signer.probe(mode, now.unix_timestamp(), nonce)),
        AttemptKind::Delivery => state
            .signer
            .sign(mode, now.unix_timestamp(), nonce, &job.body),
    };
    let mut attempt = Attempt {
        number,
        kind,
        copy,
        at: now,
        signed_with: mode,
        elapsed_ms: 0,
        status: None,
        answer: None,
        error: None,
        acknowledged: false,
    };
    let headers = match headers {
        Ok(headers) => headers,
        Err(_) => {
            attempt.error = Some("signing failed".to_owned());
            return attempt;
        }
    };
    let mut header_map = http::HeaderMap::new();
    headers.write_to(&mut header_map);
    let started = Instant::now();
    let result = state
        .notifier
        .http
        .post(&job.notify_url)
        .headers(header_map)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("request-id", random::upper_hex(&OsRandom, 44))
        .body(job.body.clone())
        .send()
        .await;
    match result {
        Ok(response) => {
            let status = response.status();
            let answer = read_answer(response).await;
            attempt.status = Some(status.as_u16());
            match answer {
                Ok(text) => {
                    attempt.answer = Some(text);
                    attempt.acknowledged = status.is_success() && kind == AttemptKind::Delivery;
                }
                Err(error) => attempt.error = Some(error),
            }
        }
        Err(error) => attempt.error = Some(describe(&error)),
    }
    attempt.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    attempt
}

/// The start of the answer body; fails if the body does not arrive within the timeout.
async fn read_answer(mut response: reqwest::Response) -> Result<String, String> {
    let mut collected = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if collected.len() < ANSWER_CHARS * 4 {
                    collected.extend_from_slice(&chunk);
                }
            }
            Ok(None) => break,
            Err(error) => return Err(describe(&error)),
        }
    }
    Ok(String::from_utf8_lossy(&collected)
        .chars()
        .take(ANSWER_CHARS)
        .collect())
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_adds_up_to_24_hours_and_4_minutes() {
        let total: u64 = RETRY_LADDER_SECS.iter().sum();
        assert_eq!(total, 24 * 3600 + 4 * 60);
    }
}
