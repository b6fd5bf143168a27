//! Writes the sample documents as PDFs into `docs/samples/` of the workspace (or DIR):
//! `cargo run -p jiandu-docs --example samples [-- DIR]`.
//! Besides the normal cases: a record the party refused to sign, with a 200-character
//! unit name, characters the font lacks and a long observation; an evidence sheet
//! with a missing and a damaged photo.

use jiandu_docs::{
    PartyConfirmation, PartySign, PhotosPerPage, render_evidence, render_opinion, render_record,
    sample,
};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/samples"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;

    let mut refused = sample::record();
    refused.institution.name = "太原市迎泽区康宁综合门诊部（原太原市迎泽区康宁卫生所）"
        .repeat(8)
        .chars()
        .take(200)
        .collect();
    refused.observations[0].facts =
        "检查中发现😀标识与𠀀、㐀字样，另有“医疗废物暂存间”未上锁。".to_owned();
    refused.observations[3].facts = "随机抽取门诊病历，过敏史栏空白；".repeat(120);
    refused.party = PartyConfirmation::Refused {
        reason: "负责人称需请示上级单位后再签字".to_owned(),
        witness: Some(PartySign {
            name: "赵红梅".to_owned(),
            signature_png: Some(sample::signature_png(7)),
            signed_at: Some(sample::end_time()),
        }),
    };

    let mut broken = sample::evidence(PhotosPerPage::Four);
    broken.photos[1].file = None;
    if let Some(f) = broken.photos[2].file.as_mut() {
        f.truncate(f.len() / 3);
    }

    // The evidence sheets as the tablet prints them: from the print copies made at
    // capture (jiandu_docs::image::print_copy), embedded without re-encoding.
    let as_printed = |per_page| {
        let mut doc = sample::evidence(per_page);
        for p in &mut doc.photos {
            if let Some(f) = p.file.as_mut() {
                *f = jiandu_docs::image::print_copy(f).unwrap_or_else(|_| f.clone());
            }
        }
        doc
    };

    let docs: [(&str, Vec<u8>); 6] = [
        ("opinion.pdf", render_opinion(&sample::opinion())?),
        ("record.pdf", render_record(&sample::record())?),
        ("record-refused.pdf", render_record(&refused)?),
        (
            "evidence-2up.pdf",
            render_evidence(&as_printed(PhotosPerPage::Two))?,
        ),
        (
            "evidence-4up.pdf",
            render_evidence(&as_printed(PhotosPerPage::Four))?,
        ),
        ("evidence-missing.pdf", render_evidence(&broken)?),
    ];
    for (name, bytes) in docs {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} {} bytes", path.display(), bytes.len());
    }
    Ok(())
}
