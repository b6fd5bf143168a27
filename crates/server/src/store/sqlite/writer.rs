//! The one writer: a thread owning the only writing connection. Writes queue up
//! while it is busy, and it takes everything queued as one group: ONE transaction
//! and ONE commit (one fsync of the WAL, `synchronous = FULL`) for all of them,
//! each request in a SAVEPOINT of its own, so
//!
//! - each request is answered with its own result, and only after the commit that
//!   made it durable;
//! - a request that fails (an error, a refusal, a panic) or changes nothing is
//!   rolled back to its savepoint alone, its change-sequence bump with it, so the
//!   sequence stays gap-free and in commit order (later requests of the group see
//!   the earlier ones' writes, as if they had run one after another);
//! - if the commit itself fails, every request of the group gets an error and
//!   nothing is written (a device retries its push; replays are safe).
//!
//! No timer: a group is whatever queued while the previous one was being written,
//! so a lone request commits at once and a burst shares fsyncs.

use super::*;
use std::any::Any;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// At most this many requests in one group, so the first of a long queue is not
/// held back by hundreds behind it (a push and the device's contact time are two).
const MAX_GROUP: usize = 128;

type Answer = Box<dyn Any + Send>;
/// A request's work inside its savepoint: its answer, and whether to keep what it
/// wrote (false: roll back to the savepoint, and still answer).
type Run = Box<dyn FnOnce(&Connection) -> StoreResult<(Answer, bool)> + Send>;

struct Job {
    run: Run,
    reply: oneshot::Sender<StoreResult<Answer>>,
}

/// The queue to the writer thread; the thread ends when the store is dropped.
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread on `conn` (migrated already).
    pub(super) fn start(conn: Connection) -> StoreResult<Writer> {
        let (queue, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("jiandu-sqlite-writer".into())
            .spawn(move || {
                while let Ok(first) = jobs.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(j) => group.push(j),
                            Err(_) => break,
                        }
                    }
                    commit_group(&conn, group);
                }
            })
            .map_err(StoreError::internal)?;
        Ok(Writer { queue })
    }

    /// Runs `f` in the next group transaction and answers what it answered once
    /// that transaction is committed. `f` answers whether to keep its writes.
    pub(super) async fn submit<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<(T, bool)> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let run: Run = Box::new(move |c| f(c).map(|(t, keep)| (Box::new(t) as Answer, keep)));
        self.queue
            .send(Job { run, reply })
            .map_err(|_| StoreError::Internal("sqlite writer stopped".into()))?;
        let answer = answer
            .await
            .map_err(|_| StoreError::Internal("sqlite writer stopped".into()))??;
        answer
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Internal("sqlite writer answered another type".into()))
    }
}

/// Runs one group: BEGIN IMMEDIATE, a savepoint per request, one COMMIT, then
/// the answers.
fn commit_group(conn: &Connection, group: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = format!("sqlite: {e}");
        for job in group {
            let _ = job.reply.send(Err(StoreError::Internal(msg.clone())));
        }
        return;
    }
    let mut done: Vec<(oneshot::Sender<StoreResult<Answer>>, StoreResult<Answer>)> =
        Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let mut fatal: Option<String> = None;
    for job in jobs.by_ref() {
        match in_savepoint(conn, job.run) {
            Ok(result) => done.push((job.reply, result)),
            Err(e) => {
                let msg = e.to_string();
                done.push((job.reply, Err(e)));
                fatal = Some(msg);
                break;
            }
        }
    }
    let failed = match fatal {
        None => conn
            .execute_batch("COMMIT")
            .err()
            .map(|e| format!("sqlite: {e}")),
        Some(msg) => Some(msg),
    };
    match failed {
        None => {
            for (reply, result) in done {
                let _ = reply.send(result);
            }
        }
        Some(msg) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            tracing::error!(error = %msg, "sqlite group commit failed; the group is rolled back");
            let failed = || StoreError::Internal(format!("group transaction failed: {msg}"));
            for (reply, result) in done {
                let _ = reply.send(result.and_then(|_| Err(failed())));
            }
            for job in jobs {
                let _ = job.reply.send(Err(failed()));
            }
        }
    }
}

/// Runs one request in its savepoint: `Ok` is the request's own result; `Err` is
/// a failure of the savepoint itself, which ends the group.
fn in_savepoint(conn: &Connection, run: Run) -> StoreResult<StoreResult<Answer>> {
    conn.prepare_cached("SAVEPOINT request")?.execute([])?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".into())));
    match result {
        Ok((answer, true)) => {
            conn.prepare_cached("RELEASE request")?.execute([])?;
            Ok(Ok(answer))
        }
        Ok((answer, false)) => {
            conn.execute_batch("ROLLBACK TO request; RELEASE request")?;
            Ok(Ok(answer))
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO request; RELEASE request")?;
            Ok(Err(e))
        }
    }
}
