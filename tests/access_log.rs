//! The access log: plain Combined Log Format lines (plus the seconds taken), on standard output
//! or in a file, apart from the diagnostic log, read as they are by goaccess.

mod common;

use std::process::Command;
use std::time::Duration;

use common::site_with;

/// `"total_requests": 12` -> 12, from goaccess's JSON report.
fn count(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = json[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn the_access_log_goes_to_standard_output_apart_from_the_diagnostic_log() {
    let site = site_with("");
    assert_eq!(site.get("/hello.txt").status, 200);
    assert!(site.wait_for_log(
        "\"GET /hello.txt HTTP/1.1\" 200 13 ",
        Duration::from_secs(5)
    ));
    let out = site.stdout();
    let line = out
        .lines()
        .find(|l| l.contains("GET /hello.txt"))
        .expect("the access line is on standard output");
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        !out.contains("listening on"),
        "diagnostics stay on standard error"
    );
    // The last field is the time taken, in seconds.
    let secs: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..10.0).contains(&secs), "{line}");
}

#[test]
fn every_line_of_a_log_file_parses_in_goaccess() {
    let site = site_with("access_log = \"logs/access.log\"\n");
    let ua = ("User-Agent", "Mozilla/5.0 \"quoted\" \\ 中文");
    let referer = ("Referer", "http://test/index.html");
    assert_eq!(site.get("/hello.txt").status, 200);
    assert_eq!(site.request("GET", "/", &[ua, referer], b"").status, 200);
    assert_eq!(site.get("/no-such-file.txt").status, 404);
    assert_eq!(site.request("HEAD", "/style.css", &[], b"").status, 200);
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let mut bad = site.client();
    bad.send(b"GARBAGE\r\n\r\n");
    assert_eq!(bad.read_response(false).status, 400);
    let dir = site.stop();
    let log = std::fs::read_to_string(dir.path().join("logs/access.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6, "{log}");
    assert!(
        lines.iter().all(|l| l.starts_with("127.0.0.1 - - [")),
        "{log}"
    );
    assert!(
        log.contains("\"-\" 400 "),
        "an unparsable request is `-`: {log}"
    );

    if !common::installed("goaccess", "--version", "goaccess") {
        return;
    }
    let report = dir.path().join("report.json");
    let status = Command::new("goaccess")
        .arg(dir.path().join("logs/access.log"))
        .args(["--log-format=COMBINED", "--no-global-config", "-o"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let json = std::fs::read_to_string(&report).unwrap();
    assert_eq!(count(&json, "total_requests"), Some(6), "{json}");
    assert_eq!(count(&json, "valid_requests"), Some(6));
    assert_eq!(count(&json, "failed_requests"), Some(0));
}
