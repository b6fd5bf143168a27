//! Servers the tests start as processes of their own.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

/// The first line `child` prints on stdout, after `prefix` (a server announcing the
/// address it listens on), trimmed. The rest of its stdout is read and dropped, so
/// the process never blocks on a full pipe. Panics, naming `what`, when the line
/// does not come within 30 s or does not start with `prefix`.
pub fn announced(child: &mut Child, prefix: &str, what: &str) -> String {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} printed no address"));
    line.trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected {what} output: {line}"))
        .trim()
        .to_owned()
}
