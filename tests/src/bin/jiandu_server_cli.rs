//! The `jiandu-server` command line, built in this package so its tests can run it
//! (`env!("CARGO_BIN_EXE_jiandu_server_cli")`) beside the S3 server: the same
//! `jiandu_server::cli::main` as crates/server/src/main.rs, nothing else.

fn main() -> std::process::ExitCode {
    jiandu_server::cli::main()
}
