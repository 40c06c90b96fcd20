//! `GET /metrics` in Prometheus's text format (`--metrics`, `metrics = true`), for the
//! addresses in `metrics_from` alone (loopback by default; anyone else finds no such path).
//! Requests by method and status class, the bytes of the bodies sent, a histogram of the time
//! from a request's head to the end of its answer, the connections open and idle, those
//! closed to make room at the cap and those refused with a 503, and whatever the app counts
//! (the framework's page cache). Each counter is an atomic added to once per request: no lock
//! on the request path. A scrape is counted when it is answered, so each one sees the ones
//! before it.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::http::Counter;

/// The methods counted by name; any other is `other`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other",
];

/// The status classes.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The histogram's upper bounds, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0,
];

/// The server's counters.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: [[AtomicU64; CLASSES.len()]; METHODS.len()],
    body_bytes: AtomicU64,
    /// Requests whose time fell in each bucket (not yet cumulative), and past the last.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    micros: AtomicU64,
}

/// What the live set knows, read once per scrape.
pub(crate) struct ConnectionCounts {
    pub open: usize,
    pub idle: usize,
    pub reclaimed: u64,
    pub refused: u64,
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn record(&self, method: &str, status: u16, body_bytes: u64, took: Duration) {
        let m = METHODS
            .iter()
            .position(|&m| m == method)
            .unwrap_or(METHODS.len() - 1);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[m][class].fetch_add(1, Relaxed);
        self.body_bytes.fetch_add(body_bytes, Relaxed);
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.micros.fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// The text of a scrape: the counters, `conns`, then `app`'s own counters.
    pub(crate) fn render(&self, conns: &ConnectionCounts, app: &[Counter]) -> String {
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "miniweb_requests_total",
            "counter",
            "Requests answered, by method and status class.",
        );
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = self.requests[m][c].load(Relaxed);
                let _ = writeln!(
                    out,
                    "miniweb_requests_total{{method=\"{method}\",status=\"{class}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            "miniweb_response_body_bytes_total",
            "counter",
            "Bytes of response bodies sent.",
        );
        let _ = writeln!(
            out,
            "miniweb_response_body_bytes_total {}",
            self.body_bytes.load(Relaxed)
        );
        family(
            &mut out,
            "miniweb_request_duration_seconds",
            "histogram",
            "Time from a request's head to the end of its answer.",
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(
                out,
                "miniweb_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Relaxed);
        let _ = writeln!(
            out,
            "miniweb_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "miniweb_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "miniweb_request_duration_seconds_count {cumulative}");
        let gauges = [
            (
                "miniweb_connections_open",
                "gauge",
                "Connections open now.",
                conns.open as u64,
            ),
            (
                "miniweb_connections_idle",
                "gauge",
                "Open connections waiting for a request.",
                conns.idle as u64,
            ),
            (
                "miniweb_connections_reclaimed_total",
                "counter",
                "Idle or slow connections closed to make room at the cap.",
                conns.reclaimed,
            ),
            (
                "miniweb_connections_refused_total",
                "counter",
                "New connections answered 503 at the cap.",
                conns.refused,
            ),
        ];
        let app = app.iter().map(|c| (c.name, "counter", c.help, c.value));
        for (name, kind, help, value) in gauges.into_iter().chain(app) {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// The `# HELP` and `# TYPE` lines of a family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_series_and_the_histogram_is_cumulative() {
        let m = Metrics::default();
        m.record("GET", 200, 10, Duration::from_micros(300));
        m.record("GET", 404, 5, Duration::from_millis(3));
        m.record("BREW", 501, 0, Duration::from_secs(9));
        let conns = ConnectionCounts {
            open: 2,
            idle: 1,
            reclaimed: 3,
            refused: 4,
        };
        let app = [Counter {
            name: "app_things_total",
            help: "Things.",
            value: 7,
        }];
        let text = m.render(&conns, &app);
        for line in [
            "miniweb_requests_total{method=\"GET\",status=\"2xx\"} 1",
            "miniweb_requests_total{method=\"GET\",status=\"4xx\"} 1",
            "miniweb_requests_total{method=\"other\",status=\"5xx\"} 1",
            "miniweb_response_body_bytes_total 15",
            "miniweb_request_duration_seconds_bucket{le=\"0.0005\"} 1",
            "miniweb_request_duration_seconds_bucket{le=\"0.005\"} 2",
            "miniweb_request_duration_seconds_bucket{le=\"5\"} 2",
            "miniweb_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "miniweb_request_duration_seconds_count 3",
            "miniweb_connections_idle 1",
            "miniweb_connections_refused_total 4",
            "# TYPE app_things_total counter",
            "app_things_total 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
