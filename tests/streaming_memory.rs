//! A 50 MB streamed body costs the server one chunk of memory, not the body: measured on this
//! test process (client and in-process server), alone in its own test binary.

mod common;

use std::io::Read;
use std::time::Duration;

use common::InProcess;
use miniweb::http::{Body, Request, Response, Stream};

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 800; // 50 MiB

/// A field of /proc/self/status in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} missing"))
}

#[test]
fn fifty_megabytes_stream_in_constant_memory() {
    let s = InProcess::start(
        |_: &Request| {
            let chunks = (0..CHUNKS).map(|i| Ok(vec![(i % 251) as u8; CHUNK]));
            Response::new(200).with_body(Body::Stream(Stream::new(chunks)))
        },
        |c| c.send_timeout = Duration::from_secs(30),
    );
    // Warm up threads and buffers, then measure from here.
    let mut c = s.client();
    c.send(b"GET /warm HTTP/1.0\r\n\r\n");
    // (the warm-up streams the same 50 MiB)
    let _ = c.read_to_close(Duration::from_secs(30));
    // Reset the high-water mark (Linux 4.0+), so that the peak is this stream's alone.
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs");
    let before = status_kib("VmRSS:");

    let mut c = s.client();
    c.send(b"GET /big HTTP/1.0\r\n\r\n");
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match c.stream.read(&mut buf).unwrap() {
            0 => break,
            n => total += n,
        }
    }
    let peak = status_kib("VmHWM:");
    assert!(total > CHUNK * CHUNKS, "got {total} bytes");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "RSS peaked {grown} KiB above its start while streaming 50 MiB ({before} -> {peak} KiB)"
    );
}
