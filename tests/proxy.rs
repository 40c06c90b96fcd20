//! Behind a reverse proxy: the forwarding headers believed from `trusted_proxies` only, for the
//! access log, the per-address limit and the same-origin check; `public_origin`; and
//! `deploy/nginx.conf` run by Debian's real nginx in front of the real binary.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fill_static, free_port, project, site_with, Site};

/// The access-log lines (standard output) so far.
fn access_lines(site: &Site) -> Vec<String> {
    site.stdout().lines().map(str::to_string).collect()
}

/// The access-log line of `target`, once it is written.
fn logged(site: &Site, target: &str) -> String {
    let needle = format!(" {target} HTTP/1.1\"");
    assert!(
        site.wait_for_log(&needle, Duration::from_secs(5)),
        "{target} not logged"
    );
    access_lines(site)
        .into_iter()
        .find(|l| l.contains(&needle))
        .unwrap()
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// The status of an empty form post to `path` with `headers`.
fn post(site: &Site, path: &str, headers: &[(&str, &str)]) -> u16 {
    site.request("POST", path, headers, b"").status
}

#[test]
fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
    let forged = [("X-Forwarded-For", "6.6.6.6, 203.0.113.7")];
    let untrusted = site_with("");
    untrusted.request("GET", "/hello.txt?untrusted", &forged, b"");
    assert!(logged(&untrusted, "/hello.txt?untrusted").starts_with("127.0.0.1 - - ["));

    let trusted = site_with("trusted_proxies = \"127.0.0.1, ::1\"\n");
    assert!(trusted
        .log()
        .contains("forwarding headers believed from 127.0.0.1/32, ::1/128"));
    trusted.request("GET", "/hello.txt?xff", &forged, b"");
    // The right-most address that is not a trusted proxy: 6.6.6.6 is the client's own claim.
    assert!(logged(&trusted, "/hello.txt?xff").starts_with("203.0.113.7 - - ["));
    let rfc = [("Forwarded", "for=\"[2001:db8::9]:4711\";proto=https")];
    trusted.request("GET", "/hello.txt?forwarded", &rfc, b"");
    assert!(logged(&trusted, "/hello.txt?forwarded").starts_with("2001:db8::9 - - ["));
}

#[test]
fn the_same_origin_check_uses_the_public_scheme_and_host() {
    let public = [
        FORM,
        ("Origin", "https://stocks.example"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "stocks.example"),
    ];
    // Not trusted: the forwarded host is ignored, so the post looks cross-site, and the log
    // says which origins disagreed.
    let plain = site_with("");
    assert_eq!(post(&plain, "/add/000036.html", &public), 403);
    assert!(plain.wait_for_log(
        "sent from https://stocks.example:443, this site is http://test:80",
        Duration::from_secs(5)
    ));

    let behind = site_with("trusted_proxies = \"127.0.0.0/8\"\n");
    assert_eq!(post(&behind, "/add/000036.html", &public), 303);
    // A page of another site is still refused.
    let evil = [
        FORM,
        ("Origin", "https://evil.example"),
        public[2],
        public[3],
    ];
    assert_eq!(post(&behind, "/del/000036.html", &evil), 403);

    // A proxy that forwards nothing: the origin is configured.
    let fixed = site_with("public_origin = \"https://stocks.example/\"\n");
    let origin_only = [FORM, ("Origin", "https://stocks.example")];
    assert_eq!(post(&fixed, "/add/000036.html", &origin_only), 303);
    let direct = [FORM, ("Origin", "http://test")];
    assert_eq!(post(&fixed, "/del/000036.html", &direct), 403);
}

#[test]
fn a_bad_proxy_setting_stops_start_up_by_name() {
    for (line, says) in [
        (
            "trusted_proxies = \"localhost\"\n",
            "trusted_proxies: \"localhost\" is not an IP address",
        ),
        (
            "trusted_proxies = \"10.0.0.0/40\"\n",
            "the prefix length must be 0-32",
        ),
        (
            "public_origin = \"stocks.example\"\n",
            "public_origin must start with http:// or https://",
        ),
        (
            "public_origin = \"https://stocks.example/app\"\n",
            "no path",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let err = Site::start_in(dir, line).err().expect(line);
        assert!(err.contains(says), "{line}: {err}");
    }
}

#[test]
fn behind_a_trusted_proxy_the_per_address_limit_counts_each_clients_requests() {
    let dir = tempfile::tempdir().unwrap();
    fill_static(&dir.path().join("static"));
    // Far more than the socket buffers hold, so that its sending holds its place.
    std::fs::write(dir.path().join("static/huge.bin"), vec![b'x'; 64 << 20]).unwrap();
    let site = Site::start_in(
        dir,
        "trusted_proxies = \"127.0.0.1\"\nmax_connections_per_ip = 1\n",
    )
    .unwrap();
    let one = ("X-Forwarded-For", "198.51.100.1");
    let mut slow = site.client();
    slow.send_request("GET", "/huge.bin", &[one], b"");
    // Its head has come: the request is being served, and holds its client's place while the
    // body waits for a reader.
    assert_eq!(slow.read_response(true).status, 200);

    // The proxy's further connections are admitted; the same client's second request is not.
    let again = site.request("GET", "/hello.txt", &[one], b"");
    assert_eq!(again.status, 429);
    assert_eq!(again.header("Retry-After"), Some("1"));
    assert!(site.wait_for_log("198.51.100.1 (via 127.0.0.1", Duration::from_secs(5)));
    let other = site.request(
        "GET",
        "/hello.txt",
        &[("X-Forwarded-For", "198.51.100.2")],
        b"",
    );
    assert_eq!(other.status, 200);

    // Once the first request is over, its client may come back.
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = site.request("GET", "/hello.txt", &[one], b"").status;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never given back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Debian's nginx running `deploy/nginx.conf` in front of `upstream`, on `port`.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<&'static str> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() {
        eprintln!("skipped: nginx is not installed (apt-get install nginx)");
    }
    found
}

fn start_nginx(binary: &str, upstream: u16) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let site = std::fs::read_to_string(project().join("deploy/nginx.conf")).unwrap();
    let site = [
        ("listen 80;", format!("listen 127.0.0.1:{port};")),
        ("listen [::]:80;", String::new()),
        (
            "server 127.0.0.1:8080;",
            format!("server 127.0.0.1:{upstream};"),
        ),
        (
            "root /srv/miniweb/static;",
            format!("root {};", project().join("static").display()),
        ),
    ]
    .iter()
    .fold(site, |text, (from, to)| {
        assert!(text.contains(from), "deploy/nginx.conf has no {from:?}");
        text.replace(from, to)
    });
    let d = dir.path().display();
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    // What Debian's /etc/nginx/nginx.conf gives a site, with every path in the temp folder.
    let user = if running_as_root() {
        "user root root;"
    } else {
        ""
    };
    let main = format!(
        "{user}\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  include /etc/nginx/mime.types;\n  access_log {d}/access.log;\n\
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
         include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

/// Whether this process runs as root (nginx's workers then need `user root`).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(args).output().expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn deploy_nginx_conf_runs_the_site_behind_real_nginx() {
    let Some(binary) = nginx_binary() else { return };
    let static_dir = project().join("static");
    let site = site_with(&format!(
        "static_dir = {static_dir:?}\ntrusted_proxies = \"127.0.0.1\"\n"
    ));
    let nginx = start_nginx(binary, site.addr.port());
    let base = format!("http://127.0.0.1:{}", nginx.port);

    // The whole smoke script, through nginx.
    let out = Command::new("bash")
        .arg(project().join("tests/smoke.sh"))
        .arg(&base)
        .env("SMOKE_SERVER", "nginx")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "smoke.sh through nginx:\n{stdout}");

    // A form post as a browser without Sec-Fetch-Site sends it: Origin names nginx's address.
    let via_nginx = |path: &str, origin: &str| {
        let origin = format!("Origin: {origin}");
        let url = format!("{base}{path}");
        curl(&[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            "-H",
            &origin,
            &url,
        ])
    };
    assert_eq!(via_nginx("/add/000036.html", &base), "303");
    assert_eq!(via_nginx("/del/000036.html", "http://evil.example"), "403");

    // The visitor's address reaches the access log, not nginx's, and not what it forged.
    let page = curl(&[
        "-sS",
        "--interface",
        "127.0.0.3",
        "-H",
        "X-Forwarded-For: 6.6.6.6",
        &format!("{base}/center.html?from-behind"),
    ]);
    assert!(page.contains("华联控股"), "the followed stock is listed");
    let line = logged(&site, "/center.html?from-behind");
    assert!(line.starts_with("127.0.0.3 - - ["), "{line}");

    // The site's files came from nginx itself, the pages from miniweb.
    let css = curl(&["-sSI", &format!("{base}/css/site.css")]).to_ascii_lowercase();
    assert!(css.contains("server: nginx"), "{css}");
    assert!(!access_lines(&site)
        .iter()
        .any(|l| l.contains("/css/site.css")));
}
