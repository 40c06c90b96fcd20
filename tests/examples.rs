//! The course's steps in `examples/`, each run as a learner would run it and driven over
//! loopback: what each one says it shows, it shows. For the naive static server, each defect
//! its comments mark is shown here, beside the same request answered by miniweb.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The built example `name`, built with the others on first use (`cargo test` alone does not
/// build examples when only this test is asked for).
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| common::cargo_build(&["build", "--examples"]))
        .join("examples")
        .join(name)
}

/// Runs an example to its end and returns what it printed.
fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .current_dir(common::project())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An example serving in the background until dropped.
struct Serving {
    child: Child,
    addr: SocketAddr,
}

impl Serving {
    /// Starts `name` with `args` and waits for its `listening on ADDR` line.
    fn start(name: &str, args: &[&str]) -> Serving {
        let mut child = Command::new(example(name))
            .args(args)
            .current_dir(common::project())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{name} said {first:?}"))
            .parse()
            .unwrap();
        // Keep draining what it prints, so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serving { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(self.addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn
    }

    /// Sends `request` whole and reads until the server closes.
    fn exchange(&self, request: &[u8]) -> String {
        let mut conn = self.connect();
        conn.write_all(request).unwrap();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tcp_echo_sends_text_as_bytes_and_back() {
    let server = Serving::start("tcp_echo", &["server", "0"]);
    let out = run(
        "tcp_echo",
        &["client", &server.addr.to_string(), "你好, TCP"],
    );
    assert_eq!(out.trim(), "echo: 你好, TCP");
}

#[test]
fn sticky_packets_glue_without_framing_and_not_with_it() {
    let out = run("sticky_packets", &[]);
    assert!(out.contains("one recv got \"helloworld!\""), "{out}");
    assert!(
        out.contains(r#"framed: 3 messages ["hello", "world", "!"]"#),
        "{out}"
    );
    assert!(
        out.contains("file of 100000 bytes received whole: true"),
        "{out}"
    );
}

#[test]
fn udp_echo_keeps_each_datagram_whole() {
    let server = Serving::start("udp_echo", &["server", "0"]);
    let out = run(
        "udp_echo",
        &["client", &server.addr.to_string(), "你好", "世界"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["echo: 你好", "echo: 世界"]);
}

/// Sends a line on a new connection and waits for its echo, at most `limit`.
fn echo_within(server: &Serving, limit: Duration) -> Option<String> {
    let conn = server.connect();
    conn.set_read_timeout(Some(limit)).unwrap();
    (&conn).write_all(b"ping\n").unwrap();
    let mut line = String::new();
    match BufReader::new(&conn).read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim().to_string()),
        _ => None,
    }
}

#[test]
fn one_idle_client_blocks_the_single_threaded_server_but_not_the_threaded_one() {
    let single = Serving::start("threaded_server", &["single", "0"]);
    let idle = single.connect();
    assert_eq!(
        echo_within(&single, Duration::from_millis(500)),
        None,
        "the second client waits while the first is connected"
    );
    drop(idle);

    let threaded = Serving::start("threaded_server", &["threaded", "0"]);
    let _idle = threaded.connect();
    assert_eq!(
        echo_within(&threaded, Duration::from_secs(5)).as_deref(),
        Some("echo: ping")
    );
}

/// The naive server and miniweb, both serving a root with `hello.txt`, and a secret beside
/// the root.
struct Both {
    _dir: tempfile::TempDir,
    naive: Serving,
    miniweb: common::Site,
}

fn both() -> Both {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("static");
    common::fill_static(&root);
    std::fs::write(
        dir.path().join("secret.txt"),
        "the secret beside the root\n",
    )
    .unwrap();
    let naive = Serving::start("naive_static_server", &["0", root.to_str().unwrap()]);
    let site_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(site_dir.path().join("static")).unwrap();
    common::fill_static(&site_dir.path().join("static"));
    std::fs::write(
        site_dir.path().join("secret.txt"),
        "the secret beside the root\n",
    )
    .unwrap();
    let miniweb = common::Site::start_in(site_dir, "").unwrap();
    Both {
        _dir: dir,
        naive,
        miniweb,
    }
}

#[test]
fn the_naive_server_serves_files_in_a_browser() {
    let b = both();
    let answer = b
        .naive
        .exchange(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("hello, world\n"), "{answer}");
}

#[test]
fn defect_the_naive_server_serves_files_outside_its_root() {
    let b = both();
    let answer = b
        .naive
        .exchange(b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.contains("the secret beside the root"), "{answer}");
    assert_eq!(b.miniweb.get("/../secret.txt").status, 404);
}

#[test]
fn defect_the_naive_server_sends_no_content_type_or_length() {
    let b = both();
    let answer = b
        .naive
        .exchange(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = answer
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        !head.contains("content-type") && !head.contains("content-length"),
        "{head}"
    );
    let r = b.miniweb.get("/style.css");
    assert_eq!(r.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.header("Content-Length"), Some("20"));
}

#[test]
fn defect_the_naive_server_takes_one_recv_for_a_whole_request() {
    let b = both();
    // The request line in two packets, as a slow network may deliver it.
    let mut conn = b.naive.connect();
    conn.set_nodelay(true).unwrap();
    conn.write_all(b"GET /hel").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _ = conn.write_all(b"lo.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "it looked for /hel: {answer}"
    );

    let mut c = b.miniweb.client();
    c.stream.set_nodelay(true).unwrap();
    c.send(b"GET /hel");
    std::thread::sleep(Duration::from_millis(200));
    c.send(b"lo.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "hello, world\n");
}

#[test]
fn defect_the_naive_server_answers_every_method_with_the_file_and_every_failure_with_404() {
    let b = both();
    let answer = b
        .naive
        .exchange(b"DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let answer = b.naive.exchange(b"GARBAGE\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    let r = b.miniweb.request("DELETE", "/hello.txt", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
    let mut c = b.miniweb.client();
    c.send(b"GARBAGE\r\n\r\n");
    assert_eq!(c.read_response(false).status, 400);
}

/// One request to a server that answers with `Content-Length`.
fn get(addr: SocketAddr, path: &str) -> common::Resp {
    common::Client::connect(addr).exchange("GET", path, &[], b"")
}

#[test]
fn hello_app_is_a_closure_on_miniweb_s_server() {
    let app = Serving::start("hello_app", &["0"]);
    let r = get(app.addr, "/hello.html?name=world");
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.starts_with("Hello world!"), "{text}");
    assert!(text.contains("PATH_INFO = /hello.html"), "{text}");
    assert!(text.contains("QUERY_STRING = name=world"), "{text}");
    // Files are still the server's own.
    assert_eq!(get(app.addr, "/hello.txt").status, 200);
}

#[test]
fn tiny_framework_routes_by_a_table_on_the_same_server() {
    let app = Serving::start("tiny_framework", &["0"]);
    assert!(get(app.addr, "/index.html")
        .text()
        .contains("<h1>Stocks</h1>"));
    assert!(get(app.addr, "/center.html")
        .text()
        .contains("Personal centre"));
    assert_eq!(get(app.addr, "/nope.html").status, 404);
}
