//! A TCP proxy that injects faults between a device and the server, by doing them:
//! it cuts connections at random byte offsets (either direction), delays traffic,
//! answers 503 itself, and flips a byte in the body of a photo chunk (PATCH) so
//! the server's hash check must catch it. Every injected fault is counted.
//!
//! It also stands for the network in the benchmark: every byte it forwards is
//! counted per direction (`bytes_up`, `bytes_down`: bytes on the wire above TCP),
//! and [`FaultProxy::set_rate`] turns it into one link of a given bandwidth shared
//! by all connections.
//!
//! And for a slow platform: the server's answers can be held back, each for a
//! fixed time ([`FaultProxy::set_answer_delay`]: "answers 30 s late") or until
//! released ([`FaultProxy::hold_answers`]), while the requests reach the server at
//! once. [`FaultProxy::answers_waiting`] tells how many answers are held now, so a
//! test knows its slow call is really pending.

use rand::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How often each fault happens, per connection (the rest pass cleanly).
#[derive(Debug, Clone, Copy)]
pub struct FaultPlan {
    /// Cut the device→server stream after a random number of bytes.
    pub cut_upstream: f64,
    /// Cut the server→device stream after a random number of bytes.
    pub cut_downstream: f64,
    /// Answer 503 without reaching the server.
    pub unavailable: f64,
    /// Flip one byte inside a photo chunk's body.
    pub corrupt_chunk: f64,
    /// Delay the start (and every read) by up to this many milliseconds.
    pub delay: f64,
    pub max_delay_ms: u64,
    /// Upper bound of a cut offset, device→server (reaches mid-photo).
    pub max_cut_up: usize,
    pub max_cut_down: usize,
}

impl FaultPlan {
    pub fn none() -> Self {
        FaultPlan {
            cut_upstream: 0.0,
            cut_downstream: 0.0,
            unavailable: 0.0,
            corrupt_chunk: 0.0,
            delay: 0.0,
            max_delay_ms: 0,
            max_cut_up: 0,
            max_cut_down: 0,
        }
    }
}

/// Counts of injected faults.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub connections: AtomicU64,
    pub cuts_up: AtomicU64,
    pub cuts_down: AtomicU64,
    pub unavailable: AtomicU64,
    pub corrupted: AtomicU64,
    pub delays: AtomicU64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.cuts_up.load(Ordering::Relaxed)
            + self.cuts_down.load(Ordering::Relaxed)
            + self.unavailable.load(Ordering::Relaxed)
            + self.corrupted.load(Ordering::Relaxed)
            + self.delays.load(Ordering::Relaxed)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} faults in {} connections: {} cuts device→server, {} cuts server→device, {} × 503, {} corrupted chunks, {} delays",
            self.total(),
            self.connections.load(Ordering::Relaxed),
            self.cuts_up.load(Ordering::Relaxed),
            self.cuts_down.load(Ordering::Relaxed),
            self.unavailable.load(Ordering::Relaxed),
            self.corrupted.load(Ordering::Relaxed),
            self.delays.load(Ordering::Relaxed),
        )
    }
}

/// A running proxy.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    /// When set, each new connection goes to the next of these in turn (several
    /// server processes behind one address, like a load balancer).
    upstreams: Arc<Mutex<Vec<SocketAddr>>>,
    /// Connections handed out round-robin so far.
    turn: Arc<AtomicU64>,
    plan: Arc<Mutex<FaultPlan>>,
    pub counts: Arc<FaultCounts>,
    /// Bytes forwarded device→server (for wire-size figures).
    pub bytes_up: Arc<AtomicU64>,
    /// Bytes forwarded server→device.
    pub bytes_down: Arc<AtomicU64>,
    enabled: Arc<AtomicBool>,
    /// The link each direction shares between all connections.
    links: [Arc<Link>; 2],
    /// Cut the device→server connection that carries this byte of `bytes_up`
    /// (u64::MAX: none pending).
    cut_at: Arc<AtomicU64>,
    answers: Arc<Answers>,
    /// Bumped to close every open connection (a new plan then applies to all).
    generation: tokio::sync::watch::Sender<u64>,
}

/// When the server's answers reach the device.
#[derive(Debug)]
struct Answers {
    /// Each answer waits this long before its first byte is forwarded.
    delay_ms: AtomicU64,
    /// While true, answers wait until it turns false.
    held: tokio::sync::watch::Sender<bool>,
    /// Answers waiting now.
    waiting: AtomicU64,
}

impl Answers {
    /// Waits as the plan says before an answer's first byte goes to the device.
    async fn wait(&self) {
        let delay = self.delay_ms.load(Ordering::Relaxed);
        let mut held = self.held.subscribe();
        if delay == 0 && !*held.borrow() {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = held.wait_for(|h| !*h).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One direction of a link of limited bandwidth: bytes of every connection pass
/// it one after the other, each taking len / rate seconds. Time the link is idle
/// is lost, never saved up for a burst.
#[derive(Debug)]
struct Link {
    /// Bytes per second (0: unlimited).
    rate: AtomicU64,
    /// When the link has sent everything handed to it so far.
    free_at: Mutex<tokio::time::Instant>,
}

impl Link {
    fn new() -> Self {
        Link {
            rate: AtomicU64::new(0),
            free_at: Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits until `len` more bytes have crossed the link.
    async fn carry(&self, len: usize) {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return;
        }
        let done = {
            let mut free = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*free).max(tokio::time::Instant::now());
            *free = start + Duration::from_secs_f64(len as f64 / rate as f64);
            *free
        };
        tokio::time::sleep_until(done).await;
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let proxy = FaultProxy {
            addr: listener.local_addr().expect("proxy address"),
            upstream: Arc::new(Mutex::new(upstream)),
            upstreams: Arc::new(Mutex::new(Vec::new())),
            turn: Arc::new(AtomicU64::new(0)),
            plan: Arc::new(Mutex::new(plan)),
            counts: Arc::new(FaultCounts::default()),
            bytes_up: Arc::new(AtomicU64::new(0)),
            bytes_down: Arc::new(AtomicU64::new(0)),
            enabled: Arc::new(AtomicBool::new(true)),
            links: [Arc::new(Link::new()), Arc::new(Link::new())],
            cut_at: Arc::new(AtomicU64::new(u64::MAX)),
            answers: Arc::new(Answers {
                delay_ms: AtomicU64::new(0),
                held: tokio::sync::watch::Sender::new(false),
                waiting: AtomicU64::new(0),
            }),
            generation: tokio::sync::watch::Sender::new(0),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move { p.handle(client).await });
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, addr: SocketAddr) {
        *self.upstream.lock().unwrap_or_else(|e| e.into_inner()) = addr;
    }

    /// Sends connection after connection to each of `addrs` in turn (with
    /// `reuse_connections: false`, request after request alternates between them).
    pub fn set_upstreams(&self, addrs: Vec<SocketAddr>) {
        *self.upstreams.lock().unwrap_or_else(|e| e.into_inner()) = addrs;
    }

    /// Connections sent to each upstream of [`FaultProxy::set_upstreams`] so far, in
    /// turn order (the first gets the extra one).
    pub fn turns(&self) -> u64 {
        self.turn.load(Ordering::Relaxed)
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// Limits each direction to `bytes_per_sec` (0: unlimited), shared by all
    /// connections, like one network link.
    pub fn set_rate(&self, bytes_per_sec: u64) {
        for l in &self.links {
            l.rate.store(bytes_per_sec, Ordering::Relaxed);
        }
    }

    /// Cuts the device→server connection that carries the `after`-th byte from now
    /// (counted in `bytes_up`): only the bytes before it reach the server. Once.
    pub fn cut_up_after(&self, after: u64) {
        let now = self.bytes_up.load(Ordering::Relaxed);
        self.cut_at.store(now + after, Ordering::Relaxed);
    }

    /// Bytes forwarded both ways so far.
    pub fn wire_bytes(&self) -> u64 {
        self.bytes_up.load(Ordering::Relaxed) + self.bytes_down.load(Ordering::Relaxed)
    }

    /// Every answer of the server reaches the device `delay` late (zero: at once);
    /// the request reaches the server at once. Answers already waiting keep their
    /// delay.
    pub fn set_answer_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.answers.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Holds every answer of the server (requests still reach it) until
    /// [`FaultProxy::release_answers`].
    pub fn hold_answers(&self) {
        self.answers.held.send_replace(true);
    }

    /// Lets held answers go, and later ones pass.
    pub fn release_answers(&self) {
        self.answers.held.send_replace(false);
    }

    /// Answers being held back (or delayed) now: each is a request of the device
    /// still waiting for the platform.
    pub fn answers_waiting(&self) -> u64 {
        self.answers.waiting.load(Ordering::SeqCst)
    }

    /// Closes every open connection (kept-alive ones included), so the next
    /// requests open new ones and meet the current plan and upstream.
    pub fn reset_connections(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Faults on or off (off: a clean pass-through).
    pub fn set_faults(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    async fn handle(&self, mut client: TcpStream) {
        self.counts.connections.fetch_add(1, Ordering::Relaxed);
        let mut generation = self.generation.subscribe();
        let plan = if self.enabled.load(Ordering::Relaxed) {
            *self.plan.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            FaultPlan::none()
        };
        let (mode, delay_ms) = {
            let mut rng = rand::rng();
            let x: f64 = rng.random();
            let mut acc = 0.0;
            let mut pick = |p: f64| {
                acc += p;
                x < acc
            };
            let mode = if pick(plan.unavailable) {
                Mode::Unavailable
            } else if pick(plan.cut_upstream) {
                Mode::CutUp(log_uniform(&mut rng, plan.max_cut_up))
            } else if pick(plan.cut_downstream) {
                Mode::CutDown(log_uniform(&mut rng, plan.max_cut_down))
            } else if pick(plan.corrupt_chunk) {
                Mode::Corrupt(rng.random_range(0..64 * 1024))
            } else if plan.corrupt_chunk > 0.0 && self.counts.corrupted.load(Ordering::Relaxed) == 0
            {
                // Until one chunk has been corrupted, a clean connection corrupts a
                // byte near the start of a chunk it carries: a plan that corrupts
                // always does, however the draws fall (a run where no corrupting
                // connection happened to carry a chunk tested nothing of it).
                Mode::Corrupt(rng.random_range(0..512))
            } else {
                Mode::Clean
            };
            let delay = if rng.random::<f64>() < plan.delay && plan.max_delay_ms > 0 {
                rng.random_range(1..=plan.max_delay_ms)
            } else {
                0
            };
            (mode, delay)
        };
        if delay_ms > 0 {
            self.counts.delays.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        if let Mode::Unavailable = mode {
            self.counts.unavailable.fetch_add(1, Ordering::Relaxed);
            // Read whatever the device has sent already, then answer and close.
            let mut buf = vec![0u8; 64 * 1024];
            let _ = tokio::time::timeout(Duration::from_millis(20), client.read(&mut buf)).await;
            let body = r#"{"code":"unavailable","message":"服务暂时不可用，请稍后重试"}"#;
            let resp = format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(resp.as_bytes()).await;
            let _ = client.shutdown().await;
            return;
        }
        let upstream = {
            let many = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
            if many.is_empty() {
                *self.upstream.lock().unwrap_or_else(|e| e.into_inner())
            } else {
                let n = self.turn.fetch_add(1, Ordering::Relaxed);
                many[(n % many.len() as u64) as usize]
            }
        };
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let (up_limit, down_limit, corrupt_at) = match mode {
            Mode::CutUp(n) => (Some(n), None, None),
            Mode::CutDown(n) => (None, Some(n), None),
            Mode::Corrupt(n) => (None, None, Some(n)),
            _ => (None, None, None),
        };
        // Set by each request's bytes, taken by the first byte of its answer.
        let asked = Arc::new(AtomicBool::new(false));
        let up = pump(
            cr,
            sw,
            up_limit,
            corrupt_at,
            Shared {
                link: self.links[0].clone(),
                counter: self.bytes_up.clone(),
                counts: self.counts.clone(),
                cut_at: Some(self.cut_at.clone()),
                asked: asked.clone(),
                answers: None,
            },
            Dir::Up,
        );
        let down = pump(
            sr,
            cw,
            down_limit,
            None,
            Shared {
                link: self.links[1].clone(),
                counter: self.bytes_down.clone(),
                counts: self.counts.clone(),
                cut_at: None,
                asked,
                answers: Some(self.answers.clone()),
            },
            Dir::Down,
        );
        // When either side ends (or is cut), the whole connection goes.
        tokio::select! {
            _ = up => {},
            _ = down => {},
            _ = generation.changed() => {},
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Clean,
    Unavailable,
    CutUp(usize),
    CutDown(usize),
    Corrupt(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

/// What one direction of a connection shares with the proxy.
struct Shared {
    link: Arc<Link>,
    /// Bytes forwarded in this direction, all connections.
    counter: Arc<AtomicU64>,
    counts: Arc<FaultCounts>,
    /// The one-shot cut of [`FaultProxy::cut_up_after`] (device→server only).
    cut_at: Option<Arc<AtomicU64>>,
    /// A request went up since the last answer began.
    asked: Arc<AtomicBool>,
    /// Server→device only: how answers are timed.
    answers: Option<Arc<Answers>>,
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut_after: Option<usize>,
    corrupt_at: Option<usize>,
    shared: Shared,
    dir: Dir,
) {
    let Shared {
        link,
        counter,
        counts,
        cut_at,
        asked,
        answers,
    } = shared;
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0usize;
    // Corruption: find a PATCH request's body, flip one byte `corrupt_at` into it.
    let mut window: Vec<u8> = Vec::new();
    let mut body_pos: Option<usize> = None;
    let mut corrupted = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &mut buf[..n];
        match &answers {
            None => asked.store(true, Ordering::SeqCst),
            Some(a) => {
                if asked.swap(false, Ordering::SeqCst) {
                    a.wait().await;
                }
            }
        }
        if let Some(limit) = cut_after
            && sent + chunk.len() >= limit
        {
            let keep = limit - sent;
            link.carry(keep).await;
            let _ = to.write_all(&chunk[..keep]).await;
            counter.fetch_add(keep as u64, Ordering::Relaxed);
            match dir {
                Dir::Up => counts.cuts_up.fetch_add(1, Ordering::Relaxed),
                Dir::Down => counts.cuts_down.fetch_add(1, Ordering::Relaxed),
            };
            return;
        }
        if let Some(at) = corrupt_at
            && !corrupted
        {
            if body_pos.is_none() {
                window.extend_from_slice(chunk);
                if let Some(p) = find(&window, b"PATCH /api/v1/photos/")
                    && let Some(h) = find(&window[p..], b"\r\n\r\n")
                {
                    // Body starts at p + h + 4 of the window.
                    body_pos = Some(sent + (p + h + 4) - (window.len() - chunk.len()));
                }
                if window.len() > 1 << 20 {
                    window.drain(..window.len() - 4096);
                }
            }
            if let Some(b) = body_pos {
                let target = b + at;
                if target >= sent && target < sent + chunk.len() {
                    chunk[target - sent] ^= 0x5A;
                    corrupted = true;
                    counts.corrupted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some(cut) = &cut_at {
            let target = cut.load(Ordering::Relaxed);
            let total = counter.load(Ordering::Relaxed);
            if target != u64::MAX
                && total + chunk.len() as u64 > target
                && cut
                    .compare_exchange(target, u64::MAX, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                let keep = target.saturating_sub(total) as usize;
                link.carry(keep).await;
                let _ = to.write_all(&chunk[..keep]).await;
                counter.fetch_add(keep as u64, Ordering::Relaxed);
                counts.cuts_up.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        link.carry(chunk.len()).await;
        if to.write_all(chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}

/// A byte offset in `0..max`, log-uniform: small requests are cut as often as
/// multi-megabyte photo chunks (in the headers, mid-body, mid-chunk).
fn log_uniform(rng: &mut impl Rng, max: usize) -> usize {
    let max = max.max(2) as f64;
    (max.ln() * rng.random::<f64>()).exp() as usize - 1
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
