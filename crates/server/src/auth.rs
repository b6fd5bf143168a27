//! Passwords, device tokens and the sign-in rate limit.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's defaults, the OWASP
//!   recommendation: m = 19 MiB, t = 2, p = 1), stored as PHC strings.
//! - A device gets its own random 256-bit bearer token at enrolment; only its
//!   SHA-256 is stored, so a database leak does not leak usable tokens. Tokens travel
//!   in `Authorization: Bearer`, never in URLs.
//! - Failed sign-ins are counted per (username, client IP): after
//!   [`LoginLimiter::MAX_FAILURES`] failures within [`LoginLimiter::WINDOW`] that pair is
//!   refused until the window has passed, whatever the password; and per client
//!   address alone ([`LoginLimiter::MAX_FAILURES_PER_IP`], an IPv6 client by its /64),
//!   so random usernames cannot avoid the limit. The counts are in the database,
//!   shared by every server process.
//! - Hashing and verification run on their own small pool ([`PasswordPool`]: two at
//!   a time, a bounded queue), never on the blocking pool the SQLite store uses; a
//!   request that finds the queue full is refused at once.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;

/// Shortest password accepted (the rule is `crate::service::people`'s).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with argon2id and a random salt. Blocking (tens of ms): call
/// it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, for unknown users, so response
/// times do not reveal which usernames exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash =
        DUMMY.get_or_init(|| hash_password("dummy-password-never-matches").unwrap_or_default());
    let _ = verify_password(hash, password);
}

/// A new device bearer token: `jdt_` + 64 hex characters (256 random bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("jdt_{}", hex::encode(bytes))
}

/// SHA-256 (hex) of a token: what the database stores and looks up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Password hashing and verification, two at a time with a bounded queue: a flood
/// of sign-ins costs at most `workers` × 19 MiB and never starves the store.
#[derive(Debug)]
pub struct PasswordPool {
    permits: tokio::sync::Semaphore,
    /// Requests holding or waiting for a permit.
    waiting: std::sync::atomic::AtomicUsize,
    /// Most requests running or queued at once.
    capacity: usize,
}

/// The pool had no room: refuse now, the client retries later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFull;

impl Default for PasswordPool {
    fn default() -> Self {
        Self::new(Self::WORKERS, Self::QUEUE)
    }
}

impl PasswordPool {
    /// Hashings at once.
    pub const WORKERS: usize = 2;
    /// Requests waiting beyond those running.
    pub const QUEUE: usize = 16;

    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(workers.max(1)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            capacity: workers.max(1) + queue,
        }
    }

    /// Runs `f` (a hash or a verification) when a worker is free; `Err(PoolFull)` at
    /// once when `capacity` requests are already running or waiting.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolFull>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        struct Slot<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolFull);
        }
        let _slot = Slot(&self.waiting);
        let _permit = self.permits.acquire().await.map_err(|_| PoolFull)?;
        // On a blocking thread, but never more than `workers` of them at once.
        tokio::task::spawn_blocking(f).await.map_err(|_| PoolFull)
    }
}

/// The sign-in limit's rules. The counts are in the database
/// (`SessionStore::sign_in_failures`), so every server process on it counts the
/// same attempts: a client cannot multiply its tries by the number of servers
/// behind the load balancer, and a restart forgets nothing.
#[derive(Debug, Default)]
pub struct LoginLimiter;

impl LoginLimiter {
    /// Failed attempts allowed per window.
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);
    /// Failed attempts allowed per client address (any usernames) per window.
    pub const MAX_FAILURES_PER_IP: u32 = 30;

    /// The client an address stands for: an IPv6 host by its /64 (one subscriber
    /// holds a whole /64), an IPv4 host (or IPv4-mapped address) by itself.
    fn client(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        }
    }

    /// The keys failures are counted under: (this username from this client, this
    /// client with any username).
    pub fn keys(username: &str, ip: IpAddr) -> (String, String) {
        let client = Self::client(ip);
        (
            format!("u:{}|{client}", username.trim().to_lowercase()),
            format!("ip:{client}"),
        )
    }

    /// `Err(seconds to wait)` when the counts (as the store answers them for
    /// [`LoginLimiter::keys`]) lock this pair or this client out at `now`.
    pub fn check(
        counts: &[(String, u32, DateTime<Utc>)],
        username: &str,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        let (pair, client) = Self::keys(username, ip);
        let window = chrono::Duration::from_std(Self::WINDOW).unwrap_or_default();
        let mut wait = None;
        for (key, n, first) in counts {
            let limit = if *key == pair {
                Self::MAX_FAILURES
            } else if *key == client {
                Self::MAX_FAILURES_PER_IP
            } else {
                continue;
            };
            let left = (*first + window - now).num_seconds();
            if *n >= limit && left > 0 {
                wait = Some(wait.unwrap_or(0).max(left as u64));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Failures counted from this instant on are in the current window.
    pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(Self::WINDOW).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_policy() {
        let h = hash_password("正确的密码horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "正确的密码horse"));
        assert!(!verify_password(&h, "wrong-password"));
        assert!(!verify_password("not a phc string", "x"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn limiter_locks_after_max_failures_per_user_and_ip() {
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let other: IpAddr = "127.0.0.2".parse().expect("ip");
        let t0 = chrono::Utc::now();
        let (pair, client) = LoginLimiter::keys("Zhang ", ip);
        assert_eq!(pair, "u:zhang|127.0.0.1");
        assert_eq!(client, "ip:127.0.0.1");
        let counts = vec![(pair, LoginLimiter::MAX_FAILURES, t0)];
        assert!(
            LoginLimiter::check(&counts, "zhang", ip, t0).is_err(),
            "locked"
        );
        assert!(
            LoginLimiter::check(&counts, "zhang", other, t0).is_ok(),
            "other IP"
        );
        assert!(
            LoginLimiter::check(&counts, "li", ip, t0).is_ok(),
            "other user"
        );
        let later = t0 + chrono::Duration::minutes(15);
        assert!(
            LoginLimiter::check(&counts, "zhang", ip, later).is_ok(),
            "window over"
        );
        let per_ip = vec![(client, LoginLimiter::MAX_FAILURES_PER_IP, t0)];
        assert!(
            LoginLimiter::check(&per_ip, "anyone", ip, t0).is_err(),
            "client locked"
        );
        let v6a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let v6b: IpAddr = "2001:db8:1:2::ffff".parse().expect("ip");
        assert_eq!(
            LoginLimiter::keys("x", v6a),
            LoginLimiter::keys("x", v6b),
            "one /64"
        );
    }
}
