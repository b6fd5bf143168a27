//! The push writer: a task of this process that takes the pushes queued while it
//! was busy as one group, and writes the group in ONE transaction (`push.rs`):
//! four round trips under the change-sequence lock for the whole group, instead of
//! four per push. Each push is still answered with its own results, only after
//! the commit that made them durable, and gets its own change-sequence value and
//! audit entry, as if the pushes had run one after another.
//!
//! A group that fails (an error, a panic, a failed commit) is rolled back whole,
//! and each of its pushes is then written again alone, so one bad push cannot
//! fail the others (their decisions run again: nothing of the group was kept).
//! No timer: a lone push is written at once, a burst shares the round trips.
//!
//! Per process by design: between server processes the row lock orders the
//! groups. The task is started on first use on the caller's runtime, and again if
//! that runtime is gone.

use super::push::write_group;
use super::*;
use futures_util::FutureExt;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use tokio::sync::{Mutex, mpsc, oneshot};

/// At most this many pushes in one group, so the first of a long queue is not
/// held back by hundreds behind it.
const MAX_GROUP: usize = 64;

/// One push, as the writer queues it.
pub(super) struct Request {
    pub(super) stamp: Stamp,
    pub(super) device_id: Uuid,
    pub(super) event: AuditEvent,
    pub(super) items: Vec<PreparedItem>,
}

/// The keys of what a group's decisions read.
pub(super) struct Keys {
    /// (device, mutation) of every item: the answers stored before.
    pub(super) known: (Vec<Uuid>, Vec<Uuid>),
    pub(super) inspection_ids: Vec<Uuid>,
    /// (device, inspection): the device's earlier refusals for the inspection.
    pub(super) rejected: (Vec<Uuid>, Vec<Uuid>),
    pub(super) tasks: Vec<Uuid>,
    pub(super) blob_ids: Vec<Uuid>,
    pub(super) photo_inspections: Vec<Uuid>,
}

impl Keys {
    pub(super) fn of(requests: &[Request]) -> Keys {
        let mut known = (Vec::new(), Vec::new());
        let mut inspections = HashSet::new();
        let mut rejected = HashSet::new();
        let mut keys = Keys {
            known: (Vec::new(), Vec::new()),
            inspection_ids: Vec::new(),
            rejected: (Vec::new(), Vec::new()),
            tasks: Vec::new(),
            blob_ids: Vec::new(),
            photo_inspections: Vec::new(),
        };
        for r in requests {
            for PreparedItem { item, task_id, .. } in &r.items {
                known.0.push(r.device_id);
                known.1.push(item.mutation_id);
                inspections.insert(item.inspection_id);
                rejected.insert((r.device_id, item.inspection_id));
                keys.tasks.extend(*task_id);
                match item.entity.as_str() {
                    "photo" => {
                        keys.blob_ids.push(item.entity_id);
                        keys.photo_inspections.push(item.inspection_id);
                    }
                    "signature" => keys.blob_ids.push(item.entity_id),
                    _ => {}
                }
            }
        }
        keys.known = known;
        keys.inspection_ids = inspections.into_iter().collect();
        keys.rejected = rejected.into_iter().unzip();
        keys
    }
}

struct Job {
    request: Request,
    reply: oneshot::Sender<StoreResult<Vec<PushResult>>>,
}

/// The queue to the push writer.
#[derive(Default)]
pub(super) struct PushWriter {
    queue: std::sync::Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

impl PushWriter {
    /// Queues `request` and answers its results once the group is committed.
    pub(super) async fn push(
        &self,
        pool: &Pool,
        turn: &Arc<Mutex<()>>,
        request: Request,
    ) -> StoreResult<Vec<PushResult>> {
        let (reply, answer) = oneshot::channel();
        let mut job = Job { request, reply };
        {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(q) = queue.as_ref() {
                    match q.send(job) {
                        Ok(()) => break,
                        // The writer's runtime is gone: start another on this one.
                        Err(mpsc::error::SendError(j)) => job = j,
                    }
                }
                let (q, jobs) = mpsc::unbounded_channel();
                // The task holds no sender: it ends when the store is dropped.
                tokio::spawn(run(pool.clone(), turn.clone(), jobs));
                *queue = Some(q);
            }
        }
        answer
            .await
            .map_err(|_| StoreError::Internal("postgres push writer stopped".into()))?
    }
}

async fn run(pool: Pool, turn: Arc<Mutex<()>>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let (requests, replies): (Vec<Request>, Vec<_>) =
            group.into_iter().map(|j| (j.request, j.reply)).unzip();
        match attempt(&pool, &turn, &requests).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(e) if requests.len() == 1 => {
                let _ = replies.into_iter().next().map(|r| r.send(Err(e)));
            }
            Err(e) => {
                tracing::warn!(error = %e, pushes = requests.len(),
                    "a group of pushes failed and was rolled back; each is written alone");
                for (request, reply) in requests.iter().zip(replies) {
                    let answer = attempt(&pool, &turn, std::slice::from_ref(request)).await;
                    let _ = reply.send(answer.map(|mut a| a.pop().unwrap_or_default()));
                }
            }
        }
    }
}

/// One transaction for `requests`: their answers once committed, or an error and
/// nothing written.
async fn attempt(
    pool: &Pool,
    turn: &Mutex<()>,
    requests: &[Request],
) -> StoreResult<Vec<Vec<PushResult>>> {
    let write = async {
        // One sync write of this process at a time waits on the row lock (see
        // `PgStore::sync_writes`).
        let _turn = turn.lock().await;
        let mut c = pool.get().await?;
        let tx = c.transaction().await?;
        let (answers, wrote) = write_group(&tx, requests).await?;
        if wrote {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(answers)
    };
    AssertUnwindSafe(write)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(StoreError::Internal("a push panicked".into())))
}
