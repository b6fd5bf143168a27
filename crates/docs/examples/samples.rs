//! Writes the sample documents as PDFs: `cargo run -p jiandu-docs --example samples -- DIR`.

use jiandu_docs::{PhotosPerPage, render_evidence, render_opinion, render_record, sample};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "samples".into()));
    std::fs::create_dir_all(&dir)?;
    let docs: [(&str, Vec<u8>); 4] = [
        ("opinion.pdf", render_opinion(&sample::opinion())?),
        ("record.pdf", render_record(&sample::record())?),
        (
            "evidence-2up.pdf",
            render_evidence(&sample::evidence(PhotosPerPage::Two))?,
        ),
        (
            "evidence-4up.pdf",
            render_evidence(&sample::evidence(PhotosPerPage::Four))?,
        ),
    ];
    for (name, bytes) in docs {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} {} bytes", path.display(), bytes.len());
    }
    Ok(())
}
