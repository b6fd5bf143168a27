//! Photos and signatures (issue 6 points 4 and 6).
//!
//! Photos: the bytes the camera or the file picker gave are checked to be a JPEG or
//! PNG that decodes, then stored UNMODIFIED by the device store (its SHA-256, size,
//! time and place recorded with the row, attached to the point's finding). Two
//! derived files are made at capture and kept beside it, named by the original's
//! SHA-256: a thumbnail for lists and the print copy the documents embed byte for
//! byte ([`jiandu_docs::image::print_copy`]), so printing on site never reduces a
//! photo. Derived files are caches: a missing one is made again from the original.
//! A photo is never deleted; a wrong one is voided (作废) with a reason, and stays.
//!
//! Signatures: PNG strokes drawn on screen, by the inspectors (named on the task)
//! and the inspected party; or 当事人拒绝签字 with the reason and, where possible, a
//! witness's signature.

use crate::dto::InspectorView;
use crate::error::{AppError, AppResult};
use crate::{App, Session, parse_id, rfc3339};
use chrono::{DateTime, Utc};
use jiandu_core::inspection::{Signature, SignatureRole};
use jiandu_store::{FileSource, GeoPoint, PhotoMeta, PhotoRecord, Witness};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// What the UI sends with a photo's bytes (the bytes travel as the raw IPC body).
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
pub struct PhotoInput {
    pub task_id: String,
    /// The check point the photo documents (its finding must exist: answer first).
    pub point: String,
    /// When it was taken (RFC 3339; the file's time). Absent: now.
    pub taken_at: Option<String>,
    /// Where, if the platform gave a position (WGS-84 degrees).
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A photo as lists and the preview show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PhotoView {
    pub photo_id: String,
    /// The check point it documents.
    pub point: Option<String>,
    /// SHA-256 of the original file (hex).
    pub sha256: String,
    pub size_bytes: u32,
    pub mime: String,
    pub taken_at: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub captured_by: String,
    pub voided: bool,
    pub void_reason: Option<String>,
    pub voided_at: Option<String>,
}

/// 作废 a photo.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct VoidPhotoInput {
    pub photo_id: String,
    pub reason: String,
}

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// 执法人员.
    Inspector,
    /// 被检查人（当事人）.
    Party,
    /// 见证人.
    Witness,
}

impl From<SignerRole> for SignatureRole {
    fn from(r: SignerRole) -> Self {
        match r {
            SignerRole::Inspector => SignatureRole::Inspector,
            SignerRole::Party => SignatureRole::Party,
            SignerRole::Witness => SignatureRole::Witness,
        }
    }
}

impl From<SignatureRole> for SignerRole {
    fn from(r: SignatureRole) -> Self {
        match r {
            SignatureRole::Inspector => SignerRole::Inspector,
            SignatureRole::Party => SignerRole::Party,
            SignatureRole::Witness => SignerRole::Witness,
        }
    }
}

/// A drawn signature (the PNG travels as the raw IPC body).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct SignatureInput {
    pub task_id: String,
    pub role: SignerRole,
    pub signer_name: String,
}

/// 当事人拒绝签字 (the witness's PNG, if any, travels as the raw IPC body).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct RefusalInput {
    pub task_id: String,
    pub party_name: String,
    pub reason: String,
    /// 见证人 (empty: no witness signed).
    pub witness_name: String,
}

/// One recorded signature or refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SignatureView {
    pub signature_id: String,
    pub role: SignerRole,
    pub role_label: String,
    pub signer_name: String,
    pub signed_at: String,
    /// A refusal (当事人拒绝签字), with its reason.
    pub refusal_reason: Option<String>,
}

/// 签名 screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SignaturesView {
    pub task_id: String,
    pub unit_name: String,
    /// Who must sign as inspectors (the task's inspectors).
    pub inspectors: Vec<InspectorView>,
    /// The party's name as the task knows it (法定代表人/负责人), a default.
    pub party_name: String,
    pub signatures: Vec<SignatureView>,
    pub editable: bool,
}

/// The media types accepted, from the file's own first bytes (never its name).
fn sniff(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok("image/jpeg");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok("image/png");
    }
    let heic = bytes.len() >= 12 && &bytes[4..8] == b"ftyp";
    let webp = bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP";
    if heic || webp {
        return Err(AppError::new(
            "unsupported_image",
            "暂不支持 HEIC/WebP 格式的照片，未保存。请在相机设置中选择 JPEG（“兼容性最佳”）后重新拍摄",
        ));
    }
    Err(AppError::new(
        "not_an_image",
        "所选文件不是照片（支持 JPEG、PNG 格式），未保存",
    ))
}

/// Writes a derived file (temp file, then rename): readers never see half a file.
/// [`write_atomic`] sealed with the data key when the user's data is encrypted.
pub(crate) fn write_sealed(
    path: &Path,
    bytes: &[u8],
    key: Option<&jiandu_store::DataKey>,
) -> AppResult<()> {
    match key {
        None => write_atomic(path, bytes),
        Some(_) => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(AppError::storage)?;
            }
            Ok(jiandu_store::crypto::write_file(path, bytes, key)?)
        }
    }
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> AppResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| AppError::storage(path.display()))?;
    fs::create_dir_all(dir).map_err(AppError::storage)?;
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(AppError::storage)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(AppError::storage)?;
    fs::rename(&tmp, path).map_err(AppError::storage)
}

fn photo_view(p: &PhotoRecord, point: Option<String>, names: &[InspectorView]) -> PhotoView {
    PhotoView {
        photo_id: p.id.to_string(),
        point,
        sha256: p.sha256.clone(),
        size_bytes: u32::try_from(p.size_bytes).unwrap_or(u32::MAX),
        mime: p.mime.clone(),
        taken_at: rfc3339(p.taken_at),
        lat: p.location.map(|g| g.lat),
        lon: p.location.map(|g| g.lon),
        captured_by: names
            .iter()
            .find(|i| i.user_id == p.captured_by.to_string())
            .map_or_else(String::new, |i| i.name.clone()),
        voided: p.voided_at.is_some(),
        void_reason: p.void_reason.clone(),
        voided_at: p.voided_at.map(rfc3339),
    }
}

fn role_label(r: SignatureRole) -> &'static str {
    match r {
        SignatureRole::Inspector => "执法人员",
        SignatureRole::Party => "被检查人",
        SignatureRole::Witness => "见证人",
    }
}

fn signature_view(s: &Signature) -> SignatureView {
    SignatureView {
        signature_id: s.id.to_string(),
        role: s.role.into(),
        role_label: role_label(s.role).to_owned(),
        signer_name: s.signer_name.clone(),
        signed_at: rfc3339(s.signed_at),
        refusal_reason: s.refusal_reason.clone(),
    }
}

impl App {
    /// The folder of derived photo files (thumbnails, print copies) of the user.
    pub(crate) fn derived_dir(s: &Session) -> PathBuf {
        s.dir.join("photos-derived")
    }

    fn inspectors_of(&self, task: &jiandu_core::inspection::Task) -> Vec<InspectorView> {
        task.inspectors
            .iter()
            .map(|i| InspectorView {
                user_id: i.user_id.to_string(),
                name: i.name.clone(),
                badge_no: i.badge_no.clone(),
            })
            .collect()
    }

    /// 拍照取证: stores the photo unmodified, attached to the point's finding, with
    /// its thumbnail and print copy. A file that is not a JPEG or PNG photo, or does
    /// not decode, is refused and nothing is saved.
    /// The decoding (thumbnail, print copy) runs before the store is locked.
    pub fn add_photo(&self, input: PhotoInput, bytes: &[u8]) -> AppResult<PhotoView> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (task, insp) = s.editable(&input.task_id)?;
        let finding = insp
            .findings
            .iter()
            .find(|f| f.point == input.point)
            .ok_or_else(|| {
                AppError::invalid("请先选择该检查点的结论（符合、不符合或合理缺项），再拍照")
            })?;
        if bytes.is_empty() {
            return Err(AppError::new("not_an_image", "没有收到照片内容，未保存"));
        }
        let mime = sniff(bytes)?;
        let broken = |_| {
            AppError::new(
                "not_an_image",
                "照片文件已损坏或无法识别，未保存，请重新拍摄",
            )
        };
        let thumb = jiandu_docs::image::thumbnail(bytes).map_err(broken)?;
        let print = jiandu_docs::image::print_copy(bytes).map_err(broken)?;
        let now = self.clock.now();
        let taken_at = match input.taken_at.as_deref().map(str::trim) {
            None | Some("") => now,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map_err(|_| AppError::invalid(format!("拍摄时间“{t}”格式不正确")))?
                .with_timezone(&Utc),
        };
        let location = match (input.lat, input.lon) {
            (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
            _ => None,
        };
        let meta = PhotoMeta {
            taken_at,
            location,
            mime: mime.to_owned(),
        };
        let record = {
            let mut store = s.store();
            let saved = store.add_photo(
                insp.id,
                Some(finding.id),
                FileSource::Bytes(bytes),
                &meta,
                &actor,
                now,
            )?;
            store.photo(saved.id)?
        };
        let dir = Self::derived_dir(&s);
        let key = s.key.as_ref();
        write_sealed(
            &dir.join(format!("{}.thumb.jpg", record.sha256)),
            &thumb,
            key,
        )?;
        write_sealed(
            &dir.join(format!("{}.print.jpg", record.sha256)),
            &print,
            key,
        )?;
        tracing::info!(
            photo = %record.id,
            inspection = %insp.id,
            size = record.size_bytes,
            mime = %record.mime,
            "photo stored"
        );
        Ok(photo_view(
            &record,
            Some(input.point),
            &self.inspectors_of(&task),
        ))
    }

    /// The photos of a task's inspection (voided ones included, marked), in capture
    /// order; only those of `point` when given.
    pub fn photos(&self, task_id: &str, point: Option<&str>) -> AppResult<Vec<PhotoView>> {
        self.photos_in(&*self.session()?, task_id, point)
    }

    fn photos_in(
        &self,
        s: &Session,
        task_id: &str,
        point: Option<&str>,
    ) -> AppResult<Vec<PhotoView>> {
        let (task, insp) = s.load(task_id)?;
        let Some(insp) = insp else {
            return Ok(Vec::new());
        };
        let records = s.store().list_photos(insp.id)?;
        let names = self.inspectors_of(&task);
        Ok(records
            .iter()
            .map(|p| {
                let point = p.finding_id.and_then(|f| {
                    insp.findings
                        .iter()
                        .find(|x| x.id == f)
                        .map(|x| x.point.clone())
                });
                photo_view(p, point, &names)
            })
            .filter(|v| point.is_none_or(|want| v.point.as_deref() == Some(want)))
            .collect())
    }

    fn photo_record(s: &Session, photo_id: &str) -> AppResult<(PhotoRecord, PathBuf)> {
        let id = parse_id(photo_id)?;
        let store = s.store();
        let record = store.photo(id)?;
        Ok((record, store.photo_path(id)))
    }

    /// A derived file of a photo (`kind`: thumb or print), made again from the
    /// original if it is missing.
    fn derived(&self, photo_id: &str, kind: &str) -> AppResult<Vec<u8>> {
        let s = self.session()?;
        let (record, original) = Self::photo_record(&s, photo_id)?;
        let path = Self::derived_dir(&s).join(format!("{}.{kind}.jpg", record.sha256));
        if let Ok(bytes) = jiandu_store::crypto::read_file(&path, s.key.as_ref()) {
            return Ok(bytes);
        }
        let bytes = s.store().read_evidence(&original)?;
        let made = if kind == "thumb" {
            jiandu_docs::image::thumbnail(&bytes)
        } else {
            jiandu_docs::image::print_copy(&bytes)
        }
        .map_err(|e| AppError::new("photo_unreadable", format!("照片无法显示：{e}")))?;
        write_sealed(&path, &made, s.key.as_ref())?;
        Ok(made)
    }

    /// The list thumbnail (JPEG) of a photo.
    pub fn photo_thumbnail(&self, photo_id: &str) -> AppResult<Vec<u8>> {
        self.derived(photo_id, "thumb")
    }

    /// The original file of a photo, unmodified (full-screen preview).
    pub fn photo_original(&self, photo_id: &str) -> AppResult<Vec<u8>> {
        let s = self.session()?;
        let (_, path) = Self::photo_record(&s, photo_id)?;
        Ok(s.store().read_evidence(&path)?)
    }

    /// Where a photo's print copy is (tests, and documents read it by SHA-256).
    pub fn photo_print_copy(&self, photo_id: &str) -> AppResult<Vec<u8>> {
        self.derived(photo_id, "print")
    }

    /// 作废: a photo taken by mistake stays on the device and in the record, marked
    /// with who voided it, when and why. A reason is required.
    pub fn void_photo(&self, input: VoidPhotoInput) -> AppResult<PhotoView> {
        let s = self.session()?;
        let actor = s.actor()?;
        let id = parse_id(&input.photo_id)?;
        if input.reason.trim().is_empty() {
            return Err(AppError::new(
                "reason_required",
                "照片是执法证据，作废前请填写作废原因",
            ));
        }
        let now = self.clock.now();
        let task_id = {
            let mut store = s.store();
            store.void_photo(id, &input.reason, &actor, now)?;
            let record = store.photo(id)?;
            store
                .load_inspection(record.inspection_id)?
                .task_id
                .to_string()
        };
        self.photos_in(&s, &task_id, None)?
            .into_iter()
            .find(|p| p.photo_id == input.photo_id)
            .ok_or_else(|| AppError::not_found("照片"))
    }

    /// Photos are evidence and are never deleted (作废 instead). This answers any
    /// caller that asks, with the reason.
    pub fn delete_photo(&self, photo_id: &str) -> AppResult<()> {
        parse_id(photo_id)?;
        Err(AppError::new(
            "photo_not_deletable",
            "照片是执法证据，不能删除；如拍错，请填写原因后作废",
        ))
    }

    // ---------------------------------------------------------------------------
    // Signatures
    // ---------------------------------------------------------------------------

    /// 签名 screen: who signs, and what is recorded.
    pub fn signatures(&self, task_id: &str) -> AppResult<SignaturesView> {
        self.signatures_in(&*self.session()?, task_id)
    }

    fn signatures_in(&self, s: &Session, task_id: &str) -> AppResult<SignaturesView> {
        let (task, insp) = s.load(task_id)?;
        let signatures = match &insp {
            Some(i) => s.store().list_signatures(i.id)?,
            None => Vec::new(),
        };
        Ok(SignaturesView {
            task_id: task.id.to_string(),
            unit_name: task.institution.name.clone(),
            inspectors: self.inspectors_of(&task),
            party_name: task.institution.legal_representative.clone(),
            signatures: signatures.iter().map(signature_view).collect(),
            editable: insp.as_ref().is_some_and(|i| i.status.is_editable()),
        })
    }

    /// A signature drawn on screen (PNG). An inspector signs under the name the task
    /// gives (the documents match signatures to inspectors by name).
    pub fn add_signature(&self, input: SignatureInput, png: &[u8]) -> AppResult<SignaturesView> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (task, insp) = s.editable(&input.task_id)?;
        let name = input.signer_name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("请填写签名人姓名"));
        }
        if input.role == SignerRole::Inspector && !task.inspectors.iter().any(|i| i.name == name) {
            return Err(AppError::invalid(format!("“{name}”不是本任务的执法人员")));
        }
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(AppError::invalid("签名图片无效，请重新签名"));
        }
        let now = self.clock.now();
        s.store().add_signature(
            insp.id,
            input.role.into(),
            name,
            FileSource::Bytes(png),
            &actor,
            now,
        )?;
        self.signatures_in(&s, &input.task_id)
    }

    /// 当事人拒绝签字: the reason, and the witness's signature when one signed
    /// (`witness_png` empty: none).
    pub fn record_refusal(
        &self,
        input: RefusalInput,
        witness_png: &[u8],
    ) -> AppResult<SignaturesView> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (_, insp) = s.editable(&input.task_id)?;
        let witness_name = input.witness_name.trim();
        let witness = match (witness_name.is_empty(), witness_png.is_empty()) {
            (true, true) => None,
            (false, false) => Some(Witness {
                name: witness_name,
                png: FileSource::Bytes(witness_png),
            }),
            (true, false) => return Err(AppError::invalid("请填写见证人姓名")),
            (false, true) => return Err(AppError::invalid("请见证人在屏幕上签名")),
        };
        let now = self.clock.now();
        s.store().record_refusal(
            insp.id,
            &input.party_name,
            &input.reason,
            witness,
            &actor,
            now,
        )?;
        self.signatures_in(&s, &input.task_id)
    }
}
