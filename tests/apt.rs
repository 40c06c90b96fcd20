//! Debian's apt against a folder served alone: a flat repository (`deb [trusted=yes]
//! http://host/debian/ ./`) asks for `/debian/./InRelease`, `/debian/./Packages`, ..., which
//! only a server that removes dot segments (RFC 3986) answers. apt runs isolated from the
//! system's own lists and cache; the `.deb` it downloads must be the one served, byte for byte,
//! and a second `update` must get 304s.

mod common;

use std::path::Path;
use std::process::Command;

use common::Site;

/// Runs `program` with `args`, and says whether it succeeded, with what it printed.
fn run(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A flat repository in `repo/debian`: one small package, `Packages`, `Packages.gz` and a
/// `Release` that lists their SHA-256 sums. Returns the `.deb`'s bytes.
fn flat_repository(repo: &Path) -> Vec<u8> {
    let build = repo.join("build/miniweb-apt-test");
    std::fs::create_dir_all(build.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(build.join("usr/share/doc/miniweb-apt-test")).unwrap();
    std::fs::write(
        build.join("DEBIAN/control"),
        "Package: miniweb-apt-test\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: miniweb <test@example.invalid>\nDescription: served by miniweb\n",
    )
    .unwrap();
    std::fs::write(
        build.join("usr/share/doc/miniweb-apt-test/README"),
        "hello\n",
    )
    .unwrap();
    let debian = repo.join("debian");
    std::fs::create_dir_all(&debian).unwrap();
    let deb = debian.join("miniweb-apt-test_1.0_all.deb");
    let (ok, out) = run(
        "dpkg-deb",
        &[
            "--build",
            "--root-owner-group",
            build.to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
        repo,
    );
    assert!(ok, "dpkg-deb: {out}");
    let (ok, packages) = run("dpkg-scanpackages", &["--multiversion", "."], &debian);
    assert!(ok, "dpkg-scanpackages: {packages}");
    let packages = packages
        .lines()
        .filter(|l| !l.starts_with("dpkg-scanpackages:"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::write(debian.join("Packages"), &packages).unwrap();
    let (ok, out) = run("gzip", &["-k", "-9", "-n", "Packages"], &debian);
    assert!(ok, "gzip: {out}");
    let mut release = String::from(
        "Origin: miniweb test\nLabel: miniweb test\nSuite: ./\n\
         Date: Sat, 01 Jan 2000 00:00:00 UTC\nSHA256:\n",
    );
    for name in ["Packages", "Packages.gz"] {
        let (ok, sum) = run("sha256sum", &[name], &debian);
        assert!(ok, "sha256sum: {sum}");
        let hash = sum.split_whitespace().next().unwrap();
        let size = std::fs::metadata(debian.join(name)).unwrap().len();
        release.push_str(&format!(" {hash} {size} {name}\n"));
    }
    std::fs::write(debian.join("Release"), release).unwrap();
    std::fs::remove_dir_all(repo.join("build")).unwrap();
    std::fs::read(deb).unwrap()
}

/// apt-get with `args`, isolated in `state`: its own source list, lists, cache and no lock on
/// the system's.
fn apt_get(state: &Path, args: &[&str]) -> (bool, String) {
    let s = |p: &str| state.join(p).to_str().unwrap().to_string();
    let options = [
        format!("Dir::Etc::SourceList={}", s("sources.list")),
        "Dir::Etc::SourceParts=-".to_string(),
        format!("Dir::State::Lists={}", s("lists")),
        format!("Dir::Cache={}", s("cache")),
        format!("Dir::State::Status={}", s("status")),
        "Debug::NoLocking=1".to_string(),
        "APT::Sandbox::User=root".to_string(),
        "Acquire::Languages=none".to_string(),
    ];
    let mut all: Vec<String> = Vec::new();
    for o in &options {
        all.push("-o".into());
        all.push(o.clone());
    }
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run("apt-get", &all, state)
}

#[test]
fn apt_installs_from_a_flat_repository_served_by_miniweb() {
    let have = |p: &str| Command::new(p).arg("--version").output().is_ok();
    if !have("apt-get") || !have("dpkg-scanpackages") {
        eprintln!("skipped: needs apt-get and dpkg-scanpackages (Debian's apt and dpkg-dev)");
        return;
    }
    if !running_as_root() {
        eprintln!("skipped: apt-get download-only needs root (CI runs as root)");
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let deb = flat_repository(repo.path());
    let here = tempfile::tempdir().unwrap();
    let site = Site::spawn(
        here,
        &[
            "0",
            "--bind",
            "127.0.0.1",
            "-d",
            repo.path().to_str().unwrap(),
        ],
        &[],
    )
    .expect("serves the repository");

    let state = tempfile::tempdir().unwrap();
    for folder in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(state.path().join(folder)).unwrap();
    }
    std::fs::write(state.path().join("status"), "").unwrap();
    std::fs::write(
        state.path().join("sources.list"),
        format!("deb [trusted=yes] http://{}/debian/ ./\n", site.addr),
    )
    .unwrap();

    let (ok, out) = apt_get(state.path(), &["update"]);
    assert!(
        ok && !out.contains("Err:"),
        "apt-get update: {out}\n{}",
        site.log()
    );
    let (ok, out) = apt_get(
        state.path(),
        &["install", "--download-only", "-y", "miniweb-apt-test"],
    );
    assert!(ok, "apt-get install: {out}\n{}", site.log());
    let got = std::fs::read(
        state
            .path()
            .join("cache/archives/miniweb-apt-test_1.0_all.deb"),
    )
    .expect("the package was downloaded");
    assert!(
        got == deb,
        "the downloaded .deb differs from the served one"
    );
    let access = site.stdout();
    assert!(
        access.contains("\"GET /debian/./Release HTTP/1.1\" 200")
            || access.contains("\"GET /debian/./InRelease HTTP/1.1\" 404"),
        "{access}"
    );

    // A second update asks again with the dates it was given, and is told nothing changed.
    let before = site.stdout().lines().count();
    let (ok, out) = apt_get(state.path(), &["update"]);
    assert!(ok && !out.contains("Err:"), "second apt-get update: {out}");
    let again = site.stdout();
    let second: Vec<&str> = again.lines().skip(before).collect();
    assert!(
        second
            .iter()
            .any(|l| l.contains("/debian/./Release ") && l.contains("\" 304 ")),
        "no 304 in the second update: {second:#?}"
    );
}

/// Whether this process runs as root.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
