//! The server's HTTP/1.1 over real sockets: framing, keep-alive, pipelining, limits, errors,
//! the connection cap, shutdown and start-up.

mod common;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use common::{run_binary, site_with, Client, InProcess};
use miniweb::http::{Request, Response};
use miniweb::server::ServerConfig;

/// An app that describes what it received, and panics on `/panic.html`.
fn echo(req: &Request) -> Response {
    if req.path == "/panic.html" {
        panic!("the app fell over");
    }
    Response::text(
        200,
        format!(
            "{} {} {} body={}",
            req.method,
            req.path,
            req.query,
            String::from_utf8_lossy(&req.body.bytes().unwrap())
        ),
    )
}

/// A server with every folder feature on (`common::every_feature`), then `tweak`: the
/// protocol's limits and errors are the same with them.
fn start(app: impl miniweb::http::App, tweak: impl FnOnce(&mut ServerConfig)) -> InProcess {
    InProcess::start(app, |c| {
        common::every_feature(c);
        tweak(c)
    })
}

fn echo_server() -> InProcess {
    start(echo, |_| {})
}

#[test]
fn the_suites_servers_have_every_feature_on() {
    let s = echo_server();
    let mut c = s.client();
    let r = c.exchange("GET", "/hello.txt", &[("Origin", "https://a.example")], b"");
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(c.exchange("GET", "/private/x", &[], b"").status, 401);
    assert_eq!(c.exchange("GET", "/old/a", &[], b"").status, 301);
    assert_eq!(c.exchange("PUT", "/x.txt", &[], b"x").status, 401);
    assert_eq!(c.exchange("GET", "/metrics", &[], b"").status, 200);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let s = echo_server();
    let mut c = s.client();
    for i in 0..5 {
        let r = c.exchange("GET", &format!("/page{i}.html"), &[], b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("GET /page{i}.html  body="));
        assert_eq!(r.header("Connection"), None);
        assert_eq!(r.header("Server"), Some("miniweb"));
        assert!(r.header("Date").is_some());
    }
}

#[test]
fn fifty_pipelined_requests_in_one_write_are_answered_in_order() {
    let s = echo_server();
    let mut c = s.client();
    let mut all = Vec::new();
    for i in 0..50 {
        all.extend_from_slice(
            format!("GET /p{i}.html?n={i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
    }
    c.send(&all);
    for i in 0..50 {
        let r = c.read_response(false);
        assert_eq!(r.text(), format!("GET /p{i}.html n={i} body="));
    }
}

#[test]
fn a_request_sent_one_byte_at_a_time_works() {
    let s = echo_server();
    let mut c = s.client();
    c.stream.set_nodelay(true).unwrap();
    let req = b"POST /slow.html HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    for b in req.iter() {
        c.send(&[*b]);
        thread::sleep(Duration::from_millis(2));
    }
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "POST /slow.html  body=hello");
}

#[test]
fn chunked_bodies_are_decoded_for_the_app() {
    let s = echo_server();
    let mut c = s.client();
    c.send(b"POST /c.html HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.text(), "POST /c.html  body=hello, world");
    // The connection is still usable afterwards.
    assert_eq!(c.exchange("GET", "/after.html", &[], b"").status, 200);
}

#[test]
fn expect_100_continue_gets_an_interim_response() {
    let s = echo_server();
    let mut c = s.client();
    c.send(
        b"POST /e.html HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(c.read_response(false).status, 100);
    c.send(b"abc");
    assert_eq!(c.read_response(false).text(), "POST /e.html  body=abc");
}

/// Sends `raw` on a new connection and returns the status, checking the server closes.
fn status_and_close(s: &InProcess, raw: &[u8]) -> u16 {
    let mut c = s.client();
    c.send(raw);
    let r = c.read_response(false);
    assert_eq!(
        r.header("Connection"),
        Some("close"),
        "{}",
        String::from_utf8_lossy(raw)
    );
    assert!(
        c.closed_within(Duration::from_secs(3)),
        "server must close after {}",
        r.status
    );
    r.status
}

#[test]
fn each_limit_and_protocol_error_has_its_status() {
    let s = echo_server();
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(5000));
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(5000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
        (0..30).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_target.into_bytes(), 414),
        (long_header.into_bytes(), 431),
        (many_headers.into_bytes(), 431),
        (
            b"POST /x.html HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n".to_vec(),
            413,
        ),
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            400,
        ),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505),
        (
            b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
                .to_vec(),
            400,
        ),
        // Chunked not last: the length cannot be known (RFC 9112, section 6.3).
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".to_vec(),
            400,
        ),
        // Framed, but with a coding the server does not know.
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
        ),
        // An empty host is no authority (RFC 9110, section 4.2.1).
        (b"GET / HTTP/1.1\r\nHost: \r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n".to_vec(), 400),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n".to_vec(),
            417,
        ),
        (b"GET /%FF.html HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nHost: exa/mple\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nHost: t:8x\r\n\r\n".to_vec(), 400),
        (b"GET http://a b/ HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/3.0\r\nHost: t\r\n\r\n".to_vec(), 505),
        (b"GET / HTTP/1.x\r\nHost: t\r\n\r\n".to_vec(), 400),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello".to_vec(),
            400,
        ),
        (b"GET nohost HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
    ];
    for (raw, want) in cases {
        assert_eq!(
            status_and_close(&s, &raw),
            want,
            "{}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)])
        );
    }
}

#[test]
fn a_chunked_body_over_the_limit_is_413() {
    let s = echo_server();
    let mut c = s.client();
    c.send(b"POST /x.html HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 40000, "z".repeat(40000));
    c.send(chunk.as_bytes());
    let _ = c.stream.write_all(chunk.as_bytes());
    assert_eq!(c.read_response(false).status, 413);
}

#[test]
fn a_stalled_head_gets_408_and_an_idle_connection_is_closed() {
    let s = start(echo, |c| {
        c.header_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(1);
    });
    let mut c = s.client();
    c.send(b"GET /slow.html HTTP/1.1\r\nHost: t\r\n");
    let started = Instant::now();
    let r = c.read_response(false);
    assert_eq!(r.status, 408);
    assert!(started.elapsed() < Duration::from_secs(5));

    let mut idle = s.client();
    assert_eq!(idle.exchange("GET", "/a.html", &[], b"").status, 200);
    assert!(
        idle.closed_within(Duration::from_secs(5)),
        "idle keep-alive must be closed"
    );
}

#[test]
fn head_gets_the_get_headers_and_no_body() {
    let s = echo_server();
    let mut c = s.client();
    let r = c.exchange("HEAD", "/h.html", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("19"));
    let r = c.exchange("HEAD", "/hello.txt", &[], b"");
    assert_eq!(r.header("Content-Length"), Some("13"));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    // If a body had been sent, this next response would be misread.
    assert_eq!(
        c.exchange("GET", "/next.html", &[], b"").text(),
        "GET /next.html  body="
    );
}

#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let s = echo_server();
    let mut c = s.client();
    c.send(b"GET /a.html HTTP/1.0\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed_within(Duration::from_secs(3)));

    let mut c = s.client();
    c.send(b"GET /a.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        c.read_response(false).header("Connection"),
        Some("keep-alive")
    );
    c.send(b"GET /b.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "GET /b.html  body=");
}

#[test]
fn connection_close_is_honoured() {
    let s = echo_server();
    let mut c = s.client();
    assert_eq!(
        c.exchange("GET", "/a.html", &[("Connection", "close")], b"")
            .header("Connection"),
        Some("close")
    );
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn a_panicking_app_costs_one_500_and_the_next_request_is_served() {
    let s = echo_server();
    let mut c = s.client();
    let r = c.exchange("GET", "/panic.html", &[], b"");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("fell over"), "panic message leaked");
    assert_eq!(c.exchange("GET", "/fine.html", &[], b"").status, 200);
    let mut other = s.client();
    assert_eq!(other.exchange("GET", "/other.html", &[], b"").status, 200);
}

#[test]
fn a_later_http_1_minor_version_is_answered_as_http_1_1() {
    let s = echo_server();
    let mut c = s.client();
    c.send(b"GET /v.html HTTP/1.5\r\nHost: t\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "GET /v.html  body=");
}

#[test]
fn a_header_an_app_must_not_send_becomes_a_500() {
    let s = start(
        |req: &Request| {
            let evil = match req.path.as_str() {
                "/crlf.html" => ("X-Note", "a\r\nSet-Cookie: stolen=1"),
                "/nul.html" => ("X-Note", "a\0b"),
                _ => ("Bad Name", "v"),
            };
            Response::text(200, "hi").with_header(evil.0, evil.1)
        },
        |_| {},
    );
    let mut c = s.client();
    for path in ["/crlf.html", "/nul.html", "/name.html"] {
        let r = c.exchange("GET", path, &[], b"");
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(r.header("Set-Cookie"), None);
        assert_eq!(r.header("X-Note"), None);
    }
}

#[test]
fn absolute_form_targets_are_accepted() {
    let s = echo_server();
    let mut c = s.client();
    c.send(b"GET http://t/abs.html?q=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "GET /abs.html q=1 body=");
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let mut site = site_with("");
    let mut c = site.client();
    // The server answers 100 Continue once it has read the head: the request is in flight.
    c.send(b"POST /update/000007.html HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.read_response(false).status, 100);
    c.send(b"note=");
    site.sigterm();
    assert!(site.wait_for_log("shutting down", Duration::from_secs(5)));
    c.send(b"abcde");
    let r = c.read_response(false);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Connection"), Some("close"));
    let status = site
        .wait_exit(Duration::from_secs(10))
        .expect("server exits");
    assert_eq!(status.code(), Some(0), "{}", site.log());
}

#[test]
fn sigterm_closes_idle_connections_promptly() {
    let mut site = site_with("idle_timeout_secs = 60");
    let mut idle = site.client();
    assert_eq!(idle.exchange("GET", "/hello.txt", &[], b"").status, 200);
    site.sigterm();
    let status = site
        .wait_exit(Duration::from_secs(5))
        .expect("exits without waiting for the idle timeout");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_ports_exit_2_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    for port in ["abc", "70000", "-1"] {
        let (code, _, err) = run_binary(dir.path(), &[port]);
        assert_eq!(code, 2, "{port}: {err}");
        assert!(err.contains("usage:"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, out, _) = run_binary(dir.path(), &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage:"));
}

#[test]
fn an_address_in_use_is_named_and_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("static")).unwrap();
    let p = common::project();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "host = \"127.0.0.1\"\ntemplates_dir = {:?}\nmigrations_dir = {:?}\n",
            p.join("templates"),
            p.join("migrations")
        ),
    )
    .unwrap();
    let (code, _, err) = run_binary(dir.path(), &[&port.to_string()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("in use"), "{err}");
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "port = 8080\ncolour = \"red\"\n",
    )
    .unwrap();
    let (code, _, err) = run_binary(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("config.toml") && err.contains("colour"),
        "{err}"
    );
    let (code, _, err) = run_binary(dir.path(), &["--config", "missing.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn the_command_line_wins_over_the_environment_which_wins_over_the_file() {
    let start = |extra: &str, args: &[&str], env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        common::fill_static(&dir.path().join("static"));
        common::Site::start_with(dir, extra, args, env).unwrap()
    };
    let (from_env, from_line) = (common::free_port(), common::free_port());
    let env_port = from_env.to_string();
    let site = start("", &[], &[("MINIWEB_PORT", &env_port)]);
    assert_eq!(
        site.addr.port(),
        from_env,
        "the environment beats the file's port 0"
    );
    drop(site);
    let site = start(
        "",
        &[&from_line.to_string()],
        &[("MINIWEB_PORT", &env_port)],
    );
    assert_eq!(
        site.addr.port(),
        from_line,
        "the command line beats the environment"
    );
    drop(site);
    // The file says 127.0.0.1, the environment localhost (both loopbacks), --bind 127.0.0.1.
    let site = start("", &[], &[("MINIWEB_HOST", "localhost")]);
    assert!(
        site.wait_for_log("listening on http://[::1]", Duration::from_secs(5))
            || std::net::TcpListener::bind("[::1]:0").is_err()
    );
    drop(site);
    let site = start(
        "",
        &["--bind", "127.0.0.1"],
        &[("MINIWEB_HOST", "localhost")],
    );
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let v6 = std::net::SocketAddr::new("::1".parse().unwrap(), site.addr.port());
        assert!(
            std::net::TcpStream::connect(v6).is_err(),
            "--bind 127.0.0.1 must not listen on [::1]"
        );
    }
    // A bad value names its variable, before anything binds.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        common::run_binary_with_env(dir.path(), &[], &[("MINIWEB_MAX_CONNECTIONS", "lots")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("MINIWEB_MAX_CONNECTIONS"), "{err}");
    let (code, version, _) = run_binary(dir.path(), &["--version"]);
    assert_eq!(
        (code, version.trim()),
        (0, concat!("miniweb ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn localhost_listens_on_both_loopbacks_when_the_machine_has_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    common::fill_static(&dir.path().join("static"));
    let site = common::Site::start_in(dir, "host = \"localhost\"\n").unwrap();
    let log = site.log();
    assert!(log.contains("listening on http://127.0.0.1:"), "{log}");
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let port = site.addr.port();
        let mut c = Client::connect(format!("[::1]:{port}").parse().unwrap());
        assert_eq!(c.exchange("GET", "/hello.txt", &[], b"").status, 200);
    }
}
