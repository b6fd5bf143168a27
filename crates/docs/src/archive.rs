//! The one place where an inspection's documents are built from the core types.
//!
//! The tablet (printing on site) and the platform (archive copies, issue 3 item 6)
//! both hold the same data for a synced inspection: the [`Task`] with its
//! institution snapshot and inspectors, the [`Inspection`], its photos' metadata
//! ([`PhotoRecord`]), its [`Signature`]s and the files (photos, signature PNGs) by
//! SHA-256. [`opinion`], [`record`] and [`evidence`] turn exactly that into the
//! input structs of [`crate::render_opinion`], [`crate::render_record`] and
//! [`crate::render_evidence`], so the two sides print the same documents. Nothing
//! here reads a clock: every date comes from the inspection.
//!
//! Rules:
//! - inspectors sign with the signature whose role is inspector and whose signer is
//!   the inspector's name; the party (被检查人) with the party signature; a recorded
//!   refusal (当事人拒绝签字) prints the reason and the witness's signature, if any;
//!   no party signature and no refusal prints blank lines (to sign on paper);
//! - voided photos are left out; photos are numbered by [`crate::number_photos`], so
//!   the record and the evidence sheet agree, and photos attached to no finding
//!   follow in the order they were taken;
//! - the issue date is the day the inspection ended (else started), in China time
//!   (UTC+8);
//! - a file that is missing prints as the placeholder, never an error.

use crate::common::{InspectorSign, PartyConfirmation, PartySign};
use crate::evidence::{EvidenceDoc, PhotoDoc, PhotosPerPage};
use crate::image::PhotoPolicy;
use crate::opinion::OpinionDoc;
use crate::record::{RecordDoc, item_label, number_photos};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use jiandu_core::inspection::{Inspection, Opinion, Signature, SignatureRole, Task};
use jiandu_core::plan::Checklist;
use jiandu_core::protocol::PhotoRecord;
use uuid::Uuid;

/// Everything the documents of one inspection are made of.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveInput<'a> {
    pub checklist: &'a Checklist,
    pub task: &'a Task,
    pub inspection: &'a Inspection,
    pub photos: &'a [PhotoRecord],
    pub signatures: &'a [Signature],
    /// 执法机关 printed on the documents.
    pub authority: &'a str,
    /// 文号 of the 意见书 ("" when none was taken).
    pub opinion_number: &'a str,
    /// Days to correct of the task's plan ([`jiandu_core::Plan::correction_days`]):
    /// the draft's 改正期限 when no opinion was confirmed.
    pub correction_days: u32,
}

/// Where the files are: bytes by SHA-256 (lower-case hex), `None` when absent.
pub trait Files {
    fn get(&self, sha256: &str) -> Option<Vec<u8>>;

    /// What the evidence sheet prints for the photo whose ORIGINAL has this SHA-256:
    /// its print copy ([`crate::image::print_copy`]). The tablet made it at capture
    /// and overrides this to read it (no reduction at print time); by default it is
    /// made here from the original, giving the same bytes, so both sides print the
    /// same document. A file that cannot be reduced is returned as it is, so the
    /// sheet shows the same placeholder it would for the original.
    fn print_photo(&self, sha256: &str) -> Option<Vec<u8>> {
        let original = self.get(sha256)?;
        Some(crate::image::print_copy(&original).unwrap_or(original))
    }
}

impl<F: Fn(&str) -> Option<Vec<u8>>> Files for F {
    fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        self(sha256)
    }
}

fn china_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

/// When the documents are dated: the end of the inspection, else its start, else
/// the Unix epoch (an inspection that never started has no documents anyway).
fn when(i: &Inspection) -> DateTime<Utc> {
    i.ended_at
        .or(i.started_at)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn inspectors(input: &ArchiveInput, files: &dyn Files) -> Vec<InspectorSign> {
    input
        .task
        .inspectors
        .iter()
        .map(|a| {
            let mut s = InspectorSign::from(a);
            // The first signature with an image; its date prints even when its
            // file is missing (the placeholder line then stands for the image).
            if let Some(g) = input.signatures.iter().find(|g| {
                g.role == SignatureRole::Inspector
                    && g.signer_name == a.name
                    && g.image_sha256.is_some()
            }) {
                s.signature_png = g.image_sha256.as_deref().and_then(|h| files.get(h));
                s.signed_at = Some(g.signed_at);
            }
            s
        })
        .collect()
}

fn party_sign(g: &Signature, files: &dyn Files) -> PartySign {
    PartySign {
        name: g.signer_name.clone(),
        signature_png: g.image_sha256.as_deref().and_then(|h| files.get(h)),
        signed_at: Some(g.signed_at),
    }
}

/// The party's confirmation: signed, refused (with a witness, if any), or pending.
fn party(input: &ArchiveInput, files: &dyn Files) -> PartyConfirmation {
    let of = |role| input.signatures.iter().rev().find(|g| g.role == role);
    if let Some(p) = of(SignatureRole::Party) {
        if let Some(reason) = p.refusal_reason.as_deref().filter(|r| !r.trim().is_empty()) {
            return PartyConfirmation::Refused {
                reason: reason.trim().to_owned(),
                witness: of(SignatureRole::Witness).map(|w| party_sign(w, files)),
            };
        }
        if p.image_sha256.is_some() {
            return PartyConfirmation::Signed(party_sign(p, files));
        }
    }
    PartyConfirmation::Pending
}

/// The 卫生监督意见书.
pub fn opinion(input: &ArchiveInput, files: &dyn Files) -> OpinionDoc {
    let at = when(input.inspection);
    let mut doc = OpinionDoc::from_inspection(
        input.task,
        input.inspection,
        || draft_opinion(input),
        input.authority,
        input.opinion_number,
        china_date(at),
    );
    doc.inspectors = inspectors(input, files);
    doc.receipt = match party(input, files) {
        PartyConfirmation::Signed(s) => Some(s),
        _ => None,
    };
    doc
}

/// The 监督意见 drafted from the findings ([`Opinion::draft`]): what the tablet
/// offers to edit, and what the 意见书 prints while none is confirmed.
pub fn draft_opinion(input: &ArchiveInput) -> Opinion {
    Opinion::draft(input.checklist, input.inspection, input.correction_days)
}

/// The 现场笔录.
pub fn record(input: &ArchiveInput, files: &dyn Files) -> RecordDoc {
    let cleaned = live_photos_only(input);
    let mut doc =
        RecordDoc::from_inspection(input.checklist, input.task, &cleaned, input.authority);
    doc.inspectors = inspectors(input, files);
    doc.party = party(input, files);
    // The same count as the evidence sheet (photos on no finding included).
    doc.photo_count = numbered_photos(input).len() as u32;
    doc
}

/// The inspection with only the photos that are printed (known, not voided) on its
/// findings, so the record's numbers are the evidence sheet's.
fn live_photos_only(input: &ArchiveInput) -> Inspection {
    let mut i = input.inspection.clone();
    for f in &mut i.findings {
        f.photo_ids.retain(|id| {
            input
                .photos
                .iter()
                .any(|p| p.id == *id && p.voided_at.is_none())
        });
    }
    i
}

/// Photos in print order with their numbers: those attached to findings as
/// [`number_photos`] numbers them, then the others by time taken. Voided photos
/// are left out.
pub fn numbered_photos<'a>(input: &ArchiveInput<'a>) -> Vec<(&'a PhotoRecord, u32)> {
    let live: Vec<&PhotoRecord> = input
        .photos
        .iter()
        .filter(|p| p.voided_at.is_none())
        .collect();
    let cleaned = live_photos_only(input);
    let mut out: Vec<(&PhotoRecord, u32)> = number_photos(input.checklist, &cleaned)
        .into_iter()
        .filter_map(|(id, _)| live.iter().find(|p| p.id == id).copied())
        .enumerate()
        .map(|(k, p)| (p, k as u32 + 1))
        .collect();
    let mut rest: Vec<&PhotoRecord> = live
        .into_iter()
        .filter(|p| !out.iter().any(|(q, _)| q.id == p.id))
        .collect();
    rest.sort_by_key(|p| (p.taken_at, p.id));
    for p in rest {
        let n = out.len() as u32 + 1;
        out.push((p, n));
    }
    out
}

/// The 证据照片 sheet.
pub fn evidence(input: &ArchiveInput, files: &dyn Files) -> EvidenceDoc {
    let finding_of = |photo: Uuid| {
        input
            .inspection
            .findings
            .iter()
            .find(|f| f.photo_ids.contains(&photo))
    };
    let name_of = |user: Uuid| {
        input
            .task
            .inspectors
            .iter()
            .find(|a| a.user_id == user)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let photos = numbered_photos(input)
        .into_iter()
        .map(|(p, number)| PhotoDoc {
            number,
            item: finding_of(p.id)
                .map(|f| item_label(input.checklist, &f.point))
                .unwrap_or_else(|| "现场情况".to_owned()),
            taken_at: p.taken_at,
            place: input.inspection.place.clone(),
            taken_by: name_of(p.captured_by),
            sha256: p.sha256.clone(),
            file: files.print_photo(&p.sha256),
        })
        .collect();
    let party_signature_png = match party(input, files) {
        PartyConfirmation::Signed(s) => s.signature_png,
        _ => None,
    };
    EvidenceDoc {
        authority: input.authority.to_owned(),
        institution_name: input.task.institution.name.clone(),
        photos,
        per_page: PhotosPerPage::Two,
        policy: PhotoPolicy::default(),
        party_signature_png,
        created_at: when(input.inspection),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use jiandu_core::inspection::{
        AssignedInspector, DrawKind, Finding, Institution, Outcome, PublicCategory, Verdict,
    };
    use jiandu_core::templates::TemplateSet;

    fn photo(id: u128, inspection: Uuid, minute: u32, voided: bool) -> PhotoRecord {
        let at = Utc.with_ymd_and_hms(2025, 6, 30, 8, minute, 0).unwrap();
        PhotoRecord {
            id: Uuid::from_u128(id),
            inspection_id: inspection,
            finding_id: None,
            sha256: format!("{id:064x}"),
            size_bytes: 1,
            mime: "image/jpeg".into(),
            taken_at: at,
            location: None,
            captured_by: Uuid::from_u128(10),
            captured_at: at,
            voided_by: voided.then(|| Uuid::from_u128(10)),
            voided_at: voided.then_some(at),
            void_reason: voided.then(|| "拍错".into()),
        }
    }

    #[test]
    fn signatures_refusals_photo_numbers_and_dates() {
        let set = TemplateSet::builtin().unwrap();
        let checklist = set
            .plan("shanxi-2025")
            .unwrap()
            .checklist("medical")
            .unwrap();
        let task = Task {
            id: Uuid::from_u128(1),
            plan_id: "shanxi-2025".into(),
            plan_version: 1,
            checklist: "medical".into(),
            draw_kind: DrawKind::National,
            followup: None,
            institution: Institution {
                id: Uuid::from_u128(2),
                name: "测试诊所".into(),
                credit_code: "91140100000000001X".into(),
                licence_no: "L".into(),
                category: jiandu_core::CategoryCode("clinic".into()),
                district: "小店区".into(),
                address: "地址".into(),
                legal_representative: "王某".into(),
                phone: "1".into(),
            },
            inspectors: vec![AssignedInspector {
                user_id: Uuid::from_u128(10),
                name: "张伟".into(),
                badge_no: "1401".into(),
            }],
            deadline: None,
        };
        let id = Uuid::from_u128(3);
        let mut i = Inspection::new(id, task.id);
        // Ends 2025-06-30 17:00 UTC = 2025-07-01 01:00 in China.
        i.started_at = Some(Utc.with_ymd_and_hms(2025, 6, 30, 8, 0, 0).unwrap());
        i.ended_at = Some(Utc.with_ymd_and_hms(2025, 6, 30, 17, 0, 0).unwrap());
        i.findings = vec![Finding {
            id: Uuid::from_u128(4),
            inspection_id: id,
            point: "med.5.1".into(),
            verdict: Verdict::NonCompliant,
            observation: "处方未签名".into(),
            // 22 was attached, then voided.
            photo_ids: vec![Uuid::from_u128(22), Uuid::from_u128(21)],
            recorded_by: Uuid::from_u128(10),
            recorded_at: i.started_at.unwrap(),
        }];
        i.outcome = Some(Outcome {
            category: PublicCategory::Corrected,
            penalty: None,
            opinion: Some("责令改正".into()),
            unreachable_reason: None,
        });
        // 20: unattached, taken first; 21: on the finding; 22: voided.
        let photos = vec![
            photo(20, id, 1, false),
            photo(21, id, 5, false),
            photo(22, id, 9, true),
        ];
        let sign = |k: u128, role, image: Option<&str>, refusal: Option<&str>| Signature {
            id: Uuid::from_u128(k),
            inspection_id: id,
            role,
            signer_name: match role {
                SignatureRole::Inspector => "张伟".into(),
                SignatureRole::Party => "王某".into(),
                SignatureRole::Witness => "李某".into(),
            },
            image_sha256: image.map(str::to_owned),
            refusal_reason: refusal.map(str::to_owned),
            signed_at: i.ended_at.unwrap(),
        };
        let signatures = vec![
            sign(30, SignatureRole::Inspector, Some("aa"), None),
            sign(31, SignatureRole::Party, None, Some("拒绝签字")),
            sign(32, SignatureRole::Witness, Some("bb"), None),
        ];
        let files = |sha: &str| match sha {
            "aa" => Some(b"inspector-png".to_vec()),
            "bb" => Some(b"witness-png".to_vec()),
            _ => None,
        };
        let input = ArchiveInput {
            checklist,
            task: &task,
            inspection: &i,
            photos: &photos,
            signatures: &signatures,
            authority: "某卫生健康委员会",
            opinion_number: "并卫监意〔2025〕1号",
            correction_days: 15,
        };
        let numbered: Vec<(u128, u32)> = numbered_photos(&input)
            .into_iter()
            .map(|(p, n)| (p.id.as_u128(), n))
            .collect();
        assert_eq!(
            numbered,
            vec![(21, 1), (20, 2)],
            "attached first, voided left out"
        );

        let record = record(&input, &files);
        assert_eq!(
            record.inspectors[0].signature_png.as_deref(),
            Some(&b"inspector-png"[..])
        );
        match &record.party {
            PartyConfirmation::Refused { reason, witness } => {
                assert_eq!(reason, "拒绝签字");
                assert_eq!(
                    witness.as_ref().unwrap().signature_png.as_deref(),
                    Some(&b"witness-png"[..])
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(record.photo_count, 2, "as many as the evidence sheet");
        assert_eq!(record.observations[0].photo_numbers, vec![1]);

        let opinion = opinion(&input, &files);
        assert_eq!(
            opinion.issued_on,
            NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
        );
        assert_eq!(opinion.number, "并卫监意〔2025〕1号");
        assert!(opinion.receipt.is_none(), "a refusal is no receipt");

        let evidence = evidence(&input, &files);
        assert_eq!(evidence.photos.len(), 2);
        assert_eq!(evidence.photos[0].taken_by, "张伟");
        assert!(
            evidence.photos[0].item.contains("处方"),
            "{}",
            evidence.photos[0].item
        );
        assert_eq!(evidence.photos[1].item, "现场情况");
        assert!(
            evidence.photos.iter().all(|p| p.file.is_none()),
            "missing files print as placeholders"
        );
    }
}
