//! 文书 on the tablet (issue 6 point 5): 现场笔录, 卫生监督意见书 and 证据照片, made
//! offline by `jiandu_docs::archive`, the same builder the platform uses for its
//! archive copies, from the device's task, inspection, photos and signatures.
//!
//! - The 意见书's 文号 comes from the device's leased block
//!   (`Store::take_doc_number`); with none left it is refused with a message to
//!   sync, never a made-up number. A document keeps its number when it is made
//!   again (the number is kept in the inspection's document folder before the PDF is
//!   written). In 演示模式 (no server) a local block is taken, and every number
//!   printed from it says 演示.
//! - Photos are printed from the print copies made at capture (no reduction at
//!   print time); a missing print copy is made from the original, giving the same
//!   bytes as the platform's.
//! - PDFs are kept in the user's folder (`documents/<inspection id>/`); a copy can be
//!   saved elsewhere ([`App::export_document`]) for the system viewer, sharing and
//!   printing.
//! - Making a document locks nothing while it renders: the store only for reading
//!   what goes in, the session's documents lock only for the 文号 and the
//!   documents folder's state. A document of many photos reports its progress
//!   and can be cancelled ([`Job`]): nothing is written then.

use crate::error::{AppError, AppResult};
use crate::evidence::write_sealed;
use crate::jobs::Job;
use crate::{App, Session, lock, rfc3339};
use chrono::{DateTime, Datelike, Duration, Utc};
use jiandu_core::inspection::{Inspection, Task};
use jiandu_core::protocol::DocNumberLease;
use jiandu_docs::DocumentNumber;
use jiandu_docs::archive::{self, ArchiveInput, Files};
use jiandu_store::{DataKey, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// 执法机关 printed on the documents when the platform told none (演示模式, or an
/// older platform). A device enrolled with a platform prints the platform's
/// `JIANDU_AUTHORITY`, told at enrolment, so the on-site and archive copies agree.
/// (The 意见书's 文号 travels with the inspection: `Inspection::opinion_number`.)
pub const DOCUMENT_AUTHORITY: &str = "卫生健康综合监督执法机构";

/// Size of the local block of 文号 a demo device takes (演示模式 only).
pub const DEMO_BLOCK: u32 = 500;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DocKindCode {
    /// 现场笔录.
    Record,
    /// 卫生监督意见书.
    Opinion,
    /// 证据照片.
    Evidence,
}

impl DocKindCode {
    const ALL: [DocKindCode; 3] = [Self::Record, Self::Opinion, Self::Evidence];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Opinion => "opinion",
            Self::Evidence => "evidence",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Record => "现场笔录",
            Self::Opinion => "卫生监督意见书",
            Self::Evidence => "证据照片",
        }
    }
}

/// One document of an inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DocumentView {
    pub kind: DocKindCode,
    pub title: String,
    /// 文号 (the 意见书 only, once taken).
    pub number: Option<String>,
    /// When the PDF was last made (RFC 3339); `None`: not made yet.
    pub generated_at: Option<String>,
    pub pages: u32,
    pub size_bytes: u32,
}

/// 文书 screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DocumentsView {
    pub task_id: String,
    pub unit_name: String,
    pub documents: Vec<DocumentView>,
    /// 文号 left in the device's blocks for this inspection's series.
    pub numbers_left: u32,
    /// 演示模式: numbers come from a local demo block and say so.
    pub demo: bool,
    /// False before 亮证 (no inspection, no documents).
    pub can_generate: bool,
}

/// What is kept beside the PDFs of one inspection.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DocState {
    /// The 意见书's 文号, once taken: kept across regenerations.
    opinion_number: Option<String>,
    generated: BTreeMap<String, Generated>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Generated {
    at: DateTime<Utc>,
    pages: u32,
    size_bytes: u64,
}

/// 地区简称 of a province-level authority ("山西省卫生健康委员会" → 晋); otherwise the
/// authority's first character.
fn region_of(authority: &str) -> String {
    const REGIONS: &[(&str, &str)] = &[
        ("北京", "京"),
        ("天津", "津"),
        ("河北", "冀"),
        ("山西", "晋"),
        ("内蒙古", "蒙"),
        ("辽宁", "辽"),
        ("吉林", "吉"),
        ("黑龙江", "黑"),
        ("上海", "沪"),
        ("江苏", "苏"),
        ("浙江", "浙"),
        ("安徽", "皖"),
        ("福建", "闽"),
        ("江西", "赣"),
        ("山东", "鲁"),
        ("河南", "豫"),
        ("湖北", "鄂"),
        ("湖南", "湘"),
        ("广东", "粤"),
        ("广西", "桂"),
        ("海南", "琼"),
        ("重庆", "渝"),
        ("四川", "川"),
        ("贵州", "黔"),
        ("云南", "滇"),
        ("西藏", "藏"),
        ("陕西", "陕"),
        ("甘肃", "甘"),
        ("青海", "青"),
        ("宁夏", "宁"),
        ("新疆", "新"),
    ];
    REGIONS
        .iter()
        .find(|(name, _)| authority.starts_with(name))
        .map_or_else(
            || {
                authority
                    .chars()
                    .next()
                    .map(String::from)
                    .unwrap_or_default()
            },
            |(_, short)| (*short).to_owned(),
        )
}

/// The day the documents are dated (end of the inspection, else its start), UTC+8.
fn doc_time(i: &Inspection, now: DateTime<Utc>) -> DateTime<Utc> {
    i.ended_at.or(i.started_at).unwrap_or(now)
}

fn count_pages(pdf: &[u8]) -> u32 {
    // Every page object of ours carries exactly one /MediaBox (as the benchmark counts).
    u32::try_from(pdf.windows(9).filter(|w| w == b"/MediaBox").count()).unwrap_or(u32::MAX)
}

/// The device's files by SHA-256: originals from the store, print copies from the
/// derived folder (made at capture). Counts the photos read for the job's
/// progress; once the job is cancelled it reads no more (the document is dropped).
struct DeviceFiles<'j> {
    by_sha: HashMap<String, PathBuf>,
    key: Option<DataKey>,
    derived: PathBuf,
    job: &'j Job,
    photos: u32,
    read: std::sync::atomic::AtomicU32,
}

impl Files for DeviceFiles<'_> {
    fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        jiandu_store::crypto::read_file(self.by_sha.get(sha256)?, self.key.as_ref()).ok()
    }

    fn print_photo(&self, sha256: &str) -> Option<Vec<u8>> {
        let n = self.read.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self
            .job
            .step("正在读取照片", n.min(self.photos), self.photos)
            .is_err()
        {
            return None;
        }
        if let Ok(copy) = jiandu_store::crypto::read_file(
            &self.derived.join(format!("{sha256}.print.jpg")),
            self.key.as_ref(),
        ) {
            return Some(copy);
        }
        let original = self.get(sha256)?;
        Some(jiandu_docs::image::print_copy(&original).unwrap_or(original))
    }
}

impl App {
    /// The series a task's 意见书 numbers come from: (authority, year) as the sync
    /// engine leases them. The authority is the plan's issuing authority.
    pub fn doc_number_series(&self, task: &Task, at: DateTime<Utc>) -> AppResult<(String, i32)> {
        let plans = match self.current() {
            Some(s) => self.plans(&s),
            None => std::sync::Arc::new(self.templates.clone()),
        };
        let (plan, _) = Self::lookup(&plans, task)?;
        let year = (at + Duration::hours(8)).year();
        Ok((plan.authority.clone(), year))
    }

    fn docs_dir(s: &Session, insp: &Inspection) -> PathBuf {
        s.dir.join("documents").join(insp.id.to_string())
    }

    fn doc_state(key: Option<&DataKey>, dir: &Path) -> AppResult<DocState> {
        match jiandu_store::crypto::read_file(&dir.join("documents.json"), key) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(AppError::storage),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(DocState::default())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn save_doc_state(key: Option<&DataKey>, dir: &Path, state: &DocState) -> AppResult<()> {
        let bytes = serde_json::to_vec_pretty(state).map_err(AppError::storage)?;
        write_sealed(&dir.join("documents.json"), &bytes, key)
    }

    fn started(s: &Session, task_id: &str) -> AppResult<(Task, Inspection)> {
        let (task, insp) = s.load(task_id)?;
        let insp = insp
            .filter(|i| i.started_at.is_some())
            .ok_or_else(|| AppError::new("not_started", "请先完成亮证，开始检查后再生成文书"))?;
        Ok((task, insp))
    }

    /// 文书 screen: which documents exist, with their 文号.
    pub fn documents(&self, task_id: &str) -> AppResult<DocumentsView> {
        self.documents_in(&*self.session()?, task_id)
    }

    fn documents_in(&self, s: &Session, task_id: &str) -> AppResult<DocumentsView> {
        let (task, insp) = s.load(task_id)?;
        let demo = s.profile.demo;
        let now = self.clock.now();
        let (state, numbers_left) = match insp.as_ref().filter(|i| i.started_at.is_some()) {
            Some(i) => {
                let (authority, year) = self.doc_number_series(&task, doc_time(i, now))?;
                let left = s.store().doc_number_stock(&authority, year)?.remaining;
                (
                    Self::doc_state(s.key.as_ref(), &Self::docs_dir(s, i))?,
                    left,
                )
            }
            None => (DocState::default(), 0),
        };
        let documents = DocKindCode::ALL
            .iter()
            .map(|&kind| {
                let g = state.generated.get(kind.key());
                DocumentView {
                    kind,
                    title: kind.title().to_owned(),
                    number: (kind == DocKindCode::Opinion)
                        .then(|| state.opinion_number.clone())
                        .flatten(),
                    generated_at: g.map(|g| rfc3339(g.at)),
                    pages: g.map_or(0, |g| g.pages),
                    size_bytes: g.map_or(0, |g| u32::try_from(g.size_bytes).unwrap_or(u32::MAX)),
                }
            })
            .collect();
        Ok(DocumentsView {
            task_id: task.id.to_string(),
            unit_name: task.institution.name.clone(),
            documents,
            numbers_left: u32::try_from(numbers_left).unwrap_or(u32::MAX),
            demo,
            can_generate: insp.is_some_and(|i| i.started_at.is_some()),
        })
    }

    /// The 意见书's 文号: the one already taken for this inspection, else the next of
    /// the device's leased block. No block left: refused, with what to do.
    /// Called with the session's documents lock held.
    fn opinion_number(
        &self,
        s: &Session,
        task: &Task,
        insp: &Inspection,
        dir: &Path,
    ) -> AppResult<String> {
        let mut state = Self::doc_state(s.key.as_ref(), dir)?;
        if let Some(n) = state.opinion_number.clone() {
            self.keep_opinion_number(s, insp, &n)?;
            return Ok(n);
        }
        if let Some(n) = insp.opinion_number.clone() {
            // Issued on this inspection before (e.g. this device was restored from
            // the platform): the same number, never a new one.
            state.opinion_number = Some(n.clone());
            Self::save_doc_state(s.key.as_ref(), dir, &state)?;
            return Ok(n);
        }
        let now = self.clock.now();
        let (authority, year) = self.doc_number_series(task, doc_time(insp, now))?;
        let demo = s.profile.demo;
        let serial = {
            let mut store = s.store();
            let mut serial = store.take_doc_number(&authority, year, now)?;
            if serial.is_none() && demo {
                // 演示模式 has no server to lease from: a local block, and every
                // number printed from it is marked 演示 below.
                let first = store.doc_number_stock(&authority, year)?.highest + 1;
                store.add_doc_number_lease(
                    &DocNumberLease {
                        authority: authority.clone(),
                        year,
                        first,
                        last: first + DEMO_BLOCK - 1,
                    },
                    now,
                )?;
                serial = store.take_doc_number(&authority, year, now)?;
            }
            serial
        };
        let Some(serial) = serial else {
            return Err(AppError::new(
                "no_doc_number",
                "本机已没有可用的意见书文号。请连接网络后点击“立即同步”领取文号，再生成卫生监督意见书",
            ));
        };
        let mut number = DocumentNumber::opinion(&region_of(&authority), year, serial).to_string();
        if demo {
            number.push_str("（演示）");
        }
        // Kept before any PDF is written: a crash after this never issues it twice.
        state.opinion_number = Some(number.clone());
        Self::save_doc_state(s.key.as_ref(), dir, &state)?;
        tracing::info!(inspection = %insp.id, %number, "意见书 number taken from the block");
        self.keep_opinion_number(s, insp, &number)?;
        Ok(number)
    }

    /// Records the 文号 with the inspection (it syncs with it, so the platform's
    /// archive copy prints the same number). An inspection already approved cannot
    /// take it any more: the document is still made, only the platform's copy lacks
    /// the number.
    fn keep_opinion_number(&self, s: &Session, insp: &Inspection, number: &str) -> AppResult<()> {
        if insp.opinion_number.as_deref() == Some(number) {
            return Ok(());
        }
        let actor = s.actor()?;
        let now = self.clock.now();
        match s
            .store()
            .record_opinion_number(insp.id, number, &actor, now)
        {
            Ok(_) => Ok(()),
            Err(jiandu_store::StoreError::Rule(
                jiandu_core::RuleViolation::Locked | jiandu_core::RuleViolation::WrongState { .. },
            )) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes (or makes again) one document and keeps the PDF in the user's folder.
    pub fn generate_document(&self, task_id: &str, kind: DocKindCode) -> AppResult<DocumentsView> {
        self.generate_document_with(task_id, kind, &Job::none())
    }

    /// [`App::generate_document`] reporting to `job` (photos read, then the
    /// render); cancelled, it writes nothing and answers `cancelled`.
    pub fn generate_document_with(
        &self,
        task_id: &str,
        kind: DocKindCode,
        job: &Job,
    ) -> AppResult<DocumentsView> {
        let started = std::time::Instant::now();
        let s = self.session()?;
        let (task, mut insp) = Self::started(&s, task_id)?;
        if kind == DocKindCode::Opinion && insp.opinion.is_none() {
            // What is printed is what is stored: an unconfirmed draft is stored now.
            self.confirm_draft_for_print(&s, &task, &insp);
            insp = Self::started(&s, task_id)?.1;
        }
        let dir = Self::docs_dir(&s, &insp);
        let number = {
            let _documents = lock(&s.documents);
            match kind {
                DocKindCode::Opinion => self.opinion_number(&s, &task, &insp, &dir)?,
                _ => Self::doc_state(s.key.as_ref(), &dir)?
                    .opinion_number
                    .unwrap_or_default(),
            }
        };
        let (photos, signatures, by_sha, authority) = {
            let store = s.store();
            let authority = store
                .sync_state()?
                .authority
                .unwrap_or_else(|| DOCUMENT_AUTHORITY.to_owned());
            let photos = store.list_photos(insp.id)?;
            let signatures = store.list_signatures(insp.id)?;
            let mut by_sha = HashMap::new();
            for p in &photos {
                by_sha.insert(p.sha256.clone(), store.photo_path(p.id));
            }
            for s in &signatures {
                if let Some(h) = &s.image_sha256 {
                    by_sha.insert(h.clone(), store.signature_path(s.id));
                }
            }
            (photos, signatures, by_sha, authority)
        };
        // The store's photo rows have the protocol's exact JSON shape.
        let photos: Vec<jiandu_core::protocol::PhotoRecord> = photos
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .and_then(serde_json::from_value)
                    .map_err(AppError::storage)
            })
            .collect::<AppResult<_>>()?;
        let files = DeviceFiles {
            by_sha,
            key: s.key.clone(),
            derived: Self::derived_dir(&s),
            job,
            photos: u32::try_from(photos.iter().filter(|p| p.voided_at.is_none()).count())
                .unwrap_or(u32::MAX),
            read: Default::default(),
        };
        let plans = self.plans(&s);
        let (plan, checklist) = Self::lookup(&plans, &task)?;
        let input = ArchiveInput {
            checklist,
            task: &task,
            inspection: &insp,
            photos: &photos,
            signatures: &signatures,
            authority: &authority,
            opinion_number: &number,
            correction_days: plan.correction_days(),
        };
        let pdf = match kind {
            DocKindCode::Opinion => jiandu_docs::render_opinion(&archive::opinion(&input, &files)),
            DocKindCode::Record => jiandu_docs::render_record(&archive::record(&input, &files)),
            DocKindCode::Evidence => {
                let sheet = archive::evidence(&input, &files);
                job.check()?; // cancelled while the photos were read
                job.step("正在排版生成 PDF", 0, 1)?;
                jiandu_docs::render_evidence(&sheet)
            }
        }
        .map_err(|e| AppError::new("render_failed", format!("无法生成{}：{e}", kind.title())))?;
        job.check()?; // cancelled during the render: nothing is written
        let _documents = lock(&s.documents);
        write_sealed(
            &dir.join(format!("{}.pdf", kind.key())),
            &pdf,
            s.key.as_ref(),
        )?;
        let mut state = Self::doc_state(s.key.as_ref(), &dir)?;
        let pages = count_pages(&pdf);
        state.generated.insert(
            kind.key().to_owned(),
            Generated {
                at: self.clock.now(),
                pages,
                size_bytes: pdf.len() as u64,
            },
        );
        Self::save_doc_state(s.key.as_ref(), &dir, &state)?;
        tracing::info!(
            inspection = %insp.id,
            kind = kind.key(),
            pages,
            bytes = pdf.len(),
            photos = files.photos,
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "document made"
        );
        self.documents_in(&s, task_id)
    }

    /// Where a generated document's PDF is kept.
    pub fn document_path(&self, task_id: &str, kind: DocKindCode) -> AppResult<PathBuf> {
        let s = self.session()?;
        let (_, insp) = Self::started(&s, task_id)?;
        let path = Self::docs_dir(&s, &insp).join(format!("{}.pdf", kind.key()));
        if !path.exists() {
            return Err(AppError::new(
                "not_generated",
                format!("{}尚未生成，请先点击“生成”", kind.title()),
            ));
        }
        Ok(path)
    }

    /// The PDF of a generated document (the in-app preview renders it).
    pub fn document_pdf(&self, task_id: &str, kind: DocKindCode) -> AppResult<Vec<u8>> {
        let path = self.document_path(task_id, kind)?;
        let s = self.session()?;
        Ok(jiandu_store::crypto::read_file(&path, s.key.as_ref())?)
    }

    /// Saves a copy of a generated document into `dest` (the shell passes the
    /// platform's Downloads folder) under a readable name, never overwriting a file;
    /// returns the copy's path.
    pub fn export_document(
        &self,
        task_id: &str,
        kind: DocKindCode,
        dest: &Path,
    ) -> AppResult<PathBuf> {
        let src = self.document_path(task_id, kind)?;
        let (task, _) = self.session()?.load(task_id)?;
        let unit = crate::export::file_name_part(&task.institution.name, 60);
        fs::create_dir_all(dest).map_err(AppError::storage)?;
        let base = format!("{}-{unit}", kind.title());
        let mut path = dest.join(format!("{base}.pdf"));
        let mut k = 2;
        while path.exists() {
            path = dest.join(format!("{base}（{k}）.pdf"));
            k += 1;
        }
        // The copy is for people outside the app: decrypted, as they asked.
        let pdf = jiandu_store::crypto::read_file(&src, self.session()?.key.as_ref())?;
        fs::write(&path, pdf).map_err(AppError::storage)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::region_of;

    #[test]
    fn regions() {
        assert_eq!(region_of("山西省卫生健康委员会"), "晋");
        assert_eq!(region_of("内蒙古自治区卫生健康委员会"), "蒙");
        assert_eq!(region_of("县卫生健康局"), "县");
    }
}
