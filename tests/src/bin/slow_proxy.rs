//! A slow platform for the window test (scripts/ui-e2e.sh): the fault proxy of
//! `jiandu_tests::proxy` in front of a real jiandu-server, holding each of the
//! server's answers back while the requests reach it at once.
//!
//! Usage: `slow_proxy <server address, e.g. 127.0.0.1:8080>`. Prints
//! `listening http://127.0.0.1:<port>` once ready, then reads commands on stdin,
//! one a line, answering each with one line:
//!
//! ```text
//! delay <ms>   every answer from now on reaches the app <ms> late (0: at once)  → ok
//! waiting      how many answers are being held now                              → waiting <n>
//! ```
//!
//! Ends when stdin closes.

use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let Some(upstream) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
    else {
        eprintln!("usage: slow_proxy <server address, e.g. 127.0.0.1:8080>");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("slow_proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let proxy = rt.block_on(FaultProxy::start(upstream, FaultPlan::none()));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening {}", proxy.url());
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<u64>)) {
            (Some("delay"), Some(Ok(ms))) => {
                proxy.set_answer_delay(Duration::from_millis(ms));
                "ok".to_owned()
            }
            (Some("waiting"), None) => format!("waiting {}", proxy.answers_waiting()),
            _ => format!("unknown command: {line}"),
        };
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}
