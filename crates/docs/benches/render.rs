//! Benchmark: render the on-site documents with the font loaded once, as the tablet
//! does after its first document. Prints figures; asserts nothing about time.
//!
//! Run: `cargo bench -p jiandu-docs --bench render`

use jiandu_docs::font::FontFace;
use jiandu_docs::{
    EvidenceDoc, PhotosPerPage, render_evidence, render_opinion, render_record, sample,
};
use std::time::{Duration, Instant};

/// Peak resident memory of this process so far (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU time this process has used (user + system), from /proc/self/stat (Linux).
/// Unlike wall time it does not grow when other processes share the cores.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

fn pages(pdf: &[u8]) -> usize {
    // Counting "/Type /Page" objects would need a parser; every page object of ours
    // carries exactly one "/MediaBox".
    pdf.windows(9).filter(|w| w == b"/MediaBox").count()
}

fn measure(name: &str, runs: u32, mut render: impl FnMut() -> Vec<u8>) {
    let first = render();
    let cpu_start = cpu_time();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let out = render();
            let d = t.elapsed();
            assert_eq!(out.len(), first.len(), "deterministic output");
            d
        })
        .collect();
    let cpu = match (cpu_start, cpu_time()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64() * 1000.0 / f64::from(runs),
        _ => f64::NAN,
    };
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{name:<38} {:>2} pages {:>8.1} KB   wall median {:>7.1} ms  max {:>7.1} ms   cpu {:>7.1} ms",
        pages(&first),
        first.len() as f64 / 1024.0,
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        cpu
    );
}

fn main() {
    let t = Instant::now();
    let _ = FontFace::embedded();
    println!(
        "font parse (once per process)          {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let opinion = sample::opinion();
    measure("意见书 (1 page, 3 signatures)", 20, || {
        render_opinion(&opinion).expect("opinion")
    });

    // A 现场笔录 of three pages: the sample's observations, longer.
    let mut record = sample::record();
    for o in &mut record.observations {
        o.facts = o.facts.repeat(9);
    }
    measure("现场笔录 (3 pages)", 20, || {
        render_record(&record).expect("record")
    });

    // Six photos: one 640×480 passed through, five 2400×1800 reduced for print.
    let two: EvidenceDoc = sample::evidence(PhotosPerPage::Two);
    measure("证据照片, 6 photos, 2 a page", 5, || {
        render_evidence(&two).expect("evidence")
    });
    let four = sample::evidence(PhotosPerPage::Four);
    measure("证据照片, 6 photos, 4 a page", 5, || {
        render_evidence(&four).expect("evidence")
    });
    measure("意见书 + 6 originals reduced at print", 5, || {
        let mut all = render_opinion(&opinion).expect("opinion");
        all.extend(render_evidence(&four).expect("evidence"));
        all
    });

    // As the tablet prints: the print copies were made at capture
    // (jiandu_docs::image::print_copy) and are embedded byte for byte.
    let as_printed = |doc: &EvidenceDoc| {
        let mut doc = doc.clone();
        for p in &mut doc.photos {
            if let Some(f) = p.file.as_mut() {
                *f = jiandu_docs::image::print_copy(f).expect("print copy");
            }
        }
        doc
    };
    let four_printed = as_printed(&four);
    let two_printed = as_printed(&two);
    measure("证据照片, 6 print copies, 4 a page", 10, || {
        render_evidence(&four_printed).expect("evidence")
    });
    measure("证据照片, 6 print copies, 2 a page", 10, || {
        render_evidence(&two_printed).expect("evidence")
    });
    measure("意见书 + 6 photos (on-site package)", 10, || {
        let mut all = render_opinion(&opinion).expect("opinion");
        all.extend(render_evidence(&four_printed).expect("evidence"));
        all
    });
    // What capture pays instead, once per photo (a 2400×1800 camera JPEG).
    let camera = four
        .photos
        .iter()
        .filter_map(|p| p.file.clone())
        .max_by_key(Vec::len)
        .expect("a photo");
    measure("  at capture: print copy of one 2400×1800", 10, || {
        jiandu_docs::image::print_copy(&camera).expect("print copy")
    });
    measure("  at capture: thumbnail of one 2400×1800", 10, || {
        jiandu_docs::image::thumbnail(&camera).expect("thumbnail")
    });

    let mut long = sample::opinion();
    long.opinion.problems.truncate(1);
    long.opinion.problems[0].text =
        "现场查见治疗室内一次性使用无菌注射器未见进货查验记录；".repeat(750);
    measure("意见书, 20,000-character opinion", 5, || {
        render_opinion(&long).expect("opinion")
    });

    // Where the photo time goes: preparing the six photos alone (decode, reduce,
    // re-encode; the 640×480 one is passed through).
    measure("  of which: 6 photos prepared", 5, || {
        for p in &four.photos {
            let img = jiandu_docs::image::prepare_photo(
                p.file.as_deref(),
                220.0,
                215.0,
                &jiandu_docs::PhotoPolicy::default(),
            )
            .expect("photo");
            std::hint::black_box(img);
        }
        b"%PDF".to_vec()
    });

    if let Some(mb) = peak_rss_mb() {
        println!("peak memory (VmHWM)                    {mb:>7.1} MB");
    }
}
