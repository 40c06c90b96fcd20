//! Under writes and bursts: many readers of one page while a writer changes what it shows.
//! Each stale page is rendered once (the access log's `Server-Timing` says which requests
//! rendered), every reader gets a page at least as new as the last write acknowledged before
//! it asked, and the SQLite pool never opens more connections than its bound; past the wait
//! for one, a request is a 503 with `Retry-After`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many descriptors the process `pid` has open on `file` (Linux's /proc).
fn descriptors_on(pid: u32, file: &std::path::Path) -> Option<usize> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target == file)
            .count(),
    )
}

#[test]
fn readers_of_a_page_under_writes_get_one_render_per_version_and_never_an_old_page() {
    let site = Arc::new(common::site_with("database_connections = 4\n"));
    let db = site.dir.path().join("stock.db").canonicalize().unwrap();
    // Writes sent and acknowledged so far; the writer follows 000036 (not followed in the
    // seed) on even writes and unfollows it on odd ones.
    let sent = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Pages read so far: after each write the writer lets the readers read a few pages of
    // the quiet state before it writes again.
    let read = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (site, sent, acked, stop) = (site.clone(), sent.clone(), acked.clone(), stop.clone());
        let read = read.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && acked.load(Ordering::SeqCst) < 200 {
                let n = acked.load(Ordering::SeqCst);
                let action = if n % 2 == 0 { "add" } else { "del" };
                sent.store(n + 1, Ordering::SeqCst);
                let resp = site.post_form(&format!("/{action}/000036.html"), "");
                assert_eq!(resp.status, 303, "{action}: {}", resp.text());
                acked.store(n + 1, Ordering::SeqCst);
                let seen = read.load(Ordering::SeqCst);
                while read.load(Ordering::SeqCst) < seen + 8 && Instant::now() < deadline {
                    std::thread::yield_now();
                }
            }
            stop.store(true, Ordering::SeqCst);
        })
    };
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let (site, sent, acked, stop) =
                (site.clone(), sent.clone(), acked.clone(), stop.clone());
            let read = read.clone();
            std::thread::spawn(move || {
                let (mut checked, mut reads) = (0, 0);
                let mut client = site.client();
                while !stop.load(Ordering::SeqCst) {
                    let before = (acked.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));
                    let page = client.exchange("GET", "/center.html", &[], b"");
                    let after = (acked.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));
                    assert_eq!(page.status, 200);
                    reads += 1;
                    read.fetch_add(1, Ordering::SeqCst);
                    // No write was under way while it was asked: the page must show the
                    // state after the last one acknowledged.
                    if before.0 == before.1 && after == before {
                        let writes = before.0;
                        let followed = page.text().contains("000036");
                        assert_eq!(
                            followed,
                            writes % 2 == 1,
                            "after {writes} writes: an old page"
                        );
                        checked += 1;
                    }
                }
                (reads, checked)
            })
        })
        .collect();
    let mut peak = 0;
    while !stop.load(Ordering::SeqCst) {
        if let Some(n) = descriptors_on(site.pid(), &db) {
            peak = peak.max(n);
        }
        std::thread::yield_now();
    }
    writer.join().unwrap();
    let (mut reads, mut checked) = (0, 0);
    for r in readers {
        let (n, c) = r.join().unwrap();
        reads += n;
        checked += c;
    }
    let writes = acked.load(Ordering::SeqCst);
    assert!(
        writes > 10 && reads > 100 && checked > 10,
        "{writes} writes, {reads} reads"
    );
    // The pool's 4 and the watcher that never writes.
    assert!(peak <= 5, "{peak} descriptors of stock.db open at once");

    // Each version of the page is rendered once at most: a render is a `cache;desc=miss` line.
    let log = site.stdout();
    assert!(site.wait_for_log("POST /", Duration::from_secs(1)));
    let page_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"GET /center.html "))
        .collect();
    let renders = page_lines
        .iter()
        .filter(|l| l.contains("desc=miss"))
        .count();
    let joined = page_lines
        .iter()
        .filter(|l| l.contains("desc=joined"))
        .count();
    assert!(
        renders <= writes + 1,
        "{renders} renders for {} versions ({joined} requests joined a render)",
        writes + 1
    );
}

#[test]
fn past_the_wait_for_a_connection_a_request_is_a_503_with_retry_after() {
    let site = common::site_with("database_connections = 1\npage_cache = false\n");
    let db = site.dir.path().join("stock.db");
    assert_eq!(site.get("/center.html").status, 200);
    // Another process holds the write lock: the one pooled connection waits in a write
    // (its busy timeout), and the next request waits for the connection.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let site = Arc::new(site);
    let writes: Vec<_> = (0..3)
        .map(|_| {
            let site = site.clone();
            std::thread::spawn(move || site.post_form("/add/000036.html", ""))
        })
        .collect();
    for w in writes {
        let resp = w.join().unwrap();
        assert_eq!(resp.status, 503, "{}", resp.text());
        assert_eq!(resp.header("Retry-After"), Some("1"));
    }
    assert!(
        site.wait_for_log("all 1 connections to", Duration::from_secs(1)),
        "a request waited for the pool: {}",
        site.log()
    );
    holder.execute_batch("ROLLBACK").unwrap();
    // The lock gone, the surplus is served again from the one connection.
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    assert!(site.get("/center.html").text().contains("000036"));
}
