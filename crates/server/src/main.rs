//! `jiandu-server`: see [`jiandu_server::cli`].

fn main() -> std::process::ExitCode {
    jiandu_server::cli::main()
}
