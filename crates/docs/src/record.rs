//! 现场笔录 (on-site inspection record): who was inspected, by which authority,
//! when (start–end) and where, the inspectors and their 执法证号, the 记录人 (recorder)
//! and 在场人 (persons present, with their posts), how credentials were shown (亮证)
//! and the party's answer on 回避 (recusal), the facts observed per checklist item,
//! the photos taken (by number, matching the evidence sheet), and the party's
//! confirmation and signature
//! on EVERY page, or "当事人拒绝签字" with the reason and a witness's signature; the
//! inspectors' signatures with their signing dates.
//!
//! Facts only: the record prints what was observed, never a verdict (符合/不符合)
//! or a penalty; those belong to the 意见书 and the case file.

use crate::common::{
    BODY, InspectorSign, LABEL, NOTE, PartyConfirmation, SMALL, Sig, TITLE, beijing_date, cn_date,
    cn_datetime, sign_date,
};
use crate::compose::{Align, Canvas, Column, Composer, Geometry, page_mark};
use crate::error::DocError;
use crate::font::{FontFace, Metrics};
use crate::pdf::{PdfMeta, write_pdf};
use chrono::{DateTime, Utc};
use jiandu_core::inspection::{Inspection, Institution, PresentPerson, Recusal, Task, Verdict};
use jiandu_core::plan::Checklist;
use uuid::Uuid;

/// Facts observed on one checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The item as printed, e.g. "5.医疗文书管理情况：处方管理".
    pub item: String,
    /// What was seen (现场检查情况), as the inspector wrote it.
    pub facts: String,
    /// Numbers of the photos taken for this item (as on the evidence sheet).
    pub photo_numbers: Vec<u32>,
}

/// Everything a 现场笔录 shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDoc {
    /// 检查机关.
    pub authority: String,
    /// 被检查人 (the unit) with address, 法定代表人/负责人 and phone.
    pub institution: Institution,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// 检查地点.
    pub place: String,
    pub inspectors: Vec<InspectorSign>,
    /// 记录人 (one of the inspectors), when named; `None` leaves a blank line.
    pub recorder: Option<String>,
    /// 亮证情况: how credentials were shown and what the party was told.
    pub credentials: String,
    /// The party's answer on 回避 (申请 / 不申请, with its reason); `None` prints
    /// both choices to tick by hand.
    pub recusal: Option<Recusal>,
    /// 在场人 with their posts; `None`: not entered (a blank line), empty: 无.
    pub present: Option<Vec<PresentPerson>>,
    pub observations: Vec<Observation>,
    /// Photos taken in all (numbered 1..=n on the evidence sheet).
    pub photo_count: u32,
    /// What the party wrote above their signature (e.g. 以上笔录已阅，与事实相符。).
    pub party_statement: String,
    pub party: PartyConfirmation,
    pub created_at: DateTime<Utc>,
}

/// The usual 亮证 sentence for the given inspectors.
pub fn credentials_text(inspectors: &[InspectorSign]) -> String {
    let names: Vec<&str> = inspectors.iter().map(|i| i.name.as_str()).collect();
    format!(
        "执法人员{}向被检查人出示了执法证件，表明了身份，告知了检查的依据和内容，以及被检查人依法享有的陈述、申辩和申请回避的权利。",
        names.join("、")
    )
}

/// The 回避 line: the party's answer as recorded, or both choices to tick by hand.
pub fn recusal_text(recusal: Option<&Recusal>) -> String {
    match recusal {
        None => "被检查人□申请回避 □不申请回避，理由：".to_owned(),
        Some(r) => {
            let reason = r.reason.trim();
            match (r.requested, reason.is_empty()) {
                (true, _) => format!("被检查人申请回避，理由：{reason}"),
                (false, true) => "被检查人不申请回避。".to_owned(),
                (false, false) => format!("被检查人不申请回避。说明：{reason}"),
            }
        }
    }
}

/// The 在场人 line: "王某（院长）、李某（药房负责人）", 无, or blank.
pub fn present_text(present: Option<&[PresentPerson]>) -> String {
    match present {
        None => String::new(),
        Some([]) => "无".to_owned(),
        Some(people) => people
            .iter()
            .map(|p| format!("{}（{}）", p.name.trim(), p.post.trim()))
            .collect::<Vec<_>>()
            .join("、"),
    }
}

/// Photo numbers of an inspection: in checklist order of the findings, then in the
/// order photos were attached. The record and the evidence sheet both use this, so
/// their numbers agree.
pub fn number_photos(checklist: &Checklist, inspection: &Inspection) -> Vec<(Uuid, u32)> {
    let mut out: Vec<(Uuid, u32)> = Vec::new();
    let order = checklist
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .map(|p| p.code.as_str());
    let mut findings: Vec<_> = inspection.findings.iter().collect();
    let pos: std::collections::HashMap<&str, usize> =
        order.enumerate().map(|(i, c)| (c, i)).collect();
    findings.sort_by_key(|f| pos.get(f.point.as_str()).copied().unwrap_or(usize::MAX));
    for f in findings {
        for id in &f.photo_ids {
            if !out.iter().any(|(seen, _)| seen == id) {
                let n = out.len() as u32 + 1;
                out.push((*id, n));
            }
        }
    }
    out
}

/// "5.医疗文书管理情况：处方管理" for a check point code.
pub fn item_label(checklist: &Checklist, point: &str) -> String {
    for item in &checklist.items {
        if let Some(p) = item.points.iter().find(|p| p.code == point) {
            return if p.text == item.title {
                format!("{}.{}", item.number, item.title)
            } else {
                format!("{}.{}：{}", item.number, item.title, p.text)
            };
        }
    }
    point.to_owned()
}

impl RecordDoc {
    /// The record of an inspection as recorded: observations in checklist order
    /// (items marked not applicable are left out), photo numbers from
    /// [`number_photos`]. The caller adds signatures and the party's answer.
    pub fn from_inspection(
        checklist: &Checklist,
        task: &Task,
        inspection: &Inspection,
        authority: &str,
    ) -> RecordDoc {
        let numbers = number_photos(checklist, inspection);
        let number_of = |id: &Uuid| numbers.iter().find(|(i, _)| i == id).map(|(_, n)| *n);
        let order: Vec<&str> = checklist
            .items
            .iter()
            .flat_map(|i| i.points.iter())
            .map(|p| p.code.as_str())
            .collect();
        let mut findings: Vec<_> = inspection
            .findings
            .iter()
            .filter(|f| f.verdict != Verdict::NotApplicable)
            .collect();
        findings.sort_by_key(|f| {
            order
                .iter()
                .position(|c| *c == f.point)
                .unwrap_or(usize::MAX)
        });
        let observations = findings
            .into_iter()
            .map(|f| Observation {
                item: item_label(checklist, &f.point),
                facts: if f.observation.trim().is_empty() {
                    "已现场查看。".to_owned()
                } else {
                    f.observation.trim().to_owned()
                },
                photo_numbers: f.photo_ids.iter().filter_map(number_of).collect(),
            })
            .collect();
        let inspectors: Vec<InspectorSign> =
            task.inspectors.iter().map(InspectorSign::from).collect();
        let details = inspection.record_details.as_ref();
        let recorder = details.and_then(|d| {
            task.inspectors
                .iter()
                .find(|i| i.user_id == d.recorder)
                .map(|i| i.name.clone())
        });
        let started = inspection.started_at.unwrap_or_default();
        let ended = inspection.ended_at.unwrap_or(started);
        RecordDoc {
            authority: authority.to_owned(),
            institution: task.institution.clone(),
            started_at: started,
            ended_at: ended,
            place: inspection.place.clone(),
            credentials: credentials_text(&inspectors),
            inspectors,
            recorder,
            recusal: details.map(|d| d.recusal.clone()),
            present: details.map(|d| d.present.clone()),
            observations,
            photo_count: numbers.len() as u32,
            party_statement: "以上笔录已阅，与事实相符。".to_owned(),
            party: PartyConfirmation::Pending,
            created_at: ended,
        }
    }
}

/// "第1、2、5号", or "无".
fn numbers_text(n: &[u32]) -> String {
    if n.is_empty() {
        "无".to_owned()
    } else {
        let list = n.iter().map(u32::to_string).collect::<Vec<_>>().join("、");
        format!("第{list}号")
    }
}

/// Renders the 现场笔录 with the embedded font.
pub fn render_record(doc: &RecordDoc) -> Result<Vec<u8>, DocError> {
    render_record_with(FontFace::embedded(), doc)
}

pub(crate) fn render_record_with(font: &FontFace, doc: &RecordDoc) -> Result<Vec<u8>, DocError> {
    let footer = 58.0;
    let geometry = Geometry::a4(footer);
    let mut c = Composer::new(font, geometry);
    let inspector_sigs: Vec<Sig> = doc
        .inspectors
        .iter()
        .map(|i| Sig::register(&mut c, i.signature_png.as_deref()))
        .collect();
    let (party_sig, witness_sig) = match &doc.party {
        PartyConfirmation::Signed(p) => (Sig::register(&mut c, p.signature_png.as_deref()), None),
        PartyConfirmation::Refused { witness, .. } => (
            Sig { image: None },
            Some(Sig::register(
                &mut c,
                witness.as_ref().and_then(|w| w.signature_png.as_deref()),
            )),
        ),
        PartyConfirmation::Pending => (Sig { image: None }, None),
    };

    c.centered("现场笔录", TITLE);
    c.gap(8.0);
    let i = &doc.institution;
    c.field("被检查人：", &i.name, BODY);
    c.field("地址：", &i.address, BODY);
    c.fields_row(
        &[
            ("法定代表人（负责人）：", &i.legal_representative, 0.55),
            ("联系电话：", &i.phone, 0.45),
        ],
        BODY,
    );
    c.field("检查机关：", &doc.authority, BODY);
    c.field(
        "检查时间：",
        &format!(
            "{}至{}",
            cn_datetime(doc.started_at),
            cn_datetime(doc.ended_at)
        ),
        BODY,
    );
    c.field("检查地点：", &doc.place, BODY);
    let inspectors = doc
        .inspectors
        .iter()
        .map(|i| format!("{}（执法证号：{}）", i.name, i.badge_no))
        .collect::<Vec<_>>()
        .join("\n");
    c.field("执法人员：", &inspectors, BODY);
    c.field("记录人：", doc.recorder.as_deref().unwrap_or(""), BODY);
    c.field("在场人：", &present_text(doc.present.as_deref()), BODY);
    c.gap(6.0);
    let indent = BODY.size * 2.0;
    c.ensure(LABEL.line_height() * 3.0);
    c.paragraph("亮证情况：", LABEL, 0.0);
    c.paragraph(&doc.credentials, BODY, indent);
    c.field("回避：", &recusal_text(doc.recusal.as_ref()), BODY);
    c.gap(4.0);
    c.ensure(LABEL.line_height() * 4.0);
    c.paragraph("现场检查情况：", LABEL, 0.0);
    // One wide column holds the item, the facts and the photo numbers of each
    // observation, so the facts get the width and the observation reads (and is
    // extracted by text tools) as one piece.
    let columns = [
        Column {
            header: "序号".into(),
            share: 0.7,
            align: Align::Center,
        },
        Column {
            header: "检查项目及现场检查情况".into(),
            share: 9.0,
            align: Align::Left,
        },
    ];
    let rows: Vec<Vec<String>> = doc
        .observations
        .iter()
        .enumerate()
        .map(|(k, o)| {
            vec![
                (k + 1).to_string(),
                format!(
                    "检查项目：{}\n现场情况：{}\n现场照片：{}",
                    o.item,
                    o.facts,
                    numbers_text(&o.photo_numbers)
                ),
            ]
        })
        .collect();
    if rows.is_empty() {
        c.paragraph("（未记录检查事项）", BODY, indent);
    } else {
        c.table(&columns, &rows, SMALL);
    }
    c.gap(10.0);
    let photos = if doc.photo_count == 0 {
        "现场未拍摄照片。".to_owned()
    } else {
        format!(
            "现场拍摄照片共{}张，编号第1至{}号，详见《证据照片》。",
            doc.photo_count, doc.photo_count
        )
    };
    c.field("现场拍照：", &photos, BODY);
    c.gap(6.0);

    // The party's answer, then the inspectors' signatures, at the end of the record.
    match &doc.party {
        PartyConfirmation::Signed(p) => {
            c.field("被检查人意见：", &doc.party_statement, BODY);
            let name = p.name.clone();
            c.block(40.0, |canvas, x, top, _| {
                let label = "被检查人（签名）：";
                let lw = font.width(label, BODY.size);
                canvas.text(x, top + 12.0, BODY, label);
                party_sig.draw(canvas, x + lw, top, 110.0, 32.0);
                canvas.text(x + lw + 116.0, top + 12.0, BODY, &format!("（{name}）"));
            });
        }
        PartyConfirmation::Refused { reason, witness } => {
            c.field("被检查人意见：", "当事人拒绝签字", BODY);
            c.field("拒签原因：", reason, BODY);
            let sig = witness_sig.unwrap_or(Sig { image: None });
            let name = witness.as_ref().map(|w| w.name.clone());
            c.block(40.0, |canvas, x, top, _| {
                let label = "见证人（签名）：";
                let lw = font.width(label, BODY.size);
                canvas.text(x, top + 12.0, BODY, label);
                sig.draw(canvas, x + lw, top, 110.0, 32.0);
                if let Some(name) = name {
                    canvas.text(x + lw + 116.0, top + 12.0, BODY, &format!("（{name}）"));
                }
            });
        }
        PartyConfirmation::Pending => {
            c.field("被检查人意见：", "", BODY);
            c.block(40.0, |canvas, x, top, _| {
                let label = "被检查人（签名）：";
                let lw = font.width(label, BODY.size);
                canvas.text(x, top + 12.0, BODY, label);
                Sig { image: None }.draw(canvas, x + lw, top, 110.0, 32.0);
            });
        }
    }
    let label = "执法人员（签名）：";
    let lw = font.width(label, BODY.size);
    // Two signatures a row; each row is its own block, so any number of inspectors
    // flows over pages instead of running off one.
    let per_row = 2;
    let sigs: Vec<(String, String, Sig)> = doc
        .inspectors
        .iter()
        .zip(&inspector_sigs)
        .map(|(i, s)| (i.name.clone(), sign_date(i.signed_at), *s))
        .collect();
    let rows: Vec<&[(String, String, Sig)]> = if sigs.is_empty() {
        vec![&[]]
    } else {
        sigs.chunks(per_row).collect()
    };
    for (r, row) in rows.into_iter().enumerate() {
        c.block(46.0, |canvas, x, top, width| {
            if r == 0 {
                canvas.text(x, top + 12.0, BODY, label);
            }
            let slot = (width - lw) / per_row as f32;
            for (k, (name, date, sig)) in row.iter().enumerate() {
                let sx = x + lw + k as f32 * slot;
                sig.draw(canvas, sx, top, 90.0, 32.0);
                // The name a little smaller, on the label's baseline.
                let name_top =
                    top + 12.0 + Canvas::baseline(0.0, &BODY) - Canvas::baseline(0.0, &SMALL);
                canvas.text_aligned(
                    sx + 92.0,
                    slot - 94.0,
                    name_top,
                    SMALL,
                    Align::Left,
                    &format!("（{name}）"),
                );
                // The signing date (签名日期) under the name.
                canvas.text_aligned(
                    sx + 92.0,
                    slot - 94.0,
                    name_top + SMALL.line_height(),
                    SMALL,
                    Align::Left,
                    date,
                );
            }
            if row.is_empty() {
                Sig { image: None }.draw(canvas, x + lw, top, 100.0, 32.0);
            }
        });
    }

    // Every page: the party's confirmation and signature (or the refusal and the
    // witness), and the page mark.
    let party = doc.party.clone();
    let composed = c.finish(|canvas, page, total| {
        let top = geometry.bottom + 4.0;
        canvas.hline(geometry.left, geometry.right, top, 0.5);
        let row = top + 4.0;
        let x = geometry.left;
        match &party {
            PartyConfirmation::Signed(p) => {
                let label = "被检查人确认本页记录（签名）：";
                let lw = font.width(label, SMALL.size);
                canvas.text(x, row + 12.0, SMALL, label);
                party_sig.draw(canvas, x + lw, row, 90.0, 30.0);
                let date = p
                    .signed_at
                    .map(|t| cn_date(beijing_date(t)))
                    .unwrap_or_else(|| "    年  月  日".to_owned());
                canvas.text(x + lw + 96.0, row + 12.0, SMALL, &date);
            }
            PartyConfirmation::Refused { witness, .. } => {
                let label = "被检查人（签名）：当事人拒绝签字    见证人（签名）：";
                let lw = font.width(label, SMALL.size);
                canvas.text(x, row + 12.0, SMALL, label);
                if let Some(sig) = witness_sig {
                    sig.draw(canvas, x + lw, row, 80.0, 30.0);
                }
                if let Some(w) = witness {
                    canvas.text(x + lw + 84.0, row + 12.0, SMALL, &format!("（{}）", w.name));
                }
            }
            PartyConfirmation::Pending => {
                let label = "被检查人确认本页记录（签名）：";
                let lw = font.width(label, SMALL.size);
                canvas.text(x, row + 12.0, SMALL, label);
                Sig { image: None }.draw(canvas, x + lw, row, 90.0, 30.0);
                canvas.text(x + lw + 96.0, row + 12.0, SMALL, "    年  月  日");
            }
        }
        // The page mark on a line of its own, clear of names and signatures.
        canvas.text_aligned(
            geometry.left,
            geometry.width(),
            row + 36.0,
            NOTE,
            Align::Center,
            &page_mark(page, total),
        );
    });
    write_pdf(
        font,
        &composed,
        &PdfMeta {
            title: format!("现场笔录 {}", doc.institution.name),
            author: doc.authority.clone(),
            created_at: doc.created_at,
        },
    )
}
