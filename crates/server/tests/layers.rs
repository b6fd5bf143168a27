//! The layering of crates/server (docs/SERVER.md), checked on the sources: the store
//! holds no text for people and no file too long to read; neither the service nor
//! the store knows HTTP; the adapters reach storage only through the service.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    assert!(!out.is_empty(), "{dir:?}");
    out
}

fn src(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(sub)
}

#[test]
fn the_store_is_storage_only() {
    for f in sources(&src("store")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let cjk: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
            .collect();
        assert!(cjk.is_empty(), "{f:?} holds text for people: {cjk:?}");
        let lines = text.lines().count();
        assert!(lines <= 500, "{f:?} has {lines} lines: split it by area");
    }
}

#[test]
fn neither_service_nor_store_knows_http() {
    for dir in ["service", "store"] {
        for f in sources(&src(dir)) {
            let text = std::fs::read_to_string(&f).unwrap();
            for http in ["axum::", "StatusCode", "crate::http"] {
                assert!(!text.contains(http), "{f:?} uses {http}");
            }
        }
    }
}

#[test]
fn adapters_reach_storage_only_through_the_service() {
    for dir in ["http", "cli"] {
        for f in sources(&src(dir)) {
            let text = std::fs::read_to_string(&f).unwrap();
            // The one exception: the health check reads the database's identity.
            let writes = [
                ".create_user(",
                ".import_registry(",
                ".save_draw(",
                ".reassign(",
                ".record_review(",
                ".put_inspection(",
                ".push(",
                ".lease_doc_numbers(",
                ".revoke_device(",
                ".set_password(",
                ".set_user_disabled(",
            ];
            for w in writes {
                let store_call = format!("store{w}");
                assert!(
                    !text.contains(&store_call),
                    "{f:?} writes through the store directly ({w})"
                );
            }
        }
    }
}
