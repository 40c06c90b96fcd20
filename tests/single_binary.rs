//! One binary that runs anywhere: the site's templates, migrations and files are compiled in,
//! folders on disk win (and say so), and `document_root` serves a folder of one's own beside
//! the site. The current folder never takes over silently: a foreign `config.toml` or an
//! incomplete `templates/` is a start-up error that names it.

mod common;

use std::path::Path;

use common::{assert_statuses, run_binary, Site};

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn empty_folder_site(args: &[&str]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["0", "--bind", "127.0.0.1"];
    all.extend_from_slice(args);
    Site::spawn(dir, &all, &[]).expect("starts from an empty folder")
}

#[test]
fn it_runs_from_an_empty_folder() {
    let site = empty_folder_site(&[]);
    let home = site.get("/");
    assert_eq!(home.status, 200);
    assert!(home.text().contains("选股系统"), "{}", home.text());
    assert!(home.text().contains("000007"), "the seed migration ran");
    let css = site.get("/css/site.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        css.body,
        std::fs::read(project().join("static/css/site.css")).unwrap()
    );
    let etag = css.header("ETag").unwrap().to_string();
    let again = site.request("GET", "/css/site.css", &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304);
    assert_eq!(site.get("/img/logo.svg").status, 200);
    assert_eq!(site.get("/healthz").text(), "ok\n");
    assert_eq!(site.get("/css/missing.css").status, 404);
    // The built-in files pass the same gate as files on disk.
    assert_statuses(
        &site,
        &[
            "/css%2Fsite.css",
            "/css/../../css/site.css",
            "/css/%2e%2e/%2e%2e/css/site.css",
            "/css%5csite.css",
        ],
        404,
    );
    // Dot segments that stay inside are removed (RFC 3986, section 5.2.4).
    assert_statuses(
        &site,
        &[
            "/css/../css/site.css",
            "/css/%2e%2e/css/site.css",
            "/./css/site.css",
        ],
        200,
    );
    assert_eq!(site.get("//css//site.css").status, 200);
    assert!(site.dir.path().join("stock.db").exists());
    let log = site.log();
    assert!(log.contains("templates: 6 built into the binary"), "{log}");
    assert!(log.contains("migrations: 4 built into the binary"), "{log}");
    assert!(log.contains("built-in files"), "{log}");
}

#[test]
fn folders_on_disk_win_over_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    for entry in std::fs::read_dir(project().join("templates")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), templates.join(entry.file_name())).unwrap();
    }
    let index = templates.join("index.html");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        text.replace("{% block content %}", "{% block content %}EDITED ON DISK"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("static/css")).unwrap();
    std::fs::write(
        dir.path().join("static/css/site.css"),
        "body { color: teal }\n",
    )
    .unwrap();
    let site = Site::spawn(dir, &["0", "--bind", "127.0.0.1"], &[]).unwrap();
    assert!(site.get("/index.html").text().contains("EDITED ON DISK"));
    assert_eq!(site.get("/css/site.css").text(), "body { color: teal }\n");
    // The static folder replaces the built-in files as a whole.
    assert_eq!(site.get("/img/logo.svg").status, 404);
}

#[test]
fn document_root_serves_a_folder_beside_the_site() {
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("notes.txt"), "my notes\n").unwrap();
    std::fs::write(docs.path().join("about.html"), "<p>about me</p>\n").unwrap();
    std::fs::create_dir(docs.path().join("guide")).unwrap();
    std::fs::write(docs.path().join("guide/index.html"), "<p>guide</p>\n").unwrap();
    let docs_path = docs.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("document_root = {docs_path:?}\n"),
    )
    .unwrap();
    let site = Site::spawn(dir, &["0", "--bind", "127.0.0.1"], &[]).unwrap();
    assert_eq!(site.get("/notes.txt").text(), "my notes\n");
    assert_eq!(site.get("/about.html").text(), "<p>about me</p>\n");
    assert_eq!(site.get("/guide/").text(), "<p>guide</p>\n");
    assert_eq!(site.get("/guide/index.html").text(), "<p>guide</p>\n");
    assert_eq!(site.get("/guide").header("Location"), Some("/guide/"));
    // The site is still there, with its own files; its database and config are not served.
    assert!(site.get("/index.html").text().contains("选股系统"));
    assert_eq!(site.get("/css/site.css").status, 200);
    assert_eq!(site.get("/config.toml").status, 404);
    assert!(site.log().contains(docs_path), "{}", site.log());
}

#[test]
fn the_sites_own_database_and_config_are_never_served_from_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().to_str().unwrap().to_string();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("document_root = {here:?}\ndatabase = \"site-data\"\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hi\n").unwrap();
    let site = Site::spawn(dir, &["0", "--bind", "127.0.0.1"], &[]).unwrap();
    assert_eq!(site.get("/hello.txt").status, 200);
    assert_statuses(
        &site,
        &[
            "/config.toml",
            "/site-data",
            "/site-data-wal",
            "/site-data-shm",
        ],
        404,
    );
}

#[test]
fn a_foreign_config_file_is_refused_with_its_key_and_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "baseURL = \"https://example.org/\"\ntitle = \"My Hugo Site\"\n",
    )
    .unwrap();
    let (code, _, err) = run_binary(dir.path(), &["0"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("config.toml: unknown key `baseURL`"), "{err}");
    assert!(
        !dir.path().join("stock.db").exists(),
        "refused before anything was opened"
    );
}

#[test]
fn an_incomplete_templates_folder_is_a_start_up_error_that_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/single.html"), "{{ title }}").unwrap();
    let (code, _, err) = run_binary(dir.path(), &["0", "--bind", "127.0.0.1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("templates folder"), "{err}");
    assert!(err.contains("lacks base.html"), "{err}");
    assert!(err.contains("index.html"), "{err}");
}

#[test]
fn a_missing_dash_d_folder_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_binary(dir.path(), &["0", "-d", "no-such-folder"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no-such-folder"), "{err}");
}
