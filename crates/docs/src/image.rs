//! Images for the documents: evidence photos and on-screen signatures.
//!
//! Photos are evidence. The PDF shows them; the original file (whose SHA-256 the
//! caption prints) stays the evidence. So:
//! - a JPEG that is already about the size print needs is embedded byte for byte
//!   (PDF `DCTDecode` passthrough: no decode, no re-encode, no quality loss); its EXIF
//!   orientation is honoured by the placement matrix, not by rotating pixels;
//! - a larger JPEG (a 12-megapixel phone photo) is decoded, reduced to
//!   [`PhotoPolicy::max_dpi`] for its box and re-encoded once, so a document stays
//!   printable and small;
//! - a file that is missing, truncated or not a decodable image yields
//!   [`ImageProblem`], and the document draws a marked placeholder instead of failing.
//!
//! Signatures are PNG strokes captured on screen: flattened onto white and stored
//! losslessly as greyscale.

use image::{DynamicImage, GenericImageView, ImageDecoder, ImageReader};
use std::io::Cursor;

/// How photos are embedded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoPolicy {
    /// Resolution aimed at in the printed box. Portable printers print at 203–300
    /// dpi; photos look right from about 150.
    pub max_dpi: f32,
    /// A JPEG with up to this factor more pixels than `max_dpi` needs is still
    /// passed through untouched (re-encoding costs time and quality for little gain).
    pub passthrough_slack: f32,
    /// JPEG quality (1–100) when a photo has to be re-encoded.
    pub quality: u8,
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        PhotoPolicy {
            max_dpi: 150.0,
            passthrough_slack: 1.5,
            quality: 82,
        }
    }
}

/// Why an image could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageProblem {
    #[error("文件缺失")]
    Missing,
    /// The detail (decoder message) is for logs; people read the fixed sentence.
    #[error("文件已损坏或无法识别")]
    Corrupt(String),
}

/// EXIF orientation (1–8), how the stored pixels must be turned for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation(pub u8);

impl Orientation {
    pub const NORMAL: Orientation = Orientation(1);

    /// Orientations 5–8 swap width and height.
    pub fn swaps_axes(self) -> bool {
        (5..=8).contains(&self.0)
    }

    /// The PDF matrix `[a b c d e f]` placing the image (unit square in image space)
    /// into the display box at (x, y) (bottom-left, PDF coordinates) of size w × h.
    pub fn matrix(self, x: f32, y: f32, w: f32, h: f32) -> [f32; 6] {
        match self.0 {
            2 => [-w, 0.0, 0.0, h, x + w, y],
            3 => [-w, 0.0, 0.0, -h, x + w, y + h],
            4 => [w, 0.0, 0.0, -h, x, y + h],
            5 => [0.0, -h, -w, 0.0, x + w, y + h],
            6 => [0.0, -h, w, 0.0, x, y + h],
            7 => [0.0, h, w, 0.0, x, y],
            8 => [0.0, h, -w, 0.0, x + w, y],
            _ => [w, 0.0, 0.0, h, x, y],
        }
    }
}

/// An image ready to embed.
#[derive(Debug, Clone)]
pub enum PreparedImage {
    /// JPEG bytes embedded as they are (`/Filter /DCTDecode`).
    Jpeg {
        data: Vec<u8>,
        width: u32,
        height: u32,
        /// 1 (grey) or 3 (YCbCr/RGB).
        components: u8,
        orientation: Orientation,
        /// True when these are the original file's bytes (no re-encoding).
        original: bool,
    },
    /// 8-bit greyscale pixels, stored losslessly (signatures).
    Grey {
        pixels: Vec<u8>,
        width: u32,
        height: u32,
    },
}

impl PreparedImage {
    /// Size as displayed (after orientation), in pixels.
    pub fn display_size(&self) -> (u32, u32) {
        match self {
            PreparedImage::Jpeg {
                width,
                height,
                orientation,
                ..
            } => {
                if orientation.swaps_axes() {
                    (*height, *width)
                } else {
                    (*width, *height)
                }
            }
            PreparedImage::Grey { width, height, .. } => (*width, *height),
        }
    }

    /// Aspect ratio (width / height) as displayed.
    pub fn aspect(&self) -> f32 {
        let (w, h) = self.display_size();
        w.max(1) as f32 / h.max(1) as f32
    }
}

/// What the JPEG header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub orientation: Orientation,
    /// Arithmetic-coded or lossless JPEGs that PDF readers may not handle.
    pub exotic: bool,
}

/// Reads a JPEG's frame header and EXIF orientation without decoding it. `None` when
/// the bytes are not a complete JPEG (no SOI, no frame header, or no EOI at the end:
/// a truncated upload).
pub fn jpeg_info(data: &[u8]) -> Option<JpegInfo> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return None;
    }
    // A truncated file loses its end-of-image marker (a few encoders pad after it).
    let tail = &data[data.len().saturating_sub(64)..];
    if !tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return None;
    }
    let mut orientation = Orientation::NORMAL;
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        if len < 2 || i + 2 + len > data.len() {
            return None;
        }
        let seg = &data[i + 4..i + 2 + len];
        match marker {
            0xE1 if seg.starts_with(b"Exif\0\0") => {
                if let Some(o) = exif_orientation(&seg[6..]) {
                    orientation = o;
                }
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if seg.len() < 6 {
                    return None;
                }
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let components = seg[5];
                if width == 0 || height == 0 {
                    return None;
                }
                // Baseline (C0), extended (C1) and progressive (C2) Huffman JPEGs are
                // what every PDF reader decodes; the rest are re-encoded.
                let exotic = !matches!(marker, 0xC0..=0xC2);
                return Some(JpegInfo {
                    width,
                    height,
                    components,
                    orientation,
                    exotic,
                });
            }
            0xDA => return None, // scan before any frame header
            _ => {}
        }
        i += 2 + len;
    }
    None
}

/// The orientation tag (0x0112) of a TIFF-structured EXIF block.
fn exif_orientation(tiff: &[u8]) -> Option<Orientation> {
    let le = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = tiff.get(o..o + 2)?;
        Some(if le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = tiff.get(o..o + 4)?;
        Some(if le {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for k in 0..count.min(256) {
        let entry = ifd + 2 + k * 12;
        if u16_at(entry)? == 0x0112 {
            let v = u16_at(entry + 8)?;
            return (1..=8)
                .contains(&v)
                .then(|| Orientation(u8::try_from(v).unwrap_or(1)));
        }
    }
    None
}

/// Prepares a photo for a box of `box_w` × `box_h` pt.
pub fn prepare_photo(
    data: Option<&[u8]>,
    box_w: f32,
    box_h: f32,
    policy: &PhotoPolicy,
) -> Result<PreparedImage, ImageProblem> {
    let data = data
        .filter(|d| !d.is_empty())
        .ok_or(ImageProblem::Missing)?;
    // Pixels the box needs at the policy's resolution.
    let need_w = (box_w / 72.0 * policy.max_dpi).ceil().max(1.0);
    let need_h = (box_h / 72.0 * policy.max_dpi).ceil().max(1.0);
    let is_jpeg = data.starts_with(&[0xFF, 0xD8]);
    if is_jpeg {
        // Decoders are lenient with truncated JPEGs (they paint the missing part
        // grey); evidence must not be shown half-missing, so an incomplete file is
        // reported as damaged.
        let Some(info) = jpeg_info(data) else {
            return Err(ImageProblem::Corrupt("JPEG 文件不完整".to_owned()));
        };
        let (dw, dh) = if info.orientation.swaps_axes() {
            (info.height, info.width)
        } else {
            (info.width, info.height)
        };
        let scale = (need_w / dw as f32).min(need_h / dh as f32);
        let small_enough = scale * policy.passthrough_slack >= 1.0;
        if small_enough && !info.exotic && matches!(info.components, 1 | 3) {
            return Ok(PreparedImage::Jpeg {
                data: data.to_vec(),
                width: info.width,
                height: info.height,
                components: info.components,
                orientation: info.orientation,
                original: true,
            });
        }
    }
    // Decode (this also proves the file is intact), orient, reduce, re-encode. A
    // large JPEG is decoded straight at the nearest smaller DCT scale (1/2, 1/4, 1/8),
    // several times faster than decoding 12 megapixels and throwing most away.
    let img = match is_jpeg
        .then(|| decode_jpeg_scaled(data, need_w, need_h))
        .flatten()
    {
        Some(img) => img,
        None => decode_oriented(data)?,
    };
    let (w, h) = img.dimensions();
    let scale = (need_w / w as f32).min(need_h / h as f32).min(1.0);
    let img = if scale < 1.0 {
        let tw = ((w as f32 * scale).round() as u32).max(1);
        let th = ((h as f32 * scale).round() as u32).max(1);
        img.thumbnail(tw, th)
    } else {
        img
    };
    let (grey, components) = if img.color().has_color() {
        (DynamicImage::ImageRgb8(img.to_rgb8()), 3)
    } else {
        (DynamicImage::ImageLuma8(img.to_luma8()), 1)
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, policy.quality);
    grey.write_with_encoder(encoder)
        .map_err(|e| ImageProblem::Corrupt(e.to_string()))?;
    Ok(PreparedImage::Jpeg {
        width: grey.width(),
        height: grey.height(),
        data: out,
        components,
        orientation: Orientation::NORMAL,
        original: false,
    })
}

/// How much larger than the smaller of the evidence sheet's photo boxes (two and
/// four a page) at [`PhotoPolicy::max_dpi`] the print copy is made: about 180 dpi in
/// the smaller box. With the default `passthrough_slack` (1.5) the copy is passed
/// through (no re-encoding) in both layouts, also when a unit name over two lines
/// takes some height from the box; a longer name makes the sheet reduce it again.
pub const PRINT_COPY_MARGIN: f32 = 1.2;

/// The print-size copy of a photo, made once at capture (issue 3: reducing a
/// 4-megapixel photo at print time costs ≈45 ms each): a JPEG that every document
/// layout embeds byte for byte. The original stays the evidence (its SHA-256 is what
/// the caption prints); this copy is only what the paper shows. Deterministic (same
/// bytes for the same original on every machine), so the platform, which holds only
/// originals, makes the identical copy when it renders its archive copy
/// ([`crate::archive::Files::print_photo`]). A JPEG already small enough is its own
/// print copy (returned unchanged).
pub fn print_copy(original: &[u8]) -> Result<Vec<u8>, ImageProblem> {
    // The smaller of the two layouts' boxes, side by side.
    let (w2, h2) = crate::evidence::photo_box(crate::PhotosPerPage::Two);
    let (w4, h4) = crate::evidence::photo_box(crate::PhotosPerPage::Four);
    let (w, h) = (w2.min(w4), h2.min(h4));
    let policy = PhotoPolicy {
        passthrough_slack: 1.0,
        ..PhotoPolicy::default()
    };
    jpeg_bytes(prepare_photo(
        Some(original),
        w * PRINT_COPY_MARGIN,
        h * PRINT_COPY_MARGIN,
        &policy,
    )?)
}

/// Longest side of a list thumbnail, in pixels.
pub const THUMBNAIL_PX: u32 = 320;

/// A small JPEG for lists (at most [`THUMBNAIL_PX`] a side, upright). Also proves
/// the file decodes: a file that is not a readable JPEG or PNG is refused here.
pub fn thumbnail(original: &[u8]) -> Result<Vec<u8>, ImageProblem> {
    // A box of THUMBNAIL_PX pt at 72 dpi is THUMBNAIL_PX pixels.
    let side = THUMBNAIL_PX as f32;
    let policy = PhotoPolicy {
        max_dpi: 72.0,
        passthrough_slack: 1.0,
        quality: 75,
    };
    // Passthrough would skip decoding; a thumbnail must prove the file is whole, so a
    // small JPEG is still decoded once (cheap at this size).
    if let Some(info) = jpeg_info(original)
        && info.width.max(info.height) <= THUMBNAIL_PX
    {
        decode_oriented(original)?;
    }
    jpeg_bytes(prepare_photo(Some(original), side, side, &policy)?)
}

fn jpeg_bytes(p: PreparedImage) -> Result<Vec<u8>, ImageProblem> {
    match p {
        PreparedImage::Jpeg { data, .. } => Ok(data),
        PreparedImage::Grey { .. } => Err(ImageProblem::Corrupt("not a photo".to_owned())),
    }
}

/// A JPEG decoded at the smallest DCT scale still at least `need_w` × `need_h` (in
/// display orientation), then turned upright. `None` when this decoder cannot read it
/// (the general decoder then decides whether the file is damaged).
fn decode_jpeg_scaled(data: &[u8], need_w: f32, need_h: f32) -> Option<DynamicImage> {
    let info = jpeg_info(data)?;
    let (req_w, req_h) = if info.orientation.swaps_axes() {
        (need_h, need_w)
    } else {
        (need_w, need_h)
    };
    // Keep the aspect: request the box's larger share so both sides stay large enough.
    let scale = (req_w / info.width as f32)
        .max(req_h / info.height as f32)
        .min(1.0);
    let w = u16::try_from(((info.width as f32 * scale).ceil() as u32).max(1)).ok()?;
    let h = u16::try_from(((info.height as f32 * scale).ceil() as u32).max(1)).ok()?;
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(data));
    let (dw, dh) = decoder.scale(w, h).ok()?;
    let pixels = decoder.decode().ok()?;
    let format = decoder.info()?.pixel_format;
    let (dw, dh) = (u32::from(dw), u32::from(dh));
    let img = match format {
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(dw, dh, pixels)?)
        }
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(dw, dh, pixels)?)
        }
        _ => return None,
    };
    let mut img = img;
    img.apply_orientation(
        image::metadata::Orientation::from_exif(info.orientation.0)
            .unwrap_or(image::metadata::Orientation::NoTransforms),
    );
    Some(img)
}

fn decode_oriented(data: &[u8]) -> Result<DynamicImage, ImageProblem> {
    let corrupt = |e: image::ImageError| ImageProblem::Corrupt(e.to_string());
    let reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| ImageProblem::Corrupt(e.to_string()))?;
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img)
}

/// Prepares a signature PNG (any image the decoder reads): transparent strokes are
/// flattened onto white paper and kept as lossless greyscale.
pub fn prepare_signature(data: Option<&[u8]>) -> Result<PreparedImage, ImageProblem> {
    let data = data
        .filter(|d| !d.is_empty())
        .ok_or(ImageProblem::Missing)?;
    let img = decode_oriented(data)?.to_rgba8();
    let (width, height) = img.dimensions();
    let pixels = img
        .pixels()
        .map(|p| {
            let [r, g, b, a] = p.0;
            let luma = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
            let a = u32::from(a);
            // Composite over white.
            ((luma * a + 255 * (255 - a)) / 255) as u8
        })
        .collect();
    Ok(PreparedImage::Grey {
        pixels,
        width,
        height,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out, 80,
            ))
            .unwrap();
        out
    }

    #[test]
    fn small_jpeg_passes_through_byte_for_byte() {
        let data = jpeg(400, 300);
        let p = prepare_photo(Some(&data), 400.0, 300.0, &PhotoPolicy::default()).unwrap();
        match p {
            PreparedImage::Jpeg {
                data: d,
                original,
                width,
                height,
                ..
            } => {
                assert!(original);
                assert_eq!(d, data);
                assert_eq!((width, height), (400, 300));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn large_jpeg_is_reduced_for_print() {
        let data = jpeg(3000, 2000);
        let p = prepare_photo(Some(&data), 200.0, 150.0, &PhotoPolicy::default()).unwrap();
        let PreparedImage::Jpeg {
            width, original, ..
        } = p
        else {
            panic!()
        };
        assert!(!original);
        // 200 pt at 150 dpi ≈ 417 px.
        assert!((400..=420).contains(&width), "{width}");
    }

    #[test]
    fn missing_truncated_and_garbage_are_reported() {
        let p = PhotoPolicy::default();
        assert_eq!(
            prepare_photo(None, 100.0, 100.0, &p).unwrap_err(),
            ImageProblem::Missing
        );
        let data = jpeg(300, 200);
        let truncated = &data[..data.len() / 2];
        assert!(matches!(
            prepare_photo(Some(truncated), 300.0, 200.0, &p),
            Err(ImageProblem::Corrupt(_))
        ));
        assert!(matches!(
            prepare_photo(Some(b"not an image at all"), 300.0, 200.0, &p),
            Err(ImageProblem::Corrupt(_))
        ));
        assert!(prepare_signature(Some(b"\x89PNG\r\n\x1a\nbroken")).is_err());
    }

    /// The JPEG with an EXIF block saying "rotate 90° clockwise to display" (6).
    fn with_orientation_6(jpeg: &[u8]) -> Vec<u8> {
        let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 1]); // one entry
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut seg = b"Exif\0\0".to_vec();
        seg.extend_from_slice(&tiff);
        let len = (seg.len() + 2) as u16;
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&seg);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_honoured_both_ways() {
        let p = PhotoPolicy::default();
        // Passed through: the pixels stay as stored, the matrix turns them.
        let small = with_orientation_6(&jpeg(300, 200));
        assert_eq!(jpeg_info(&small).unwrap().orientation, Orientation(6));
        let img = prepare_photo(Some(&small), 400.0, 400.0, &p).unwrap();
        assert_eq!(img.display_size(), (200, 300));
        assert!(matches!(img, PreparedImage::Jpeg { original: true, .. }));
        // Reduced: the pixels are turned upright before re-encoding.
        let large = with_orientation_6(&jpeg(3000, 2000));
        let img = prepare_photo(Some(&large), 200.0, 300.0, &p).unwrap();
        let PreparedImage::Jpeg {
            width,
            height,
            orientation,
            original,
            ..
        } = img
        else {
            panic!()
        };
        assert!(!original);
        assert_eq!(orientation, Orientation::NORMAL);
        assert!(height > width, "portrait after turning: {width}×{height}");
        // 300 pt at 150 dpi = 625 px high, and no larger than needed.
        assert!((625..=700).contains(&height), "{height}");
    }

    #[test]
    fn orientation_matrices_map_corners() {
        // Orientation 6: the stored image's top-left corner (0,1) shows top-right.
        let m = Orientation(6).matrix(10.0, 20.0, 30.0, 40.0);
        let apply = |u: f32, v: f32| (m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]);
        assert_eq!(apply(0.0, 1.0), (40.0, 60.0));
        assert_eq!(apply(1.0, 1.0), (40.0, 20.0));
        assert_eq!(apply(0.0, 0.0), (10.0, 60.0));
    }

    #[test]
    fn signature_is_flattened_on_white() {
        let img = image::RgbaImage::from_fn(4, 2, |x, _| {
            if x == 0 {
                image::Rgba([0, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let PreparedImage::Grey { pixels, .. } = prepare_signature(Some(&png)).unwrap() else {
            panic!()
        };
        assert_eq!(&pixels[..4], &[0, 255, 255, 255]);
    }

    #[test]
    fn print_copy_passes_through_in_every_layout_and_is_deterministic() {
        use crate::PhotosPerPage;
        use crate::evidence::photo_box;
        for (w, h) in [(2400, 1800), (1800, 2400), (3840, 2160), (2000, 2000)] {
            let original = jpeg(w, h);
            let copy = print_copy(&original).unwrap();
            assert!(copy.len() < original.len() / 3, "{w}×{h}: {}", copy.len());
            assert_eq!(
                print_copy(&original).unwrap(),
                copy,
                "same bytes every time"
            );
            for per_page in [PhotosPerPage::Two, PhotosPerPage::Four] {
                let (bw, bh) = photo_box(per_page);
                // Also with a unit name over two lines (less height for the photo).
                for bh in [bh, bh - crate::common::BODY.line_height()] {
                    let PreparedImage::Jpeg { data, original, .. } =
                        prepare_photo(Some(&copy), bw, bh, &PhotoPolicy::default()).unwrap()
                    else {
                        panic!()
                    };
                    assert!(original, "{w}×{h} {per_page:?}: re-encoded at print time");
                    assert_eq!(data, copy);
                }
            }
        }
        // A photo already small enough is its own print copy.
        let small = jpeg(400, 300);
        assert_eq!(print_copy(&small).unwrap(), small);
    }

    #[test]
    fn thumbnails_are_small_and_refuse_what_is_no_image() {
        let t = thumbnail(&jpeg(2400, 1800)).unwrap();
        let info = jpeg_info(&t).unwrap();
        assert_eq!((info.width, info.height), (320, 240));
        let small = thumbnail(&jpeg(200, 100)).unwrap();
        assert_eq!(jpeg_info(&small).unwrap().width, 200);
        assert!(thumbnail(b"%PDF-1.7 not a photo").is_err());
        let mut cut = jpeg(800, 600);
        cut.truncate(cut.len() / 2);
        assert!(thumbnail(&cut).is_err());
    }
}
