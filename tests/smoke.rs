//! Runs `tests/smoke.sh` (curl) against the real binary, so that `cargo test` covers it too.

mod common;

use std::process::Command;

#[test]
fn curl_smoke_script_passes() {
    let curl = Command::new("curl").arg("--version").output();
    assert!(
        curl.is_ok_and(|o| o.status.success()),
        "curl is needed for the smoke tests (apt-get install curl)"
    );
    let dir = tempfile::tempdir().unwrap();
    let static_dir = common::project().join("static");
    let site = common::Site::start_in(dir, &format!("static_dir = {static_dir:?}\n")).unwrap();
    let out = Command::new("bash")
        .arg(common::project().join("tests/smoke.sh"))
        .arg(site.url(""))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "smoke.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all smoke checks passed"), "{stdout}");
}
