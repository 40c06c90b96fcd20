//! Test support: the real `miniweb` binary on port 0 with a temporary document root and
//! database, an in-process `Server` for closure apps, and a raw-socket HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use miniweb::http::App;
use miniweb::server::{Server, ServerConfig, ShutdownHandle};

/// The project folder (templates, migrations, static assets).
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cargo ARGS` in the project (quietly, into the same target folder as the tests, so
/// that what they built is reused) and returns `target/<profile>`, where it put what it built.
pub fn cargo_build(args: &[&str]) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .arg("--quiet")
        .current_dir(project())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo {args:?} failed");
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps")
        .to_path_buf()
}

/// Asserts that a GET of each of `paths` is answered `status`.
pub fn assert_statuses(site: &Site, paths: &[&str], status: u16) {
    for path in paths {
        assert_eq!(site.get(path).status, status, "{path}");
    }
}

/// A running `miniweb` process with its own folder: `static/`, `stock.db`, `config.toml`.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Child,
    /// Standard error (the diagnostic log) and standard output (the access log), as they come.
    log: Arc<Mutex<Vec<String>>>,
    /// Standard output alone.
    out: Arc<Mutex<Vec<String>>>,
}

/// Extra lines for the test's `config.toml`.
pub fn site_with(extra_config: &str) -> Site {
    let dir = tempfile::tempdir().expect("temp dir");
    fill_static(&dir.path().join("static"));
    Site::start_in(dir, extra_config).expect("server starts")
}

/// A site with default settings.
pub fn site() -> Site {
    site_with("")
}

/// A port nobody listens on right now (the system's pick, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The files every test root has.
pub fn fill_static(root: &Path) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("hello.txt"), "hello, world\n").unwrap();
    std::fs::write(root.join("style.css"), "body { color: red }\n").unwrap();
    std::fs::write(root.join("中文.txt"), "你好\n").unwrap();
    std::fs::write(root.join(".env"), "SECRET=1\n").unwrap();
    std::fs::write(root.join("sub").join("index.html"), "<p>sub index</p>\n").unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("big.bin"), big).unwrap();
}

/// The bytes of `big.bin`.
pub fn big_bytes() -> Vec<u8> {
    (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

impl Site {
    /// Writes `config.toml` into `dir` (port 0, the project's templates and migrations unless
    /// `extra` says otherwise) and starts the binary there.
    pub fn start_in(dir: tempfile::TempDir, extra: &str) -> Result<Site, String> {
        Site::start_with(dir, extra, &[], &[])
    }

    /// As `start_in`, with command-line arguments and environment variables.
    pub fn start_with(
        dir: tempfile::TempDir,
        extra: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Site, String> {
        let p = project();
        let mut config = String::from("port = 0\n");
        if !extra.contains("host =") {
            config.push_str("host = \"127.0.0.1\"\n");
        }
        if !extra.contains("templates_dir") {
            config.push_str(&format!("templates_dir = {:?}\n", p.join("templates")));
        }
        if !extra.contains("migrations_dir") {
            config.push_str(&format!("migrations_dir = {:?}\n", p.join("migrations")));
        }
        config.push_str(extra);
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Site::spawn(dir, args, env)
    }

    /// Starts the binary in `dir` with `args` and `env` as they are: no config file written.
    pub fn spawn(
        dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Site, String> {
        Site::spawn_program(Path::new(env!("CARGO_BIN_EXE_miniweb")), dir, args, env)
    }

    /// As `spawn`, for another program built on miniweb (it logs the same "listening on").
    pub fn spawn_program(
        program: &Path,
        dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Site, String> {
        let mut child = Command::new(program)
            .current_dir(dir.path())
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = Arc::new(Mutex::new(Vec::new()));
        let (both, alone) = (log.clone(), out.clone());
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                alone.lock().unwrap().push(line.clone());
                both.lock().unwrap().push(line);
            }
        });
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Stored before the address is handed over, so that a test that has the
                // address also finds the line in the log.
                let addr = line
                    .split("listening on ")
                    .nth(1)
                    .and_then(|rest| rest.split("://").nth(1))
                    .and_then(|rest| rest.split([',', ' ']).next())
                    .map(|addr| addr.trim().to_string());
                sink.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => Ok(Site {
                addr: addr.parse().map_err(|e| format!("{addr}: {e}"))?,
                dir,
                child,
                log,
                out,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(100));
                Err(log.lock().unwrap().join("\n"))
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A new raw client.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// One request on a new connection.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        self.client().exchange(method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    /// A same-site form post.
    pub fn post_form(&self, path: &str, form: &str) -> Resp {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
    }

    /// Every log line so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Every line of standard output so far (the access log, by default).
    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `needle`, at most `limit`; false if none did.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the server and hands its folder back, for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.sigterm();
        self.wait_exit(Duration::from_secs(15)).expect("exits");
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` in `dir` and returns (exit code, stdout, stderr).
pub fn run_binary(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_binary_with_env(dir, args, &[])
}

/// As `run_binary`, with environment variables.
pub fn run_binary_with_env(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_miniweb"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server in this process with a closure app, for behaviours no stock page has.
pub struct InProcess {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    handle: ShutdownHandle,
    thread: Option<thread::JoinHandle<()>>,
}

/// A process's peak resident memory in KiB (`VmHWM`), where the system says (Linux's /proc).
pub fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `program` runs here (`program version_arg` succeeds); if not, says in one line
/// what is missing and which Debian package brings it, so that the test can pass without it.
pub fn installed(program: &str, version_arg: &str, package: &str) -> bool {
    let runs = Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        eprintln!("skipped: {program} is not installed (apt-get install {package})");
    }
    runs
}

/// Settings for in-process servers: small limits so that tests can reach them.
pub fn test_config(root: &Path) -> ServerConfig {
    ServerConfig {
        static_dir: Some(root.to_path_buf()),
        max_connections: nonzero(64),
        max_connections_per_ip: None,
        listen_backlog: 1024,
        header_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(2),
        body_min_rate: 500,
        send_timeout: Duration::from_secs(2),
        send_min_rate: 1024,
        linger_timeout: Duration::from_secs(2),
        max_head_bytes: 4096,
        max_headers: 20,
        max_body_bytes: 64 * 1024,
        cache_control: "public, max-age=60".into(),
        shutdown_grace: Duration::from_secs(5),
        // The test harness captures printing, not writes to the process's standard output.
        access_log: miniweb::server::AccessLog::Off,
        ..ServerConfig::default()
    }
}

/// Every feature a folder server has, on paths and methods the protocol and slow-client
/// suites never use, so that those suites also prove the features cost them nothing: a header
/// rule and CORS on every path, a redirect and a rewrite, basic auth under `/private`, the SPA
/// fallback, the site's error pages, archives, uploads (for a user) and metrics.
pub fn every_feature(c: &mut ServerConfig) {
    use miniweb::server::{basic_auth, cors, forwarded, header_rules, redirects};
    let root = c.static_dir.clone().expect("a folder to serve");
    std::fs::write(root.join("index.html"), "<h1>app</h1>\n").unwrap();
    std::fs::write(root.join("404.html"), "<h1>our 404</h1>\n").unwrap();
    std::fs::write(root.join("50x.html"), "<h1>our 5xx</h1>\n").unwrap();
    c.header_rules = vec![header_rules::HeaderRule::from_flag("X-Frame-Options: DENY").unwrap()];
    c.cors = cors::Cors::parse("*").unwrap();
    c.rules = redirects::Rules::new(
        vec![redirects::Redirect::new("/old/**", "/docs/$1", 301).unwrap()],
        vec![redirects::Rewrite::new("/latest/*", "/sub/$1").unwrap()],
    )
    .unwrap();
    // alice's password is "pw", hashed at bcrypt's lowest cost so that tests stay quick.
    let users = "alice:$2b$04$dAP3zodo8nkfvoC7tpjrvOejREWDN9rHw4eS3Z8BIK5IulN2s2u2a\n";
    c.auth = Some(Arc::new(
        basic_auth::BasicAuth::parse(users, "/private").unwrap(),
    ));
    c.fallback = Some("/index.html".into());
    c.error_pages = miniweb::server::error_pages::ErrorPageFiles {
        not_found: Some(root.join("404.html")),
        server_error: Some(root.join("50x.html")),
    };
    c.archives = true;
    c.uploads = Some(miniweb::server::Uploads {
        anyone: false,
        overwrite: false,
        max_bytes: 1 << 20,
    });
    c.metrics = true;
    c.metrics_from = forwarded::TrustedProxies::parse("127.0.0.1").unwrap();
}

impl InProcess {
    pub fn start(app: impl App, tweak: impl FnOnce(&mut ServerConfig)) -> InProcess {
        let root = tempfile::tempdir().unwrap();
        fill_static(root.path());
        let mut config = test_config(root.path());
        tweak(&mut config);
        let server = Server::bind(&["127.0.0.1:0".parse().unwrap()], config).unwrap();
        let addr = server.local_addrs()[0];
        let handle = server.shutdown_handle();
        let app: Arc<dyn App> = Arc::new(app);
        let thread = thread::spawn(move || server.run(app));
        InProcess {
            addr,
            root,
            handle,
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What a client speaks through: the socket, or TLS over it.
pub trait Wire: Read + Write + Send {}
impl<T: Read + Write + Send> Wire for T {}

/// A raw HTTP/1.1 client over one TCP connection, in clear or through TLS.
pub struct Client {
    /// The socket, for its settings (timeouts, shutdown) whatever goes through it.
    pub stream: TcpStream,
    io: Box<dyn Wire>,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        let io = Box::new(stream.try_clone().expect("clone the socket"));
        Client::over(stream, io)
    }

    /// A client speaking through `io` (TLS, say) over `stream`.
    pub fn over(stream: TcpStream, io: Box<dyn Wire>) -> Client {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        Client {
            stream,
            io,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).expect("send");
        self.io.flush().expect("send");
    }

    /// Sends one request and reads its response (no body for HEAD).
    pub fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        self.send_request(method, path, headers, body);
        self.read_response(method == "HEAD")
    }

    pub fn send_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 65536];
        match self.io.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) => panic!(
                "read failed: {e}; have {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads one response; `head_only` for responses to HEAD, which have no body.
    pub fn read_response(&mut self, head_only: bool) -> Resp {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill() == 0 {
                panic!(
                    "connection closed before a response head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if status == 100 {
            return resp;
        }
        if !head_only && resp.header("Transfer-Encoding") == Some("chunked") {
            resp.body = self.read_chunked();
            return resp;
        }
        let len: usize = resp
            .header("Content-Length")
            .map(|v| v.parse().unwrap())
            .unwrap_or(0);
        if head_only || status == 304 || status == 204 {
            return resp;
        }
        while self.buf.len() < len {
            if self.fill() == 0 {
                panic!("connection closed mid-body");
            }
        }
        resp.body = self.buf.drain(..len).collect();
        resp
    }

    /// A chunked body, de-chunked; panics on bad framing or an early close.
    fn read_chunked(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                assert!(self.fill() > 0, "connection closed in a chunk size line");
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            let need = line_end + 2 + size + 2;
            while self.buf.len() < need {
                assert!(self.fill() > 0, "connection closed mid-chunk");
            }
            assert_eq!(
                &self.buf[need - 2..need],
                b"\r\n",
                "chunk not followed by CRLF"
            );
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..need);
            if size == 0 {
                return body;
            }
        }
    }

    /// Reads until the server closes the connection (EOF or a reset), at most `limit`: the
    /// bytes that came (after any already buffered), or `None` if it was still open.
    pub fn read_to_close(&mut self, limit: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + limit;
        let mut got = std::mem::take(&mut self.buf);
        let mut b = vec![0u8; 1 << 16];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.io.read(&mut b) {
                Ok(0) => return Some(got),
                Ok(n) => got.extend_from_slice(&b[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return None
                }
                Err(_) => return Some(got),
            }
        }
    }

    /// Whether the server has closed the connection (reads EOF or a reset) within `limit`.
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        self.stream.set_read_timeout(Some(limit)).unwrap();
        let mut b = [0u8; 1024];
        loop {
            match self.io.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// `n`, which the test knows is not zero, as the config's type for a count that must not be.
pub fn nonzero(n: usize) -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(n).expect("a test's count is not zero")
}
