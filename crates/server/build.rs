//! Warns (never fails) when the web console has not been built: the server then
//! serves a page saying so at `/` (see `src/http/assets.rs`).

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../console/dist");
    println!(
        "cargo:rerun-if-changed={}",
        dist.join("index.html").display()
    );
    if !dist.join("index.html").exists() {
        println!(
            "cargo:warning=console/dist is missing: jiandu-server will serve a \"控制台未构建\" page at / (build it with `cd console && npm ci && npm run build`)"
        );
    }
}
