//! Deployment: the systemd unit as `systemd-analyze` reads it, and several miniweb processes
//! serving one site from one SQLite database.

mod common;

use std::process::Command;

use common::{fill_static, project, Site};

#[test]
fn the_systemd_unit_verifies_cleanly() {
    if !common::installed("systemd-analyze", "--version", "systemd") {
        return;
    }
    // The unit as shipped, but starting the binary just built (verify checks that it exists).
    let unit = std::fs::read_to_string(project().join("deploy/miniweb.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/miniweb "));
    for setting in [
        "DynamicUser=yes",
        "StateDirectory=miniweb",
        "ProtectSystem=strict",
        "Restart=on-failure",
    ] {
        assert!(unit.contains(setting), "the unit lacks {setting}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("miniweb.service");
    let unit = unit.replace("/usr/local/bin/miniweb", env!("CARGO_BIN_EXE_miniweb"));
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // It reports a setting it cannot parse on standard error and still exits 0.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("miniweb.service"))
        .collect();
    assert!(ours.is_empty(), "{stderr}");
}

#[test]
fn two_processes_on_one_database_see_each_others_writes_at_once() {
    let first_dir = tempfile::tempdir().unwrap();
    fill_static(&first_dir.path().join("static"));
    let database = first_dir.path().join("stock.db");
    let first = Site::start_in(first_dir, "").unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    fill_static(&second_dir.path().join("static"));
    let second = Site::start_in(second_dir, &format!("database = {database:?}\n")).unwrap();

    // Both have rendered and cached the centre.
    for site in [&first, &second] {
        let page = site.get("/center.html").text();
        assert!(!page.contains("华联控股"));
    }
    // A write through one is on the next page of the other, and the other way round.
    assert_eq!(first.post_form("/add/000036.html", "").status, 303);
    let page = second.get("/center.html");
    assert!(
        page.text().contains("华联控股"),
        "a stale page from the cache"
    );
    assert_eq!(
        page.header("Server-Timing")
            .map(|t| t.contains("cache;desc=miss")),
        Some(true)
    );
    assert_eq!(second.post_form("/del/000036.html", "").status, 303);
    assert!(!first.get("/center.html").text().contains("华联控股"));
    // Concurrent writers through both processes lose nothing.
    let handles: Vec<_> = ["000039", "000050", "000056", "000059"]
        .into_iter()
        .enumerate()
        .map(|(i, code)| {
            let url = if i % 2 == 0 {
                first.url("")
            } else {
                second.url("")
            };
            std::thread::spawn(move || {
                let out = Command::new("curl")
                    .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
                    .arg(format!("{url}/add/{code}.html"))
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "303");
    }
    for site in [&first, &second] {
        let page = site.get("/center.html").text();
        for name in ["中集集团", "深天马A", "皇庭国际", "华锦股份"] {
            assert!(page.contains(name), "{name}");
        }
    }
    // Stopping one leaves the other serving (a rolling restart).
    // (Dropping a site kills its process and waits for it to end.)
    drop(first);
    assert_eq!(second.get("/center.html").status, 200);
}
