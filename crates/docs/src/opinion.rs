//! 卫生监督意见书 (health supervision opinion), per the 卫生行政执法文书 form:
//! issuing authority and title, 文号, the supervised unit's particulars, the opinion
//! (with legal basis, deadline and requirements when it orders correction), the
//! inspectors' signatures with 执法证号, the unit's acknowledgement of receipt, the
//! authority's seal area and date, and the two-copy footnote on every page.

use crate::common::{
    BODY, InspectorSign, LABEL, NOTE, PartySign, SUBTITLE, Sig, TITLE, beijing_date, cn_date,
};
use crate::compose::{Align, Canvas, Composer, Geometry, page_mark};
use crate::error::DocError;
use crate::font::{FontFace, Metrics};
use crate::layout::{Line, break_text};
use crate::pdf::{PdfMeta, write_pdf};
use chrono::{DateTime, NaiveDate, Utc};
use jiandu_core::inspection::{Inspection, Institution, Opinion, PublicCategory, Task};

/// The footnote every 卫生监督意见书 carries.
pub const OPINION_FOOTNOTE: &str = "本意见书一式两联，第一联留存执法案卷，第二联交被监督人。";

/// Everything a 卫生监督意见书 shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionDoc {
    /// 卫生行政机关, e.g. 太原市卫生健康委员会.
    pub authority: String,
    /// 文号, e.g. 晋卫监意字〔2025〕第0012号 (see [`crate::DocumentNumber`]).
    pub number: String,
    /// The supervised unit (被监督单位): name, address, 法定代表人/负责人, phone.
    pub institution: Institution,
    /// 监督意见: the numbered problems with their legal basis, the 改正期限 and the
    /// 改正要求, exactly as confirmed (or, before that, as drafted).
    pub opinion: Opinion,
    /// The outcome is 行政处罚: the 意见书 says in one line that the case is handled
    /// separately (另案处理) and never prints penalty figures, which belong to the
    /// case's own 行政处罚决定书.
    pub separate_case: bool,
    pub inspectors: Vec<InspectorSign>,
    /// 被监督人签收; `None` leaves blanks to sign on paper.
    pub receipt: Option<PartySign>,
    /// Date under the seal.
    pub issued_on: NaiveDate,
    /// Written into the PDF metadata (the inspection's time, not the clock).
    pub created_at: DateTime<Utc>,
}

/// The line a 意见书 carries when the outcome is 行政处罚.
pub const SEPARATE_CASE_TEXT: &str = "你单位涉嫌违法的行为，由本机关依法另案处理。";

impl OpinionDoc {
    /// The opinion of an inspection as recorded: unit and inspectors from the task,
    /// the confirmed 监督意见 (else `draft`), 另案处理 when the outcome is 行政处罚.
    /// Signatures are added by the caller, who holds the PNGs.
    pub fn from_inspection(
        task: &Task,
        inspection: &Inspection,
        draft: impl FnOnce() -> Opinion,
        authority: &str,
        number: &str,
        issued_on: NaiveDate,
    ) -> OpinionDoc {
        OpinionDoc {
            authority: authority.to_owned(),
            number: number.to_owned(),
            institution: task.institution.clone(),
            opinion: inspection.opinion.clone().unwrap_or_else(draft),
            separate_case: inspection
                .outcome
                .as_ref()
                .is_some_and(|o| o.category == PublicCategory::Penalised),
            inspectors: task.inspectors.iter().map(InspectorSign::from).collect(),
            receipt: None,
            issued_on,
            created_at: inspection
                .ended_at
                .or(inspection.started_at)
                .unwrap_or_else(|| issued_on.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
        }
    }
}

/// 一, 二, … 九十九 (then Arabic digits): the numbers of the opinion's problems.
pub fn cn_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => D[n].to_owned(),
        10 => "十".to_owned(),
        11..=19 => format!("十{}", D[n % 10]),
        20..=99 if n.is_multiple_of(10) => format!("{}十", D[n / 10]),
        20..=99 => format!("{}十{}", D[n / 10], D[n % 10]),
        _ => n.to_string(),
    }
}

/// The paragraphs of the 监督意见, in print order: the problems numbered 一、二、…
/// with their legal basis, the order to correct by the deadline, the requirements,
/// and the 另案处理 line of a penalty case.
pub fn opinion_paragraphs(opinion: &Opinion, separate_case: bool) -> Vec<String> {
    let mut out = Vec::new();
    let trim_end = |s: &str| {
        s.trim()
            .trim_end_matches(['。', '；', ';', '，'])
            .to_owned()
    };
    if opinion.problems.is_empty() {
        out.push("经检查，未发现你单位存在违法违规问题。".to_owned());
    } else {
        out.push("经检查，你单位存在以下问题：".to_owned());
        for (k, p) in opinion.problems.iter().enumerate() {
            let basis = p.basis.trim();
            let mut line = format!("{}、{}。", cn_number(k + 1), trim_end(&p.text));
            if !basis.is_empty() {
                line.push_str(&format!("违反了{}的规定。", trim_end(basis)));
            }
            out.push(line);
        }
        if let Some(deadline) = opinion.deadline {
            out.push(format!("责令你单位于{}前改正上述问题。", cn_date(deadline)));
        }
    }
    let requirements = opinion.requirements.trim();
    if !requirements.is_empty() {
        out.push(format!("改正要求：{requirements}"));
    }
    if separate_case {
        out.push(SEPARATE_CASE_TEXT.to_owned());
    }
    out
}

/// Renders the 卫生监督意见书 with the embedded font.
pub fn render_opinion(doc: &OpinionDoc) -> Result<Vec<u8>, DocError> {
    render_opinion_with(FontFace::embedded(), doc)
}

pub(crate) fn render_opinion_with(font: &FontFace, doc: &OpinionDoc) -> Result<Vec<u8>, DocError> {
    let footer = NOTE.line_height() * 2.0 + 6.0;
    let mut c = Composer::new(font, Geometry::a4(footer));
    let inspector_sigs: Vec<Sig> = doc
        .inspectors
        .iter()
        .map(|i| Sig::register(&mut c, i.signature_png.as_deref()))
        .collect();
    let receipt_sig = Sig::register(
        &mut c,
        doc.receipt
            .as_ref()
            .and_then(|r| r.signature_png.as_deref()),
    );

    c.centered(&doc.authority, SUBTITLE);
    c.centered("卫生监督意见书", TITLE);
    c.gap(4.0);
    c.right_aligned(&doc.number, BODY);
    c.gap(6.0);

    let i = &doc.institution;
    c.field("被监督单位：", &i.name, BODY);
    c.field("地址：", &i.address, BODY);
    c.fields_row(
        &[
            ("法定代表人（负责人）：", &i.legal_representative, 0.55),
            ("联系电话：", &i.phone, 0.45),
        ],
        BODY,
    );
    c.gap(8.0);

    let indent = BODY.size * 2.0;
    c.ensure(LABEL.line_height() * 2.0);
    c.paragraph("监督意见：", LABEL, 0.0);
    for paragraph in opinion_paragraphs(&doc.opinion, doc.separate_case) {
        c.paragraph(&paragraph, BODY, indent);
    }
    c.gap(12.0);

    // Inspectors: one line each, "卫生监督员（签名）：[sig]（name） 执法证号：…".
    let row_h = 34.0;
    let label = "卫生监督员（签名）：";
    let label_w = font.width(label, BODY.size);
    let sig_w = 100.0;
    c.ensure(row_h * doc.inspectors.len().max(1) as f32 + 130.0);
    let text_top = row_h - BODY.line_height() + 4.0;
    for (inspector, sig) in doc.inspectors.iter().zip(&inspector_sigs) {
        let name = format!("（{}）", inspector.name);
        let badge = format!("执法证号：{}", inspector.badge_no);
        c.block(row_h, |canvas, x, top, width| {
            canvas.text(x, top + text_top, BODY, label);
            sig.draw(canvas, x + label_w, top + 2.0, sig_w, row_h - 6.0);
            let nx = x + label_w + sig_w + 4.0;
            canvas.text_aligned(nx, 70.0, top + text_top, BODY, Align::Left, &name);
            let bx = nx + 74.0;
            let avail = width - (bx - x);
            // A long 执法证号 is printed smaller rather than cut.
            let (style, badge_top) = if font.width(&badge, BODY.size) <= avail {
                (BODY, top + text_top)
            } else {
                let shift = Canvas::baseline(0.0, &BODY) - Canvas::baseline(0.0, &NOTE);
                (NOTE, top + text_top + shift)
            };
            canvas.text_aligned(bx, avail, badge_top, style, Align::Right, &badge);
        });
    }
    if doc.inspectors.is_empty() {
        c.block(row_h, |canvas, x, top, _| {
            canvas.text(x, top + text_top, BODY, label);
            Sig { image: None }.draw(canvas, x + label_w, top + 2.0, sig_w, row_h - 6.0);
        });
    }
    c.gap(14.0);

    // Receipt (left half) and the issuing authority with its seal area and date
    // (right half), kept together on one page.
    let block_h = 112.0;
    let receipt = doc.receipt.clone();
    let authority = doc.authority.clone();
    let issued = cn_date(doc.issued_on);
    c.block(block_h, |canvas, x, top, width| {
        let label = "被监督单位签收：";
        let lw = font.width(label, BODY.size);
        canvas.text(x, top + 14.0, BODY, label);
        receipt_sig.draw(canvas, x + lw, top + 4.0, sig_w, 30.0);
        if let Some(r) = receipt.as_ref() {
            canvas.text(
                x + lw + sig_w + 4.0,
                top + 14.0,
                BODY,
                &format!("（{}）", r.name),
            );
        }
        let date = receipt
            .as_ref()
            .and_then(|r| r.signed_at)
            .map(|t| cn_date(beijing_date(t)))
            .unwrap_or_else(|| "      年    月    日".to_owned());
        canvas.text(x, top + 48.0, BODY, &format!("签收日期：{date}"));

        // The seal (about 42 mm across) is pressed over the authority's name and
        // the date, as on the paper form; the dashed square marks where.
        let col_w = width * 0.46;
        let col_x = x + width - col_w;
        let seal = 118.0;
        let sx = col_x + (col_w - seal) / 2.0;
        canvas.rect(sx, top, seal, seal - 12.0, 0.4, true);
        canvas.text_aligned(sx, seal, top + 2.0, NOTE, Align::Center, "（印章）");
        let name_lines = break_text(font, &font.sanitize(&authority), BODY.size, col_w, 0.0);
        let mut y = top + 30.0;
        for line in name_lines.iter().take(3) {
            let lx = col_x + (col_w - line.width).max(0.0) / 2.0;
            let plain = Line {
                char_spacing: 0.0,
                ..line.clone()
            };
            canvas.line_of_text(lx, y, BODY, &plain);
            y += BODY.line_height();
        }
        canvas.text_aligned(col_x, col_w, y + 4.0, BODY, Align::Center, &issued);
    });

    let composed = c.finish(|canvas, page, total| {
        let g = Geometry::a4(footer);
        let top = g.bottom + 6.0;
        canvas.hline(g.left, g.right, top, 0.5);
        canvas.text(g.left, top + 2.0, NOTE, OPINION_FOOTNOTE);
        canvas.text_aligned(
            g.left,
            g.width(),
            top + 2.0 + NOTE.line_height(),
            NOTE,
            Align::Center,
            &page_mark(page, total),
        );
    });
    write_pdf(
        font,
        &composed,
        &PdfMeta {
            title: format!("卫生监督意见书 {}", doc.number),
            author: doc.authority.clone(),
            created_at: doc.created_at,
        },
    )
}
