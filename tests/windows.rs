//! miniweb on Windows: the binary cross-built for `x86_64-pc-windows-gnu` (mingw-w64) and run
//! under wine, serving over loopback. It starts the stock site in an empty folder and the
//! folder server, fetches pages and a static file with curl, posts a change, and stops each
//! with Ctrl-C (SIGINT, which wine hands to the console's control handler), checking the
//! exit code. `.ci/run` installs mingw-w64, wine and the Rust target; without them this test
//! says which is missing and passes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// What this machine lacks to run the test, if anything.
fn missing() -> Option<String> {
    let on_path = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !on_path(MINGW_GCC) {
        return Some(format!("{MINGW_GCC} (Debian's mingw-w64)"));
    }
    if wine().is_none() {
        return Some("wine64 (Debian's wine and wine64)".into());
    }
    if !on_path("curl") {
        return Some("curl".into());
    }
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .unwrap_or_default();
    if !sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return Some(format!("the Rust target (rustup target add {TARGET})"));
    }
    None
}

/// Debian's 64-bit wine loader.
fn wine() -> Option<PathBuf> {
    ["/usr/lib/wine/wine64", "/usr/bin/wine64"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// A folder holding `miniweb.exe`, the ProcessPrng stand-in beside it, and a wine prefix.
struct WindowsBox {
    dir: tempfile::TempDir,
}

impl WindowsBox {
    fn new() -> WindowsBox {
        let profile = common::cargo_build(&["build", "--target", TARGET, "--bin", "miniweb"]);
        // target/<profile> -> target/<TARGET>/<profile>
        let exe = profile
            .parent()
            .unwrap()
            .join(TARGET)
            .join(profile.file_name().unwrap())
            .join("miniweb.exe");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&exe, dir.path().join("miniweb.exe")).unwrap();
        let shim = common::project().join("tests/windows/bcryptprimitives.c");
        let built = Command::new(MINGW_GCC)
            .args(["-shared", "-O2", "-o"])
            .arg(dir.path().join("bcryptprimitives.dll"))
            .arg(shim)
            .arg("-lbcrypt")
            .status()
            .unwrap();
        assert!(built.success(), "the ProcessPrng stand-in builds");
        WindowsBox { dir }
    }

    /// Starts `miniweb.exe args` under wine in `cwd`, and waits for its first address.
    fn start(&self, cwd: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(wine().unwrap())
            .arg(self.dir.path().join("miniweb.exe"))
            .args(args)
            .current_dir(cwd)
            .env("WINEPREFIX", self.dir.path().join("prefix"))
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko: their installers would ask in a window.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut running = Running {
            child,
            log,
            addr: String::new(),
        };
        // The first start makes the wine prefix, which takes a while on two cores.
        let line = running.line_with("listening on http://127.0.0.1:", Duration::from_secs(180));
        running.addr = line.split("http://").nth(1).unwrap().trim().to_string();
        running
    }
}

impl Drop for WindowsBox {
    fn drop(&mut self) {
        // The prefix's wineserver would linger a few seconds after the last program.
        let _ = Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", self.dir.path().join("prefix"))
            .status();
    }
}

/// miniweb.exe running under wine.
struct Running {
    child: Child,
    log: Receiver<String>,
    addr: String,
}

impl Running {
    /// The next log line containing `needle`, waiting at most `limit`.
    fn line_with(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    /// curl's status and body for `path` (`extra` are more curl arguments).
    fn curl(&self, path: &str, extra: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "30", "-w", "\n%{http_code}"])
            .args(extra)
            .arg(format!("http://{}{path}", self.addr))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.parse().unwrap_or(0), body.to_string())
    }

    /// Ctrl-C, then the exit code.
    fn interrupt(mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.line_with("stopped", Duration::from_secs(30));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "it said stopped but did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_windows_binary_serves_the_site_and_a_folder_and_stops_on_ctrl_c() {
    if let Some(what) = missing() {
        eprintln!("skipped: the Windows smoke test needs {what}");
        return;
    }
    let windows = WindowsBox::new();

    // The stock site, in an empty folder: everything built in, the database made there.
    let site = tempfile::tempdir().unwrap();
    let running = windows.start(site.path(), &["0"]);
    let (status, page) = running.curl("/index.html", &[]);
    assert_eq!(status, 200);
    assert!(page.contains("000036"), "the stock table is there");
    let (status, css) = running.curl("/css/site.css", &[]);
    assert_eq!(status, 200);
    assert!(css.contains('{'), "{css}");
    assert_eq!(running.curl("/nope.html", &[]).0, 404);
    // A write, through the pool, the page cache and the version check (no WAL-index probe
    // off Unix).
    let origin = format!("Origin: http://{}", running.addr);
    let (status, _) = running.curl("/add/000036.html", &["-X", "POST", "-H", &origin]);
    assert_eq!(status, 303);
    let (_, centre) = running.curl("/center.html", &[]);
    assert!(
        centre.contains("000036"),
        "the added stock is in the centre"
    );
    assert_eq!(running.interrupt(), Some(0));
    assert!(site.path().join("stock.db").is_file());

    // A folder alone, as `python -m http.server` serves one.
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("hello.txt"), "hello from Windows\n").unwrap();
    std::fs::write(folder.path().join(".secret"), "hidden").unwrap();
    let running = windows.start(folder.path(), &["-d", ".", "--autoindex", "0"]);
    assert_eq!(
        running.curl("/hello.txt", &[]),
        (200, "hello from Windows\n".to_string())
    );
    assert_eq!(running.curl("/.secret", &[]).0, 404);
    assert_eq!(running.curl("/../hello.txt", &["--path-as-is"]).0, 404);
    let (status, listing) = running.curl("/", &[]);
    assert_eq!(status, 200);
    assert!(listing.contains("hello.txt") && !listing.contains(".secret"));
    assert_eq!(running.interrupt(), Some(0));
}
