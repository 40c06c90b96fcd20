//! What people who serve folders ask for, over real sockets with curl, in both modes (a folder
//! served alone with flags, and the site with `config.toml`): headers by path and CORS,
//! redirects and rewrites, basic auth, the SPA fallback, error pages, archives, uploads,
//! sorted listings and metrics, each with its hostile cases.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{installed, peak_memory_kib, run_binary, Client, Site};

/// A bcrypt hash of `pw` at bcrypt's lowest cost (libxcrypt's, so not ours): the tests
/// check the logic, not the cost.
const ALICE_HASH: &str = "$2b$04$dAP3zodo8nkfvoC7tpjrvOejREWDN9rHw4eS3Z8BIK5IulN2s2u2a";

/// curl's output for `args`, with `-s`; panics if curl cannot run.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .arg("-s")
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `curl -i` split into the status, the head in lower case, and the body.
fn curl_i(args: &[&str]) -> (u16, String, String) {
    let mut all = vec!["-i"];
    all.extend_from_slice(args);
    let text = curl(&all);
    // A 100 Continue comes first for an upload.
    let text = match text.strip_prefix("HTTP/1.1 100 Continue\r\n\r\n") {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// A folder as people serve them: files, a dotfile, a database, a symlink out, a sub-folder.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("docs/deep")).unwrap();
    std::fs::create_dir_all(d.join("private")).unwrap();
    std::fs::create_dir_all(d.join("drop")).unwrap();
    std::fs::write(d.join("index.html"), "<h1>the app</h1>\n").unwrap();
    std::fs::write(d.join("404.html"), "<h1>our own 404</h1>\n").unwrap();
    std::fs::write(d.join("50x.html"), "<h1>our own 5xx</h1>\n").unwrap();
    std::fs::write(d.join("font.woff2"), "wOF2").unwrap();
    std::fs::write(d.join("docs/a.txt"), "a\n").unwrap();
    std::fs::write(d.join("docs/bb.txt"), "bbbb\n").unwrap();
    std::fs::write(d.join("docs/deep/c.txt"), "c\n").unwrap();
    std::fs::write(d.join("docs/.env"), "SECRET=1\n").unwrap();
    std::fs::write(d.join("docs/stock.db"), "SQLite format 3\0").unwrap();
    std::fs::write(d.join("private/plan.txt"), "the plan\n").unwrap();
    let outside = d
        .parent()
        .unwrap()
        .join(format!("outside-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "outside\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, d.join("docs/out")).unwrap();
        std::os::unix::fs::symlink(d.join("docs"), d.join("docs/deep/loop")).unwrap();
    }
    std::fs::write(d.join("users"), format!("alice:{ALICE_HASH}\n")).unwrap();
    dir
}

/// [`folder`], when curl is here to test it; `None` (and a line saying so) without.
fn folder_for_curl() -> Option<tempfile::TempDir> {
    installed("curl", "--version", "curl").then(folder)
}

/// Serves `dir` alone with `flags`, from a current folder of its own.
fn serve(dir: &Path, flags: &[&str]) -> Site {
    let here = tempfile::tempdir().unwrap();
    let root = dir.to_str().unwrap();
    let mut args = vec!["0", "--bind", "127.0.0.1", "-d", root, "--autoindex"];
    args.extend_from_slice(flags);
    Site::spawn(here, &args, &[]).expect("serves the folder")
}

/// Serves `dir` alone with `flags`, and basic auth for alice (`users`) under `/private`.
fn serve_with_users(dir: &Path, flags: &[&str]) -> Site {
    let users = dir.join("users");
    let mut all = vec![
        "--auth-file",
        users.to_str().unwrap(),
        "--auth-path",
        "/private",
    ];
    all.extend_from_slice(flags);
    serve(dir, &all)
}

/// The site (stock pages) with these config lines, and `dir` as its document root.
fn site(dir: &Path, config: &str) -> Site {
    let here = tempfile::tempdir().unwrap();
    common::fill_static(&here.path().join("static"));
    let text = format!(
        "document_root = {:?}\nautoindex = true\ndatabase = \"stock.db\"\n{config}",
        dir
    );
    Site::start_in(here, &text).expect("site starts")
}

#[test]
fn headers_by_path_and_cors_in_both_modes() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let alone = serve(
        dir.path(),
        &[
            "--header",
            "Strict-Transport-Security: max-age=63072000",
            "--cors",
            "https://app.example",
        ],
    );
    let config = "cors_origins = \"https://app.example\"\n\
                  [[headers]]\npath = \"*.woff2\"\nset = { \"Cache-Control\" = \"public, max-age=31536000, immutable\" }\n";
    let with_site = site(dir.path(), config);
    let (_, head, _) = curl_i(&[&alone.url("/docs/a.txt")]);
    assert!(
        head.contains("strict-transport-security: max-age=63072000"),
        "{head}"
    );
    let (_, head, _) = curl_i(&[&with_site.url("/font.woff2")]);
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    let (_, head, _) = curl_i(&[&with_site.url("/docs/a.txt")]);
    assert!(!head.contains("immutable"), "only *.woff2: {head}");
    for s in [&alone, &with_site] {
        let pre = [
            "-X",
            "OPTIONS",
            "-H",
            "Origin: https://app.example",
            "-H",
            "Access-Control-Request-Method: PUT",
        ];
        let mut args = pre.to_vec();
        let url = s.url("/docs/a.txt");
        args.push(&url);
        let (status, head, _) = curl_i(&args);
        assert_eq!(status, 204, "{head}");
        assert!(
            head.contains("access-control-allow-origin: https://app.example"),
            "{head}"
        );
        assert!(head.contains("access-control-allow-methods: put"), "{head}");
        // An origin not listed gets nothing of CORS, on a preflight or a plain GET.
        let (_, head, _) = curl_i(&[
            "-X",
            "OPTIONS",
            "-H",
            "Origin: https://evil.example",
            "-H",
            "Access-Control-Request-Method: PUT",
            &url,
        ]);
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        let (_, head, _) = curl_i(&["-H", "Origin: https://evil.example", &url]);
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        assert!(head.contains("vary: origin"), "{head}");
        let (_, head, _) = curl_i(&["-H", "Origin: https://app.example", &url]);
        assert!(
            head.contains("access-control-allow-origin: https://app.example"),
            "{head}"
        );
    }
    // A rule may not set what the server sets itself.
    let here = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (code, _, err) = run_binary(here.path(), &["0", "-d", root, "--header", "ETag: \"x\""]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ETag is set by the server itself"), "{err}");
}

#[test]
fn redirects_rewrites_and_loops_refused_at_start_up() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let alone = serve(
        dir.path(),
        &[
            "--redirect",
            "/old/** /docs/$1 301",
            "--rewrite",
            "/latest/* /docs/$1",
        ],
    );
    let config = "[[redirects]]\nfrom = \"/old/**\"\nto = \"/docs/$1\"\nstatus = 301\n\
                  [[rewrites]]\nfrom = \"/latest/*\"\nto = \"/docs/$1\"\n";
    let with_site = site(dir.path(), config);
    for s in [&alone, &with_site] {
        let (status, head, _) = curl_i(&[&s.url("/old/deep/c.txt?v=2")]);
        assert_eq!(status, 301, "{head}");
        assert!(head.contains("location: /docs/deep/c.txt?v=2"), "{head}");
        assert_eq!(curl(&["-L", &s.url("/old/a.txt")]), "a\n");
        // A rewrite serves the other path; the client sees only its own.
        let (status, _, body) = curl_i(&[&s.url("/latest/bb.txt")]);
        assert_eq!((status, body.as_str()), (200, "bbbb\n"));
    }
    assert!(alone
        .stdout()
        .contains("\"GET /latest/bb.txt HTTP/1.1\" 200"));
    let here = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let looping = [
        "0",
        "-d",
        root,
        "--redirect",
        "/a/* /b/$1",
        "--redirect",
        "/b/* /a/$1",
    ];
    let (code, _, err) = run_binary(here.path(), &looping);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("circle"), "{err}");
    std::fs::write(
        here.path().join("config.toml"),
        "[[rewrites]]\nfrom = \"/x\"\nto = \"/y\"\n[[rewrites]]\nfrom = \"/y\"\nto = \"/x\"\n",
    )
    .unwrap();
    let (code, _, err) = run_binary(here.path(), &["0"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("config.toml: rewrites") && err.contains("circle"),
        "{err}"
    );
}

#[test]
fn basic_auth_asks_checks_and_never_logs_the_password() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let users = dir.path().join("users");
    let alone = serve_with_users(dir.path(), &[]);
    let config = format!("auth_file = {users:?}\nauth_path = \"/private\"\n");
    let with_site = site(dir.path(), &config);
    for s in [&alone, &with_site] {
        let url = s.url("/private/plan.txt");
        let (status, head, _) = curl_i(&[&url]);
        assert_eq!(status, 401);
        assert!(
            head.contains("www-authenticate: basic realm=\"miniweb\""),
            "{head}"
        );
        let (status, head, body) = curl_i(&["-u", "alice:pw", &url]);
        assert_eq!((status, body.as_str()), (200, "the plan\n"), "{head}");
        assert!(head.contains("cache-control: private"), "{head}");
        assert_eq!(curl_i(&["-u", "alice:Wrong-Password-1", &url]).0, 401);
        assert_eq!(curl_i(&["-u", "mallory:Other-Password-2", &url]).0, 401);
        for bad in ["Basic", "Basic !!!", "Bearer x", "Basic bm8tY29sb24="] {
            let header = format!("Authorization: {bad}");
            assert_eq!(curl_i(&["-H", &header, &url]).0, 401, "{bad}");
        }
        // However the path is spelt, the prefix is the prefix.
        let sneaky = s.url("/%70rivate/plan.txt");
        assert_eq!(curl_i(&["--path-as-is", &sneaky]).0, 401);
        let sneaky = s.url("/docs/../private/plan.txt");
        assert_eq!(curl_i(&["--path-as-is", &sneaky]).0, 401);
        // Outside the prefix nobody is asked.
        assert_eq!(curl_i(&[&s.url("/docs/a.txt")]).0, 200);
        assert!(s.wait_for_log("unknown user \"mallory\"", Duration::from_secs(5)));
        assert!(s.wait_for_log("wrong password for \"alice\"", Duration::from_secs(5)));
        let log = s.log();
        for secret in ["Wrong-Password-1", "Other-Password-2", "alice:pw"] {
            assert!(!log.contains(secret), "{secret} in the log");
        }
    }
    // A file of plain passwords is refused, and says which line without repeating it.
    std::fs::write(&users, "alice:hunter2\n").unwrap();
    let here = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (code, _, err) = run_binary(
        here.path(),
        &["0", "-d", root, "--auth-file", users.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(err.contains("line 1") && !err.contains("hunter2"), "{err}");
}

#[test]
fn auth_over_plain_http_on_a_public_address_is_warned_of() {
    let dir = folder();
    let here = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let users = dir.path().join("users");
    let args = [
        "0",
        "--bind",
        "0.0.0.0",
        "-d",
        root,
        "--auth-file",
        users.to_str().unwrap(),
    ];
    let s = Site::spawn(here, &args, &[]).expect("starts");
    assert!(s.wait_for_log(
        "passwords cross the network in clear",
        Duration::from_secs(5)
    ));
}

#[test]
fn the_spa_fallback_serves_pages_and_keeps_missing_assets_404() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    std::fs::write(dir.path().join("app.html"), "<h1>the app shell</h1>\n").unwrap();
    let alone = serve(dir.path(), &["--spa"]);
    let with_site = site(dir.path(), "fallback = \"app.html\"\n");
    let html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
    // Another method gets what it gets without the fallback: a folder alone allows only GET
    // and HEAD (405), the site has no route for it (404).
    let cases = [(&alone, "the app", 405), (&with_site, "the app shell", 404)];
    for (s, shell, other_method) in cases {
        let (status, _, body) = curl_i(&["-H", html, &s.url("/settings/profile")]);
        assert_eq!(status, 200);
        assert!(body.contains(shell), "{body}");
        assert_eq!(curl_i(&["-H", html, &s.url("/app.js")]).0, 404);
        assert_eq!(
            curl_i(&["-H", "Accept: application/json", &s.url("/settings")]).0,
            404
        );
        assert_eq!(
            curl_i(&["-X", "DELETE", "-H", html, &s.url("/settings")]).0,
            other_method
        );
    }
}

#[test]
fn error_pages_are_the_sites_with_the_right_status() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let alone = serve(dir.path(), &["--error-pages"]);
    let (status, head, body) = curl_i(&[&alone.url("/no/such/file.txt")]);
    assert_eq!((status, body.as_str()), (404, "<h1>our own 404</h1>\n"));
    assert!(head.contains("content-type: text/html"), "{head}");
    // Without them, the server's own page.
    let plain = serve(dir.path(), &[]);
    assert!(curl_i(&[&plain.url("/nope")]).2.contains("404 Not Found"));
    // The site: its app has its own 404; a 5xx the server makes is dressed.
    let page = dir.path().join("50x.html");
    let with_site = site(dir.path(), &format!("page_50x = {page:?}\n"));
    let mut conn = TcpStream::connect(with_site.addr).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 501"), "{answer}");
    assert!(answer.contains("our own 5xx"), "{answer}");
    // A page named in the config that does not exist stops start-up.
    let here = tempfile::tempdir().unwrap();
    std::fs::write(
        here.path().join("config.toml"),
        "page_404 = \"missing.html\"\n",
    )
    .unwrap();
    let (code, _, err) = run_binary(here.path(), &["0", "-d", ".", "--config", "config.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("missing.html"), "{err}");
}

#[test]
fn archives_hold_exactly_what_the_listing_shows() {
    if !installed("curl", "--version", "curl")
        || !installed("tar", "--version", "tar")
        || !installed("unzip", "-v", "unzip")
    {
        return;
    }
    let dir = folder();
    let alone = serve(dir.path(), &["--archives"]);
    let with_site = site(dir.path(), "archives = true\n");
    let out = tempfile::tempdir().unwrap();
    let want = [
        "docs/",
        "docs/a.txt",
        "docs/bb.txt",
        "docs/deep/",
        "docs/deep/c.txt",
        "docs/deep/loop/",
    ];
    for s in [&alone, &with_site] {
        let listing = curl(&[&s.url("/docs/")]);
        assert!(listing.contains("?download=tar.gz"), "{listing}");
        let tgz = out.path().join("docs.tar.gz");
        let head = curl(&[
            "-D",
            "-",
            "-o",
            "/dev/null",
            &s.url("/docs/?download=tar.gz"),
        ]);
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains("content-disposition: attachment; filename=\"docs.tar.gz\""),
            "{head}"
        );
        curl(&[
            "-o",
            tgz.to_str().unwrap(),
            &s.url("/docs/?download=tar.gz"),
        ]);
        let listed = Command::new("tar").arg("-tzf").arg(&tgz).output().unwrap();
        assert!(listed.status.success());
        let mut names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(String::from)
            .collect();
        names.sort();
        #[cfg(unix)]
        assert_eq!(names, want, "no dotfile, no database, no symlink out");
        let zip = out.path().join("docs.zip");
        curl(&["-o", zip.to_str().unwrap(), &s.url("/docs/?download=zip")]);
        let listed = Command::new("unzip").arg("-Z1").arg(&zip).output().unwrap();
        assert!(listed.status.success(), "{listed:?}");
        let mut names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(String::from)
            .collect();
        names.sort();
        #[cfg(unix)]
        assert_eq!(names, want);
        let tested = Command::new("unzip").arg("-tq").arg(&zip).output().unwrap();
        assert!(tested.status.success(), "{tested:?}");
        assert_eq!(curl_i(&[&s.url("/docs/?download=rar")]).0, 400);
    }
    // Off unless asked for: the listing as ever.
    let plain = serve(dir.path(), &[]);
    let head = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &plain.url("/docs/?download=zip"),
    ])
    .to_ascii_lowercase();
    assert!(head.contains("content-type: text/html"), "{head}");
}

#[test]
fn a_200_mb_folder_streams_in_flat_memory() {
    if !installed("curl", "--version", "curl") {
        return;
    }
    if peak_memory_kib(std::process::id()).is_none() {
        eprintln!("skipped: no /proc here to read a process's peak memory from");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Four files of 50 MB of varied bytes (zeros would compress to nothing and prove little).
    // A megabyte of xorshift bytes, repeated further apart than deflate's 32 KiB window sees.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let block: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    for n in 0..4 {
        let mut f = std::fs::File::create(dir.path().join(format!("part{n}.bin"))).unwrap();
        for _ in 0..50 {
            f.write_all(&block).unwrap();
        }
    }
    let s = serve(dir.path(), &["--archives"]);
    assert_eq!(curl_i(&[&s.url("/")]).0, 200);
    let before = peak_memory_kib(s.pid()).unwrap();
    for format in ["tar.gz", "zip"] {
        let size = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &s.url(&format!("/?download={format}")),
        ]);
        let size: u64 = size.trim().parse().unwrap();
        assert!(size > 150_000_000, "{format}: {size} bytes");
    }
    let grew = peak_memory_kib(s.pid()).unwrap().saturating_sub(before);
    eprintln!("peak memory grew {grew} KiB while 200 MB were archived twice");
    assert!(
        grew < 24 * 1024,
        "peak memory grew {grew} KiB for 200 MB archived"
    );
}

#[test]
fn uploads_need_a_user_keep_files_and_leave_nothing_when_aborted() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let alone = serve_with_users(dir.path(), &["--upload", "--metrics"]);
    let file = dir
        .path()
        .parent()
        .unwrap()
        .join(format!("up-{}.txt", std::process::id()));
    std::fs::write(&file, "uploaded bytes\n").unwrap();
    let f = file.to_str().unwrap();
    let url = alone.url("/drop/new.txt");
    // Anywhere, an upload needs a user.
    assert_eq!(curl_i(&["-T", f, &url]).0, 401);
    assert!(!dir.path().join("drop/new.txt").exists());
    assert_eq!(curl_i(&["-u", "alice:pw", "-T", f, &url]).0, 201);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("drop/new.txt")).unwrap(),
        "uploaded bytes\n"
    );
    // An existing file is kept without --overwrite.
    std::fs::write(&file, "other bytes\n").unwrap();
    assert_eq!(curl_i(&["-u", "alice:pw", "-T", f, &url]).0, 409);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("drop/new.txt")).unwrap(),
        "uploaded bytes\n"
    );
    // Names that are no names.
    for bad in [
        "/drop/../x",
        "/drop/.hidden",
        "/drop/a%00b",
        "/drop/a%2Fb",
        "/drop/stock.db",
    ] {
        let status = curl_i(&["--path-as-is", "-u", "alice:pw", "-T", f, &alone.url(bad)]).0;
        assert!(status == 400 || status == 403, "{bad}: {status}");
    }
    assert_eq!(
        curl_i(&["-u", "alice:pw", "-T", f, &alone.url("/nowhere/x.txt")]).0,
        409
    );
    // The listing's form: several files, a bad name refuses them all.
    let listing = curl(&["-u", "alice:pw", &alone.url("/drop/")]);
    assert!(
        listing.contains("enctype=\"multipart/form-data\""),
        "{listing}"
    );
    let form = format!("file=@{f};filename=form.txt");
    let (status, head, _) = curl_i(&["-u", "alice:pw", "-F", &form, &alone.url("/drop/")]);
    assert_eq!(status, 303, "{head}");
    assert!(dir.path().join("drop/form.txt").exists());
    let evil = format!("file=@{f};filename=../../evil.txt");
    let fine = format!("file=@{f};filename=fine.txt");
    let status = curl_i(&[
        "-u",
        "alice:pw",
        "-F",
        &fine,
        "-F",
        &evil,
        &alone.url("/drop/"),
    ])
    .0;
    assert_eq!(status, 400);
    assert!(!dir.path().join("drop/fine.txt").exists());
    assert!(!dir.path().parent().unwrap().join("evil.txt").exists());
    // An upload cut off mid-body leaves nothing, not even its temporary file.
    let mut conn = TcpStream::connect(alone.addr).unwrap();
    let head = "PUT /drop/cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6cHc=\r\n\
                Content-Length: 10000000\r\n\r\n";
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&vec![7u8; 300_000]).unwrap();
    drop(conn);
    // Its connection's end is observable: /metrics then counts one open, the scrape's own.
    let open = || series(&curl(&[&alone.url("/metrics")]), "miniweb_connections_open");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while open() != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(open(), 1, "the cut upload's connection ended");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("drop"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["form.txt", "new.txt"], "nothing of the cut upload");
    // With --overwrite, in the site, open to anyone, within upload_max_bytes.
    let config =
        "upload = true\nupload_anyone = true\nupload_overwrite = true\nupload_max_bytes = 1000\n";
    let with_site = site(dir.path(), config);
    assert_eq!(curl_i(&["-T", f, &with_site.url("/drop/new.txt")]).0, 204);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("drop/new.txt")).unwrap(),
        "other bytes\n"
    );
    std::fs::write(&file, vec![b'x'; 5000]).unwrap();
    assert_eq!(curl_i(&["-T", f, &with_site.url("/drop/big.txt")]).0, 413);
    assert!(!dir.path().join("drop/big.txt").exists());
    // Uploads without users are refused at start-up unless open to anyone.
    let here = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (code, _, err) = run_binary(here.path(), &["0", "-d", root, "--upload"]);
    assert_eq!(code, 1);
    assert!(err.contains("--upload-anyone"), "{err}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn listings_sort_by_name_size_or_date_in_html_and_json() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let s = serve(dir.path(), &[]);
    let page = curl(&[&s.url("/docs/?sort=size&order=desc")]);
    let (bb, a) = (
        page.find(">bb.txt<").unwrap(),
        page.find(">a.txt<").unwrap(),
    );
    assert!(bb < a, "larger first: {page}");
    assert!(page.find(">deep/<").unwrap() < bb, "folders first");
    assert!(page.contains("href=\"?sort=size&amp;order=asc\""), "{page}");
    let json = curl(&[
        "-H",
        "Accept: application/json",
        &s.url("/docs/?sort=name&order=desc"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sort"], "name");
    assert_eq!(v["order"], "desc");
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[names.len() - 2..], ["bb.txt", "a.txt"]);
    assert_eq!(curl_i(&[&s.url("/docs/?sort=colour")]).0, 400);
    // Past the 10,000 a listing shows, those shown are the first in the order asked for.
    let many = dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..10_005 {
        std::fs::write(many.join(format!("f{i:05}")), "").unwrap();
    }
    let json = curl(&[
        "-H",
        "Accept: application/json",
        &s.url("/many/?sort=name&order=desc"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!((entries.len(), v["omitted"].as_u64()), (10_000, Some(5)));
    assert_eq!(entries[0]["name"], "f10004");
    assert_eq!(entries[9_999]["name"], "f00005");
}

/// The value of the series `name` (with its labels) in a scrape.
fn series(scrape: &str, name: &str) -> u64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[test]
fn metrics_move_by_exactly_what_was_sent() {
    let Some(dir) = folder_for_curl() else {
        return;
    };
    let alone = serve(dir.path(), &["--metrics"]);
    let with_site = site(dir.path(), "metrics = true\n");
    for s in [&alone, &with_site] {
        let before = curl(&[&s.url("/metrics")]);
        // The bytes of each body, as curl received them.
        let size = |args: &[&str]| -> u64 {
            let mut all = vec!["-o", "/dev/null", "-w", "%{size_download}"];
            all.extend_from_slice(args);
            curl(&all).trim().parse().unwrap()
        };
        let mut sent = before.len() as u64;
        for _ in 0..3 {
            sent += size(&[&s.url("/docs/a.txt")]);
        }
        sent += size(&[&s.url("/missing.txt")]);
        sent += size(&["-X", "POST", "-d", "x", &s.url("/docs/a.txt")]);
        let after = curl(&[&s.url("/metrics")]);
        let moved = |name: &str| series(&after, name) - series(&before, name);
        // The first scrape is counted once it is answered: one more 2xx GET.
        assert_eq!(
            moved("miniweb_requests_total{method=\"GET\",status=\"2xx\"}"),
            4,
            "{after}"
        );
        assert_eq!(
            moved("miniweb_requests_total{method=\"GET\",status=\"4xx\"}"),
            1
        );
        assert_eq!(
            moved("miniweb_requests_total{method=\"POST\",status=\"4xx\"}"),
            1
        );
        assert_eq!(moved("miniweb_request_duration_seconds_count"), 6);
        // The scrape before counts; the one after is not counted in itself.
        assert_eq!(moved("miniweb_response_body_bytes_total"), sent);
        if installed("promtool", "--version", "prometheus") {
            let mut check = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            check
                .stdin
                .take()
                .unwrap()
                .write_all(after.as_bytes())
                .unwrap();
            let out = check.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The site's page cache counts too.
    let scrape = curl(&[&with_site.url("/metrics")]);
    assert!(scrape.contains("miniweb_page_cache_hits_total"), "{scrape}");
    // From an address not listed, /metrics is a path like any other.
    let hidden = site(dir.path(), "metrics = true\nmetrics_from = \"10.9.8.7\"\n");
    assert_eq!(curl_i(&[&hidden.url("/metrics")]).0, 404);
    // --metrics keeps the addresses the config file lists.
    let here = tempfile::tempdir().unwrap();
    std::fs::write(
        here.path().join("config.toml"),
        "metrics_from = \"10.9.8.7\"\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    let args = [
        "0",
        "--bind",
        "127.0.0.1",
        "-d",
        root,
        "--config",
        "config.toml",
        "--metrics",
    ];
    let flagged = Site::spawn(here, &args, &[]).expect("starts");
    assert_eq!(curl_i(&[&flagged.url("/metrics")]).0, 404);
}

#[test]
fn hostile_input_and_slow_clients_with_every_flag_on() {
    let dir = folder();
    // A head must come within a second, so that the slow client below is cut off quickly.
    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("config.toml");
    std::fs::write(&config, "header_timeout_secs = 1\n").unwrap();
    let s = serve_with_users(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--header",
            "X-Frame-Options: DENY",
            "--cors",
            "*",
            "--redirect",
            "/old/** /docs/$1",
            "--rewrite",
            "/latest/* /docs/$1",
            "--spa",
            "--error-pages",
            "--archives",
            "--upload",
            "--metrics",
        ],
    );
    let hostile: &[&[u8]] = &[
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /private/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff\xfe\r\n\r\n",
        b"PUT /drop/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /drop/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6cHc=\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 10\r\n\r\n--zz\r\nabcd",
        b"OPTIONS /x HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\nAccess-Control-Request-Method: P U T\r\n\r\n",
        b"GET /old/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /docs/?download=tar.gz&sort=%ff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /docs/?sort=size&sort=nope HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for bytes in hostile {
        let mut conn = TcpStream::connect(s.addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn.write_all(bytes).unwrap();
        let _ = conn.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            (200..500).contains(&status),
            "{:?} -> {}",
            String::from_utf8_lossy(bytes),
            text.lines().next().unwrap_or("(nothing)")
        );
    }
    // A client that never finishes its head is cut off at the deadline; meanwhile the server
    // serves others.
    let mut slow = Client::connect(s.addr);
    slow.send(b"GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n");
    let mut ok = TcpStream::connect(s.addr).unwrap();
    ok.write_all(b"GET /docs/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    ok.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        slow.closed_within(Duration::from_secs(10)),
        "the slow head is cut off"
    );
    assert!(!s.log().contains("panicked"), "{}", s.log());
}
