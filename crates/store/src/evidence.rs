//! Evidence: photos and signatures.
//!
//! The order of a capture is what makes it safe:
//! 1. check the rules with a read (editable inspection, assigned inspector, finding
//!    belongs to the inspection, metadata valid), so a refused photo leaves no file;
//! 2. write the file once, durably (files.rs: temp file, fsync, rename, fsync dir);
//! 3. in ONE transaction: check again, insert the row with the file's SHA-256 and
//!    size, queue the upload, bump the inspection's version, append the outbox and
//!    audit entries, commit.
//!
//! If step 3 fails the file is removed again; if the process dies between 2 and 3 the
//! file stays without a row, which nothing reads. A row therefore never points to a
//! missing or partial file. Files are never modified or deleted: a photo taken by
//! mistake is voided (作废) with who, when and why, and stays on disk as evidence.

use crate::codec::{json, parse_opt_ts, parse_opt_uuid, parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::files::{self, FileIntegrity, FileSource};
use crate::inspections::{bump_version, load_for_edit};
use crate::log::Change;
use crate::{Saved, Store};
use chrono::{DateTime, Utc};
use jiandu_core::inspection::check_editable;
use jiandu_core::{Actor, RuleViolation, Signature, SignatureRole};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use uuid::Uuid;

/// Largest photo accepted: 20 MiB. A phone photo is 2–8 MB; anything bigger is a
/// mistake that would otherwise only surface when upload fails in the evening.
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;

/// Largest signature image accepted: 2 MiB (a stroke PNG is tens of KB).
pub const MAX_SIGNATURE_BYTES: u64 = 2 * 1024 * 1024;

/// Media types accepted for photos, with their file signatures.
const PHOTO_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/heif",
    "image/webp",
];

/// Where a photo was taken (WGS-84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// What the camera knows about a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub taken_at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
    /// Media type: image/jpeg, image/png, image/heic, image/heif or image/webp.
    pub mime: String,
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    pub id: Uuid,
    pub inspection_id: Uuid,
    pub finding_id: Option<Uuid>,
    pub sha256: String,
    pub size_bytes: u64,
    pub mime: String,
    pub taken_at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
    pub captured_by: Uuid,
    pub captured_at: DateTime<Utc>,
    pub voided_by: Option<Uuid>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
}

/// A witness who signs when the party refuses (《行政强制法》第18条).
#[derive(Debug, Clone, Copy)]
pub struct Witness<'a> {
    pub name: &'a str,
    /// The witness's signature, a PNG.
    pub png: FileSource<'a>,
}

/// What recording a refusal produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub refusal: Saved,
    pub witness: Option<Saved>,
}

/// A file waiting for upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadItem {
    pub blob_id: Uuid,
    /// photo or signature.
    pub kind: String,
    pub state: String,
    pub uploaded_bytes: u64,
    pub path: PathBuf,
}

fn check_photo_head(mime: &str) -> impl Fn(&[u8]) -> Result<()> + '_ {
    move |head: &[u8]| {
        let ok = match mime {
            "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
            "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
            "image/webp" => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
            "image/heic" | "image/heif" => head.len() >= 8 && &head[4..8] == b"ftyp",
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "文件内容不是 {mime} 格式的图片，可能已损坏，请重新拍摄"
            )))
        }
    }
}

fn check_png_head(head: &[u8]) -> Result<()> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(())
    } else {
        Err(StoreError::Invalid("签名图片不是 PNG 格式".into()))
    }
}

fn validate_meta(meta: &PhotoMeta) -> Result<()> {
    if !PHOTO_TYPES.contains(&meta.mime.as_str()) {
        return Err(StoreError::Invalid(format!(
            "不支持的照片类型“{}”（支持 JPEG、PNG、HEIC、WebP）",
            meta.mime
        )));
    }
    if let Some(g) = meta.location
        && !(g.lat.is_finite()
            && g.lon.is_finite()
            && (-90.0..=90.0).contains(&g.lat)
            && (-180.0..=180.0).contains(&g.lon))
    {
        return Err(StoreError::Invalid(format!(
            "拍摄位置无效（纬度 {}，经度 {}）",
            g.lat, g.lon
        )));
    }
    Ok(())
}

fn reason_required(reason: &str, what: &'static str) -> Result<String> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(RuleViolation::Empty(what).into());
    }
    Ok(r.to_owned())
}

impl Store {
    /// Path of a photo's file.
    pub fn photo_path(&self, id: Uuid) -> PathBuf {
        self.data.photos().join(id.to_string())
    }

    /// Path of a signature's PNG file.
    pub fn signature_path(&self, id: Uuid) -> PathBuf {
        self.data.signatures().join(id.to_string())
    }

    /// Attaches a photo to an inspection (and to one of its findings, if given).
    /// The file is durable before its row exists; see the module docs.
    #[allow(clippy::too_many_arguments)]
    pub fn add_photo(
        &mut self,
        inspection_id: Uuid,
        finding_id: Option<Uuid>,
        source: FileSource<'_>,
        meta: &PhotoMeta,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        validate_meta(meta)?;
        // 1. Rules first, so a refused photo never reaches the disk.
        precheck(&self.conn, inspection_id, finding_id, actor)?;
        // 2. The file, once and durably.
        let id = self.ids.next_id();
        let dir = self.data.photos();
        let written = files::write_once(
            &dir,
            id,
            source,
            MAX_PHOTO_BYTES,
            check_photo_head(&meta.mime),
            self.key.as_ref(),
        )?;
        // 3. The row, the upload queue, the outbox and the audit log, in one go.
        let result = self.write(Some(actor), at, |c| {
            let mut insp = precheck(c.tx, inspection_id, finding_id, actor)?;
            let record = PhotoRecord {
                id,
                inspection_id,
                finding_id,
                sha256: written.sha256.clone(),
                size_bytes: written.size,
                mime: meta.mime.clone(),
                taken_at: meta.taken_at,
                location: meta.location,
                captured_by: actor.user_id,
                captured_at: at,
                voided_by: None,
                voided_at: None,
                void_reason: None,
            };
            c.tx.execute(
                "INSERT INTO photos (id, inspection_id, finding_id, sha256, size_bytes, mime,
                                     taken_at, latitude, longitude, captured_by, captured_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id.to_string(),
                    inspection_id.to_string(),
                    finding_id.map(|f| f.to_string()),
                    record.sha256,
                    record.size_bytes as i64,
                    record.mime,
                    ts(record.taken_at),
                    record.location.map(|g| g.lat),
                    record.location.map(|g| g.lon),
                    actor.user_id.to_string(),
                    ts(at),
                ],
            )?;
            queue_upload(c, id, "photo")?;
            let base = bump_version(c, &mut insp)?;
            let seq = c.outbox("photo", id, inspection_id, "create", Some(base), &record)?;
            c.audit("photo", id, "create", None, Some(json(&record)?))?;
            Ok(Saved {
                id,
                inspection_id,
                device_seq: seq,
                version: insp.version,
            })
        });
        if result.is_err() {
            // No row points to it: remove the file so it does not linger.
            let _ = std::fs::remove_file(dir.join(id.to_string()));
            let _ = files::sync_dir(&dir);
        }
        result
    }

    /// Voids (作废) a photo: it stays on disk and in the database, marked with who
    /// voided it, when and why, and no longer counts as evidence of its finding.
    /// Photos are never deleted.
    pub fn void_photo(
        &mut self,
        photo_id: Uuid,
        reason: &str,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        let reason = reason_required(reason, "作废原因")?;
        self.write(Some(actor), at, |c| {
            let before = read_photo(c.tx, photo_id)?
                .ok_or_else(|| StoreError::not_found("照片", photo_id))?;
            let (_task, mut insp) = load_for_edit(c.tx, before.inspection_id, actor)?;
            check_editable(insp.status)?;
            if before.voided_at.is_some() {
                return Err(StoreError::AlreadyVoided);
            }
            c.tx.execute(
                "UPDATE photos SET voided_by = ?2, voided_at = ?3, void_reason = ?4 WHERE id = ?1",
                params![
                    photo_id.to_string(),
                    actor.user_id.to_string(),
                    ts(at),
                    reason
                ],
            )?;
            let after = PhotoRecord {
                voided_by: Some(actor.user_id),
                voided_at: Some(at),
                void_reason: Some(reason.clone()),
                ..before.clone()
            };
            let base = bump_version(c, &mut insp)?;
            let seq = c.outbox("photo", photo_id, insp.id, "void", Some(base), &after)?;
            c.audit(
                "photo",
                photo_id,
                "void",
                Some(json(&before)?),
                Some(json(&after)?),
            )?;
            Ok(Saved {
                id: photo_id,
                inspection_id: insp.id,
                device_seq: seq,
                version: insp.version,
            })
        })
    }

    /// A stored photo.
    pub fn photo(&self, id: Uuid) -> Result<PhotoRecord> {
        read_photo(&self.conn, id)?.ok_or_else(|| StoreError::not_found("照片", id))
    }

    /// All photos of an inspection, voided ones included, in capture order.
    ///
    /// Capture order is id order: photo ids are UUIDv7 made at capture, so every
    /// replica (this device, the platform, a device restored from a pull that
    /// receives the files in any order) numbers the photos alike.
    pub fn list_photos(&self, inspection_id: Uuid) -> Result<Vec<PhotoRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE inspection_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([inspection_id.to_string()], photo_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Re-reads a photo's file and compares size and SHA-256 with the record.
    pub fn verify_photo(&self, id: Uuid) -> Result<FileIntegrity> {
        let p = self.photo(id)?;
        files::verify(
            &self.photo_path(id),
            &p.sha256,
            p.size_bytes,
            self.key.as_ref(),
        )
    }

    /// Records a drawn signature (PNG) on the inspection's documents.
    pub fn add_signature(
        &mut self,
        inspection_id: Uuid,
        role: SignatureRole,
        signer_name: &str,
        png: FileSource<'_>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        let name = reason_required(signer_name, "签名人姓名")?;
        precheck(&self.conn, inspection_id, None, actor)?;
        let id = self.ids.next_id();
        self.signature_with_file(inspection_id, id, role, &name, png, None, actor, at)
    }

    /// 当事人拒绝签字: records the party's refusal and its reason and, where
    /// possible, a witness's signature, in one transaction.
    pub fn record_refusal(
        &mut self,
        inspection_id: Uuid,
        party_name: &str,
        reason: &str,
        witness: Option<Witness<'_>>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Refusal> {
        let party = reason_required(party_name, "当事人姓名")?;
        let reason = reason_required(reason, "拒绝签字的原因")?;
        let witness_name = witness
            .map(|w| reason_required(w.name, "见证人姓名"))
            .transpose()?;
        precheck(&self.conn, inspection_id, None, actor)?;
        let refusal_id = self.ids.next_id();
        let witness_file = match witness {
            Some(w) => {
                let id = self.ids.next_id();
                let written = files::write_once(
                    &self.data.signatures(),
                    id,
                    w.png,
                    MAX_SIGNATURE_BYTES,
                    check_png_head,
                    self.key.as_ref(),
                )?;
                Some((id, written))
            }
            None => None,
        };
        let dir = self.data.signatures();
        let result = self.write(Some(actor), at, |c| {
            let mut insp = precheck(c.tx, inspection_id, None, actor)?;
            let refusal = Signature {
                id: refusal_id,
                inspection_id,
                role: SignatureRole::Party,
                signer_name: party.clone(),
                image_sha256: None,
                refusal_reason: Some(reason.clone()),
                signed_at: at,
            };
            insert_signature(c, &refusal, None, None)?;
            let base = bump_version(c, &mut insp)?;
            let seq = c.outbox(
                "signature",
                refusal_id,
                inspection_id,
                "create",
                Some(base),
                &refusal,
            )?;
            c.audit(
                "signature",
                refusal_id,
                "refusal",
                None,
                Some(json(&refusal)?),
            )?;
            let refusal_saved = Saved {
                id: refusal_id,
                inspection_id,
                device_seq: seq,
                version: insp.version,
            };
            let witness_saved = match (&witness_file, &witness_name) {
                (Some((wid, written)), Some(name)) => {
                    let sig = Signature {
                        id: *wid,
                        inspection_id,
                        role: SignatureRole::Witness,
                        signer_name: name.clone(),
                        image_sha256: Some(written.sha256.clone()),
                        refusal_reason: None,
                        signed_at: at,
                    };
                    insert_signature(c, &sig, Some(written.size), Some(refusal_id))?;
                    queue_upload(c, *wid, "signature")?;
                    let base = bump_version(c, &mut insp)?;
                    let seq =
                        c.outbox("signature", *wid, inspection_id, "create", Some(base), &sig)?;
                    c.audit("signature", *wid, "create", None, Some(json(&sig)?))?;
                    Some(Saved {
                        id: *wid,
                        inspection_id,
                        device_seq: seq,
                        version: insp.version,
                    })
                }
                _ => None,
            };
            Ok(Refusal {
                refusal: refusal_saved,
                witness: witness_saved,
            })
        });
        if result.is_err()
            && let Some((wid, _)) = &witness_file
        {
            let _ = std::fs::remove_file(dir.join(wid.to_string()));
            let _ = files::sync_dir(&dir);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn signature_with_file(
        &mut self,
        inspection_id: Uuid,
        id: Uuid,
        role: SignatureRole,
        name: &str,
        png: FileSource<'_>,
        witness_of: Option<Uuid>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        let dir = self.data.signatures();
        let written = files::write_once(
            &dir,
            id,
            png,
            MAX_SIGNATURE_BYTES,
            check_png_head,
            self.key.as_ref(),
        )?;
        let result = self.write(Some(actor), at, |c| {
            let mut insp = precheck(c.tx, inspection_id, None, actor)?;
            let sig = Signature {
                id,
                inspection_id,
                role,
                signer_name: name.to_owned(),
                image_sha256: Some(written.sha256.clone()),
                refusal_reason: None,
                signed_at: at,
            };
            insert_signature(c, &sig, Some(written.size), witness_of)?;
            queue_upload(c, id, "signature")?;
            let base = bump_version(c, &mut insp)?;
            let seq = c.outbox("signature", id, inspection_id, "create", Some(base), &sig)?;
            c.audit("signature", id, "create", None, Some(json(&sig)?))?;
            Ok(Saved {
                id,
                inspection_id,
                device_seq: seq,
                version: insp.version,
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(dir.join(id.to_string()));
            let _ = files::sync_dir(&dir);
        }
        result
    }

    /// Signatures and refusals of an inspection, in the order recorded.
    pub fn list_signatures(&self, inspection_id: Uuid) -> Result<Vec<Signature>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, role, signer_name, image_sha256, refusal_reason, signed_at
             FROM signatures WHERE inspection_id = ?1 ORDER BY rowid",
        )?;
        let mut rows = stmt.query([inspection_id.to_string()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let role: String = r.get(1)?;
            out.push(Signature {
                id: parse_uuid(&r.get::<_, String>(0)?)?,
                inspection_id,
                role: SignatureRole::parse(&role)
                    .ok_or_else(|| StoreError::Data(format!("未知的签名角色“{role}”")))?,
                signer_name: r.get(2)?,
                image_sha256: r.get(3)?,
                refusal_reason: r.get(4)?,
                signed_at: parse_ts(&r.get::<_, String>(5)?)?,
            });
        }
        Ok(out)
    }

    /// Re-reads a signature's PNG against its recorded hash (a refusal has no file
    /// and is reported intact).
    pub fn verify_signature(&self, id: Uuid) -> Result<FileIntegrity> {
        let row: Option<(Option<String>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT image_sha256, image_size FROM signatures WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Err(StoreError::not_found("签名", id)),
            Some((Some(sha), Some(size))) => files::verify(
                &self.signature_path(id),
                &sha,
                size as u64,
                self.key.as_ref(),
            ),
            Some(_) => Ok(FileIntegrity::Intact),
        }
    }

    /// Files not yet fully uploaded, oldest first.
    pub fn pending_uploads(&self) -> Result<Vec<UploadItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT blob_id, kind, state, uploaded_bytes FROM upload_queue
             WHERE state <> 'done' ORDER BY queued_at, blob_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id = parse_uuid(&r.get::<_, String>(0)?)?;
            let kind: String = r.get(1)?;
            let path = if kind == "photo" {
                self.photo_path(id)
            } else {
                self.signature_path(id)
            };
            out.push(UploadItem {
                blob_id: id,
                kind,
                state: r.get(2)?,
                uploaded_bytes: r.get::<_, i64>(3)? as u64,
                path,
            });
        }
        Ok(out)
    }
}

/// The checks of an evidence capture, run once before the file is written and
/// again inside the transaction. Returns the inspection.
fn precheck(
    conn: &Connection,
    inspection_id: Uuid,
    finding_id: Option<Uuid>,
    actor: &Actor,
) -> Result<jiandu_core::Inspection> {
    let (_task, insp) = load_for_edit(conn, inspection_id, actor)?;
    check_editable(insp.status)?;
    if let Some(f) = finding_id
        && !insp.findings.iter().any(|x| x.id == f)
    {
        return Err(StoreError::not_found("该检查中的检查结果", f));
    }
    Ok(insp)
}

fn queue_upload(c: &mut Change<'_>, id: Uuid, kind: &str) -> Result<()> {
    c.tx.execute(
        "INSERT INTO upload_queue (blob_id, kind, queued_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![id.to_string(), kind, c.at()],
    )?;
    Ok(())
}

fn insert_signature(
    c: &mut Change<'_>,
    sig: &Signature,
    size: Option<u64>,
    witness_of: Option<Uuid>,
) -> Result<()> {
    c.tx.execute(
        "INSERT INTO signatures (id, inspection_id, role, signer_name, image_sha256, image_size,
                                 refusal_reason, witness_of, signed_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            sig.id.to_string(),
            sig.inspection_id.to_string(),
            sig.role.as_str(),
            sig.signer_name,
            sig.image_sha256,
            size.map(|s| s as i64),
            sig.refusal_reason,
            witness_of.map(|w| w.to_string()),
            ts(sig.signed_at),
            c.actor.map(|a| a.user_id.to_string()),
        ],
    )?;
    Ok(())
}

const PHOTO_COLUMNS: &str = "id, inspection_id, finding_id, sha256, size_bytes, mime, taken_at,
     latitude, longitude, captured_by, captured_at, voided_by, voided_at, void_reason";

type PhotoRaw = (
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    String,
    Option<f64>,
    Option<f64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn photo_row(r: &Row<'_>) -> rusqlite::Result<Result<PhotoRecord>> {
    let raw: PhotoRaw = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    );
    Ok((|| {
        Ok(PhotoRecord {
            id: parse_uuid(&raw.0)?,
            inspection_id: parse_uuid(&raw.1)?,
            finding_id: parse_opt_uuid(raw.2)?,
            sha256: raw.3,
            size_bytes: raw.4 as u64,
            mime: raw.5,
            taken_at: parse_ts(&raw.6)?,
            location: match (raw.7, raw.8) {
                (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
                _ => None,
            },
            captured_by: parse_uuid(&raw.9)?,
            captured_at: parse_ts(&raw.10)?,
            voided_by: parse_opt_uuid(raw.11)?,
            voided_at: parse_opt_ts(raw.12)?,
            void_reason: raw.13,
        })
    })())
}

fn read_photo(conn: &Connection, id: Uuid) -> Result<Option<PhotoRecord>> {
    conn.prepare_cached(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?1"))?
        .query_row([id.to_string()], photo_row)
        .optional()?
        .transpose()
}
