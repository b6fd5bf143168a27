//! A day of two inspectors through faults, with one body for every topology of
//! servers (tests/tests/sync_e2e.rs: one server killed and restarted;
//! tests/tests/two_servers.rs: two server processes on one database and one
//! object store, one of them killed with SIGKILL).
//!
//! Six tasks, three inspections on each device done offline with two photos of
//! 1.1–2.6 MB each, nine 文号 taken on each device; then the devices sync through
//! the fault proxy (cut connections, delays, 503s, photo bytes flipped in flight)
//! while servers are killed mid-sync, until both have sent everything. Afterwards
//! the server holds exactly the devices' data (zero loss, zero duplicates), every
//! photo verified and its stored bytes re-hashing to its SHA-256, every 文号 unique
//! and from its device's block, and a replayed push changes nothing at any server.

use crate::proxy::{FaultPlan, FaultProxy};
use crate::sync_fixtures::{
    AUTHORITY, Device, ServerDb, World, YEAR, assert_only_transport_trouble, assert_server_matches,
    at, inspect, push_items, seed,
};
use jiandu_core::protocol::{ItemOutcome, PushRequest, SyncEvent};
use jiandu_sync::{ApiClient, CancelToken, SyncConfig, TokenStore};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A server of a topology.
pub trait Server {
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// Kills it at once: requests in flight die where they are.
    fn kill(&mut self);
}

/// A server killed during the faulted syncs.
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    /// The sync round it happens in (the first is 1); that round's syncs are
    /// started, the server killed `after` into them.
    pub round: u32,
    /// Which server: its index in the order the topology starts them.
    pub server: usize,
    pub after: Duration,
    /// Started again (on a new port) while the round's syncs still run, so their
    /// retries may reach it; else once they have ended.
    pub back_mid_sync: bool,
}

/// How the servers of a day run, and what the devices meet on the way to them.
#[derive(Debug, Clone)]
pub struct Topology<S> {
    /// Names the run in messages.
    pub name: String,
    /// How many servers run at once; the proxy sends each new connection to the
    /// next of them in turn.
    pub servers: usize,
    /// Starts one server on the day's database (and again after a kill).
    pub start: fn(&ServerDb) -> S,
    /// The devices' sync engines.
    pub config: SyncConfig,
    /// The proxy's faults during the day's syncs.
    pub faults: FaultPlan,
    /// The syncs go on (after both devices are done) until this many faults.
    pub min_faults: u64,
    /// Photo chunks whose bytes the run must have seen changed in flight (the
    /// fault plan's `corrupt_chunk` picks them at random).
    pub min_corrupted: u64,
    /// A run not done within this many sync rounds fails.
    pub max_rounds: u32,
    pub kills: Vec<Kill>,
}

/// The day's database with its seeded world (a lead, two inspectors, six tasks)
/// and the topology's servers running on it.
#[derive(Debug)]
pub struct FaultDay<S> {
    pub db: ServerDb,
    pub world: World,
    pub servers: Vec<S>,
    topology: Topology<S>,
    started: Instant,
}

fn quiet(_: SyncEvent) {}

impl<S: Server> FaultDay<S> {
    /// Seeds `db`, then starts the topology's servers on it.
    pub async fn start(db: ServerDb, topology: Topology<S>) -> FaultDay<S> {
        let started = Instant::now();
        let world = seed(&*db.open().await, 6).await;
        let servers = (0..topology.servers)
            .map(|_| (topology.start)(&db))
            .collect();
        FaultDay {
            db,
            world,
            servers,
            topology,
            started,
        }
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(Server::addr).collect()
    }

    /// Each server's own URL (not through the proxy).
    pub fn urls(&self) -> Vec<String> {
        self.addrs().iter().map(|a| format!("http://{a}")).collect()
    }

    /// The day, with every check of it. Returns the proxy the devices went
    /// through (its counts for the caller's own checks).
    pub async fn run(&mut self) -> FaultProxy {
        let name = self.topology.name.clone();
        let config = self.topology.config.clone();
        let proxy = FaultProxy::start(self.servers[0].addr(), FaultPlan::none()).await;
        proxy.set_upstreams(self.addrs());
        let url = proxy.url();
        let a = Device::enrolled(&self.world.inspectors[0], &url).await;
        let b = Device::enrolled(&self.world.inspectors[1], &url).await;
        let ea = Arc::new(a.engine(&url, config.clone()));
        let eb = Arc::new(b.engine(&url, config));
        for e in [&ea, &eb] {
            e.sync_once(&CancelToken::new(), &quiet)
                .await
                .expect("first sync, no faults yet");
        }

        // A day offline: three inspections each, two photos of 1.1–2.6 MB each.
        let mut mine: HashMap<&str, Vec<Uuid>> = HashMap::new();
        for (k, task) in self.world.tasks.iter().enumerate() {
            let (dev, key) = if k < 3 { (&a, "a") } else { (&b, "b") };
            let photos = [1_100_000 + 250_000 * k, 2_600_000 - 100_000 * k];
            mine.entry(key)
                .or_default()
                .push(inspect(dev, *task, &photos, 10 + k as u64, true));
        }
        let mut numbers: Vec<(Uuid, u32)> = Vec::new();
        for dev in [&a, &b] {
            let device = dev
                .with(|s| s.sync_state())
                .expect("sync state")
                .device_id
                .expect("enrolled");
            for i in 0..9 {
                let n = dev
                    .with(|s| s.take_doc_number(AUTHORITY, YEAR, at(100 + i)))
                    .expect("文号 taken")
                    .expect("numbers leased at the first sync");
                numbers.push((device, n));
            }
        }

        // Both devices sync through the faults, round after round, servers
        // killed mid-sync, until both have sent everything and the faults and
        // kills are all done.
        proxy.set_plan(self.topology.faults);
        let kills = self.topology.kills.clone();
        let mut rounds = 0u32;
        let mut killed = 0usize;
        let mut done = (false, false);
        loop {
            rounds += 1;
            if let Some(kill) = kills.iter().find(|k| k.round == rounds) {
                let (ta, tb) = (ea.clone(), eb.clone());
                let ja =
                    tokio::spawn(async move { ta.sync_once(&CancelToken::new(), &quiet).await });
                let jb =
                    tokio::spawn(async move { tb.sync_once(&CancelToken::new(), &quiet).await });
                tokio::time::sleep(kill.after).await;
                self.servers[kill.server].kill();
                if kill.back_mid_sync {
                    self.restart(kill.server, &proxy);
                }
                let _ = (ja.await, jb.await);
                if !kill.back_mid_sync {
                    self.restart(kill.server, &proxy);
                }
                killed += 1;
                continue;
            }
            let (ca, cb) = (CancelToken::new(), CancelToken::new());
            let (ra, rb) = tokio::join!(ea.sync_once(&ca, &quiet), eb.sync_once(&cb, &quiet));
            assert_only_transport_trouble(&[&ra, &rb]);
            done = (
                done.0 || (ra.is_ok() && a.settled()),
                done.1 || (rb.is_ok() && b.settled()),
            );
            if done.0
                && done.1
                && killed == kills.len()
                && proxy.counts.total() >= self.topology.min_faults
            {
                break;
            }
            assert!(
                rounds < self.topology.max_rounds,
                "sync must converge: {}",
                proxy.counts.summary()
            );
        }
        println!(
            "{name} fault run: {rounds} sync rounds, {killed} server kills, {} connections \
             balanced, {} ({:?})",
            proxy.turns(),
            proxy.counts.summary(),
            self.started.elapsed()
        );
        assert!(proxy.counts.total() >= self.topology.min_faults);
        assert!(
            proxy.counts.corrupted.load(Ordering::Relaxed) >= self.topology.min_corrupted,
            "some photo bytes were changed in flight"
        );

        // A final clean sync on both, then: exactly the devices' data on the server.
        proxy.set_faults(false);
        for e in [&ea, &eb] {
            e.sync_once(&CancelToken::new(), &quiet)
                .await
                .expect("a clean sync once the faults stop");
        }
        let st = self.db.open().await;
        let blobs = self.db.blobs();
        assert_server_matches(&*st, &blobs, &a, &mine["a"]).await;
        assert_server_matches(&*st, &blobs, &b, &mine["b"]).await;
        let tasks = &self.world.tasks;
        let all = st.inspections_of_tasks(tasks).await.expect("inspections");
        assert_eq!(all.len(), 6, "one inspection per task, none duplicated");
        let server_blobs = st.all_blobs().await.expect("photos");
        assert_eq!(server_blobs.len(), 12, "12 photos, none duplicated");
        assert!(server_blobs.iter().all(|b| b.complete));
        for d in [&a, &b] {
            assert!(
                d.with(|s| s.conflicts(true)).expect("conflicts").is_empty(),
                "no rejections"
            );
            assert!(
                d.with(|s| s.blocked_uploads())
                    .expect("blocked uploads")
                    .is_empty(),
                "no intact photo is ever blocked, however often its bytes change in flight"
            );
        }

        // Document numbers: blocks of a series (authority, year) never overlap,
        // numbers used are unique and from a block leased to their device.
        let leases = st.doc_number_leases().await.expect("文号 leases");
        let mut seen = HashSet::new();
        for (_, l) in &leases {
            for n in l.first..=l.last {
                assert!(
                    seen.insert((l.authority.clone(), l.year, n)),
                    "number {n} of {} leased twice: {leases:?}",
                    l.authority
                );
            }
        }
        let used: HashSet<u32> = numbers.iter().map(|(_, n)| *n).collect();
        assert_eq!(used.len(), numbers.len(), "every 文号 used once");
        for (device, n) in &numbers {
            assert!(
                leases
                    .iter()
                    .any(|(d, l)| d == device && (l.first..=l.last).contains(n)),
                "number {n} comes from a block leased to its device"
            );
        }

        // The same push replayed, twice at every server: the stored answers come
        // back, nothing changes.
        let items = push_items(&a, 1..=5);
        let before = st.inspections_of_tasks(tasks).await.expect("inspections");
        let token = TokenStore::load(a.tokens.as_ref())
            .expect("token readable")
            .expect("signed in");
        let mut answers = Vec::new();
        for url in self.urls() {
            let client = ApiClient::new(&url, Duration::from_secs(10)).expect("client");
            for _ in 0..2 {
                let request = PushRequest {
                    items: items.clone(),
                };
                answers.push(
                    client
                        .push(&token, &request)
                        .await
                        .expect("replay answered"),
                );
            }
        }
        for answer in &answers[1..] {
            assert_eq!(
                *answer, answers[0],
                "a replay gets the same answers, at every server"
            );
        }
        assert!(
            answers[0]
                .results
                .iter()
                .all(|r| matches!(r.outcome, ItemOutcome::Applied { .. }))
        );
        assert_eq!(
            st.inspections_of_tasks(tasks).await.expect("inspections"),
            before,
            "replays change no inspection"
        );
        println!("{name} fault test took {:?}", self.started.elapsed());
        proxy
    }

    /// Starts server `i` again (after a kill) and sends the proxy's connections to
    /// the servers as they are now.
    fn restart(&mut self, i: usize, proxy: &FaultProxy) {
        self.servers[i] = (self.topology.start)(&self.db);
        proxy.set_upstreams(self.addrs());
    }
}
