//! 证据照片 (evidence-photo sheet): the inspection's photos, two or four a page, each
//! with a caption (number, checklist item, time, place, who took it, and the first
//! characters of the original file's SHA-256 so the print can be matched to the
//! evidence file). A missing or unreadable file prints a marked placeholder.

use crate::common::{BODY, NOTE, SMALL, Sig, TITLE, cn_datetime};
use crate::compose::{Align, Canvas, Composer, Geometry, ImageRef, page_mark};
use crate::error::DocError;
use crate::font::{FontFace, Metrics};
use crate::image::{ImageProblem, PhotoPolicy, prepare_photo};
use crate::layout::{break_text, ellipsize};
use crate::pdf::{PdfMeta, write_pdf};
use chrono::{DateTime, Utc};

/// Text of the placeholder drawn instead of a photo that cannot be shown.
pub const PHOTO_PLACEHOLDER: &str = "照片文件缺失或损坏";

/// How many hex characters of the SHA-256 the caption prints.
pub const HASH_PREFIX_CHARS: usize = 16;

/// One photo with what its caption says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoDoc {
    /// 照片编号 (as listed in the 现场笔录).
    pub number: u32,
    /// The checklist item it documents, e.g. "5.医疗文书管理情况：处方管理".
    pub item: String,
    pub taken_at: DateTime<Utc>,
    /// 拍摄地点.
    pub place: String,
    /// 拍摄人.
    pub taken_by: String,
    /// SHA-256 of the original file, hex.
    pub sha256: String,
    /// The file's bytes; `None` when the file is not on this device.
    pub file: Option<Vec<u8>>,
}

/// Photos per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotosPerPage {
    /// One above the other, large.
    Two,
    /// Two by two.
    Four,
}

/// Everything the evidence sheet shows.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceDoc {
    /// 检查机关.
    pub authority: String,
    /// 被检查人.
    pub institution_name: String,
    pub photos: Vec<PhotoDoc>,
    pub per_page: PhotosPerPage,
    pub policy: PhotoPolicy,
    /// The party's signature under each page, if captured.
    pub party_signature_png: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// Footer height of the evidence sheet (signature line and page mark).
const FOOTER: f32 = 46.0;

/// Height of the repeated header (title, unit name in `name_lines` lines).
fn header_height(name_lines: usize) -> f32 {
    TITLE.line_height() + name_lines as f32 * BODY.line_height() + 10.0
}

/// How a page is cut into photo cells.
struct Cells {
    cols: usize,
    rows: usize,
    gutter: f32,
    caption_lines: f32,
    caption_style: crate::compose::Style,
    cell_w: f32,
    cell_h: f32,
    photo_h: f32,
}

fn cells(geometry: &Geometry, header_h: f32, per_page: PhotosPerPage) -> Cells {
    let (cols, rows) = match per_page {
        PhotosPerPage::Two => (1usize, 2usize),
        PhotosPerPage::Four => (2, 2),
    };
    let gutter = 14.0;
    let caption_lines = 6.0;
    let caption_style = if cols == 1 { SMALL } else { NOTE };
    let caption_h = caption_lines * caption_style.line_height();
    let cell_w = (geometry.width() - gutter * (cols as f32 - 1.0)) / cols as f32;
    let area_h = geometry.bottom - geometry.top - header_h;
    let cell_h = (area_h - gutter * (rows as f32 - 1.0)) / rows as f32;
    let photo_h = cell_h - caption_h - 20.0;
    Cells {
        cols,
        rows,
        gutter,
        caption_lines,
        caption_style,
        cell_w,
        cell_h,
        photo_h,
    }
}

/// The box (width, height in pt) a photo is prepared for, for a unit name on one
/// line. [`crate::image::print_copy`] sizes the print copy made at capture from it.
pub fn photo_box(per_page: PhotosPerPage) -> (f32, f32) {
    let c = cells(&Geometry::a4(FOOTER), header_height(1), per_page);
    (c.cell_w, c.photo_h)
}

/// Renders the evidence sheet with the embedded font.
pub fn render_evidence(doc: &EvidenceDoc) -> Result<Vec<u8>, DocError> {
    render_evidence_with(FontFace::embedded(), doc)
}

enum Slot {
    Photo(ImageRef, f32),
    Placeholder(ImageProblem),
}

pub(crate) fn render_evidence_with(
    font: &FontFace,
    doc: &EvidenceDoc,
) -> Result<Vec<u8>, DocError> {
    let geometry = Geometry::a4(FOOTER);
    let mut c = Composer::new(font, geometry);
    let party_sig = Sig::register(&mut c, doc.party_signature_png.as_deref());

    // The header (title and unit) repeats on every page; a long unit name wraps, so
    // its height is measured rather than assumed.
    let name_label = "被检查人：";
    let name_lines = break_text(
        font,
        &font.sanitize(&doc.institution_name),
        BODY.size,
        geometry.width() - font.width(name_label, BODY.size),
        0.0,
    )
    .len();
    let header_h = header_height(name_lines);
    let Cells {
        cols,
        rows,
        gutter,
        caption_lines,
        caption_style,
        cell_w,
        cell_h,
        photo_h,
    } = cells(&geometry, header_h, doc.per_page);

    let slots: Vec<Slot> = doc
        .photos
        .iter()
        .map(
            |p| match prepare_photo(p.file.as_deref(), cell_w, photo_h, &doc.policy) {
                Ok(img) => {
                    let aspect = img.aspect();
                    Slot::Photo(c.add_image(img), aspect)
                }
                Err(problem) => Slot::Placeholder(problem),
            },
        )
        .collect();

    let per_page = cols * rows;
    let header = |c: &mut Composer<'_>| {
        c.centered("证据照片", TITLE);
        c.field(name_label, &doc.institution_name, BODY);
        c.gap(10.0);
    };
    if doc.photos.is_empty() {
        header(&mut c);
        c.paragraph("本次检查未拍摄照片。", BODY, 0.0);
    }
    for (k, (photo, slot)) in doc.photos.iter().zip(&slots).enumerate() {
        if k % per_page == 0 {
            if k > 0 {
                c.new_page();
            }
            header(&mut c);
        }
        let at = k % per_page;
        let x = geometry.left + (at % cols) as f32 * (cell_w + gutter);
        let y = geometry.top + header_h + (at / cols) as f32 * (cell_h + gutter);
        let total = doc.photos.len();
        let mut canvas = c.canvas();
        // Each photo sits in a ruled cell: the picture area above, its caption
        // (说明) below a rule, as on the paper 证据照片 form.
        let pad = 4.0;
        canvas.rect(x, y, cell_w, cell_h, 0.6, false);
        canvas.hline(x, x + cell_w, y + photo_h + 2.0 * pad, 0.4);
        draw_photo(
            &mut canvas,
            slot,
            x + pad,
            y + pad,
            cell_w - 2.0 * pad,
            photo_h,
        );
        draw_caption(
            &mut canvas,
            photo,
            total,
            x + pad + 2.0,
            y + photo_h + 3.0 * pad,
            cell_w - 2.0 * pad - 4.0,
            caption_style,
            caption_lines as usize,
        );
    }

    let composed = c.finish(|canvas, page, total| {
        let top = geometry.bottom + 4.0;
        canvas.hline(geometry.left, geometry.right, top, 0.5);
        let label = "被检查人（签名）：";
        let lw = font.width(label, SMALL.size);
        canvas.text(geometry.left, top + 10.0, SMALL, label);
        party_sig.draw(canvas, geometry.left + lw, top + 2.0, 90.0, 26.0);
        let label2 = "执法人员（签名）：";
        let x2 = geometry.left + lw + 110.0;
        canvas.text(x2, top + 10.0, SMALL, label2);
        let lw2 = font.width(label2, SMALL.size);
        Sig { image: None }.draw(canvas, x2 + lw2, top + 2.0, 90.0, 26.0);
        canvas.text_aligned(
            geometry.left,
            geometry.width(),
            top + 10.0,
            SMALL,
            Align::Right,
            &page_mark(page, total),
        );
    });
    write_pdf(
        font,
        &composed,
        &PdfMeta {
            title: format!("证据照片 {}", doc.institution_name),
            author: doc.authority.clone(),
            created_at: doc.created_at,
        },
    )
}

fn draw_photo(canvas: &mut Canvas<'_>, slot: &Slot, x: f32, y: f32, w: f32, h: f32) {
    match slot {
        Slot::Photo(img, aspect) => {
            let (mut iw, mut ih) = (w, w / aspect);
            if ih > h {
                ih = h;
                iw = h * aspect;
            }
            let ix = x + (w - iw) / 2.0;
            let iy = y + (h - ih) / 2.0;
            canvas.image(*img, ix, iy, iw, ih);
        }
        Slot::Placeholder(problem) => {
            // A double dashed frame: obvious even on a faint print, and unlike
            // anything a photo would show.
            canvas.rect(x, y, w, h, 0.8, true);
            canvas.rect(x + 4.0, y + 4.0, w - 8.0, h - 8.0, 0.4, true);
            let mid = y + h / 2.0 - BODY.line_height();
            canvas.text_aligned(x, w, mid, BODY.bold(), Align::Center, PHOTO_PLACEHOLDER);
            canvas.text_aligned(
                x,
                w,
                mid + BODY.line_height(),
                NOTE,
                Align::Center,
                &format!("（{problem}）"),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_caption(
    canvas: &mut Canvas<'_>,
    p: &PhotoDoc,
    total: usize,
    x: f32,
    top: f32,
    w: f32,
    style: crate::compose::Style,
    max_lines: usize,
) {
    let hash: String = p.sha256.chars().take(HASH_PREFIX_CHARS).collect();
    let fields = [
        format!("照片编号：第{}号（共{}张）", p.number, total),
        format!("检查项目：{}", p.item),
        format!("拍摄时间：{}", cn_datetime(p.taken_at)),
        format!("拍摄地点：{}", p.place),
        format!("拍摄人：{}", p.taken_by),
        format!("SHA-256：{hash}…"),
    ];
    let mut lines = Vec::new();
    for f in &fields {
        let text = canvas.font.sanitize(f);
        lines.extend(break_text(canvas.font, &text, style.size, w, 0.0));
    }
    if lines.len() > max_lines {
        // Keep the hash line (the link to the evidence file) and cut the middle.
        let last = lines.pop();
        lines.truncate(max_lines - 1);
        if let Some(l) = lines.last_mut() {
            l.text = ellipsize(canvas.font, &format!("{}…", l.text), style.size, w);
            l.char_spacing = 0.0;
        }
        lines.extend(last);
    }
    for (i, line) in lines.iter().enumerate() {
        canvas.line_of_text(x, top + i as f32 * style.line_height(), style, line);
    }
}
