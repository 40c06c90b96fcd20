//! Static files over the wire: types, validators and 304s, ranges, traversal, streaming.

mod common;

use common::{big_bytes, InProcess};
use miniweb::http::{App, Body, Request, Response};

/// A stand-in for a framework: pages for `/` and `*.html`, a JSON endpoint, and its own 404
/// page for every other path.
struct Site;

impl App for Site {
    fn call(&self, req: &Request) -> Response {
        match req.path.as_str() {
            "/api/hello.json" => Response::new(200)
                .with_header("Content-Type", "application/json")
                .with_body(Body::Bytes(
                    format!("{{\"method\":\"{}\"}}", req.method).into(),
                )),
            p if p == "/" || p.ends_with(".html") => Response::text(200, "app"),
            _ => Response::html(404, "<h1>app: no such page</h1>"),
        }
    }
}

fn server() -> InProcess {
    InProcess::start(Site, |_| {})
}

fn get(s: &InProcess, path: &str, headers: &[(&str, &str)]) -> common::Resp {
    s.client().exchange("GET", path, headers, b"")
}

#[test]
fn files_are_served_with_type_length_and_validators() {
    let s = server();
    let r = get(&s, "/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, world\n");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("Content-Length"), Some("13"));
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=60"));
    assert!(r.header("ETag").is_some_and(|e| e.starts_with('"')));
    assert!(r.header("Last-Modified").is_some());
    assert_eq!(
        get(&s, "/style.css", &[]).header("Content-Type"),
        Some("text/css; charset=utf-8")
    );
}

#[test]
fn chinese_file_names_work() {
    let s = server();
    let r = get(&s, "/%E4%B8%AD%E6%96%87.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "你好\n");
}

#[test]
fn etag_and_if_modified_since_give_304_without_a_body() {
    let s = server();
    let first = get(&s, "/hello.txt", &[]);
    let etag = first.header("ETag").unwrap();
    let modified = first.header("Last-Modified").unwrap();
    let r = get(&s, "/hello.txt", &[("If-None-Match", etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("ETag"), Some(etag));
    assert_eq!(
        get(&s, "/hello.txt", &[("If-Modified-Since", modified)]).status,
        304
    );
    assert_eq!(
        get(&s, "/hello.txt", &[("If-None-Match", "\"other\"")]).status,
        200
    );
    assert_eq!(
        get(
            &s,
            "/hello.txt",
            &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]
        )
        .status,
        200
    );
    // A precondition that does not hold is 412, on the server's own page.
    let mut c = s.client();
    let r = c.exchange("GET", "/hello.txt", &[("If-Match", "\"other\"")], b"");
    assert_eq!(r.status, 412);
    assert!(r.text().contains("412 Precondition Failed"), "{}", r.text());
    assert_eq!(get(&s, "/hello.txt", &[("If-Match", etag)]).status, 200);
    // If-None-Match wins over If-Modified-Since.
    assert_eq!(
        get(
            &s,
            "/hello.txt",
            &[
                ("If-None-Match", "\"other\""),
                ("If-Modified-Since", modified)
            ]
        )
        .status,
        200
    );
}

#[test]
fn single_ranges_give_206_and_bad_ones_416() {
    let s = server();
    let all = big_bytes();
    let r = get(&s, "/big.bin", &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &all[..100]);
    assert_eq!(
        r.header("Content-Range"),
        Some(&*format!("bytes 0-99/{}", all.len()))
    );
    let r = get(&s, "/big.bin", &[("Range", "bytes=-10")]);
    assert_eq!(r.body, &all[all.len() - 10..]);
    let r = get(&s, "/big.bin", &[("Range", "bytes=3000000-")]);
    assert_eq!(r.body, &all[3_000_000..]);
    let r = get(&s, "/big.bin", &[("Range", "bytes=99999999-")]);
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("Content-Range"),
        Some(&*format!("bytes */{}", all.len()))
    );
    // A garbled range is ignored: the whole file.
    assert_eq!(get(&s, "/hello.txt", &[("Range", "bytes=z-")]).status, 200);
}

#[test]
fn if_range_sends_everything_when_the_file_changed() {
    let s = server();
    let etag = get(&s, "/hello.txt", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let r = get(
        &s,
        "/hello.txt",
        &[("Range", "bytes=0-4"), ("If-Range", &etag)],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.text(), "hello");
    let r = get(
        &s,
        "/hello.txt",
        &[("Range", "bytes=0-4"), ("If-Range", "\"stale\"")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, world\n");
}

#[test]
fn large_files_arrive_whole() {
    let s = server();
    let r = get(&s, "/big.bin", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body == big_bytes(), "3 MiB body differs");
}

#[test]
fn traversal_over_the_wire_is_404() {
    let s = server();
    // A file beside the root that must never be served.
    std::fs::write(s.root.path().parent().unwrap().join("secret.txt"), "secret").ok();
    for path in [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/../../../../etc/passwd",
        "/sub/../../secret.txt",
        "/..\\secret.txt",
        "/.env",
        "/%2eenv",
        "/hello.txt%00.png",
    ] {
        let r = get(&s, path, &[]);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.text(), "<h1>app: no such page</h1>", "{path}");
        assert!(
            !r.text().contains("secret") && !r.text().contains("root:"),
            "{path}"
        );
    }
}

#[test]
fn paths_without_a_file_go_to_the_app_with_any_method() {
    let s = server();
    let mut c = s.client();
    let r = c.exchange("GET", "/nope.png", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "<h1>app: no such page</h1>");
    for method in ["GET", "POST", "DELETE"] {
        let r = c.exchange(method, "/api/hello.json", &[], b"");
        assert_eq!(r.status, 200, "{method}");
        assert_eq!(r.text(), format!("{{\"method\":\"{method}\"}}"));
    }
}

#[test]
fn files_come_first_whatever_their_extension() {
    let s = server();
    std::fs::write(s.root.path().join("about.html"), "<p>about, from disk</p>").unwrap();
    let r = get(&s, "/about.html", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<p>about, from disk</p>");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    // Other `.html` paths are still the app's pages.
    assert_eq!(get(&s, "/index.html", &[]).text(), "app");
    // A removed file hands its path back to the app.
    std::fs::remove_file(s.root.path().join("about.html")).unwrap();
    assert_eq!(get(&s, "/about.html", &[]).text(), "app");
}

#[test]
fn the_servers_own_errors_are_its_own_pages_never_the_apps() {
    let s = server();
    let mut c = s.client();
    let r = c.exchange("DELETE", "/hello.txt", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
    assert!(r.text().contains("405 Method Not Allowed"), "{}", r.text());
    assert!(
        !r.text().contains("app"),
        "the app was not asked: {}",
        r.text()
    );
    let r = c.exchange("GET", "/hello.txt", &[("Range", "bytes=999-")], b"");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */13"));
    assert!(
        r.text().contains("416 Range Not Satisfiable"),
        "{}",
        r.text()
    );
}

#[test]
fn directories_redirect_to_their_slash_and_serve_their_index() {
    let s = server();
    let r = get(&s, "/sub", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/sub/"));
    let r = get(&s, "/sub/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<p>sub index</p>\n");
    // `/` has no static index here, so it goes to the app; the index by its name is a file.
    assert_eq!(get(&s, "/", &[]).text(), "app");
    assert_eq!(get(&s, "/sub/index.html", &[]).text(), "<p>sub index</p>\n");
}

#[test]
fn other_methods_on_static_files_are_405_and_options_lists_allow() {
    let s = server();
    let mut c = s.client();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = c.exchange(method, "/hello.txt", &[], b"x=1");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
    }
    let r = c.exchange("OPTIONS", "/hello.txt", &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
}

#[test]
fn clients_that_leave_mid_download_leave_nothing_behind() {
    // A grace far longer than anything here should take: shutdown waits for every live
    // connection, so a download still stuck sending to a departed client would show.
    let s = InProcess::start(
        |_: &Request| Response::text(200, "app"),
        |c| c.shutdown_grace = std::time::Duration::from_secs(30),
    );
    let huge = std::fs::File::create(s.root.path().join("huge.bin")).unwrap();
    huge.set_len(256 << 20).unwrap();
    for _ in 0..5 {
        let mut c = s.client();
        c.send_request("GET", "/huge.bin", &[], b"");
        let mut head = [0u8; 100];
        let _ = std::io::Read::read(&mut c.stream, &mut head);
        drop(c);
    }
    assert_eq!(get(&s, "/hello.txt", &[]).status, 200);
    let stopping = std::time::Instant::now();
    drop(s);
    assert!(
        stopping.elapsed() < std::time::Duration::from_secs(10),
        "shutdown waited {:?} for connections whose clients had left",
        stopping.elapsed()
    );
}

#[test]
fn a_changed_or_removed_file_is_never_served_stale() {
    let s = server();
    let path = s.root.path().join("hello.txt");
    let first = get(&s, "/hello.txt", &[]);
    let etag = first.header("ETag").unwrap().to_string();

    // Same length, new content and modification time: the cache must notice.
    std::fs::write(&path, "HELLO, WORLD\n").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let r = get(&s, "/hello.txt", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 200, "the old ETag must not match the new file");
    assert_eq!(r.text(), "HELLO, WORLD\n");
    assert_ne!(r.header("ETag"), Some(etag.as_str()));

    // Replaced by a larger file (a new inode, as editors save).
    let tmp = s.root.path().join("hello.txt.new");
    std::fs::write(&tmp, "a longer greeting\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert_eq!(get(&s, "/hello.txt", &[]).text(), "a longer greeting\n");

    std::fs::remove_file(&path).unwrap();
    assert_eq!(get(&s, "/hello.txt", &[]).status, 404);
}

#[test]
fn an_aborted_download_logs_the_bytes_actually_sent() {
    let site = common::site();
    // Far more than socket buffers hold; sparse, so it costs no disk.
    let huge = std::fs::File::create(site.dir.path().join("static/huge.bin")).unwrap();
    huge.set_len(256 << 20).unwrap();
    let mut c = site.client();
    c.send_request("GET", "/huge.bin", &[], b"");
    let mut some = [0u8; 64 * 1024];
    let mut got = 0;
    while got < some.len() {
        got += std::io::Read::read(&mut c.stream, &mut some[got..]).unwrap();
    }
    drop(c);
    assert!(site.wait_for_log(
        "\"GET /huge.bin HTTP/1.1\" 200 ",
        std::time::Duration::from_secs(10)
    ));
    let log = site.log();
    let line = log.lines().find(|l| l.contains("GET /huge.bin")).unwrap();
    let bytes: u64 = line
        .split("\" 200 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count in {line}"));
    assert!(
        bytes > 0 && bytes < 256 << 20,
        "logged {bytes} bytes for an aborted download: {line}"
    );
}
