//! Compression over the wire: Accept-Encoding negotiation, br and gzip made once, precompressed
//! siblings, distinct ETags, ranges on the identity form only, cached pages, and the switch.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Resp, Site};

/// Text that compresses well, long enough to be worth it.
fn script() -> String {
    (0..400)
        .map(|i| format!("function f{i}(x) {{ return x + {i}; }} // 涨跌幅\n"))
        .collect()
}

fn site_with(extra: &str) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("static");
    common::fill_static(&root);
    std::fs::write(root.join("app.js"), script()).unwrap();
    std::fs::write(root.join("pic.png"), vec![7u8; 4096]).unwrap();
    // The static files' debug lines say each time a file is compressed.
    let log = [("RUST_LOG", "info,miniweb::server::static_files=debug")];
    Site::start_with(dir, extra, &[], &log).unwrap()
}

fn get(site: &Site, path: &str, headers: &[(&str, &str)]) -> Resp {
    site.request("GET", path, headers, b"")
}

fn unbr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn files_are_sent_in_the_coding_the_client_prefers() {
    let site = site_with("");
    let plain = get(&site, "/app.js", &[]);
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(plain.text(), script());
    let plain_etag = plain.header("ETag").unwrap().to_string();

    let br = get(
        &site,
        "/app.js",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(br.status, 200);
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    assert_eq!(br.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(
        br.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        br.header("Content-Length"),
        Some(br.body.len().to_string().as_str())
    );
    assert!(
        br.body.len() < script().len() / 5,
        "{} bytes",
        br.body.len()
    );
    assert_eq!(unbr(&br.body), script().as_bytes());
    let br_etag = br.header("ETag").unwrap().to_string();

    let gz = get(
        &site,
        "/app.js",
        &[("Accept-Encoding", "br;q=0.1, gzip;q=0.5")],
    );
    assert_eq!(gz.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.body), script().as_bytes());
    let gz_etag = gz.header("ETag").unwrap().to_string();
    assert!(plain_etag != br_etag && br_etag != gz_etag && plain_etag != gz_etag);

    for refuse in [
        "identity",
        "br;q=0, gzip;q=0",
        "deflate",
        "gzip;q=0.5, identity",
    ] {
        let r = get(&site, "/app.js", &[("Accept-Encoding", refuse)]);
        assert_eq!(r.header("Content-Encoding"), None, "{refuse}");
        assert_eq!(r.text(), script(), "{refuse}");
    }
    // Made once, not per request: the same bytes, and one compression of each coding.
    for _ in 0..3 {
        let again = get(&site, "/app.js", &[("Accept-Encoding", "br")]);
        assert_eq!(again.body, br.body);
        assert_eq!(again.header("ETag"), Some(br_etag.as_str()));
    }
    let log = site.log();
    assert_eq!(log.matches("app.js: br ").count(), 1, "{log}");
    assert_eq!(log.matches("app.js: gzip ").count(), 1, "{log}");
}

#[test]
fn each_coding_revalidates_with_its_own_etag() {
    let site = site_with("");
    let br = get(&site, "/app.js", &[("Accept-Encoding", "br")]);
    let br_etag = br.header("ETag").unwrap().to_string();
    let r = get(
        &site,
        "/app.js",
        &[("Accept-Encoding", "br"), ("If-None-Match", &br_etag)],
    );
    assert_eq!(r.status, 304);
    assert_eq!(r.header("ETag"), Some(br_etag.as_str()));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // The brotli validator does not validate the gzip form.
    let r = get(
        &site,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &br_etag)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    // HEAD tells the length of what a GET would send.
    let head = site.request("HEAD", "/app.js", &[("Accept-Encoding", "br")], b"");
    assert_eq!(
        head.header("Content-Length"),
        Some(br.body.len().to_string().as_str())
    );
    assert!(head.body.is_empty());
}

#[test]
fn ranges_are_served_from_the_identity_form() {
    let site = site_with("");
    let r = get(
        &site,
        "/app.js",
        &[("Accept-Encoding", "gzip, br"), ("Range", "bytes=0-99")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.body, &script().as_bytes()[..100]);
}

#[test]
fn images_and_small_files_go_out_as_they_are() {
    let site = site_with("");
    for path in ["/pic.png", "/style.css"] {
        let r = get(&site, path, &[("Accept-Encoding", "br, gzip")]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Encoding"), None, "{path}");
        assert_eq!(r.header("Vary"), None, "{path}");
    }
}

#[test]
fn precompressed_siblings_are_served_when_fresher() {
    // Compression off: whatever is compressed comes from a sibling.
    let site = site_with("compression = false\n");
    let root = site.dir.path().join("static");
    let r = get(&site, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), None);

    // A sibling made by the real gzip, after the file: picked up within a second or two.
    let status = Command::new("gzip")
        .args(["-k", "-9"])
        .arg(root.join("app.js"))
        .status()
        .expect("gzip runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let r = loop {
        let r = get(&site, "/app.js", &[("Accept-Encoding", "gzip, br")]);
        if r.header("Content-Encoding").is_some() || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(r.body, std::fs::read(root.join("app.js.gz")).unwrap());
    assert_eq!(gunzip(&r.body), script().as_bytes());
    assert!(r.header("ETag").unwrap().ends_with("-gz\""));

    // Older than the file: never served.
    let later = std::time::SystemTime::now() + Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(root.join("app.js"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let r = get(&site, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.text(), script());

    // A sibling that is a symlink out of the root is no sibling.
    std::fs::write(site.dir.path().join("evil.gz"), b"not yours").unwrap();
    std::fs::write(root.join("other.txt"), script()).unwrap();
    std::os::unix::fs::symlink(site.dir.path().join("evil.gz"), root.join("other.txt.gz")).unwrap();
    let r = get(&site, "/other.txt", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.text(), script());
}

#[test]
fn cached_pages_are_compressed_once_and_change_with_the_data() {
    let site = site_with("");
    let plain = get(&site, "/index.html", &[]);
    let br = get(&site, "/index.html", &[("Accept-Encoding", "br")]);
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    assert_eq!(br.header("Vary"), Some("Accept, Accept-Encoding"));
    assert_eq!(unbr(&br.body), plain.body);
    assert!(
        br.body.len() * 4 < plain.body.len(),
        "{} of {}",
        br.body.len(),
        plain.body.len()
    );
    let etag = br.header("ETag").unwrap().to_string();
    assert_ne!(Some(etag.as_str()), plain.header("ETag"));
    let r = get(
        &site,
        "/index.html",
        &[("Accept-Encoding", "br"), ("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    let gz = get(&site, "/index.html", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gunzip(&gz.body), plain.body);

    // A write makes a new page, and a new compressed form of it.
    let before = get(&site, "/center.html", &[("Accept-Encoding", "br")]);
    let etag = before.header("ETag").unwrap().to_string();
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let after = get(
        &site,
        "/center.html",
        &[("Accept-Encoding", "br"), ("If-None-Match", &etag)],
    );
    assert_eq!(after.status, 200, "the page changed with the data");
    assert_eq!(after.header("Content-Encoding"), Some("br"));
    assert!(String::from_utf8(unbr(&after.body))
        .unwrap()
        .contains("000036"));
}

#[test]
fn compression_false_sends_everything_as_it_is() {
    let site = site_with("compression = false\n");
    for path in ["/app.js", "/index.html"] {
        let r = get(&site, path, &[("Accept-Encoding", "br, gzip")]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Encoding"), None, "{path}");
    }
}

#[test]
fn curl_compressed_gets_the_original_bytes() {
    if !common::installed("curl", "--version", "curl") {
        return;
    }
    let site = site_with("");
    for (path, want) in [
        ("/app.js", script().into_bytes()),
        ("/index.html", get(&site, "/index.html", &[]).body),
    ] {
        let out = Command::new("curl")
            .args(["-s", "--compressed", "-D", "-", "-o"])
            .arg(site.dir.path().join("curl.out"))
            .arg(site.url(path))
            .output()
            .unwrap();
        let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(
            head.contains("content-encoding: br") || head.contains("content-encoding: gzip"),
            "{path}: {head}"
        );
        assert_eq!(
            std::fs::read(site.dir.path().join("curl.out")).unwrap(),
            want,
            "{path}"
        );
    }
}
