//! HTTPS of miniweb's own: certificates made at test time (rcgen), the real binary, and two
//! clients: curl (OpenSSL) and rustls. The hostile clients of the plain-HTTP tests come back
//! over TLS: a handshake that never ends, garbage instead of a ClientHello, a request record
//! trickled a byte at a time.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{big_bytes, fill_static, free_port, run_binary, Client, Site};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned, SupportedProtocolVersion};

/// A self-signed certificate for `localhost` and 127.0.0.1: (certificate PEM, key PEM, DER).
fn certificate() -> (String, String, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    (
        made.cert.pem(),
        made.signing_key.serialize_pem(),
        made.cert.der().clone(),
    )
}

/// A folder with the test files and `cert.pem`/`key.pem`.
fn tls_dir(cert: &str, key: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fill_static(&dir.path().join("static"));
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    dir
}

const TLS_CONFIG: &str = "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n";

/// A site serving HTTPS with a fresh certificate; also returns the certificate.
fn https_site(extra: &str) -> (Site, CertificateDer<'static>) {
    let (cert, key, der) = certificate();
    let site = Site::start_in(tls_dir(&cert, &key), &format!("{TLS_CONFIG}{extra}"))
        .expect("server starts");
    assert!(
        site.log().contains("listening on https://"),
        "{}",
        site.log()
    );
    (site, der)
}

/// rustls's client settings trusting `ca`, for one TLS version, offering h2 before http/1.1.
fn client_config(
    ca: &CertificateDer<'static>,
    version: &'static SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A TLS connection to `site` as `localhost`, handshake done: the raw client over it, and what
/// was agreed (version, ALPN, the server's certificate).
fn tls_client(site: &Site, config: Arc<ClientConfig>) -> (Client, Agreed) {
    let tcp = TcpStream::connect(site.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config, name).unwrap();
    let mut tls = StreamOwned::new(conn, tcp.try_clone().unwrap());
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("handshake");
    }
    let agreed = Agreed {
        version: tls.conn.protocol_version(),
        alpn: tls.conn.alpn_protocol().map(|p| p.to_vec()),
        cert: tls
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec()),
    };
    (Client::over(tcp, Box::new(tls)), agreed)
}

struct Agreed {
    version: Option<rustls::ProtocolVersion>,
    alpn: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
}

/// curl (OpenSSL) against the site as `https://localhost:PORT`, trusting `cert.pem`.
fn curl(site: &Site, args: &[&str], path: &str) -> Option<std::process::Output> {
    let port = site.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}{path}");
    let cacert = site.dir.path().join("cert.pem");
    Command::new("curl")
        .args(["-sS", "--max-time", "10", "--resolve", &resolve, "--cacert"])
        .arg(&cacert)
        .args(args)
        .arg(&url)
        .output()
        .ok()
}

#[test]
fn curl_gets_pages_and_files_over_tls_1_2_and_1_3() {
    let (site, _) = https_site("");
    let Some(probe) = curl(&site, &["--version"], "/") else {
        println!("skipped: curl is not installed (the HTTPS tests with curl need it)");
        return;
    };
    assert!(probe.status.success());
    for version in [
        ["--tlsv1.2", "--tls-max", "1.2"],
        ["--tlsv1.3", "--tls-max", "1.3"],
    ] {
        let out = curl(
            &site,
            &[
                &version[..],
                &["-w", "\n%{http_code} %{http_version} %{ssl_verify_result}"],
            ]
            .concat(),
            "/index.html",
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.ends_with("\n200 1.1 0"),
            "{version:?}: {}",
            &text[text.len() - 40..]
        );
        assert!(text.contains("<table"), "the stock page: {text}");
    }
    // A file goes through TLS (no sendfile) byte for byte, and the log line is the usual one.
    let out = curl(&site, &[], "/big.bin").unwrap();
    assert!(out.status.success());
    assert!(out.stdout == big_bytes(), "big.bin came back changed");
    assert!(site.wait_for_log(
        "\"GET /big.bin HTTP/1.1\" 200 3145728",
        Duration::from_secs(5)
    ));
}

#[test]
fn a_form_posted_from_the_https_page_passes_the_origin_check() {
    let (site, _) = https_site("");
    let port = site.addr.port();
    let Some(_) = curl(&site, &["--version"], "/") else {
        println!("skipped: curl is not installed");
        return;
    };
    let post = |origin: &str| {
        let out = curl(
            &site,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                &format!("Origin: {origin}"),
                "--data",
                "note=x",
            ],
            "/add/000036.html",
        )
        .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The same host in clear is another origin.
    assert_eq!(post(&format!("http://localhost:{port}")), "403");
    // The browser on https://localhost:PORT names that origin: the site is that origin.
    assert_eq!(post(&format!("https://localhost:{port}")), "303");
}

#[test]
fn rust_client_on_both_versions_keep_alive_pipelining_and_alpn() {
    let (site, der) = https_site("");
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let (mut client, agreed) = tls_client(&site, client_config(&der, version));
        assert_eq!(agreed.version, Some(version.version));
        // The client offered h2 first: the server speaks HTTP/1.1 and says so.
        assert_eq!(agreed.alpn.as_deref(), Some(&b"http/1.1"[..]));
        // Keep-alive: several requests on one connection, two of them pipelined.
        let first = client.exchange("GET", "/hello.txt", &[], b"");
        assert_eq!(
            (first.status, first.text().as_str()),
            (200, "hello, world\n")
        );
        client.send(
            b"GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n",
        );
        let css = client.read_response(false);
        assert_eq!(css.text(), "body { color: red }\n");
        let head = client.read_response(true);
        assert_eq!(head.header("Content-Length"), Some("3145728"));
        let range = client.exchange(
            "GET",
            "/big.bin",
            &[("Range", "bytes=1000000-1000099")],
            b"",
        );
        assert_eq!(range.status, 206);
        assert_eq!(range.body, big_bytes()[1_000_000..1_000_100]);
        let page = client.exchange("GET", "/index.html", &[], b"");
        assert_eq!(page.status, 200);
        assert!(page.text().contains("<table"));
        let big = client.exchange("GET", "/big.bin", &[], b"");
        assert!(big.body == big_bytes());
    }
}

#[test]
fn plain_http_to_the_https_port_is_sent_to_https() {
    let (site, _) = https_site("");
    let resp = site.get("/index.html?x=1");
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.header("Location"),
        Some(format!("https://test:{}/index.html?x=1", site.addr.port()).as_str())
    );
}

#[test]
fn http_redirect_port_sends_everything_to_https() {
    let (cert, key, _) = certificate();
    let redirect = free_port();
    let site = Site::start_in(
        tls_dir(&cert, &key),
        &format!("{TLS_CONFIG}http_redirect_port = {redirect}\n"),
    )
    .expect("server starts");
    let port = site.addr.port();
    // Logged after the HTTPS listener's line, which is all `start_in` waits for.
    assert!(site.wait_for_log(
        &format!("redirecting to https on port {port}"),
        Duration::from_secs(5)
    ));
    let plain = std::net::SocketAddr::new(site.addr.ip(), redirect);
    // The client's Host is `test` (no port): the same name, the HTTPS port.
    let get = Client::connect(plain).exchange("GET", "/stock?q=1", &[], b"");
    assert_eq!(get.status, 301);
    assert_eq!(
        get.header("Location"),
        Some(format!("https://test:{port}/stock?q=1").as_str())
    );
    // A POST keeps its method and body with 308.
    let post = Client::connect(plain).exchange("POST", "/add/000007.html", &[], b"x=1");
    assert_eq!(post.status, 308);
    // HTTP/1.0 may come without Host: there is no name to redirect to, so no `https://:PORT`.
    let mut bare = Client::connect(plain);
    bare.send(b"GET / HTTP/1.0\r\n\r\n");
    let answer = bare.read_response(false);
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("Location"), None);
    // An empty Host is refused before anything else (RFC 9110, section 4.2.1).
    let mut empty = Client::connect(plain);
    empty.send(b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n");
    assert_eq!(empty.read_response(false).status, 400);
}

#[test]
fn a_handshake_that_never_ends_is_cut_at_the_header_timeout() {
    let (site, der) = https_site("header_timeout_secs = 1\n");
    // Half a ClientHello: the record header promises 512 bytes, 10 come.
    let mut slow = Client::connect(site.addr);
    slow.send(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
    let mut silent = Client::connect(site.addr);
    let started = Instant::now();
    // Meanwhile the server serves others.
    let (mut client, _) = tls_client(&site, client_config(&der, &rustls::version::TLS13));
    assert_eq!(client.exchange("GET", "/hello.txt", &[], b"").status, 200);
    assert!(
        slow.closed_within(Duration::from_secs(4)),
        "half a ClientHello kept the connection"
    );
    assert!(
        silent.closed_within(Duration::from_secs(4)),
        "a silent client kept the connection"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(site.wait_for_log(
        "TLS handshake failed: handshake not over in time",
        Duration::from_secs(2)
    ));
}

#[test]
fn garbage_instead_of_a_client_hello_gets_an_alert_and_a_close() {
    let (site, der) = https_site("");
    for garbage in [
        // A handshake record of nonsense.
        &[0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00][..],
        // Not a TLS record at all.
        &[0x00, 0xff, 0x13, 0x37, 0x00, 0x00, 0x00, 0x00][..],
        // An application-data record before any handshake.
        &[0x17, 0x03, 0x03, 0x00, 0x03, 0x01, 0x02, 0x03][..],
    ] {
        let mut client = Client::connect(site.addr);
        client.send(garbage);
        let answer = client
            .read_to_close(Duration::from_secs(5))
            .expect("closed");
        // A fatal alert record (content type 21), or nothing if the socket was reset first.
        assert!(
            answer.is_empty() || answer[0] == 0x15,
            "{garbage:?} got {answer:?}"
        );
    }
    assert!(site.wait_for_log("TLS handshake failed", Duration::from_secs(2)));
    // And the server still serves.
    let (mut client, _) = tls_client(&site, client_config(&der, &rustls::version::TLS12));
    assert_eq!(client.exchange("GET", "/hello.txt", &[], b"").status, 200);
}

#[test]
fn a_request_record_trickled_byte_by_byte_gets_no_more_time() {
    let (site, der) = https_site("header_timeout_secs = 2\n");
    let (client, _) = tls_client(&site, client_config(&der, &rustls::version::TLS13));
    let mut tcp = client.stream.try_clone().unwrap();
    // The request encrypted into records by a client connection of its own would need the
    // session keys; instead the handshaken connection's socket gets the record header of a
    // 200-byte application-data record and then one byte every 100 ms: every read brings
    // bytes, none brings a whole record, so no byte of the request is ever decrypted.
    tcp.write_all(&[0x17, 0x03, 0x03, 0x00, 0xc8]).unwrap();
    let started = Instant::now();
    let mut writer = tcp.try_clone().unwrap();
    thread::spawn(move || {
        for _ in 0..60 {
            thread::sleep(Duration::from_millis(100));
            if writer.write_all(&[0x42]).is_err() {
                return;
            }
        }
    });
    // The server gives up at the header timeout: its FIN comes then, whatever still trickles.
    let mut raw = Client::over(tcp.try_clone().unwrap(), Box::new(tcp));
    assert!(
        raw.read_to_close(Duration::from_secs(5)).is_some(),
        "still open after 5 s"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the trickle kept the connection for {took:?}"
    );
}

/// The DER of the certificate the site presents to a new connection.
fn presented(site: &Site, ca: &CertificateDer<'static>) -> Vec<u8> {
    tls_client(site, client_config(ca, &rustls::version::TLS13))
        .1
        .cert
        .unwrap()
}

fn sighup(site: &Site) {
    let pid = site.pid().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
}

#[test]
fn sighup_reloads_the_certificate_and_keeps_the_old_one_when_the_new_is_bad() {
    let (site, first) = https_site("");
    assert_eq!(presented(&site, &first), first.to_vec());
    // A connection opened before the renewal.
    let (mut old, _) = tls_client(&site, client_config(&first, &rustls::version::TLS12));
    assert_eq!(old.exchange("GET", "/hello.txt", &[], b"").status, 200);

    let (cert, key, second) = certificate();
    std::fs::write(site.dir.path().join("cert.pem"), &cert).unwrap();
    std::fs::write(site.dir.path().join("key.pem"), &key).unwrap();
    sighup(&site);
    assert!(site.wait_for_log(
        "SIGHUP: TLS certificate and key reloaded",
        Duration::from_secs(5)
    ));
    assert_eq!(presented(&site, &second), second.to_vec());
    // The old connection carries on.
    assert_eq!(old.exchange("GET", "/style.css", &[], b"").status, 200);

    // A broken renewal (the key of another certificate) is refused; the good one stays.
    let (_, other_key, _) = certificate();
    std::fs::write(site.dir.path().join("key.pem"), other_key).unwrap();
    sighup(&site);
    assert!(site.wait_for_log(
        "SIGHUP: keeping the current certificate: tls_key",
        Duration::from_secs(5)
    ));
    assert_eq!(presented(&site, &second), second.to_vec());
}

/// Starts the binary in a folder with these files and config, expecting it to refuse.
fn refuses(cert: Option<&str>, key: Option<&str>, config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fill_static(&dir.path().join("static"));
    if let Some(cert) = cert {
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    }
    if let Some(key) = key {
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
    }
    let p = common::project();
    let full = format!(
        "port = 0\nhost = \"127.0.0.1\"\ntemplates_dir = {:?}\nmigrations_dir = {:?}\n{config}",
        p.join("templates"),
        p.join("migrations")
    );
    std::fs::write(dir.path().join("config.toml"), full).unwrap();
    let (code, _, stderr) = run_binary(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    stderr
}

#[test]
fn start_up_names_a_missing_mismatched_or_unreadable_certificate() {
    let (cert, key, _) = certificate();
    let (_, other_key, _) = certificate();
    let missing = refuses(Some(&cert), None, TLS_CONFIG);
    assert!(
        missing.contains("tls_key") && missing.contains("key.pem"),
        "{missing}"
    );
    assert!(missing.contains("No such file"), "{missing}");

    let mismatched = refuses(Some(&cert), Some(&other_key), TLS_CONFIG);
    assert!(
        mismatched.contains("is not the private key of the certificate"),
        "{mismatched}"
    );

    let not_pem = refuses(Some("hello"), Some(&key), TLS_CONFIG);
    assert!(
        not_pem.contains("tls_cert") && not_pem.contains("BEGIN CERTIFICATE"),
        "{not_pem}"
    );

    let key_for_cert = refuses(Some(&key), Some(&key), TLS_CONFIG);
    assert!(key_for_cert.contains("BEGIN CERTIFICATE"), "{key_for_cert}");

    let half = refuses(Some(&cert), Some(&key), "tls_cert = \"cert.pem\"\n");
    assert!(half.contains("tls_cert needs tls_key"), "{half}");

    let redirect_alone = refuses(None, None, "http_redirect_port = 8081\n");
    assert!(
        redirect_alone.contains("needs tls_cert and tls_key"),
        "{redirect_alone}"
    );
}

#[test]
fn a_key_that_cannot_be_read_is_named() {
    // A folder in place of the key file: a read error, whoever runs the test.
    let (cert, _, _) = certificate();
    let dir = tls_dir(&cert, "");
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    std::fs::create_dir(dir.path().join("key.pem")).unwrap();
    let path: &Path = dir.path();
    std::fs::write(
        path.join("config.toml"),
        format!("port = 0\nhost = \"127.0.0.1\"\n{TLS_CONFIG}"),
    )
    .unwrap();
    let (code, _, stderr) = run_binary(path, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("tls_key") && stderr.contains("key.pem"),
        "{stderr}"
    );
}
