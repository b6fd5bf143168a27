//! Counters of one server process, served as Prometheus text by `GET /metrics`
//! (http/ops.rs): requests and their latency per route, push items applied and
//! rejected, photo bytes received, chunk uploads in progress, and, read when
//! scraped, the database pool's use.
//!
//! Per process by nature: Prometheus scrapes every process and sums. Our own
//! hundred lines over atomics and one mutex rather than the `prometheus` crate:
//! the text format is small and stable, and nothing here needs labels beyond the
//! route, the method and the status class.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Route {
    /// Requests per status class ("2xx", "4xx", …).
    count: BTreeMap<&'static str, u64>,
    /// Cumulative counts per bucket (the last is +Inf).
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
}

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
    items_applied: AtomicU64,
    items_rejected: AtomicU64,
    bytes_uploaded: AtomicU64,
    photos_completed: AtomicU64,
    uploads_in_progress: AtomicI64,
}

/// Store pool figures read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections the pool holds now.
    pub size: u64,
    /// Of those, in use by a request.
    pub in_use: u64,
    /// Most it may hold.
    pub max: u64,
    /// Requests waiting for a connection.
    pub waiting: u64,
}

fn class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Escapes a label value of the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// An upload being received; the gauge goes down when it is dropped.
#[derive(Debug)]
pub struct InProgress<'a>(&'a AtomicI64);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// One answered request. `route` is the matched route template
    /// (`/api/v1/photos/{id}`), never the raw path, so ids do not become labels.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let r = routes
            .entry((route.to_owned(), method.to_owned()))
            .or_default();
        *r.count.entry(class(status)).or_default() += 1;
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        r.buckets[i] += 1;
        r.sum += secs;
    }

    pub fn push_items(&self, applied: u64, rejected: u64) {
        self.items_applied.fetch_add(applied, Ordering::Relaxed);
        self.items_rejected.fetch_add(rejected, Ordering::Relaxed);
    }

    pub fn bytes_uploaded(&self, n: u64) {
        self.bytes_uploaded.fetch_add(n, Ordering::Relaxed);
    }

    pub fn photo_completed(&self) {
        self.photos_completed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a chunk upload as in progress until the guard is dropped.
    pub fn upload_started(&self) -> InProgress<'_> {
        self.uploads_in_progress.fetch_add(1, Ordering::Relaxed);
        InProgress(&self.uploads_in_progress)
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(
        &self,
        backend: &str,
        blobs: &str,
        pool: Option<PoolUse>,
        pending_uploads: Option<u64>,
    ) -> String {
        let mut out = String::new();
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let _ = writeln!(
            out,
            "# HELP jiandu_info The server's storage.\n# TYPE jiandu_info gauge\n\
             jiandu_info{{database=\"{}\",blobs=\"{}\",version=\"{}\"}} 1",
            label(backend),
            label(blobs),
            env!("CARGO_PKG_VERSION")
        );
        out.push_str(
            "# HELP jiandu_http_requests_total HTTP requests answered, by route, method and status class.\n\
             # TYPE jiandu_http_requests_total counter\n",
        );
        for ((route, method), r) in &routes {
            for (status, n) in &r.count {
                let _ = writeln!(
                    out,
                    "jiandu_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    label(route),
                    label(method)
                );
            }
        }
        out.push_str(
            "# HELP jiandu_http_request_duration_seconds Time to answer, by route and method.\n\
             # TYPE jiandu_http_request_duration_seconds histogram\n",
        );
        for ((route, method), r) in &routes {
            let (route, method) = (label(route), label(method));
            let mut cumulative = 0;
            for (i, n) in r.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS
                    .get(i)
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "+Inf".into());
                let _ = writeln!(
                    out,
                    "jiandu_http_request_duration_seconds_bucket{{route=\"{route}\",method=\"{method}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "jiandu_http_request_duration_seconds_sum{{route=\"{route}\",method=\"{method}\"}} {}\n\
                 jiandu_http_request_duration_seconds_count{{route=\"{route}\",method=\"{method}\"}} {cumulative}",
                r.sum
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "jiandu_push_items_applied_total",
            "Pushed outbox items applied (replays included).",
            self.items_applied.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "jiandu_push_items_rejected_total",
            "Pushed outbox items rejected.",
            self.items_rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "jiandu_upload_bytes_total",
            "Photo and signature bytes received and stored.",
            self.bytes_uploaded.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "jiandu_uploads_completed_total",
            "Uploads verified and made visible.",
            self.photos_completed.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP jiandu_uploads_in_progress Photo chunks being received now.\n\
             # TYPE jiandu_uploads_in_progress gauge\njiandu_uploads_in_progress {}",
            self.uploads_in_progress.load(Ordering::Relaxed).max(0)
        );
        if let Some(n) = pending_uploads {
            let _ = writeln!(
                out,
                "# HELP jiandu_uploads_pending Photos pushed whose bytes are not all stored yet (database).\n\
                 # TYPE jiandu_uploads_pending gauge\njiandu_uploads_pending {n}"
            );
        }
        if let Some(p) = pool {
            for (name, help, v) in [
                (
                    "jiandu_db_pool_connections",
                    "Connections the database pool holds.",
                    p.size,
                ),
                (
                    "jiandu_db_pool_in_use",
                    "Pool connections serving a request.",
                    p.in_use,
                ),
                (
                    "jiandu_db_pool_max",
                    "Most connections the pool may hold.",
                    p.max,
                ),
                (
                    "jiandu_db_pool_waiting",
                    "Requests waiting for a connection.",
                    p.waiting,
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_has_cumulative_buckets_and_route_templates() {
        let m = Metrics::default();
        m.request("GET", "/api/v1/pull", 200, Duration::from_millis(3));
        m.request("GET", "/api/v1/pull", 200, Duration::from_millis(300));
        m.request("GET", "/api/v1/pull", 401, Duration::from_millis(2));
        m.push_items(5, 1);
        m.bytes_uploaded(1024);
        let held = m.upload_started();
        let text = m.render(
            "sqlite",
            "s3",
            Some(PoolUse {
                size: 4,
                in_use: 1,
                max: 4,
                waiting: 0,
            }),
            Some(2),
        );
        assert!(
            text.contains(
                "jiandu_http_requests_total{route=\"/api/v1/pull\",method=\"GET\",status=\"2xx\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("jiandu_push_items_rejected_total 1"));
        assert!(text.contains("jiandu_upload_bytes_total 1024"));
        assert!(text.contains("jiandu_uploads_in_progress 1"));
        drop(held);
        assert!(
            m.render("sqlite", "s3", None, None)
                .contains("jiandu_uploads_in_progress 0")
        );
        assert!(text.contains("jiandu_uploads_pending 2"), "{text}");
        assert!(text.contains("jiandu_db_pool_in_use 1"));
    }
}
