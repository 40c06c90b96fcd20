//! A folder served alone, as `python3 -m http.server -d DIR`: `miniweb PORT -d DIR` serves DIR
//! and nothing else. No routes, no database, nothing of the stock site, no config file unless
//! `--config` names one; dotfiles (but `/.well-known/`) and SQLite files never served.

mod common;

use std::path::Path;

use common::{assert_statuses, run_binary, Site};

/// A folder as people serve them: files, a `.well-known`, secrets beside them, a database.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("docs/guide")).unwrap();
    std::fs::create_dir_all(d.join(".well-known/acme-challenge")).unwrap();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::write(d.join("notes.txt"), "my notes\n").unwrap();
    std::fs::write(d.join("docs/guide/page.html"), "<p>guide</p>\n").unwrap();
    std::fs::write(d.join(".well-known/acme-challenge/token1"), "token1.key\n").unwrap();
    std::fs::write(d.join(".env"), "SECRET=1\n").unwrap();
    std::fs::write(d.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(d.join("stock.db"), "SQLite format 3\0").unwrap();
    std::fs::write(d.join("stock.db-wal"), "wal").unwrap();
    dir
}

/// Serves `dir` alone from a current folder of its own (holding a foreign config.toml, which
/// must not be read).
fn serve(dir: &Path, extra: &[&str]) -> Site {
    let here = tempfile::tempdir().unwrap();
    std::fs::write(
        here.path().join("config.toml"),
        "baseURL = 'https://hugo.example/'\n",
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let mut args = vec!["0", "--bind", "127.0.0.1", "-d", dir];
    args.extend_from_slice(extra);
    Site::spawn(here, &args, &[]).expect("serves the folder")
}

#[test]
fn the_folder_and_nothing_else() {
    let dir = folder();
    let site = serve(dir.path(), &["--autoindex"]);
    assert_eq!(site.get("/notes.txt").text(), "my notes\n");
    assert_eq!(site.get("/docs/guide/page.html").text(), "<p>guide</p>\n");
    let listing = site.get("/").text();
    for shown in ["notes.txt", "docs/"] {
        assert!(listing.contains(shown), "{shown}: {listing}");
    }
    for hidden in [".env", ".git", ".well-known", "stock.db", "config.toml"] {
        assert!(!listing.contains(hidden), "{hidden} is listed: {listing}");
    }
    let json = site.request("GET", "/", &[("Accept", "application/json")], b"");
    assert!(!json.text().contains("stock.db"), "{}", json.text());
    // Nothing of the stock site: its pages, its files, its 404.
    let stock = [
        "/index.html",
        "/center.html",
        "/healthz",
        "/css/site.css",
        "/favicon.ico",
    ];
    assert_statuses(&site, &stock, 404);
    for path in stock {
        assert!(!site.get(path).text().contains("选股"), "{path}");
    }
    assert!(site.get("/missing").text().contains("404 Not Found"));
    let post = site.post_form("/notes.txt", "a=1");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("Allow"), Some("GET, HEAD, OPTIONS"));
    let log = site.log();
    assert!(log.contains("alone: no routes, no database"), "{log}");
    assert!(!log.contains("shadowed"), "{log}");
}

#[test]
fn dotfiles_stay_hidden_but_well_known_is_served() {
    let dir = folder();
    let site = serve(dir.path(), &[]);
    let token = site.get("/.well-known/acme-challenge/token1");
    assert_eq!((token.status, token.text().as_str()), (200, "token1.key\n"));
    assert_statuses(
        &site,
        &[
            "/.env",
            "/.git/config",
            "/docs/../.env",
            "/.well-known/../.env",
            "/%2eenv",
        ],
        404,
    );
}

#[test]
fn dot_segments_are_removed_and_climbing_out_is_refused() {
    let dir = folder();
    let site = serve(dir.path(), &[]);
    assert_statuses(
        &site,
        &[
            "/./notes.txt",
            "/docs/./guide/page.html",
            "/docs/guide/../../notes.txt",
        ],
        200,
    );
    assert_eq!(site.get("/docs/guide/%2e%2e/guide/page.html").status, 200);
    assert_statuses(
        &site,
        &["/../notes.txt", "/docs/../../notes.txt", "/..%2fnotes.txt"],
        404,
    );
}

#[test]
fn the_database_files_are_never_served_and_none_is_created() {
    let dir = folder();
    let site = serve(dir.path(), &[]);
    assert_statuses(
        &site,
        &[
            "/stock.db",
            "/stock.db-wal",
            "/STOCK.DB",
            "/docs/../stock.db",
        ],
        404,
    );
    let here = site.stop();
    let here = here.path();
    let names = |d: &Path| {
        let mut n: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(here), ["config.toml"], "nothing created where it ran");
    assert!(
        !dir.path().join("stock.db-shm").exists(),
        "the database was never opened"
    );
}

#[test]
fn a_config_file_is_read_only_when_named() {
    let dir = folder();
    let file = dir.path().join("site.toml");
    std::fs::write(&file, "cache_control = \"no-cache\"\n").unwrap();
    let site = serve(dir.path(), &["--config", file.to_str().unwrap()]);
    assert_eq!(
        site.get("/notes.txt").header("Cache-Control"),
        Some("no-cache")
    );
    assert_eq!(
        site.get("/site.toml").status,
        404,
        "the config file is never served"
    );
}

#[test]
fn dev_and_routes_make_no_sense_with_a_folder_alone() {
    let dir = folder();
    let (code, _, err) = run_binary(dir.path(), &["0", "-d", ".", "--dev"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("-d serves a folder alone"), "{err}");
}

#[test]
fn help_says_what_dash_d_does() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run_binary(dir.path(), &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("serve DIR alone"), "{out}");
    assert!(out.contains("no config file unless --config"), "{out}");
}
