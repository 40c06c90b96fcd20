//! The stock site on PostgreSQL: a real server (Debian's `postgresql`, installed by `.ci/run`)
//! started by these tests in a temporary data folder on a loopback port, one database per
//! test. Migrations, every page and action, a restart, and two miniweb processes on one
//! database with writes through both. Without PostgreSQL the tests print one line and pass.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::{fill_static, free_port, run_binary, Site};

/// A PostgreSQL server for this test binary, stopped when the binary exits: it runs under a
/// shell that waits on its standard input, which closes with this process.
struct Postgres {
    port: u16,
    _dir: tempfile::TempDir,
    _alive: Mutex<(Child, ChildStdin)>,
}

/// The folder of `initdb` and `postgres`: Debian keeps them out of `PATH`, per version.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// Whether these tests run as root (CI's containers do).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// PostgreSQL refuses to run as root: then it runs as the `postgres` user the package made.
fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn start_postgres() -> Result<Postgres, String> {
    let bin = bin_dir().ok_or("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    if running_as_root() {
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err("cannot give the data folder to the postgres user".into());
        }
    }
    let init = as_postgres_user(&bin.join("initdb"))
        .args([
            "-U",
            "miniweb",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
            "-D",
        ])
        .arg(&data)
        .output()
        .map_err(|e| e.to_string())?;
    if !init.status.success() {
        return Err(format!("initdb: {}", String::from_utf8_lossy(&init.stderr)));
    }
    let port = free_port();
    // The shell starts the server, then waits for its standard input to close (this test
    // binary ending, however it ends) and stops the server.
    let script = "\"$0\" -D \"$1\" -p \"$2\" -k \"$3\" -c listen_addresses=127.0.0.1 \
                  -c fsync=off -c synchronous_commit=off -c full_page_writes=off & \
                  pid=$!; read _; kill -INT $pid; wait $pid";
    let mut child = as_postgres_user(Path::new("/bin/sh"))
        .arg("-c")
        .arg(script)
        .arg(bin.join("postgres"))
        .arg(&data)
        .arg(port.to_string())
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let admin = format!("host=127.0.0.1 port={port} user=miniweb dbname=postgres");
    while postgres::Client::connect(&admin, postgres::NoTls).is_err() {
        if Instant::now() > deadline {
            return Err("PostgreSQL did not start within 30 s".into());
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(Postgres {
        port,
        _dir: dir,
        _alive: Mutex::new((child, stdin)),
    })
}

static SERVER: OnceLock<Result<Postgres, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The URL of a new, empty database on the test server; `None` (after one line saying why)
/// when PostgreSQL is not available.
fn fresh_database() -> Option<String> {
    let server = match SERVER.get_or_init(start_postgres) {
        Ok(server) => server,
        Err(why) => {
            println!("skipped: {why}");
            return None;
        }
    };
    let name = format!("site_{}", DATABASES.fetch_add(1, Ordering::SeqCst));
    let admin = format!(
        "host=127.0.0.1 port={} user=miniweb dbname=postgres",
        server.port
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    Some(format!(
        "postgres://miniweb@127.0.0.1:{}/{name}",
        server.port
    ))
}

fn pg_site(url: &str) -> Site {
    let dir = tempfile::tempdir().unwrap();
    fill_static(&dir.path().join("static"));
    Site::start_in(dir, &format!("database = {url:?}\n")).expect("server starts")
}

/// The codes in the followed list (the centre page).
fn followed_codes(site: &Site) -> Vec<String> {
    let page = site.get("/center.html");
    assert_eq!(page.status, 200, "{}", page.text());
    page.text()
        .split("action=\"/del/")
        .skip(1)
        .map(|rest| rest[..6].to_string())
        .collect()
}

#[test]
fn every_page_and_action_on_postgres() {
    let Some(url) = fresh_database() else { return };
    let site = pg_site(&url);
    let log = site.log();
    for file in [
        "0001_schema.postgres.sql",
        "0002_seed.sql",
        "0003_identities.postgres.sql",
    ] {
        let applied = log
            .lines()
            .any(|l| l.contains("applied migration") && l.ends_with(file));
        assert!(applied, "{file} not applied: {log}");
    }
    assert!(
        !log.contains("0001_schema.sql"),
        "the SQLite schema ran: {log}"
    );
    assert!(log.contains(&format!("database: {url}")), "{log}");

    let index = site.get("/index.html");
    assert_eq!(index.status, 200);
    let text = index.text();
    assert_eq!(
        text.matches("<tr").count(),
        95,
        "94 stocks and a header row"
    );
    assert!(text.contains("全新好") && text.contains("16.05") && text.contains("10.01%"));
    // The seeded follows, in the order they were followed.
    assert_eq!(
        followed_codes(&site),
        ["300268", "300280", "601678", "601918", "000007"]
    );
    // JSON says the same as SQLite would: two-decimal strings and booleans.
    let json = site.request("GET", "/index.html", &[("Accept", "application/json")], b"");
    assert!(
        json.text().contains("\"code\":\"000007\""),
        "{}",
        json.text()
    );
    assert!(json.text().contains("\"followed\":true"));

    // Follow (the identity column hands out an id past the seeded ones), note, unfollow.
    assert_eq!(site.post_form("/add/000039.html", "").status, 303);
    assert!(followed_codes(&site).ends_with(&["000039".to_string()]));
    assert_eq!(site.post_form("/add/000039.html", "").status, 409);
    assert_eq!(site.post_form("/add/999999.html", "").status, 404);
    let note = "利好 \"quoted\" <b>'); DROP TABLE focus;--";
    let encoded = percent_encoding::utf8_percent_encode(note, percent_encoding::NON_ALPHANUMERIC);
    let saved = site.post_form("/update/000039.html", &format!("note={encoded}"));
    assert_eq!(saved.status, 303);
    let page = site.get("/center.html").text();
    assert!(page.contains("利好 &quot;quoted&quot; &lt;b&gt;"), "{page}");
    assert_eq!(followed_codes(&site).len(), 6, "the focus table survived");
    assert_eq!(site.post_form("/del/000039.html", "").status, 303);
    assert_eq!(site.post_form("/del/000039.html", "").status, 409);
    assert_eq!(site.get("/healthz").status, 200);
}

#[test]
fn a_restart_keeps_the_data_and_runs_no_migration_twice() {
    let Some(url) = fresh_database() else { return };
    let site = pg_site(&url);
    assert_eq!(site.post_form("/add/000050.html", "").status, 303);
    drop(site);
    let again = pg_site(&url);
    assert!(
        !again.log().contains("applied migration"),
        "{}",
        again.log()
    );
    assert!(followed_codes(&again).contains(&"000050".to_string()));
}

#[test]
fn two_processes_on_one_database_see_each_others_writes_at_once() {
    let Some(url) = fresh_database() else { return };
    let first = pg_site(&url);
    let second = pg_site(&url);
    // Both have the page cached.
    for site in [&first, &second] {
        assert!(!followed_codes(site).contains(&"000050".to_string()));
        assert!(!followed_codes(site).contains(&"000050".to_string()));
    }
    // A write through one is on the other's very next page, and the other way round.
    assert_eq!(first.post_form("/add/000050.html", "").status, 303);
    assert!(followed_codes(&second).contains(&"000050".to_string()));
    assert_eq!(second.post_form("/del/000050.html", "").status, 303);
    assert!(!followed_codes(&first).contains(&"000050".to_string()));

    // Writers through both at once: every follow lands, none twice.
    let codes = [
        "000056", "000059", "000060", "000426", "000488", "000528", "000540", "000581",
    ];
    thread::scope(|s| {
        for (i, code) in codes.iter().enumerate() {
            let site = if i % 2 == 0 { &first } else { &second };
            s.spawn(move || {
                let resp = site.post_form(&format!("/add/{code}.html"), "");
                assert_eq!(resp.status, 303, "{code}: {}", resp.text());
            });
        }
    });
    for site in [&first, &second] {
        let followed = followed_codes(site);
        for code in codes {
            assert_eq!(
                followed.iter().filter(|c| *c == code).count(),
                1,
                "{code}: {followed:?}"
            );
        }
    }
}

#[test]
fn a_database_server_that_does_not_answer_stops_start_up() {
    // No PostgreSQL needed: nothing listens on this port.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut config = std::fs::File::create(dir.path().join("config.toml")).unwrap();
    writeln!(
        config,
        "port = 0\ndatabase = \"postgres://web:s3cret@127.0.0.1:{port}/stocks\""
    )
    .unwrap();
    let (code, _, stderr) = run_binary(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "database postgres://web:***@127.0.0.1:{port}/stocks"
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cret"),
        "the password reached the log: {stderr}"
    );
}
