//! Where record ids come from.
//!
//! Every record born on the device (inspection, finding, photo, signature, outbox
//! mutation) gets a UUIDv7 from an [`IdSource`]. The default reads the system clock
//! inside the uuid crate; tests install [`SequentialIds`] so every id is known in
//! advance.

use std::fmt::Debug;
use uuid::Uuid;

/// Makes new record ids. Ids must be unique; UUIDv7 keeps them roughly time-ordered,
/// which keeps SQLite's primary-key indexes compact.
pub trait IdSource: Debug + Send {
    fn next_id(&mut self) -> Uuid;
}

/// UUIDv7 from the system clock and random bits (production).
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7;

impl IdSource for UuidV7 {
    fn next_id(&mut self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Deterministic UUIDv7s: a fixed millisecond timestamp plus a counter in the
/// random bits. For tests and benchmarks.
#[derive(Debug, Clone)]
pub struct SequentialIds {
    unix_ms: u64,
    counter: u64,
}

impl SequentialIds {
    pub fn new(unix_ms: u64) -> Self {
        Self {
            unix_ms,
            counter: 0,
        }
    }
}

impl IdSource for SequentialIds {
    fn next_id(&mut self) -> Uuid {
        self.counter += 1;
        let mut random = [0u8; 10];
        random[2..].copy_from_slice(&self.counter.to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(self.unix_ms, &random).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_distinct_ordered_v7() {
        let mut ids = SequentialIds::new(1_746_000_000_000);
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b, "two ids from one source must differ");
        assert!(a < b, "later ids sort after earlier ones");
        assert_eq!(a.get_version_num(), 7, "ids are UUIDv7");
    }
}
