//! One sync: push the outbox, upload files, top up 文号 blocks, pull, apply what
//! waited. Every step commits locally before the next network call, so a sync
//! can be cut at ANY moment (connection lost, app killed, [`CancelToken`]) and the
//! next one continues: replayed pushes get their stored answers, uploads resume at
//! the server's durable offset, the pull cursor only moves with its page.
//!
//! The store is shared with the UI ([`SharedStore`]): it is locked only for the
//! local step itself, never across a network wait, and the steps that write (a
//! push's acknowledgement, a pull page) run on the blocking pool, not on a runtime
//! worker (see `local`).

use crate::client::{ApiClient, ChunkAnswer, NetError, NetKind, SyncError};
use crate::token::TokenStore;
use chrono::{DateTime, Utc};
use jiandu_core::protocol::{
    BlobRegistration, EnrollRequest, EnrollResponse, LeaseRequest, MAX_CHUNK_BYTES, MAX_PUSH_BYTES,
    MIN_CHUNK_BYTES, PushRequest, SyncEvent, SyncPhase, SyncProgress,
};
use jiandu_store::{Store, UploadJob};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use uuid::Uuid;

/// The device store, shared between the UI and sync.
pub type SharedStore = Arc<Mutex<Store>>;

/// Where time comes from (tests pin it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Stops a running sync at its next await point.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
    async fn cancelled(&self) {
        loop {
            let n = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
    /// Runs `f` unless cancelled first.
    pub async fn run<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        if self.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        tokio::select! {
            r = f => r,
            _ = self.cancelled() => Err(SyncError::Cancelled),
        }
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Outbox entries per push request.
    pub push_batch: usize,
    /// Changes per pull page.
    pub pull_limit: usize,
    /// Photo chunk size (1–4 MiB).
    pub chunk_bytes: u64,
    /// Reconnects to one upload within a sync before giving up until the next.
    pub upload_retries: u32,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// (authority, year) whose 文号 this device issues, and the block size asked for.
    pub doc_numbers: Vec<(String, i32)>,
    pub lease_block: u32,
    /// Keep-alive connections (off: one connection per request).
    pub reuse_connections: bool,
    /// Files uploaded at once (1 or 2). Two keep the link busy while one file
    /// waits for the server's answer to its chunk (fsync included): with one, a
    /// 20 Mbit/s link idled 8% of the day's upload.
    pub upload_lanes: usize,
    /// A private CA (PEM) trusted for this platform beside the built-in roots
    /// (首次设置 accepts one).
    pub root_ca_pem: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            push_batch: 200,
            pull_limit: 500,
            chunk_bytes: 2 * 1024 * 1024,
            upload_retries: 8,
            request_timeout: Duration::from_secs(60),
            doc_numbers: Vec::new(),
            lease_block: 20,
            reuse_connections: true,
            upload_lanes: 2,
            root_ca_pem: None,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: u64,
    pub rejected: u64,
    pub files_uploaded: u64,
    pub bytes_uploaded: u64,
    pub changes_pulled: u64,
    pub leases: u64,
    /// The server had a new epoch: everything was pulled again.
    pub resynced: bool,
}

/// The sync engine of one device.
pub struct SyncEngine {
    client: ApiClient,
    store: SharedStore,
    tokens: Arc<dyn TokenStore>,
    config: SyncConfig,
    clock: Clock,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("server", &self.client.base_url())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a local step of a sync on the runtime's blocking pool. A step may wait for
/// the UI's hold of the store and ends with an fsync: on a runtime worker it would
/// stall every other task of that runtime meanwhile (the app's commands; in a
/// benchmark, the other devices).
async fn local<T, F>(store: &SharedStore, step: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> jiandu_store::Result<T> + Send + 'static,
{
    let store = store.clone();
    match tokio::task::spawn_blocking(move || step(&mut lock(&store))).await {
        Ok(r) => Ok(r?),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(SyncError::Protocol(format!("本机存储步骤被中止：{e}"))),
    }
}

/// Enrols this device: the token goes to `tokens`, the enrolment into the store.
pub async fn enroll(
    store: &SharedStore,
    tokens: &dyn TokenStore,
    server_url: &str,
    req: &EnrollRequest,
    at: DateTime<Utc>,
) -> Result<EnrollResponse, SyncError> {
    let client = ApiClient::new(server_url, Duration::from_secs(30))?;
    let resp = client.enroll(req).await?;
    tokens.save(&resp.token)?;
    lock(store).set_enrolment(
        server_url,
        resp.device_id,
        resp.user.id,
        resp.epoch,
        resp.authority.as_deref(),
        at,
    )?;
    Ok(resp)
}

impl SyncEngine {
    pub fn new(
        store: SharedStore,
        tokens: Arc<dyn TokenStore>,
        config: SyncConfig,
    ) -> Result<Self, SyncError> {
        let url = lock(&store)
            .sync_state()?
            .server_url
            .ok_or(SyncError::NotEnrolled)?;
        let client = ApiClient::with_trust(
            &url,
            config.request_timeout,
            config.reuse_connections,
            config.root_ca_pem.as_deref(),
        )?;
        Ok(Self {
            client,
            store,
            tokens,
            config,
            clock: Arc::new(Utc::now),
        })
    }

    /// Talks to `base_url` instead of the enrolled URL (e.g. through a proxy).
    pub fn with_server(mut self, base_url: &str) -> Result<Self, SyncError> {
        self.client = ApiClient::with_trust(
            base_url,
            self.config.request_timeout,
            self.config.reuse_connections,
            self.config.root_ca_pem.as_deref(),
        )?;
        Ok(self)
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn token(&self) -> Result<String, SyncError> {
        if let Some(msg) = lock(&self.store).sync_state()?.revoked_message {
            return Err(SyncError::Revoked(msg));
        }
        self.tokens.load()?.ok_or(SyncError::NotEnrolled)
    }

    /// Runs one sync. `events` receives progress; a revoked device is recorded as
    /// such and every later sync refuses to start.
    pub async fn sync_once(
        &self,
        cancel: &CancelToken,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
    ) -> Result<SyncReport, SyncError> {
        events(SyncEvent::Started);
        let started = std::time::Instant::now();
        tracing::info!(server = self.client.base_url(), "sync started");
        let result = self.run(cancel, events).await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(r) => tracing::info!(
                ms,
                pushed = r.pushed,
                rejected = r.rejected,
                files_uploaded = r.files_uploaded,
                bytes_uploaded = r.bytes_uploaded,
                leases = r.leases,
                changes_pulled = r.changes_pulled,
                resynced = r.resynced,
                "sync finished"
            ),
            Err(SyncError::Revoked(msg)) => {
                tracing::error!(ms, message = %msg, "sync refused: this device was revoked")
            }
            Err(SyncError::Lost(msg)) => {
                tracing::error!(ms, message = %msg, "sync refused: this device was declared lost")
            }
            Err(SyncError::Cancelled) => tracing::info!(ms, "sync interrupted"),
            Err(e) => tracing::warn!(
                ms,
                code = e.code(),
                error = %e,
                detail = %e.detail(),
                "sync failed"
            ),
        }
        match &result {
            Ok(_) => {
                let conflicts = lock(&self.store).conflicts(false)?.len() as u64;
                let progress = self.progress(&SyncReport::default())?;
                events(SyncEvent::Finished {
                    progress,
                    conflicts,
                });
            }
            Err(SyncError::Revoked(msg)) => {
                lock(&self.store).mark_revoked(msg, self.now())?;
                events(SyncEvent::Revoked {
                    message: msg.clone(),
                });
            }
            Err(SyncError::Lost(msg)) => {
                // The token is worth nothing now; the keys go with the event's
                // receiver (the app), which knows where they are.
                if let Err(e) = self.tokens.clear() {
                    tracing::error!(error = %e, "could not forget the token of a lost device");
                }
                events(SyncEvent::Lost {
                    message: msg.clone(),
                });
            }
            Err(e) => events(SyncEvent::Failed {
                code: e.code().to_owned(),
                message: e.to_string(),
            }),
        }
        result
    }

    fn progress(&self, r: &SyncReport) -> Result<SyncProgress, SyncError> {
        let store = lock(&self.store);
        let stats = store.outbox_stats()?;
        let (photos_left, bytes_left) = store.uploads_left()?;
        Ok(SyncProgress {
            items_left: stats.pending as u64,
            items_done: r.pushed + r.rejected,
            bytes_left,
            bytes_done: r.bytes_uploaded,
            photos_left,
            changes_pulled: r.changes_pulled,
        })
    }

    fn emit(
        &self,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
        phase: SyncPhase,
        r: &SyncReport,
    ) -> Result<(), SyncError> {
        events(SyncEvent::Progress {
            phase,
            progress: self.progress(r)?,
        });
        Ok(())
    }

    async fn run(
        &self,
        cancel: &CancelToken,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
    ) -> Result<SyncReport, SyncError> {
        let token = self.token()?;
        let mut report = SyncReport::default();
        self.push(&token, cancel, events, &mut report).await?;
        self.upload(&token, cancel, events, &mut report).await?;
        self.leases(&token, cancel, &mut report).await?;
        self.pull(&token, cancel, events, &mut report).await?;
        let mut store = lock(&self.store);
        let waited = store.apply_deferred(self.now())?;
        if waited > 0 {
            tracing::info!(
                inspections = waited,
                "platform versions that waited for unsent edits applied"
            );
        }
        store.record_sync_success(self.now())?;
        Ok(report)
    }

    /// Pushes pending outbox entries in device_seq order, in batches cut by count
    /// and size. Safe to replay: the server answers a known mutation from its
    /// stored result.
    pub async fn push(
        &self,
        token: &str,
        cancel: &CancelToken,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        loop {
            let batch = self.config.push_batch;
            let entries = local(&self.store, move |s| s.pending_outbox(batch)).await?;
            if entries.is_empty() {
                return Ok(());
            }
            let mut items = Vec::with_capacity(entries.len());
            let mut bytes = 0usize;
            for e in entries {
                let item = e.into_push_item();
                let size = serde_json::to_vec(&item).map(|v| v.len()).unwrap_or(0) + 1;
                if !items.is_empty() && bytes + size > MAX_PUSH_BYTES / 2 {
                    break;
                }
                bytes += size;
                items.push(item);
            }
            let seq_of: std::collections::HashMap<Uuid, i64> = items
                .iter()
                .map(|i| (i.mutation_id, i.device_seq))
                .collect();
            let req = PushRequest { items };
            let resp = cancel.run(self.client.push(token, &req)).await?;
            if resp.results.len() != req.items.len() {
                return Err(SyncError::Protocol(format!(
                    "发送 {} 条，应答 {} 条",
                    req.items.len(),
                    resp.results.len()
                )));
            }
            let mut answers = Vec::with_capacity(resp.results.len());
            for r in resp.results {
                let seq = seq_of.get(&r.mutation_id).ok_or_else(|| {
                    SyncError::Protocol(format!("应答中有未发送的修改 {}", r.mutation_id))
                })?;
                if let jiandu_core::protocol::ItemOutcome::Rejected {
                    reason, message, ..
                } = &r.outcome
                    && let Some(item) = req.items.iter().find(|i| i.mutation_id == r.mutation_id)
                {
                    tracing::warn!(
                        device_seq = item.device_seq,
                        entity = %item.entity,
                        op = %item.op,
                        entity_id = %item.entity_id,
                        reason = reason.as_str(),
                        message = %message,
                        "edit rejected by the platform"
                    );
                }
                answers.push((*seq, r.outcome));
            }
            let (at, sent) = (self.now(), answers.len());
            let tally = local(&self.store, move |s| s.record_push_results(&answers, at)).await?;
            tracing::debug!(
                sent,
                applied = tally.applied,
                rejected = tally.rejected,
                "push batch answered"
            );
            report.pushed += tally.applied;
            report.rejected += tally.rejected;
            self.emit(events, SyncPhase::Push, report)?;
        }
    }

    /// Uploads files the server is waiting for, resuming at its durable offset.
    pub async fn upload(
        &self,
        token: &str,
        cancel: &CancelToken,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let queue = Mutex::new(std::collections::VecDeque::from(
            lock(&self.store).upload_jobs()?,
        ));
        let shared = Mutex::new(*report);
        let lane = || async {
            loop {
                let Some(job) = lock(&queue).pop_front() else {
                    return Ok::<(), SyncError>(());
                };
                self.upload_one(token, cancel, &job, &shared).await?;
                let now = *lock(&shared);
                self.emit(events, SyncPhase::Photos, &now)?;
            }
        };
        let result = if self.config.upload_lanes >= 2 {
            tokio::try_join!(lane(), lane()).map(|_| ())
        } else {
            lane().await
        };
        *report = *lock(&shared);
        result
    }

    async fn upload_one(
        &self,
        token: &str,
        cancel: &CancelToken,
        job: &UploadJob,
        report: &Mutex<SyncReport>,
    ) -> Result<(), SyncError> {
        let reg = BlobRegistration {
            id: job.blob_id,
            kind: job.kind,
            inspection_id: job.inspection_id,
            sha256: job.sha256.clone(),
            size: job.size,
            mime: job.mime.clone(),
        };
        let status = cancel.run(self.client.register_blob(token, &reg)).await?;
        if status.complete {
            lock(&self.store).set_upload_progress(job.blob_id, job.size, true, self.now())?;
            lock(report).files_uploaded += 1;
            tracing::info!(blob = %job.blob_id, kind = ?job.kind, size = job.size, "file already on the platform");
            return Ok(());
        }
        if status.offset > 0 {
            tracing::info!(blob = %job.blob_id, offset = status.offset, size = job.size, "upload resumed");
        }
        // The platform refuses a chunk under MIN_CHUNK_BYTES unless it is the last.
        let chunk = self
            .config
            .chunk_bytes
            .clamp(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
        let mut offset = status.offset;
        let mut failures = 0u32;
        let mut hash_failures = 0u32;
        // The file's content, decrypted in memory when the store is encrypted
        // (evidence files are bounded: MAX_PHOTO_BYTES).
        let content = lock(&self.store).read_evidence(&job.path)?;
        loop {
            let len = chunk.min(job.size.saturating_sub(offset));
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(content.len());
            let end = start.saturating_add(len as usize).min(content.len());
            if end - start != len as usize {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "evidence file shorter than recorded",
                )
                .into());
            }
            let buf = content[start..end].to_vec();
            let answer = cancel
                .run(self.client.patch_chunk(token, job.blob_id, offset, buf))
                .await;
            match answer {
                Ok(ChunkAnswer::Accepted {
                    offset: now,
                    complete,
                }) => {
                    lock(report).bytes_uploaded += now.saturating_sub(offset);
                    offset = now;
                    failures = 0;
                    lock(&self.store).set_upload_progress(
                        job.blob_id,
                        offset,
                        complete,
                        self.now(),
                    )?;
                    if complete {
                        lock(report).files_uploaded += 1;
                        tracing::info!(blob = %job.blob_id, kind = ?job.kind, size = job.size, "file uploaded and verified");
                        return Ok(());
                    }
                }
                Ok(ChunkAnswer::OffsetMismatch { offset: now }) => offset = now,
                Ok(ChunkAnswer::HashMismatch) => {
                    // Either the bytes changed in flight (send again from 0) or the
                    // local file is damaged (stop: show it, never loop).
                    hash_failures += 1;
                    tracing::warn!(blob = %job.blob_id, hash_failures, "the platform's hash of an upload differs");
                    let intact = match job.kind {
                        jiandu_core::protocol::BlobKind::Photo => {
                            lock(&self.store).verify_photo(job.blob_id)?.is_intact()
                        }
                        jiandu_core::protocol::BlobKind::Signature => {
                            lock(&self.store).verify_signature(job.blob_id)?.is_intact()
                        }
                    };
                    if !intact {
                        tracing::error!(blob = %job.blob_id, "local file damaged: upload blocked");
                        lock(&self.store).block_upload(
                            job.blob_id,
                            "本机照片文件与拍摄时记录的校验值不一致，无法上传，请联系管理员",
                        )?;
                        return Ok(());
                    }
                    if hash_failures > 3 {
                        // The file is intact: the network keeps changing bytes. Stop
                        // this sync (retried later with backoff), never block the photo.
                        return Err(SyncError::Network(NetError::new(
                            NetKind::Cut,
                            "照片多次在传输中被改变（服务器校验不符），稍后将自动重试",
                        )));
                    }
                    offset = 0;
                    lock(&self.store).set_upload_progress(job.blob_id, 0, false, self.now())?;
                }
                Err(e) if e.is_transient() && failures < self.config.upload_retries => {
                    // Cut mid-chunk: ask the server how much it kept, go on from there.
                    failures += 1;
                    tracing::info!(blob = %job.blob_id, offset, failures, error = %e.detail(), "chunk failed, resuming");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(failures))).await;
                    match cancel
                        .run(self.client.blob_offset(token, job.blob_id))
                        .await
                    {
                        Ok(now) => offset = now,
                        Err(e) if e.is_transient() => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks for the next block of 文号 for each configured authority and year once
    /// half of the newest block is used.
    pub async fn leases(
        &self,
        token: &str,
        cancel: &CancelToken,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // The configured series, and the same years for every plan received since
        // (a bureau's own plan may name an authority the app did not start with).
        let mut series = self.config.doc_numbers.clone();
        let years: std::collections::BTreeSet<i32> = series.iter().map(|s| s.1).collect();
        for authority in lock(&self.store).plan_authorities()? {
            for &y in &years {
                if !series.iter().any(|(a, sy)| *a == authority && *sy == y) {
                    series.push((authority.clone(), y));
                }
            }
        }
        for (authority, year) in &series {
            let (stock, request_id) = {
                let mut store = lock(&self.store);
                let stock = store.doc_number_stock(authority, *year)?;
                if !stock.wants_more() {
                    continue;
                }
                let id = store.lease_request_id(authority, *year, Uuid::now_v7(), self.now())?;
                (stock, id)
            };
            let req = LeaseRequest {
                request_id,
                authority: authority.clone(),
                year: *year,
                count: self.config.lease_block,
                floor: stock.highest,
            };
            let mut lease = cancel.run(self.client.lease(token, &req)).await?;
            // The server alone decides numbers (it does not trust `floor`, which it
            // may ignore). A server restored from an older backup can lease numbers
            // this device already holds: keep only those above them, so no number
            // is ever issued twice. A block wholly below is stored empty, which
            // closes the request and asks for the next block at the next sync.
            if lease.first <= stock.highest {
                tracing::warn!(
                    authority = %lease.authority,
                    year = lease.year,
                    first = lease.first,
                    last = lease.last,
                    highest = stock.highest,
                    "leased 文号 block overlaps numbers already held; kept only those above"
                );
                lease.first = stock.highest.saturating_add(1);
                lease.last = lease.last.max(stock.highest);
            }
            tracing::info!(
                authority = %lease.authority,
                year = lease.year,
                first = lease.first,
                last = lease.last,
                "文号 block leased"
            );
            lock(&self.store).add_doc_number_lease(&lease, self.now())?;
            report.leases += 1;
        }
        Ok(())
    }

    /// Pulls pages from the cursor until the server has nothing more; a page and
    /// its cursor commit together. A new epoch restarts from 0 once.
    pub async fn pull(
        &self,
        token: &str,
        cancel: &CancelToken,
        events: &(dyn Fn(SyncEvent) + Send + Sync),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        loop {
            let state = lock(&self.store).sync_state()?;
            let page = cancel
                .run(
                    self.client
                        .pull(token, state.cursor, self.config.pull_limit),
                )
                .await?;
            if let Some(epoch) = state.epoch
                && epoch != page.epoch
            {
                if report.resynced {
                    return Err(SyncError::Protocol("服务器纪元在同步中再次变化".into()));
                }
                tracing::warn!(old = %epoch, new = %page.epoch, "the platform's epoch changed (restored): pulling everything again");
                lock(&self.store).reset_for_resync(page.epoch, self.now())?;
                report.resynced = true;
                continue;
            }
            let missing = lock(&self.store).missing_files(&page);
            for (kind, id, sha) in missing {
                match cancel.run(self.client.download_blob(token, id)).await {
                    Ok(bytes) => lock(&self.store).import_file(kind, id, &sha, &bytes)?,
                    // Not uploaded yet by the device that took it: next time.
                    Err(SyncError::Server { status: 409, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let (changes, has_more) = (page.changes.len(), page.has_more);
            let at = self.now();
            let tally = local(&self.store, move |s| s.apply_pull_page(&page, at)).await?;
            report.changes_pulled += changes as u64;
            tracing::debug!(since = state.cursor, changes, tally = ?tally, "pull page applied");
            self.emit(events, SyncPhase::Pull, report)?;
            if !has_more {
                self.emit(events, SyncPhase::Done, report)?;
                return Ok(());
            }
        }
    }
}
