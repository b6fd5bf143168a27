//! Read connections: a small pool of SQLite connections (WAL), each a snapshot
//! reader of its own, so reads run in parallel with each other and with the writer
//! ([`super::writer`]).
//!
//! Our own forty lines rather than r2d2 or deadpool: the connections are opened
//! once with the same pragmas, never recycled or health-checked (a local file does
//! not drop), and callers are already on tokio's blocking pool, so a mutex and a
//! condition variable are all it takes.

use super::*;
use std::sync::Condvar;

/// A fixed set of read-only connections.
#[derive(Debug)]
pub(super) struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    available: Condvar,
    size: usize,
}

impl ReadPool {
    /// Opens `size` read-only connections on `path` (migrated already).
    pub(super) fn open(path: &Path, size: usize) -> StoreResult<ReadPool> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            let conn = open_connection(path)?;
            // A read connection never writes: a store method sent here by mistake
            // fails in every test instead of bypassing the writer.
            conn.execute_batch("PRAGMA query_only = ON;")?;
            idle.push(conn);
        }
        Ok(ReadPool {
            idle: Mutex::new(idle),
            available: Condvar::new(),
            size,
        })
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// Connections not in use now.
    pub(super) fn idle(&self) -> usize {
        self.idle.lock().map(|i| i.len()).unwrap_or(0)
    }

    /// Runs `f` on an idle connection in a read transaction (one snapshot for all
    /// of `f`'s queries), waiting for a connection (blocking: call from the
    /// blocking pool).
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let poisoned = |_| StoreError::Internal("sqlite read pool mutex poisoned".into());
        let mut conn = {
            let mut idle = self.idle.lock().map_err(poisoned)?;
            loop {
                if let Some(c) = idle.pop() {
                    break c;
                }
                idle = self.available.wait(idle).map_err(poisoned)?;
            }
        };
        // Catch a panic so the connection goes back to the pool either way.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.execute_batch("BEGIN DEFERRED")?;
            let out = f(&mut conn);
            conn.execute_batch("COMMIT")?;
            out
        }));
        if !conn.is_autocommit() {
            // A failed COMMIT or a panic: end the read transaction before reuse.
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.idle.lock().map_err(poisoned)?.push(conn);
        self.available.notify_one();
        out.unwrap_or_else(|_| Err(StoreError::Internal("sqlite read panicked".into())))
    }
}
