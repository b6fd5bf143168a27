//! Writes composed pages as a PDF with printpdf.
//!
//! - The font is embedded as a subset (printpdf's `text_layout` subsetter keeps only
//!   the glyphs used) under a tag derived from the text, e.g. `QWERTY+NotoSerifSC`.
//! - Images are written as image XObjects directly: JPEGs as their own bytes with
//!   `/DCTDecode` (no re-encoding), signatures as Flate-compressed greyscale.
//! - The same input gives the same bytes: resource names, the subset tag and the
//!   trailer `/ID` are derived from the content, and the creation date is passed in.

use crate::compose::{A4_HEIGHT, A4_WIDTH, Composed, Draw};
use crate::error::DocError;
use crate::font::FontFace;
use crate::image::PreparedImage;
use chrono::{DateTime, Utc};
use printpdf::{
    Color, CurTransMat, DictItem, ExternalStream, ExternalXObject, FontId, Greyscale,
    Line as PdfLine, LineDashPattern, LinePoint, Op, PaintMode, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Pt, Rect, TextItem, TextMatrix, TextRenderingMode, XObject,
    XObjectId, XObjectTransform,
};
use std::collections::BTreeMap;

/// Document-level metadata.
#[derive(Debug, Clone)]
pub struct PdfMeta {
    pub title: String,
    pub author: String,
    /// Written as the creation and modification date (pass the document's own time,
    /// not the clock, so that re-rendering gives identical bytes).
    pub created_at: DateTime<Utc>,
}

/// 64-bit FNV-1a: a stable content hash for names (not for security).
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

fn letters(mut h: u64, n: usize) -> String {
    (0..n)
        .map(|_| {
            let c = char::from(b'A' + (h % 26) as u8);
            h /= 26;
            c
        })
        .collect()
}

fn content_hash(doc: &Composed, meta: &PdfMeta) -> u64 {
    let mut h = fnv(meta.title.as_bytes(), FNV_OFFSET);
    for page in &doc.pages {
        for d in &page.draws {
            if let Draw::Text { text, .. } = d {
                h = fnv(text.as_bytes(), h);
            }
        }
        h = fnv(b"\x0c", h);
    }
    for img in &doc.images {
        h = match img {
            PreparedImage::Jpeg { data, .. } => fnv(data, h),
            PreparedImage::Grey { pixels, .. } => fnv(pixels, h),
        };
    }
    h
}

fn image_xobject(img: &PreparedImage) -> ExternalXObject {
    let mut dict = BTreeMap::new();
    let name = |s: &str| DictItem::Name(s.as_bytes().to_vec());
    dict.insert("Type".into(), name("XObject"));
    dict.insert("Subtype".into(), name("Image"));
    dict.insert("BitsPerComponent".into(), DictItem::Int(8));
    let (content, compress) = match img {
        PreparedImage::Jpeg {
            data,
            width,
            height,
            components,
            ..
        } => {
            dict.insert("Width".into(), DictItem::Int(i64::from(*width)));
            dict.insert("Height".into(), DictItem::Int(i64::from(*height)));
            let cs = if *components == 1 {
                "DeviceGray"
            } else {
                "DeviceRGB"
            };
            dict.insert("ColorSpace".into(), name(cs));
            dict.insert("Filter".into(), name("DCTDecode"));
            (data.clone(), false)
        }
        PreparedImage::Grey {
            pixels,
            width,
            height,
        } => {
            dict.insert("Width".into(), DictItem::Int(i64::from(*width)));
            dict.insert("Height".into(), DictItem::Int(i64::from(*height)));
            dict.insert("ColorSpace".into(), name("DeviceGray"));
            (pixels.clone(), true)
        }
    };
    ExternalXObject {
        stream: ExternalStream {
            dict,
            content,
            compress,
        },
        width: None,
        height: None,
        dpi: None,
    }
}

fn pt_point(x: f32, y_top: f32) -> LinePoint {
    LinePoint {
        p: Point {
            x: Pt(x),
            y: Pt(A4_HEIGHT - y_top),
        },
        bezier: false,
    }
}

/// Renders composed pages to PDF bytes.
pub fn write_pdf(font: &FontFace, doc: &Composed, meta: &PdfMeta) -> Result<Vec<u8>, DocError> {
    let hash = content_hash(doc, meta);
    let mut pdf = PdfDocument::new(&meta.title);
    let created = printpdf::OffsetDateTime::from_unix_timestamp(meta.created_at.timestamp())
        .map_err(|e| DocError::Pdf(e.to_string()))?;
    pdf.metadata.info.creation_date = created;
    pdf.metadata.info.modification_date = created;
    pdf.metadata.info.metadata_date = created;
    pdf.metadata.info.author = meta.author.clone();
    pdf.metadata.info.creator = "Jiandu 监督".into();
    pdf.metadata.info.producer = "jiandu-docs (printpdf)".into();

    // The first six letters become the subset tag (ABCDEF+…), so they depend on the
    // content: different subsets get different tags, the same input the same one.
    let font_id = FontId(format!("{}JD", letters(hash, 6)));
    pdf.resources.fonts.map.insert(
        font_id.clone(),
        printpdf::PdfFont::new(font.parsed().clone()),
    );
    let image_ids: Vec<XObjectId> = doc
        .images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let id = XObjectId(format!("Im{i}"));
            pdf.resources
                .xobjects
                .map
                .insert(id.clone(), XObject::External(image_xobject(img)));
            id
        })
        .collect();

    let black = Color::Greyscale(Greyscale {
        percent: 0.0,
        icc_profile: None,
    });
    let mut pages = Vec::with_capacity(doc.pages.len());
    for page in &doc.pages {
        let mut ops = vec![
            Op::SetFillColor { col: black.clone() },
            Op::SetOutlineColor { col: black.clone() },
        ];
        for d in &page.draws {
            match d {
                Draw::Text {
                    x,
                    baseline,
                    style,
                    char_spacing,
                    text,
                } => {
                    ops.push(Op::StartTextSection);
                    ops.push(Op::SetFont {
                        font: PdfFontHandle::External(font_id.clone()),
                        size: Pt(style.size),
                    });
                    if style.bold {
                        ops.push(Op::SetTextRenderingMode {
                            mode: TextRenderingMode::FillStroke,
                        });
                        ops.push(Op::SetOutlineThickness {
                            pt: Pt(style.size * 0.035),
                        });
                    }
                    ops.push(Op::SetCharacterSpacing {
                        multiplier: *char_spacing,
                    });
                    ops.push(Op::SetTextMatrix {
                        matrix: TextMatrix::Translate(Pt(*x), Pt(A4_HEIGHT - baseline)),
                    });
                    ops.push(Op::ShowText {
                        items: vec![TextItem::Text(text.clone())],
                    });
                    if style.bold {
                        ops.push(Op::SetTextRenderingMode {
                            mode: TextRenderingMode::Fill,
                        });
                    }
                    ops.push(Op::EndTextSection);
                }
                Draw::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    ops.push(Op::SetOutlineThickness { pt: Pt(*width) });
                    ops.push(Op::DrawLine {
                        line: PdfLine {
                            points: vec![pt_point(*x1, *y1), pt_point(*x2, *y2)],
                            is_closed: false,
                        },
                    });
                }
                Draw::Rect {
                    x,
                    y,
                    w,
                    h,
                    width,
                    dashed,
                } => {
                    ops.push(Op::SaveGraphicsState);
                    ops.push(Op::SetOutlineThickness { pt: Pt(*width) });
                    if *dashed {
                        ops.push(Op::SetLineDashPattern {
                            dash: LineDashPattern::new(0.0, &[3.0, 2.0]),
                        });
                    }
                    ops.push(Op::DrawRectangle {
                        rectangle: Rect {
                            x: Pt(*x),
                            y: Pt(A4_HEIGHT - y - h),
                            width: Pt(*w),
                            height: Pt(*h),
                            mode: Some(PaintMode::Stroke),
                            winding_order: None,
                        },
                    });
                    ops.push(Op::RestoreGraphicsState);
                }
                Draw::Image { image, x, y, w, h } => {
                    let Some(id) = image_ids.get(image.0) else {
                        return Err(DocError::Pdf(format!("unknown image {}", image.0)));
                    };
                    let orientation = match &doc.images[image.0] {
                        PreparedImage::Jpeg { orientation, .. } => *orientation,
                        PreparedImage::Grey { .. } => crate::image::Orientation::NORMAL,
                    };
                    let m = orientation.matrix(*x, A4_HEIGHT - y - h, *w, *h);
                    ops.push(Op::SaveGraphicsState);
                    ops.push(Op::SetTransformationMatrix {
                        matrix: CurTransMat::Raw(m),
                    });
                    ops.push(Op::UseXobject {
                        id: id.clone(),
                        transform: XObjectTransform {
                            no_auto_scale: true,
                            ..Default::default()
                        },
                    });
                    ops.push(Op::RestoreGraphicsState);
                }
            }
        }
        pages.push(PdfPage {
            media_box: Rect::from_wh(Pt(A4_WIDTH), Pt(A4_HEIGHT)),
            trim_box: Rect::from_wh(Pt(A4_WIDTH), Pt(A4_HEIGHT)),
            crop_box: Rect::from_wh(Pt(A4_WIDTH), Pt(A4_HEIGHT)),
            ops,
        });
    }
    pdf.with_pages(pages);

    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut lo = pdf.to_lopdf_document(&opts, &mut warnings);
    let id = lopdf::Object::String(
        format!("{hash:016X}").into_bytes(),
        lopdf::StringFormat::Hexadecimal,
    );
    lo.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    lo.compress();
    let mut out = Vec::new();
    lo.save_to(&mut out)
        .map_err(|e| DocError::Pdf(e.to_string()))?;
    Ok(out)
}
