//! The course's steps (`course/examples/`, and `examples/` for the two that run on miniweb),
//! each run as a learner would run it and driven over loopback: what each one says it shows,
//! it shows. For the naive static server, each defect its comments mark is shown here,
//! beside the same request answered by miniweb.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::Duration;

/// The built example `name`, built with the others on first use (`cargo test` builds neither
/// the course package nor, when only this test is asked for, miniweb's examples).
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            common::cargo_build(&["build", "--examples", "-p", "miniweb", "-p", "course"])
        })
        .join("examples")
        .join(name)
}

/// Runs an example to its end: whether it succeeded, what it printed, what it complained.
fn run_status(name: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(example(name))
        .args(args)
        .current_dir(common::project())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Runs an example to its end, which must succeed, and returns what it printed.
fn run(name: &str, args: &[&str]) -> String {
    let (ok, out, err) = run_status(name, args);
    assert!(ok, "{name} {args:?}: {err}");
    out
}

/// An example serving in the background until dropped.
struct Serving {
    child: Child,
    addr: SocketAddr,
    /// What it prints after its first line, as it prints it.
    lines: Receiver<String>,
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
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Serving {
            child,
            addr,
            lines: rx,
        }
    }

    /// The next line it prints that starts with `prefix`, waiting at most ten seconds.
    fn line_starting(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("no line starting {prefix:?}: {e}"));
            if line.starts_with(prefix) {
                return line;
            }
        }
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

/// One client of an echo server: it connects, stays idle for `idle` (the span whose cost is
/// measured), sends a line and reads the echo, then leaves. Returns the server's loop count.
fn wake_ups_over_one_idle_client(server: &Serving, idle: Duration) -> u64 {
    let conn = server.connect();
    std::thread::sleep(idle);
    (&conn).write_all(b"ping\n").unwrap();
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line).unwrap();
    assert_eq!(line, "echo: ping\n");
    drop(conn);
    let report = server.line_starting("wake-ups: ");
    report["wake-ups: ".len()..].parse().unwrap()
}

#[test]
fn the_busy_loop_spins_while_idle_and_the_readiness_loop_waits() {
    let busy = Serving::start("nonblocking_echo", &["busy", "0"]);
    let spins = wake_ups_over_one_idle_client(&busy, Duration::from_millis(300));
    let poll = Serving::start("nonblocking_echo", &["poll", "0"]);
    let waits = wake_ups_over_one_idle_client(&poll, Duration::from_millis(300));
    // The busy loop ran without pause for 300 ms; the readiness loop woke for the client's
    // arrival, its line and its leaving (a few more if the kernel splits an event).
    assert!(spins > 10_000, "busy: {spins} wake-ups");
    assert!(waits <= 10, "poll: {waits} wake-ups");
}

#[test]
fn the_readiness_loop_serves_clients_side_by_side_on_one_thread() {
    let poll = Serving::start("nonblocking_echo", &["poll", "0"]);
    let idle = poll.connect();
    assert_eq!(
        echo_within(&poll, Duration::from_secs(5)).as_deref(),
        Some("echo: ping"),
        "a second client is served while the first is connected"
    );
    (&idle).write_all(b"still here\n").unwrap();
    let mut line = String::new();
    BufReader::new(&idle).read_line(&mut line).unwrap();
    assert_eq!(line, "echo: still here\n");
}

#[test]
fn hmac_auth_lets_in_the_key_holder_only() {
    let server = Serving::start("hmac_auth", &["server", "0", "our-secret"]);
    let addr = server.addr.to_string();
    let out = run("hmac_auth", &["client", &addr, "our-secret", "你好"]);
    assert_eq!(out.trim(), "welcome: 你好");
    assert!(server.line_starting("127.0.0.1:").ends_with("let in"));

    let out = run("hmac_auth", &["client", &addr, "a-guess", "你好"]);
    assert_eq!(out.trim(), "refused");
    assert!(server
        .line_starting("127.0.0.1:")
        .ends_with("refused, wrong key"));

    // An answer that is not an HMAC of this challenge (say, one replayed from an earlier
    // exchange) is refused the same way.
    let mut conn = server.connect();
    let mut challenge = [0u8; 32];
    conn.read_exact(&mut challenge).unwrap();
    conn.write_all(&[0u8; 32]).unwrap();
    conn.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "refused");
}

#[test]
fn hmac_auth_sends_a_new_challenge_each_time() {
    let server = Serving::start("hmac_auth", &["server", "0", "our-secret"]);
    let challenge = || {
        let mut conn = server.connect();
        let mut c = [0u8; 32];
        conn.read_exact(&mut c).unwrap();
        c
    };
    assert_ne!(challenge(), challenge());
}

#[test]
fn threading_tcp_server_gives_each_client_its_own_handler() {
    let server = Serving::start("threading_tcp_server", &["0"]);
    let first = server.connect();
    let second = server.connect();
    // The second is answered while the first has sent nothing: a thread each.
    (&second).write_all(b"hi\n").unwrap();
    let mut line = String::new();
    BufReader::new(&second).read_line(&mut line).unwrap();
    let me = second.local_addr().unwrap();
    assert_eq!(line, format!("{me} says HI\n"));
    (&first).write_all(b"hello\n").unwrap();
    let mut line = String::new();
    BufReader::new(&first).read_line(&mut line).unwrap();
    assert_eq!(
        line,
        format!("{} says HELLO\n", first.local_addr().unwrap())
    );
    drop(second);
    // finish() runs once the client has gone.
    server.line_starting(&format!("{me} left"));
}

/// The names in `folder`.
fn names_in(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn file_transfer_delivers_a_file_whole_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.bin");
    let bytes = common::big_bytes();
    std::fs::write(&file, &bytes).unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();

    let sender = Serving::start("file_transfer", &["send", "0", file.to_str().unwrap()]);
    let out = run(
        "file_transfer",
        &["receive", &sender.addr.to_string(), inbox.to_str().unwrap()],
    );
    assert!(
        out.starts_with(&format!("received prices.bin: {} bytes", bytes.len())),
        "{out}"
    );
    assert!(out.trim_end().ends_with("matches"), "{out}");
    assert_eq!(std::fs::read(inbox.join("prices.bin")).unwrap(), bytes);
    assert_eq!(names_in(&inbox), ["prices.bin"]);
}

/// A sender of our own on a free port, that sends `bytes` to the first client and closes.
fn sends_once(bytes: Vec<u8>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let _ = conn.write_all(&bytes);
    });
    addr
}

/// A file_transfer header (length in network order, then the three lines), then `data`.
fn transfer(name: &str, size: u64, digest: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{name}\n{size}\n{digest}\n");
    let mut bytes = (header.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The SHA-256 of nothing.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn file_transfer_leaves_nothing_of_a_broken_transfer() {
    let inbox = tempfile::tempdir().unwrap();
    let into = inbox.path().to_str().unwrap();
    let cases = [
        (
            "cut short",
            transfer("a.txt", 1000, EMPTY_SHA256, b"only ten b"),
        ),
        ("wrong checksum", transfer("a.txt", 3, EMPTY_SHA256, b"abc")),
        ("a huge header", u32::MAX.to_be_bytes().to_vec()),
        (
            "a header of one line",
            [&6u32.to_be_bytes()[..], b"a.txt\n"].concat(),
        ),
    ];
    for (what, bytes) in cases {
        let addr = sends_once(bytes).to_string();
        let (ok, _, err) = run_status("file_transfer", &["receive", &addr, into]);
        assert!(!ok, "{what}: it succeeded");
        assert!(!err.is_empty(), "{what}: it said nothing");
        assert!(
            names_in(inbox.path()).is_empty(),
            "{what}: {:?}",
            names_in(inbox.path())
        );
    }
}

#[test]
fn file_transfer_keeps_only_the_last_component_of_the_senders_name() {
    let top = tempfile::tempdir().unwrap();
    let inbox = top.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let addr = sends_once(transfer("../../evil.txt", 0, EMPTY_SHA256, b"")).to_string();
    run(
        "file_transfer",
        &["receive", &addr, inbox.to_str().unwrap()],
    );
    assert_eq!(names_in(&inbox), ["evil.txt"]);
    assert_eq!(names_in(top.path()), ["inbox"]);

    let addr = sends_once(transfer(".bashrc", 0, EMPTY_SHA256, b"")).to_string();
    let (ok, _, _) = run_status(
        "file_transfer",
        &["receive", &addr, inbox.to_str().unwrap()],
    );
    assert!(!ok, "a hidden name is refused");
    assert_eq!(names_in(&inbox), ["evil.txt"]);
}

/// A server of our own that takes one request, hands its bytes to the test, and answers
/// `answer`.
fn records_one_request(answer: &'static [u8]) -> (SocketAddr, Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(&conn);
        let mut request = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.trim().parse().unwrap();
            }
            request.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        request.push_str(&String::from_utf8_lossy(&body));
        (&conn).write_all(answer).unwrap();
        let _ = tx.send(request);
    });
    (addr, rx)
}

#[test]
fn http_client_sends_what_requests_would() {
    let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let (addr, got) = records_one_request(plain);
    let url = format!("http://{addr}/search?x=1");
    let out = run(
        "http_client",
        &["get", &url, "q=茅台 a&b", "-H", "Accept: application/json"],
    );
    let request = got.recv().unwrap();
    assert!(
        request.starts_with("GET /search?x=1&q=%E8%8C%85%E5%8F%B0%20a%26b HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("\r\nHost: {addr}\r\n")),
        "{request}"
    );
    assert!(
        request.contains("\r\nAccept: application/json\r\n"),
        "{request}"
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\n"), "{out}");
    assert!(out.trim_end().ends_with("\n\nok"), "{out}");

    let (addr, got) = records_one_request(plain);
    run(
        "http_client",
        &[
            "post-form",
            &format!("http://{addr}/add"),
            "code=000036",
            "note=好",
        ],
    );
    let request = got.recv().unwrap();
    assert!(request.starts_with("POST /add HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert!(
        request.ends_with("\r\n\r\ncode=000036&note=%E5%A5%BD"),
        "{request}"
    );

    let (addr, got) = records_one_request(plain);
    run(
        "http_client",
        &["post-json", &format!("http://{addr}/api"), r#"{"a": 1}"#],
    );
    let request = got.recv().unwrap();
    assert!(request.contains("\r\nContent-Type: application/json\r\nContent-Length: 8\r\n"));
    assert!(request.ends_with("\r\n\r\n{\"a\": 1}"), "{request}");
}

#[test]
fn http_client_reads_a_chunked_answer() {
    let (addr, _got) = records_one_request(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
    );
    let out = run("http_client", &["get", &format!("http://{addr}/")]);
    assert!(out.trim_end().ends_with("\n\nhello world"), "{out}");
}

#[test]
fn http_client_gives_up_at_its_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    // Accepted by the kernel, never answered.
    let (ok, _, err) = run_status("http_client", &["get", &url, "--timeout", "0.3"]);
    assert!(!ok);
    assert!(err.starts_with("http_client: "), "{err}");
    drop(listener);
}

#[test]
fn http_client_downloads_from_miniweb_to_a_file() {
    let site = common::site();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("big.bin");
    let out = run(
        "http_client",
        &["download", &site.url("/big.bin"), saved.to_str().unwrap()],
    );
    let bytes = common::big_bytes();
    assert!(out.starts_with("HTTP/1.1 200 OK\n"), "{out}");
    assert!(
        out.contains(&format!("saved {} bytes", bytes.len())),
        "{out}"
    );
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);

    let out = run("http_client", &["get", &site.url("/hello.txt")]);
    assert!(out.trim_end().ends_with("hello, world"), "{out}");
}
