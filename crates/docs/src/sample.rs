//! Realistic sample documents: for print previews ("打印测试页"), the tests, the
//! benchmark and the sample PDFs. Photos and signatures are generated images, so no
//! binary fixtures are needed; everything is fixed, so output is reproducible.

use crate::common::{InspectorSign, PartyConfirmation, PartySign};
use crate::evidence::{EvidenceDoc, PhotoDoc, PhotosPerPage};
use crate::image::PhotoPolicy;
use crate::number::DocumentNumber;
use crate::opinion::OpinionDoc;
use crate::record::{Observation, RecordDoc, credentials_text};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};
use jiandu_core::category::CategoryCode;
use jiandu_core::inspection::{Institution, Opinion, OpinionProblem, PresentPerson, Recusal};
use std::io::Cursor;
use uuid::Uuid;

/// 2025-06-12 09:30 in Beijing.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 12, 1, 30, 0)
        .single()
        .unwrap_or_default()
}

/// 2025-06-12 11:05 in Beijing.
pub fn end_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 12, 3, 5, 0)
        .single()
        .unwrap_or_default()
}

pub fn institution() -> Institution {
    Institution {
        id: Uuid::from_u128(0x0197_6a00_0000_7000_8000_0000_0000_0001),
        name: "太原市迎泽区康宁综合门诊部".to_owned(),
        credit_code: "91140106MA0K8C2X3Q".to_owned(),
        licence_no: "PDY00123414010617D2152".to_owned(),
        category: CategoryCode::new("outpatient"),
        district: "迎泽区".to_owned(),
        address: "山西省太原市迎泽区迎泽大街188号康宁大厦一层".to_owned(),
        legal_representative: "王建国".to_owned(),
        phone: "0351-4123456".to_owned(),
    }
}

/// A handwritten-looking signature stroke, as the tablet captures it (RGBA PNG with a
/// transparent background). `seed` varies the stroke.
pub fn signature_png(seed: u32) -> Vec<u8> {
    let (w, h) = (480u32, 160u32);
    let mut img = RgbaImage::from_pixel(w, h, Rgba([255, 255, 255, 0]));
    let s = seed as f32;
    for step in 0..2400 {
        let t = step as f32 / 2400.0;
        let x = 30.0 + t * 420.0;
        let y = 80.0
            + 40.0 * (t * 18.0 + s).sin() * (1.0 - t * 0.5)
            + 15.0 * (t * 47.0 + s * 2.0).cos();
        for dx in -2i32..=2 {
            for dy in -2i32..=2 {
                let px = x as i32 + dx;
                let py = y as i32 + dy;
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    img.put_pixel(px as u32, py as u32, Rgba([10, 10, 40, 255]));
                }
            }
        }
    }
    let mut out = Vec::new();
    // Encoding a freshly made image into memory cannot fail.
    let _ =
        DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png);
    out
}

/// A camera-like JPEG of `w` × `h` pixels (a shelf of boxes and a label), quality 88.
pub fn photo_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let shelf = ((fy * 4.0).fract() < 0.06) as u8;
        let boxes =
            (((fx * 7.0 + seed as f32 * 0.37).fract() < 0.8) && ((fy * 4.0).fract() > 0.2)) as u8;
        let noise = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40503) ^ seed) % 17) as u8;
        let base = [200u8, 190, 170];
        if shelf == 1 {
            Rgb([60 + noise, 50 + noise, 40 + noise])
        } else if boxes == 1 {
            Rgb([
                base[0].saturating_sub((fx * 80.0) as u8) + noise,
                120 + (seed % 5) as u8 * 20 + noise,
                90 + (fy * 100.0) as u8 + noise,
            ])
        } else {
            Rgb([
                base[0] + noise / 2,
                base[1] + noise / 2,
                base[2] + noise / 2,
            ])
        }
    });
    let mut out = Vec::new();
    let _ = DynamicImage::ImageRgb8(img).write_with_encoder(
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88),
    );
    out
}

pub fn inspectors() -> Vec<InspectorSign> {
    vec![
        InspectorSign {
            name: "张明".to_owned(),
            badge_no: "14010620190032".to_owned(),
            signature_png: Some(signature_png(1)),
            signed_at: Some(end_time()),
        },
        InspectorSign {
            name: "李娜".to_owned(),
            badge_no: "14010620210117".to_owned(),
            signature_png: Some(signature_png(2)),
            signed_at: Some(end_time()),
        },
    ]
}

pub const AUTHORITY: &str = "太原市迎泽区卫生健康局";

/// A 卫生监督意见书 ordering correction, of a unit whose case is handled
/// separately (行政处罚).
pub fn opinion() -> OpinionDoc {
    OpinionDoc {
        authority: AUTHORITY.to_owned(),
        number: DocumentNumber::opinion("并", 2025, 12).to_string(),
        institution: institution(),
        opinion: Opinion {
            problems: vec![
                OpinionProblem {
                    point: Some("med.5.1".to_owned()),
                    text: "医疗文书管理情况（处方）：处方笺未按规定保存，2025年3月至5月的普通处方有27张缺失".to_owned(),
                    basis: "《处方管理办法》第五十条".to_owned(),
                },
                OpinionProblem {
                    point: Some("med.5.2".to_owned()),
                    text: "医疗文书管理情况（病历）：部分门诊病历（共6份）未记录患者过敏史".to_owned(),
                    basis: "《医疗机构病历管理规定》第十条".to_owned(),
                },
                OpinionProblem {
                    point: Some("med.3.5".to_owned()),
                    text: "药品和医疗器械管理情况（医疗器械）：“一次性使用无菌注射器”未建立进货查验记录".to_owned(),
                    basis: String::new(),
                },
            ],
            deadline: NaiveDate::from_ymd_opt(2025, 7, 12),
            requirements: "建立处方保存与调取登记制度，补齐缺失处方的说明材料；组织医师学习病历书写规范并自查近三个月门诊病历；建立医疗器械进货查验记录，改正后书面报告本局。".to_owned(),
        },
        separate_case: true,
        inspectors: inspectors(),
        receipt: Some(PartySign {
            name: "王建国".to_owned(),
            signature_png: Some(signature_png(3)),
            signed_at: Some(end_time()),
        }),
        issued_on: NaiveDate::from_ymd_opt(2025, 6, 12).unwrap_or_default(),
        created_at: end_time(),
    }
}

/// The observations of the sample inspection (facts only).
pub fn observations() -> Vec<Observation> {
    vec![
        Observation {
            item: "1.医疗机构资质管理情况：执业许可".to_owned(),
            facts: "现场出示《医疗机构执业许可证》正本，登记号PDY00123414010617D2152，有效期至2027年8月31日，悬挂于一层大厅。".to_owned(),
            photo_numbers: vec![1],
        },
        Observation {
            item: "2.医疗卫生人员管理情况：医师".to_owned(),
            facts: "当日在岗医师4名，均出示医师执业证书，执业地点登记为本单位。".to_owned(),
            photo_numbers: vec![],
        },
        Observation {
            item: "5.医疗文书管理情况：处方".to_owned(),
            facts: "调阅2025年3月至5月普通处方，按日装订，其中3月14日、4月2日、5月20日共27张处方未见存档；处方保管人称系整理时遗失。".to_owned(),
            photo_numbers: vec![2, 3],
        },
        Observation {
            item: "5.医疗文书管理情况：病历".to_owned(),
            facts: "随机抽取门诊病历20份，其中6份未记录患者过敏史（病历号：A250311、A250327、A250402、A250415、A250503、A250519）。".to_owned(),
            photo_numbers: vec![4],
        },
        Observation {
            item: "3.药品和医疗器械管理情况：医疗器械".to_owned(),
            facts: "库房存放“一次性使用无菌注射器”（规格5ml）12箱，现场未能提供进货查验记录。".to_owned(),
            photo_numbers: vec![5, 6],
        },
    ]
}

/// A 现场笔录 signed by the party.
pub fn record() -> RecordDoc {
    let inspectors = inspectors();
    RecordDoc {
        authority: AUTHORITY.to_owned(),
        institution: institution(),
        started_at: start_time(),
        ended_at: end_time(),
        place: "山西省太原市迎泽区迎泽大街188号康宁大厦一层门诊部".to_owned(),
        credentials: credentials_text(&inspectors),
        inspectors,
        recorder: Some("李娜".to_owned()),
        recusal: Some(Recusal {
            requested: false,
            reason: "对执法人员身份无异议".to_owned(),
        }),
        present: Some(vec![PresentPerson {
            name: "王建国".to_owned(),
            post: "门诊部负责人".to_owned(),
        }]),
        observations: observations(),
        photo_count: 6,
        party_statement: "以上笔录已阅，与事实相符。".to_owned(),
        party: PartyConfirmation::Signed(PartySign {
            name: "王建国".to_owned(),
            signature_png: Some(signature_png(3)),
            signed_at: Some(end_time()),
        }),
        created_at: end_time(),
    }
}

/// Six photos: one small enough to embed as is, five full-size camera photos.
pub fn photos() -> Vec<PhotoDoc> {
    let items = [
        "1.医疗机构资质管理情况：执业许可",
        "5.医疗文书管理情况：处方",
        "5.医疗文书管理情况：处方",
        "5.医疗文书管理情况：病历",
        "3.药品和医疗器械管理情况：医疗器械",
        "3.药品和医疗器械管理情况：医疗器械",
    ];
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let n = i as u32 + 1;
            let file = if i == 0 {
                photo_jpeg(640, 480, n)
            } else {
                photo_jpeg(2400, 1800, n)
            };
            PhotoDoc {
                number: n,
                item: (*item).to_owned(),
                taken_at: start_time() + chrono::Duration::minutes(8 * i64::from(n)),
                place: "太原市迎泽区迎泽大街188号".to_owned(),
                taken_by: if i % 2 == 0 { "张明" } else { "李娜" }.to_owned(),
                sha256: sha256_hex(&file),
                file: Some(file),
            }
        })
        .collect()
}

pub fn evidence(per_page: PhotosPerPage) -> EvidenceDoc {
    EvidenceDoc {
        authority: AUTHORITY.to_owned(),
        institution_name: institution().name,
        photos: photos(),
        per_page,
        policy: PhotoPolicy::default(),
        party_signature_png: Some(signature_png(3)),
        created_at: end_time(),
    }
}

/// SHA-256 of a file, hex (as the store records it).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
