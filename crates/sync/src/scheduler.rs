//! When sync runs: on a connectivity change to online, on a timer, and on demand
//! ("同步"), one at a time. A failed sync is retried after an exponential backoff
//! with jitter (so 500 tablets coming back online at 18:00 do not all knock at
//! once); "同步" skips the wait. A revoked device stops for good.

use crate::client::SyncError;
use crate::engine::{CancelToken, SyncEngine};
use jiandu_core::protocol::SyncEvent;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast, watch};

/// Timing of automatic syncs.
#[derive(Debug, Clone, Copy)]
pub struct SchedulePolicy {
    /// A sync every `interval` while online.
    pub interval: Duration,
    /// Backoff after the first failure, doubled per failure up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15 * 60),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(10 * 60),
        }
    }
}

/// The wait before retry number `failures` (1-based): exponential, capped, with
/// "equal jitter" (between half and all of it).
pub fn backoff(policy: &SchedulePolicy, failures: u32, rng: &mut impl Rng) -> Duration {
    let exp = policy
        .backoff_base
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let cap = exp.min(policy.backoff_max);
    let half = cap / 2;
    half + Duration::from_millis(rng.random_range(0..=half.as_millis() as u64))
}

/// A running scheduler.
#[derive(Debug)]
pub struct Scheduler {
    trigger: Arc<Notify>,
    online: watch::Sender<bool>,
    stop: CancelToken,
    events: broadcast::Sender<SyncEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Starts scheduling syncs of `engine` (online at start: `online`).
    pub fn spawn(engine: Arc<SyncEngine>, policy: SchedulePolicy, online: bool) -> Scheduler {
        let trigger = Arc::new(Notify::new());
        let (online_tx, online_rx) = watch::channel(online);
        let stop = CancelToken::new();
        let (events, _) = broadcast::channel(256);
        let task = tokio::spawn(run(
            engine,
            policy,
            trigger.clone(),
            online_rx,
            stop.clone(),
            events.clone(),
        ));
        Scheduler {
            trigger,
            online: online_tx,
            stop,
            events,
            task,
        }
    }

    /// "同步": sync now (skips a backoff wait).
    pub fn sync_now(&self) {
        self.trigger.notify_one();
    }

    /// Connectivity changed; going online starts a sync.
    pub fn set_online(&self, online: bool) {
        let _ = self.online.send(online);
    }

    /// Progress events of every sync.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// Interrupts a running sync and stops; all work done so far is kept.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn run(
    engine: Arc<SyncEngine>,
    policy: SchedulePolicy,
    trigger: Arc<Notify>,
    mut online: watch::Receiver<bool>,
    stop: CancelToken,
    events: broadcast::Sender<SyncEvent>,
) {
    let mut failures = 0u32;
    let mut wait = Duration::ZERO;
    loop {
        // Wait: for the delay (timer or backoff), "同步", or coming online.
        let woke = tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = trigger.notified() => true,
            r = online.changed() => r.is_ok() && *online.borrow(),
            _ = stop.run(std::future::pending::<Result<(), SyncError>>()) => return,
        };
        if !woke {
            continue;
        }
        if !*online.borrow() {
            wait = policy.interval;
            continue;
        }
        let tx = events.clone();
        let emit = move |e: SyncEvent| {
            let _ = tx.send(e);
        };
        match engine.sync_once(&stop, &emit).await {
            Ok(_) => {
                failures = 0;
                wait = policy.interval;
            }
            Err(
                SyncError::Revoked(_)
                | SyncError::Lost(_)
                | SyncError::SignedOff { .. }
                | SyncError::NotEnrolled,
            ) => {
                tracing::warn!(
                    "automatic sync stopped: the platform no longer accepts this device"
                );
                return;
            }
            Err(SyncError::Cancelled) => return,
            Err(_) => {
                failures += 1;
                wait = backoff(&policy, failures, &mut rand::rng());
                tracing::info!(
                    failures,
                    retry_in_s = wait.as_secs(),
                    "sync will be retried"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = SchedulePolicy {
            interval: Duration::from_secs(60),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(30),
        };
        let mut rng = rand::rng();
        for n in 1..=10u32 {
            let full = Duration::from_secs(2 * (1u64 << (n - 1))).min(Duration::from_secs(30));
            for _ in 0..50 {
                let d = backoff(&p, n, &mut rng);
                assert!(
                    d >= full / 2 && d <= full,
                    "retry {n}: {d:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| backoff(&p, 5, &mut rng)).collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    }
}
