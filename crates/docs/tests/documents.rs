//! The documents, read back the way a person or an archive would: each PDF is written
//! to a temporary directory and checked with poppler's tools (`pdftotext`, `pdffonts`,
//! `pdfinfo`, `pdfimages`; Debian package poppler-utils, installed by .ci/run).
//!
//! Text comparisons ignore whitespace: a PDF has no spaces where lines wrap, and
//! pdftotext may insert some where justification widened a gap.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use jiandu_docs::font::FontFace;
use jiandu_docs::layout::{forbidden_at_line_end, forbidden_at_line_start};
use jiandu_docs::{
    OPINION_FOOTNOTE, PHOTO_PLACEHOLDER, PartyConfirmation, PartySign, PhotosPerPage,
    render_evidence, render_opinion, render_record, sample,
};
use std::path::PathBuf;
use std::process::Command;

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} not runnable ({e}); install poppler-utils (apt-get install poppler-utils)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Pdf {
    path: PathBuf,
    bytes: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Pdf {
    fn new(name: &str, bytes: Vec<u8>) -> Pdf {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        eprintln!("{name}: {} bytes", bytes.len());
        Pdf {
            path,
            bytes,
            _dir: dir,
        }
    }
    fn p(&self) -> &str {
        self.path.to_str().unwrap()
    }
    fn text(&self) -> String {
        poppler("pdftotext", &["-enc", "UTF-8", self.p(), "-"])
    }
    fn page_text(&self, page: usize) -> String {
        let n = page.to_string();
        poppler(
            "pdftotext",
            &["-enc", "UTF-8", "-f", &n, "-l", &n, self.p(), "-"],
        )
    }
    fn pages(&self) -> usize {
        let info = poppler("pdfinfo", &[self.p()]);
        info.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap()
    }
    /// Images per page, from `pdfimages -list` (page number, width, height, encoding).
    fn images(&self) -> Vec<(usize, u32, u32, String)> {
        poppler("pdfimages", &["-list", self.p()])
            .lines()
            .skip(2)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[0].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                    f[8].to_owned(),
                )
            })
            .collect()
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_has(text: &str, want: &str) {
    assert!(
        squash(text).contains(&squash(want)),
        "the PDF text lacks {want:?}; it reads:\n{text}"
    );
}

/// The font is embedded, as a subset (tag "ABCDEF+"), and it is the only font.
fn assert_subset_font(pdf: &Pdf) {
    let listing = poppler("pdffonts", &[pdf.p()]);
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert_eq!(fonts.len(), 1, "exactly one font: {listing}");
    for line in fonts {
        let f: Vec<&str> = line.split_whitespace().collect();
        let name = f[0];
        let (tag, family) = name.split_once('+').expect("subset tag");
        assert!(
            tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()),
            "subset tag in {name}"
        );
        assert!(family.starts_with("NotoSerifSC"), "{name}");
        // Columns: name type... encoding emb sub uni object-id.
        let n = f.len();
        assert_eq!(
            &f[n - 5..n - 2],
            &["yes", "yes", "yes"],
            "embedded, subset, with ToUnicode: {line}"
        );
    }
}

/// 避头尾 on the text as extracted: no line starts with a closing mark, and no line
/// ends with an opening mark.
fn assert_kinsoku(text: &str) {
    for line in text.lines() {
        let t = line.trim();
        if let Some(first) = t.chars().next() {
            assert!(
                !forbidden_at_line_start(first),
                "line starts with {first:?}: {t:?}"
            );
        }
        if let Some(last) = t.chars().last() {
            assert!(
                !forbidden_at_line_end(last),
                "line ends with {last:?}: {t:?}"
            );
        }
    }
}

/// Text with page furniture and repeated headers removed, so content that flows over
/// a page break reads as one piece.
fn body_text(text: &str, total: usize, furniture: &[&str]) -> String {
    let mut s = squash(text);
    for i in 1..=total {
        s = s.replace(&format!("第{i}页共{total}页"), "");
    }
    for f in furniture {
        s = s.replace(&squash(f), "");
    }
    s
}

#[test]
fn opinion_shows_every_field() {
    let doc = sample::opinion();
    let pdf = Pdf::new("opinion.pdf", render_opinion(&doc).unwrap());
    let text = pdf.text();
    let i = &doc.institution;
    for want in [
        "卫生监督意见书",
        doc.authority.as_str(),
        "并卫监意字〔2025〕第0012号",
        &format!("被监督单位：{}", i.name),
        &format!("地址：{}", i.address),
        &format!("法定代表人（负责人）：{}", i.legal_representative),
        &format!("联系电话：{}", i.phone),
        "监督意见：",
        "经检查，你单位存在以下问题：",
        "一、医疗文书管理情况（处方）：处方笺未按规定保存，2025年3月至5月的普通处方有27张缺失。违反了《处方管理办法》第五十条的规定。",
        "二、医疗文书管理情况（病历）：部分门诊病历（共6份）未记录患者过敏史。违反了《医疗机构病历管理规定》第十条的规定。",
        "三、药品和医疗器械管理情况（医疗器械）：“一次性使用无菌注射器”未建立进货查验记录。",
        "责令你单位于2025年7月12日前改正上述问题",
        &format!("改正要求：{}", doc.opinion.requirements),
        jiandu_docs::SEPARATE_CASE_TEXT,
        "卫生监督员（签名）",
        "（张明）",
        "执法证号：14010620190032",
        "（李娜）",
        "执法证号：14010620210117",
        "被监督单位签收",
        "（王建国）",
        "签收日期：2025年6月12日",
        "（印章）",
        OPINION_FOOTNOTE,
        "第1页共1页",
    ] {
        assert_has(&text, want);
    }
    // Penalty figures never appear on the 意见书 (a penalty is a case of its own).
    for word in ["罚没", "罚款", "查处案件", "元"] {
        assert!(!squash(&text).contains(word), "the opinion says {word:?}");
    }
    assert_eq!(pdf.pages(), 1);
    assert_subset_font(&pdf);
    assert_kinsoku(&text);
    // Three signatures (two inspectors, the receipt), embedded once each.
    assert_eq!(pdf.images().len(), 3);
    assert!(pdf.bytes.len() < 200_000, "{} bytes", pdf.bytes.len());
}

#[test]
fn opinion_of_20000_characters_flows_over_numbered_pages() {
    let mut doc = sample::opinion();
    // Unique numbered sentences, so a lost or repeated piece would show.
    let mut long = String::new();
    let mut n = 0;
    while long.chars().count() < 20_000 {
        n += 1;
        long.push_str(&format!(
            "第{n}项：现场查见治疗室（二）内“一次性使用无菌注射器”{n}箱，未见进货查验记录；"
        ));
    }
    doc.opinion.problems.truncate(1);
    doc.opinion.problems[0].text = long.clone();
    doc.opinion.problems[0].basis.clear();
    let pdf = Pdf::new("opinion-long.pdf", render_opinion(&doc).unwrap());
    let pages = pdf.pages();
    // About 1,200 characters fit a page at 12 pt with 1.75 leading.
    assert!((14..=22).contains(&pages), "{pages} pages");
    for p in 1..=pages {
        let t = pdf.page_text(p);
        assert_has(&t, &format!("第{p}页共{pages}页"));
        assert_has(&t, OPINION_FOOTNOTE);
    }
    let text = pdf.text();
    let body = body_text(&text, pages, &[OPINION_FOOTNOTE]);
    // Printed as problem 一 (its closing ； becomes 。).
    let printed = format!("一、{}。", long.trim_end_matches('；'));
    assert!(
        body.contains(&squash(&printed)),
        "the whole opinion, in order"
    );
    // The signature and seal area comes once, after the text, on the last page.
    assert_has(&pdf.page_text(pages), "被监督单位签收");
    assert!(!squash(&pdf.page_text(1)).contains("被监督单位签收"));
    assert_subset_font(&pdf);
    assert_kinsoku(&text);
}

#[test]
fn record_shows_every_field_and_only_facts() {
    let doc = sample::record();
    let pdf = Pdf::new("record.pdf", render_record(&doc).unwrap());
    let text = pdf.text();
    let i = &doc.institution;
    for want in [
        "现场笔录",
        &format!("被检查人：{}", i.name),
        &format!("检查机关：{}", doc.authority),
        "检查时间：2025年6月12日9时30分至2025年6月12日11时05分",
        &format!("检查地点：{}", doc.place),
        "张明（执法证号：14010620190032）",
        "李娜（执法证号：14010620210117）",
        "记录人：李娜",
        "在场人：王建国（门诊部负责人）",
        "亮证情况：",
        &doc.credentials,
        "回避：被检查人不申请回避。说明：对执法人员身份无异议",
        "现场拍摄照片共6张，编号第1至6号",
        "被检查人意见：以上笔录已阅，与事实相符。",
        "执法人员（签名）",
        // The inspectors' signing dates, beside their signatures.
        "（张明）2025年6月12日",
        "（李娜）2025年6月12日",
    ] {
        assert_has(&text, want);
    }
    for o in &doc.observations {
        let photos = match o.photo_numbers.as_slice() {
            [] => "无".to_owned(),
            n => format!(
                "第{}号",
                n.iter().map(u32::to_string).collect::<Vec<_>>().join("、")
            ),
        };
        assert_has(
            &text,
            &format!(
                "检查项目：{}现场情况：{}现场照片：{photos}",
                o.item, o.facts
            ),
        );
    }
    // Facts only: no verdict words and no penalty.
    for word in ["不符合", "合理缺项", "行政处罚", "罚没", "罚款"] {
        assert!(!text.contains(word), "the record says {word:?}");
    }
    let pages = pdf.pages();
    assert!((1..=3).contains(&pages), "{pages}");
    // The party's confirmation and signature on EVERY page.
    let images = pdf.images();
    for p in 1..=pages {
        let t = pdf.page_text(p);
        assert_has(&t, "被检查人确认本页记录（签名）");
        assert_has(&t, "2025年6月12日");
        assert_has(&t, &format!("第{p}页共{pages}页"));
        assert!(
            images.iter().any(|(page, ..)| *page == p),
            "signature image on page {p}"
        );
    }
    assert_subset_font(&pdf);
    assert_kinsoku(&text);
    assert!(pdf.bytes.len() < 1_000_000);
}

#[test]
fn record_with_a_20000_character_observation_repeats_table_headers() {
    let mut doc = sample::record();
    let mut long = String::new();
    let mut n = 0;
    while long.chars().count() < 20_000 {
        n += 1;
        long.push_str(&format!(
            "第{n}份病历（门诊号A25{n:04}）：主诉、现病史已记录，过敏史栏空白，医师签名为打印体；"
        ));
    }
    doc.observations[3].facts = long.clone();
    let pdf = Pdf::new("record-long.pdf", render_record(&doc).unwrap());
    let pages = pdf.pages();
    assert!(pages >= 10, "{pages} pages");
    let header = "序号检查项目及现场检查情况";
    // Every page the table reaches starts it with its header row again.
    let with_header = (1..=pages)
        .filter(|p| squash(&pdf.page_text(*p)).contains(header))
        .count();
    assert!(with_header >= pages - 1, "{with_header} of {pages}");
    for p in 1..=pages {
        assert_has(&pdf.page_text(p), "被检查人确认本页记录（签名）");
    }
    let text = pdf.text();
    let body = body_text(
        &text,
        pages,
        &[header, "被检查人确认本页记录（签名）：2025年6月12日"],
    );
    for k in 1..=n {
        let piece = format!("第{k}份病历（门诊号A25{k:04}）");
        assert!(body.contains(&piece), "lost {piece}");
    }
    assert_kinsoku(&text);
}

#[test]
fn refusal_to_sign_is_printed_on_every_page_with_the_witness() {
    let mut doc = sample::record();
    doc.observations[2].facts = "调阅处方。".repeat(900);
    doc.party = PartyConfirmation::Refused {
        reason: "负责人称需请示上级单位后再签字".to_owned(),
        witness: Some(PartySign {
            name: "赵红梅".to_owned(),
            signature_png: Some(sample::signature_png(7)),
            signed_at: Some(sample::end_time()),
        }),
    };
    let pdf = Pdf::new("record-refused.pdf", render_record(&doc).unwrap());
    let pages = pdf.pages();
    assert!(pages >= 2);
    for p in 1..=pages {
        let t = pdf.page_text(p);
        assert_has(&t, "当事人拒绝签字");
        assert_has(&t, "见证人（签名）");
        assert_has(&t, "（赵红梅）");
    }
    let text = pdf.text();
    assert_has(&text, "拒签原因：负责人称需请示上级单位后再签字");
    assert!(!text.contains("被检查人确认本页记录"));
}

#[test]
fn evidence_sheet_captions_every_photo_two_or_four_a_page() {
    for (per_page, want_pages) in [(PhotosPerPage::Two, 3), (PhotosPerPage::Four, 2)] {
        let doc = sample::evidence(per_page);
        let pdf = Pdf::new("evidence.pdf", render_evidence(&doc).unwrap());
        assert_eq!(pdf.pages(), want_pages, "{per_page:?}");
        let text = pdf.text();
        assert_has(&text, "证据照片");
        assert_has(&text, &format!("被检查人：{}", doc.institution_name));
        for p in &doc.photos {
            assert_has(&text, &format!("照片编号：第{}号（共6张）", p.number));
            assert_has(&text, &format!("检查项目：{}", p.item));
            assert_has(
                &text,
                &format!("拍摄时间：{}", jiandu_docs::common::cn_datetime(p.taken_at)),
            );
            assert_has(&text, &format!("拍摄地点：{}", p.place));
            assert_has(&text, &format!("拍摄人：{}", p.taken_by));
            assert_has(&text, &format!("SHA-256：{}", &p.sha256[..16]));
        }
        assert!(!text.contains(PHOTO_PLACEHOLDER));
        assert_subset_font(&pdf);
        assert_kinsoku(&text);

        // Photo 1 (640×480) is small enough: its file is inside the PDF byte for
        // byte. The 2400×1800 ones were reduced for print.
        let original = doc.photos[0].file.as_ref().unwrap();
        assert!(contains(&pdf.bytes, original), "JPEG passthrough");
        let images = pdf.images();
        let photos: Vec<_> = images.iter().filter(|i| i.3 == "jpeg").collect();
        assert_eq!(photos.len(), 6);
        assert_eq!((photos[0].1, photos[0].2), (640, 480));
        for p in &photos[1..] {
            assert!(p.1 < 2400 && p.1 >= 400, "reduced: {p:?}");
        }
        assert!(pdf.bytes.len() < 600_000, "{} bytes", pdf.bytes.len());
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn missing_and_corrupt_photos_become_marked_placeholders() {
    let mut doc = sample::evidence(PhotosPerPage::Four);
    doc.photos[1].file = None;
    let f = doc.photos[2].file.as_mut().unwrap();
    f.truncate(f.len() / 3); // an interrupted upload
    doc.photos[3].file = Some(b"GIF89a not really".to_vec());
    let pdf = Pdf::new("evidence-broken.pdf", render_evidence(&doc).unwrap());
    let text = pdf.text();
    assert_eq!(
        squash(&text).matches(PHOTO_PLACEHOLDER).count(),
        3,
        "one placeholder per unusable file"
    );
    assert_has(&text, "（文件缺失）");
    // The captions of the unusable photos still say which evidence is missing.
    for p in &doc.photos {
        assert_has(&text, &format!("SHA-256：{}", &p.sha256[..16]));
    }
    let jpegs = pdf.images().iter().filter(|i| i.3 == "jpeg").count();
    assert_eq!(jpegs, 3);
}

#[test]
fn bad_text_input_never_breaks_the_document() {
    let font = FontFace::embedded();
    let mut doc = sample::record();
    let long_name = "太原市迎泽区康宁综合门诊部（原太原市迎泽区康宁卫生所）".repeat(8);
    let long_name: String = long_name.chars().take(200).collect();
    doc.institution.name = long_name.clone();
    let odd = "检查中发现😀标识与𠀀、㐀字样\u{FE0F}，另有\u{200D}零宽字符和\u{7}控制字符。";
    doc.observations[0].facts = odd.to_owned();
    doc.place = "🏥".to_owned();
    // Missing signatures: blank lines, not a crash.
    for i in &mut doc.inspectors {
        i.signature_png = None;
    }
    doc.party = PartyConfirmation::Signed(PartySign {
        name: "王建国".to_owned(),
        signature_png: Some(b"\x89PNG\r\n\x1a\ntruncated".to_vec()),
        signed_at: None,
    });
    let pdf = Pdf::new("record-bad.pdf", render_record(&doc).unwrap());
    let text = pdf.text();
    assert_has(&text, &format!("被检查人：{long_name}"));
    // Characters the font has are kept; the others show as □, never vanish.
    for c in ['𠀀', '㐀', '😀', '🏥'] {
        if font.has_glyph(c) {
            assert!(text.contains(c), "{c} kept");
        } else {
            assert!(!text.contains(c));
        }
    }
    let boxes = odd
        .chars()
        .filter(|c| ['😀', '𠀀', '㐀'].contains(c) && !font.has_glyph(*c))
        .count();
    assert!(boxes >= 1, "the font lacks at least the emoji");
    assert_has(
        &text,
        &format!(
            "检查中发现□标识与{}",
            if font.has_glyph('𠀀') {
                "𠀀"
            } else {
                "□"
            }
        ),
    );
    assert_has(&text, "检查地点：□");
    assert!(!text.contains('\u{7}'));
    assert!(pdf.images().is_empty(), "no signature could be drawn");
    assert_subset_font(&pdf);

    // The evidence sheet repeats the long name in full on every page.
    let mut ev = sample::evidence(PhotosPerPage::Two);
    ev.institution_name = long_name.clone();
    let pdf = Pdf::new("evidence-bad.pdf", render_evidence(&ev).unwrap());
    assert_eq!(pdf.pages(), 3);
    for p in 1..=3 {
        assert_has(&pdf.page_text(p), &format!("被检查人：{long_name}"));
    }

    // Same for the opinion: long name, odd characters, no signatures at all.
    let mut op = sample::opinion();
    op.institution.name = long_name.clone();
    op.opinion.problems.truncate(1);
    op.opinion.problems[0].text = odd.to_owned();
    op.receipt = None;
    op.inspectors.clear();
    let pdf = Pdf::new("opinion-bad.pdf", render_opinion(&op).unwrap());
    let text = pdf.text();
    assert_has(&text, &format!("被监督单位：{long_name}"));
    // No receipt: the date is left blank to be written by hand.
    assert_has(&text, "签收日期：");
    assert!(!squash(&text).contains("签收日期：2"));
    assert_eq!(pdf.pages(), 1);
}

#[test]
fn same_input_gives_the_same_bytes() {
    let a = render_record(&sample::record()).unwrap();
    let b = render_record(&sample::record()).unwrap();
    assert!(a == b, "rendering is deterministic");
    let mut other = sample::record();
    other.place.push('乙');
    let c = render_record(&other).unwrap();
    assert!(a != c);
}

#[test]
fn empty_fields_and_many_people_still_make_valid_documents() {
    let mut record = sample::record();
    record.place = String::new();
    record.recorder = None;
    record.observations.clear();
    record.photo_count = 0;
    record.inspectors = (0..12)
        .map(|k| jiandu_docs::InspectorSign {
            name: format!("检查员{k}"),
            badge_no: format!("1401062019{k:04}"),
            signature_png: Some(sample::signature_png(k)),
            signed_at: None,
        })
        .collect();
    // A badge number longer than usual is printed whole.
    record.inspectors[11].badge_no = "1401062019001199887766".to_owned();
    record.party = PartyConfirmation::Pending;
    let pdf = Pdf::new("record-empty.pdf", render_record(&record).unwrap());
    let text = pdf.text();
    assert_has(&text, "（未记录检查事项）");
    assert_has(&text, "现场未拍摄照片。");
    for k in 0..11 {
        assert_has(&text, &format!("检查员{k}（执法证号：1401062019{k:04}）"));
    }
    for k in 0..12 {
        assert_has(&text, &format!("（检查员{k}）"));
    }
    let pages = pdf.pages();
    for p in 1..=pages {
        assert_has(&pdf.page_text(p), "被检查人确认本页记录（签名）");
    }

    let mut op = sample::opinion();
    op.opinion = jiandu_core::inspection::Opinion {
        problems: vec![],
        deadline: None,
        requirements: String::new(),
    };
    op.separate_case = false;
    op.institution.address = String::new();
    op.institution.phone = String::new();
    op.inspectors = record.inspectors.clone();
    let pdf = Pdf::new("opinion-empty.pdf", render_opinion(&op).unwrap());
    let text = pdf.text();
    assert_has(&text, "监督意见：经检查，未发现你单位存在违法违规问题。");
    for k in 0..11 {
        assert_has(&text, &format!("执法证号：1401062019{k:04}"));
    }
    assert_has(&text, "执法证号：1401062019001199887766");
    assert!(
        pdf.pages() >= 2,
        "twelve signature rows flow onto a second page"
    );

    let mut ev = sample::evidence(PhotosPerPage::Two);
    ev.photos.clear();
    let pdf = Pdf::new("evidence-empty.pdf", render_evidence(&ev).unwrap());
    assert_has(&pdf.text(), "本次检查未拍摄照片。");
    assert_eq!(pdf.pages(), 1);
}
